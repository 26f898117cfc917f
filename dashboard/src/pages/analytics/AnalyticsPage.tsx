import { useMemo, useState } from 'react';
import { Anchor, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { get } from '../../api/client.ts';
import type { CartProductsReport, CartReport, KpisReport, SessionsReport, SessionTimeline, TopPagesReport } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { fmtDate, fmtMinor, fmtMoney, fmtNumber, fmtPercent } from '../../lib/format.ts';
import { useParams } from '../../lib/params.ts';
import { useSession } from '../../session.tsx';
import { bucketSeconds, rangeQuery } from '../../lib/range.ts';
import { CsvButton, PRESETS, RangePicker, SessionTimelineView } from './parts.tsx';
import { FunnelPanel } from './FunnelPanel.tsx';

type SessionRow = SessionsReport['data'][number];
type PageRow = TopPagesReport['data'][number];
type ProductRow = CartProductsReport['data'][number];

const PAGE_COLUMNS = [
  { key: 'page', label: 'Page' },
  { key: 'views', label: 'Views' },
  { key: 'sessions', label: 'Sessions' },
  { key: 'avg_time_on_page_seconds', label: 'Avg. time on page (s)' },
  { key: 'avg_scroll_depth_percent', label: 'Avg. scroll depth (%)' },
];
const PRODUCT_COLUMNS = [
  { key: 'product_id', label: 'Product' },
  { key: 'adds', label: 'Added' },
  { key: 'removes', label: 'Removed' },
  { key: 'adds_converted', label: 'Added, then bought' },
  { key: 'adds_abandoned', label: 'Added, abandoned' },
];
const COMPARE_COLUMNS = [
  { key: 'figure', label: 'Figure' },
  { key: 'current', label: 'This period' },
  { key: 'previous', label: 'Previous period' },
  { key: 'change', label: 'Change' },
];
type CompareRow = { figure: string; current: string; previous: string; change: string };

/** KPIs beside the previous period of the same length. */
function compareRows(k: KpisReport): CompareRow[] {
  const money = (n: number) => fmtMoney(n, k.currency);
  const rows: [string, keyof KpisReport['change'], (n: number) => string][] = [
    ['Revenue (net of refunds)', 'revenue', money],
    ['Orders', 'orders', fmtNumber],
    ['Average order value', 'average_order_value', money],
    ['Sessions', 'sessions', fmtNumber],
    ['Orders per session', 'conversion_rate', fmtPercent],
    ['New customers', 'new_customers', fmtNumber],
    ['Returning customers', 'returning_customers', fmtNumber],
    ['Repeat-purchase rate', 'repeat_rate', fmtPercent],
  ];
  return rows.map(([figure, key, fmt]) => {
    const c = k.change[key];
    return {
      figure,
      current: fmt(k.current[key]),
      previous: fmt(k.previous[key]),
      change: c === null ? '—' : `${c >= 0 ? '+' : '−'}${fmtPercent(Math.abs(c))}`,
    };
  });
}

const SESSION_COLUMNS = [
  { key: 'started_at', label: 'Started' },
  { key: 'session_id', label: 'Session' },
  { key: 'user_id', label: 'User' },
  { key: 'device_type', label: 'Device' },
  { key: 'browser', label: 'Browser' },
  { key: 'utm_source', label: 'Source' },
  { key: 'pages_viewed', label: 'Pages' },
  { key: 'cart_adds', label: 'Cart adds' },
  { key: 'purchases', label: 'Purchases' },
];

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <Card withBorder padding="md">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fz={24} fw={700} className="kpi-value">
        {value}
      </Text>
    </Card>
  );
}

/** A report panel: loading, error (what to do next) or its content. */
function Panel<T>({
  title,
  q,
  children,
  actions,
}: {
  title: string;
  q: { isLoading: boolean; error: unknown; data: T | undefined };
  children: (d: T) => React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          {title}
        </Title>
        {actions}
      </Group>
      {q.isLoading ? (
        <Loading label={`Loading ${title.toLowerCase()}`} />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Analytics" />
      ) : q.data ? (
        children(q.data)
      ) : null}
    </Card>
  );
}

