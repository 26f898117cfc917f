import { describe, expect, it } from 'vitest';
import { createCohortMembershipCache } from './cohorts.cache.ts';

/** The membership cache's bookkeeping on a hand-moved clock: TTL, noted changes, the settle window, tenants apart. */
function setup() {
  let t = 1_000;
  const cache = createCohortMembershipCache<{ name: string }>({ now: () => t, ttlMs: 10_000, settleMs: 2_000 });
  return { cache, at: () => t, advance: (ms: number) => (t += ms) };
}

describe('cohort membership cache', () => {
  it('answers a kept membership until the TTL, then asks for a read', () => {
    const { cache, at, advance } = setup();
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    cache.keepMember('A', 'c1', 'p1', true, at());
    cache.keepMember('A', 'c1', 'p2', false, at());
    expect(cache.member('A', 'c1', 'p1')).toBe(true);
    expect(cache.member('A', 'c1', 'p2')).toBe(false);
    advance(9_999);
    expect(cache.member('A', 'c1', 'p1')).toBe(true);
    advance(1);
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 3, misses: 2 });
  });

  it('keeps answers per tenant: the same cohort and profile ids of another tenant are not answered', () => {
    const { cache, at } = setup();
    cache.keepMember('A', 'c1', 'p1', true, at());
    cache.keepDefinition('A', 'c1', { name: 'gold' }, at());
    expect(cache.member('B', 'c1', 'p1')).toBeUndefined();
    expect(cache.definition('B', 'c1')).toBeUndefined();
    cache.tenantChanged('B');
    expect(cache.member('A', 'c1', 'p1')).toBe(true);
  });

  it('a saved cohort drops its definition and answers at once, not those of other cohorts', () => {
    const { cache, at, advance } = setup();
    cache.keepDefinition('A', 'c1', { name: 'gold' }, at());
    cache.keepMember('A', 'c1', 'p1', true, at());
    cache.keepMember('A', 'c2', 'p1', true, at());
    advance(5);
    cache.cohortChanged('A', 'c1');
    expect(cache.definition('A', 'c1')).toBeUndefined();
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    expect(cache.member('A', 'c2', 'p1')).toBe(true);
    // a read that started before the save and ends after it is answered, not kept; one started after is kept
    cache.keepMember('A', 'c1', 'p1', true, at() - 1);
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    advance(1);
    cache.keepMember('A', 'c1', 'p1', false, at());
    expect(cache.member('A', 'c1', 'p1')).toBe(false);
    // an unknown cohort is kept as such (null), and read again once saved
    cache.keepDefinition('A', 'c3', null, at());
    expect(cache.definition('A', 'c3')).toEqual({ value: null });
  });

  it("an announced profile change (before its commit) drops the profile's answers and keeps none read within the settle window", () => {
    const { cache, at, advance } = setup();
    cache.keepMember('A', 'c1', 'p1', false, at());
    cache.keepMember('A', 'c1', 'p2', false, at());
    advance(5);
    cache.profilesChanged('A', ['p1']);
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    expect(cache.member('A', 'c1', 'p2')).toBe(false);
    advance(1_999); // may still have read the rows before the commit
    cache.keepMember('A', 'c1', 'p1', false, at());
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    advance(2);
    cache.keepMember('A', 'c1', 'p1', true, at());
    expect(cache.member('A', 'c1', 'p1')).toBe(true);
    // a change another process committed (read from the marker): no settle window
    advance(5);
    cache.profilesChanged('A', ['p1'], true);
    advance(1);
    cache.keepMember('A', 'c1', 'p1', false, at());
    expect(cache.member('A', 'c1', 'p1')).toBe(false);
  });

  it('a tenant change (markers moved) drops every answer and definition of the tenant', () => {
    const { cache, at, advance } = setup();
    cache.keepDefinition('A', 'c1', { name: 'gold' }, at());
    cache.keepMember('A', 'c1', 'p1', true, at());
    cache.keepMember('B', 'c1', 'p1', true, at());
    advance(1);
    cache.tenantChanged('A');
    expect(cache.definition('A', 'c1')).toBeUndefined();
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    expect(cache.member('B', 'c1', 'p1')).toBe(true);
  });

  it('keeps nothing with a TTL of 0', () => {
    const cache = createCohortMembershipCache({ now: () => 5, ttlMs: 0 });
    cache.keepMember('A', 'c1', 'p1', true, 5);
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
  });
});
