/**
 * The funnel pre-aggregate's histograms (pure): times between funnel steps counted in fixed log buckets, so per-day
 * rows merge by adding counts and the median time to convert comes from the merged counts within a stated bound.
 *
 * Buckets of a duration d (seconds): 0 for d <= 0, 1 for 0 < d < 1 ms, and 2 + floor(ln(d / 1 ms) / ln(1.02)) for
 * d >= 1 ms, capped at the last bucket (far beyond any session: ~1e7 years). Bucket b >= 2 holds [L, 1.02 L) with L = 1 ms * 1.02^(b-2),
 * and stands for 2 * 1.02 L / 2.02, the point whose relative distance to both ends is (1.02 - 1) / (1.02 + 1) < 0.991 %.
 *
 * Error bound (`medianBound`): a median (percentile_cont(0.5), as the raw SQL computes it) taken from merged buckets
 * is within 0.991 % of the exact one plus 0.5 ms. Why: the k-th smallest duration lies in the bucket where the
 * cumulative count reaches k (bucketing is monotone), each of the two order statistics the median interpolates is
 * replaced by its bucket's point (within 0.991 % relatively, or 0.5 ms below 1 ms, 0 for zero), and a convex
 * combination of such estimates keeps the bound.
 *
 * The SQL that buckets durations (`funnel-rollups.repository.ts`) uses these constants: bucketing happens only there.
 */
import type { FunnelCountRow } from './funnel.core.ts';

/** Buckets per step; a cell is step * FUNNEL_HISTOGRAM_BUCKETS + bucket (step 0's cell 0 counts the sessions). */
export const FUNNEL_HISTOGRAM_BUCKETS = 2048;
/** Ratio of consecutive bucket bounds. */
export const FUNNEL_HISTOGRAM_GROWTH = 1.02;
/** Lower bound of bucket 2, in seconds. */
export const FUNNEL_HISTOGRAM_FLOOR_SECONDS = 0.001;

/** The median estimate's relative error bound and absolute slack (seconds). */
export const medianBound = {
  relative: (FUNNEL_HISTOGRAM_GROWTH - 1) / (FUNNEL_HISTOGRAM_GROWTH + 1),
  absoluteSeconds: FUNNEL_HISTOGRAM_FLOOR_SECONDS / 2,
} as const;

/** Bucket of a duration (reference for tests; production buckets in SQL with the same formula). */
export function bucketOfSeconds(d: number): number {
  if (!(d > 0)) return 0;
  if (d < FUNNEL_HISTOGRAM_FLOOR_SECONDS) return 1;
  return Math.min(
    FUNNEL_HISTOGRAM_BUCKETS - 1,
    2 + Math.floor(Math.log(d / FUNNEL_HISTOGRAM_FLOOR_SECONDS) / Math.log(FUNNEL_HISTOGRAM_GROWTH)),
  );
}

/** The duration (seconds) a bucket stands for. */
export function bucketPoint(b: number): number {
  if (b <= 0) return 0;
  if (b === 1) return FUNNEL_HISTOGRAM_FLOOR_SECONDS / 2;
  const lo = FUNNEL_HISTOGRAM_FLOOR_SECONDS * FUNNEL_HISTOGRAM_GROWTH ** (b - 2);
  return (2 * lo * FUNNEL_HISTOGRAM_GROWTH) / (1 + FUNNEL_HISTOGRAM_GROWTH);
}

/**
 * percentile_cont(0.5) of the durations a histogram holds, from its bucket points: `buckets` and `counts` parallel,
 * buckets ascending, counts > 0. Null when empty. O(buckets).
 */
export function histogramMedian(buckets: readonly number[], counts: readonly number[]): number | null {
  let n = 0;
  for (const c of counts) n += c;
  if (n === 0) return null;
  const h = 0.5 * (n - 1);
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  let at = 0;
  let vLo: number | null = null;
  let vHi: number | null = null;
  for (let k = 0; k < buckets.length && vHi === null; k++) {
    at += counts[k]!;
    // 0-based ranks below `at` lie in this bucket.
    if (vLo === null && lo < at) vLo = bucketPoint(buckets[k]!);
    if (hi < at) vHi = bucketPoint(buckets[k]!);
  }
  return vLo! + (h - lo) * (vHi! - vLo!);
}

/** Sparse histogram cells of one breakdown value: cell -> count (summed; negative deltas allowed while merging). */
export type FunnelCells = Map<number, number>;

/** Adds `cells[k]` x `counts[k]` (times `sign`) into `into`. */
export function addCells(into: FunnelCells, cells: readonly number[], counts: readonly number[], sign = 1): void {
  for (let k = 0; k < cells.length; k++) into.set(cells[k]!, (into.get(cells[k]!) ?? 0) + sign * counts[k]!);
}

/**
 * The funnel's count rows (events' raw `funnel` shape) from merged cells per breakdown value: per value and step, the
 * sessions reaching it and the median seconds from the previous step (from the histogram, within `medianBound`).
 * With `limit`, the `limit` values with most sessions keep their name (ties: code-unit order) and the rest merge
 * into 'other'; without it every value is one funnel named `total`. Steps nobody reached have no row.
 */
export function funnelRowsFromCells(
  byValue: ReadonlyMap<string, FunnelCells>,
  steps: number,
  limit?: number | undefined,
  total = '',
): FunnelCountRow[] {
  const sessionsOf = (c: FunnelCells) => c.get(0) ?? 0;
  let groups: Map<string, FunnelCells[]>;
  if (limit === undefined) groups = new Map([[total, [...byValue.values()]]]);
  else {
    const ranked = [...byValue].filter(([, c]) => sessionsOf(c) > 0);
    ranked.sort((a, b) => sessionsOf(b[1]) - sessionsOf(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    groups = new Map();
    ranked.forEach(([v, c], i) => {
      const name = i < limit ? v : 'other';
      const g = groups.get(name);
      if (g) g.push(c);
      else groups.set(name, [c]);
    });
  }
  const out: FunnelCountRow[] = [];
  for (const [value, parts] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    for (let i = 0; i < steps; i++) {
      const merged = new Map<number, number>();
      const base = i * FUNNEL_HISTOGRAM_BUCKETS;
      for (const c of parts)
        for (const [cell, n] of c)
          if (cell >= base && cell < base + FUNNEL_HISTOGRAM_BUCKETS) merged.set(cell - base, (merged.get(cell - base) ?? 0) + n);
      const buckets = [...merged].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
      const count = buckets.reduce((s, [, n]) => s + n, 0);
      if (count === 0) break;
      out.push({
        step: i,
        value,
        count,
        medianSeconds:
          i === 0
            ? null
            : histogramMedian(
                buckets.map(([b]) => b),
                buckets.map(([, n]) => n),
              ),
      });
    }
  }
  return out.sort((a, b) => a.step - b.step || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
