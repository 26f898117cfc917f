import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Db, TenantContext } from '../../platform/index.ts';
import type { FeedItem } from './newsfeed.core.ts';
import type { BestOffer, SponsoredSource } from './newsfeed.ports.ts';
import type { PreferencesRepository } from './preferences.repository.ts';
import { createNewsfeedService } from './newsfeed.service.ts';
import { createShownLog } from './shown.log.ts';

/**
 * The feed's per-tenant caches (promoted items, price enrichment) and its lazy segment lookup, against counting
 * fakes of its ports: what a page reads, not how the database answers (the int tests cover that).
 */
const ctx = (tenantId: string) => ({ tenantId }) as unknown as TenantContext;
const item = (tenant: string, n: number): FeedItem => ({
  itemId: `${tenant}-i${n}`,
  name: `Item ${n}`,
  category: `c${n % 7}`,
  brand: `b${n % 11}`,
  priceMinor: '1000',
  currency: 'USD',
  imageUrl: null,
  score: 1,
});

function harness(
  opts: {
    ttlMs?: number;
    targetsSegments?: boolean;
    ready?: () => boolean;
    now?: () => Date;
    /** The tenant's settings (default `{}`). */
    settings?: Record<string, unknown>;
    /** Which catalog items "For you" ranks, best first (default 100..159; Trending is 0..59). */
    forYou?: [number, number];
  } = {},
) {
  const calls = { offers: [] as string[][], items: [] as string[][], segments: 0, forYou: 0, recs: 0 };
  const catalog = (t: string) => Array.from({ length: 200 }, (_, n) => item(t, n));
  const sponsored: SponsoredSource = {
    settings: async () => ({ feedPositions: [3, 8] }),
    async placements(c, req) {
      // as sponsored's decide does: the segments are read only when a campaign targets them
      if (opts.targetsSegments) await req.segmentsOf?.(['vip']);
      return [
        {
          decisionId: `d-${Math.random()}`,
          campaignId: `camp-${c.tenantId}`,
          brandId: 'b1',
          name: 'Campaign',
          creative: { headline: 'Sponsored' },
          promotedItemIds: [`${c.tenantId}-i1`, `${c.tenantId}-i2`],
        },
      ];
    },
  };
  const repo = {
    shopperState: async () => ({ follows: [], favorites: [], preferences: null, profile: undefined, shown: [], recent: [] }),
  } as unknown as PreferencesRepository;
  const service = createNewsfeedService({
    db: {} as Db,
    repo,
    history: { recentInteractionsSql: () => sql`SELECT NULL` },
    sources: {
      forYou: async (c) => {
        calls.forYou++;
        calls.recs++;
        return catalog(c.tenantId).slice(...(opts.forYou ?? [100, 160]));
      },
      trending: async (c) => {
        calls.recs++;
        return catalog(c.tenantId).slice(0, 60);
      },
      similarTo: async () => {
        calls.recs++;
        return [];
      },
      ...(opts.ready ? { ready: opts.ready } : {}),
      newest: async (t, f) => catalog(t).slice(0, f.limit),
      items: async (t, ids) => {
        calls.items.push([...ids]);
        return catalog(t).filter((i) => ids.includes(i.itemId));
      },
    },
    offers: {
      async bestOffers(t, ids) {
        calls.offers.push([...ids]);
        // every third item is sold by a store of this tenant
        return new Map(
          ids
            .filter((id) => Number(id.split('-i')[1]) % 3 === 0)
            .map((id): [string, BestOffer] => [id, { priceMinor: '900', currency: 'USD', store: `${t} store`, url: null, wasMinor: null }]),
        );
      },
      priceDrops: async () => [],
    },
    moduleOrder: { moduleOrder: async (_c, _u, order) => ({ experimentId: null, variant: 'default', order: [...order] }) },
    segments: {
      async segmentsOf() {
        calls.segments++;
        return ['vip'];
      },
    },
    sponsored,
    tenantSettings: async () => opts.settings ?? {},
    clock: opts.now ?? (() => new Date('2026-03-01T12:00:00Z')),
    shown: createShownLog({ write: async () => {}, log: { error: () => {} }, flushMs: 1 }),
    ...(opts.ttlMs !== undefined ? { sharedListsTtlMs: opts.ttlMs } : {}),
  });
  return { service, calls };
}

