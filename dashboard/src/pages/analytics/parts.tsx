import { Badge, Button, Group, Progress, SegmentedControl, Select, Stack, Text, TextInput, Timeline } from '@mantine/core';
import type { FunnelReport, SessionTimeline } from '../../api/types.ts';
import { toCsv } from '../../lib/csv.ts';
import { downloadCsvText } from '../../lib/download.ts';
import { fmtDate, fmtMinor, fmtNumber, fmtPercent } from '../../lib/format.ts';
import { BROWSER_TZ } from '../../lib/range.ts';

export const PRESETS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: 'custom', label: 'Custom' },
];
const GRANULARITIES = [
  { value: 'hour', label: 'Hourly' },
  { value: 'day', label: 'Daily' },
  { value: 'week', label: 'Weekly' },
  { value: 'month', label: 'Monthly' },
];

export function RangePicker(props: {
  preset: string;
  from: string;
  to: string;
  granularity: string;
  onChange: (patch: { preset?: string; from?: string; to?: string; granularity?: string }) => void;
}) {
  return (
    <Group align="end" wrap="wrap" gap="sm">
      <SegmentedControl aria-label="Period" data={PRESETS} value={props.preset} onChange={(v) => props.onChange({ preset: v })} />
      {props.preset === 'custom' && (
        <>
          <TextInput type="date" label="From" value={props.from} onChange={(e) => props.onChange({ from: e.currentTarget.value })} />
          <TextInput type="date" label="To" value={props.to} onChange={(e) => props.onChange({ to: e.currentTarget.value })} />
        </>
      )}
      <Select
        label="Granularity"
        data={GRANULARITIES}
        value={props.granularity}
        allowDeselect={false}
        w={130}
        onChange={(v) => props.onChange({ granularity: v ?? 'day' })}
      />
      <Text size="xs" c="dimmed">
        Times in {BROWSER_TZ}
      </Text>
    </Group>
  );
}

export function CsvButton<T extends object>({
  name,
  rows,
  columns,
}: {
  name: string;
  rows: readonly T[];
  columns: readonly { key: string; label: string }[];
}) {
  return (
    <Button size="xs" variant="light" disabled={!rows.length} onClick={() => downloadCsvText(`${name}.csv`, toCsv(rows, columns))}>
      Export CSV
    </Button>
  );
}

/** The funnel as horizontal bars: each step's share of the first step, with its step conversion and median time. */
export function FunnelChart({ report }: { report: FunnelReport }) {
  return (
    <Stack gap="sm" data-testid="funnel-chart" role="list" aria-label="Funnel steps">
      {report.steps.map((s, i) => (
        <div key={`${s.name}-${i}`} role="listitem">
          <Group justify="space-between" gap="xs">
            <Text size="sm" fw={600}>
              {i + 1}. {s.name.replaceAll('_', ' ')}
            </Text>
            <Text size="sm">
              {fmtNumber(s.count)} ({fmtPercent(s.conversion_rate)})
            </Text>
          </Group>
          <Progress
            value={s.conversion_rate * 100}
            size="lg"
            aria-label={`${s.name}: ${fmtPercent(s.conversion_rate)} of the first step`}
          />
          {i > 0 && (
            <Text size="xs" c="dimmed">
              {fmtPercent(s.step_conversion_rate)} of the previous step, {fmtNumber(s.dropoff)} dropped off
              {s.median_seconds_to_convert !== null ? `, median ${fmtNumber(s.median_seconds_to_convert)} s to convert` : ''}
            </Text>
          )}
        </div>
      ))}
    </Stack>
  );
}

const KIND_COLOR: Record<string, string> = { page_view: 'blue', funnel: 'grape', cart: 'orange' };

/** One session's pages, funnel stages and cart events in order. */
export function SessionTimelineView({ data }: { data: SessionTimeline }) {
  const s = data.session;
  return (
    <Stack gap="xs" data-testid="session-timeline">
      <Text size="sm">
        <b>{s.session_id}</b> · {s.user_id ?? s.anonymous_id ?? 'anonymous'} · {s.device_type ?? 'unknown device'} ·{' '}
        {s.browser ?? 'unknown browser'}
        {s.utm_source ? ` · from ${s.utm_source}` : ''} · started {fmtDate(s.started_at)}
        {s.duration_seconds !== null ? ` · ${fmtNumber(s.duration_seconds)} s` : ''}
      </Text>
      {data.timeline.length === 0 ? (
        <Text size="sm" c="dimmed">
          No pages, stages or cart events recorded for this session.
        </Text>
      ) : (
        <Timeline bulletSize={14} lineWidth={2}>
          {data.timeline.map((e, i) => (
            <Timeline.Item
              key={`${e.at}-${i}`}
              title={
                <Group gap="xs">
                  <Badge size="xs" color={KIND_COLOR[e.kind]} variant="light">
                    {e.kind.replace('_', ' ')}
                  </Badge>
                  <Text size="sm">{e.kind === 'page_view' ? (e.page_url ?? e.name ?? 'page') : (e.name ?? '')}</Text>
                </Group>
              }
            >
              <Text size="xs" c="dimmed">
                {fmtDate(e.at)}
                {e.product_id ? ` · product ${e.product_id}` : ''}
                {e.time_on_page_seconds !== null ? ` · ${e.time_on_page_seconds} s on page` : ''}
                {e.scroll_depth_percent !== null ? ` · scrolled ${e.scroll_depth_percent} %` : ''}
                {e.value ? ` · ${fmtMinor(e.value.amount_minor, e.value.currency)}` : ''}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      {data.timeline_truncated && (
        <Text size="xs" c="dimmed">
          Only the first events are shown.
        </Text>
      )}
    </Stack>
  );
}
