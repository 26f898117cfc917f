import { useState } from 'react';
import { Alert, Badge, Button, Card, Code, Group, NativeSelect, Progress, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ConnectPricingSourceBody, FeedRun, PricingSourceList, PricingStoreList } from '../../api/types.ts';
import { api, get } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { useSession } from '../../session.tsx';

type Source = PricingSourceList['data'][number];
const statusColor = (s: string) => (s === 'succeeded' ? 'green' : s === 'failed' ? 'red' : s === 'retrying' ? 'orange' : 'blue');

function csv(rows: Source[]) {
  downloadCsv(
    'pricing-networks.csv',
    ['store', 'network', 'schedule', 'next_run_at', 'price_schedule', 'next_price_run_at', 'last_status', 'last_run_at', 'last_error'],
    rows.map((r) => [
      r.store,
      r.network,
      r.schedule,
      r.next_run_at,
      r.price_schedule,
      r.next_price_run_at,
      r.last_run?.status ?? null,
      r.last_run?.at ?? null,
      r.last_run?.error ?? null,
    ]),
  );
}

const logColor = (level: string) => (level === 'error' ? 'red' : level === 'warning' ? 'orange' : undefined);

/**
 * One run as an operator follows it: status, attempt, progress while it goes, and its log (started, pages read,
 * rejected rows, retries, the end and what to do next). Re-read every second while queued or running.
 */
function RunLog({ runId, store, onClose }: { runId: string; store: string; onClose: () => void }) {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['pricing-run', tenantId, runId],
    queryFn: ({ signal }) => get<FeedRun>(`/api/v1/pricing/feed-runs/${runId}`, undefined, signal),
    refetchInterval: (query) => {
      const st = query.state.data?.status;
      return st === 'queued' || st === 'running' ? 1000 : false;
    },
  });
  const run = q.data;
  const fraction = run?.status === 'succeeded' ? 1 : (run?.progress?.fraction ?? 0);
  return (
    <Card withBorder data-testid="run-log">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={5}>Last import of {store}</Title>
          <Button size="xs" variant="subtle" onClick={onClose}>
            Close
          </Button>
        </Group>
        {q.isLoading ? (
          <Loading label="Loading the run" />
        ) : q.error ? (
          <ErrorState error={q.error} feature="Pricing" />
        ) : run ? (
          <>
            <Group gap="xs">
              <Badge color={statusColor(run.status)}>{run.status}</Badge>
              <Text size="sm">
                {run.mode === 'prices' ? 'price-only update' : 'full import'}, attempt {run.attempt} of {run.max_attempts}
              </Text>
              <Text size="sm" c="dimmed">
                {run.rows_read} rows read, {run.rows_rejected} rejected, {run.offers_created} offers created, {run.prices_changed} prices
                changed
              </Text>
            </Group>
            <Progress
              value={Math.round(100 * fraction)}
              color={run.status === 'failed' ? 'red' : undefined}
              aria-label={`Progress ${Math.round(100 * fraction)}%`}
            />
            {run.failure && <Alert color="red">{run.failure}</Alert>}
            <Stack gap={2} data-testid="run-log-lines">
              {run.log.length ? (
                run.log.map((l, i) => (
                  <Text key={`${l.at}-${i}`} size="xs" c={logColor(l.level)}>
                    <Code>{new Date(l.at).toLocaleTimeString()}</Code> {l.message}
                  </Text>
                ))
              ) : (
                <Text size="xs" c="dimmed">
                  Nothing logged yet.
                </Text>
              )}
            </Stack>
          </>
        ) : null}
      </Stack>
    </Card>
  );
}

/** Connects a store to Rakuten Advertising or CJ; the secrets are sent once and never shown again. */
function ConnectForm({ onDone }: { onDone: () => void }) {
  const { tenantId } = useSession();
  const stores = useQuery({
    queryKey: ['pricing-stores', tenantId],
    queryFn: ({ signal }) => get<PricingStoreList>('/api/v1/pricing/stores', undefined, signal),
  });
  const [v, setV] = useState({ store: '', network: 'rakuten', a: '', b: '', c: '', d: '', schedule: 'hourly', prices: 'off' });
  const set = (k: keyof typeof v) => (e: { currentTarget: { value: string } }) => setV({ ...v, [k]: e.currentTarget.value });
  const connect = useMutation({
    mutationFn: () => {
      const schedule = v.schedule as 'hourly' | 'daily' | 'off';
      const price_schedule = v.prices as 'hourly' | 'off';
      const body: ConnectPricingSourceBody =
        v.network === 'rakuten'
          ? { network: 'rakuten', client_id: v.a, client_secret: v.b, sid: v.c, mid: v.d, schedule, price_schedule }
          : { network: 'cj', token: v.a, company_id: v.c, partner_ids: v.d.split(/[\s,]+/).filter(Boolean), schedule, price_schedule };
      return api('PUT', `/api/v1/pricing/stores/${v.store}/network`, { body });
    },
    onSuccess: onDone,
  });
  const storeList = stores.data?.data ?? [];
  const rk = v.network === 'rakuten';
  return (
    <Card withBorder>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          connect.mutate();
        }}
      >
        <Stack gap="xs">
          <Title order={5}>Connect a network</Title>
          <Group grow>
            <NativeSelect
              label="Store"
              value={v.store}
              onChange={set('store')}
              data={[
                { value: '', label: storeList.length ? 'Choose a store' : 'No stores yet' },
                ...storeList.map((s) => ({ value: s.id, label: s.name })),
              ]}
            />
            <NativeSelect
              label="Network"
              value={v.network}
              onChange={set('network')}
              data={[
                { value: 'rakuten', label: 'Rakuten Advertising' },
                { value: 'cj', label: 'CJ' },
              ]}
            />
            <NativeSelect label="Schedule" value={v.schedule} onChange={set('schedule')} data={['hourly', 'daily', 'off']} />
            <NativeSelect label="Price updates" value={v.prices} onChange={set('prices')} data={['off', 'hourly']} />
          </Group>
          <Group grow>
            <TextInput label={rk ? 'Client id' : 'Personal access token'} value={v.a} onChange={set('a')} type={rk ? 'text' : 'password'} />
            {rk && <TextInput label="Client secret" value={v.b} onChange={set('b')} type="password" />}
            <TextInput label={rk ? 'Site id (SID)' : 'Company id (CID)'} value={v.c} onChange={set('c')} />
            <TextInput label={rk ? 'Merchant id (MID)' : 'Advertiser ids'} value={v.d} onChange={set('d')} />
          </Group>
          {connect.error && <Alert color="red">{(connect.error as Error).message}</Alert>}
          <Group>
            <Button type="submit" disabled={!v.store} loading={connect.isPending}>
              Connect
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

