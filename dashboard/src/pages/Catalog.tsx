import { useState, type ReactNode } from 'react';
import { Anchor, Autocomplete, Badge, Button, Card, Group, Image, Select, SimpleGrid, Stack, Tabs, Text, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AlignResponse, AlignSuggestions, CategoryTreeNode, Item, ItemList } from '../api/types.ts';
import { Link, Route, Routes, useLocation, useNavigate, useParams as useRouteParams } from 'react-router';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { fmtMoney, str } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';
import { ItemSales } from './catalog/ItemSales.tsx';

type Dict = Record<string, unknown>;
const listOf = <T,>(body: unknown, ...keys: string[]): T[] => {
  if (Array.isArray(body)) return body as T[];
  const d = (body ?? {}) as Dict;
  for (const k of ['data', 'items', 'results', ...keys]) if (Array.isArray(d[k])) return d[k] as T[];
  return [];
};

export default function CatalogPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = location.pathname.startsWith('/catalog/categories') ? 'categories' : 'items';
  return (
    <Stack>
      <Title order={2}>Catalog</Title>
      <Tabs value={tab} onChange={(v) => navigate(v === 'categories' ? '/catalog/categories' : '/catalog')}>
        <Tabs.List>
          <Tabs.Tab value="items">Items</Tabs.Tab>
          <Tabs.Tab value="categories">Categories</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      <Routes>
        <Route index element={<Items />} />
        <Route path="items/:id" element={<ItemDetail />} />
        <Route path="categories" element={<Categories />} />
      </Routes>
    </Stack>
  );
}

interface SearchAnswer {
  mode: 'fulltext' | 'fuzzy';
  total: number;
  data: Item[];
  facets: {
    categories: { id: string; path: string; count: number }[];
    brands: { value: string; count: number }[];
    price_bands: { key: string; from: number; to: number | null; count: number }[];
  };
  next_cursor: string | null;
}
const PAGE = 50;
/** The price as a number for sorting (items without one go last). */
const priceOf = (i: Item, missing: number): number => (i.price === null ? missing : Number(i.price));
const SORTS: Record<string, { label: string; compare?: (a: Item, b: Item) => number }> = {
  relevance: { label: 'Best match' },
  name: { label: 'Name A–Z', compare: (a, b) => a.name.localeCompare(b.name) },
  price_asc: { label: 'Price, low to high', compare: (a, b) => priceOf(a, Infinity) - priceOf(b, Infinity) },
  price_desc: { label: 'Price, high to low', compare: (a, b) => priceOf(b, -Infinity) - priceOf(a, -Infinity) },
};