/** Seed 000's reports: sessions, funnel, top pages, cart abandonment, sessions with their timelines. */
export default function AnalyticsPage() {
  const { tenantId } = useSession();
  const [params, setParams] = useParams(['period', 'from', 'to', 'granularity', 'session'] as const);
  const preset = PRESETS.some((p) => p.value === params.period) ? params.period : '30';
  const granularity = ['hour', 'day', 'week', 'month'].includes(params.granularity) ? params.granularity : 'day';
  const range = rangeQuery(preset, params.from, params.to);
  const [limit] = useState(50);
  const key = [tenantId, range.from, range.to, range.tz];
  const sessions = useQuery({
    queryKey: ['analytics-sessions', ...key, granularity, limit],
    queryFn: ({ signal }) => get<SessionsReport>('/api/v1/analytics/sessions', { ...range, granularity, limit }, signal),
    enabled: !!tenantId,
  });
  const pages = useQuery({
    queryKey: ['analytics-top-pages', ...key],
    queryFn: ({ signal }) => get<TopPagesReport>('/api/v1/analytics/top-pages', { ...range, limit: 20 }, signal),
    enabled: !!tenantId,
  });
  const cart = useQuery({
    queryKey: ['analytics-cart', ...key],
    queryFn: ({ signal }) => get<CartReport>('/api/v1/analytics/cart', { ...range, granularity }, signal),
    enabled: !!tenantId,
  });
  const products = useQuery({
    queryKey: ['analytics-cart-products', ...key],
    queryFn: ({ signal }) => get<CartProductsReport>('/api/v1/analytics/cart/top-products', { ...range, limit: 20 }, signal),
    enabled: !!tenantId,
  });
  const kpis = useQuery({
    queryKey: ['analytics-kpis', ...key, granularity],
    queryFn: ({ signal }) => get<KpisReport>('/api/v1/analytics/kpis', { ...range, granularity }, signal),
    enabled: !!tenantId,
  });
  const timeline = useQuery({
    queryKey: ['analytics-session', tenantId, params.session],
    queryFn: ({ signal }) => get<SessionTimeline>(`/api/v1/analytics/session/${encodeURIComponent(params.session)}`, undefined, signal),
    enabled: !!tenantId && !!params.session,
  });

  const chart = useMemo(() => {
    const rows = sessions.data?.series ?? [];
    if (rows.length < 2) return null;
    return {
      x: rows.map((r) => bucketSeconds(r.bucket)),
      series: [
        { label: 'sessions', values: rows.map((r) => r.sessions) },
        { label: 'people', values: rows.map((r) => r.users) },
        { label: 'converted sessions', values: rows.map((r) => r.converted_sessions) },
      ],
    };
  }, [sessions.data]);

  if (!tenantId) return <EmptyState title="No tenant yet">You are not a member of any tenant yet.</EmptyState>;
  const s = sessions.data?.summary;
  const c = cart.data?.summary;
  const revenue = s?.revenue[0];
  const noData = sessions.data && s?.sessions === 0;

  return (
    <Stack>
      <Group justify="space-between" align="end">
        <Stack gap={0}>
          <Title order={2}>Analytics</Title>
          <Anchor component={Link} to="/analytics/behaviour" size="sm">
            Retention and paths
          </Anchor>
        </Stack>
        <RangePicker
          preset={preset}
          from={params.from || range.from}
          to={params.to || range.to}
          granularity={granularity}
          onChange={(p) =>
            setParams({
              ...(p.preset !== undefined ? { period: p.preset === '30' ? null : p.preset } : {}),
              ...(p.from !== undefined ? { from: p.from } : {}),
              ...(p.to !== undefined ? { to: p.to } : {}),
              ...(p.granularity !== undefined ? { granularity: p.granularity === 'day' ? null : p.granularity } : {}),
            })
          }
        />
      </Group>
      {sessions.error ? (
        <ErrorState error={sessions.error} feature="Analytics" />
      ) : (
        <SimpleGrid cols={{ base: 2, md: 6 }} data-testid="analytics-kpis">
          <Kpi label="Sessions" value={sessions.isLoading ? '…' : fmtNumber(s?.sessions)} />
          <Kpi label="People" value={sessions.isLoading ? '…' : fmtNumber(s?.users)} />
          <Kpi label="Bounce rate" value={sessions.isLoading ? '…' : fmtPercent(s?.bounce_rate)} />
          <Kpi label="Conversion rate" value={sessions.isLoading ? '…' : fmtPercent(s?.conversion_rate)} />
          <Kpi label="Cart abandonment" value={cart.isLoading ? '…' : fmtPercent(c?.abandonment_rate)} />
          <Kpi label="Revenue" value={sessions.isLoading ? '…' : revenue ? fmtMinor(revenue.amount_minor, revenue.currency) : '—'} />
        </SimpleGrid>
      )}
      {noData && (
        <EmptyState title="No sessions in this period">
          Send sessions, page views, funnel stages and cart events to /api/v1/analytics (see the API docs), or choose a longer period.
        </EmptyState>
      )}
      <Panel title="Sessions over time" q={sessions}>
        {() =>
          chart ? (
            <LineChart x={chart.x} series={chart.series} time label="Sessions, people and converted sessions over the chosen period" />
          ) : (
            <Text size="sm" c="dimmed">
              Choose a period with at least two {granularity === 'hour' ? 'hours' : `${granularity}s`} to see a chart.
            </Text>
          )
        }
      </Panel>
      <Panel
        title="Commerce, compared with the previous period"
        q={kpis}
        actions={<CsvButton name="kpis" rows={kpis.data ? compareRows(kpis.data) : []} columns={COMPARE_COLUMNS} />}
      >
        {(d) => (
          <Stack gap="xs">
            <Text size="xs" c="dimmed">
              Previous period: {fmtDate(d.previous_range.from)} to {fmtDate(d.previous_range.to)}
              {d.currency ? ` · amounts in ${d.currency}` : ''}
            </Text>
            <DataTable<CompareRow> rows={compareRows(d)} columns={COMPARE_COLUMNS} rowKey={(r) => r.figure} testId="kpi-comparison" />
          </Stack>
        )}
      </Panel>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <FunnelPanel tenantId={tenantId} range={range} />
        <Panel
          title="Cart abandonment"
          q={products}
          actions={<CsvButton name="cart-products" rows={products.data?.data ?? []} columns={PRODUCT_COLUMNS} />}
        >
          {(d) => (
            <Stack gap="xs">
              {c && (
                <Text size="sm">
                  {fmtNumber(c.carts)} carts, {fmtNumber(c.converted_carts)} bought, {fmtNumber(c.abandoned_carts)} abandoned (
                  {fmtPercent(c.abandonment_rate)})
                </Text>
              )}
              <DataTable<ProductRow> rows={d.data} columns={PRODUCT_COLUMNS} rowKey={(r) => r.product_id} testId="cart-products" />
            </Stack>
          )}
        </Panel>
      </SimpleGrid>
      <Panel title="Top pages" q={pages} actions={<CsvButton name="top-pages" rows={pages.data?.data ?? []} columns={PAGE_COLUMNS} />}>
        {(d) =>
          d.data.length ? (
            <DataTable<PageRow> rows={d.data} columns={PAGE_COLUMNS} rowKey={(r) => r.page} testId="top-pages" />
          ) : (
            <Text size="sm" c="dimmed">
              No page views in this period.
            </Text>
          )
        }
      </Panel>
      <Panel
        title="Sessions"
        q={sessions}
        actions={<CsvButton name="sessions" rows={sessions.data?.data ?? []} columns={SESSION_COLUMNS} />}
      >
        {(d) => (
          <SimpleGrid cols={{ base: 1, lg: 2 }}>
            <DataTable<SessionRow>
              rows={d.data}
              columns={SESSION_COLUMNS.slice(0, 7).map((col) =>
                col.key === 'started_at' ? { ...col, render: (r: SessionRow) => fmtDate(r.started_at) } : col,
              )}
              rowKey={(r) => r.session_id}
              testId="sessions-list"
              onRowClick={(r) => setParams({ session: r.session_id })}
            />
            <div>
              {!params.session ? (
                <Text size="sm" c="dimmed">
                  Select a session to see its timeline.
                </Text>
              ) : timeline.isLoading ? (
                <Loading label="Loading the session" />
              ) : timeline.error ? (
                <ErrorState error={timeline.error} />
              ) : timeline.data ? (
                <SessionTimelineView data={timeline.data} />
              ) : null}
            </div>
          </SimpleGrid>
        )}
      </Panel>
    </Stack>
  );
}
