/**
 * RFM quintile scores and named segments (pure). Scores are 1..5 by rank (ties broken by input order, as
 * pandas' `qcut(x.rank(method="first"), 5)`); recency is reversed so that 5 is the most recent. Names follow the
 * common R-by-F segment map (champions, loyal customers, potential loyalists, new customers, promising,
 * need attention, about to sleep, at risk, can't lose them, hibernating).
 */

export const SEGMENTS = [
  'champions',
  'loyal_customers',
  'potential_loyalists',
  'new_customers',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose_them',
  'hibernating',
] as const;
export type SegmentName = (typeof SEGMENTS)[number];

/** Quintile score 1..5 of each value by rank; `reverse` gives 5 to the smallest values. O(n log n). */
export function quintileScores(values: ArrayLike<number>, reverse = false): Uint8Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const d = reverse ? values[b]! - values[a]! : values[a]! - values[b]!;
    return d !== 0 ? d : a - b;
  });
  const out = new Uint8Array(n);
  order.forEach((i, rank) => {
    out[i] = Math.min(5, Math.floor((rank * 5) / n) + 1);
  });
  return out;
}

/** The segment of an (R, F) score pair, each 1..5. */
export function segmentOf(r: number, f: number): SegmentName {
  if (r <= 2) return f <= 2 ? 'hibernating' : f <= 4 ? 'at_risk' : 'cant_lose_them';
  if (r === 3) return f <= 2 ? 'about_to_sleep' : f === 3 ? 'need_attention' : 'loyal_customers';
  if (f >= 4) return r === 5 ? 'champions' : 'loyal_customers';
  if (f === 1) return r === 5 ? 'new_customers' : 'promising';
  return 'potential_loyalists';
}

export interface RfmSegment {
  r: number;
  f: number;
  m: number;
  segment: SegmentName;
}

/** R, F and M quintile scores and the named segment of each customer (arrays of equal length). */
export function rfmSegments(recencyDays: ArrayLike<number>, frequency: ArrayLike<number>, monetary: ArrayLike<number>): RfmSegment[] {
  const n = recencyDays.length;
  if (frequency.length !== n || monetary.length !== n)
    throw new RangeError('rfmSegments: recency, frequency and monetary must have the same length');
  const r = quintileScores(recencyDays, true);
  const f = quintileScores(frequency);
  const m = quintileScores(monetary);
  return Array.from({ length: n }, (_, i) => ({ r: r[i]!, f: f[i]!, m: m[i]!, segment: segmentOf(r[i]!, f[i]!) }));
}