function Items() {
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const [f, setF] = useParams(['q', 'category', 'brand', 'min_price', 'max_price', 'cursor', 'page', 'sort'] as const);
  const [typed, setTyped] = useState(f.q);
  const [debounced] = useDebouncedValue(typed, 150);
  const suggest = useQuery({
    queryKey: ['autocomplete', tenantId, debounced],
    queryFn: ({ signal }) => get<unknown>('/api/v1/items/autocomplete', { q: debounced, limit: 8 }, signal),
    enabled: debounced.length >= 2,
  });
  const filters = { category: f.category, brand: f.brand, min_price: f.min_price, max_price: f.max_price, cursor: f.cursor, limit: PAGE };
  const items = useQuery({
    queryKey: ['items', tenantId, f.q, filters],
    queryFn: ({ signal }) =>
      f.q ? get<SearchAnswer>('/api/v1/items/search', { q: f.q, ...filters }, signal) : get<ItemList>('/api/v1/items', filters, signal),
  });
  const options = [
    ...new Set(
      listOf<Dict | string>(suggest.data, 'suggestions').map((s) => (typeof s === 'string' ? s : str(s.name ?? s.text ?? s.item_id))),
    ),
  ];
  const answer = items.data as Partial<SearchAnswer> | undefined;
  const sort = SORTS[f.sort] ?? SORTS.relevance!;
  const rows = sort.compare ? [...listOf<Item>(items.data)].sort(sort.compare) : listOf<Item>(items.data);
  const page = Number(f.page) > 0 ? Number(f.page) : 1;
  const first = (page - 1) * PAGE + 1;
  const total = typeof answer?.total === 'number' ? answer.total : null;
  // A new search or filter starts at the first page.
  const refine = (patch: Partial<Record<'q' | 'category' | 'brand' | 'min_price' | 'max_price', string | null>>) =>
    setF({ ...patch, cursor: null, page: null });

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          refine({ q: typed });
        }}
      >
        <Group align="flex-end">
          <Autocomplete
            label="Search items"
            placeholder="name, SKU, brand, tag…"
            data={options}
            value={typed}
            onChange={setTyped}
            onOptionSubmit={(v) => refine({ q: v })}
            w={{ base: '100%', sm: 360 }}
          />
          <Button type="submit">Search</Button>
          <Select
            label="Sort this page"
            data={Object.entries(SORTS).map(([value, s]) => ({ value, label: s.label }))}
            value={SORTS[f.sort] ? f.sort : 'relevance'}
            onChange={(v) => setF({ sort: v === 'relevance' ? null : v })}
            allowDeselect={false}
            w={190}
          />
          {(['category', 'brand'] as const).map(
            (k) =>
              f[k] && (
                <Button key={k} variant="subtle" onClick={() => refine({ [k]: null })} aria-label={`Remove the ${k} filter`}>
                  {k === 'category' ? 'Category' : 'Brand'}: {f[k]} ✕
                </Button>
              ),
          )}
          {(f.min_price || f.max_price) && (
            <Button variant="subtle" onClick={() => refine({ min_price: null, max_price: null })} aria-label="Remove the price filter">
              Price: {f.min_price || '0'}–{f.max_price || '…'} ✕
            </Button>
          )}
        </Group>
      </form>
      {answer?.facets && <Facets facets={answer.facets} onPick={refine} />}
      {items.isLoading ? (
        <Loading label="Loading items" />
      ) : items.error ? (
        <ErrorState error={items.error} feature={f.q ? 'Catalog search' : 'The catalog'} />
      ) : rows.length === 0 ? (
        <EmptyState title={f.q ? 'No items match' : 'No items yet'}>
          {f.q ? (
            'Check the spelling, search by item id (SKU), or remove a filter.'
          ) : (
            <>
              Upload a catalog file on the{' '}
              <Anchor component={Link} to="/import">
                Import
              </Anchor>{' '}
              page.
            </>
          )}
        </EmptyState>
      ) : (
        <>
          <Group justify="space-between">
            <Text size="sm" data-testid="items-total">
              {total !== null
                ? `${total.toLocaleString()} ${total === 1 ? 'item matches' : 'items match'}${answer?.mode === 'fuzzy' ? ' (allowing for typos)' : ''}; showing ${first.toLocaleString()}–${(first + rows.length - 1).toLocaleString()}`
                : `Showing items ${first.toLocaleString()}–${(first + rows.length - 1).toLocaleString()}`}
            </Text>
            <Button
              size="xs"
              variant="default"
              onClick={() =>
                downloadCsv(
                  `catalog${f.q ? `-${f.q}` : ''}-page-${page}.csv`,
                  ['item_id', 'name', 'category', 'brand', 'price', 'currency', 'availability'],
                  rows.map((r) => [r.item_id, r.name, r.category, r.brand, r.price, r.currency, r.availability]),
                )
              }
            >
              Export this page (CSV)
            </Button>
          </Group>
          <DataTable
            testId="items-table"
            rows={rows}
            rowKey={(r) => r.item_id}
            onRowClick={(r) => navigate(`/catalog/items/${encodeURIComponent(r.item_id)}`)}
            columns={[
              {
                key: 'item_id',
                label: 'Item id',
                render: (r) => (
                  <Anchor component={Link} to={`/catalog/items/${encodeURIComponent(r.item_id)}`}>
                    {r.item_id}
                  </Anchor>
                ),
              },
              { key: 'name', label: 'Name' },
              { key: 'category', label: 'Category' },
              { key: 'brand', label: 'Brand' },
              { key: 'price', label: 'Price', render: (r) => (r.price === null ? '—' : fmtMoney(r.price, r.currency)) },
              { key: 'availability', label: 'Availability' },
            ]}
          />
          <Group justify="flex-end">
            {page > 1 && (
              <Button variant="default" onClick={() => setF({ cursor: null, page: null })}>
                First page
              </Button>
            )}
            <Button
              variant="default"
              disabled={!items.data || !(items.data as { next_cursor?: string | null }).next_cursor}
              onClick={() => setF({ cursor: (items.data as { next_cursor: string }).next_cursor, page: String(page + 1) })}
            >
              Next page
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
}

/** Search facets: the top categories, brands and price bands of the whole match set, as filters to click. */
function Facets({
  facets,
  onPick,
}: {
  facets: SearchAnswer['facets'];
  onPick: (p: Partial<Record<'category' | 'brand' | 'min_price' | 'max_price', string | null>>) => void;
}) {
  const groups: { title: string; chips: { label: string; count: number; pick: () => void }[] }[] = [
    {
      title: 'Category',
      chips: facets.categories.slice(0, 8).map((c) => ({ label: c.path, count: c.count, pick: () => onPick({ category: c.path }) })),
    },
    {
      title: 'Brand',
      chips: facets.brands.slice(0, 8).map((b) => ({ label: b.value, count: b.count, pick: () => onPick({ brand: b.value }) })),
    },
    {
      title: 'Price',
      chips: facets.price_bands.map((b) => ({
        label: b.to === null ? `${b.from}+` : `${b.from}–${b.to}`,
        count: b.count,
        pick: () => onPick({ min_price: String(b.from), max_price: b.to === null ? null : String(b.to) }),
      })),
    },
  ].filter((g) => g.chips.length > 0);
  if (groups.length === 0) return null;
  return (
    <Stack gap={4} data-testid="facets">
      {groups.map((g) => (
        <Group key={g.title} gap={6}>
          <Text size="xs" c="dimmed" w={60}>
            {g.title}
          </Text>
          {g.chips.map((c) => (
            <Button key={c.label} size="compact-xs" variant="light" onClick={c.pick}>
              {c.label} ({c.count.toLocaleString()})
            </Button>
          ))}
        </Group>
      ))}
    </Stack>
  );
}

function ItemDetail() {
  const { id = '' } = useRouteParams();
  const { tenantId } = useSession();
  const [params, setParams] = useParams(['period'] as const);
  const period = ['30', '90', '365'].includes(params.period) ? params.period : '90';
  const item = useQuery({
    queryKey: ['item', tenantId, id],
    queryFn: ({ signal }) => get<Item>(`/api/v1/items/${encodeURIComponent(id)}`, undefined, signal),
  });
  const similar = useMutation({
    meta: { success: false },
    mutationFn: () => api<unknown>('POST', '/api/v1/recommendations/similar', { body: { item_id: id, count: 6 } }),
  });
  if (item.isLoading) return <Loading />;
  if (item.error) return <ErrorState error={item.error} feature="The catalog" />;
  const d = item.data!;
  const image = d.image_url;
  return (
    <Stack>
      <Anchor component={Link} to="/catalog">
        ← All items
      </Anchor>
      <Card withBorder>
        <Group align="flex-start" wrap="wrap">
          {image && <Image src={image} alt={d.name} w={160} h={160} fit="contain" />}
          <Stack gap={4}>
            <Title order={3}>{d.name}</Title>
            <Text className="mono">{id}</Text>
            <Group gap="xs">
              {d.category ? <Badge variant="light">{d.category}</Badge> : null}
              {d.brand ? <Badge variant="outline">{d.brand}</Badge> : null}
              <Badge variant="dot">{d.availability}</Badge>
            </Group>
            <Text fw={600}>{d.price === null ? 'No price' : fmtMoney(d.price, d.currency)}</Text>
          </Stack>
        </Group>
        <SimpleGrid cols={{ base: 1, sm: 2 }} mt="md">
          {Object.entries({ ...d, ...d.attributes })
            .filter(([k]) => !['id', 'name', 'image_url', 'attributes', 'price_minor'].includes(k))
            .map(([k, v]) => (
              <Text key={k} size="sm">
                <strong>{k.replaceAll('_', ' ')}:</strong> {str(v)}
              </Text>
            ))}
        </SimpleGrid>
      </Card>
      {tenantId && (
        <ItemSales tenantId={tenantId} itemId={id} period={period} onPeriod={(p) => setParams({ period: p === '90' ? null : p })} />
      )}
      <Group>
        <Button variant="light" onClick={() => similar.mutate()} loading={similar.isPending}>
          Show similar items
        </Button>
      </Group>
      {similar.error && <ErrorState error={similar.error} feature="Recommendations" />}
      {similar.data !== undefined && (
        <DataTable
          rows={listOf<Dict>(similar.data, 'similar_items')}
          rowKey={(r) => str(r.item_id)}
          columns={[
            { key: 'item_id', label: 'Item' },
            { key: 'name', label: 'Name' },
            { key: 'similarity_score', label: 'Similarity' },
            { key: 'reason', label: 'Reason' },
          ]}
        />
      )}
    </Stack>
  );
}

function Categories() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [f, setF] = useParams(['category'] as const);
  const cats = useQuery({
    queryKey: ['categories', tenantId, 'tree'],
    queryFn: ({ signal }) => get<{ data: CategoryTreeNode[] }>('/api/v1/categories', { format: 'tree' }, signal),
  });
  const suggestions = useQuery({
    queryKey: ['align-suggestions', tenantId, f.category],
    queryFn: ({ signal }) =>
      get<AlignSuggestions>(`/api/v1/categories/${encodeURIComponent(f.category)}/align/suggestions`, { limit: 8 }, signal),
    enabled: !!f.category,
  });
  const align = useMutation({
    mutationFn: (googleId: number | null) =>
      api<AlignResponse>('POST', `/api/v1/categories/${encodeURIComponent(f.category)}/align`, { body: { google_category_id: googleId } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['categories'] }),
  });
  if (cats.isLoading) return <Loading label="Loading categories" />;
  if (cats.error) return <ErrorState error={cats.error} feature="Categories" />;
  const roots = cats.data!.data;
  if (roots.length === 0)
    return <EmptyState title="No categories yet">Categories come from your catalog imports or can be created through the API.</EmptyState>;
  const find = (nodes: CategoryTreeNode[]): CategoryTreeNode | undefined => {
    for (const n of nodes) {
      if (n.id === f.category) return n;
      const c = find(n.children);
      if (c) return c;
    }
    return undefined;
  };
  const selected = f.category ? find(roots) : undefined;
  const tree = (nodes: CategoryTreeNode[]): ReactNode => (
    <ul>
      {nodes.map((c) => (
        <li key={c.id}>
          <Anchor
            component="button"
            type="button"
            onClick={() => setF({ category: c.id })}
            fw={selected?.id === c.id ? 700 : 400}
            aria-current={selected?.id === c.id ? 'true' : undefined}
          >
            {c.name}
          </Anchor>{' '}
          <Text span size="xs" c="dimmed">
            {c.item_count} items{c.google_category_id ? ` · Google #${c.google_category_id}` : ''}
          </Text>
          {c.children.length > 0 && tree(c.children)}
        </li>
      ))}
    </ul>
  );
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Card withBorder className="tree" data-testid="category-tree">
        <Title order={3} size="h5" mb="xs">
          Category tree
        </Title>
        {tree(roots)}
      </Card>
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          Google taxonomy suggestions
        </Title>
        {!selected ? (
          <Text size="sm" c="dimmed">
            Choose a category to see suggested Google product categories.
          </Text>
        ) : (
          <Stack gap="xs">
            <Text size="sm">
              <strong>{selected.path}</strong>{' '}
              {selected.google_category_id ? `is aligned to Google #${selected.google_category_id}.` : 'is not aligned yet.'}
            </Text>
            {suggestions.isLoading ? (
              <Loading />
            ) : suggestions.error ? (
              <ErrorState error={suggestions.error} feature="Taxonomy alignment" />
            ) : suggestions.data!.suggestions.length === 0 ? (
              <Text size="sm">No suggestion for this category.</Text>
            ) : (
              <DataTable
                testId="align-suggestions"
                rows={suggestions.data!.suggestions}
                rowKey={(r) => String(r.id)}
                columns={[
                  { key: 'path', label: 'Google category' },
                  { key: 'score', label: 'Score', render: (r) => r.score.toFixed(2) },
                  {
                    key: 'use',
                    label: '',
                    render: (r) =>
                      r.id === selected.google_category_id ? (
                        <Badge color="green">aligned</Badge>
                      ) : (
                        <Button
                          size="xs"
                          variant="light"
                          loading={align.isPending && align.variables === r.id}
                          onClick={() => align.mutate(r.id)}
                        >
                          Use
                        </Button>
                      ),
                  },
                ]}
              />
            )}
            {align.error && <ErrorState error={align.error} />}
          </Stack>
        )}
      </Card>
    </SimpleGrid>
  );
}
