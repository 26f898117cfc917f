import { describe, expect, it } from 'vitest';
import type { ServingItemRow } from './catalog.snapshot.ts';
import { createServingCache, type ServingCacheDeps } from './history.cache.ts';

const row = (itemId: string): ServingItemRow => ({
  itemId,
  name: `Item ${itemId}`,
  categoryPath: 'Books',
  brand: null,
  priceMinor: '100',
  currency: 'USD',
  imageUrl: null,
  availability: 'in_stock',
  stock: null,
  isActive: true,
  updatedAt: new Date('2026-11-01T00:00:00Z'),
});

type HistoryRow = { userId: string; itemId: string; type: string; id: string };

function fakeRepo(items: ServingItemRow[], histories: HistoryRow[] = [], gate?: Promise<void>, marker = { deleted: '0', updatedAt: 0 }) {
  const calls = { servingItems: 0, pages: [] as string[], markers: 0 };
  const repo: ServingCacheDeps['repo'] = {
    // as catalog's read does: a page is the next `limit` items after `after` in item-id order
    servingItems: async (_t: string, only: { page?: { after: string; limit: number } } = {}) => {
      calls.servingItems++;
      await gate;
      if (!only.page) return items;
      calls.pages.push(only.page.after);
      const { after, limit } = only.page;
      return [...items]
        .sort((a, b) => (a.itemId < b.itemId ? -1 : 1))
        .filter((r) => r.itemId > after)
        .slice(0, limit);
    },
    catalogMarker: async () => {
      calls.markers++;
      return { ...marker };
    },
    userHistories: async (_t: string, users: readonly string[]) => histories.filter((h) => users.includes(h.userId)),
    recentUsers: async () => [],
    usersWithInteractionsSince: async () => [],
  } as unknown as ServingCacheDeps['repo'];
  return { repo, calls };
}

const log = { warn: () => undefined };

