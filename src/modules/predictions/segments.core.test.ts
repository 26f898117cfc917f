import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { quintileScores, rfmSegments, SEGMENTS, segmentOf } from './segments.core.ts';

describe('quintileScores', () => {
  it('scores ten values two per quintile (pandas qcut(rank(method="first"), 5, labels=1..5) gives the same)', () => {
    expect([...quintileScores([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])]).toEqual([5, 1, 5, 1, 4, 2, 4, 2, 3, 3]);
    expect([...quintileScores([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], true)]).toEqual([1, 5, 1, 5, 2, 4, 2, 4, 3, 3]);
    // ties: broken by input order, so equal values may land in neighbouring quintiles
    expect([...quintileScores([1, 1, 1, 1, 1])]).toEqual([1, 2, 3, 4, 5]);
    expect([...quintileScores([7])]).toEqual([1]);
  });
  it('always gives 1..5 with sizes differing by at most one', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 5, maxLength: 200 }), (v) => {
        const s = quintileScores(v);
        const counts = [1, 2, 3, 4, 5].map((q) => s.filter((x) => x === q).length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('segments', () => {
  it('maps every (R, F) cell to a named segment, corners by hand', () => {
    expect(segmentOf(5, 5)).toBe('champions');
    expect(segmentOf(5, 1)).toBe('new_customers');
    expect(segmentOf(1, 5)).toBe('cant_lose_them');
    expect(segmentOf(1, 1)).toBe('hibernating');
    expect(segmentOf(2, 3)).toBe('at_risk');
    expect(segmentOf(3, 3)).toBe('need_attention');
    expect(segmentOf(4, 1)).toBe('promising');
    const seen = new Set<string>();
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) seen.add(segmentOf(r, f));
    expect([...seen].sort()).toEqual([...SEGMENTS].sort());
  });
  it('scores a customer base: the most recent and most frequent buyer is a champion', () => {
    const s = rfmSegments([1, 200, 30, 90, 5], [20, 1, 3, 2, 1], [900, 10, 80, 40, 15]);
    expect(s[0]).toEqual({ r: 5, f: 5, m: 5, segment: 'champions' });
    expect(s[1]!.segment).toBe('hibernating');
    expect(s[4]!.segment).toBe('potential_loyalists'); // recent (r 4), one order but ranked above the other single-order buyer
    expect(() => rfmSegments([1], [1, 2], [1])).toThrow(RangeError);
  });
});
