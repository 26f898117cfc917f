import { describe, expect, it } from 'vitest';
import { churnDataset } from './churn.core.ts';
import fc from 'fast-check';
import { profileStrength } from '../identity/index.ts';
import {
  ACTIVITY_FEATURE_COUNT,
  ACTIVITY_FEATURE_NAMES,
  activityFeatures,
  customerFeatures,
  type CustomerActivity,
  FEATURE_COUNT,
  FEATURE_NAMES,
  fnv1a,
  groupActivity,
  rfmSummaryAt,
  strengthPoints,
  type CustomerOrders,
} from './features.core.ts';

const col = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);

describe('customerFeatures', () => {
  // orders on days 10, 40, 100 (amounts 10, 30, 20), a refund on day 50, a future order on day 200
  const o: CustomerOrders = { day: Float64Array.of(10, 40, 50, 100, 200), amount: Float64Array.of(10, 30, -5, 20, 999) };

  it('computes RFM, gaps and refunds by hand at cutoff 130', () => {
    const f = new Float64Array(FEATURE_COUNT);
    expect(customerFeatures(o, 130, f)).toBe(3);
    expect(f[col('recency_days')]).toBe(30);
    expect(f[col('tenure_days')]).toBe(120);
    expect(f[col('orders')]).toBe(3);
    expect(f[col('orders_90d')]).toBe(2); // days 40 (age 90) and 100
    expect(f[col('revenue_total')]).toBe(60);
    expect(f[col('aov_mean')]).toBe(20);
    expect(f[col('aov_max')]).toBe(30);
    expect(f[col('gap_mean_days')]).toBe(45); // gaps 30 and 60
    expect(f[col('gap_std_days')]).toBe(15);
    expect(f[col('refunds')]).toBe(1);
    expect(f[col('refund_amount')]).toBe(5);
    expect(f[col('second_last_days')]).toBe(90);
  });

  it('is point-in-time: an order on or after the cutoff changes nothing', () => {
    const a = new Float64Array(FEATURE_COUNT);
    const b = new Float64Array(FEATURE_COUNT);
    customerFeatures(o, 150, a);
    customerFeatures({ day: o.day.subarray(0, 4), amount: o.amount.subarray(0, 4) }, 150, b);
    expect([...a]).toEqual([...b]);
    const c = new Float64Array(FEATURE_COUNT);
    expect(customerFeatures(o, 10, c)).toBe(0); // the day-10 order is not before the cutoff
    expect(c.every(Number.isNaN)).toBe(true);
  });

  it('handles one order, zero amounts and all orders on one day', () => {
    const f = new Float64Array(FEATURE_COUNT);
    expect(customerFeatures({ day: Float64Array.of(5, 5.5, 5.7), amount: Float64Array.of(10, 0, 4) }, 20, f)).toBe(2);
    expect(f[col('distinct_days')]).toBe(1);
    expect(rfmSummaryAt({ day: Float64Array.of(5, 5.5), amount: Float64Array.of(10, 4) }, 20)).toEqual({
      x: 0,
      tx: 0,
      T: 15 / 7,
      monetary: 0,
    });
    expect(rfmSummaryAt({ day: Float64Array.of(0, 7, 7.5, 14), amount: Float64Array.of(1, 2, 3, 4) }, 21)).toEqual({
      x: 2,
      tx: 2,
      T: 3,
      monetary: 4.5,
    });
  });
});

describe('churnDataset', () => {
  it('labels churn by the window and skips customers with no purchase before the cutoff', () => {
    const m = new Map<string, CustomerOrders>([
      ['stays', { day: Float64Array.of(1, 105), amount: Float64Array.of(5, 5) }],
      ['leaves', { day: Float64Array.of(1, 300), amount: Float64Array.of(5, 5) }],
      ['refund only after', { day: Float64Array.of(1, 105), amount: Float64Array.of(5, -5) }],
      ['new', { day: Float64Array.of(150), amount: Float64Array.of(5) }],
    ]);
    const ds = churnDataset(m, 100, 91);
    expect(ds.ids).toEqual(['stays', 'leaves', 'refund only after']);
    expect([...ds.labels]).toEqual([0, 1, 1]);
  });
  it('splits by a stable FNV-1a hash (reference: FNV-1a 32 of "a" is 0xe40c292c)', () => {
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('')).toBe(0x811c9dc5);
  });
});

