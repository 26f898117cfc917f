import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { csrFromCoo } from './csr.ts';
import { categoryTopItems, decayScores, fitPopularity, itemPopularity, topNPerCategory, trendingScores } from './popularity.ts';

describe('itemPopularity', () => {
  const train = csrFromCoo(3, 4, [0, 0, 1, 2, 2], [0, 1, 1, 1, 3], [1, 2, 5, 1, 1]);

  it('counts users per item, or sums weights', () => {
    expect([...itemPopularity(train)]).toEqual([1, 3, 0, 1]);
    expect([...itemPopularity(train, { weighted: true })]).toEqual([1, 8, 0, 1]);
  });

  it('fitPopularity gives every user the same scores', () => {
    const out = new Float32Array(2 * 4);
    fitPopularity(train, {}).scoreBatch(Int32Array.from([2, 0]), out);
    expect([...out]).toEqual([1, 3, 0, 1, 1, 3, 0, 1]);
  });
});

describe('trendingScores', () => {
  it('halves an event every half-life and ignores future events', () => {
    const events = {
      itemIds: Int32Array.from([0, 0, 1, 1, 2]),
      timestamps: Float64Array.from([100, 90, 80, 101, 100]),
      weights: Float32Array.from([1, 1, 4, 7, 2]),
    };
    const s = trendingScores(events, 3, 100, 10);
    expect(s[0]).toBeCloseTo(1 + 0.5, 6);
    expect(s[1]).toBeCloseTo(4 * 0.25, 6); // the event at 101 is in the future
    expect(s[2]).toBeCloseTo(2, 6);
  });

  it('equals the naive sum, and decaying then adding new events equals recomputing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 5 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 500, max: 1000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 300 }),
        (evs, now, halfLife, later) => {
          const events = {
            itemIds: Int32Array.from(evs, (e) => e[0]),
            timestamps: Float64Array.from(evs, (e) => e[1]),
            weights: Float32Array.from(evs, (e) => e[2]),
          };
          const s = trendingScores(events, 5, now, halfLife);
          for (let i = 0; i < 5; i++) {
            const expected = evs.filter((e) => e[0] === i && e[1] <= now).reduce((a, e) => a + e[2] * 0.5 ** ((now - e[1]) / halfLife), 0);
            expect(s[i]).toBeCloseTo(expected, 4);
          }
          // incremental: decay the old scores to now + later, add only events in (now, now + later]
          const newer = evs.filter((e) => e[1] > now && e[1] <= now + later);
          const inc = decayScores(Float32Array.from(s), later, halfLife);
          const add = trendingScores(
            {
              itemIds: Int32Array.from(newer, (e) => e[0]),
              timestamps: Float64Array.from(newer, (e) => e[1]),
              weights: Float32Array.from(newer, (e) => e[2]),
            },
            5,
            now + later,
            halfLife,
          );
          const full = trendingScores(events, 5, now + later, halfLife);
          for (let i = 0; i < 5; i++) expect(inc[i]! + add[i]!).toBeCloseTo(full[i]!, 3);
        },
      ),
    );
  });
});

describe('topNPerCategory', () => {
  it('keeps the best positive items of each category, ignoring items without one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: -1, max: 2 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 4 }),
        (items, n) => {
          const scores = Float32Array.from(items, (x) => x[0]);
          const cats = Int32Array.from(items, (x) => x[1]);
          const per = topNPerCategory(scores, cats, 3, n);
          for (let c = 0; c < 3; c++) {
            const expected = [...scores.keys()]
              .filter((i) => cats[i] === c && scores[i]! > 0)
              .sort((a, b) => scores[b]! - scores[a]! || a - b)
              .slice(0, n);
            const got = categoryTopItems(per, c, n);
            expect([...got.indices]).toEqual(expected);
            for (let p = per.indptr[c]! + 1; p < per.indptr[c + 1]!; p++) expect(per.indices[p]).toBeGreaterThan(per.indices[p - 1]!);
          }
        },
      ),
    );
  });
});
