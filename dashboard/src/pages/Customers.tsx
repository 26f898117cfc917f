import { useState } from 'react';
import { Alert, Anchor, Badge, Button, Card, Group, SimpleGrid, Stack, Tabs, Text, TextInput, Timeline, Title } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Route, Routes, useLocation, useNavigate, useParams as useRouteParams } from 'react-router';
import { api, get } from '../api/client.ts';
import { BarChart } from '../components/BarChart.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { fetchAllPages, PagedTable } from '../components/PagedTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate, fmtMinor, fmtMoney, fmtNumber, str } from '../lib/format.ts';
import { toCsv } from '../lib/csv.ts';
import { useItemNames } from '../lib/item-names.ts';
import { useParams } from '../lib/params.ts';
import type {
  MergeHistory,
  PredictAllResponse,
  Profile,
  ProfileDetail,
  ProfileList,
  ProfileQuery,
  ProfileSort,
  ReviewList,
  StyleProfile,
} from '../api/types.ts';
import { useSession } from '../session.tsx';
import { CustomerOrders } from './customers/CustomerOrders.tsx';
import { CustomerPrivacy } from './customers/CustomerPrivacy.tsx';

/** A typed search goes to `identifier` with no type: the server tries every identifier type, the profile id and the name. */
function searchQuery(q: string): Pick<ProfileQuery, 'identifier'> {
  const v = q.trim();
  return v ? { identifier: v } : {};
}
const MATCH_LABELS: Record<string, string> = {
  user_id: 'customer id',
  email: 'e-mail',
  phone: 'phone',
  loyalty_id: 'loyalty id',
  device_id: 'device id',
  anonymous_id: 'anonymous id',
  profile_id: 'profile id',
  name: 'name',
};
/** Profiles a page shows; the server caps offsets at 10,000 (PROFILE_OFFSET_MAX), the export stops there too. */
const PAGE_SIZE = 50;
const OFFSET_CAP = 10_000;
const CSV_COLUMNS = [
  { key: 'id', label: 'profile_id' },
  { key: 'name', label: 'name' },
  { key: 'email', label: 'email' },
  { key: 'customer_id', label: 'customer_id' },
  { key: 'phone', label: 'phone' },
  { key: 'total_orders', label: 'orders' },
  { key: 'lifetime_value_minor', label: 'lifetime_value_minor' },
  { key: 'currency', label: 'currency' },
  { key: 'profile_strength', label: 'strength' },
  { key: 'first_seen_at', label: 'first_seen_at' },
  { key: 'last_seen_at', label: 'last_seen_at' },
];
const name = (p: Profile): string => str(p.traits.name ?? p.identifiers.email ?? p.identifiers.user_id ?? p.id);

export default function CustomersPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = location.pathname.startsWith('/customers/review') ? 'review' : 'profiles';
  return (
    <Stack>
      <Title order={2}>Customers</Title>
      <Tabs value={tab} onChange={(v) => navigate(v === 'review' ? '/customers/review' : '/customers')}>
        <Tabs.List>
          <Tabs.Tab value="profiles">Profiles</Tabs.Tab>
          <Tabs.Tab value="review">Review queue</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      <Routes>
        <Route index element={<Profiles />} />
        <Route path="review" element={<ReviewQueue />} />
        <Route path=":id" element={<Profile />} />
      </Routes>
    </Stack>
  );
}

