import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  Progress,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api/client.ts';
import type {
  AtRiskResponse,
  DriftResponse,
  ForecastResponse,
  ItemForecastResponse,
  Job,
  PredictionMetricsSummary,
  PredictionModelVersions,
  PredictionSegments,
  PredictionSegmentHistory,
} from '../api/types.ts';
import { BarChart } from '../components/BarChart.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { LineChart } from '../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { toCsv } from '../lib/csv.ts';
import { downloadCsvText } from '../lib/download.ts';
import { currencyExponent, isCurrencyCode } from '../../../src/contracts/money.ts';
import { fmtDate, fmtMinor, fmtNumber, fmtPercent } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';

const DONE = new Set(['succeeded', 'failed', 'cancelled']);
const words = (s: string) => s.replaceAll('_', ' ');
const KIND_NAMES: Record<string, string> = { churn: 'Churn', ltv: 'Lifetime value', clv: 'BG/NBD + Gamma-Gamma', segments: 'Segments' };
const DRIFT_COLORS = { stable: 'green', moderate: 'orange', significant: 'red' } as const;
/** The metrics worth a column per model kind (the rest stay in the API). */
const KEY_METRICS: Record<string, string[]> = {
  churn: ['roc_auc', 'brier', 'f1'],
  ltv: ['mae', 'rmse', 'r2'],
  clv: ['log_likelihood', 'customers'],
  segments: ['silhouette', 'clusters'],
};

export default function PredictionsPage() {
  const [params, setParams] = useParams(['job'] as const);
  return (
    <Stack>
      <Title order={2}>Predictions</Title>
      <Train job={params.job} onStarted={(job) => setParams({ job })} />
      <Models />
      <Segments />
      <AtRisk />
      <Forecast />
      <ItemForecast />
    </Stack>
  );
}

function Train({ job, onStarted }: { job: string; onStarted: (id: string) => void }) {
  const start = useMutation({
    mutationFn: () => api<Job>('POST', '/api/v1/predictions/train'),
    onSuccess: (j) => onStarted(j.id),
  });
  return (
    <Card withBorder>
      <Group justify="space-between">
        <div>
          <Title order={3} size="h5">
            Train now
          </Title>
          <Text size="sm" c="dimmed">
            Trains churn, lifetime value and segments on every customer's orders and rescores everyone. Serving keeps the current models
            until the run finishes.
          </Text>
        </div>
        <Button onClick={() => start.mutate()} loading={start.isPending}>
          Train now
        </Button>
      </Group>
      {start.error && <ErrorState error={start.error} />}
      {job && <JobProgress id={job} />}
    </Card>
  );
}

function JobProgress({ id }: { id: string }) {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['job', tenantId, id],
    queryFn: ({ signal }) => get<Job>(`/api/v1/jobs/${encodeURIComponent(id)}`, undefined, signal),
    refetchInterval: (query) => (query.state.data && DONE.has(query.state.data.status) ? false : 1000),
  });
  const d = q.data;
  useEffect(() => {
    if (d && DONE.has(d.status)) void qc.invalidateQueries({ queryKey: ['predictions'] });
  }, [d, qc]);
  if (q.error) return <ErrorState error={q.error} />;
  if (!d) return <Loading label="Loading progress" />;
  const stage = typeof d.progress?.stage === 'string' ? d.progress.stage : '';
  const fraction = typeof d.progress?.fraction === 'number' ? d.progress.fraction : 0;
  // the stages in order, each a share of the bar
  const order = ['loading', 'training', 'segments', 'clv', 'churn', 'ltv', 'scoring', 'saving'];
  const at = Math.max(0, order.indexOf(stage));
  const pct = d.status === 'succeeded' ? 100 : Math.round((100 * (at + Math.min(1, fraction))) / order.length);
  return (
    <Stack mt="md" gap={6} data-testid="train-progress" data-status={d.status}>
      <Group justify="space-between">
        <Text size="sm" component="div">
          <Badge variant="light" color={d.status === 'failed' ? 'red' : d.status === 'succeeded' ? 'green' : 'blue'}>
            {d.status}
          </Badge>{' '}
          {stage && !DONE.has(d.status) ? words(stage) : ''}
        </Text>
        <Text size="sm">{pct} %</Text>
      </Group>
      <Progress
        value={pct}
        size="lg"
        animated={!DONE.has(d.status)}
        aria-label="Training progress"
        color={d.status === 'failed' ? 'red' : 'blue'}
      />
      {d.error && (
        <Text size="sm" c="red">
          {d.error}
        </Text>
      )}
    </Stack>
  );
}

