import { useState } from 'react';
import { Alert, Anchor, Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import type { PublicUrlView } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { useSession } from '../../session.tsx';

const SOURCE: Record<PublicUrlView['source'], string> = {
  tenant_setting: 'set here',
  environment: 'from the server’s PUBLIC_URL setting',
  request: 'the address you opened the dashboard at',
};

/** The warning about the current public base URL, for the Integrations page next to the webhook address. */
export function PublicUrlWarning() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['public-url', tenantId],
    queryFn: ({ signal }) => get<PublicUrlView>('/api/v1/integrations/public-url', undefined, signal),
  });
  if (!q.data?.warning) return null;
  return (
    <Alert color="orange" title="Stores cannot reach this address" data-testid="public-url-warning">
      {q.data.warning}{' '}
      <Anchor component={Link} to="/settings/public-url">
        Set the public address in Settings
      </Anchor>
      .
    </Alert>
  );
}

/** Settings: the public base URL webhook addresses are built from (tenant setting over PUBLIC_URL over the request). */
export function PublicUrl() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['public-url', tenantId],
    queryFn: ({ signal }) => get<PublicUrlView>('/api/v1/integrations/public-url', undefined, signal),
  });
  const [draft, setDraft] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (url: string | null) => api<PublicUrlView>('PUT', '/api/v1/integrations/public-url', { body: { url } }),
    onSuccess: (v) => {
      qc.setQueryData(['public-url', tenantId], v);
      void qc.invalidateQueries({ queryKey: ['integrations'] });
      setDraft(null);
    },
  });
  if (q.isPending) return <Loading label="Loading the public address" />;
  if (q.error) return <ErrorState error={q.error} feature="The public address" />;
  const v = q.data;
  const value = draft ?? v.tenant_setting ?? '';
  const fieldError = save.error instanceof ApiError ? save.error.message : save.error ? 'Could not save: try again.' : null;
  return (
    <Stack maw={720}>
      <Text size="sm">Stores such as Shopify send webhooks to this address. It must be reachable from the internet, over https.</Text>
      <Text size="sm" data-testid="public-url-current">
        Now: <span className="mono">{v.url}</span> ({SOURCE[v.source]})
      </Text>
      {v.warning && (
        <Alert color="orange" title="Stores cannot reach this address" data-testid="public-url-warning">
          {v.warning}
        </Alert>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(value.trim() ? value.trim() : null);
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Public address of this server"
            placeholder={v.environment ?? 'https://loupe.example.com'}
            value={value}
            onChange={(e) => setDraft(e.currentTarget.value)}
            error={fieldError}
            w={{ base: '100%', sm: 420 }}
          />
          <Button type="submit" loading={save.isPending}>
            Save
          </Button>
          {v.tenant_setting && (
            <Button variant="subtle" onClick={() => save.mutate(null)} disabled={save.isPending}>
              Use the server default
            </Button>
          )}
        </Group>
      </form>
    </Stack>
  );
}