describe('serving cache', () => {
  it('builds a large catalog a chunk per turn of the event loop, so requests are not held behind it', async () => {
    const items = Array.from({ length: 9000 }, (_, k) => row(`i${k}`));
    const cache = createServingCache({ repo: fakeRepo(items).repo, shared: false, log, historyLength: 10, warmUsers: 0 });
    let turns = 0;
    const tick = () => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const s = await cache.catalog('t1');
    // in one synchronous build, no turn of the loop would have passed before the snapshot was ready
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(s.ids.length).toBe(9000);
    expect(s.ids[s.index.get('i8999')!]).toBe('i8999');
    expect(s.present).toBe(9000);
    expect(s.revision).toBe(1);
  });

  it('a reload after an unknown change is a new revision with every item, and serves the old snapshot meanwhile', async () => {
    const items = Array.from({ length: 4500 }, (_, k) => row(`i${k}`));
    const { repo, calls } = fakeRepo(items);
    const cache = createServingCache({ repo, shared: false, log, historyLength: 10, warmUsers: 0 });
    const first = await cache.catalog('t1');
    items.push(row('new'));
    cache.itemsChanged('t1', null);
    const second = await cache.catalog('t1');
    // two full reads (a page each time from the start), nothing else
    expect(calls.pages.filter((after) => after === '')).toHaveLength(2);
    expect(calls.servingItems).toBe(calls.pages.length);
    expect(second).not.toBe(first);
    expect(second.revision).toBe(first.revision + 1);
    expect(second.ids.length).toBe(4501);
    expect(first.ids.length).toBe(4500);
  });

  it('keeps histories newest first with their types, items unknown to the catalog as read, and tenants apart', async () => {
    const histories: HistoryRow[] = [
      { userId: 'u1', itemId: 'i2', type: 'purchase', id: '0002' },
      { userId: 'u1', itemId: 'gone', type: 'custom_type', id: '0001' },
      { userId: 'u2', itemId: 'i1', type: 'view', id: '0003' },
    ];
    const cache = createServingCache({
      repo: fakeRepo([row('i1'), row('i2')], histories).repo,
      shared: false,
      log,
      historyLength: 10,
      warmUsers: 0,
    });
    const h = await cache.history('t1', 'u1');
    expect(h.itemIds).toEqual(['i2', 'gone']);
    expect(h.types).toEqual(['purchase', 'custom_type']);
    expect(h.newestId).toBe('0002');
    expect((await cache.history('t1', 'nobody')).itemIds).toEqual([]);
    const other = createServingCache({ repo: fakeRepo([row('i1')], []).repo, shared: false, log, historyLength: 10, warmUsers: 0 });
    expect((await other.history('t2', 'u1')).itemIds).toEqual([]);
  });

  it('reads a full catalog in keyset pages, one statement per page, so other reads interleave', async () => {
    const items = Array.from({ length: 12_001 }, (_, k) => row(`i${String(k).padStart(5, '0')}`));
    const { repo, calls } = fakeRepo(items);
    const cache = createServingCache({ repo, shared: true, log, historyLength: 10, warmUsers: 0 });
    const s = await cache.catalog('t1');
    // PostgreSQL: 5,000 per page, three pages, each after the last id of the one before
    expect(calls.pages).toEqual(['', 'i04999', 'i09999']);
    expect(s.ids.length).toBe(12_001);
    expect(s.present).toBe(12_001);
  });

  it('on PGlite reads the catalog in pages of 500 (a statement there holds the serving thread), with a turn of the loop between them', async () => {
    const items = Array.from({ length: 1201 }, (_, k) => row(`i${String(k).padStart(5, '0')}`));
    const { repo, calls } = fakeRepo(items);
    const served = repo.servingItems;
    // each page queues a callback for the next turn of the loop (as a request would be): it runs before the next page
    let ran = 0;
    const seen: number[] = [];
    repo.servingItems = (async (...args: Parameters<typeof served>) => {
      seen.push(ran);
      setImmediate(() => ran++);
      return served(...args);
    }) as typeof served;
    const cache = createServingCache({ repo, shared: false, log, historyLength: 10, warmUsers: 0 });
    const s = await cache.catalog('t1');
    expect(calls.pages).toEqual(['', 'i00499', 'i00999']);
    expect(seen).toEqual([0, 1, 2]);
    expect(s.ids.length).toBe(1201);
  });

  it('on PGlite reads histories ahead in pages of about 500 rows, every recent user once', async () => {
    const users = Array.from({ length: 40 }, (_, k) => `u${k}`);
    // 100 interactions each: after a first page of 10 users, pages of 5
    const histories = users.flatMap((userId) =>
      Array.from({ length: 100 }, (_, n) => ({
        userId,
        itemId: `i${n}`,
        type: 'view',
        id: `0000-${userId}-${String(n).padStart(3, '0')}`,
      })),
    );
    const { repo } = fakeRepo([row('i1')], histories);
    const pages: string[][] = [];
    const read = repo.userHistories;
    repo.userHistories = (async (t: string, ids: readonly string[], limit: number) => {
      pages.push([...ids]);
      return read(t, ids, limit);
    }) as typeof read;
    repo.recentUsers = (async () => users) as typeof repo.recentUsers;
    const cache = createServingCache({ repo, shared: false, log, historyLength: 200 });
    await cache.history('t1', 'someone');
    for (let k = 0; k < 200 && pages.flat().filter((u) => u !== 'someone').length < users.length; k++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30)); // the last page is kept after its pause
    const warmed = pages.filter((p) => !p.includes('someone'));
    expect(warmed.map((p) => p.length)).toEqual([10, 5, 5, 5, 5, 5, 5]);
    expect(warmed.flat()).toEqual(users);
    expect((await cache.history('t1', 'u39')).itemIds).toHaveLength(100);
    expect(pages.filter((p) => p.includes('u39'))).toHaveLength(1);
  });

  it("a user's history does not wait for the tenant's first catalog load, which starts beside it", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const histories: HistoryRow[] = [{ userId: 'u1', itemId: 'i1', type: 'view', id: '0001' }];
    const { repo, calls } = fakeRepo([row('i1'), row('i2')], histories, gate);
    const cache = createServingCache({ repo, shared: false, log, historyLength: 10, warmUsers: 0 });
    expect(cache.catalogReady('t1')).toBe(false);
    // the catalog read is held: the history answers anyway
    const h = await cache.history('t1', 'u1');
    expect(h.itemIds).toEqual(['i1']);
    expect(cache.catalogReady('t1')).toBe(false);
    expect(calls.servingItems).toBe(1); // one load in flight, not one per caller
    open();
    const s = await cache.catalog('t1');
    expect(s.ids.length).toBe(2);
    expect(cache.catalogReady('t1')).toBe(true);
    expect(calls.servingItems).toBe(1);
  });

  it('shared: reads the change markers, not the catalog, while nothing moved; a deletion elsewhere reloads it', async () => {
    const items = Array.from({ length: 30 }, (_, k) => row(`i${String(k).padStart(2, '0')}`));
    const marker = { deleted: '0', updatedAt: new Date('2026-11-01T00:00:00Z').getTime() };
    const { repo, calls } = fakeRepo(items, [], undefined, marker);
    let clock = 1_000_000;
    const cache = createServingCache({ repo, shared: true, log, historyLength: 10, warmUsers: 0, now: () => clock });
    const first = await cache.catalog('t1');
    expect(calls.servingItems).toBe(1);
    // past the marker's maximum age, three times over: three marker reads, no catalog read
    for (let i = 0; i < 3; i++) {
      clock += 1500;
      expect(await cache.catalog('t1')).toBe(first);
    }
    expect(calls.servingItems).toBe(1);
    expect(calls.markers).toBeGreaterThanOrEqual(3);
    expect(first.revision).toBe(1);
    // another process deletes an item: its count of deletions moves, the next check reloads without it
    items.splice(5, 1);
    marker.deleted = '1';
    clock += 1500;
    const after = await cache.catalog('t1');
    expect(calls.servingItems).toBe(2);
    expect(after.present).toBe(29);
    expect(after.index.has('i05')).toBe(false);
    expect(after.revision).toBe(2);
    // and once reloaded, the same count is no reason to reload again
    clock += 1500;
    await cache.catalog('t1');
    expect(calls.servingItems).toBe(2);
  });
});
