/**
 * Customer features from orders, point-in-time correct: `customerFeatures(orders, cutoff)` reads only orders
 * strictly before `cutoff`, so a model trained on features at a past cutoff never sees the future it predicts.
 * Pure: days are fractional days since the epoch, amounts are in major units of one currency.
 */
import type { FeatureMatrix } from '../../ml/gbt.ts';

/** One customer's orders, sorted by day ascending. A negative amount is a refund. */
export interface CustomerOrders {
  day: Float64Array;
  amount: Float64Array;
}

/** The feature vector's columns, in order (also the feature store's keys). */
export const FEATURE_NAMES = [
  'recency_days',
  'tenure_days',
  'orders',
  'orders_30d',
  'orders_90d',
  'orders_180d',
  'revenue_total',
  'revenue_90d',
  'aov_mean',
  'aov_max',
  'aov_std',
  'gap_mean_days',
  'gap_std_days',
  'recency_over_gap',
  'active_months',
  'orders_per_month',
  'second_last_days',
  'refunds',
  'refund_amount',
  'orders_trend',
  'orders_year_ago_90d',
  'distinct_days',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

/**
 * Features of one customer at `cutoff` into `out` (length FEATURE_COUNT) and the number of purchases seen;
 * a customer with no purchase before the cutoff gets NaN features and 0. O(orders).
 */
export function customerFeatures(o: CustomerOrders, cutoff: number, out: Float64Array | number[]): number {
  let n = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  let secondLast = Number.NaN;
  let o30 = 0;
  let o90 = 0;
  let o180 = 0;
  let oPrev90 = 0;
  let rev = 0;
  let rev90 = 0;
  let maxA = 0;
  let sumSq = 0;
  let refunds = 0;
  let refundAmount = 0;
  let gapSum = 0;
  let gapSq = 0;
  let yearAgo = 0;
  let days = 0;
  let lastDay = Number.NaN;
  const months = new Set<number>();
  for (let k = 0; k < o.day.length; k++) {
    const d = o.day[k]!;
    if (!(d < cutoff)) break;
    const a = o.amount[k]!;
    if (a < 0) {
      refunds++;
      refundAmount -= a;
      continue;
    }
    if (a === 0) continue;
    if (n === 0) first = d;
    else {
      const g = d - last;
      gapSum += g;
      gapSq += g * g;
    }
    secondLast = last;
    last = d;
    n++;
    const age = cutoff - d;
    if (age >= 365 - 91 && age < 365) yearAgo++;
    if (Math.floor(d) !== lastDay) days++;
    lastDay = Math.floor(d);
    if (age <= 30) o30++;
    if (age <= 90) {
      o90++;
      rev90 += a;
    } else if (age <= 180) oPrev90++;
    if (age <= 180) o180++;
    rev += a;
    maxA = Math.max(maxA, a);
    sumSq += a * a;
    months.add(Math.floor(d / 30.4375));
  }
  if (n === 0) {
    for (let j = 0; j < FEATURE_COUNT; j++) out[j] = Number.NaN;
    return 0;
  }
  const recency = cutoff - last;
  const tenure = cutoff - first;
  const mean = rev / n;
  const gapMean = n > 1 ? gapSum / (n - 1) : Number.NaN;
  const values = [
    recency,
    tenure,
    n,
    o30,
    o90,
    o180,
    rev,
    rev90,
    mean,
    maxA,
    Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    gapMean,
    n > 1 ? Math.sqrt(Math.max(0, gapSq / (n - 1) - gapMean * gapMean)) : Number.NaN,
    n > 1 && gapMean > 0 ? recency / gapMean : Number.NaN,
    months.size,
    (n * 30.4375) / Math.max(30.4375, tenure),
    Number.isNaN(secondLast) ? Number.NaN : cutoff - secondLast,
    refunds,
    refundAmount,
    o90 - oPrev90,
    yearAgo,
    days,
  ];
  for (let j = 0; j < FEATURE_COUNT; j++) out[j] = values[j]!;
  return n;
}

/**
 * BG/NBD summary of one customer at `cutoff` in weeks: repeat purchase days (distinct days after the first),
 * recency and age. Orders on the same day count once, as in the CDNOW convention.
 */
export function rfmSummaryAt(o: CustomerOrders, cutoff: number): { x: number; tx: number; T: number; monetary: number } | undefined {
  let firstDay = Number.NaN;
  let lastDay = Number.NaN;
  let x = 0;
  let repeatSpend = 0;
  let daySpend = 0;
  for (let k = 0; k < o.day.length; k++) {
    const d = o.day[k]!;
    if (!(d < cutoff)) break;
    if (!(o.amount[k]! > 0)) continue;
    const day = Math.floor(d);
    if (Number.isNaN(firstDay)) firstDay = day;
    else if (day !== lastDay) {
      if (lastDay !== firstDay) repeatSpend += daySpend;
      daySpend = 0;
      x++;
    }
    if (day !== firstDay) daySpend += o.amount[k]!;
    lastDay = day;
  }
  if (Number.isNaN(firstDay)) return undefined;
  if (lastDay !== firstDay) repeatSpend += daySpend;
  const T = (cutoff - firstDay) / 7;
  return { x, tx: (lastDay - firstDay) / 7, T: Math.max(T, 1 / 7), monetary: x > 0 ? repeatSpend / x : 0 };
}

/** Stacks feature rows into a matrix (row-major). */
export function toMatrix(rows: readonly (Float64Array | number[])[], cols = FEATURE_COUNT): FeatureMatrix {
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { rows: rows.length, cols, data };
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units: the stable customer split (train < 70 of 100). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
