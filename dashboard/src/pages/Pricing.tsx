import { useState } from 'react';
import { Anchor, Badge, Button, Card, Group, SimpleGrid, Stack, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import type {
  MatchGroupList,
  MatchReviewDecision,
  MatchReviewList,
  PriceHistory,
  PricingOfferList,
  PricingStoreList,
  Product,
} from '../api/types.ts';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { LineChart } from '../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { useSession } from '../session.tsx';
import { PriceAlerts } from './pricing/Alerts.tsx';
import { PricingSources } from './pricing/Sources.tsx';

const TABS = ['stores', 'networks', 'offers', 'groups', 'review', 'alerts'] as const;

/**
 * Pricing: stores and their last imports, offers and match groups with search, the matcher's review queue,
 * a product's offers and price history.
 */
export default function PricingPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = TABS.find((t) => location.pathname.startsWith(`/pricing/${t}`)) ?? 'stores';
  return (
    <Stack>
      <Title order={2}>Pricing</Title>
      {!location.pathname.startsWith('/pricing/products') && (
        <Tabs value={tab} onChange={(v) => navigate(`/pricing/${v ?? 'stores'}`)}>
          <Tabs.List>
            <Tabs.Tab value="stores">Stores</Tabs.Tab>
            <Tabs.Tab value="networks">Networks</Tabs.Tab>
            <Tabs.Tab value="offers">Offers</Tabs.Tab>
            <Tabs.Tab value="groups">Match groups</Tabs.Tab>
            <Tabs.Tab value="review">Review queue</Tabs.Tab>
            <Tabs.Tab value="alerts">Price alerts</Tabs.Tab>
          </Tabs.List>
        </Tabs>
      )}
      <Routes>
        <Route index element={<Stores />} />
        <Route path="stores" element={<Stores />} />
        <Route path="networks" element={<PricingSources />} />
        <Route path="offers" element={<Offers />} />
        <Route path="groups" element={<Groups />} />
        <Route path="review" element={<ReviewQueue />} />
        <Route path="alerts" element={<PriceAlerts />} />
        <Route path="products/:id" element={<ProductDetail />} />
      </Routes>
    </Stack>
  );
}

function Stores() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['pricing-stores', tenantId],
    queryFn: ({ signal }) => get<PricingStoreList>('/api/v1/pricing/stores', undefined, signal),
  });
  if (q.isLoading) return <Loading label="Loading stores" />;
  if (q.error) return <ErrorState error={q.error} feature="Pricing" />;
  const rows = q.data?.data ?? [];
  if (!rows.length)
    return (
      <EmptyState title="No stores yet">
        Add a store with POST /api/v1/pricing/stores, then upload its feed (CSV, JSON or Google XML) to /api/v1/pricing/stores/:id/feeds.
      </EmptyState>
    );
  return (
    <DataTable
      testId="stores-table"
      rows={rows}
      rowKey={(r) => r.id}
      columns={[
        { key: 'name', label: 'Store' },
        { key: 'network', label: 'Network' },
        { key: 'offer_count', label: 'Offers' },
        {
          key: 'last_run',
          label: 'Last import',
          render: (r) =>
            r.last_run ? (
              <Group gap="xs">
                <Badge color={r.last_run.status === 'succeeded' ? 'green' : r.last_run.status === 'failed' ? 'red' : 'blue'}>
                  {r.last_run.status}
                </Badge>
                <Text size="sm">{new Date(r.last_run.started_at).toLocaleString()}</Text>
              </Group>
            ) : (
              'never'
            ),
        },
      ]}
    />
  );
}

function SearchBox({ value, onSearch, label }: { value: string; onSearch: (v: string) => void; label: string }) {
  const [typed, setTyped] = useState(value);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onSearch(typed);
      }}
    >
      <Group align="flex-end">
        <TextInput
          label={label}
          placeholder="title, GTIN or id"
          value={typed}
          onChange={(e) => setTyped(e.currentTarget.value)}
          w={{ base: '100%', sm: 360 }}
        />
        <Button type="submit">Search</Button>
      </Group>
    </form>
  );
}