function Models() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const versions = useQuery({
    queryKey: ['predictions', 'versions', tenantId],
    queryFn: ({ signal }) => get<PredictionModelVersions>('/api/v1/models/versions', undefined, signal),
  });
  const summary = useQuery({
    queryKey: ['predictions', 'summary', tenantId],
    queryFn: ({ signal }) => get<PredictionMetricsSummary>('/api/v1/models/metrics/summary', undefined, signal),
  });
  const drift = useQuery({
    queryKey: ['predictions', 'drift', tenantId],
    queryFn: ({ signal }) => get<DriftResponse>('/api/v1/predictions/drift', undefined, signal),
  });
  const again = useMutation({
    meta: { success: false },
    mutationFn: () => get<DriftResponse>('/api/v1/predictions/drift', { fresh: 'true' }),
    onSuccess: (d) => qc.setQueryData(['predictions', 'drift', tenantId], d),
  });
  const rows = (versions.data?.data ?? []).filter((v) => v.family === 'predictions');
  const driftOf = (id: string) => drift.data?.models.find((m) => m.model_version === id);
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        Models
      </Title>
      {versions.isLoading && <Loading label="Loading models" />}
      {versions.error && <ErrorState error={versions.error} feature="Predictions" />}
      {versions.data && rows.length === 0 && (
        <EmptyState title="No models yet">Train now to fit churn, lifetime value and segment models on your customers' orders.</EmptyState>
      )}
      {summary.data?.churn && (
        <Text size="sm" mb="xs" data-testid="churn-summary">
          Churn model: ROC-AUC {fmtNumber(summary.data.churn.roc_auc)}, Brier {fmtNumber(summary.data.churn.brier)} on customers it did not
          train on.
        </Text>
      )}
      {rows.length > 0 && (
        <DataTable
          testId="model-versions"
          rows={rows}
          rowKey={(r) => r.id}
          columns={[
            { key: 'kind', label: 'Model', render: (r) => KIND_NAMES[r.kind] ?? r.kind },
            { key: 'version', label: 'Version' },
            { key: 'model_type', label: 'Type', render: (r) => words(r.model_type) },
            {
              key: 'status',
              label: 'Status',
              render: (r) => <Badge color={r.status === 'active' ? 'green' : 'gray'}>{r.status}</Badge>,
            },
            {
              key: 'metrics',
              label: 'Metrics (holdout)',
              render: (r) =>
                (KEY_METRICS[r.kind] ?? [])
                  .filter((k) => r.metrics[k] !== undefined)
                  .map((k) => `${k} ${fmtNumber(r.metrics[k])}`)
                  .join(' · ') || '—',
            },
            {
              key: 'drift',
              label: 'Drift (PSI)',
              render: (r) => {
                if (r.status !== 'active') return '—';
                const m = driftOf(r.version);
                if (!m || m.status === null) return drift.isLoading ? '…' : 'no reference';
                const top = m.columns[0];
                return (
                  <Group gap={6} wrap="nowrap">
                    <Badge color={DRIFT_COLORS[m.status]}>{m.status}</Badge>
                    <Text size="xs">{top ? `${words(top.name)} ${fmtNumber(top.psi)}` : ''}</Text>
                  </Group>
                );
              },
            },
            { key: 'created_at', label: 'Trained', render: (r) => fmtDate(r.created_at) },
          ]}
        />
      )}
      {drift.error && <ErrorState error={drift.error} />}
      {drift.data && rows.length > 0 && (
        <Group mt="sm" justify="space-between">
          {drift.data.retrain_recommended ? (
            <Alert color="red" title="Retraining recommended" data-testid="drift-alert">
              Customers today differ significantly (PSI at or above {drift.data.thresholds.significant}) from the ones the models were
              trained on. Train now to refresh them.
            </Alert>
          ) : (
            <Text size="sm" c="dimmed" data-testid="drift-note">
              Drift measured {fmtDate(drift.data.as_of)} over {fmtNumber(drift.data.customers)} customers: PSI below{' '}
              {drift.data.thresholds.moderate} is stable, {drift.data.thresholds.significant} or more calls for retraining.
            </Text>
          )}
          <Button variant="default" size="xs" onClick={() => again.mutate()} loading={again.isPending}>
            Measure drift again
          </Button>
        </Group>
      )}
      {again.error && <ErrorState error={again.error} />}
    </Card>
  );
}

