import { describe, expect, it } from 'vitest';
import { type CohortPerson, type CohortRule, inCohort, ruleMatches } from './cohorts.core.ts';

const now = new Date('2026-03-10T12:00:00Z');
const person = (over: Partial<CohortPerson> = {}): CohortPerson => ({
  traits: {},
  totalOrders: 0,
  eventCount: 0,
  revenueMinor: 0n,
  lastSeenAt: null,
  events: [],
  scores: null,
  ...over,
});

describe('cohort rules (pure)', () => {
  it('compares traits as text, as JSON numbers only, and for presence', () => {
    const p = person({ traits: { plan: 'Gold Plus', age: 30, age_text: '30', vip: true, gone: null, nested: { a: 1 } } });
    expect(ruleMatches({ kind: 'trait', key: 'plan', op: 'contains', value: 'gold' }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'trait', key: 'plan', op: 'eq', value: 'gold plus' }, p, now)).toBe(false);
    expect(ruleMatches({ kind: 'trait', key: 'age', op: 'gte', value: 30 }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'trait', key: 'age_text', op: 'gte', value: 30 }, p, now)).toBe(false);
    expect(ruleMatches({ kind: 'trait', key: 'vip', op: 'eq', value: 'true' }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'trait', key: 'gone', op: 'exists' }, p, now)).toBe(false);
    expect(ruleMatches({ kind: 'trait', key: 'nested', op: 'eq', value: '{"a":1}' }, p, now)).toBe(false);
    // Missing is "not equal"; `toString` is no trait (own keys only).
    expect(ruleMatches({ kind: 'trait', key: 'city', op: 'neq', value: 'Paris' }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'trait', key: 'toString', op: 'exists' }, p, now)).toBe(false);
  });

  it('counts events of one type inside the window only, zero included', () => {
    const p = person({
      events: [
        { type: 'purchase', at: new Date('2026-03-09T12:00:00Z') },
        { type: 'purchase', at: new Date('2026-03-03T12:00:00Z') },
        { type: 'purchase', at: new Date('2026-03-12T12:00:00Z') }, // in the future
        { type: 'view', at: new Date('2026-03-09T12:00:00Z') },
      ],
    });
    // Bounds included: [now - within_days, now].
    expect(ruleMatches({ kind: 'event', event: 'purchase', op: 'eq', count: 1, within_days: 1 }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'event', event: 'purchase', op: 'eq', count: 2, within_days: 7 }, p, now)).toBe(true);
    expect(ruleMatches({ kind: 'event', event: 'refund', op: 'eq', count: 0, within_days: 7 }, p, now)).toBe(true);
  });

  it('never matches unscored or never-seen profiles on scores, segments and recency', () => {
    const p = person();
    expect(ruleMatches({ kind: 'segment', segments: ['Lost'] }, p, now)).toBe(false);
    expect(ruleMatches({ kind: 'score', score: 'churn_probability', op: 'lte', value: 1 }, p, now)).toBe(false);
    expect(ruleMatches({ kind: 'profile', field: 'last_seen_days', op: 'gte', value: 0 }, p, now)).toBe(false);
    const seen = person({ lastSeenAt: new Date('2026-03-07T12:00:00Z'), revenueMinor: 9007199254740993n });
    expect(ruleMatches({ kind: 'profile', field: 'last_seen_days', op: 'eq', value: 3 }, seen, now)).toBe(true);
    // Money compares exactly past 2^53.
    expect(ruleMatches({ kind: 'profile', field: 'revenue_minor', op: 'gt', value: 9007199254740992 }, seen, now)).toBe(true);
  });

  it('combines rules with all and any', () => {
    const p = person({ totalOrders: 2 });
    const rules: CohortRule[] = [
      { kind: 'profile', field: 'total_orders', op: 'gte', value: 1 },
      { kind: 'segment', segments: ['Champions'] },
    ];
    expect(inCohort({ match: 'all', rules }, p, now)).toBe(false);
    expect(inCohort({ match: 'any', rules }, p, now)).toBe(true);
  });
});
