import { useState } from 'react';
import { Alert, Badge, Button, Checkbox, Code, Group, Modal, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import type { ApiKey, CreatedApiKey } from '../../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { fmtDate, str } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

const lines = (text: string) =>
  text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.details.length ? `${e.message} ${e.details.map((d) => str(d)).join('; ')}` : e.message;
  return 'Something went wrong.';
}

/** The tenant's live publishable keys (pk_live_), shared by Settings → Site keys and the install page. */
export function usePublishableKeys() {
  const { tenantId } = useSession();
  return useQuery({
    queryKey: ['api-keys', tenantId, false],
    queryFn: ({ signal }) => get<{ data: ApiKey[] }>('/api/v1/api-keys', { include_revoked: 'false' }, signal),
    select: (r) => r.data.filter((k) => k.kind === 'publishable'),
  });
}

/**
 * Site keys: publishable keys a store puts in its pages. Create one with its allowed origins, edit the origins
 * (effective at once), rotate (the old key keeps working for a day while pages are redeployed).
 */
export function SiteKeys() {
  const qc = useQueryClient();
  const keys = usePublishableKeys();
  const [name, setName] = useState('Storefront');
  const [origins, setOrigins] = useState('');
  const [shop, setShop] = useState(false);
  const [shown, setShown] = useState<CreatedApiKey | null>(null);
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);
  const invalidate = () => void qc.invalidateQueries({ queryKey: ['api-keys'] });
  const create = useMutation({
    mutationFn: () =>
      api<CreatedApiKey>('POST', '/api/v1/api-keys', {
        body: {
          name,
          kind: 'publishable',
          allowed_origins: lines(origins),
          // Shopping is opted in: the key then also reaches carts and checkout, each call bound to a signed shopper token.
          ...(shop ? { scopes: ['interactions:write', 'recommendations:read', 'catalog:read', 'commerce:shop'] } : {}),
        },
      }),
    onSuccess: (k) => {
      setShown(k);
      setOrigins('');
      invalidate();
    },
  });
  const update = useMutation({
    mutationFn: (v: { id: string; origins: string[] }) =>
      api<ApiKey>('PATCH', `/api/v1/api-keys/${v.id}`, { body: { allowed_origins: v.origins } }),
    onSuccess: () => {
      setEditing(null);
      invalidate();
    },
  });
  const rotate = useMutation({
    mutationFn: (id: string) => api<CreatedApiKey>('POST', `/api/v1/api-keys/${id}/rotate`, { body: {} }),
    onSuccess: (k) => {
      setShown(k);
      invalidate();
    },
  });

  return (
    <Stack>
      <Text size="sm" maw={720}>
        A site key (<Code>pk_live_…</Code>) is safe to put in your pages: it can only send events and ask for recommendations, similar
        items, search and the newsfeed (and, when you allow it, carts and checkout for the one shopper a signed token names), only from the
        sites you list, within its own rate limit. Keep secret keys (<Code>sk_live_…</Code>) on your servers: Loupe refuses them from other
        sites’ pages.
      </Text>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm" maw={640}>
          <Title order={3} size="h4">
            Create a site key
          </Title>
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required maxLength={100} />
          <Textarea
            label="Allowed sites"
            description="One origin a line, e.g. https://shop.example (scheme and host, no path)."
            value={origins}
            onChange={(e) => setOrigins(e.currentTarget.value)}
            autosize
            minRows={2}
            required
          />
          <Checkbox
            label="Carts and checkout"
            description="For a storefront: carts, checkout and order history, each call bound to a shopper token your server or Loupe signs."
            checked={shop}
            onChange={(e) => setShop(e.currentTarget.checked)}
          />
          {create.error && (
            <Alert color="red" role="alert">
              {errorText(create.error)}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending} disabled={!name || lines(origins).length === 0}>
              Create site key
            </Button>
          </Group>
        </Stack>
      </form>
      <Modal opened={shown !== null} onClose={() => setShown(null)} title="Your site key" centered size="lg">
        {shown && (
          <Stack>
            <Code block data-testid="new-site-key" className="mono">
              {shown.api_key}
            </Code>
            <Text size="sm">Allowed sites: {shown.allowed_origins.join(', ')}</Text>
            <Text size="sm" c="dimmed">
              Site keys are public by design: you can see this one again here at any time.
            </Text>
            <Group justify="flex-end">
              <Button onClick={() => setShown(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
      <Title order={3} size="h4">
        Site keys
      </Title>
      {keys.isPending ? (
        <Loading label="Loading site keys" />
      ) : keys.error ? (
        <ErrorState error={keys.error} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No site keys yet">Create one above with the address of your store to install Loupe on it.</EmptyState>
      ) : (
        <div className="table-scroll">
          <Table striped data-testid="site-keys-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Key</Table.Th>
                <Table.Th>Allowed sites</Table.Th>
                <Table.Th>Limit</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.map((k) => (
                <Table.Tr key={k.id}>
                  <Table.Td>
                    {k.name} {k.expires_at && <Badge color="orange">expires {fmtDate(k.expires_at)}</Badge>}
                  </Table.Td>
                  <Table.Td className="mono">{k.publishable_key ?? `${k.key_prefix}…`}</Table.Td>
                  <Table.Td>
                    {editing?.id === k.id ? (
                      <Stack gap="xs">
                        <Textarea
                          aria-label={`Allowed sites of ${k.name}`}
                          value={editing.text}
                          onChange={(e) => setEditing({ id: k.id, text: e.currentTarget.value })}
                          autosize
                          minRows={2}
                        />
                        <Group gap="xs">
                          <Button
                            size="xs"
                            loading={update.isPending}
                            disabled={lines(editing.text).length === 0}
                            onClick={() => update.mutate({ id: k.id, origins: lines(editing.text) })}
                          >
                            Save sites
                          </Button>
                          <Button size="xs" variant="subtle" onClick={() => setEditing(null)}>
                            Cancel
                          </Button>
                        </Group>
                      </Stack>
                    ) : (
                      k.allowed_origins.join(', ')
                    )}
                  </Table.Td>
                  <Table.Td>{k.rate_limit_per_minute ? `${k.rate_limit_per_minute}/min` : '—'}</Table.Td>
                  <Table.Td>{fmtDate(k.last_used_at)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button
                        size="xs"
                        variant="light"
                        aria-label={`Edit the sites of ${k.name}`}
                        onClick={() => setEditing({ id: k.id, text: k.allowed_origins.join('\n') })}
                      >
                        Edit sites
                      </Button>
                      <Button
                        size="xs"
                        variant="light"
                        color="orange"
                        aria-label={`Rotate ${k.name}`}
                        loading={rotate.isPending && rotate.variables === k.id}
                        onClick={() => {
                          if (confirm(`Rotate "${k.name}"? The current key keeps working for 24 hours, then stops.`)) rotate.mutate(k.id);
                        }}
                      >
                        Rotate
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      {(update.error || rotate.error) && (
        <Alert color="red" role="alert">
          {errorText(update.error ?? rotate.error)}
        </Alert>
      )}
    </Stack>
  );
}
