/**
 * The product page cache alone (fake looks): its byte bound holds, once full a page read once is not kept, a look's
 * changed groups are dropped, a read that a look with drops overlapped is not kept, a bulk change starts the tenant over,
 * tenants' pages are apart.
 */
import { describe, expect, it } from 'vitest';
import { createProductPageCache } from './products.cache.ts';

function setup(maxBytes: number, lookMs = 0) {
  let clock = 0;
  const changed = new Map<string, string[]>();
  let looks = 0;
  const cache = createProductPageCache<{ v: string }>({
    changedGroups: async (tenantId) => {
      looks++;
      clock += lookMs;
      const ids = changed.get(tenantId) ?? [];
      changed.delete(tenantId);
      return { snapshot: `${looks}:${looks}:`, groupIds: ids };
    },
    sourcesOf: async () => [],
    maxBytes,
    now: () => clock,
  });
  const get = async (tenant: string, group: string, v = `${tenant}/${group}`, bytes = 1000) =>
    (await cache.page(tenant, group, async () => ({ value: { v }, keep: true, bytes })))!;
  return { cache, get, changed, tick: (ms: number) => (clock += ms), looks: () => looks };
}

describe('product page cache', () => {
  it('holds its byte bound: once full, a page read twice evicts the least recently served', async () => {
    const { cache, get } = setup(10_000);
    for (let i = 0; i < 50; i++) await get('t', `g${i}`); // g0..g9 fill the bound; the rest are read once
    expect(cache.stats().bytes).toBeLessThanOrEqual(10_000);
    expect(cache.stats().pages).toBe(10);
    expect((await get('t', 'g9')).hit).toBe(true);
    expect((await get('t', 'g49')).hit).toBe(false); // its second read: kept, g0 (least recently served) goes
    expect((await get('t', 'g49')).hit).toBe(true);
    expect(cache.stats()).toMatchObject({ pages: 10, bytes: 10_000 });
    expect((await get('t', 'g0')).hit).toBe(false);
    expect((await get('t', 'g1')).hit).toBe(true);
    // a page larger than the bound is answered, never kept
    expect((await get('t', 'big', 'x', 20_000)).value.v).toBe('x');
    expect((await get('t', 'big', 'y', 20_000)).value.v).toBe('y');
  });

  it('once full, a page read once is not kept: a scan over more pages than the bound holds keeps hitting the first', async () => {
    const { cache, get } = setup(10_000);
    for (let round = 0; round < 3; round++) for (let i = 0; i < 100; i++) await get('t', `g${i}`);
    // each round reads 100 pages; the doorkeeper (64 keys at this bound) forgets a page before its next read
    expect(cache.stats()).toMatchObject({ pages: 10, hits: 20, misses: 280 });
    expect((await get('t', 'g0')).hit).toBe(true);
    // kept at its second read (the least recently served goes), served at its third
    expect((await get('t', 'g50')).hit).toBe(false);
    expect((await get('t', 'g50')).hit).toBe(false);
    expect((await get('t', 'g50')).hit).toBe(true);
    expect(cache.stats().pages).toBe(10);
  });

  it('looks at most every 250 ms and drops the changed groups; tenants never share a page', async () => {
    const { get, changed, tick, looks } = setup(1 << 20);
    await get('a', 'g');
    await get('b', 'g');
    expect((await get('a', 'g')).value.v).toBe('a/g');
    expect((await get('b', 'g')).value.v).toBe('b/g');
    const n = looks();
    changed.set('a', ['g']);
    tick(100);
    expect((await get('a', 'g', 'new')).value.v).toBe('a/g'); // within the bound: kept
    expect(looks()).toBe(n);
    tick(200);
    expect((await get('a', 'g', 'new')).value.v).toBe('new'); // looked, dropped, read
    expect((await get('b', 'g', 'other')).value.v).toBe('b/g');
  });

  it('a read overlapped by a look with drops (or an announcement) is answered but not kept', async () => {
    const { cache, changed, tick } = setup(1 << 20);
    await cache.page('a', 'x', async () => ({ value: { v: 'x' }, keep: true, bytes: 10 }));
    let release!: () => void;
    const slow = cache.page('a', 'g', async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      return { value: { v: 'old' }, keep: true, bytes: 10 };
    });
    await new Promise((r) => setImmediate(r));
    changed.set('a', ['g']);
    tick(300);
    await cache.page('a', 'x', async () => ({ value: { v: 'x' }, keep: true, bytes: 10 })); // the look drops g
    release();
    expect((await slow)!.value.v).toBe('old');
    expect((await cache.page('a', 'g', async () => ({ value: { v: 'new' }, keep: true, bytes: 10 })))!.value.v).toBe('new');
    let release2!: () => void;
    const slow2 = cache.page('a', 'h', async () => {
      await new Promise<void>((r) => {
        release2 = r;
      });
      return { value: { v: 'h1' }, keep: true, bytes: 10 };
    });
    await new Promise((r) => setImmediate(r));
    cache.changed('a'); // a commit in this process while the read runs
    release2();
    expect((await slow2)!.value.v).toBe('h1');
    expect((await cache.page('a', 'h', async () => ({ value: { v: 'h2' }, keep: true, bytes: 10 })))!.value.v).toBe('h2');
  });

  it('a request waits for one look, even one slower than the bound (a loaded database)', async () => {
    const { get, looks } = setup(1 << 20, 400);
    await get('a', 'g');
    expect(looks()).toBe(1);
    expect((await get('a', 'g')).hit).toBe(true);
    expect(looks()).toBe(2);
  });

  it('a bulk change (more than 2,000 groups in one look) drops the tenant’s pages', async () => {
    const { get, changed, tick } = setup(1 << 20);
    await get('a', 'g');
    await get('b', 'g');
    changed.set(
      'a',
      Array.from({ length: 2001 }, (_, i) => `x${i}`),
    );
    tick(300);
    expect((await get('a', 'g', 'new')).value.v).toBe('new');
    expect((await get('b', 'g', 'new')).value.v).toBe('b/g');
  });
});