/** Stores' affiliate network connections: schedule, next and last import (with its error), import now, connect. */
export function PricingSources() {
  const { tenantId } = useSession();
  const client = useQueryClient();
  const q = useQuery({
    queryKey: ['pricing-sources', tenantId],
    queryFn: ({ signal }) => get<PricingSourceList>('/api/v1/pricing/sources', undefined, signal),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['pricing-sources', tenantId] });
  const [shown, setShown] = useState<{ runId: string; store: string } | null>(null);
  const run = useMutation({
    mutationFn: (v: { id: string; prices: boolean; store: string }) =>
      api<{ run_id: string }>('POST', `/api/v1/pricing/sources/${v.id}/runs${v.prices ? '?mode=prices' : ''}`),
    onSuccess: (out, v) => setShown({ runId: out.run_id, store: v.store }),
    onSettled: refresh,
  });
  const rows = q.data?.data ?? [];
  return (
    <Stack>
      <ConnectForm onDone={refresh} />
      {q.isLoading ? (
        <Loading label="Loading network connections" />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Pricing" />
      ) : !rows.length ? (
        <EmptyState title="No network connections yet">
          Connect a store to Rakuten Advertising or CJ: its products are then imported on schedule.
        </EmptyState>
      ) : (
        <>
          <Group justify="space-between">
            <Text size="sm">{rows.length} connections</Text>
            <Button variant="light" size="xs" onClick={() => csv(rows)}>
              Download CSV
            </Button>
          </Group>
          {run.error && <Alert color="red">{(run.error as Error).message}</Alert>}
          {shown && <RunLog key={shown.runId} runId={shown.runId} store={shown.store} onClose={() => setShown(null)} />}
          <DataTable
            testId="sources-table"
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { key: 'store', label: 'Store' },
              { key: 'network', label: 'Network', render: (r) => (r.network === 'cj' ? 'CJ' : 'Rakuten') },
              { key: 'schedule', label: 'Schedule' },
              { key: 'next_run_at', label: 'Next import', render: (r) => (r.next_run_at ? new Date(r.next_run_at).toLocaleString() : '—') },
              {
                key: 'next_price_run_at',
                label: 'Price updates',
                render: (r) =>
                  r.price_schedule === 'off' || !r.next_price_run_at
                    ? 'off'
                    : `hourly, next ${new Date(r.next_price_run_at).toLocaleString()}`,
              },
              {
                key: 'last_run',
                label: 'Last import',
                render: (r) =>
                  r.last_run ? (
                    <Stack gap={2}>
                      <Group gap="xs">
                        <Badge color={statusColor(r.last_run.status)}>{r.last_run.status}</Badge>
                        {r.last_run.at && <Text size="sm">{new Date(r.last_run.at).toLocaleString()}</Text>}
                      </Group>
                      {r.last_run.error && (
                        <Text size="xs" c="red">
                          {r.last_run.error}
                        </Text>
                      )}
                    </Stack>
                  ) : (
                    'never'
                  ),
              },
              {
                key: 'id',
                label: '',
                render: (r) => (
                  <Group gap="xs" wrap="nowrap">
                    <Button
                      size="xs"
                      variant="light"
                      onClick={() => run.mutate({ id: r.id, prices: false, store: r.store })}
                      loading={run.isPending && run.variables?.id === r.id && !run.variables.prices}
                    >
                      Import now
                    </Button>
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => run.mutate({ id: r.id, prices: true, store: r.store })}
                      loading={run.isPending && run.variables?.id === r.id && run.variables.prices}
                    >
                      Update prices
                    </Button>
                    {r.last_run && (
                      <Button size="xs" variant="subtle" onClick={() => setShown({ runId: r.last_run!.id, store: r.store })}>
                        Log
                      </Button>
                    )}
                  </Group>
                ),
              },
            ]}
          />
        </>
      )}
    </Stack>
  );
}
