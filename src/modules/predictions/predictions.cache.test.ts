/**
 * The serving cache's rules with a scripted loader and clock: repeated references read once, announcements drop
 * entries (also those reached through another reference), reads racing an uncommitted write are answered but not
 * kept, unknown references are never kept, the bounds hold, tenants are apart, and with `shared` the change marker
 * is read before serving once it is older than a second.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVITY_MAX_AGE_MS, type CachedProfile, createPredictionsCache, type ProfileRef, SETTLE_MS } from './predictions.cache.ts';

const orders = (n: number) => ({ day: Float64Array.from({ length: n }, (_, i) => i), amount: new Float64Array(n).fill(100) });

function setup(opts: { shared?: boolean; maxProfiles?: number; maxTenants?: number } = {}) {
  let clock = 1_000_000;
  /** What the "database" holds: tenant -> reference key -> profile. */
  const db = new Map<string, Map<string, CachedProfile>>();
  const loads: string[] = [];
  const markerReads: { tenantId: string; since: number }[] = [];
  let changed: string[] = [];
  let gate: Promise<void> | null = null;
  const key = (ref: ProfileRef) => ('profileId' in ref ? ref.profileId : `${ref.identifier.type}:${ref.identifier.value}`);
  const cache = createPredictionsCache({
    shared: opts.shared ?? false,
    maxProfiles: opts.maxProfiles ?? 100,
    maxTenants: opts.maxTenants ?? 10,
    log: { warn: () => {} },
    now: () => clock,
    async load(tenantId, ref) {
      loads.push(`${tenantId}/${key(ref)}`);
      const snapshot = db.get(tenantId)?.get(key(ref)) ?? null;
      if (gate) await gate;
      return snapshot;
    },
    async changedSince(tenantId, since) {
      markerReads.push({ tenantId, since: since.getTime() });
      return changed;
    },
  });
  return {
    cache,
    loads,
    markerReads,
    put(tenantId: string, k: string, p: CachedProfile) {
      if (!db.has(tenantId)) db.set(tenantId, new Map());
      db.get(tenantId)!.set(k, p);
    },
    tick: (ms: number) => {
      clock += ms;
    },
    setChanged: (ids: string[]) => {
      changed = ids;
    },
    hold() {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = null;
        release();
      };
    },
  };
}

const byId = (profileId: string): ProfileRef => ({ profileId });
const byEmail = (value: string): ProfileRef => ({ identifier: { type: 'email', value } });

