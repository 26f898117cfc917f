import { Anchor, Card, Group, Progress, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get } from '../../api/client.ts';
import type { PathsReport, RetentionReport, TopPagesReport } from '../../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { fmtNumber, fmtPercent } from '../../lib/format.ts';
import { useParams } from '../../lib/params.ts';
import { BROWSER_TZ, rangeQuery } from '../../lib/range.ts';
import { useSession } from '../../session.tsx';
import { CsvButton, PRESETS } from './parts.tsx';

const PERIODS = [
  { value: 'day', label: 'Daily' },
  { value: 'week', label: 'Weekly' },
  { value: 'month', label: 'Monthly' },
];
const EDGE_COLUMNS = [
  { key: 'offset', label: 'Step' },
  { key: 'from', label: 'From' },
  { key: 'to', label: 'To' },
  { key: 'sessions', label: 'Sessions' },
];
const EVENT_RE = /^(?:cart:|page:)?[A-Za-z0-9_.-]{1,100}$/;

/** The matrix as CSV rows: cohort, size, then the count and rate of each period. */
function retentionCsv(r: RetentionReport) {
  const columns = [
    { key: 'cohort', label: 'Cohort' },
    { key: 'size', label: 'People' },
    ...Array.from({ length: r.periods + 1 }, (_, k) => [
      { key: `p${k}`, label: `${r.period} ${k}` },
      { key: `r${k}`, label: `${r.period} ${k} rate` },
    ]).flat(),
  ];
  const rows = r.cohorts.map((c) => {
    const row: Record<string, string | number> = { cohort: c.cohort, size: c.size };
    c.values.forEach((v, k) => {
      row[`p${k}`] = v ? v.count : '';
      row[`r${k}`] = v ? v.rate : '';
    });
    return row;
  });
  return { rows, columns };
}

