import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, type Csr } from './csr.ts';
import { accumulateTopKSums, emptyTopKSums, evaluateTopK, mergeTopKSums, topKMetricsFromSums } from './eval.ts';
import { rngMulberry32 } from './random.ts';

function randomBinary(rows: number, cols: number, density: number, seed: number): Csr {
  const rng = rngMulberry32(seed);
  const r: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (rng() < density) {
        r.push(i);
        c.push(j);
      }
  return csrFromCoo(rows, cols, r, c);
}

describe('accumulateTopKSums', () => {
  it('computes recall, NDCG and precision by hand on a small case', () => {
    // 1 user, 6 items; train {0}; test {2, 4, 5}; scores rank 0 (excluded), then 2, 3, 4, 1, 5
    const train = csrFromCoo(1, 6, [0], [0]);
    const test = csrFromCoo(1, 6, [0, 0, 0], [2, 4, 5]);
    const scores = Float32Array.from([10, 2, 9, 8, 7, 1]);
    const m = topKMetricsFromSums(accumulateTopKSums(train, test, Int32Array.of(0), scores, emptyTopKSums(3, 6)));
    // top-3 = [2, 3, 4]: hits at ranks 1 and 3
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    const dcg = 1 / Math.log2(2) + 1 / Math.log2(4);
    const idcg = 1 / Math.log2(2) + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(m.ndcg).toBeCloseTo(dcg / idcg, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.coverage).toBeCloseTo(3 / 6, 12);
  });

  it('recall is not capped: 25 test items, k = 20, perfect scorer gives 0.8 and NDCG 1', () => {
    const items = 40;
    const testItems = Array.from({ length: 25 }, (_, i) => i);
    const train = csrFromCoo(1, items, [], []);
    const test = csrFromCoo(
      1,
      items,
      testItems.map(() => 0),
      testItems,
    );
    const scores = new Float32Array(items).map((_, i) => (i < 25 ? 1 : 0));
    const m = topKMetricsFromSums(accumulateTopKSums(train, test, Int32Array.of(0), scores, emptyTopKSums(20, items)));
    expect(m.recall).toBeCloseTo(0.8, 12);
    expect(m.ndcg).toBeCloseTo(1, 12);
  });
});

describe('evaluateTopK', () => {
  it('a perfect scorer has recall 1 and NDCG 1 when |test_u| <= k; any scorer stays in [0, 1]', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), async (seed) => {
        const train = randomBinary(12, 30, 0.2, seed);
        const testAll = randomBinary(12, 30, 0.15, seed + 1);
        // drop test pairs that are in train
        const r: number[] = [];
        const c: number[] = [];
        for (let u = 0; u < 12; u++) {
          const tr = new Set(Array.from(train.indices.subarray(train.indptr[u]!, train.indptr[u + 1]!)));
          for (let p = testAll.indptr[u]!; p < testAll.indptr[u + 1]!; p++)
            if (!tr.has(testAll.indices[p]!)) {
              r.push(u);
              c.push(testAll.indices[p]!);
            }
        }
        const test = csrFromCoo(12, 30, r, c);
        const perfect = await evaluateTopK({
          train,
          test,
          k: 10,
          batchSize: 5,
          scoreBatch: (ids, out) => {
            out.fill(0);
            ids.forEach((u, b) => {
              for (let p = test.indptr[u]!; p < test.indptr[u + 1]!; p++) out[b * 30 + test.indices[p]!] = 1;
            });
          },
        });
        if (perfect.users > 0) {
          expect(perfect.ndcg).toBeCloseTo(1, 9);
          expect(perfect.recall).toBeLessThanOrEqual(1 + 1e-12);
        }
        const rng = rngMulberry32(seed);
        const random = await evaluateTopK({
          train,
          test,
          k: 5,
          batchSize: 4,
          scoreBatch: async (_ids, out) => void out.forEach((_, i) => (out[i] = rng())),
        });
        for (const v of [random.recall, random.ndcg, random.precision, random.coverage]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('merging per-block sums equals one pass (worker-style use)', () => {
    const train = randomBinary(20, 25, 0.2, 3);
    const test = randomBinary(20, 25, 0.1, 4);
    const rng = rngMulberry32(5);
    const scores = new Float32Array(20 * 25).map(() => rng());
    const all = Int32Array.from({ length: 20 }, (_, i) => i);
    const one = accumulateTopKSums(train, test, all, scores.slice(), emptyTopKSums(5, 25));
    const a = accumulateTopKSums(train, test, all.subarray(0, 7), scores.slice(0, 7 * 25), emptyTopKSums(5, 25));
    const b = accumulateTopKSums(train, test, all.subarray(7), scores.slice(7 * 25), emptyTopKSums(5, 25));
    const merged = topKMetricsFromSums(mergeTopKSums(a, b));
    const direct = topKMetricsFromSums(one);
    expect(merged.users).toBe(direct.users);
    expect(merged.recall).toBeCloseTo(direct.recall, 12);
    expect(merged.ndcg).toBeCloseTo(direct.ndcg, 12);
    expect(merged.coverage).toBeCloseTo(direct.coverage, 12);
  });
});

describe('evaluateTopK cutoffs', () => {
  it('reports each extra cutoff exactly as an evaluation at that k would', async () => {
    const train = randomBinary(40, 30, 0.15, 5);
    const test = randomBinary(40, 30, 0.05, 6);
    const rng = rngMulberry32(9);
    const fixed = Float32Array.from({ length: 40 * 30 }, () => Math.round(rng() * 8));
    const scoreBatch = (ids: Int32Array, out: Float32Array) => {
      ids.forEach((u, b) => out.set(fixed.subarray(u * 30, (u + 1) * 30), b * 30));
    };
    const both = await evaluateTopK({ train, test, k: 20, cutoffs: [5, 10], scoreBatch, batchSize: 7 });
    for (const c of [5, 10]) {
      const alone = await evaluateTopK({ train, test, k: c, scoreBatch, batchSize: 7 });
      const { users: _users, at: _at, ...expected } = alone;
      expect(both.at[c]).toEqual(expected);
    }
    expect(() => emptyTopKSums(5, 30, [6])).toThrow(RangeError);
  });
});
