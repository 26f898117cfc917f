import { describe, expect, it } from 'vitest';
import { csrFromCoo, type Csr } from './csr.ts';
import { fitGraphFilterModel, scoreGraphFilter, type GraphFilterOptions } from './graph-filter.ts';
import { createGraphFilterServingScorer, fitGraphFilterServing } from './graph-filter.serving.ts';
import { rngMulberry32 } from './random.ts';

/** Users x items with a popular head (item j drawn with weight 1 / (j + 1)), so P̃ has dense rows. */
function skewed(users: number, items: number, perUser: number, seed: number): Csr {
  const rng = rngMulberry32(seed);
  const weights = Array.from({ length: items }, (_, j) => 1 / (j + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const r: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < users; u++) {
    const picked = new Set<number>();
    while (picked.size < perUser) {
      let x = rng() * total;
      let j = 0;
      while (x > weights[j]! && j < items - 1) x -= weights[j++]!;
      picked.add(j);
    }
    for (const j of picked) {
      r.push(u);
      c.push(j);
    }
  }
  return csrFromCoo(users, items, r, c);
}

const SETTINGS: [string, GraphFilterOptions][] = [
  ['GF-CF defaults', { rank: 16 }],
  [
    'asymmetric, weighted, sharpened',
    { rank: 12, userExponent: 0.7, itemExponent: 0.3, linearWeight: 0.8, idealWeight: 0.45, sharpen: 1.1, sharpenRank: 6 },
  ],
  ['ideal sharpening', { rank: 10, idealSharpen: 0.5 }],
];

describe('graph filter serving form', () => {
  const train = skewed(120, 60, 8, 3);

  it.each(SETTINGS)('scores every user as the offline form does (%s)', (_name, options) => {
    const offline = fitGraphFilterModel(train, options);
    const served = fitGraphFilterServing(train, options);
    expect(served.rank).toBe(offline.rank);
    const scorer = createGraphFilterServingScorer(served);
    const n = train.cols;
    const expected = new Float32Array(n);
    const got = new Float32Array(n);
    let largest = 0;
    for (let u = 0; u < train.rows; u++) {
      scoreGraphFilter(offline, train, Int32Array.of(u), expected);
      const ids = train.indices.slice(train.indptr[u]!, train.indptr[u + 1]!);
      scorer.scoreUser(ids, new Float32Array(ids.length).fill(1), got);
      for (let i = 0; i < n; i++) {
        largest = Math.max(largest, Math.abs(expected[i]!));
        expect(got[i]!).toBeCloseTo(expected[i]!, 4);
      }
    }
    expect(largest).toBeGreaterThan(0.01); // the comparison is about real scores, not zeros
  });

  it('ignores items with a non-positive weight, counts a listed item each time, and scores one item as its row', () => {
    const options = { rank: 8 };
    const offline = fitGraphFilterModel(train, options);
    const scorer = createGraphFilterServingScorer(fitGraphFilterServing(train, options));
    const n = train.cols;
    const single = csrFromCoo(1, n, [0], [5]);
    const expected = new Float32Array(n);
    scoreGraphFilter(offline, single, Int32Array.of(0), expected);
    const got = scorer.scoreItem(5, new Float32Array(n));
    for (let i = 0; i < n; i++) expect(got[i]!).toBeCloseTo(expected[i]!, 4);
    const withNegative = scorer.scoreUser(Int32Array.of(5, 9), Float32Array.of(2, -1), new Float32Array(n));
    for (let i = 0; i < n; i++) expect(withNegative[i]!).toBeCloseTo(expected[i]!, 4);
    const twice = scorer.scoreUser(Int32Array.of(5, 5), Float32Array.of(1, 1), new Float32Array(n));
    for (let i = 0; i < n; i++) expect(twice[i]!).toBeCloseTo(2 * expected[i]!, 4);
  });

  it('pair is the weighted linear filter P̃[a, b] of the offline form', () => {
    const options = { rank: 8, linearWeight: 0.7 };
    const offline = fitGraphFilterModel(train, options);
    const scorer = createGraphFilterServingScorer(fitGraphFilterServing(train, options));
    const lookup = (a: number, b: number): number => {
      for (let p = offline.linear.indptr[a]!; p < offline.linear.indptr[a + 1]!; p++)
        if (offline.linear.indices[p] === b) return offline.linear.data[p]!;
      return 0;
    };
    let nonzero = 0;
    for (let a = 0; a < train.cols; a += 3)
      for (let b = 0; b < train.cols; b += 2) {
        expect(scorer.pair(a, b)).toBeCloseTo(lookup(a, b), 5);
        if (lookup(a, b) !== 0) nonzero++;
      }
    expect(nonzero).toBeGreaterThan(50);
  });

  it('keeps R̃ instead of the items x items filter, and refuses the unserved exact sharpening', () => {
    const options = { rank: 8 };
    const offline = fitGraphFilterModel(train, options);
    const served = fitGraphFilterServing(train, options);
    // the popular head makes P̃ denser than R̃ (here each of 60 items co-occurs with most others)
    expect(offline.linear.indices.length).toBeGreaterThan(2 * served.normalized.indices.length);
    expect(served.normalized.indices.length).toBe(train.indices.length);
    expect(() => fitGraphFilterServing(train, { rank: 8, exactSharpen: 0.3 })).toThrow(/not served/);
  });
});