/** Cohorts x periods, each cell shaded by its rate; unobserved periods blank. Scrolls sideways on a phone. */
function RetentionHeatmap({ report }: { report: RetentionReport }) {
  const head = Array.from({ length: report.periods + 1 }, (_, k) => k);
  return (
    <div className="table-scroll">
      <Table data-testid="retention-heatmap" withTableBorder aria-label="Retention by cohort and period">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Cohort</Table.Th>
            <Table.Th>People</Table.Th>
            {head.map((k) => (
              <Table.Th key={k}>
                {report.period} {k}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {report.cohorts.map((c) => (
            <Table.Tr key={c.cohort}>
              <Table.Td>{c.cohort}</Table.Td>
              <Table.Td>{fmtNumber(c.size)}</Table.Td>
              {c.values.map((v, k) => (
                <Table.Td
                  key={k}
                  title={v ? `${fmtNumber(v.count)} of ${fmtNumber(c.size)}` : 'not observed yet'}
                  style={
                    v && c.size
                      ? { background: `rgba(34, 139, 230, ${0.1 + v.rate * 0.8})`, color: v.rate > 0.5 ? 'white' : undefined }
                      : undefined
                  }
                >
                  {v && c.size ? fmtPercent(v.rate) : ''}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
          <Table.Tr>
            <Table.Td fw={700}>Average</Table.Td>
            <Table.Td />
            {report.average.map((a) => (
              <Table.Td key={a.period} fw={700}>
                {a.size ? fmtPercent(a.rate) : ''}
              </Table.Td>
            ))}
          </Table.Tr>
        </Table.Tbody>
      </Table>
    </div>
  );
}

/** One column per step: the nodes reached there as bars of their share. */
function PathColumns({ report }: { report: PathsReport }) {
  const end = report.direction === 'next' ? '(exit)' : '(entry)';
  return (
    <SimpleGrid cols={{ base: 1, sm: Math.min(report.steps.length, 3), lg: report.steps.length }} data-testid="paths-chart">
      {report.steps.map((s) => (
        <Stack key={s.offset} gap={6} role="list" aria-label={`Step ${s.offset}`}>
          <Text size="sm" fw={700}>
            Step {s.offset > 0 ? `+${s.offset}` : s.offset} · {fmtNumber(s.sessions)} sessions
          </Text>
          {s.nodes.map((n) => (
            <div key={n.name} role="listitem">
              <Group justify="space-between" gap="xs" wrap="nowrap">
                <Text size="sm" truncate="end" title={n.name === '(end)' ? end : n.name}>
                  {n.name === '(end)' ? end : n.name}
                </Text>
                <Text size="sm">{fmtPercent(n.share)}</Text>
              </Group>
              <Progress
                value={n.share * 100}
                size="sm"
                color={n.name === '(end)' ? 'gray' : 'blue'}
                aria-label={`${n.name}: ${fmtNumber(n.sessions)} sessions`}
              />
            </div>
          ))}
        </Stack>
      ))}
    </SimpleGrid>
  );
}

function Section({ title, actions, children }: { title: string; actions?: React.ReactNode; children: React.ReactNode }) {
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          {title}
        </Title>
        {actions}
      </Group>
      {children}
    </Card>
  );
}

/** Retention cohorts (heatmap) and paths from a page or event, over the chosen period. */
export default function BehaviourPage() {
  const { tenantId } = useSession();
  const [p, setParams] = useParams([
    'period',
    'from',
    'to',
    'every',
    'start',
    'return',
    'criterion',
    'anchor',
    'type',
    'direction',
  ] as const);
  const preset = PRESETS.some((x) => x.value === p.period) ? p.period : '90';
  const range = rangeQuery(preset, p.from, p.to);
  const every = ['day', 'week', 'month'].includes(p.every) ? p.every : 'week';
  const start = p.start || 'browse';
  const ret = p.return || start;
  const criterion = p.criterion === 'on_or_after' ? 'on_or_after' : 'on';
  const type = p.type === 'event' ? 'event' : 'page';
  const direction = p.direction === 'previous' ? 'previous' : 'next';
  const eventsValid = EVENT_RE.test(start) && EVENT_RE.test(ret);
  const key = [tenantId, range.from, range.to, range.tz];

  const retention = useQuery({
    queryKey: ['analytics-retention', ...key, every, start, ret, criterion],
    queryFn: ({ signal }) =>
      get<RetentionReport>(
        '/api/v1/analytics/retention',
        {
          ...range,
          period: every,
          periods: every === 'day' ? 14 : every === 'week' ? 12 : 6,
          start_event: start,
          return_event: ret,
          criterion,
        },
        signal,
      ),
    enabled: !!tenantId && eventsValid,
  });
  // Without a chosen anchor, paths start from the most viewed page.
  const top = useQuery({
    queryKey: ['analytics-top-pages', ...key, 1],
    queryFn: ({ signal }) => get<TopPagesReport>('/api/v1/analytics/top-pages', { ...range, limit: 1 }, signal),
    enabled: !!tenantId && !p.anchor && type === 'page',
  });
  const anchor = p.anchor || (type === 'page' ? (top.data?.data[0]?.page ?? '') : 'browse');
  const paths = useQuery({
    queryKey: ['analytics-paths', ...key, type, anchor, direction],
    queryFn: ({ signal }) => get<PathsReport>('/api/v1/analytics/paths', { ...range, type, anchor, direction, depth: 4, top: 6 }, signal),
    enabled: !!tenantId && !!anchor,
  });

  if (!tenantId) return <EmptyState title="No tenant yet">You are not a member of any tenant yet.</EmptyState>;
  const csv = retention.data ? retentionCsv(retention.data) : { rows: [], columns: [] };

  return (
    <Stack>
      <Group justify="space-between" align="end">
        <Stack gap={0}>
          <Title order={2}>Retention and paths</Title>
          <Anchor component={Link} to="/analytics" size="sm">
            Back to the reports
          </Anchor>
        </Stack>
        <Group align="end" gap="sm">
          <SegmentedControl
            aria-label="Period"
            data={PRESETS}
            value={preset}
            onChange={(v) => setParams({ period: v === '90' ? null : v })}
          />
          {preset === 'custom' && (
            <>
              <TextInput
                type="date"
                label="From"
                value={p.from || range.from}
                onChange={(e) => setParams({ from: e.currentTarget.value })}
              />
              <TextInput type="date" label="To" value={p.to || range.to} onChange={(e) => setParams({ to: e.currentTarget.value })} />
            </>
          )}
          <Text size="xs" c="dimmed">
            Times in {BROWSER_TZ}
          </Text>
        </Group>
      </Group>

      <Section title="Retention" actions={<CsvButton name="retention" rows={csv.rows} columns={csv.columns} />}>
        <Group align="end" gap="sm" mb="sm" wrap="wrap">
          <TextInput
            label="Start event"
            description="stage, cart:<type> or page:<type>"
            defaultValue={start}
            error={EVENT_RE.test(start) ? undefined : 'Not an event name'}
            onBlur={(e) => setParams({ start: e.currentTarget.value.trim() || null })}
          />
          <TextInput
            label="Return event"
            defaultValue={ret}
            error={EVENT_RE.test(ret) ? undefined : 'Not an event name'}
            onBlur={(e) => setParams({ return: e.currentTarget.value.trim() || null })}
          />
          <Select label="Cohorts" data={PERIODS} value={every} allowDeselect={false} w={130} onChange={(v) => setParams({ every: v })} />
          <SegmentedControl
            aria-label="Criterion"
            data={[
              { value: 'on', label: 'Came back on' },
              { value: 'on_or_after', label: 'On or after' },
            ]}
            value={criterion}
            onChange={(v) => setParams({ criterion: v === 'on' ? null : v })}
          />
        </Group>
        {retention.isLoading ? (
          <Loading label="Loading retention" />
        ) : retention.error ? (
          <ErrorState error={retention.error} feature="Analytics" />
        ) : retention.data && retention.data.cohorts.every((c) => c.size === 0) ? (
          <Text size="sm" c="dimmed">
            No one did “{start}” in this period. Choose another start event or a longer period.
          </Text>
        ) : retention.data ? (
          <RetentionHeatmap report={retention.data} />
        ) : null}
      </Section>

      <Section title="Paths" actions={<CsvButton name="paths" rows={paths.data?.edges ?? []} columns={EDGE_COLUMNS} />}>
        <Group align="end" gap="sm" mb="sm" wrap="wrap">
          <SegmentedControl
            aria-label="Path of"
            data={[
              { value: 'page', label: 'Pages' },
              { value: 'event', label: 'Events' },
            ]}
            value={type}
            onChange={(v) => setParams({ type: v === 'page' ? null : v, anchor: null })}
          />
          <TextInput
            key={`${type}-${anchor}`}
            label={type === 'page' ? 'From page' : 'From event'}
            defaultValue={anchor}
            onBlur={(e) => setParams({ anchor: e.currentTarget.value.trim() || null })}
          />
          <SegmentedControl
            aria-label="Direction"
            data={[
              { value: 'next', label: 'What comes next' },
              { value: 'previous', label: 'What came before' },
            ]}
            value={direction}
            onChange={(v) => setParams({ direction: v === 'next' ? null : v })}
          />
        </Group>
        {!anchor && !top.isLoading ? (
          <Text size="sm" c="dimmed">
            No page views in this period: choose a page or event to start from.
          </Text>
        ) : paths.isLoading || top.isLoading ? (
          <Loading label="Loading paths" />
        ) : paths.error ? (
          <ErrorState error={paths.error} feature="Analytics" />
        ) : paths.data && paths.data.sessions === 0 ? (
          <Text size="sm" c="dimmed">
            No session reached “{anchor}” in this period.
          </Text>
        ) : paths.data ? (
          <Stack gap="xs">
            <Text size="sm">
              {fmtNumber(paths.data.sessions)} sessions reached “{paths.data.anchor}”.
            </Text>
            <PathColumns report={paths.data} />
          </Stack>
        ) : null}
      </Section>
    </Stack>
  );
}
