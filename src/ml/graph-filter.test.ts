import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, csrRowToDense, type Csr } from './csr.ts';
import { csrGramSparse, fitGraphFilterModel, graphFilterLowRank, normalizeBipartite, scoreGraphFilter } from './graph-filter.ts';
import { createGraphFilterScorer } from './graph-filter.scorer.ts';
import { rngMulberry32 } from './random.ts';
import { svdTruncatedSparse } from './svd.ts';

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

function toDense(m: Csr): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) out.set(csrRowToDense(m, r), r * m.cols);
  return out;
}

describe('csrGramSparse', () => {
  it('equals the dense MᵀM, is symmetric and has ascending rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 10 }), fc.integer(), (rows, cols, seed) => {
        const m = normalizeBipartite(randomBinary(rows, cols, 0.3, seed), 0.5, 0.5).normalized;
        const g = csrGramSparse(m, 2);
        const gd = toDense(g);
        const md = toDense(m);
        for (let i = 0; i < cols; i++) {
          for (let j = 0; j < cols; j++) {
            let s = 0;
            for (let u = 0; u < rows; u++) s += md[u * cols + i]! * md[u * cols + j]!;
            expect(gd[i * cols + j]!).toBeCloseTo(2 * s, 5);
            expect(gd[i * cols + j]!).toBeCloseTo(gd[j * cols + i]!, 6);
          }
          for (let p = g.indptr[i]! + 1; p < g.indptr[i + 1]!; p++) expect(g.indices[p]!).toBeGreaterThan(g.indices[p - 1]!);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe('graph filter scores', () => {
  it('the scorer equals a dense recomputation of r_u (P̃ + alpha D^-e V Vᵀ D^e − T V σ⁴ Vᵀ)', () => {
    const users = 25;
    const items = 18;
    const r = randomBinary(users, items, 0.25, 42);
    const k = 4;
    const opts = { rank: k, idealWeight: 0.3, sharpen: 0.5, sharpenRank: 3, idealExponent: 0.5, oversample: 10, powerIterations: 3, seed: 5 };
    const model = fitGraphFilterModel(r, opts);
    const out = new Float32Array(users * items);
    const ids = Int32Array.from({ length: users }, (_, i) => i);
    scoreGraphFilter(model, r, ids, out);
    // dense reference from the same SVD
    const { normalized, itemDegree } = normalizeBipartite(r, 0.5, 0.5);
    const svd = svdTruncatedSparse(normalized, k, { seed: 5, oversample: 10, powerIterations: 3 });
    const nd = toDense(normalized);
    const rd = toDense(r);
    for (let u = 0; u < users; u++) {
      for (let j = 0; j < items; j++) {
        let lin = 0;
        let low = 0;
        for (let i = 0; i < items; i++) {
          const x = rd[u * items + i]!;
          if (x === 0) continue;
          let p = 0;
          for (let v = 0; v < users; v++) p += nd[v * items + i]! * nd[v * items + j]!;
          lin += x * p;
          for (let t = 0; t < k; t++) {
            const di = itemDegree[i]!;
            const dj = itemDegree[j]!;
            if (di > 0 && dj > 0) low += (x * 0.3 * svd.v[i * k + t]! * svd.v[j * k + t]! * Math.sqrt(dj)) / Math.sqrt(di);
          }
          for (let t = 0; t < 3; t++) low -= x * 0.5 * svd.s[t]! ** 4 * svd.v[i * k + t]! * svd.v[j * k + t]!;
        }
        expect(out[u * items + j]!).toBeCloseTo(lin + low, 4);
      }
    }
    const { left, right, rank } = graphFilterLowRank(svd, itemDegree, { idealExponent: 0.5, idealWeight: 0.3, sharpen: 0.5, sharpenRank: 3 });
    expect(rank).toBe(k + 3);
    expect(Array.from(left)).toEqual(Array.from(model.left));
    expect(Array.from(right)).toEqual(Array.from(model.right));
  });

  it('the worker-thread SIMD scorer equals the reference scorer', async () => {
    const users = 37;
    const items = 29; // not a multiple of 8: exercises panel padding
    const r = randomBinary(users, items, 0.2, 7);
    const model = fitGraphFilterModel(r, { rank: 6, oversample: 8, powerIterations: 2, seed: 1, sharpen: 0.2 });
    const ids = Int32Array.from([3, 0, 36, 5, 5, 12, 20, 21, 22, 30, 1]);
    const expected = new Float32Array(ids.length * items);
    scoreGraphFilter(model, r, ids, expected);
    const scorer = createGraphFilterScorer(model, r, { workers: 2, group: 4 });
    try {
      const out = new Float32Array(new SharedArrayBuffer(ids.length * items * 4));
      await scorer.scoreBatch(ids, out);
      for (let i = 0; i < out.length; i++) expect(out[i]!).toBeCloseTo(expected[i]!, 5);
    } finally {
      await scorer.close();
    }
  });
});