/** The change since the previous run, signed ("+12", "−3", "0"); a dash when there was no previous run. */
function fmtChange(now: number, before: number | null): string {
  if (before === null) return '—';
  const d = now - before;
  return d > 0 ? `+${fmtNumber(d)}` : d < 0 ? `−${fmtNumber(-d)}` : '0';
}

function Segments() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['predictions', 'segments', tenantId],
    queryFn: ({ signal }) => get<PredictionSegments>('/api/v1/predictions/segments', undefined, signal),
  });
  const history = useQuery({
    queryKey: ['predictions', 'segments-history', tenantId],
    queryFn: ({ signal }) => get<PredictionSegmentHistory>('/api/v1/predictions/segments/history', { days: 90 }, signal),
  });
  // one line per segment over the runs of the last 90 days; a segment missing from a run had 0 customers in it
  const trend = useMemo(() => {
    const rows = history.data?.data ?? [];
    const runs = [...new Set(rows.map((r) => r.run_at))];
    if (runs.length < 2) return null;
    const segments = [...new Set(rows.map((r) => r.segment))];
    const size = new Map(rows.map((r) => [`${r.run_at} ${r.segment}`, r.profiles]));
    return {
      x: runs.map((r) => Date.parse(r) / 1000),
      series: segments.map((seg) => ({ label: words(seg), values: runs.map((r) => size.get(`${r} ${seg}`) ?? 0) })),
    };
  }, [history.data]);
  const exportCsv = () =>
    downloadCsvText(
      'segment-sizes.csv',
      toCsv(
        history.data?.data ?? [],
        ['run_at', 'segment', 'profiles'].map((k) => ({ key: k, label: k })),
      ),
    );
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Segments
        </Title>
        <Button variant="default" onClick={exportCsv} disabled={!history.data?.data.length}>
          Export segment sizes CSV
        </Button>
      </Group>
      {q.isLoading && <Loading label="Loading segments" />}
      {q.error && <ErrorState error={q.error} feature="Predictions" />}
      {q.data && q.data.data.length === 0 && <EmptyState title="No segments yet">Segments appear after the first training run.</EmptyState>}
      {q.data && q.data.data.length > 0 && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <BarChart
            label="Customers per segment"
            bars={q.data.data.map((s) => ({ label: words(s.segment), value: s.profiles }))}
            format={(v) => fmtNumber(v)}
          />
          <DataTable
            testId="segments"
            rows={q.data.data}
            rowKey={(r) => r.segment}
            columns={[
              { key: 'segment', label: 'Segment', render: (r) => words(r.segment) },
              { key: 'profiles', label: 'Customers', render: (r) => fmtNumber(r.profiles) },
              {
                key: 'previous_profiles',
                label: q.data.previous_scored_at ? `Since ${fmtDate(q.data.previous_scored_at)}` : 'Since last run',
                render: (r) => fmtChange(r.profiles, r.previous_profiles),
              },
              { key: 'share', label: 'Share', render: (r) => fmtPercent(r.share) },
              { key: 'avg_churn_probability', label: 'Mean churn risk', render: (r) => fmtPercent(r.avg_churn_probability) },
            ]}
          />
        </SimpleGrid>
      )}
      {history.isLoading && <Loading label="Loading segment trends" />}
      {history.error && <ErrorState error={history.error} />}
      {q.data && q.data.data.length > 0 && history.data && !trend && (
        <Text size="sm" c="dimmed" mt="sm" data-testid="segment-trend-empty">
          Trends appear after the next scoring run (training or the nightly rescore).
        </Text>
      )}
      {trend && (
        <Stack gap={4} mt="sm" data-testid="segment-trend">
          <LineChart x={trend.x} series={trend.series} label="Customers per segment at each scoring run of the last 90 days" height={200} />
        </Stack>
      )}
    </Card>
  );
}