function Profiles() {
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const [f, setF] = useParams(['q', 'erased', 'sort', 'offset'] as const);
  const [typed, setTyped] = useState(f.q);
  const sort = (f.sort || '-last_seen_at') as ProfileSort;
  const offset = Math.min(OFFSET_CAP, Math.max(0, Number.parseInt(f.offset, 10) || 0));
  const list = useQuery({
    queryKey: ['profiles', tenantId, f.q, sort, offset],
    queryFn: ({ signal }) => get<ProfileList>('/api/v1/profiles', { ...searchQuery(f.q), sort, offset, limit: PAGE_SIZE }, signal),
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.data ?? [];
  const exportRows = async () => {
    const all = await fetchAllPages(
      (from, limit) => get<ProfileList>('/api/v1/profiles', { ...searchQuery(f.q), sort, offset: from, limit }),
      OFFSET_CAP,
    );
    return {
      csv: toCsv(
        all.rows.map((r) => ({
          id: r.id,
          name: str(r.traits.name ?? ''),
          email: r.identifiers.email ?? '',
          customer_id: r.identifiers.user_id ?? '',
          phone: r.identifiers.phone ?? '',
          total_orders: r.total_orders,
          lifetime_value_minor: r.lifetime_value_minor,
          currency: r.currency,
          profile_strength: r.profile_strength,
          first_seen_at: r.first_seen_at,
          last_seen_at: r.last_seen_at,
        })),
        CSV_COLUMNS,
      ),
      truncated: all.truncated,
    };
  };
  return (
    <Stack>
      {f.erased && (
        <Alert color="green" withCloseButton onClose={() => setF({ erased: null })} data-testid="erased-notice">
          The person was erased: identifiers deleted, {fmtNumber(Number(f.erased))} events anonymized.
        </Alert>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setF({ q: typed.trim(), offset: null });
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Find a customer"
            description="By customer id, e-mail, phone, name, loyalty id or profile id"
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            w={{ base: '100%', sm: 380 }}
          />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {list.isLoading ? (
        <Loading label="Loading profiles" />
      ) : list.error ? (
        <ErrorState error={list.error} feature="Customer profiles" />
      ) : rows.length === 0 && offset === 0 ? (
        <EmptyState title={f.q ? 'No customer matches' : 'No customers yet'}>
          {f.q ? 'Check the spelling, or search by another identifier.' : 'Profiles appear as events and orders arrive.'}
        </EmptyState>
      ) : (
        <PagedTable
          testId="profiles-table"
          rows={rows}
          stale={list.isPlaceholderData}
          total={list.data?.total ?? rows.length}
          page={{ sort, offset, limit: PAGE_SIZE }}
          onPage={(next) =>
            setF({
              ...(next.sort ? { sort: next.sort === '-last_seen_at' ? null : next.sort } : {}),
              offset: next.offset ? String(next.offset) : null,
            })
          }
          exportRows={exportRows}
          exportName="customers.csv"
          rowKey={(r) => r.id}
          onRowClick={(r) => navigate(`/customers/${encodeURIComponent(r.id)}`)}
          columns={[
            {
              key: 'id',
              label: 'Profile',
              render: (r) => (
                <Anchor component={Link} to={`/customers/${encodeURIComponent(r.id)}`} onClick={(e) => e.stopPropagation()}>
                  {name(r)}
                </Anchor>
              ),
            },
            {
              key: 'identifiers',
              label: 'Identifiers',
              render: (r) =>
                r.identifier_list
                  .slice(0, 3)
                  .map((i) => `${i.type}: ${i.value}`)
                  .join(', ') || '—',
            },
            ...(f.q
              ? [
                  {
                    key: 'matched_by',
                    label: 'Matched by',
                    render: (r: ProfileList['data'][number]) => (
                      <span data-testid="matched-by">{(r.matched_by ?? []).map((m) => MATCH_LABELS[m] ?? m).join(', ') || '—'}</span>
                    ),
                  },
                ]
              : []),
            { key: 'total_orders', label: 'Orders', sort: 'total_orders', render: (r) => fmtNumber(r.total_orders) },
            {
              key: 'lifetime_value',
              label: 'Lifetime value',
              sort: 'lifetime_value',
              render: (r) => fmtMinor(r.lifetime_value_minor, r.currency),
            },
            { key: 'profile_strength', label: 'Strength', sort: 'profile_strength' },
            { key: 'last_seen_at', label: 'Last seen', sort: 'last_seen_at', render: (r) => fmtDate(r.last_seen_at) },
          ]}
        />
      )}
    </Stack>
  );
}

function Profile() {
  const { id = '' } = useRouteParams();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const profile = useQuery({
    queryKey: ['profile', tenantId, id],
    queryFn: ({ signal }) => get<ProfileDetail>(`/api/v1/profiles/${encodeURIComponent(id)}`, { events: 50 }, signal),
  });
  const history = useQuery({
    queryKey: ['merge-history', tenantId, id],
    queryFn: ({ signal }) => get<MergeHistory>(`/api/v1/profiles/${encodeURIComponent(id)}/merge-history`, undefined, signal),
    enabled: profile.isSuccess,
  });
  const unmerge = useMutation({
    mutationFn: (mergeId: string) => api('POST', `/api/v1/profiles/${encodeURIComponent(id)}/unmerge`, { body: { merge_id: mergeId } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['merge-history'] }).then(() => qc.invalidateQueries({ queryKey: ['profile'] })),
  });
  if (profile.isLoading) return <Loading label="Loading profile" />;
  if (profile.error) return <ErrorState error={profile.error} feature="Customer profiles" />;
  const p = profile.data!;
  const events = p.recent_events;
  const merges = history.data?.merges ?? [];
  const undone = new Set(merges.map((m) => m.reverts_merge_id).filter(Boolean));
  return (
    <Stack>
      <Anchor component={Link} to="/customers">
        ← All customers
      </Anchor>
      <Title order={3}>{name(p)}</Title>
      {p.redirected && <Alert color="blue">Profile {id} was merged into this one.</Alert>}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={4} size="h5" mb="xs">
            Identifiers
          </Title>
          <Stack gap={4} data-testid="identifiers">
            {p.identifier_list.map((i, n) => (
              <Text component="div" size="sm" key={n} title={`confidence ${i.confidence}, last seen ${fmtDate(i.last_seen_at)}`}>
                <Badge variant="light" mr="xs">
                  {i.type}
                </Badge>
                {i.value}
              </Text>
            ))}
          </Stack>
        </Card>
        <Card withBorder>
          <Title order={4} size="h5" mb="xs">
            Aggregates
          </Title>
          <SimpleGrid cols={2}>
            <Text size="sm">Orders: {fmtNumber(p.total_orders)}</Text>
            <Text size="sm">Lifetime value: {fmtMinor(p.lifetime_value_minor, p.currency)}</Text>
            <Text size="sm">Average order: {p.average_order_value === null ? '—' : fmtMoney(p.average_order_value, p.currency)}</Text>
            <Text size="sm">Strength: {fmtNumber(p.profile_strength)} / 100</Text>
            <Text size="sm">Events: {fmtNumber(p.event_count)}</Text>
            <Text size="sm">First seen: {fmtDate(p.first_seen_at)}</Text>
            <Text size="sm">Last seen: {fmtDate(p.last_seen_at)}</Text>
            <Text size="sm">Channels: {p.channels.join(', ') || '—'}</Text>
          </SimpleGrid>
        </Card>
        <Card withBorder>
          <Title order={4} size="h5" mb="xs">
            Timeline
          </Title>
          <ProfileTimeline events={events} />
        </Card>
        <Card withBorder>
          <Title order={4} size="h5" mb="xs">
            Merge history
          </Title>
          {history.isLoading ? (
            <Loading />
          ) : history.error ? (
            <ErrorState error={history.error} feature="Merge history" />
          ) : merges.length === 0 ? (
            <Text size="sm" c="dimmed">
              This profile was never merged.
            </Text>
          ) : (
            <Stack gap="xs">
              {merges.map((m, n) => (
                <Group key={n} justify="space-between" wrap="nowrap">
                  <Text size="sm">
                    {fmtDate(m.created_at)}: {m.kind === 'merge' ? 'merged' : 'split'}{' '}
                    <span className="mono">{m.merged_profile_id.slice(-8)}</span> via {m.identifier_type ?? m.rule} ({m.events_moved}{' '}
                    events, by {m.actor})
                  </Text>
                  {m.kind === 'merge' && !undone.has(m.id) && (
                    <Button
                      size="xs"
                      variant="light"
                      color="orange"
                      loading={unmerge.isPending}
                      onClick={() => confirm('Split this merge and move its events back?') && unmerge.mutate(m.id)}
                    >
                      Unmerge
                    </Button>
                  )}
                </Group>
              ))}
            </Stack>
          )}
          {unmerge.error && <ErrorState error={unmerge.error} />}
        </Card>
      </SimpleGrid>
      {tenantId && <CustomerOrders tenantId={tenantId} profileId={p.id} />}
      <PredictionsCard profileId={p.id} />
      <StyleProfileCard userIds={p.identifier_list.filter((i) => i.type === 'user_id').map((i) => i.value)} />
      <CustomerPrivacy profileId={p.id} label={name(p)} />
    </Stack>
  );
}

const LAYERS = [
  ['style_layers', 'Style'],
  ['price_layers', 'Price band'],
  ['category_layers', 'Category'],
  ['occasion_layers', 'Occasion'],
  ['commerce_intent', 'Commerce intent'],
] as const;

/** Shares of a layer's decayed weights, largest first (top `n`). */
/** The latest events, products by name (one batched catalog call for the page), orders linked. */
function ProfileTimeline({ events }: { events: ProfileDetail['recent_events'] }) {
  const shown = events.slice(0, 20);
  const names = useItemNames(shown.map((e) => e.item_id));
  if (shown.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No events yet.
      </Text>
    );
  return (
    <Timeline bulletSize={12} lineWidth={2} data-testid="profile-timeline">
      {shown.map((e, n) => (
        <Timeline.Item key={e.id ?? n} title={e.type}>
          <Text size="xs" c="dimmed">
            {fmtDate(e.occurred_at)} · {e.source}
            {e.item_id ? ` · ${names.get(e.item_id) ?? `item ${e.item_id}`}` : ''}
            {e.order_id ? ` · order ${e.order_id}` : ''}
          </Text>
        </Timeline.Item>
      ))}
    </Timeline>
  );
}

function layerShares(layer: Record<string, number>, n: number) {
  const total = Object.values(layer).reduce((a, b) => a + b, 0);
  return Object.entries(layer)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([label, w]) => ({ label, value: total > 0 ? w / total : 0 }));
}

/**
 * The shopper's learned style profile (newsfeed's style profile of the store's user id): the style, price,
 * category and occasion layers and the commerce intent as shares of their decayed weights, and the confidence.
 */
function StyleProfileCard({ userIds }: { userIds: string[] }) {
  const { tenantId } = useSession();
  const [chosen, setChosen] = useState<string | null>(null);
  const userId = chosen !== null && userIds.includes(chosen) ? chosen : userIds[0];
  const q = useQuery({
    queryKey: ['style-profile', tenantId, userId],
    queryFn: ({ signal }) => get<StyleProfile>(`/api/v1/shoppers/${encodeURIComponent(userId!)}/style-profile`, undefined, signal),
    enabled: userId !== undefined,
  });
  const sp = q.data?.profile;
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  return (
    <Card withBorder data-testid="style-profile-card">
      <Group justify="space-between" mb="xs">
        <Title order={4} size="h5">
          Style profile
        </Title>
        {userIds.length > 1 && (
          <Group gap={4}>
            {userIds.map((u) => (
              <Button key={u} size="xs" variant={u === userId ? 'filled' : 'light'} onClick={() => setChosen(u)}>
                {u}
              </Button>
            ))}
          </Group>
        )}
      </Group>
      {userId === undefined ? (
        <EmptyState title="No style profile">
          This person has no store user id yet: style is learned from a signed-in shopper's views, carts and purchases.
        </EmptyState>
      ) : q.isLoading ? (
        <Loading label="Loading style profile" />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Style profiles" />
      ) : !sp ? (
        <EmptyState title="No style profile yet">
          User {userId} has no interactions folded into a style profile yet; it forms within a second of their first view, cart or purchase.
        </EmptyState>
      ) : (
        <Stack gap="xs">
          <Group gap="lg">
            <Text size="sm" data-testid="style-confidence">
              Confidence <b>{pct(sp.confidence)}</b>
            </Text>
            <Text size="sm">Interactions: {fmtNumber(sp.events_count)}</Text>
            <Text size="sm">Updated: {fmtDate(sp.updated_at)}</Text>
            <Text size="sm" data-testid="style-intent">
              Commerce intent: <b>{layerShares(sp.commerce_intent, 1)[0]?.label ?? '—'}</b>
            </Text>
          </Group>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {LAYERS.map(([key, label]) => {
              const bars = layerShares(sp[key], 6);
              return (
                <div key={key} data-testid={`style-layer-${key}`}>
                  <Text size="sm" fw={600}>
                    {label}
                  </Text>
                  {bars.length === 0 ? (
                    <Text size="sm" c="dimmed">
                      No signal yet.
                    </Text>
                  ) : (
                    <BarChart bars={bars} label={`${label} share of the profile`} format={pct} />
                  )}
                </div>
              );
            })}
          </SimpleGrid>
          {q.data!.snapshots.length > 0 && (
            <Text size="xs" c="dimmed">
              Snapshots:{' '}
              {q
                .data!.snapshots.slice(0, 5)
                .map((x) => `${fmtDate(x.snapshot_date)} (${x.reason}, ${pct(x.confidence)})`)
                .join(' · ')}
            </Text>
          )}
        </Stack>
      )}
    </Card>
  );
}

const FEATURE_LABELS: Record<string, string> = {
  recency_days: 'Days since last order',
  tenure_days: 'Days since first order',
  orders: 'Orders',
  revenue_total: 'Revenue (minor units)',
  gap_mean_days: 'Days between orders',
  recency_over_gap: 'Overdue factor',
  orders_90d: 'Orders in 90 days',
};

/** Churn risk, expected value and segment of the person, with the features that drive the churn score. */
function PredictionsCard({ profileId }: { profileId: string }) {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['predict-all', tenantId, profileId],
    queryFn: ({ signal }) => api<PredictAllResponse>('POST', '/api/v1/predict/all', { body: { profile_id: profileId }, signal }),
  });
  const p = q.data;
  return (
    <Card withBorder data-testid="predictions-card">
      <Title order={4} size="h5">
        Predictions
      </Title>
      {q.isLoading && <Loading />}
      {q.error && <ErrorState error={q.error} />}
      {p && (
        <Stack gap="xs">
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <div>
              <Text size="xs" c="dimmed">
                Churn risk
              </Text>
              {p.churn ? (
                <Group gap="xs">
                  <Text fw={600}>{Math.round(p.churn.probability * 100)}%</Text>
                  <Badge color={p.churn.risk_level === 'high' ? 'red' : p.churn.risk_level === 'medium' ? 'orange' : 'green'}>
                    {p.churn.risk_level}
                  </Badge>
                </Group>
              ) : (
                <Text c="dimmed">not available</Text>
              )}
            </div>
            <div>
              <Text size="xs" c="dimmed">
                Expected value{p.ltv ? ` (next ${p.ltv.horizon_days} days)` : ''}
              </Text>
              <Text fw={600}>
                {p.ltv
                  ? p.ltv.currency
                    ? fmtMinor(p.ltv.predicted_ltv_minor, p.ltv.currency)
                    : p.ltv.predicted_ltv_minor
                  : 'not available'}
              </Text>
            </div>
            <div>
              <Text size="xs" c="dimmed">
                Segment
              </Text>
              <Text fw={600}>{p.segment ? p.segment.segment.replaceAll('_', ' ') : 'not available'}</Text>
            </div>
          </SimpleGrid>
          {p.churn && p.churn.top_reasons.length > 0 && (
            <Text size="sm">
              Why:{' '}
              {p.churn.top_reasons
                .map(
                  (r) =>
                    `${FEATURE_LABELS[r.feature] ?? r.feature.replaceAll('_', ' ')} ${fmtNumber(r.value ?? 0)} (${r.direction} than the typical ${fmtNumber(r.typical ?? 0)})`,
                )
                .join('; ')}
            </Text>
          )}
          {p.not_ready.length > 0 && (
            <Text size="sm" c="dimmed">
              {p.not_ready.map((n) => `${n.model}: ${n.reason}`).join(' · ')}
            </Text>
          )}
        </Stack>
      )}
    </Card>
  );
}

function ReviewQueue() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ['review', tenantId],
    queryFn: ({ signal }) => get<ReviewList>('/api/v1/profiles/review-queue', { status: 'pending', limit: 100 }, signal),
  });
  const decide = useMutation({
    mutationFn: (v: { id: string; decision: 'approve' | 'reject' }) =>
      api('POST', `/api/v1/profiles/review-queue/${encodeURIComponent(v.id)}/${v.decision}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['review'] }),
  });
  if (list.isLoading) return <Loading label="Loading the review queue" />;
  if (list.error) return <ErrorState error={list.error} feature="The review queue" />;
  const rows = list.data!.data;
  if (rows.length === 0)
    return (
      <EmptyState title="Nothing to review">
        Merges the rules refused to make on their own (more than 3 profiles, conflicting user ids) wait here.
      </EmptyState>
    );
  return (
    <Stack>
      {decide.error && (
        <Alert color="red" role="alert">
          {decide.error.message}
        </Alert>
      )}
      <DataTable
        rows={rows}
        rowKey={(r) => r.id}
        columns={[
          { key: 'reason', label: 'Reason', render: (r) => r.reason.replaceAll('_', ' ') },
          {
            key: 'profile_ids',
            label: 'Profiles',
            render: (r) =>
              r.profile_ids.map((pid) => (
                <Anchor key={pid} component={Link} to={`/customers/${encodeURIComponent(pid)}`} mr="xs" className="mono">
                  {pid.slice(-8)}
                </Anchor>
              )),
          },
          { key: 'occurrences', label: 'Seen' },
          { key: 'created_at', label: 'Opened', render: (r) => fmtDate(r.created_at) },
          {
            key: 'actions',
            label: 'Decision',
            render: (r) => (
              <Group gap="xs" wrap="nowrap">
                <Button size="xs" onClick={() => decide.mutate({ id: r.id, decision: 'approve' })}>
                  Merge
                </Button>
                <Button size="xs" variant="default" onClick={() => decide.mutate({ id: r.id, decision: 'reject' })}>
                  Keep apart
                </Button>
              </Group>
            ),
          },
        ]}
      />
    </Stack>
  );
}
