import { Alert, Badge, Button, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, get } from '../../api/client.ts';
import type { Experiment, ExperimentReport } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { IntervalChart } from '../../components/IntervalChart.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate, fmtNumber, fmtPercent } from '../../lib/format.ts';
import { STATUS_COLORS } from './List.tsx';

type Metric = ExperimentReport['metrics'][number];
type Row = Metric['variants'][number];
type Bandit = NonNullable<ExperimentReport['bandit']>;
type Period = Bandit['periods'][number];
type Weighted = NonNullable<Bandit['period_weighted']>;
type WeightedRow = Weighted['variants'][number];

const DECISION: Record<string, { color: string; title: string }> = {
  ship: { color: 'green', title: 'Ship the winner' },
  keep_control: { color: 'red', title: 'Keep control' },
  keep_running: { color: 'blue', title: 'Keep it running' },
  inconclusive: { color: 'gray', title: 'No decision yet' },
};

const fmtP = (p: number | null) => (p === null ? '—' : p < 0.0001 ? '< 0.0001' : p.toFixed(4));

export function ExperimentResults() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const report = useQuery({
    queryKey: ['experiment-report', id],
    queryFn: () => get<ExperimentReport>(`/api/v1/admin/experiments/${id}/report`),
    // While new events wait to be counted (the background task takes a few seconds), look again sooner.
    refetchInterval: (q) => (q.state.data?.freshness.pending ? 5_000 : 30_000),
  });
  /** Counts what is pending now (experiments:manage; for at most the server's refresh budget). */
  const update = useMutation({
    mutationFn: () => get<ExperimentReport>(`/api/v1/admin/experiments/${id}/report`, { refresh: 'true' }),
    onSuccess: (v) => qc.setQueryData(['experiment-report', id], v),
  });
  const action = useMutation({
    mutationFn: (what: 'start' | 'stop' | 'archive') => api<Experiment>('POST', `/api/v1/admin/experiments/${id}/${what}`),
    onSuccess: () =>
      Promise.all([qc.invalidateQueries({ queryKey: ['experiment-report', id] }), qc.invalidateQueries({ queryKey: ['experiments'] })]),
  });
  if (report.isPending) return <Loading label="Loading results" />;
  if (report.isError)
    return (
      <Stack>
        <Link to="/experiments">← Experiments</Link>
        <ErrorState error={report.error} feature="Experiments" />
      </Stack>
    );
  const r = report.data;
  const e = r.experiment;
  const decision = DECISION[r.decision.action] ?? DECISION.inconclusive!;
  const bayes = e.engine === 'bayesian';
  return (
    <Stack>
      <Link to="/experiments">← Experiments</Link>
      <Group justify="space-between">
        <Title order={2}>
          {e.name} <Badge color={STATUS_COLORS[e.status] ?? 'gray'}>{e.status}</Badge>
        </Title>
        <Group>
          {(e.status === 'draft' || e.status === 'stopped') && (
            <Button onClick={() => action.mutate('start')} loading={action.isPending}>
              Start
            </Button>
          )}
          {e.status === 'running' && (
            <Button color="orange" onClick={() => action.mutate('stop')} loading={action.isPending}>
              Stop
            </Button>
          )}
          {e.status !== 'archived' && (
            <Button variant="subtle" color="gray" onClick={() => action.mutate('archive')} loading={action.isPending}>
              Archive
            </Button>
          )}
        </Group>
      </Group>
      {action.isError && <ErrorState error={action.error} />}
      <Group gap="xs" data-testid="freshness">
        <Text size="sm" c="dimmed">
          {freshnessText(r.freshness)}
        </Text>
        {r.freshness.source === 'rollup' && (
          <Button size="compact-xs" variant="light" onClick={() => update.mutate()} loading={update.isPending}>
            Update now
          </Button>
        )}
      </Group>
      {update.isError && <ErrorState error={update.error} feature="Updating the results" />}
      <Alert color={decision.color} title={decision.title} data-testid="decision">
        {r.decision.reason}
      </Alert>
      {r.warnings.map((w) => (
        <Alert key={w} color="orange" role="alert" data-testid="warning">
          {w}
        </Alert>
      ))}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        {r.units.map((u) => (
          <Card withBorder key={u.variant_key}>
            <Text size="sm" c="dimmed">
              {u.variant_key} (expected {fmtPercent(u.expected_weight)})
            </Text>
            <Text size="xl" fw={600}>
              {fmtNumber(u.n)} users
            </Text>
            <Text size="xs" c="dimmed">
              {fmtNumber(u.exposures)} exposures
            </Text>
          </Card>
        ))}
      </SimpleGrid>
      {r.units.every((u) => u.n === 0) && (
        <Text c="dimmed">
          Nobody has been assigned yet. Once your app calls POST /api/v1/experiments/assign for this experiment, users appear here.
        </Text>
      )}
      {e.type === 'bandit' && <BanditCard bandit={r.bandit} variants={e.variants.map((v) => v.key)} status={e.status} />}
      {r.metrics.map((m) => (
        <MetricCard key={m.name} metric={m} bayes={bayes} sources={e.metrics.find((d) => d.name === m.name)?.sources ?? null} />
      ))}
    </Stack>
  );
}

