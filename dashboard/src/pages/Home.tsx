import { useMemo } from 'react';
import { Anchor, Badge, Card, Group, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get } from '../api/client.ts';
import type { AnalyticsDashboard, DataQuality, ImportRun, Job, KpisReport, Page, VersionsResponse } from '../api/types.ts';
import { EmptyState, ErrorState, isNotAvailable, Loading } from '../components/states.tsx';
import { LineChart, type Series } from '../components/LineChart.tsx';
import { fmtDate, fmtMoney, fmtNumber, fmtPercent } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { anchoredRange, bucketSeconds, fmtDay } from '../lib/range.ts';
import { useSession } from '../session.tsx';
import { SetupChecklist } from './home/SetupChecklist.tsx';

const PERIODS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
];

/** The store's figures over the chosen period (analytics KPIs) and the recommendation figures of the same days. */
function kpisOf(a: AnalyticsDashboard | undefined, k: KpisReport | undefined) {
  const vs = (c: number | null | undefined) =>
    c === null || c === undefined ? undefined : `${c >= 0 ? '▲' : '▼'} ${fmtPercent(Math.abs(c))} vs previous period`;
  return [
    { label: 'Revenue', value: fmtMoney(k?.current.revenue, k?.currency ?? null), change: vs(k?.change.revenue) },
    { label: 'Orders', value: fmtNumber(k?.current.orders), change: vs(k?.change.orders) },
    {
      label: 'Average order',
      value: fmtMoney(k?.current.average_order_value, k?.currency ?? null),
      change: vs(k?.change.average_order_value),
    },
    { label: 'Customers', value: fmtNumber(k?.current.customers) },
    { label: 'New customers', value: fmtNumber(k?.current.new_customers), change: vs(k?.change.new_customers) },
    { label: 'Repeat rate', value: fmtPercent(k?.current.repeat_rate), change: vs(k?.change.repeat_rate) },
    { label: 'Sessions', value: fmtNumber(k?.current.sessions), change: vs(k?.change.sessions) },
    { label: 'Recommendations served', value: fmtNumber(a?.metrics.total_recommendations_served) },
    { label: 'Click-through rate', value: fmtPercent(a?.metrics.click_through_rate) },
    {
      label: 'Attributed revenue',
      value: fmtMoney(a?.metrics.revenue_impact.attributed_revenue, a?.metrics.revenue_impact.currency ?? null),
    },
  ];
}

/** Orders and customers per local day of the period (GET /api/v1/analytics/kpis series). */
function seriesOf(k: KpisReport): { x: number[]; series: Series[] } | null {
  const rows = k.series;
  if (rows.length < 2 || k.current.orders === 0) return null;
  return {
    x: rows.map((r) => bucketSeconds(r.bucket)),
    series: [
      { label: 'orders', values: rows.map((r) => r.orders) },
      { label: 'new customers', values: rows.map((r) => r.new_customers) },
      { label: 'returning customers', values: rows.map((r) => r.returning_customers) },
    ],
  };
}

const statusColor: Record<string, string> = { succeeded: 'green', running: 'blue', queued: 'gray', failed: 'red', cancelled: 'orange' };

