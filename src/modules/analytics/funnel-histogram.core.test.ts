import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FUNNEL_HISTOGRAM_BUCKETS,
  addCells,
  bucketOfSeconds,
  bucketPoint,
  funnelRowsFromCells,
  histogramMedian,
  medianBound,
} from './funnel-histogram.core.ts';

/** percentile_cont(0.5), as PostgreSQL computes it: the reference the histogram median is held to. */
function exactMedian(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = 0.5 * (s.length - 1);
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * (s[Math.ceil(h)]! - s[lo]!);
}

function histogramOf(xs: readonly number[]): { buckets: number[]; counts: number[] } {
  const m = new Map<number, number>();
  for (const x of xs) m.set(bucketOfSeconds(x), (m.get(bucketOfSeconds(x)) ?? 0) + 1);
  const e = [...m].sort((a, b) => a[0] - b[0]);
  return { buckets: e.map(([b]) => b), counts: e.map(([, c]) => c) };
}

const within = (est: number, exact: number) => Math.abs(est - exact) <= medianBound.relative * exact + medianBound.absoluteSeconds + 1e-12;

/** Durations as funnels see them: zero, sub-millisecond, seconds, hours, days (microsecond steps). */
const duration = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 999 }).map((us) => us / 1e6),
  fc.integer({ min: 1, max: 3_600_000_000 }).map((us) => us / 1e6),
  fc.integer({ min: 1, max: 40 * 86_400 }).map((s) => s + 0.5),
);

describe('funnel histograms', () => {
  it('buckets are monotone and each bucket point is within the bound of every duration in its bucket', () => {
    fc.assert(
      fc.property(duration, duration, (a, b) => {
        const [x, y] = a <= b ? [a, b] : [b, a];
        expect(bucketOfSeconds(x)).toBeLessThanOrEqual(bucketOfSeconds(y));
        expect(within(bucketPoint(bucketOfSeconds(x)), x)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(bucketOfSeconds(0)).toBe(0);
    expect(bucketOfSeconds(1e-6)).toBe(1);
    expect(bucketOfSeconds(1e30)).toBe(FUNNEL_HISTOGRAM_BUCKETS - 1);
    // The bound is about 1 %: a bucket 2 % wide.
    expect(medianBound.relative).toBeGreaterThan(0.0098);
    expect(medianBound.relative).toBeLessThan(0.01);
  });

  it('the median of merged histograms is within the stated bound of the exact percentile_cont(0.5)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(duration, { maxLength: 40 }), { minLength: 1, maxLength: 6 }), (days) => {
        // Per-day histograms merged by adding counts, as the day rows are.
        const merged = new Map<number, number>();
        for (const day of days) {
          const h = histogramOf(day);
          addCells(merged, h.buckets, h.counts);
        }
        const e = [...merged].sort((a, b) => a[0] - b[0]);
        const est = histogramMedian(
          e.map(([b]) => b),
          e.map(([, c]) => c),
        );
        const exact = exactMedian(days.flat());
        if (exact === null) expect(est).toBeNull();
        else expect(within(est!, exact), `${est} vs ${exact}`).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('funnel rows: counts per step, medians from the previous step, top values and the rest as other', () => {
    // Three sessions on mobile (all reach step 2 after 10 s), two on desktop (one reaches step 2 after 100 s), one tablet.
    const B = FUNNEL_HISTOGRAM_BUCKETS;
    const cells = (sessions: number, gaps: number[]) => {
      const c = new Map<number, number>([[0, sessions]]);
      for (const g of gaps) c.set(B + bucketOfSeconds(g), (c.get(B + bucketOfSeconds(g)) ?? 0) + 1);
      return c;
    };
    const byValue = new Map([
      ['mobile', cells(3, [10, 10, 10])],
      ['desktop', cells(2, [100])],
      ['tablet', cells(1, [])],
    ]);
    const total = funnelRowsFromCells(byValue, 3);
    expect(total.map((r) => [r.step, r.value, r.count])).toEqual([
      [0, '', 6],
      [1, '', 4],
    ]);
    expect(total[0]!.medianSeconds).toBeNull();
    expect(within(total[1]!.medianSeconds!, 10)).toBe(true);
    const split = funnelRowsFromCells(byValue, 3, 1);
    expect(split.map((r) => [r.step, r.value, r.count])).toEqual([
      [0, 'mobile', 3],
      [0, 'other', 3],
      [1, 'mobile', 3],
      [1, 'other', 1],
    ]);
    expect(within(split.find((r) => r.step === 1 && r.value === 'other')!.medianSeconds!, 100)).toBe(true);
    // Negative deltas (a changed session taken out of a day row) cancel exactly.
    const m = new Map(byValue.get('mobile'));
    addCells(m, [0, B + bucketOfSeconds(10)], [1, 1], -1);
    expect(funnelRowsFromCells(new Map([['mobile', m]]), 3).map((r) => r.count)).toEqual([2, 2]);
  });
});