function Offers() {
  const { tenantId } = useSession();
  const [search, setSearch] = useState('');
  const q = useQuery({
    queryKey: ['pricing-offers', tenantId, search],
    queryFn: ({ signal }) => get<PricingOfferList>('/api/v1/pricing/offers', { q: search || undefined, limit: 100 }, signal),
  });
  const rows = q.data?.data ?? [];
  return (
    <Stack>
      <SearchBox value={search} onSearch={setSearch} label="Search offers" />
      {q.isLoading ? (
        <Loading label="Loading offers" />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Pricing" />
      ) : !rows.length ? (
        <EmptyState title={search ? 'No offers match' : 'No offers yet'}>
          {search ? 'Try another word or a GTIN.' : "Upload a store's feed to see its offers here."}
        </EmptyState>
      ) : (
        <>
          <Group>
            <Button
              variant="light"
              onClick={() =>
                downloadCsv(
                  'offers.csv',
                  ['store', 'external_id', 'title', 'gtin', 'price', 'currency', 'availability', 'match_group_id'],
                  rows.map((r) => [r.store, r.external_id, r.title, r.gtin, r.price, r.currency, r.availability, r.match_group_id]),
                )
              }
            >
              Export CSV
            </Button>
          </Group>
          <DataTable
            testId="offers-table"
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { key: 'store', label: 'Store' },
              {
                key: 'title',
                label: 'Title',
                render: (r) =>
                  r.match_group_id ? (
                    <Anchor component={Link} to={`/pricing/products/${r.match_group_id}`}>
                      {r.title}
                    </Anchor>
                  ) : (
                    r.title
                  ),
              },
              { key: 'gtin', label: 'GTIN' },
              { key: 'price', label: 'Price', render: (r) => `${r.price} ${r.currency}` },
              { key: 'availability', label: 'Availability' },
              { key: 'match_method', label: 'Matched by' },
            ]}
          />
        </>
      )}
    </Stack>
  );
}

function Groups() {
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const q = useQuery({
    queryKey: ['pricing-groups', tenantId, search],
    queryFn: ({ signal }) => get<MatchGroupList>('/api/v1/pricing/groups', { q: search || undefined, limit: 100 }, signal),
  });
  const rows = q.data?.data ?? [];
  return (
    <Stack>
      <SearchBox value={search} onSearch={setSearch} label="Search match groups" />
      {q.isLoading ? (
        <Loading label="Loading match groups" />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Pricing" />
      ) : !rows.length ? (
        <EmptyState title={search ? 'No groups match' : 'No match groups yet'}>
          Offers are grouped across stores as their feeds are imported.
        </EmptyState>
      ) : (
        <DataTable
          testId="groups-table"
          rows={rows}
          rowKey={(r) => r.id}
          onRowClick={(r) => navigate(`/pricing/products/${r.id}`)}
          columns={[
            { key: 'canonical_name', label: 'Product' },
            { key: 'brand', label: 'Brand' },
            { key: 'gtin', label: 'GTIN' },
            { key: 'offer_count', label: 'Offers' },
            { key: 'min_price', label: 'From', render: (r) => (r.min_price ? `${r.min_price} ${r.currency}` : '—') },
          ]}
        />
      )}
    </Stack>
  );
}

/**
 * The review queue: pairs the learned matcher scored in its uncertain band, both offers side by side, most
 * likely first. Accept moves the new offer into the candidate's group (revertible from the match log); reject
 * leaves it in its own group.
 */
function ReviewQueue() {
  const { tenantId } = useSession();
  const client = useQueryClient();
  const q = useQuery({
    queryKey: ['pricing-reviews', tenantId],
    queryFn: ({ signal }) => get<MatchReviewList>('/api/v1/pricing/reviews', { status: 'pending', limit: 100 }, signal),
  });
  const decide = useMutation({
    mutationFn: ({ id, verb }: { id: string; verb: 'accept' | 'reject' }) =>
      api<MatchReviewDecision>('POST', `/api/v1/pricing/reviews/${id}/${verb}`),
    onSettled: () => client.invalidateQueries({ queryKey: ['pricing-reviews', tenantId] }),
  });
  if (q.isLoading) return <Loading label="Loading the review queue" />;
  if (q.error) return <ErrorState error={q.error} feature="Pricing" />;
  const rows = [...(q.data?.data ?? [])].sort((a, b) => b.score - a.score);
  if (!rows.length)
    return (
      <EmptyState title="Nothing to review">
        Offers the matcher is unsure of appear here after a feed import; sure matches join their group on their own.
      </EmptyState>
    );
  return (
    <Stack>
      {decide.error && (
        <Text c="red" data-testid="review-error">
          {decide.error.message.includes('already')
            ? 'Someone decided this pair already; the list is now up to date.'
            : `The decision was not saved (${decide.error.message}). Try again.`}
        </Text>
      )}
      <Group>
        <Text size="sm" c="dimmed">
          {rows.length} pair{rows.length === 1 ? '' : 's'} to review, most likely first.
        </Text>
        <Button
          variant="light"
          onClick={() =>
            downloadCsv(
              'match-review.csv',
              [
                'score',
                'offer_store',
                'offer_title',
                'offer_price',
                'candidate_store',
                'candidate_title',
                'candidate_price',
                'candidate_group_id',
              ],
              rows.map((r) => [
                r.score,
                r.offer.store,
                r.offer.title,
                r.offer.price,
                r.candidate.store,
                r.candidate.title,
                r.candidate.price,
                r.candidate.match_group_id,
              ]),
            )
          }
        >
          Export CSV
        </Button>
      </Group>
      <DataTable
        testId="review-table"
        rows={rows}
        rowKey={(r) => r.id}
        columns={[
          {
            key: 'score',
            label: 'Likelihood',
            render: (r) => <Badge color={r.score >= 0.7 ? 'teal' : 'yellow'}>{Math.round(r.score * 100)}%</Badge>,
          },
          { key: 'offer', label: 'New offer', render: (r) => `${r.offer.title ?? ''} (${r.offer.store ?? ''}, ${r.offer.price ?? ''})` },
          {
            key: 'candidate',
            label: 'Same product as?',
            render: (r) => (
              <Anchor component={Link} to={`/pricing/products/${r.candidate.match_group_id}`}>
                {`${r.candidate.title ?? r.candidate.group_name} (${r.candidate.store ?? ''}, ${r.candidate.price ?? ''})`}
              </Anchor>
            ),
          },
          {
            key: 'decide',
            label: 'Decision',
            render: (r) => (
              <Group gap="xs" wrap="nowrap">
                <Button size="xs" color="teal" disabled={decide.isPending} onClick={() => decide.mutate({ id: r.id, verb: 'accept' })}>
                  Accept
                </Button>
                <Button size="xs" variant="default" disabled={decide.isPending} onClick={() => decide.mutate({ id: r.id, verb: 'reject' })}>
                  Reject
                </Button>
              </Group>
            ),
          },
        ]}
      />
    </Stack>
  );
}

