import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { csrFromCoo, type Csr } from './csr.ts';
import {
  fitItemKnn,
  frequentlyBoughtTogether,
  itemSimilarityTopK,
  scoreItemKnnBatch,
  similarItems,
  type ItemSimilarityParams,
} from './item-knn.ts';

function toDense(m: Csr): number[][] {
  const out = Array.from({ length: m.rows }, () => new Array<number>(m.cols).fill(0));
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) out[r]![m.indices[p]!] = m.data[p]!;
  }
  return out;
}

/** Dense O(I^2 U) reference of `itemSimilarityTopK`. */
function naiveSimilarity(x: number[][], nItems: number, params: ItemSimilarityParams): number[][] {
  const cosine = (params.measure ?? 'cosine') === 'cosine';
  const shrink = params.shrink ?? 0;
  const binary = params.binary ?? false;
  const minCount = params.minCount ?? 1;
  const v = (r: number, i: number): number => (binary ? (x[r]![i] !== 0 ? 1 : 0) : x[r]![i]!);
  const norm = (i: number): number => Math.sqrt(x.reduce((s, _row, r) => s + v(r, i) ** 2, 0));
  const out = Array.from({ length: nItems }, () => new Array<number>(nItems).fill(0));
  for (let i = 0; i < nItems; i++) {
    const cand: Array<[number, number]> = [];
    for (let j = 0; j < nItems; j++) {
      if (j === i) continue;
      let dot = 0;
      let count = 0;
      for (let r = 0; r < x.length; r++) {
        if (x[r]![i] !== 0 && x[r]![j] !== 0) count++;
        dot += v(r, i) * v(r, j);
      }
      if (count < minCount) continue;
      const s = cosine ? dot / (norm(i) * norm(j) + shrink) : dot;
      if (s > 0) cand.push([j, s]);
    }
    cand.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [j, s] of cand.slice(0, params.k)) out[i]![j] = s;
  }
  return out;
}

const interactionsArb = fc
  .record({ users: fc.integer({ min: 1, max: 12 }), items: fc.integer({ min: 1, max: 10 }) })
  .chain(({ users, items }) =>
    fc.record({
      users: fc.constant(users),
      items: fc.constant(items),
      triples: fc.array(
        fc.tuple(fc.integer({ min: 0, max: users - 1 }), fc.integer({ min: 0, max: items - 1 }), fc.integer({ min: 1, max: 4 })),
        { maxLength: 60 },
      ),
    }),
  );

function build(arb: { users: number; items: number; triples: Array<[number, number, number]> }): Csr {
  return csrFromCoo(
    arb.users,
    arb.items,
    arb.triples.map((t) => t[0]),
    arb.triples.map((t) => t[1]),
    arb.triples.map((t) => t[2]),
  );
}

describe('itemSimilarityTopK', () => {
  it('equals the dense reference for cosine, co-occurrence, shrink, binary and minCount', () => {
    fc.assert(
      fc.property(
        interactionsArb,
        fc.record({
          k: fc.integer({ min: 0, max: 10 }),
          measure: fc.constantFrom('cosine' as const, 'cooccurrence' as const),
          shrink: fc.constantFrom(0, 0.5, 10),
          binary: fc.boolean(),
          minCount: fc.integer({ min: 1, max: 3 }),
        }),
        (arb, params) => {
          const m = build(arb);
          const sim = itemSimilarityTopK(m, params);
          const got = toDense(sim);
          const expected = naiveSimilarity(toDense(m), arb.items, params);
          for (let i = 0; i < arb.items; i++) {
            for (let j = 0; j < arb.items; j++) expect(got[i]![j]).toBeCloseTo(expected[i]![j]!, 5);
            // Csr convention: ascending columns within a row
            for (let p = sim.indptr[i]! + 1; p < sim.indptr[i + 1]!; p++) expect(sim.indices[p]).toBeGreaterThan(sim.indices[p - 1]!);
          }
        },
      ),
    );
  });

  it('is symmetric, non-negative and at most 1 (cosine) when K keeps every neighbour', () => {
    fc.assert(
      fc.property(interactionsArb, fc.constantFrom(0, 2), (arb, shrink) => {
        const sim = toDense(itemSimilarityTopK(build(arb), { k: arb.items, shrink }));
        for (let i = 0; i < arb.items; i++) {
          expect(sim[i]![i]).toBe(0);
          for (let j = 0; j < arb.items; j++) {
            expect(sim[i]![j]).toBeGreaterThanOrEqual(0);
            expect(sim[i]![j]).toBeLessThanOrEqual(1 + 1e-6);
            expect(sim[i]![j]).toBeCloseTo(sim[j]![i]!, 6);
          }
        }
      }),
    );
  });
});

describe('item-kNN serving', () => {
  // users 0..3 over items 0..4; item 4 is never co-consumed
  const train = csrFromCoo(4, 5, [0, 0, 1, 1, 1, 2, 2, 3], [0, 1, 0, 1, 2, 1, 2, 4], [1, 1, 1, 2, 1, 1, 1, 1]);

  it('similarItems returns the best neighbours first', () => {
    const model = fitItemKnn(train, { k: 3, binary: true });
    const top = model.similarItems(1, 2);
    // item 1 shares 2 users with item 0 and with item 2; cos = 2 / sqrt(3 * 2)
    expect([...top.indices]).toEqual([0, 2]);
    expect(top.scores[0]).toBeCloseTo(2 / Math.sqrt(6), 6);
    expect(similarItems(model.similarity, 4, 5).indices.length).toBe(0);
  });

  it('scoreBatch sums weighted neighbour similarities (naive reference)', () => {
    const sim = itemSimilarityTopK(train, { k: 2 });
    const simD = toDense(sim);
    const x = toDense(train);
    const users = Int32Array.from([2, 0, 3]);
    const out = new Float32Array(users.length * 5);
    scoreItemKnnBatch(train, sim, users, out);
    users.forEach((u, b) => {
      for (let j = 0; j < 5; j++) {
        const expected = x[u]!.reduce((s, w, i) => s + w * simD[i]![j]!, 0);
        expect(out[b * 5 + j]).toBeCloseTo(expected, 6);
      }
    });
    const model = fitItemKnn(train, { k: 2 });
    const one = new Float32Array(5);
    model.scoreUser([0, 1], [1, 1], one);
    expect([...one]).toEqual([...out.subarray(5, 10)]);
  });

  it('frequentlyBoughtTogether counts shared baskets and applies minimum support', () => {
    // baskets: {0,1,2}, {0,1}, {0,1,3}, {2,3}; quantities must not inflate counts
    const baskets = csrFromCoo(4, 4, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3], [0, 1, 2, 0, 1, 0, 1, 3, 2, 3], [5, 1, 1, 1, 9, 1, 1, 1, 1, 1]);
    const fbt = frequentlyBoughtTogether(baskets, { k: 3, minSupport: 2 });
    const top = similarItems(fbt, 0, 3);
    expect([...top.indices]).toEqual([1]);
    expect([...top.scores]).toEqual([3]);
    const loose = frequentlyBoughtTogether(baskets, { k: 3, minSupport: 1 });
    expect([...similarItems(loose, 0, 3).indices]).toEqual([1, 2, 3]);
  });
});
