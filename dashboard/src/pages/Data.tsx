import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Group, NumberInput, Paper, Progress, Select, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get, requestRaw, toError } from '../api/client.ts';
import type { Job, MartList, MartPage, QualityReport, RetentionPurge, RetentionStatus, WarehouseExportStatus } from '../api/types.ts';
import { DataTable } from '../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { fmtDate, fmtNumber } from '../lib/format.ts';
import { useSession } from '../session.tsx';

const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** Follows a job every second until it ends (then calls `onDone` once); nothing while `id` is null. */
function useJob(id: string | null, onDone: () => void) {
  const q = useQuery({
    queryKey: ['job', id],
    enabled: id !== null,
    queryFn: ({ signal }) => get<Job>(`/api/v1/jobs/${id}`, undefined, signal),
    refetchInterval: (q) => (q.state.data && FINISHED.includes(q.state.data.status) ? false : 1000),
  });
  const done = q.data !== undefined && FINISHED.includes(q.data.status);
  const onDoneRef = useRef(onDone);
  onDoneRef.current = onDone;
  // Once per finished job (the id changes with each new run).
  useEffect(() => {
    if (done && id) onDoneRef.current();
  }, [done, id]);
  return q;
}

function JobProgress({ job }: { job: Job }) {
  const p = (job.progress ?? {}) as { table?: string; rows_done?: number; rows_total?: number; step?: string };
  const pct = p.rows_total ? Math.min(100, (100 * (p.rows_done ?? 0)) / p.rows_total) : job.status === 'succeeded' ? 100 : 0;
  return (
    <Stack gap={4} data-testid="job-progress">
      <Text size="sm">
        <Badge color={job.status === 'failed' ? 'red' : job.status === 'succeeded' ? 'green' : 'blue'} mr="xs">
          {job.status}
        </Badge>
        {p.table ? `${p.table}: ${fmtNumber(p.rows_done ?? 0)} of ${fmtNumber(p.rows_total ?? 0)} rows` : (p.step ?? '')}
        {job.error ? ` · ${job.error}` : ''}
      </Text>
      <Progress value={pct} aria-label="Progress" animated={job.status === 'running' || job.status === 'queued'} />
    </Stack>
  );
}

function Exports() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [jobId, setJobId] = useState<string | null>(null);
  const q = useQuery({
    queryKey: ['warehouse-exports', tenantId],
    queryFn: ({ signal }) => get<WarehouseExportStatus>('/api/v1/warehouse/exports', undefined, signal),
  });
  const job = useJob(jobId, () => void qc.invalidateQueries({ queryKey: ['warehouse-exports', tenantId] }));
  const start = useMutation({
    mutationFn: () => api<Job>('POST', '/api/v1/warehouse/exports', { body: {} }),
    onSuccess: (j) => setJobId(j.id),
  });
  return (
    <Paper withBorder p="md" radius="md">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2} size="h4">
            Parquet export
          </Title>
          <Button size="xs" onClick={() => start.mutate()} loading={start.isPending}>
            Export now
          </Button>
        </Group>
        {start.error && <ErrorState error={start.error} />}
        {job.data && <JobProgress job={job.data} />}
        {q.isPending ? (
          <Loading label="Loading the export status" />
        ) : q.error ? (
          <ErrorState error={q.error} feature="The warehouse export" />
        ) : q.data.watermarks.length === 0 ? (
          <EmptyState title="Nothing exported yet">
            Export now writes your events, profiles, orders and items as Parquet files; afterwards it runs every {q.data.interval_minutes}{' '}
            minutes.
          </EmptyState>
        ) : (
          <>
            <DataTable
              testId="export-watermarks"
              rows={q.data.watermarks}
              rowKey={(w) => w.table}
              columns={[
                { key: 'table', label: 'Table' },
                { key: 'rows_exported', label: 'Rows exported', render: (w) => fmtNumber(w.rows_exported) },
                { key: 'batches', label: 'Batches' },
                { key: 'last_run_at', label: 'Last run', render: (w) => fmtDate(w.last_run_at) },
                {
                  key: 'last_error',
                  label: 'Last error',
                  render: (w) => (w.last_error ? <Text c="red">{w.last_error}</Text> : '—'),
                },
              ]}
            />
            <Group justify="space-between">
              <Text fw={600}>Manifest: recent files</Text>
              <Button
                size="xs"
                variant="light"
                onClick={() =>
                  downloadCsv(
                    'export-files.csv',
                    ['table', 'partition_date', 'path', 'row_count', 'bytes', 'sha256', 'created_at'],
                    q.data.files.map((f) => [f.table, f.partition_date, f.path, f.row_count, f.bytes, f.sha256, f.created_at]),
                  )
                }
              >
                Export CSV
              </Button>
            </Group>
            <DataTable
              testId="export-files"
              rows={q.data.files.slice(0, 20)}
              rowKey={(f) => f.path}
              columns={[
                { key: 'table', label: 'Table' },
                { key: 'partition_date', label: 'Date' },
                { key: 'row_count', label: 'Rows', render: (f) => fmtNumber(f.row_count) },
                { key: 'path', label: 'File', render: (f) => <span className="mono">{f.path}</span> },
                { key: 'created_at', label: 'Written', render: (f) => fmtDate(f.created_at) },
              ]}
            />
          </>
        )}
      </Stack>
    </Paper>
  );
}