export function HomePage() {
  const { tenantId, tenant } = useSession();
  const [params, setParams] = useParams(['period'] as const);
  const period = PERIODS.some((p) => p.value === params.period) ? params.period : '7';
  const analytics = useQuery({
    queryKey: ['analytics', tenantId, period],
    queryFn: ({ signal }) => get<AnalyticsDashboard>(`/api/v1/analytics/tenant/${tenantId}/dashboard`, { days: period }, signal),
    enabled: !!tenantId,
  });
  const quality = useQuery({
    queryKey: ['data-quality', tenantId],
    queryFn: ({ signal }) => get<DataQuality>('/api/v1/data-quality', undefined, signal),
    enabled: !!tenantId,
  });
  // The period waits for the store's latest data (it may anchor the range); a failure falls back to "up to today".
  const latest = quality.data?.freshness.last_interaction_at;
  const { anchored, ...range } = anchoredRange(period, latest);
  const commerce = useQuery({
    queryKey: ['analytics-kpis', tenantId, range.from, range.to, range.tz],
    queryFn: ({ signal }) => get<KpisReport>('/api/v1/analytics/kpis', { ...range, granularity: 'day' }, signal),
    enabled: !!tenantId && !quality.isPending,
  });
  const models = useQuery({
    queryKey: ['models', tenantId],
    queryFn: ({ signal }) => get<VersionsResponse>('/api/v1/models', undefined, signal),
    enabled: !!tenantId,
  });
  const jobs = useQuery({
    queryKey: ['jobs', tenantId, 'recent'],
    queryFn: ({ signal }) => get<Page<Job>>('/api/v1/jobs', { limit: 20 }, signal),
    enabled: !!tenantId,
    refetchInterval: 10_000,
  });
  const imports = useQuery({
    queryKey: ['imports', tenantId, 'last'],
    queryFn: ({ signal }) => get<Page<ImportRun>>('/api/v1/imports', { limit: 1 }, signal),
    enabled: !!tenantId,
  });
  const chart = useMemo(() => (commerce.data ? seriesOf(commerce.data) : null), [commerce.data]);

  if (!tenantId)
    return (
      <EmptyState title="No tenant yet">
        You are not a member of any tenant. A platform administrator can create one under Platform admin.
      </EmptyState>
    );

  const kpis: { label: string; value: string; change?: string | undefined }[] = kpisOf(analytics.data, commerce.data);
  const active = models.data?.data.find((v) => v.id === models.data?.deployment.active_version_id);
  const lastImport = imports.data?.data[0];
  const counts = (jobs.data?.data ?? []).reduce<Record<string, number>>((acc, j) => ({ ...acc, [j.status]: (acc[j.status] ?? 0) + 1 }), {});

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{tenant?.name ?? 'Home'}</Title>
        <SegmentedControl aria-label="Period" data={PERIODS} value={period} onChange={(v) => setParams({ period: v === '7' ? null : v })} />
      </Group>
      <SetupChecklist tenantId={tenantId} />
      <section aria-labelledby="kpi-title" data-testid="kpis">
        <Title order={3} size="h4" id="kpi-title" mb="xs">
          Key figures
        </Title>
        {anchored && (
          <Text size="sm" c="dimmed" mb="xs" data-testid="period-note">
            No data in the last {period} days: showing the {period} days up to your latest data ({fmtDay(range.to)}).
          </Text>
        )}
        {analytics.isPending || commerce.isPending ? (
          <Loading label="Loading figures" />
        ) : (
          <>
            {analytics.error && !isNotAvailable(analytics.error) && <ErrorState error={analytics.error} />}
            {commerce.error && <ErrorState error={commerce.error} feature="Store figures" />}
            <SimpleGrid cols={{ base: 2, md: 3, lg: 5 }}>
              {kpis.map((k) => (
                <Card withBorder key={k.label} padding="md">
                  <Text size="sm" c="dimmed">
                    {k.label}
                  </Text>
                  <Text fz={26} fw={700} className="kpi-value">
                    {k.value}
                  </Text>
                  {k.change && (
                    <Text size="xs" c="dimmed">
                      {k.change}
                    </Text>
                  )}
                </Card>
              ))}
            </SimpleGrid>
            {isNotAvailable(analytics.error) && (
              <Text size="sm" c="dimmed" mt="xs">
                Analytics are not set up yet on this server: figures appear once events and recommendations flow.
              </Text>
            )}
          </>
        )}
      </section>
      <Card withBorder>
        <Title order={3} size="h4" mb="xs">
          Over time
        </Title>
        {commerce.isPending ? (
          <Loading label="Loading the period" />
        ) : commerce.error ? (
          <ErrorState error={commerce.error} feature="Analytics" />
        ) : chart ? (
          <div data-testid="home-chart">
            <LineChart x={chart.x} series={chart.series} label="Orders, new and returning customers per day over the chosen period" />
          </div>
        ) : (
          <Text c="dimmed" size="sm">
            No orders in this period: they appear once orders are imported or arrive from your store.
          </Text>
        )}
      </Card>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder>
          <Title order={3} size="h5">
            Jobs
          </Title>
          {jobs.isPending ? (
            <Loading />
          ) : jobs.error ? (
            <ErrorState error={jobs.error} />
          ) : (
            <Group gap="xs" mt="xs">
              {['running', 'queued', 'failed', 'succeeded'].map((s) => (
                <Badge key={s} color={statusColor[s]} variant="light">
                  {s}: {counts[s] ?? 0}
                </Badge>
              ))}
            </Group>
          )}
        </Card>
        <Card withBorder>
          <Title order={3} size="h5">
            Last import
          </Title>
          <Text size="sm" mt="xs">
            {imports.isPending ? (
              'Loading…'
            ) : imports.error ? (
              isNotAvailable(imports.error) ? (
                'Imports are not set up yet.'
              ) : (
                'Could not load imports.'
              )
            ) : lastImport ? (
              <>
                <Anchor component={Link} to={`/import?kind=${lastImport.kind}&import=${lastImport.id}`}>
                  {lastImport.file_name}
                </Anchor>
                :{' '}
                {lastImport.outcome === 'nothing_imported'
                  ? 'nothing imported'
                  : lastImport.outcome === 'mostly_rejected'
                    ? 'mostly rejected'
                    : lastImport.status}
                , {fmtNumber(lastImport.rows_accepted)} accepted, {fmtNumber(lastImport.rows_rejected)} rejected (
                {fmtDate(lastImport.finished_at ?? lastImport.created_at)})
              </>
            ) : (
              <>
                No import yet.{' '}
                <Anchor component={Link} to="/import">
                  Import data
                </Anchor>
              </>
            )}
          </Text>
        </Card>
        <Card withBorder>
          <Title order={3} size="h5">
            Model in service
          </Title>
          <Text size="sm" mt="xs">
            {models.isPending
              ? 'Loading…'
              : models.error
                ? isNotAvailable(models.error)
                  ? 'Recommendations are not set up yet.'
                  : 'Could not load models.'
                : active
                  ? `${active.version} (${active.model_type}), deployed ${fmtDate(active.deployed_at)}`
                  : 'No model in service yet.'}{' '}
            <Anchor component={Link} to="/recommendations">
              Recommendations
            </Anchor>
          </Text>
        </Card>
      </SimpleGrid>
      {quality.data && (
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">
            Data quality
          </Title>
          <Group gap="xl">
            <Text size="sm">
              Completeness:{' '}
              {quality.data.data_quality.completeness_percent === null
                ? '—'
                : `${fmtNumber(quality.data.data_quality.completeness_percent)} %`}
            </Text>
            <Text size="sm">
              Validity:{' '}
              {quality.data.data_quality.validity_percent === null ? '—' : `${fmtNumber(quality.data.data_quality.validity_percent)} %`}
            </Text>
            <Text size="sm">
              Freshness:{' '}
              {quality.data.data_quality.freshness_hours === null
                ? 'no data yet'
                : `${fmtNumber(quality.data.data_quality.freshness_hours)} h`}
            </Text>
            <Text size="sm">Items: {fmtNumber(quality.data.completeness.items)}</Text>
          </Group>
        </Card>
      )}
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          Recent jobs
        </Title>
        {jobs.data && jobs.data.data.length === 0 && (
          <Text size="sm" c="dimmed">
            No jobs have run for this tenant yet.
          </Text>
        )}
        {jobs.data && jobs.data.data.length > 0 && (
          <div className="table-scroll">
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Finished</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {jobs.data.data.slice(0, 8).map((j) => (
                  <Table.Tr key={j.id}>
                    <Table.Td>{j.type}</Table.Td>
                    <Table.Td>
                      <Badge color={statusColor[j.status]} variant="light">
                        {j.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{fmtDate(j.created_at)}</Table.Td>
                    <Table.Td>{fmtDate(j.finished_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Card>
    </Stack>
  );
}
