import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, csrTranspose } from './csr.ts';
import {
  catalogCoverage,
  cooccurrenceSimilarity,
  cooccurrenceSimilarityFromItemUsers,
  distributionalCoverage,
  diversity,
  featureCosineSimilarity,
  historicalItemNovelty,
  novelty,
  serendipity,
  userDiversity,
  userItemSerendipity,
  userSerendipity,
} from './diversity.ts';

/**
 * Microsoft Recommenders' diversity fixture (tests/unit/recommenders/evaluation/conftest.py, `diversity_data`)
 * and the expected values of its unit tests (test_python_evaluation.py, TOL = 1e-4), written here verbatim.
 * Hand checks of a few: catalog coverage = |{3,5,2,1}| / |{1,2,3,4,5}| = 0.8; distributional coverage =
 * entropy of (1,2,2,1)/6 = 1.9183 bits; item 4's novelty = -log2(3/8) = 1.41504; user 1's diversity =
 * 1 - cooc(3,5)/sqrt(2 x 1) = 1 - 1/sqrt(2) = 0.29289.
 */
const train = { users: Int32Array.from([1, 1, 1, 2, 2, 3, 3, 3]), items: Int32Array.from([1, 2, 4, 3, 4, 3, 4, 5]) };
const reco = {
  users: Int32Array.from([1, 1, 2, 2, 3, 3]),
  items: Int32Array.from([3, 5, 2, 5, 1, 2]),
  relevance: Float64Array.from([1, 0, 1, 1, 1, 0]),
};
const features = new Map<number, Float64Array>([
  [1, Float64Array.from([0, 1, 1, 0, 0])],
  [2, Float64Array.from([0, 1, 0, 1, 0])],
  [3, Float64Array.from([0, 0, 1, 1, 0])],
  [4, Float64Array.from([0, 0, 1, 0, 1])],
  [5, Float64Array.from([0, 0, 0, 1, 1])],
]);
const TOL = 4; // decimal places, as the fixture's 1e-4

const close = (actual: Iterable<number>, expected: number[]) => {
  const a = [...actual];
  expect(a).toHaveLength(expected.length);
  a.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, TOL));
};

describe('Recommenders diversity fixture, co-occurrence similarity', () => {
  const sim = cooccurrenceSimilarity(train);
  it('catalog and distributional coverage', () => {
    expect(catalogCoverage(train, reco)).toBeCloseTo(0.8, TOL);
    expect(distributionalCoverage(reco)).toBeCloseTo(1.9183, TOL);
  });
  it('item novelty and novelty', () => {
    const nov = historicalItemNovelty(train);
    close(
      [1, 2, 3, 4, 5].map((i) => nov.get(i)!),
      [3.0, 3.0, 2.0, 1.41504, 3.0],
    );
    expect(novelty(train, reco)).toBeCloseTo(2.83333, TOL);
    // Only one item in the data: novelty is zero.
    const only3 = { users: Int32Array.from([2, 3]), items: Int32Array.from([3, 3]) };
    expect(historicalItemNovelty(only3).get(3)).toBe(0);
    expect(novelty(only3, { users: Int32Array.from([1]), items: Int32Array.from([3]) })).toBe(0);
  });
  it('user diversity and diversity', () => {
    const per = userDiversity(reco, sim);
    expect([...per.keys()]).toEqual([1, 2, 3]);
    close(per.values(), [0.29289, 1.0, 0.0]);
    expect(diversity(reco, sim)).toBeCloseTo(0.43096, TOL);
  });
  it('user-item serendipity, user serendipity and serendipity', () => {
    close(userItemSerendipity(train, reco, sim), [0.72783, 0.0, 0.71132, 0.35777, 0.80755, 0.0]);
    close(userSerendipity(train, reco, sim).values(), [0.363915, 0.53455, 0.403775]);
    expect(serendipity(train, reco, sim)).toBeCloseTo(0.43408, TOL);
  });
});

describe('Recommenders diversity fixture, item feature vectors', () => {
  const sim = featureCosineSimilarity(features);
  it('user diversity and diversity', () => {
    close(userDiversity(reco, sim).values(), [0.5, 0.5, 0.5]);
    expect(diversity(reco, sim)).toBeCloseTo(0.5, TOL);
  });
  it('serendipity', () => {
    close(userItemSerendipity(train, reco, sim), [0.5, 0.0, 0.75, 0.5, 0.6667, 0.0]);
    close(userSerendipity(train, reco, sim).values(), [0.25, 0.625, 0.3333]);
    expect(serendipity(train, reco, sim)).toBeCloseTo(0.4028, TOL);
  });
});

describe('guards and invariants', () => {
  it('refuses mismatched shapes and handles empty input', () => {
    expect(() => catalogCoverage({ users: Int32Array.from([1]), items: new Int32Array(0) }, reco)).toThrow(RangeError);
    expect(distributionalCoverage({ users: new Int32Array(0), items: new Int32Array(0) })).toBe(0);
    expect(diversity({ users: new Int32Array(0), items: new Int32Array(0) }, () => 0)).toBe(0);
  });
  it('co-occurrence similarity is symmetric and in [0, 1]', () => {
    const sim = cooccurrenceSimilarity(train);
    for (let a = 1; a <= 5; a++)
      for (let b = 1; b <= 5; b++) {
        expect(sim(a, b)).toBe(sim(b, a));
        expect(sim(a, b)).toBeGreaterThanOrEqual(0);
        expect(sim(a, b)).toBeLessThanOrEqual(1);
      }
  });
});

describe('co-occurrence similarity from an item x user matrix', () => {
  const itemUsers = (p: { users: Int32Array; items: Int32Array }) => {
    const rows = Math.max(0, ...p.users) + 1;
    const cols = Math.max(0, ...p.items) + 1;
    return csrTranspose(csrFromCoo(rows, cols, p.users, p.items));
  };
  it("equals the pair map's on the Recommenders fixture, and so its diversity (user 1: 0.29289)", () => {
    const a = cooccurrenceSimilarity(train);
    const b = cooccurrenceSimilarityFromItemUsers(itemUsers(train));
    for (let x = 0; x <= 6; x++) for (let y = 0; y <= 6; y++) expect(b(x, y)).toBeCloseTo(a(x, y), 12);
    expect(userDiversity(reco, b).get(1)).toBeCloseTo(0.29289, TOL);
    expect(diversity(reco, b)).toBeCloseTo(diversity(reco, a), 12);
    expect(b(-1, 3)).toBe(0);
    expect(b(3, 99)).toBe(0);
  });
  it('property: equals the pair map on random data (repeated pairs count once)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(8), fc.nat(10)), { minLength: 1, maxLength: 60 }), (rows) => {
        const p = { users: Int32Array.from(rows.map((r) => r[0])), items: Int32Array.from(rows.map((r) => r[1])) };
        const m = itemUsers(p);
        // csrFromCoo sums repeats; the similarity counts users, so the values do not matter
        const a = cooccurrenceSimilarity(p);
        const b = cooccurrenceSimilarityFromItemUsers(m);
        for (let x = 0; x <= 10; x++) for (let y = 0; y <= 10; y++) expect(b(x, y)).toBeCloseTo(a(x, y), 12);
      }),
    );
  });
});
