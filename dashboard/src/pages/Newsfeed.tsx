import { useState } from 'react';
import { Alert, Badge, Button, Card, Group, NumberInput, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Newsfeed, StyleProfile, Tenant } from '../api/types.ts';
import { api, get } from '../api/client.ts';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { DEFAULTS, RULES, type RuleKey, feedSettingsPatch } from '../lib/feed-settings.ts';
import { useSession } from '../session.tsx';

/** Newsfeed: the tenant's feed rules and sponsored positions, and a preview of any shopper's feed with why each module is there. */
export default function NewsfeedPage() {
  return (
    <Stack>
      <Title order={2}>Newsfeed</Title>
      <Configuration />
      <Preview />
    </Stack>
  );
}

function Configuration() {
  const { tenantId, data } = useSession();
  const qc = useQueryClient();
  const isAdmin = !!data?.user.is_platform_admin;
  const tenant = useQuery({ queryKey: ['tenant', tenantId], queryFn: ({ signal }) => get<Tenant>('/api/v1/tenant', undefined, signal) });
  const [draft, setDraft] = useState<(Record<RuleKey, number> & { positions: string }) | null>(null);
  const save = useMutation({
    mutationFn: (v: { t: Tenant; d: NonNullable<typeof draft> }) =>
      api<Tenant>('PATCH', `/api/v1/admin/tenants/${v.t.id}`, { body: { settings: feedSettingsPatch(v.t.settings, v.d) } }),
    onSuccess: () => {
      setDraft(null);
      void qc.invalidateQueries({ queryKey: ['tenant'] });
      void qc.invalidateQueries({ queryKey: ['newsfeed-preview'] });
    },
  });
  if (tenant.isLoading) return <Loading label="Loading feed settings" />;
  if (tenant.error) return <ErrorState error={tenant.error} />;
  const t = tenant.data!;
  const nf = (t.settings.newsfeed ?? {}) as Record<string, unknown>;
  const sp = (t.settings.sponsored ?? {}) as Record<string, unknown>;
  const nested = (nf.rules ?? {}) as Record<string, unknown>;
  const current = Object.fromEntries(
    RULES.map((r) => {
      const v = (r.nested ? nested : nf)[r.key];
      return [r.key, typeof v === 'number' ? v : DEFAULTS[r.key]];
    }),
  ) as Record<RuleKey, number>;
  const positions =
    Array.isArray(sp.feed_positions) && sp.feed_positions.length ? (sp.feed_positions as number[]) : DEFAULTS.feed_positions;
  const d = draft ?? { ...current, positions: positions.join(', ') };
  return (
    <Card withBorder data-testid="feed-config">
      <Stack gap="sm">
        <Title order={3} size="h4">
          Module configuration
        </Title>
        <Text size="sm" c="dimmed">
          Modules come from distinct sources (For you, New from brands you follow, Because you viewed, Price drops on things you watched,
          Trending), in the order of the running <code>newsfeed_module_order</code> experiment's variant, or this default order when none
          runs. Sponsored modules take the positions below; when no campaign is eligible the slot is filled with organic content.
        </Text>
        <Table>
          <Table.Tbody>
            {RULES.map((r) => (
              <Table.Tr key={r.key}>
                <Table.Td>{r.label}</Table.Td>
                <Table.Td>
                  {isAdmin ? (
                    <NumberInput
                      aria-label={r.label}
                      min={r.min}
                      max={r.max}
                      step={r.step}
                      decimalScale={r.step < 1 ? 2 : 0}
                      value={d[r.key]}
                      onChange={(v) => setDraft({ ...d, [r.key]: typeof v === 'number' ? v : current[r.key] })}
                      w={100}
                    />
                  ) : (
                    <Text data-testid={`rule-${r.key}`}>{current[r.key]}</Text>
                  )}
                </Table.Td>
                <Table.Td>{r.unit}</Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr>
              <Table.Td>Sponsored module positions</Table.Td>
              <Table.Td>
                {isAdmin ? (
                  <TextInput
                    aria-label="Sponsored module positions"
                    value={d.positions}
                    onChange={(e) => setDraft({ ...d, positions: e.currentTarget.value })}
                    w={160}
                  />
                ) : (
                  <Text data-testid="sponsored-positions">{positions.join(', ')}</Text>
                )}
              </Table.Td>
              <Table.Td>1-based module positions in the feed</Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
        {isAdmin ? (
          <Group>
            <Button disabled={!draft} loading={save.isPending} onClick={() => draft && save.mutate({ t, d: draft })}>
              Save feed settings
            </Button>
            {save.error && <ErrorState error={save.error} />}
          </Group>
        ) : (
          <Text size="xs" c="dimmed">
            A platform administrator changes these settings.
          </Text>
        )}
      </Stack>
    </Card>
  );
}

function Preview() {
  const { tenantId } = useSession();
  const [typed, setTyped] = useState('');
  const [user, setUser] = useState('');
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const feed = useQuery({
    enabled: user !== '',
    queryKey: ['newsfeed-preview', tenantId, user, cursor],
    queryFn: ({ signal }) => get<Newsfeed>('/api/v1/newsfeed', { user_id: user, cursor, preview: 'true' }, signal),
  });
  const profile = useQuery({
    enabled: user !== '',
    queryKey: ['style-profile', tenantId, user],
    queryFn: ({ signal }) => get<StyleProfile>(`/api/v1/shoppers/${encodeURIComponent(user)}/style-profile`, undefined, signal),
  });
  const f = feed.data;
  return (
    <Stack>
      <Title order={3} size="h4">
        Preview a shopper's feed
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setCursor(undefined);
          setUser(typed.trim());
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Shopper id"
            placeholder="the user_id your storefront sends"
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            w={320}
          />
          <Button type="submit" disabled={!typed.trim()}>
            Show feed
          </Button>
        </Group>
      </form>
      {user === '' ? (
        <EmptyState title="Pick a shopper">Type a shopper id to see the feed they get right now, module by module, and why.</EmptyState>
      ) : feed.isLoading ? (
        <Loading label="Building the feed" />
      ) : feed.error ? (
        <ErrorState error={feed.error} feature="Newsfeed" />
      ) : f && f.modules.length === 0 ? (
        <EmptyState title="Nothing to show">
          {cursor
            ? 'This is past the end of the feed: go back to the first page.'
            : 'The catalog has no active items yet: import products first.'}
        </EmptyState>
      ) : f ? (
        <Stack data-testid="feed-preview">
          <Group>
            <Text size="sm">
              Experiment:{' '}
              {f.experiment.experiment_id ? (
                <Badge>{f.experiment.variant}</Badge>
              ) : (
                <Text span c="dimmed">
                  none running (default order)
                </Text>
              )}{' '}
              · module order {f.experiment.module_order.join(' → ')}
            </Text>
            <Button
              variant="light"
              size="xs"
              onClick={() =>
                downloadCsv(
                  `feed-${user}.csv`,
                  [
                    'position',
                    'module',
                    'module_type',
                    'source',
                    'sponsored',
                    'item_id',
                    'name',
                    'brand',
                    'category',
                    'price',
                    'currency',
                    'best_offer',
                    'best_offer_store',
                  ],
                  f.items.map((i) => {
                    const m = f.modules.find((x) => x.id === i.module_id);
                    return [
                      i.position,
                      m?.title,
                      m?.type,
                      m?.source,
                      i.sponsored,
                      i.item_id,
                      i.name,
                      i.brand,
                      i.category,
                      i.price,
                      i.currency,
                      i.best_offer?.price,
                      i.best_offer?.store,
                    ];
                  }),
                )
              }
            >
              Export CSV
            </Button>
          </Group>
          {profile.data?.profile && (
            <Text size="sm" c="dimmed" data-testid="style-summary">
              Style profile (confidence {(profile.data.profile.confidence * 100).toFixed(0)}%): top styles{' '}
              {top(profile.data.profile.style_layers).join(', ') || 'none yet'}; categories{' '}
              {top(profile.data.profile.category_layers).join(', ') || 'none yet'}
            </Text>
          )}
          {f.modules.map((m) => (
            <Card withBorder key={m.id} data-testid={`module-${m.position}`}>
              <Group justify="space-between">
                <Group gap="xs">
                  <Text fw={600}>
                    {m.position}. {m.title}
                  </Text>
                  {m.label && <Badge color="orange">{m.label}</Badge>}
                </Group>
                <Text size="xs" c="dimmed">
                  {why(m)}
                </Text>
              </Group>
              <SimpleGrid cols={{ base: 2, md: 4 }} mt="xs">
                {m.item_ids.map((id) => {
                  const i = f.items.find((x) => x.item_id === id && x.module_id === m.id);
                  if (!i) return null;
                  return (
                    <Stack key={id} gap={2}>
                      <Text size="sm">{i.name}</Text>
                      <Text size="xs" c="dimmed">
                        {[i.brand, i.category].filter(Boolean).join(' · ')}
                      </Text>
                      <Text size="xs">
                        {i.price ? `${i.price} ${i.currency ?? ''}` : ''}
                        {i.best_offer ? ` · best ${i.best_offer.price} at ${i.best_offer.store ?? 'a store'}` : ''}
                        {i.best_offer?.was_price ? ` (was ${i.best_offer.was_price})` : ''}
                      </Text>
                    </Stack>
                  );
                })}
              </SimpleGrid>
            </Card>
          ))}
          <Group>
            {cursor && (
              <Button variant="default" onClick={() => setCursor(undefined)}>
                First page
              </Button>
            )}
            {f.next_cursor && (
              <Button variant="default" onClick={() => setCursor(f.next_cursor ?? undefined)}>
                Next page
              </Button>
            )}
          </Group>
        </Stack>
      ) : null}
      {profile.error && <Alert color="yellow">The style profile could not be loaded: {(profile.error as Error).message}</Alert>}
    </Stack>
  );
}

const WHY: Record<string, string> = {
  'recs.personal': 'Personal recommendations, boosted by the style profile and stated preferences',
  'catalog.followed_brands': 'Newest items of the brands this shopper follows',
  'recs.similar': 'Similar to what this shopper viewed last',
  'pricing.price_drops': 'Watched items whose best price fell below its 30-day low',
  'recs.popular': 'Popular across the store',
  'catalog.newest': 'Newest in the catalog (fills the feed when other sources run out)',
  sponsored: 'Won the sponsored auction for this position',
};
function why(m: Newsfeed['modules'][number]): string {
  return WHY[m.source] ?? m.source;
}

function top(layer: Record<string, number>): string[] {
  return Object.entries(layer)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k]) => k);
}
