import { useMemo } from 'react';
import { Button, Card, Group, SegmentedControl, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { get } from '../../api/client.ts';
import type { DataQuality, ItemSalesReport } from '../../api/types.ts';
import { ErrorState, Loading } from '../../components/states.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtMinor, fmtMoney, fmtNumber, fmtPercent } from '../../lib/format.ts';
import { anchoredRange, bucketSeconds, fmtDay } from '../../lib/range.ts';

const PERIODS = [
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '12 months' },
];

/**
 * One item's sales over a period (GET /api/v1/analytics/items/:id/sales): units, revenue, orders, buyers, views
 * and how often a view became a purchase, a chart of units and orders per day (per week over 12 months) and the
 * series as CSV. An imported history older than the period is shown up to the store's latest data, as on Home.
 */
export function ItemSales({
  tenantId,
  itemId,
  period,
  onPeriod,
}: {
  tenantId: string;
  itemId: string;
  period: string;
  onPeriod: (p: string) => void;
}) {
  const quality = useQuery({
    queryKey: ['data-quality', tenantId],
    queryFn: ({ signal }) => get<DataQuality>('/api/v1/data-quality', undefined, signal),
  });
  const { anchored, ...range } = anchoredRange(period, quality.data?.freshness.last_interaction_at);
  const granularity = period === '365' ? 'week' : 'day';
  const sales = useQuery({
    queryKey: ['item-sales', tenantId, itemId, range.from, range.to, range.tz, granularity],
    queryFn: ({ signal }) =>
      get<ItemSalesReport>(`/api/v1/analytics/items/${encodeURIComponent(itemId)}/sales`, { ...range, granularity }, signal),
    enabled: !quality.isPending,
  });
  const chart = useMemo(() => {
    const rows = sales.data?.series ?? [];
    if (rows.length < 2 || !sales.data?.summary.orders) return null;
    return {
      x: rows.map((r) => bucketSeconds(r.bucket)),
      series: [
        { label: 'units', values: rows.map((r) => r.units) },
        { label: 'orders', values: rows.map((r) => r.orders) },
      ],
    };
  }, [sales.data]);

  const d = sales.data;
  const figures = d
    ? [
        { label: 'Units sold', value: fmtNumber(d.summary.units) },
        { label: 'Revenue', value: fmtMoney(d.summary.revenue, d.currency) },
        { label: 'Refunded', value: d.currency ? fmtMinor(d.summary.refunds_minor, d.currency) : '—' },
        { label: 'Orders', value: fmtNumber(d.summary.orders) },
        { label: 'Buyers', value: fmtNumber(d.summary.buyers) },
        { label: 'Views', value: fmtNumber(d.summary.views) },
        { label: 'Viewers who bought', value: d.summary.viewers ? fmtPercent(d.summary.view_to_purchase_rate) : '—' },
      ]
    : [];
  const others = d?.revenue_by_currency.filter((c) => c.currency !== d.currency) ?? [];

  return (
    <Card withBorder data-testid="item-sales">
      <Group justify="space-between" mb="xs">
        <Title order={4}>Sales</Title>
        <SegmentedControl aria-label="Sales period" size="xs" data={PERIODS} value={period} onChange={onPeriod} />
      </Group>
      {anchored && (
        <Text size="sm" c="dimmed" mb="xs" data-testid="item-sales-note">
          No data in the last {PERIODS.find((p) => p.value === period)?.label}: showing the period up to your latest data (
          {fmtDay(range.to)}).
        </Text>
      )}
      {quality.isPending || sales.isPending ? (
        <Loading label="Loading sales" />
      ) : sales.error ? (
        <ErrorState error={sales.error} feature="Sales figures" />
      ) : (
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 2, sm: 4, lg: 7 }}>
            {figures.map((f) => (
              <div key={f.label}>
                <Text size="xs" c="dimmed">
                  {f.label}
                </Text>
                <Text fw={700} fz="lg" data-testid={`item-sales-${f.label.toLowerCase().replaceAll(' ', '-')}`}>
                  {f.value}
                </Text>
              </div>
            ))}
          </SimpleGrid>
          {others.length > 0 && (
            <Text size="sm" c="dimmed">
              Also sold in other currencies: {others.map((c) => `${fmtMinor(c.amount_minor, c.currency)} (${c.count} orders)`).join(', ')}.
            </Text>
          )}
          {chart ? (
            <div data-testid="item-sales-chart">
              <LineChart x={chart.x} series={chart.series} height={200} label={`Units sold and orders per ${granularity} of this item`} />
            </div>
          ) : (
            <Text size="sm" c="dimmed">
              No sales of this item in this period: purchases appear here once orders are imported or arrive from your store.
            </Text>
          )}
          <Group>
            <Button
              variant="default"
              size="xs"
              disabled={!d}
              onClick={() =>
                d &&
                downloadCsv(
                  `item-${itemId}-sales.csv`,
                  ['bucket', 'units', `revenue${d.currency ? ` (${d.currency})` : ''}`, 'orders', 'views'],
                  d.series.map((r) => [r.bucket, r.units, r.revenue, r.orders, r.views]),
                )
              }
            >
              Export CSV
            </Button>
          </Group>
        </Stack>
      )}
    </Card>
  );
}
