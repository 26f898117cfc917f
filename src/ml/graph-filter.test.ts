import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, csrRowToDense, type Csr } from './csr.ts';
import {
  createGramProduct,
  csrGramSparse,
  fitGraphFilterModel,
  graphFilterLowRank,
  normalizeBipartite,
  scoreGraphFilter,
} from './graph-filter.ts';
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

describe('createGramProduct', () => {
  it('equals the dense R̃ᵀ R̃ X and leaves the input unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        (rows, cols, quads, seed) => {
          const width = quads * 4;
          const m = normalizeBipartite(randomBinary(rows, cols, 0.3, seed), 0.6, 0.4).normalized;
          const gram = createGramProduct(m, width);
          const rng = rngMulberry32(seed ^ 0x5bd1);
          for (let i = 0; i < gram.input.length; i++) gram.input[i] = rng() - 0.5;
          const x = gram.input.slice();
          gram.apply();
          const md = toDense(m);
          for (let i = 0; i < cols; i++)
            for (let c = 0; c < width; c++) {
              let s = 0;
              for (let u = 0; u < rows; u++) for (let j = 0; j < cols; j++) s += md[u * cols + i]! * md[u * cols + j]! * x[j * width + c]!;
              expect(gram.output[i * width + c]!).toBeCloseTo(s, 4);
            }
          expect(Array.from(gram.input)).toEqual(Array.from(x));
        },
      ),
      { numRuns: 30 },
    );
  });
});

/**
 * Dense reference of the whole filter from the same SVD: R̃ = D_U^-a R D_I^-b / σ₁, P̃ = R̃ᵀR̃,
 * s_u = l_u + alpha r_u D^-e V Vᵀ D^e (I − T_i P̃) − T_x l_u P̃ − T r_u V_k' σ⁴ V_k'ᵀ, l_u = r_u P̃.
 */
function denseScores(
  r: Csr,
  o: {
    rank: number;
    userExponent: number;
    itemExponent: number;
    idealExponent: number;
    idealWeight: number;
    idealSharpen: number;
    exactSharpen: number;
    sharpen: number;
    sharpenRank: number;
    oversample: number;
    powerIterations: number;
    seed: number;
  },
): Float64Array {
  const users = r.rows;
  const items = r.cols;
  const k = o.rank;
  const { normalized, itemDegree } = normalizeBipartite(r, o.userExponent, o.itemExponent);
  const svd = svdTruncatedSparse(normalized, k, { seed: o.seed, oversample: o.oversample, powerIterations: o.powerIterations });
  const top = svd.s[0]!;
  const nd = toDense(normalized).map((x) => x / top);
  const sv = svd.s.map((x) => x / top);
  const rd = toDense(r);
  const pt = new Float64Array(items * items);
  for (let i = 0; i < items; i++)
    for (let j = 0; j < items; j++) for (let v = 0; v < users; v++) pt[i * items + j]! += nd[v * items + i]! * nd[v * items + j]!;
  // filter F = P̃ + alpha D^-e V Vᵀ D^e (I − T_i P̃) − T_x P̃² − T V_k' σ⁴ V_k'ᵀ, then s_u = r_u F
  const ideal = new Float64Array(items * items);
  for (let i = 0; i < items; i++)
    for (let j = 0; j < items; j++) {
      const di = itemDegree[i]!;
      const dj = itemDegree[j]!;
      if (di === 0 || dj === 0) continue;
      let vv = 0;
      for (let t = 0; t < k; t++) vv += svd.v[i * k + t]! * svd.v[j * k + t]!;
      ideal[i * items + j] = (o.idealWeight * vv * dj ** o.idealExponent) / di ** o.idealExponent;
    }
  const f = new Float64Array(items * items);
  for (let i = 0; i < items; i++)
    for (let j = 0; j < items; j++) {
      let idealSharp = 0;
      let p2 = 0;
      for (let h = 0; h < items; h++) {
        idealSharp += ideal[i * items + h]! * pt[h * items + j]!;
        p2 += pt[i * items + h]! * pt[h * items + j]!;
      }
      let trunc = 0;
      for (let t = 0; t < o.sharpenRank; t++) trunc += sv[t]! ** 4 * svd.v[i * k + t]! * svd.v[j * k + t]!;
      f[i * items + j] = pt[i * items + j]! + ideal[i * items + j]! - o.idealSharpen * idealSharp - o.exactSharpen * p2 - o.sharpen * trunc;
    }
  const out = new Float64Array(users * items);
  for (let u = 0; u < users; u++)
    for (let i = 0; i < items; i++) {
      const x = rd[u * items + i]!;
      if (x !== 0) for (let j = 0; j < items; j++) out[u * items + j]! += x * f[i * items + j]!;
    }
  return out;
}