function AtRisk() {
  const { tenantId } = useSession();
  const [threshold, setThreshold] = useState<number | string>('');
  const t = typeof threshold === 'number' ? threshold : undefined;
  const q = useQuery({
    queryKey: ['predictions', 'at-risk', tenantId, t],
    queryFn: ({ signal }) =>
      get<AtRiskResponse>('/api/v1/predictions/at-risk', { limit: 1000, ...(t !== undefined ? { threshold: t } : {}) }, signal),
  });
  const rows = q.data?.data ?? [];
  const exportCsv = () =>
    downloadCsvText(
      'at-risk-customers.csv',
      toCsv(
        rows.map((r) => ({ ...r, top_reasons: r.top_reasons.map((x) => `${x.feature} ${x.direction}`).join('; ') })),
        ['profile_id', 'churn_probability', 'expected_value_minor', 'currency', 'segment', 'last_order_at', 'top_reasons'].map((k) => ({
          key: k,
          label: k,
        })),
      ),
    );
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm" align="flex-end">
        <Title order={3} size="h5">
          At-risk customers
        </Title>
        <Group align="flex-end">
          <NumberInput
            label="Churn risk at least"
            placeholder={q.data ? String(q.data.threshold) : 'setting'}
            min={0}
            max={1}
            step={0.05}
            decimalScale={2}
            value={threshold}
            onChange={setThreshold}
            w={160}
          />
          <Button variant="default" onClick={exportCsv} disabled={rows.length === 0}>
            Export CSV
          </Button>
        </Group>
      </Group>
      {q.isLoading && <Loading label="Loading at-risk customers" />}
      {q.error && <ErrorState error={q.error} feature="Predictions" />}
      {q.data && rows.length === 0 && (
        <EmptyState title="No customer at this risk">
          Nobody scored at or above {q.data.threshold}, or no churn model has been trained yet.
        </EmptyState>
      )}
      {rows.length > 0 && (
        <DataTable
          testId="at-risk"
          rows={rows.slice(0, 25)}
          rowKey={(r) => r.profile_id}
          columns={[
            { key: 'profile_id', label: 'Customer', render: (r) => <a href={`/customers/${r.profile_id}`}>{r.profile_id.slice(0, 8)}</a> },
            { key: 'churn_probability', label: 'Churn risk', render: (r) => fmtPercent(r.churn_probability) },
            { key: 'expected_value_minor', label: 'Expected value', render: (r) => fmtMinor(r.expected_value_minor, r.currency) },
            { key: 'segment', label: 'Segment', render: (r) => words(r.segment) },
            { key: 'last_order_at', label: 'Last order', render: (r) => fmtDate(r.last_order_at) },
            { key: 'top_reasons', label: 'Why', render: (r) => r.top_reasons.map((x) => `${words(x.feature)} ${x.direction}`).join(', ') },
          ]}
        />
      )}
      {rows.length > 25 && (
        <Text size="xs" c="dimmed" mt="xs">
          Showing 25 of {rows.length}; the CSV has them all.
        </Text>
      )}
    </Card>
  );
}

function Forecast() {
  const { tenantId } = useSession();
  const [metric, setMetric] = useState<'revenue' | 'orders'>('revenue');
  const q = useQuery({
    queryKey: ['predictions', 'forecast', tenantId, metric],
    queryFn: ({ signal }) => get<ForecastResponse>('/api/v1/predictions/forecast', { metric, horizon: 28, history: 180 }, signal),
  });
  const chart = useMemo(() => {
    const f = q.data;
    if (!f || !f.points.length) return null;
    const days = [...f.history.map((h) => h.date), ...f.points.map((p) => p.date)];
    const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    // revenue comes in minor units: drawn in major units of the currency
    const scale = f.unit === 'minor_units' && f.currency && isCurrencyCode(f.currency) ? 10 ** currencyExponent(f.currency) : 1;
    const pad = (n: number) => new Array<null>(n).fill(null);
    const h = f.history.length;
    const fc = (k: 'value' | 'lower_95' | 'upper_95' | 'lower_80' | 'upper_80') => [...pad(h), ...f.points.map((p) => p[k] / scale)];
    return {
      x,
      series: [
        { label: 'Actual', values: [...f.history.map((p) => p.value / scale), ...pad(f.points.length)] },
        { label: 'Forecast', values: fc('value') },
        { label: '80% low', values: fc('lower_80') },
        { label: '80% high', values: fc('upper_80') },
        { label: '95% high', values: fc('upper_95') },
      ],
    };
  }, [q.data]);
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Demand forecast
        </Title>
        <SegmentedControl
          value={metric}
          onChange={(v) => setMetric(v as 'revenue' | 'orders')}
          data={[
            { value: 'revenue', label: 'Revenue' },
            { value: 'orders', label: 'Orders' },
          ]}
        />
      </Group>
      {q.isLoading && <Loading label="Loading forecast" />}
      {q.error && <ErrorState error={q.error} feature="Forecasts" />}
      {q.data && !chart && <EmptyState title="Nothing to forecast yet">{q.data.note ?? 'No orders in the last 180 days.'}</EmptyState>}
      {q.data && chart && (
        <Stack gap={4} data-testid="forecast">
          <LineChart
            x={chart.x}
            series={chart.series}
            label={`Daily ${metric} for the last 180 days and the next 28 with 80% and 95% intervals`}
          />
          <Text size="xs" c="dimmed">
            {q.data.model ? `Model: ${words(q.data.model)}. ` : ''}
            {q.data.currency && metric === 'revenue' ? `Revenue in ${q.data.currency}. ` : ''}
            {q.data.note ?? ''}
          </Text>
        </Stack>
      )}
    </Card>
  );
}

