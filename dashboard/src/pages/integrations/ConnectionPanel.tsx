import { useEffect, useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  List,
  PasswordInput,
  Progress,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../../api/client.ts';
import type { BackfillView, Connection, TestEventAnswer } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { fmtDate } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

const absolute = (u: string) => (u.startsWith('/') ? `${location.origin}${u}` : u);
const enc = encodeURIComponent;

/** One connection: rename, pause/resume, rotate the secret, send a test event; for Shopify the topics and the backfill. */
export function ConnectionPanel({ connection }: { connection: Connection }) {
  const qc = useQueryClient();
  const [name, setName] = useState(connection.name);
  const [secret, setSecret] = useState('');
  const [rotated, setRotated] = useState<string | null>(null);
  useEffect(() => setName(connection.name), [connection.id, connection.name]);
  const refresh = () => void qc.invalidateQueries({ queryKey: ['integrations'] });
  const patch = useMutation({
    mutationFn: (body: { name?: string; status?: 'active' | 'paused' }) =>
      api<Connection>('PATCH', `/api/v1/integrations/${enc(connection.id)}`, { body }),
    onSuccess: refresh,
  });
  const rotate = useMutation({
    mutationFn: () =>
      api<Connection>('POST', `/api/v1/integrations/${enc(connection.id)}/rotate-secret`, { body: secret ? { secret } : {} }),
    onSuccess: (c) => {
      setSecret('');
      setRotated(c.secret ?? null);
      refresh();
    },
  });
  const test = useMutation({
    mutationFn: () => api<TestEventAnswer>('POST', `/api/v1/integrations/${enc(connection.id)}/test-event`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['deliveries'] }),
  });
  const paused = connection.status === 'paused';
  return (
    <Card withBorder data-testid="connection-panel">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          {connection.name}
        </Title>
        <Badge color={paused ? 'gray' : 'green'} variant="light" data-testid="connection-status">
          {connection.status}
        </Badge>
      </Group>
      <Stack>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim() && name.trim() !== connection.name) patch.mutate({ name: name.trim() });
          }}
        >
          <Group align="flex-end">
            <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} maxLength={200} />
            <Button type="submit" variant="default" loading={patch.isPending && patch.variables?.name !== undefined}>
              Rename
            </Button>
            <Button
              variant="light"
              color={paused ? 'green' : 'yellow'}
              onClick={() => patch.mutate({ status: paused ? 'active' : 'paused' })}
              loading={patch.isPending && patch.variables?.status !== undefined}
            >
              {paused ? 'Resume' : 'Pause'}
            </Button>
          </Group>
        </form>
        {paused && (
          <Text size="sm" c="dimmed">
            Paused: the webhook URL answers 404, so the store keeps its deliveries and retries them after you resume.
          </Text>
        )}
        {patch.error && <ErrorState error={patch.error} />}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (confirm('Replace the signing secret? Deliveries signed with the old one will be refused.')) rotate.mutate();
          }}
        >
          <Group align="flex-end">
            <PasswordInput
              label="New signing secret"
              description={
                connection.type === 'woocommerce' ? 'Leave empty to generate one' : 'After rotating it at the vendor, paste the new one'
              }
              value={secret}
              onChange={(e) => setSecret(e.currentTarget.value)}
              autoComplete="off"
              w={320}
            />
            <Button type="submit" variant="default" color="red" loading={rotate.isPending}>
              Rotate secret
            </Button>
          </Group>
        </form>
        {rotate.error && <ErrorState error={rotate.error} />}
        {rotated && (
          <Alert color="yellow" title="Secret replaced" withCloseButton onClose={() => setRotated(null)}>
            Shown only now: <Code className="mono">{rotated}</Code>
          </Alert>
        )}
        {connection.type === 'shopify' && (
          <Group>
            <Button variant="light" onClick={() => test.mutate()} loading={test.isPending}>
              Send test event
            </Button>
            {test.data && (
              <Text size="sm" c={test.data.delivered ? 'green' : 'red'} data-testid="test-event-result">
                {test.data.delivered
                  ? `Arrived: signature verified, logged as ${test.data.delivery?.status ?? 'received'} (${test.data.http_status}).`
                  : test.data.http_status === 404
                    ? 'Did not arrive: the connection is paused (404). Resume it first.'
                    : `Did not arrive: the endpoint answered ${test.data.http_status}.`}
              </Text>
            )}
          </Group>
        )}
        {test.error && <ErrorState error={test.error} />}
      </Stack>
      {connection.type === 'shopify' && (
        <Stack mt="md">
          <ShopifyTopics webhookUrl={absolute(connection.webhook_url)} />
          <BackfillCard connection={connection} />
        </Stack>
      )}
    </Card>
  );
}

