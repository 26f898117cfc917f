import { useMemo, useState } from 'react';
import { Alert, Badge, Button, Code, Group, Modal, MultiSelect, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret, WebhookEventTypes, WebhookStats } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { fetchAllPages, PagedTable } from '../../components/PagedTable.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { toCsv } from '../../lib/csv.ts';
import { fmtDate, str } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

const STATUS_COLOR = { pending: 'yellow', sending: 'blue', succeeded: 'teal', failed: 'red' } as const;
const STATUSES = ['pending', 'sending', 'succeeded', 'failed'] as const;

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.details.length ? `${e.message} ${e.details.map((d) => str(d)).join('; ')}` : e.message;
  return 'Something went wrong.';
}

/**
 * Settings → Webhooks: endpoints Loupe POSTs signed events to (Standard Webhooks), the secret shown once on create
 * and rotation, a test send, the deliveries with their status and a redeliver button, and a daily success-rate and
 * latency chart.
 */
export function Webhooks() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const endpoints = useQuery({
    queryKey: ['webhook-endpoints', tenantId],
    queryFn: ({ signal }) => get<{ data: WebhookEndpoint[] }>('/api/v1/webhooks/endpoints', undefined, signal),
  });
  const types = useQuery({
    queryKey: ['webhook-event-types'],
    queryFn: ({ signal }) => get<WebhookEventTypes>('/api/v1/webhooks/event-types', undefined, signal),
  });
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [shown, setShown] = useState<WebhookEndpointWithSecret | null>(null);
  const invalidate = () => {
    void qc.invalidateQueries({ queryKey: ['webhook-endpoints'] });
    void qc.invalidateQueries({ queryKey: ['webhook-deliveries'] });
    void qc.invalidateQueries({ queryKey: ['webhook-stats'] });
  };
  const create = useMutation({
    mutationFn: () =>
      api<WebhookEndpointWithSecret>('POST', '/api/v1/webhooks/endpoints', { body: { url, description, event_types: picked } }),
    onSuccess: (e) => {
      setShown(e);
      setUrl('');
      setDescription('');
      invalidate();
    },
  });
  const patch = useMutation({
    mutationFn: (v: { id: string; enabled: boolean }) =>
      api<WebhookEndpoint>('PATCH', `/api/v1/webhooks/endpoints/${v.id}`, { body: { enabled: v.enabled } }),
    onSuccess: invalidate,
  });
  const test = useMutation({
    mutationFn: (id: string) => api<WebhookDelivery>('POST', `/api/v1/webhooks/endpoints/${id}/test`),
    onSuccess: invalidate,
  });
  const rotate = useMutation({
    mutationFn: (id: string) =>
      api<WebhookEndpointWithSecret>('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { body: { grace_hours: 24 } }),
    onSuccess: (e) => {
      setShown(e);
      invalidate();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api<null>('DELETE', `/api/v1/webhooks/endpoints/${id}`),
    onSuccess: invalidate,
  });
  const options = (types.data?.data ?? []).flatMap((t) => [t.type]);
  const wildcards = [...new Set(options.map((t) => `${t.split('.')[0]}.*`))];

  return (
    <Stack>
      <Text size="sm" maw={760}>
        Loupe POSTs events (price alerts, segment entries, churn-risk crossings) to your endpoints as JSON, signed with the endpoint’s
        secret (Standard Webhooks: headers <Code>webhook-id</Code>, <Code>webhook-timestamp</Code>, <Code>webhook-signature</Code>). Failed
        deliveries are retried for about two days; verify them with <Code>verifyWebhook</Code> from <Code>@loupe/sdk/node</Code>.
      </Text>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm" maw={640}>
          <Title order={3} size="h4">
            Add an endpoint
          </Title>
          <TextInput
            label="URL"
            placeholder="https://example.com/loupe-webhooks"
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
            required
            maxLength={2048}
          />
          <MultiSelect
            label="Event types"
            description="Pick types, a family (pricing.*) or every event (*)."
            data={['*', ...wildcards, ...options]}
            value={picked}
            onChange={setPicked}
            searchable
            data-testid="event-type-picker"
          />
          <TextInput label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} maxLength={500} />
          {create.error && (
            <Alert color="red" role="alert">
              {errorText(create.error)}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending} disabled={!url || picked.length === 0}>
              Add endpoint
            </Button>
          </Group>
        </Stack>
      </form>
      <Modal opened={shown !== null} onClose={() => setShown(null)} title="Signing secret" centered size="lg">
        {shown && (
          <Stack>
            <Text size="sm">Copy the signing secret of {shown.url} now: it is not shown again.</Text>
            <Code block data-testid="new-webhook-secret" className="mono">
              {shown.secret}
            </Code>
            {shown.previous_secret_expires_at && (
              <Text size="sm" c="dimmed">
                The previous secret also signs until {fmtDate(shown.previous_secret_expires_at)}.
              </Text>
            )}
            <Group justify="flex-end">
              <Button onClick={() => setShown(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
      <Title order={3} size="h4">
        Endpoints
      </Title>
      {endpoints.isPending ? (
        <Loading label="Loading webhook endpoints" />
      ) : endpoints.error ? (
        <ErrorState error={endpoints.error} feature="Webhooks" />
      ) : endpoints.data.data.length === 0 ? (
        <EmptyState title="No webhook endpoints yet">Add one above to receive Loupe’s events on your server.</EmptyState>
      ) : (
        <DataTable
          testId="webhook-endpoints-table"
          rows={endpoints.data.data}
          rowKey={(e) => e.id}
          columns={[
            {
              key: 'url',
              label: 'URL',
              render: (e) => (
                <Stack gap={0}>
                  <Text size="sm" className="mono">
                    {e.url}
                  </Text>
                  {e.description && (
                    <Text size="xs" c="dimmed">
                      {e.description}
                    </Text>
                  )}
                  {e.disabled_reason && (
                    <Text size="xs" c="red">
                      {e.disabled_reason}
                    </Text>
                  )}
                </Stack>
              ),
            },
            { key: 'event_types', label: 'Events', render: (e) => e.event_types.join(', ') },
            {
              key: 'enabled',
              label: 'Enabled',
              render: (e) => (
                <Switch
                  checked={e.enabled}
                  aria-label={`Enabled: ${e.url}`}
                  onChange={(ev) => patch.mutate({ id: e.id, enabled: ev.currentTarget.checked })}
                />
              ),
            },
            {
              key: 'actions',
              label: '',
              render: (e) => (
                <Group gap="xs" wrap="nowrap">
                  <Button
                    size="xs"
                    variant="light"
                    disabled={!e.enabled}
                    onClick={() => test.mutate(e.id)}
                    loading={test.isPending && test.variables === e.id}
                  >
                    Send test
                  </Button>
                  <Button size="xs" variant="default" onClick={() => rotate.mutate(e.id)}>
                    Rotate secret
                  </Button>
                  <Button
                    size="xs"
                    color="red"
                    variant="subtle"
                    onClick={() => window.confirm(`Delete ${e.url} and its delivery log?`) && remove.mutate(e.id)}
                  >
                    Delete
                  </Button>
                </Group>
              ),
            },
          ]}
        />
      )}
      {(test.error || rotate.error || patch.error || remove.error) && (
        <Alert color="red" role="alert">
          {errorText(test.error ?? rotate.error ?? patch.error ?? remove.error)}
        </Alert>
      )}
      <DeliveryChart />
      <Deliveries endpoints={endpoints.data?.data ?? []} />
    </Stack>
  );
}

function DeliveryChart() {
  const { tenantId } = useSession();
  const stats = useQuery({
    queryKey: ['webhook-stats', tenantId],
    queryFn: ({ signal }) => get<WebhookStats>('/api/v1/webhooks/stats', { days: 14 }, signal),
  });
  const chart = useMemo(() => {
    const rows = stats.data?.data ?? [];
    return {
      x: rows.map((r) => Date.parse(`${r.day}T00:00:00Z`) / 1000),
      series: [
        { label: 'Success rate (%)', values: rows.map((r) => (r.success_rate === null ? null : Math.round(r.success_rate * 1000) / 10)) },
        { label: 'p95 latency (ms)', values: rows.map((r) => r.p95_latency_ms) },
      ],
    };
  }, [stats.data]);
  const rows = stats.data?.data ?? [];
  const total = rows.reduce((n, r) => n + r.attempts, 0);
  const ok = rows.reduce((n, r) => n + r.succeeded, 0);
  return (
    <Stack gap="xs">
      <Title order={3} size="h4">
        Last 14 days
      </Title>
      {stats.isPending ? (
        <Loading label="Loading delivery statistics" />
      ) : stats.error ? (
        <ErrorState error={stats.error} feature="Webhooks" />
      ) : rows.length === 0 ? (
        <EmptyState title="No delivery attempts yet">Send a test event to an endpoint to see its success rate and latency here.</EmptyState>
      ) : (
        <>
          <Text size="sm" data-testid="webhook-stats-summary">
            {total} attempts, {total ? Math.round((ok / total) * 1000) / 10 : 0}% succeeded
          </Text>
          <LineChart x={chart.x} series={chart.series} label="Daily webhook success rate and 95th-percentile latency" />
        </>
      )}
    </Stack>
  );
}

/** Deliveries a page shows; the server caps offsets at 10,000, the export stops there too. */
const DELIVERY_PAGE = 50;
const DELIVERY_OFFSET_CAP = 10_000;
type DeliveryPage = { data: WebhookDelivery[]; next_cursor: string | null; total: number };

function Deliveries({ endpoints }: { endpoints: WebhookEndpoint[] }) {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [status, setStatusRaw] = useState<string | null>(null);
  const [page, setPage] = useState<{ sort: string; offset: number }>({ sort: '-created_at', offset: 0 });
  const setStatus = (v: string | null) => {
    setStatusRaw(v);
    setPage((p) => ({ ...p, offset: 0 }));
  };
  const urls = new Map(endpoints.map((e) => [e.id, e.url]));
  const filters = { status: status ?? undefined };
  const deliveries = useQuery({
    queryKey: ['webhook-deliveries', tenantId, status, page.sort, page.offset],
    queryFn: ({ signal }) =>
      get<DeliveryPage>('/api/v1/webhooks/deliveries', { ...filters, sort: page.sort, offset: page.offset, limit: DELIVERY_PAGE }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some((d) => d.status === 'pending' || d.status === 'sending') ? 2000 : false),
  });
  const redeliver = useMutation({
    mutationFn: (id: string) => api<WebhookDelivery>('POST', `/api/v1/webhooks/deliveries/${id}/redeliver`),
    meta: { success: 'Delivery queued again' },
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['webhook-deliveries'] }),
  });
  const rows = deliveries.data?.data ?? [];
  const exportRows = async () => {
    const all = await fetchAllPages(
      (from, limit) => get<DeliveryPage>('/api/v1/webhooks/deliveries', { ...filters, sort: page.sort, offset: from, limit }),
      DELIVERY_OFFSET_CAP,
    );
    const csv = toCsv(
      all.rows.map((d) => ({ ...d, endpoint: urls.get(d.endpoint_id) ?? d.endpoint_id })),
      ['id', 'created_at', 'endpoint', 'type', 'status', 'attempts', 'last_status_code', 'last_latency_ms', 'last_error'].map((k) => ({
        key: k,
        label: k,
      })),
    );
    return { csv, truncated: all.truncated };
  };
  return (
    <Stack gap="xs">
      <Group justify="space-between" align="flex-end">
        <Title order={3} size="h4">
          Deliveries
        </Title>
        <Group>
          <Select
            label="Status"
            placeholder="any"
            data={[...STATUSES]}
            value={status}
            onChange={setStatus}
            clearable
            w={160}
            data-testid="delivery-status-filter"
          />
        </Group>
      </Group>
      {deliveries.isPending ? (
        <Loading label="Loading deliveries" />
      ) : deliveries.error ? (
        <ErrorState error={deliveries.error} feature="Webhooks" />
      ) : rows.length === 0 && page.offset === 0 ? (
        <EmptyState title={status ? `No ${status} deliveries` : 'No deliveries yet'}>
          Deliveries appear here when an event matches an endpoint, or when you send a test.
        </EmptyState>
      ) : (
        <PagedTable
          testId="webhook-deliveries-table"
          rows={rows}
          rowKey={(d) => d.id}
          stale={deliveries.isPlaceholderData}
          total={deliveries.data?.total ?? rows.length}
          page={{ ...page, limit: DELIVERY_PAGE }}
          onPage={(next) => setPage((p) => ({ sort: next.sort ?? p.sort, offset: next.offset ?? 0 }))}
          exportRows={exportRows}
          exportName="webhook-deliveries.csv"
          columns={[
            { key: 'created_at', label: 'Created', sort: 'created_at', render: (d) => fmtDate(d.created_at) },
            { key: 'endpoint', label: 'Endpoint', render: (d) => urls.get(d.endpoint_id) ?? d.endpoint_id },
            { key: 'type', label: 'Event', sort: 'type' },
            { key: 'status', label: 'Status', sort: 'status', render: (d) => <Badge color={STATUS_COLOR[d.status]}>{d.status}</Badge> },
            { key: 'attempts', label: 'Attempts', sort: 'attempts' },
            {
              key: 'last',
              label: 'Last answer',
              render: (d) =>
                d.last_error ? `${d.last_error}` : d.last_status_code ? `HTTP ${d.last_status_code} in ${d.last_latency_ms} ms` : '—',
            },
            {
              key: 'redeliver',
              label: '',
              render: (d) =>
                d.status === 'succeeded' || d.status === 'failed' ? (
                  <Button size="xs" variant="light" onClick={() => redeliver.mutate(d.id)}>
                    Redeliver
                  </Button>
                ) : null,
            },
          ]}
        />
      )}
    </Stack>
  );
}