describe('predictions serving cache', () => {
  it('reads a reference once, then serves it from memory; concurrent first requests share one read', async () => {
    const s = setup();
    s.put('A', 'p1', { profileId: 'p1', orders: orders(2), currency: 'USD' });
    const [a, b] = await Promise.all([s.cache.get('A', byId('p1')), s.cache.get('A', byId('p1'))]);
    expect(a?.orders.day.length).toBe(2);
    expect(b).toBe(a);
    await s.cache.get('A', byId('p1'));
    expect(s.loads).toEqual(['A/p1']);
    expect(s.cache.stats().hits).toBeGreaterThanOrEqual(1);
  });

  it('reads an entry again once it is older than the activity age (sessions are not announced), also without markers', async () => {
    const s = setup();
    s.put('A', 'p1', { profileId: 'p1', orders: orders(2), currency: 'USD' });
    await s.cache.get('A', byId('p1'));
    s.tick(ACTIVITY_MAX_AGE_MS - 1);
    await s.cache.get('A', byId('p1'));
    expect(s.loads).toEqual(['A/p1']);
    s.tick(2);
    await s.cache.get('A', byId('p1'));
    expect(s.loads).toEqual(['A/p1', 'A/p1']);
    expect(s.markerReads).toEqual([]);
  });

  it('drops every reference leading to a changed profile; reads again once the write settled', async () => {
    const s = setup();
    s.put('A', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    s.put('A', 'email:ann@x.test', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    await s.cache.get('A', byId('p1'));
    await s.cache.get('A', byEmail('ann@x.test'));
    expect(s.cache.size('A')).toBe(2);
    s.cache.profilesChanged('A', ['p1']);
    expect(s.cache.size('A')).toBe(0);
    s.put('A', 'p1', { profileId: 'p1', orders: orders(3), currency: 'USD' });
    // right after the announcement the write may not have committed: answered, not kept
    expect((await s.cache.get('A', byId('p1')))?.orders.day.length).toBe(3);
    expect(s.cache.size('A')).toBe(0);
    s.tick(SETTLE_MS + 1);
    await s.cache.get('A', byId('p1'));
    await s.cache.get('A', byId('p1'));
    expect(s.cache.size('A')).toBe(1);
    expect(s.loads.filter((l) => l === 'A/p1')).toHaveLength(3);
  });

  it('a read in flight when a change is announced is answered but not kept, and later requests do not join it', async () => {
    const s = setup();
    s.put('A', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    const release = s.hold();
    const stale = s.cache.get('A', byId('p1'));
    await new Promise((r) => setImmediate(r)); // the read took its snapshot and waits
    expect(s.loads).toEqual(['A/p1']);
    s.tick(SETTLE_MS * 3);
    s.cache.profilesChanged('A', ['p1']);
    s.put('A', 'p1', { profileId: 'p1', orders: orders(5), currency: 'USD' });
    const after = s.cache.get('A', byId('p1'));
    release();
    expect((await stale)?.orders.day.length).toBe(1);
    expect((await after)?.orders.day.length).toBe(5);
    expect(s.cache.size('A')).toBe(0);
  });

  it('never keeps unknown references: an identifier created later is found at once', async () => {
    const s = setup();
    expect(await s.cache.get('A', byEmail('new@x.test'))).toBeNull();
    s.put('A', 'email:new@x.test', { profileId: 'p9', orders: orders(0), currency: null });
    expect((await s.cache.get('A', byEmail('new@x.test')))?.profileId).toBe('p9');
  });

  it('keeps tenants apart: the same reference in another tenant is its own read, and its changes touch only it', async () => {
    const s = setup();
    s.put('A', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    await s.cache.get('A', byId('p1'));
    expect(await s.cache.get('B', byId('p1'))).toBeNull();
    s.cache.profilesChanged('B', ['p1']);
    expect(s.cache.size('A')).toBe(1);
  });

  it('is bounded per tenant and in tenants, least recently used first; 0 turns it off', async () => {
    const s = setup({ maxProfiles: 3, maxTenants: 2 });
    for (let i = 0; i < 5; i++) {
      s.put('A', `p${i}`, { profileId: `p${i}`, orders: orders(1), currency: 'USD' });
      await s.cache.get('A', byId(`p${i}`));
    }
    expect(s.cache.size('A')).toBe(3);
    s.put('B', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    s.put('C', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    await s.cache.get('B', byId('p1'));
    await s.cache.get('C', byId('p1'));
    expect(s.cache.size('A')).toBe(0); // the least recently served tenant went first
    expect(s.cache.size('B') + s.cache.size('C')).toBe(2);

    const off = setup({ maxProfiles: 0 });
    off.put('A', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    await off.cache.get('A', byId('p1'));
    await off.cache.get('A', byId('p1'));
    expect(off.loads).toHaveLength(2);
  });

  it('shared: reads the change marker before serving once it is older than a second, overlapping the last look', async () => {
    const s = setup({ shared: true });
    s.put('A', 'p1', { profileId: 'p1', orders: orders(1), currency: 'USD' });
    await s.cache.get('A', byId('p1'));
    await s.cache.get('A', byId('p1'));
    expect(s.markerReads).toHaveLength(0); // fresh tenant cache: nothing to look at yet
    // another process wrote p1's orders
    s.put('A', 'p1', { profileId: 'p1', orders: orders(4), currency: 'USD' });
    s.setChanged(['p1']);
    s.tick(1001);
    expect((await s.cache.get('A', byId('p1')))?.orders.day.length).toBe(4);
    expect(s.markerReads).toHaveLength(1);
    expect(s.markerReads[0]!.since).toBeLessThan(1_000_000 - 4000); // the overlap reaches back before the last look
    // without a marker hit, entries stay
    s.setChanged([]);
    s.tick(SETTLE_MS + 1001);
    await s.cache.get('A', byId('p1'));
    expect(s.cache.size('A')).toBe(1);
    const reads = s.loads.length;
    s.tick(1001);
    await s.cache.get('A', byId('p1'));
    expect(s.loads.length).toBe(reads);
  });
});
