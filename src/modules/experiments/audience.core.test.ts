import { describe, expect, it } from 'vitest';
import { COHORT_MEMBERSHIP, matches } from './assign.core.ts';
import { cohortIdsOf, hasMalformedCohort } from './audience.core.ts';

const X = '0190a000-0000-7000-8000-000000000001';
const Y = '0190a000-0000-7000-8000-000000000002';

describe('saved-cohort conditions', () => {
  it('finds every cohort a condition names, once, at any depth', () => {
    expect(cohortIdsOf(null)).toEqual([]);
    expect(cohortIdsOf({ country: 'FR' })).toEqual([]);
    expect(cohortIdsOf({ $inCohort: X })).toEqual([X]);
    expect(cohortIdsOf({ $or: [{ $inCohort: X }, { $and: [{ $not: { $inCohort: Y } }, { $inCohort: X }] }] })).toEqual([X, Y]);
    // An attribute named like the operator inside a field condition is not a cohort.
    expect(cohortIdsOf({ plan: { $inCohort: X } } as Record<string, unknown>)).toEqual([]);
  });

  it('flags a non-string cohort id', () => {
    expect(hasMalformedCohort({ $inCohort: X })).toBe(false);
    expect(hasMalformedCohort({ $and: [{ $inCohort: 5 }] })).toBe(true);
    expect(hasMalformedCohort({ $not: { $inCohort: [X] } })).toBe(true);
  });

  it('matches on the membership the server sets, not on attributes a client could send', () => {
    const member = { [COHORT_MEMBERSHIP]: [X] };
    expect(matches({ $inCohort: X }, member)).toBe(true);
    expect(matches({ $inCohort: Y }, member)).toBe(false);
    expect(matches({ $inCohort: X }, {})).toBe(false);
    expect(matches({ $inCohort: X }, { [COHORT_MEMBERSHIP]: X })).toBe(false);
    expect(matches({ $not: { $inCohort: X } }, member)).toBe(false);
    expect(matches({ $or: [{ $inCohort: Y }, { country: 'FR' }] }, { ...member, country: 'FR' })).toBe(true);
    expect(matches({ $inCohort: 5 } as Record<string, unknown>, { [COHORT_MEMBERSHIP]: [5] })).toBe(false);
  });
});