describe('newsfeed service caches', () => {
  it('enriches a page with the best offers of only the items not enriched yet, and keeps tenants apart', async () => {
    const { service, calls } = harness();
    const a1 = await service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(calls.offers).toHaveLength(1);
    const ids = [...new Set(a1.modules.flatMap((m) => m.items.map((i) => i.itemId)))];
    expect(new Set(calls.offers[0])).toEqual(new Set(ids));
    // offers found, and none invented for items no store sells
    for (const id of ids) expect(a1.offers.has(id)).toBe(Number(id.split('-i')[1]) % 3 === 0);
    // another shopper of the tenant: the same shared lists, nothing left to enrich
    const a2 = await service.feed(ctx('ta'), 'shopper-2', undefined);
    expect(calls.offers).toHaveLength(1);
    expect([...a2.offers.keys()].sort()).toEqual([...a1.offers.keys()].filter((id) => a2.offers.has(id)).sort());
    for (const [id, o] of a2.offers) {
      expect(o.store).toBe('ta store');
      expect(id.startsWith('ta-')).toBe(true);
    }
    // another tenant reads its own, and never sees tenant A's offers
    const b = await service.feed(ctx('tb'), 'shopper-1', undefined);
    expect(calls.offers).toHaveLength(2);
    for (const [id, o] of b.offers) {
      expect(id.startsWith('tb-')).toBe(true);
      expect(o.store).toBe('tb store');
    }
    // a later page has items not enriched yet: only those are read
    const next = await service.feed(ctx('ta'), 'shopper-1', a1.nextCursor!);
    const nextIds = new Set(next.modules.flatMap((m) => m.items.map((i) => i.itemId)));
    expect(calls.offers).toHaveLength(3);
    for (const id of calls.offers[2]!) expect(ids).not.toContain(id);
    for (const id of calls.offers[2]!) expect(nextIds.has(id)).toBe(true);
  });

  it('reads the promoted items of a winning campaign once per tenant, also for concurrent first pages', async () => {
    const { service, calls } = harness();
    const pages = await Promise.all(Array.from({ length: 20 }, (_, k) => service.feed(ctx('ta'), `s-${k}`, undefined)));
    expect(calls.items).toEqual([['ta-i1', 'ta-i2']]);
    for (const p of pages) expect(p.modules.find((m) => m.sponsored)?.items.map((i) => i.itemId)).toEqual(['ta-i1', 'ta-i2']);
    const b = await service.feed(ctx('tb'), 's-0', undefined);
    expect(calls.items).toEqual([
      ['ta-i1', 'ta-i2'],
      ['tb-i1', 'tb-i2'],
    ]);
    expect(b.modules.find((m) => m.sponsored)?.items.map((i) => i.itemId)).toEqual(['tb-i1', 'tb-i2']);
  });

  it('with the shared interval off (0), reads offers and promoted items on every page', async () => {
    const { service, calls } = harness({ ttlMs: 0 });
    await service.feed(ctx('ta'), 'shopper-1', undefined);
    await service.feed(ctx('ta'), 'shopper-2', undefined);
    expect(calls.offers).toHaveLength(2);
    expect(calls.items).toHaveLength(2);
  });

  it("reads the shopper's segments only when the sponsored decision asks for them, at most once per page", async () => {
    const off = harness();
    await off.service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(off.calls.segments).toBe(0);
    const on = harness({ targetsSegments: true });
    // page 1 has sponsored position 8 only; a fresh cursor replays page 0's slot 3 without a decision
    const first = await on.service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(on.calls.segments).toBe(1);
    await on.service.feed(ctx('ta'), 'shopper-1', first.nextCursor!);
    expect(on.calls.segments).toBe(2);
  });

  it('while recs loads the catalog, serves the first page from the catalog alone, and the session stays on it', async () => {
    let ready = false;
    const { service, calls } = harness({ ready: () => ready });
    const first = await service.feed(ctx('ta'), 'shopper-1', undefined);
    // nothing waited on recs (its rankings would wait for the whole catalog): the catalog's newest fill the page
    expect(calls.recs).toBe(0);
    const firstIds = first.modules.flatMap((m) => m.items.map((i) => i.itemId));
    expect(firstIds.length).toBeGreaterThan(10);
    expect(first.modules.filter((m) => !m.sponsored).every((m) => m.type === 'fresh')).toBe(true);
    // recs is ready now, but this scroll session was laid out without it: its next page continues that layout
    ready = true;
    const second = await service.feed(ctx('ta'), 'shopper-1', first.nextCursor!);
    expect(calls.recs).toBe(0);
    const organic = (f: typeof first) => f.modules.filter((m) => !m.sponsored).flatMap((m) => m.items.map((i) => i.itemId));
    for (const id of organic(second)) expect(organic(first)).not.toContain(id);
    // a new session ranks with recs
    const fresh = await service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(calls.recs).toBeGreaterThan(0);
    expect(fresh.modules.some((m) => m.type === 'for_you')).toBe(true);
  });

  it('popularity damping (a tenant rule): "For you" gives the slots of what Trending shows everyone to its next candidates', async () => {
    // "For you" ranks items 40..99 (equal scores); 40..59 are also in Trending (0..59), the most popular first
    const forYouOf = async (settings: Record<string, unknown>) => {
      const { service } = harness({ settings, forYou: [40, 100] });
      const page = await service.feed(ctx('ta'), 'shopper-1', undefined);
      return page.modules.find((m) => m.type === 'for_you')!.items.map((i) => i.itemId);
    };
    expect(await forYouOf({})).toEqual(['ta-i40', 'ta-i41', 'ta-i42', 'ta-i43']);
    expect(await forYouOf({ newsfeed: { rules: { popularity_damping: 0 } } })).toEqual(['ta-i40', 'ta-i41', 'ta-i42', 'ta-i43']);
    // damped, the trending ones score below the rest: the module takes 60.. in their order
    expect(await forYouOf({ newsfeed: { rules: { popularity_damping: 0.3 } } })).toEqual(['ta-i60', 'ta-i61', 'ta-i62', 'ta-i63']);
    // out of range or not a number: the default (off)
    for (const v of [1.5, -0.1, '0.5'])
      expect(await forYouOf({ newsfeed: { rules: { popularity_damping: v } } })).toEqual(['ta-i40', 'ta-i41', 'ta-i42', 'ta-i43']);
  });

  it('ranks "For you" once per scroll session: its later pages reuse it, a new session ranks again', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const { service, calls } = harness({ now: () => new Date(now) });
    const first = await service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(calls.forYou).toBe(1);
    now += 1000;
    const second = await service.feed(ctx('ta'), 'shopper-1', first.nextCursor!);
    await service.feed(ctx('ta'), 'shopper-1', second.nextCursor!);
    expect(calls.forYou).toBe(1);
    // another shopper, and the same shopper's next session, are ranked on their own
    await service.feed(ctx('ta'), 'shopper-2', undefined);
    expect(calls.forYou).toBe(2);
    now += 1000;
    await service.feed(ctx('ta'), 'shopper-1', undefined);
    expect(calls.forYou).toBe(3);
    // another tenant's shopper of the same id and session start is another ranking
    await service.feed(ctx('tb'), 'shopper-1', undefined);
    expect(calls.forYou).toBe(4);
  });

  it("after a price change of the tenant, the next page reads its lists and best offers afresh; other tenants' stay", async () => {
    const { service, calls } = harness();
    const a = await service.feed(ctx('ta'), 'shopper-1', undefined);
    await service.feed(ctx('tb'), 'shopper-1', undefined);
    const ids = new Set(a.modules.flatMap((m) => m.items.map((i) => i.itemId)));
    expect(calls.offers).toHaveLength(2);
    const recsBefore = calls.recs;
    service.pricesChanged('ta');
    await service.feed(ctx('ta'), 'shopper-2', undefined);
    // every item of the page enriched again, and the shared lists (trending) read again
    expect(calls.offers).toHaveLength(3);
    for (const id of ids)
      if (!a.modules.find((m) => m.sponsored)?.items.some((i) => i.itemId === id)) expect(calls.offers[2]).toContain(id);
    expect(calls.recs).toBeGreaterThan(recsBefore + 1);
    // tenant B was not changed: its next page finds everything cached
    await service.feed(ctx('tb'), 'shopper-2', undefined);
    expect(calls.offers).toHaveLength(3);
  });
});