async function downloadMartCsv(name: string): Promise<void> {
  const res = await requestRaw('GET', `/api/v1/warehouse/marts/${name}?format=csv`, { headers: { accept: 'text/csv' } });
  if (!res.ok) throw await toError(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.csv`;
  a.click();
  URL.revokeObjectURL(url);
}

function Marts() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [name, setName] = useState<string>('rfm_analysis');
  const [jobId, setJobId] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['marts', tenantId],
    queryFn: ({ signal }) => get<MartList>('/api/v1/warehouse/marts', undefined, signal),
  });
  const page = useQuery({
    queryKey: ['mart', tenantId, name],
    queryFn: ({ signal }) => get<MartPage>(`/api/v1/warehouse/marts/${name}`, { limit: 50 }, signal),
  });
  const job = useJob(jobId, () => {
    void qc.invalidateQueries({ queryKey: ['marts', tenantId] });
    void qc.invalidateQueries({ queryKey: ['mart', tenantId] });
    void qc.invalidateQueries({ queryKey: ['quality', tenantId] });
  });
  const refresh = useMutation({
    mutationFn: () => api<Job>('POST', '/api/v1/warehouse/marts/refresh'),
    onSuccess: (j) => setJobId(j.id),
  });
  const csv = useMutation({ mutationFn: () => downloadMartCsv(name) });
  const spec = list.data?.marts.find((m) => m.name === name);
  return (
    <Paper withBorder p="md" radius="md">
      <Stack gap="sm">
        <Group justify="space-between" wrap="wrap">
          <Title order={2} size="h4">
            Marts
          </Title>
          <Group gap="xs">
            <Select
              aria-label="Mart"
              data={(list.data?.marts ?? []).map((m) => ({ value: m.name, label: `${m.name} (${fmtNumber(m.rows)})` }))}
              value={name}
              allowDeselect={false}
              onChange={(v) => v && setName(v)}
              w={240}
            />
            <Button size="xs" variant="light" onClick={() => csv.mutate()} loading={csv.isPending} disabled={!page.data?.data.length}>
              Export CSV
            </Button>
            <Button size="xs" onClick={() => refresh.mutate()} loading={refresh.isPending}>
              Refresh marts
            </Button>
          </Group>
        </Group>
        {(refresh.error || csv.error) && <ErrorState error={refresh.error ?? csv.error} />}
        {job.data && <JobProgress job={job.data} />}
        {list.data && (
          <Text size="xs" c="dimmed" data-testid="marts-refreshed">
            {list.data.last_refresh ? `Refreshed ${fmtDate(list.data.last_refresh.refreshed_at)}` : 'Never refreshed'}
            {spec ? ` · ${spec.description}` : ''}
          </Text>
        )}
        {page.isPending ? (
          <Loading label="Loading the mart" />
        ) : page.error ? (
          <ErrorState error={page.error} feature="Marts" />
        ) : page.data.data.length === 0 ? (
          <EmptyState title="This mart is empty">
            Marts are rebuilt after each import and every hour once started. Refresh marts builds them now from your orders, customers and
            catalog.
          </EmptyState>
        ) : (
          <DataTable
            testId="mart-preview"
            rows={page.data.data}
            rowKey={(r, i) => `${i}`}
            columns={page.data.columns.map((c) => ({ key: c.name, label: c.name }))}
          />
        )}
      </Stack>
    </Paper>
  );
}

function Quality() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['quality', tenantId],
    queryFn: ({ signal }) => get<QualityReport>('/api/v1/warehouse/quality', { history: 10 }, signal),
  });
  if (q.isPending) return <Loading label="Loading data-quality results" />;
  if (q.error) return <ErrorState error={q.error} feature="Data quality" />;
  const latest = q.data.latest;
  const failing = latest?.results.filter((r) => r.status === 'fail') ?? [];
  return (
    <Paper withBorder p="md" radius="md">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2} size="h4">
            Data quality
          </Title>
          {latest && (
            <Button
              size="xs"
              variant="light"
              onClick={() =>
                downloadCsv(
                  'data-quality.csv',
                  ['check', 'table', 'kind', 'status', 'observed', 'threshold', 'examples', 'message'],
                  latest.results.map((r) => [r.check, r.table, r.kind, r.status, r.observed, r.threshold, r.examples.join('|'), r.message]),
                )
              }
            >
              Export CSV
            </Button>
          )}
        </Group>
        {!latest ? (
          <EmptyState title="No checks have run yet">
            {q.data.expectations.length} expectations run after each import, every hour, and when you refresh the marts.
          </EmptyState>
        ) : (
          <>
            {failing.length > 0 ? (
              <Alert
                color="red"
                title={`${failing.length} failing ${failing.length === 1 ? 'check' : 'checks'}`}
                role="alert"
                data-testid="quality-failing"
              >
                {failing.map((f) => f.check).join(', ')}
              </Alert>
            ) : (
              <Alert color="green" title="All checks pass" data-testid="quality-ok">
                Last run {fmtDate(latest.ran_at)}.
              </Alert>
            )}
            <Text size="xs" c="dimmed">
              Run {fmtDate(latest.ran_at)} ({latest.trigger})
            </Text>
            <div className="table-scroll">
              <Table data-testid="quality-results">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Check</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Observed</Table.Th>
                    <Table.Th>Examples</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {latest.results.map((r) => (
                    <Table.Tr key={r.check} data-status={r.status} bg={r.status === 'fail' ? 'var(--mantine-color-red-light)' : undefined}>
                      <Table.Td>
                        <Text size="sm" fw={r.status === 'fail' ? 700 : 400}>
                          {r.check}
                        </Text>
                        <Text size="xs" c="dimmed">
                          {r.message}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Badge color={r.status === 'fail' ? 'red' : r.status === 'pass' ? 'green' : 'gray'}>{r.status}</Badge>
                      </Table.Td>
                      <Table.Td>{r.observed === null ? '—' : fmtNumber(r.observed)}</Table.Td>
                      <Table.Td className="mono">{r.examples.join(', ') || '—'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </div>
            {q.data.history.length > 1 && (
              <DataTable
                testId="quality-history"
                rows={q.data.history}
                rowKey={(h) => h.run_id}
                columns={[
                  { key: 'ran_at', label: 'Run', render: (h) => fmtDate(h.ran_at) },
                  { key: 'trigger', label: 'Trigger' },
                  { key: 'passed', label: 'Passed' },
                  { key: 'failed', label: 'Failed', render: (h) => (h.failed ? <Text c="red">{h.failed}</Text> : '0') },
                  { key: 'skipped', label: 'Skipped' },
                ]}
              />
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}

/**
 * Event retention: how many whole months of events this store keeps, what lies past it, and whether the export has
 * archived it (with archive on, only events already in a Parquet file are deleted). Owners change it.
 */
function Retention() {
  const { tenantId, tenant, data } = useSession();
  const canEdit = tenant?.role === 'owner' || !!data?.user.is_platform_admin;
  const qc = useQueryClient();
  const key = ['retention', tenantId];
  const q = useQuery({ queryKey: key, queryFn: ({ signal }) => get<RetentionStatus>('/api/v1/settings/retention', undefined, signal) });
  const [months, setMonths] = useState<number | ''>('');
  const [archive, setArchive] = useState<boolean | null>(null);
  const [purged, setPurged] = useState<RetentionPurge | null>(null);
  const save = useMutation({
    mutationFn: (body: { months: number | null; archive: boolean }) => api<RetentionStatus>('PUT', '/api/v1/settings/retention', { body }),
    onSuccess: (v) => {
      qc.setQueryData(key, v);
      setMonths('');
      setArchive(null);
    },
  });
  const purge = useMutation({
    mutationFn: () => api<RetentionPurge>('POST', '/api/v1/settings/retention/purge', {}),
    onSuccess: (r) => {
      setPurged(r);
      void qc.invalidateQueries({ queryKey: key });
    },
  });
  const fieldError = (f: string) => {
    const d = (save.error instanceof ApiError ? save.error.details : []) as { field?: unknown; message?: unknown }[];
    const hit = d.find((x) => String(x.field ?? '') === f);
    return hit ? String(hit.message ?? 'invalid') : null;
  };
  return (
    <Paper withBorder p="md" radius="md" data-testid="retention">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Event retention
        </Title>
        {q.isPending ? (
          <Loading label="Loading the retention" />
        ) : q.error ? (
          <ErrorState error={q.error} feature="Event retention" />
        ) : (
          <>
            <Text size="sm" data-testid="retention-summary">
              {q.data.months === null
                ? 'This store keeps all its events'
                : `This store keeps ${q.data.months} whole month${q.data.months === 1 ? '' : 's'} of events before the current one`}
              {q.data.platform_months !== null ? ` (the platform keeps at most ${q.data.platform_months})` : ''}
              {q.data.kept_from ? `: events before ${fmtDate(q.data.kept_from)} are refused and deleted every hour.` : '.'}
            </Text>
            {q.data.kept_from && (
              <Text size="sm" data-testid="retention-past">
                {q.data.past_retention.rows === 0
                  ? 'Nothing stored is past the retention.'
                  : `${fmtNumber(q.data.past_retention.rows)}${q.data.past_retention.capped ? '+' : ''} stored events are past it`}
                {q.data.past_retention.awaiting_archive > 0
                  ? `; ${fmtNumber(q.data.past_retention.awaiting_archive)} wait for the Parquet export to archive them (Export now below, or the next scheduled export).`
                  : q.data.past_retention.rows > 0
                    ? '.'
                    : ''}
                {q.data.last_purge_at
                  ? ` Last purge ${fmtDate(q.data.last_purge_at)}: ${fmtNumber(q.data.last_purged_rows)} deleted (${fmtNumber(q.data.purged_rows)} in all).`
                  : ''}
              </Text>
            )}
            {canEdit ? (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  save.mutate({
                    months: months === '' ? (q.data.months ?? null) : months,
                    archive: archive ?? q.data.archive,
                  });
                }}
              >
                <Group align="flex-end">
                  <NumberInput
                    label="Months kept (empty: all)"
                    min={1}
                    max={1200}
                    allowDecimal={false}
                    value={months === '' ? (q.data.months ?? '') : months}
                    onChange={(v) => setMonths(typeof v === 'number' ? v : '')}
                    error={fieldError('months')}
                    w={200}
                  />
                  <Switch
                    label="Archive to Parquet before deleting"
                    checked={archive ?? q.data.archive}
                    onChange={(e) => setArchive(e.currentTarget.checked)}
                  />
                  <Button type="submit" loading={save.isPending}>
                    Save retention
                  </Button>
                  {q.data.months !== null && (
                    <Button
                      variant="light"
                      onClick={() => save.mutate({ months: null, archive: archive ?? q.data.archive })}
                      loading={save.isPending}
                    >
                      Keep everything
                    </Button>
                  )}
                  {q.data.months !== null && (
                    <Button variant="light" color="red" onClick={() => purge.mutate()} loading={purge.isPending}>
                      Delete past events now
                    </Button>
                  )}
                </Group>
              </form>
            ) : (
              <Text size="sm" c="dimmed">
                Only an owner of this store can change the retention.
              </Text>
            )}
            {save.error && !fieldError('months') && <ErrorState error={save.error} feature="Saving the retention" />}
            {purge.error && <ErrorState error={purge.error} feature="The purge" />}
            {purged && (
              <Text size="sm" c="green" role="status" data-testid="retention-purged">
                Deleted {fmtNumber(purged.deleted)} events
                {purged.awaiting_archive ? `; ${fmtNumber(purged.awaiting_archive)} wait for the export` : ''}
                {purged.done ? '.' : '; more remain, the hourly run goes on.'}
              </Text>
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}

/** Data: the warehouse export (runs, progress, manifest), the marts with CSV, the data-quality results and the event retention. */
export default function DataPage() {
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        Data
      </Title>
      <Quality />
      <Marts />
      <Exports />
      <Retention />
    </Stack>
  );
}
