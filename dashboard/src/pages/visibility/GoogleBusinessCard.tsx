import { useMemo, useState } from 'react';
import { Alert, Badge, Button, Card, Group, Select, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { GbpInsights, GbpLocationList, GbpStatus, GbpSyncResult, GoogleStatus } from '../../../../src/contracts/index.ts';
import { api, get } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';

const syncColor: Record<string, string> = { synced: 'green', unchanged: 'green', rejected: 'red', failed: 'orange' };
type Day = GbpInsights['days'][number];
const COLUMNS: [keyof Day, string][] = [
  ['impressions_desktop_search', 'Search, desktop'],
  ['impressions_mobile_search', 'Search, mobile'],
  ['impressions_desktop_maps', 'Maps, desktop'],
  ['impressions_mobile_maps', 'Maps, mobile'],
  ['direction_requests', 'Direction requests'],
  ['call_clicks', 'Calls'],
  ['website_clicks', 'Website clicks'],
];

/** Picks the Business Profile location among those the linked Google account manages. */
function LocationPicker() {
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ['gbp-locations'],
    queryFn: ({ signal }) => get<GbpLocationList>('/google/business/locations', undefined, signal),
    retry: false,
  });
  const [choice, setChoice] = useState<string | null>(null);
  const choose = useMutation({
    mutationFn: () => {
      const l = list.data?.data.find((x) => x.name === choice);
      return api('PUT', '/google/business/location', { body: { account: l?.account, location: choice } });
    },
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['gbp-status'] }),
  });
  if (list.isPending) return <Loading label="Loading your Business Profile locations" />;
  if (list.isError) return <ErrorState error={list.error} feature="Google Business Profile" />;
  if (!list.data.data.length)
    return <EmptyState title="No Business Profile locations">The linked Google account manages no Business Profile location.</EmptyState>;
  return (
    <Group align="end">
      <Select
        label="Business Profile location"
        placeholder="Pick a location"
        value={choice}
        onChange={setChoice}
        data={list.data.data.map((l) => ({ value: l.name, label: `${l.title ?? l.name}${l.address ? ` (${l.address})` : ''}` }))}
      />
      <Button onClick={() => choose.mutate()} disabled={!choice} loading={choose.isPending}>
        Use this location
      </Button>
      {choose.isError && <ErrorState error={choose.error} />}
    </Group>
  );
}

/** Daily impressions by platform and device, and the actions they led to; CSV of the days. */
function Insights() {
  const insights = useQuery({
    queryKey: ['gbp-insights'],
    queryFn: ({ signal }) => get<GbpInsights>('/google/business/insights', undefined, signal),
    // the first fetch runs as a job right after a location is chosen: look again until figures arrive
    refetchInterval: (q) => (q.state.data?.days.some((d) => !d.missing) ? false : 4000),
  });
  const chart = useMemo(() => {
    const d = insights.data?.days;
    if (!d?.some((x) => !x.missing)) return null;
    const x = d.map((r) => Date.parse(`${r.date}T00:00:00Z`) / 1000);
    const pick = (k: keyof Day) => d.map((r) => (r.missing ? null : (r[k] as number)));
    return {
      x,
      impressions: COLUMNS.slice(0, 4).map(([k, label]) => ({ label, values: pick(k) })),
      actions: COLUMNS.slice(4).map(([k, label]) => ({ label, values: pick(k) })),
    };
  }, [insights.data]);
  if (insights.isPending) return <Loading label="Loading Business Profile insights" />;
  if (insights.isError) return <ErrorState error={insights.error} feature="Business Profile insights" />;
  const r = insights.data;
  if (!chart)
    return (
      <EmptyState title="No insights yet">
        Google’s figures for the last two weeks are fetched once a location is chosen, then every day.
      </EmptyState>
    );
  const t = r.totals;
  return (
    <Stack gap="xs" data-testid="gbp-insights">
      <Group justify="space-between">
        <Text size="sm" data-testid="gbp-totals">
          {r.from} to {r.to}:{' '}
          {t.impressions_desktop_search + t.impressions_mobile_search + t.impressions_desktop_maps + t.impressions_mobile_maps} impressions,{' '}
          {t.direction_requests} direction requests, {t.call_clicks} calls, {t.website_clicks} website clicks
        </Text>
        <Button
          variant="default"
          size="xs"
          onClick={() =>
            downloadCsv(
              'business-profile-insights.csv',
              ['date', ...COLUMNS.map(([k]) => k)],
              r.days.filter((d) => !d.missing).map((d) => [d.date, ...COLUMNS.map(([k]) => d[k])]),
            )
          }
        >
          Export CSV
        </Button>
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <div data-testid="gbp-impressions-chart">
          <Text size="sm" fw={500}>
            Impressions by platform and device
          </Text>
          <LineChart
            x={chart.x}
            series={chart.impressions}
            label="Business Profile impressions per day: Search and Maps, desktop and mobile"
          />
        </div>
        <div data-testid="gbp-actions-chart">
          <Text size="sm" fw={500}>
            Direction requests, calls and website clicks
          </Text>
          <LineChart x={chart.x} series={chart.actions} label="Business Profile direction requests, calls and website clicks per day" />
        </div>
      </SimpleGrid>
    </Stack>
  );
}