function ProductDetail() {
  const { tenantId } = useSession();
  const { id = '' } = useParams();
  const product = useQuery({
    queryKey: ['product', tenantId, id],
    queryFn: ({ signal }) => get<Product>(`/api/v1/products/${encodeURIComponent(id)}`, undefined, signal),
  });
  const history = useQuery({
    queryKey: ['product-history', tenantId, id],
    queryFn: ({ signal }) =>
      get<PriceHistory>(`/api/v1/products/${encodeURIComponent(id)}/price-history`, { days: 90, points: 90 }, signal),
  });
  if (product.isLoading) return <Loading label="Loading product" />;
  if (product.error) return <ErrorState error={product.error} feature="Pricing" />;
  const p = product.data!;
  const best = p.pricing.best_offer;
  const offers = [...(best ? [best] : []), ...p.pricing.other_offers];
  const h = history.data;
  return (
    <Stack>
      <Anchor component={Link} to="/pricing/groups">
        ← Match groups
      </Anchor>
      <Title order={3}>{p.product.name}</Title>
      <Text size="sm" c="dimmed">
        {[p.product.brand, p.product.gtin && `GTIN ${p.product.gtin}`, p.product.mpn && `MPN ${p.product.mpn}`]
          .filter(Boolean)
          .join(' · ') || 'No identifiers'}
      </Text>
      {best ? (
        <Card withBorder data-testid="best-offer">
          <Text fw={600}>
            Best price: {best.price} at {best.store}
          </Text>
          <Text size="sm">
            {best.was_price
              ? `Was ${best.was_price} (lowest of the previous 30 days) · you save ${best.savings}`
              : 'No lower price in the previous 30 days to compare with.'}
          </Text>
          {p.pricing.price_range && (
            <Text size="sm" c="dimmed">
              Range {p.pricing.price_range.min} – {p.pricing.price_range.max}
            </Text>
          )}
        </Card>
      ) : (
        <EmptyState title="No offer in stock">No store has this product in stock at a plausible price.</EmptyState>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <DataTable
          testId="product-offers"
          rows={offers}
          rowKey={(r) => r.offer_id}
          columns={[
            { key: 'store', label: 'Store' },
            { key: 'price', label: 'Price', render: (r) => (r.is_best_price ? <Badge color="green">{r.price}</Badge> : r.price) },
            { key: 'availability', label: 'Availability' },
            { key: 'price_error', label: 'Check', render: (r) => (r.price_error ? <Badge color="red">price error?</Badge> : '') },
          ]}
        />
        <div>
          {history.isLoading ? (
            <Loading label="Loading price history" />
          ) : history.error ? (
            <ErrorState error={history.error} feature="Price history" />
          ) : h && h.series.length ? (
            <div data-testid="price-history">
              <LineChart
                label={`Price history of ${p.product.name} in ${h.currency ?? ''}`}
                x={h.best_price.map((pt) => Date.parse(pt.t) / 1000)}
                series={[
                  { label: 'Best price', values: h.best_price.map((pt) => pt.price) },
                  ...h.series.map((s) => ({ label: s.store, values: s.points.map((pt) => pt.price) })),
                ]}
              />
            </div>
          ) : (
            <EmptyState title="No price history yet">Prices are recorded each time a feed changes them.</EmptyState>
          )}
        </div>
      </SimpleGrid>
      {p.pricing.offers_in_other_currencies.length > 0 && (
        <Text size="sm" c="dimmed">
          Also offered in other currencies: {p.pricing.offers_in_other_currencies.map((o) => `${o.store} ${o.price}`).join(', ')}
        </Text>
      )}
    </Stack>
  );
}