function ShopifyTopics({ webhookUrl }: { webhookUrl: string }) {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['shopify-topics', tenantId],
    queryFn: ({ signal }) =>
      get<{ format: string; topics: { topic: string; why: string }[] }>('/api/v1/integrations/shopify-topics', {}, signal),
    staleTime: Infinity,
  });
  return (
    <Card withBorder>
      <Title order={4} size="h6" mb="xs">
        Webhooks to subscribe in Shopify
      </Title>
      <Text size="sm">
        In the Shopify admin: Settings → Notifications → Webhooks → Create webhook, format JSON, this URL for each topic:
      </Text>
      <Group gap="xs" my="xs" wrap="nowrap">
        <Code className="mono" data-testid="shopify-webhook-url" style={{ overflowWrap: 'anywhere' }}>
          {webhookUrl}
        </Code>
        <CopyButton value={webhookUrl}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy}>
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
      {q.isLoading ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Topics" />
      ) : (
        <List size="sm" data-testid="shopify-topics">
          {q.data!.topics.map((t) => (
            <List.Item key={t.topic}>
              <Code>{t.topic}</Code> — {t.why}
            </List.Item>
          ))}
        </List>
      )}
    </Card>
  );
}

const ACTIVE = new Set(['queued', 'running']);
const statusColor: Record<string, string> = { succeeded: 'green', failed: 'red', cancelled: 'gray', running: 'blue', queued: 'blue' };

function BackfillCard({ connection }: { connection: Connection }) {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [token, setToken] = useState('');
  const key = ['backfill', tenantId, connection.id];
  const q = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => get<BackfillView>(`/api/v1/integrations/${enc(connection.id)}/backfill`, {}, signal),
    refetchInterval: (query) => (query.state.data && ACTIVE.has(query.state.data.status) ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () =>
      api<BackfillView>('POST', `/api/v1/integrations/${enc(connection.id)}/backfill`, { body: token ? { access_token: token } : {} }),
    onSuccess: (v) => {
      setToken('');
      qc.setQueryData(key, v);
    },
  });
  const cancel = useMutation({
    mutationFn: () => api<BackfillView>('DELETE', `/api/v1/integrations/${enc(connection.id)}/backfill`),
    onSuccess: (v) => qc.setQueryData(key, v),
  });
  const b = q.data;
  const active = b ? ACTIVE.has(b.status) : false;
  return (
    <Card withBorder data-testid="backfill-card">
      <Group justify="space-between" mb="xs">
        <Title order={4} size="h6">
          Import past orders, customers and products
        </Title>
        {b && b.status !== 'not_started' && (
          <Badge color={statusColor[b.status] ?? 'gray'} variant="light" data-testid="backfill-status">
            {b.status}
          </Badge>
        )}
      </Group>
      {q.isLoading ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Backfill" />
      ) : (
        <Stack gap="xs">
          {b!.status === 'not_started' && (
            <Text size="sm" c="dimmed">
              Nothing imported from Shopify yet. Webhooks bring new orders; a backfill brings the ones placed before you connected.
            </Text>
          )}
          {(['products', 'customers', 'orders'] as const).map((r) => {
            const p = b!.resources[r];
            if (b!.status === 'not_started') return null;
            const pct = p.total ? Math.min(100, Math.round((100 * (p.done + p.rejected)) / p.total)) : p.complete ? 100 : 0;
            return (
              <Stack gap={2} key={r} data-testid={`backfill-${r}`}>
                <Group justify="space-between">
                  <Text size="sm" tt="capitalize">
                    {r}
                  </Text>
                  <Text size="sm" c="dimmed">
                    {p.done.toLocaleString()} of {p.total === null ? '…' : p.total.toLocaleString()}
                    {p.rejected ? `, ${p.rejected.toLocaleString()} left out` : ''}
                  </Text>
                </Group>
                <Progress value={pct} animated={active && !p.complete} aria-label={`${r} progress`} />
                {p.rejected_samples.length > 0 && (
                  <Text size="xs" c="dimmed">
                    Left out: {p.rejected_samples.map((s) => `${s.id ?? 'no id'} (${s.reason})`).join('; ')}
                  </Text>
                )}
              </Stack>
            );
          })}
          {b!.last_error && (
            <Alert
              color={b!.status === 'failed' ? 'red' : 'yellow'}
              title={b!.status === 'failed' ? 'Backfill stopped' : 'Retrying'}
              data-testid="backfill-error"
            >
              {b!.last_error.message}
            </Alert>
          )}
          {b!.finished_at && (
            <Text size="xs" c="dimmed">
              Finished {fmtDate(b!.finished_at)}
            </Text>
          )}
          {active ? (
            <Group>
              <Button color="red" variant="light" onClick={() => cancel.mutate()} loading={cancel.isPending}>
                Cancel backfill
              </Button>
            </Group>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                start.mutate();
              }}
            >
              <Group align="flex-end">
                <PasswordInput
                  label="Admin API access token"
                  description={
                    b!.status === 'not_started'
                      ? 'A custom app’s token (shpat_…) with read_products, read_customers, read_orders'
                      : 'Leave empty to reuse the last one'
                  }
                  value={token}
                  onChange={(e) => setToken(e.currentTarget.value)}
                  autoComplete="off"
                  w={360}
                />
                <Button type="submit" loading={start.isPending} disabled={connection.status === 'paused'}>
                  {b!.status === 'not_started' ? 'Start backfill' : 'Run again'}
                </Button>
              </Group>
            </form>
          )}
          {start.error && <ErrorState error={start.error} />}
          {cancel.error && <ErrorState error={cancel.error} />}
        </Stack>
      )}
    </Card>
  );
}