describe('graph filter scores', () => {
  const base = {
    rank: 4,
    idealWeight: 0.3,
    idealExponent: 0.5,
    sharpen: 0,
    sharpenRank: 3,
    idealSharpen: 0,
    exactSharpen: 0,
    oversample: 10,
    powerIterations: 3,
    seed: 5,
  };
  const cases = {
    'GF-CF with truncated sharpening (a = b = 1/2)': { ...base, userExponent: 0.5, itemExponent: 0.5, sharpen: 0.5 },
    'BSPM-style ideal and exact sharpening, a = 0.6, b = 0.4': {
      ...base,
      userExponent: 0.6,
      itemExponent: 0.4,
      idealSharpen: 0.8,
      exactSharpen: 0.3,
      idealExponent: 0.3,
    },
    'every term at once': { ...base, userExponent: 0.7, itemExponent: 0.45, idealSharpen: 0.5, exactSharpen: 0.4, sharpen: 0.2 },
  };
  for (const [name, opts] of Object.entries(cases)) {
    it(`the reference scorer equals a dense recomputation of r_u F: ${name}`, () => {
      const users = 25;
      const items = 18;
      const r = randomBinary(users, items, 0.25, 42);
      const model = fitGraphFilterModel(r, opts);
      expect(model.exact !== undefined).toBe(opts.exactSharpen !== 0);
      expect(model.singularValues[0]!).toBeCloseTo(1, 12);
      const out = new Float32Array(users * items);
      scoreGraphFilter(
        model,
        r,
        Int32Array.from({ length: users }, (_, i) => i),
        out,
      );
      const expected = denseScores(r, opts);
      for (let i = 0; i < out.length; i++) expect(out[i]!).toBeCloseTo(expected[i]!, 4);
    });
  }

  it('graphFilterLowRank stacks the ideal and truncated sharpening blocks', () => {
    const r = randomBinary(25, 18, 0.25, 42);
    const { normalized, itemDegree } = normalizeBipartite(r, 0.5, 0.5);
    const svd = svdTruncatedSparse(normalized, 4, { seed: 5, oversample: 10, powerIterations: 3 });
    const p = { idealExponent: 0.5, idealWeight: 0.3, sharpen: 0.5, sharpenRank: 3, idealSharpen: 0 };
    const { left, right, rank } = graphFilterLowRank(svd, itemDegree, p, normalized);
    expect(rank).toBe(4 + 3);
    expect(left.length).toBe(18 * 7);
    expect(right.length).toBe(7 * 18);
    // the sharpening block pairs −T σ⁴ v with v
    expect(left[2 * 7 + 4 + 1]!).toBeCloseTo(-0.5 * svd.s[1]! ** 4 * svd.v[2 * 4 + 1]!, 6);
    expect(right[(4 + 1) * 18 + 2]!).toBeCloseTo(svd.v[2 * 4 + 1]!, 6);
  });

  for (const exactSharpen of [0, 0.3]) {
    it(`the worker-thread SIMD scorer equals the reference scorer (exact sharpening ${exactSharpen})`, async () => {
      const users = 37;
      const items = 29; // not a multiple of 8: exercises panel padding
      const r = randomBinary(users, items, 0.2, 7);
      const model = fitGraphFilterModel(r, {
        rank: 6,
        oversample: 8,
        powerIterations: 2,
        seed: 1,
        sharpen: 0.2,
        idealSharpen: 0.5,
        exactSharpen,
        userExponent: 0.6,
        itemExponent: 0.4,
      });
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
  }
});