/** How fresh the numbers are, in plain words (the report reads rollups a background task keeps up to date). */
function freshnessText(f: ExperimentReport['freshness']): string {
  if (f.source === 'raw') return 'Computed from the raw events just now.';
  const asOf = f.as_of ? `Numbers as of ${fmtDate(f.as_of)}` : 'Not counted yet';
  if (!f.pending) return `${asOf}: up to date.`;
  return f.refreshing
    ? `${asOf}: newer events are being counted now.`
    : `${asOf}: newer events wait for the next background count (a few seconds).`;
}

/** A bandit's weights over time (one point per period), with the units each period brought and the per-period SRM. */
function BanditCard({ bandit, variants, status }: { bandit: Bandit | null; variants: string[]; status: string }) {
  const periods = bandit?.periods ?? [];
  return (
    <Card withBorder data-testid="bandit-weights">
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h4">
          Bandit weights over time
        </Title>
        {periods.length > 0 && (
          <Button
            size="xs"
            variant="light"
            onClick={() =>
              downloadCsv(
                'bandit-weights.csv',
                ['period', 'started_at', ...variants.map((v) => `weight_${v}`), ...variants.map((v) => `users_${v}`), 'message'],
                periods.map((p) => [
                  p.period,
                  p.started_at,
                  ...variants.map((v) => p.weights[v] ?? ''),
                  ...variants.map((v) => p.units[v] ?? 0),
                  p.message,
                ]),
              )
            }
          >
            Export CSV
          </Button>
        )}
      </Group>
      {periods.length === 0 ? (
        <Text c="dimmed">
          {status === 'draft'
            ? 'Start the experiment: the bandit begins with equal weights and moves traffic after its burn-in.'
            : 'No periods recorded yet.'}
        </Text>
      ) : (
        <>
          <Text size="sm" c="dimmed" mb="xs">
            Share of new users each variant gets, per period. Traffic split checked against each period's weights: p{' '}
            {bandit && bandit.srm_p_value < 0.0001 ? '< 0.0001' : `= ${bandit?.srm_p_value.toFixed(4)}`}.
            {bandit?.next_update_at ? ` Next update ${fmtDate(bandit.next_update_at)}.` : ''}
          </Text>
          <LineChart
            label="Bandit weight of each variant per period"
            time={false}
            x={periods.map((p) => p.period)}
            series={variants.map((v) => ({ label: v, values: periods.map((p) => p.weights[v] ?? null) }))}
          />
          <DataTable<Period>
            testId="bandit-periods"
            rows={periods}
            rowKey={(p) => String(p.period)}
            columns={[
              { key: 'period', label: 'Period' },
              { key: 'started_at', label: 'Started', render: (p) => fmtDate(p.started_at) },
              ...variants.map((v) => ({
                key: `w_${v}`,
                label: `${v} weight`,
                render: (p: Period) => `${fmtPercent(p.weights[v])} (${fmtNumber(p.units[v] ?? 0)} users)`,
              })),
              { key: 'message', label: 'Update' },
            ]}
          />
          {bandit?.period_weighted && <PeriodWeighted w={bandit.period_weighted} />}
        </>
      )}
    </Card>
  );
}

/**
 * The primary metric weighted by period: a bandit sends most late traffic to its leader, so pooled means compare
 * different times; these compare each arm over the same mix of periods (the pooled lift is shown beside it).
 */