/** The business profile on Google Business Profile: the location, the sync with per-field issues, the insights. */
export function GoogleBusinessCard() {
  const qc = useQueryClient();
  const google = useQuery({
    queryKey: ['google-status'],
    queryFn: ({ signal }) => get<GoogleStatus>('/google/oauth/status', undefined, signal),
  });
  const linked = !!google.data?.linked;
  const status = useQuery({
    queryKey: ['gbp-status'],
    queryFn: ({ signal }) => get<GbpStatus>('/google/business/location', undefined, signal),
  });
  const sync = useMutation({
    mutationFn: () => api<GbpSyncResult>('POST', '/google/business/sync'),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['gbp-status'] }),
  });
  if (status.isPending) return <Loading label="Loading the Business Profile connection" />;
  if (status.isError) return <ErrorState error={status.error} feature="Google Business Profile" />;
  const loc = status.data.location;
  const issues = sync.data?.issues ?? loc?.sync_issues ?? [];
  const state = sync.data?.status ?? loc?.sync_status ?? null;
  return (
    <Card withBorder data-testid="gbp-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Google Business Profile
          </Title>
          {state && (
            <Badge color={syncColor[state] ?? 'gray'} data-testid="gbp-sync-status">
              {state}
            </Badge>
          )}
        </Group>
        {!loc && !linked && <Text size="sm">Link Google above to sync the business profile and see its insights.</Text>}
        {!loc && linked && <LocationPicker />}
        {loc && (
          <>
            <Group justify="space-between">
              <Text size="sm">
                Location: {loc.title ?? loc.name} ({loc.name}){loc.synced_at ? ` · last sync ${fmtDate(loc.synced_at)}` : ''}
              </Text>
              <Button onClick={() => sync.mutate()} loading={sync.isPending}>
                Sync profile to Google
              </Button>
            </Group>
            {sync.isError && <ErrorState error={sync.error} />}
            {sync.data?.status === 'synced' && (
              <Text size="sm" c="green">
                Updated on Google: {sync.data.updated.join(', ')}
              </Text>
            )}
            {sync.data?.status === 'unchanged' && <Text size="sm">Google already has this profile: nothing to write.</Text>}
            {issues.length > 0 && (
              <DataTable
                testId="gbp-issues"
                rows={issues}
                rowKey={(x, i) => `${x.field}-${i}`}
                columns={[
                  { key: 'field', label: 'Field' },
                  { key: 'message', label: 'Problem' },
                ]}
              />
            )}
            {loc.metrics_error && <Alert color="orange">The last insights fetch failed: {loc.metrics_error}</Alert>}
            <Insights />
          </>
        )}
      </Stack>
    </Card>
  );
}
