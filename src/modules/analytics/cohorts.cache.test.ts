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

  it("a user id's profile is kept until the TTL, per tenant; dropped when that profile changes, not when another does", () => {
    const { cache, at, advance } = setup();
    expect(cache.person('A', 'u1')).toBeUndefined();
    cache.keepPerson('A', 'u1', 'p1', at());
    cache.keepPerson('A', 'u2', 'p2', at());
    expect(cache.person('A', 'u1')).toEqual({ value: 'p1' });
    expect(cache.person('B', 'u1')).toBeUndefined();
    advance(5);
    // p1 merged into p3 (identity announces both, before its commit): u1 is looked up again, u2 is not
    cache.profilesChanged('A', ['p3', 'p1']);
    expect(cache.person('A', 'u1')).toBeUndefined();
    expect(cache.person('A', 'u2')).toEqual({ value: 'p2' });
    // a lookup that started within the settle window may have read the identifiers before the merge: not kept
    advance(1_000);
    cache.keepPerson('A', 'u1', 'p1', at());
    expect(cache.person('A', 'u1')).toBeUndefined();
    advance(1_001);
    cache.keepPerson('A', 'u1', 'p3', at());
    expect(cache.person('A', 'u1')).toEqual({ value: 'p3' });
    advance(10_000);
    expect(cache.person('A', 'u1')).toBeUndefined();
  });

  it('"no profile holds this user id" is kept until the TTL or a tenant change (announcements name profiles, not user ids)', () => {
    const { cache, at, advance } = setup();
    cache.keepPerson('A', 'new', null, at());
    expect(cache.person('A', 'new')).toEqual({ value: null });
    advance(1);
    cache.profilesChanged('A', ['p9']);
    expect(cache.person('A', 'new')).toEqual({ value: null });
    cache.tenantChanged('A');
    expect(cache.person('A', 'new')).toBeUndefined();
    advance(1);
    cache.keepPerson('A', 'new', null, at());
    advance(9_999);
    expect(cache.person('A', 'new')).toEqual({ value: null });
    advance(1);
    expect(cache.person('A', 'new')).toBeUndefined();
  });

  it('keeps nothing with a TTL of 0', () => {
    const cache = createCohortMembershipCache({ now: () => 5, ttlMs: 0 });
    cache.keepMember('A', 'c1', 'p1', true, 5);
    cache.keepPerson('A', 'u1', 'p1', 5);
    expect(cache.member('A', 'c1', 'p1')).toBeUndefined();
    expect(cache.person('A', 'u1')).toBeUndefined();
  });
});