describe('activityFeatures (sessions, category affinity, profile strength)', () => {
  // sessions on days 10 (3 events), 60 (1), 95 (2) and a later one on day 200; purchases in categories 0, 0, 1 and
  // a later one in category 2; an e-mail seen on day 5 (channel 0), a phone on day 150 (channel 1)
  const activity: CustomerActivity = {
    sessionDay: Float64Array.of(10, 60, 95, 200),
    sessionEvents: Float64Array.of(3, 1, 2, 9),
    categoryDay: Float64Array.of(10, 60, 95, 200),
    category: Int32Array.of(0, 0, 1, 2),
    identifierDay: Float64Array.of(150, 5),
    identifierType: Int32Array.of(1, 0),
    identifierConfidence: Float64Array.of(0.9, 0.8),
    identifierChannel: Int32Array.of(1, 0),
  };
  const col = (name: (typeof ACTIVITY_FEATURE_NAMES)[number]) => ACTIVITY_FEATURE_NAMES.indexOf(name);

  it('counts sessions, category shares and strength by hand at cutoff 100', () => {
    const f = new Float64Array(ACTIVITY_FEATURE_COUNT);
    activityFeatures(activity, 2, 100, f);
    expect(f[col('sessions')]).toBe(3);
    expect(f[col('sessions_30d')]).toBe(1); // day 95
    expect(f[col('sessions_90d')]).toBe(3); // days 10 (age 90: inclusive, as orders_90d), 60 and 95
    expect(f[col('days_since_last_session')]).toBe(5);
    expect(f[col('events')]).toBe(6);
    expect(f[col('categories')]).toBe(2);
    expect(f[col('top_category_share')]).toBeCloseTo(2 / 3, 12);
    expect(f[col('category_entropy')]).toBeCloseTo(-((2 / 3) * Math.log(2 / 3) + (1 / 3) * Math.log(1 / 3)), 12);
    // identity: e-mail 0.8 x 40 = 32 (the phone is not seen yet); activity: 2 orders 10, 6 events 10, one channel 0
    expect(f[col('profile_strength')]).toBe(52);
  });

  it('is point-in-time: a session, purchase or identifier on or after the cutoff changes nothing', () => {
    const a = new Float64Array(ACTIVITY_FEATURE_COUNT);
    const b = new Float64Array(ACTIVITY_FEATURE_COUNT);
    activityFeatures(activity, 2, 100, a);
    const earlier: CustomerActivity = {
      sessionDay: activity.sessionDay.subarray(0, 3),
      sessionEvents: activity.sessionEvents.subarray(0, 3),
      categoryDay: activity.categoryDay.subarray(0, 3),
      category: activity.category.subarray(0, 3),
      identifierDay: activity.identifierDay.subarray(1),
      identifierType: activity.identifierType.subarray(1),
      identifierConfidence: activity.identifierConfidence.subarray(1),
      identifierChannel: activity.identifierChannel.subarray(1),
    };
    activityFeatures(earlier, 2, 100, b);
    expect([...a]).toEqual([...b]);
    // and the later events do count once the cutoff passes them
    const later = new Float64Array(ACTIVITY_FEATURE_COUNT);
    activityFeatures(activity, 2, 201, later);
    expect(later[col('sessions')]).toBe(4);
    expect(later[col('categories')]).toBe(3);
    expect(later[col('profile_strength')]).toBeGreaterThan(a[col('profile_strength')]!);
  });

  it('is NaN without activity data and zero-count before the first session', () => {
    const f = new Float64Array(ACTIVITY_FEATURE_COUNT);
    activityFeatures(undefined, 3, 100, f);
    expect(f.every(Number.isNaN)).toBe(true);
    activityFeatures(activity, 0, 1, f);
    expect(f[col('sessions')]).toBe(0);
    expect(f[col('days_since_last_session')]).toBeNaN();
    expect(f[col('top_category_share')]).toBeNaN();
    expect(f[col('profile_strength')]).toBe(0);
  });

  it("computes identity's profile_strength rule exactly", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom('email', 'phone', 'user_id', 'cookie'),
            confidence: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          {
            maxLength: 6,
          },
        ),
        fc.nat(20),
        fc.nat(20),
        fc.integer({ min: 0, max: 5 }),
        (ids, orders, events, channels) => {
          const best = new Map<string, number>();
          for (const i of ids) best.set(i.type, Math.max(best.get(i.type) ?? 0, i.confidence));
          expect(strengthPoints(best.values(), orders, events, channels)).toBe(
            profileStrength({ identifierConfidences: ids, totalOrders: orders, eventCount: events, channelCount: channels }),
          );
        },
      ),
    );
  });

  it('groups activity rows per profile, day-sorted, with categories indexed', () => {
    const d = (day: number) => new Date(day * 86_400_000);
    const g = groupActivity({
      sessions: [
        { profileId: 'a', startedAt: d(20), events: 2 },
        { profileId: 'a', startedAt: d(10), events: 1 },
      ],
      purchases: [
        { profileId: 'a', occurredAt: d(12), category: 'Shoes' },
        { profileId: 'b', occurredAt: d(3), category: 'Hats' },
        { profileId: 'a', occurredAt: d(11), category: 'Hats' },
      ],
      identifiers: [{ profileId: 'b', type: 'email', confidence: 1, channel: null, firstSeenAt: d(1) }],
    });
    expect([...g.get('a')!.sessionDay]).toEqual([10, 20]);
    expect([...g.get('a')!.sessionEvents]).toEqual([1, 2]);
    expect([...g.get('a')!.categoryDay]).toEqual([11, 12]);
    const [hats, shoes] = [g.get('a')!.category[0]!, g.get('a')!.category[1]!];
    expect(hats).not.toBe(shoes);
    expect(g.get('b')!.category[0]).toBe(hats); // one index per category across the tenant
    expect([...g.get('b')!.identifierChannel]).toEqual([-1]);
  });
});
