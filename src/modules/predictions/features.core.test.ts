import { describe, expect, it } from 'vitest';
import { churnDataset } from './churn.core.ts';
import { customerFeatures, FEATURE_COUNT, FEATURE_NAMES, fnv1a, rfmSummaryAt, type CustomerOrders } from './features.core.ts';

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