function PeriodWeighted({ w }: { w: Weighted }) {
  const variants = w.variants.slice(1);
  return (
    <Stack gap="xs" mt="md" data-testid="bandit-period-weighted">
      <Group justify="space-between">
        <Title order={4} size="h5">
          {w.metric}: effects weighted by period
        </Title>
        <Button
          size="xs"
          variant="light"
          onClick={() =>
            downloadCsv(
              `${w.metric}-period-weighted.csv`,
              [
                'variant',
                'users',
                'mean',
                'standard_error',
                'relative_effect',
                'ci_low',
                'ci_high',
                'chance_to_win',
                'p_value',
                'pooled_relative_effect',
              ],
              w.variants.map((v) => [
                v.variant_key,
                v.n,
                v.mean,
                v.standard_error,
                v.relative_effect,
                v.ci_low,
                v.ci_high,
                v.chance_to_win,
                v.p_value,
                v.pooled_relative_effect,
              ]),
            )
          }
        >
          Export CSV
        </Button>
      </Group>
      <Text size="sm" c="dimmed">
        Each variant's per-period means, weighted by every period's share of users, so that traffic moving to the leader over time does not
        bias the comparison ({w.periods_used} of {w.periods_total} periods had users in every variant). The pooled lift, biased when the
        metric changes over time, is shown for comparison.
      </Text>
      <IntervalChart
        label={`Period-weighted lift of each variant on ${w.metric}, with intervals`}
        rows={variants.map((v) => ({ label: v.variant_key, estimate: v.relative_effect, low: v.ci_low, high: v.ci_high }))}
      />
      <DataTable<WeightedRow>
        testId="bandit-weighted-effects"
        rows={variants}
        rowKey={(v) => v.variant_key}
        columns={[
          { key: 'variant_key', label: 'Variant' },
          { key: 'relative_effect', label: 'Lift (weighted)', render: (v) => fmtPercent(v.relative_effect) },
          {
            key: 'ci',
            label: 'Interval',
            render: (v) => (v.ci_low === null ? '—' : `${fmtPercent(v.ci_low)} to ${fmtPercent(v.ci_high)}`),
          },
          { key: 'chance_to_win', label: 'Chance to win', render: (v) => fmtPercent(v.chance_to_win) },
          { key: 'pooled_relative_effect', label: 'Lift (pooled)', render: (v) => fmtPercent(v.pooled_relative_effect) },
        ]}
      />
    </Stack>
  );
}

/** `sources`: the connector channels the metric counts (null: events sent to /experiments/track). */
function MetricCard({ metric: m, bayes, sources }: { metric: Metric; bayes: boolean; sources: string[] | null }) {
  return (
    <Card withBorder data-testid={`metric-${m.name}`}>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h4">
          {m.name} {m.primary && <Badge>primary</Badge>} {m.guardrail && <Badge color="grape">guardrail</Badge>}{' '}
          {sources && (
            <Badge color="teal" variant="light" data-testid="metric-sources-badge">
              from {sources.join(', ')}
            </Badge>
          )}
        </Title>
        <Button
          size="xs"
          variant="light"
          onClick={() =>
            downloadCsv(
              `${m.name}-results.csv`,
              [
                'variant',
                'users',
                'mean',
                'absolute_effect',
                'relative_effect',
                'ci_low',
                'ci_high',
                bayes ? 'chance_to_win' : 'p_value',
                bayes ? 'risk' : 'adjusted_p_value',
              ],
              [
                [m.control.name, m.control.n, m.control.mean, '', '', '', '', '', ''],
                ...m.variants.map((v) => [
                  v.name,
                  v.n,
                  v.mean,
                  v.absolute_effect,
                  v.relative_effect,
                  v.ci_low,
                  v.ci_high,
                  bayes ? v.chance_to_win : v.p_value,
                  bayes ? v.risk : v.adjusted_p_value,
                ]),
              ],
            )
          }
        >
          Export CSV
        </Button>
      </Group>
      <Text size="sm" c="dimmed" mb="xs">
        Control {m.control.name}: {fmtNumber(m.control.n)} users, mean {m.control.mean.toFixed(4)}. Lift of each variant with its{' '}
        {bayes ? 'credible' : 'confidence'} interval:
      </Text>
      <IntervalChart
        label={`Relative lift of each variant on ${m.name}, with intervals`}
        rows={m.variants.map((v) => ({ label: v.name, estimate: v.relative_effect, low: v.ci_low, high: v.ci_high }))}
      />
      <DataTable<Row>
        rows={m.variants}
        rowKey={(v) => v.name}
        columns={[
          { key: 'name', label: 'Variant' },
          { key: 'n', label: 'Users', render: (v) => fmtNumber(v.n) },
          { key: 'mean', label: 'Mean', render: (v) => v.mean.toFixed(4) },
          { key: 'relative_effect', label: 'Lift', render: (v) => fmtPercent(v.relative_effect) },
          {
            key: 'ci',
            label: 'Interval',
            render: (v) => (v.ci_low === null ? '—' : `${fmtPercent(v.ci_low)} to ${fmtPercent(v.ci_high)}`),
          },
          bayes
            ? { key: 'chance_to_win', label: 'Chance to win', render: (v) => fmtPercent(v.chance_to_win) }
            : { key: 'adjusted_p_value', label: 'p-value (adjusted)', render: (v) => fmtP(v.adjusted_p_value) },
          { key: 'error', label: 'Note', render: (v) => noteOf(v) },
        ]}
      />
    </Card>
  );
}

function noteOf(v: Row): string {
  if (v.error === 'NO_UNITS') return 'No users yet';
  if (v.error === 'ZERO_VARIANCE') return 'No variation yet: every user has the same value';
  if (v.error === 'BASELINE_ZERO') return 'Control is at zero: no relative lift';
  if (v.below_minimum_sample) return 'Too few users to trust';
  return '';
}