/** Per-item daily units: the best sellers (or the items asked for) with their forecast and intervals; CSV export. */
function ItemForecast() {
  const { tenantId } = useSession();
  const [draft, setDraft] = useState('');
  const [items, setItems] = useState('');
  const q = useQuery({
    queryKey: ['predictions', 'item-forecast', tenantId, items],
    queryFn: ({ signal }) =>
      get<ItemForecastResponse>(
        '/api/v1/predictions/forecast/items',
        { horizon: 28, history: 180, limit: 5, ...(items ? { item_id: items } : {}) },
        signal,
      ),
  });
  const [selected, setSelected] = useState<string | null>(null);
  const item = q.data?.data.find((d) => d.item_id === selected) ?? q.data?.data[0];
  const chart = useMemo(() => {
    if (!item) return null;
    const days = [...item.history.map((h) => h.date), ...item.points.map((p) => p.date)];
    const pad = (n: number) => new Array<null>(n).fill(null);
    const h = item.history.length;
    const fc = (k: 'units' | 'lower_80' | 'upper_80' | 'upper_95') => [...pad(h), ...item.points.map((p) => p[k])];
    return {
      x: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000),
      series: [
        { label: 'Units sold', values: [...item.history.map((p) => p.units), ...pad(item.points.length)] },
        { label: 'Forecast', values: fc('units') },
        { label: '80% low', values: fc('lower_80') },
        { label: '80% high', values: fc('upper_80') },
        { label: '95% high', values: fc('upper_95') },
      ],
    };
  }, [item]);
  const exportCsv = () => {
    if (!q.data) return;
    const rows = q.data.data.flatMap((d) => d.points.map((p) => ({ item_id: d.item_id, method: d.method, ...p })));
    const cols = ['item_id', 'method', 'date', 'units', 'lower_80', 'upper_80', 'lower_95', 'upper_95'].map((key) => ({ key, label: key }));
    downloadCsvText('item-forecasts.csv', toCsv(rows, cols));
  };
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Item demand
        </Title>
        <Group gap="xs">
          <TextInput
            aria-label="Item ids"
            placeholder="item ids, comma-separated (best sellers when empty)"
            value={draft}
            onChange={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => e.key === 'Enter' && setItems(draft.trim())}
            w={320}
          />
          <Button variant="default" onClick={() => setItems(draft.trim())}>
            Forecast
          </Button>
          <Button variant="default" onClick={exportCsv} disabled={!q.data?.data.length}>
            Export item forecasts
          </Button>
        </Group>
      </Group>
      {q.isLoading && <Loading label="Loading item forecasts" />}
      {q.error && <ErrorState error={q.error} feature="Item forecasts" />}
      {q.data && !q.data.data.length && (
        <EmptyState title="No item sales yet">
          {q.data.missing.length
            ? `No purchases of ${q.data.missing.join(', ')} in the last 180 days.`
            : 'No purchases with an item in the last 180 days.'}
        </EmptyState>
      )}
      {q.data && item && chart && (
        <Stack gap={4} data-testid="item-forecast">
          <SegmentedControl
            value={item.item_id}
            onChange={setSelected}
            data={q.data.data.map((d) => ({ value: d.item_id, label: d.item_id }))}
          />
          <LineChart
            x={chart.x}
            series={chart.series}
            label={`Daily units of ${item.item_id}: the last 180 days and the next 28 with intervals`}
          />
          <Text size="xs" c="dimmed">
            {`Method: ${words(item.method)} (${words(item.demand.kind)} demand${item.demand.adi !== null ? `, a sale every ${item.demand.adi} days on average` : ''}). `}
            {q.data.missing.length ? `No sales of ${q.data.missing.join(', ')}.` : ''}
          </Text>
        </Stack>
      )}
    </Card>
  );
}
