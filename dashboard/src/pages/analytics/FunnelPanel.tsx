import { Card, Group, SegmentedControl, Select, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { get } from '../../api/client.ts';
import type { FunnelReport } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorState, Loading } from '../../components/states.tsx';
import { fmtNumber, fmtPercent } from '../../lib/format.ts';
import { useParams } from '../../lib/params.ts';
import { CsvButton, FunnelChart } from './parts.tsx';

const ORDERS = [
  { value: 'ordered', label: 'In order' },
  { value: 'strict', label: 'Strict order' },
  { value: 'any', label: 'Any order' },
];
const COUNT_BY = [
  { value: 'session', label: 'Sessions' },
  { value: 'user', label: 'People' },
];
const BREAKDOWNS = [
  { value: 'device', label: 'Device' },
  { value: 'browser', label: 'Browser' },
  { value: 'utm_source', label: 'Source (UTM)' },
  { value: 'utm_medium', label: 'Medium (UTM)' },
  { value: 'utm_campaign', label: 'Campaign (UTM)' },
];
const TOUCHES = [
  { value: 'first_touch', label: 'First touch' },
  { value: 'last_touch', label: 'Last touch' },
];
/** Events the stages' funnel can exclude (not one of its steps). */
const EXCLUDABLE = [
  { value: 'cart:item_removed', label: 'removed an item' },
  { value: 'cart:converted', label: 'bought' },
];

type BreakdownRow = { value: string; first: number; last: number; overall_conversion_rate: number };
const BREAKDOWN_COLUMNS = [
  { key: 'value', label: 'Value' },
  { key: 'first', label: 'First step' },
  { key: 'last', label: 'Last step' },
  { key: 'overall_conversion_rate', label: 'Conversion' },
];
const STEP_COLUMNS = [
  { key: 'name', label: 'Step' },
  { key: 'count', label: 'Count' },
  { key: 'conversion_rate', label: 'Conversion from step 1' },
  { key: 'step_conversion_rate', label: 'Conversion from the previous step' },
  { key: 'dropoff', label: 'Dropped off' },
  { key: 'median_seconds_to_convert', label: 'Median seconds to convert' },
];

/**
 * The funnel of seed 000's stages with PostHog's modes: strict / in order / any order, counted by session or person,
 * an excluded event, a breakdown (first or last touch, top 5 and "other"). Filters live in the URL.
 */
export function FunnelPanel({ tenantId, range }: { tenantId: string; range: { from: string; to: string; tz: string } }) {
  const [p, setParams] = useParams(['f_order', 'f_by', 'f_exclude', 'f_breakdown', 'f_touch'] as const);
  const order = ORDERS.some((o) => o.value === p.f_order) ? p.f_order : 'ordered';
  const by = p.f_by === 'user' ? 'user' : 'session';
  const breakdown = BREAKDOWNS.some((b) => b.value === p.f_breakdown) ? p.f_breakdown : '';
  const touch = p.f_touch === 'last_touch' ? 'last_touch' : 'first_touch';
  const exclude = EXCLUDABLE.some((x) => x.value === p.f_exclude) ? p.f_exclude : '';
  const query = {
    ...range,
    order,
    by,
    ...(exclude ? { exclude } : {}),
    ...(breakdown ? { breakdown, attribution: touch, top: 5 } : {}),
  };
  const funnel = useQuery({
    queryKey: ['analytics-funnel', tenantId, query],
    queryFn: ({ signal }) => get<FunnelReport>('/api/v1/analytics/funnel', query, signal),
    enabled: !!tenantId,
  });
  const d = funnel.data;
  const split: BreakdownRow[] = (d?.breakdown ?? []).map((b) => ({
    value: b.value,
    first: b.steps[0]?.count ?? 0,
    last: b.steps[b.steps.length - 1]?.count ?? 0,
    overall_conversion_rate: b.overall_conversion_rate,
  }));

  return (
    <Card withBorder data-testid="funnel-panel">
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          Funnel
        </Title>
        <CsvButton name="funnel" rows={d?.steps ?? []} columns={STEP_COLUMNS} />
      </Group>
      <Stack gap="xs" mb="sm">
        <Group gap="xs" wrap="wrap">
          <SegmentedControl
            size="xs"
            aria-label="Step order"
            data={ORDERS}
            value={order}
            onChange={(v) => setParams({ f_order: v === 'ordered' ? null : v })}
          />
          <SegmentedControl
            size="xs"
            aria-label="Count"
            data={COUNT_BY}
            value={by}
            onChange={(v) => setParams({ f_by: v === 'session' ? null : v })}
          />
        </Group>
        <Group gap="xs" wrap="wrap" align="end">
          <Select
            size="xs"
            label="Exclude who did"
            placeholder="nothing"
            data={EXCLUDABLE}
            value={exclude || null}
            clearable
            w={170}
            onChange={(v) => setParams({ f_exclude: v })}
          />
          <Select
            size="xs"
            label="Break down by"
            placeholder="nothing"
            data={BREAKDOWNS}
            value={breakdown || null}
            clearable
            w={170}
            onChange={(v) => setParams({ f_breakdown: v })}
          />
          {breakdown && (
            <SegmentedControl
              size="xs"
              aria-label="Attribution"
              data={TOUCHES}
              value={touch}
              onChange={(v) => setParams({ f_touch: v === 'first_touch' ? null : v })}
            />
          )}
        </Group>
      </Stack>
      {funnel.isLoading ? (
        <Loading label="Loading the funnel" />
      ) : funnel.error ? (
        <ErrorState error={funnel.error} feature="Analytics" />
      ) : d && d.steps[0]?.count === 0 ? (
        <Text size="sm" c="dimmed" data-testid="funnel-empty">
          No {by === 'user' ? 'one' : 'session'} reached the first step in this period{exclude ? ' without the excluded event' : ''}.
        </Text>
      ) : d ? (
        <Stack gap="sm">
          <FunnelChart report={d} />
          <Text size="xs" c="dimmed">
            {fmtNumber(d.steps[0]?.count)} {by === 'user' ? 'people' : 'sessions'} started, {fmtPercent(d.overall_conversion_rate)}{' '}
            completed
          </Text>
          {d.breakdown && (
            <Stack gap={4}>
              <Group justify="space-between">
                <Text size="sm" fw={600}>
                  By {BREAKDOWNS.find((b) => b.value === breakdown)?.label.toLowerCase()} ({touch.replace('_', ' ')})
                </Text>
                <CsvButton name="funnel-breakdown" rows={split} columns={BREAKDOWN_COLUMNS} />
              </Group>
              <DataTable<BreakdownRow>
                rows={split}
                columns={BREAKDOWN_COLUMNS.map((c) =>
                  c.key === 'overall_conversion_rate' ? { ...c, render: (r: BreakdownRow) => fmtPercent(r.overall_conversion_rate) } : c,
                )}
                rowKey={(r) => r.value}
                testId="funnel-breakdown"
              />
            </Stack>
          )}
        </Stack>
      ) : null}
    </Card>
  );
}
