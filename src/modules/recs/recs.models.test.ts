import { describe, expect, it } from 'vitest';
import { csrFromCoo } from '../../ml/csr.ts';
import { rngMulberry32 } from '../../ml/random.ts';
import { fitGraphFilterModel } from '../../ml/graph-filter.ts';
import { ialsFoldIn } from '../../ml/ials.ts';
import { graphFilterOptions } from '../../ml/models.ts';
import { fitArtifact, servingModel } from './recs.models.ts';

/** 60 users in 3 taste groups over 30 items: enough structure for factors to converge to something. */
function groups() {
  const rng = rngMulberry32(5);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < 60; u++) {
    const g = u % 3;
    for (let k = 0; k < 8; k++) {
      us.push(u);
      is.push(g * 10 + Math.floor(rng() * 10));
    }
  }
  return csrFromCoo(60, 30, Int32Array.from(us), Int32Array.from(is), new Float32Array(us.length).fill(1));
}

const distance = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let n = 0;
  for (let k = 0; k < a.length; k++) {
    d += (a[k]! - b[k]!) ** 2;
    n += a[k]! ** 2;
  }
  return Math.sqrt(d / n);
};

describe('incremental iALS', () => {
  it('a warm start from converged item factors stays at the optimum in one sweep; a cold sweep is far from it', async () => {
    const train = groups();
    const params = { factors: 8, regularization: 0.1, alpha: 2, iterations: 20, cg_steps: 3 };
    const converged = (await fitArtifact('ials', train, params)).arrays.itemFactors as Float32Array;
    const warm = (await fitArtifact('ials', train, { ...params, iterations: 1 }, { warmStart: { itemRows: converged } })).arrays
      .itemFactors as Float32Array;
    const cold = (await fitArtifact('ials', train, { ...params, iterations: 1 })).arrays.itemFactors as Float32Array;
    expect(distance(converged, warm)).toBeLessThan(0.1);
    expect(distance(converged, cold)).toBeGreaterThan(0.5);
  });
});

describe('incremental LightGCN', () => {
  it('keeps the item ego embeddings in the artifact and starts from them', async () => {
    const train = groups();
    const params = {
      embedding_dim: 8,
      num_layers: 2,
      learning_rate: 0.01,
      batch_size: 64,
      epochs: 2,
      negative_samples: 1,
      reg: 1e-4,
      patience: 5,
    };
    const first = await fitArtifact('lightgcn', train, params);
    const ego = first.arrays.itemEgo as Float32Array;
    expect(ego).toHaveLength(30 * 8);
    // With a negligible learning rate a run ends where it starts: the warm one at the previous embeddings,
    // a cold one at a fresh random draw.
    const still = { ...params, epochs: 1, learning_rate: 1e-7 };
    const warm = (await fitArtifact('lightgcn', train, still, { warmStart: { itemRows: ego } })).arrays.itemEgo as Float32Array;
    const cold = (await fitArtifact('lightgcn', train, still)).arrays.itemEgo as Float32Array;
    expect(distance(ego, warm)).toBeLessThan(0.01);
    expect(distance(ego, cold)).toBeGreaterThan(0.1);
  });
});

describe('serving factor models', () => {
  it('iALS scores users (fold-in) and similar items (cosine) exactly as the naive formulas', async () => {
    const train = groups();
    const fitted = await fitArtifact('ials', train, { factors: 8, regularization: 0.1, alpha: 2, iterations: 5, cg_steps: 3 });
    const model = servingModel(fitted.meta, fitted.arrays);
    const Y = fitted.arrays.itemFactors as Float32Array;
    const f = 8;
    const ids = Int32Array.of(2, 5, 17);
    const w = Float32Array.of(1, 2, 1);
    const vec = ialsFoldIn(Y, f, fitted.arrays.itemGram as Float64Array, ids, w, { regularization: 0.1, alpha: 2 });
    const got = model.scoreUser(ids, w, new Float32Array(30));
    for (let j = 0; j < 30; j++) {
      let dot = 0;
      for (let k = 0; k < f; k++) dot += vec[k]! * Y[j * f + k]!;
      expect(got[j]).toBeCloseTo(dot, 4);
    }
    const sim = model.scoreSimilar(4, new Float32Array(30));
    const norm = (j: number) => Math.sqrt(Array.from(Y.subarray(j * f, j * f + f)).reduce((a, x) => a + x * x, 0));
    for (let j = 0; j < 30; j++) {
      if (j === 4) {
        expect(sim[j]).toBe(-Infinity);
        continue;
      }
      let dot = 0;
      for (let k = 0; k < f; k++) dot += Y[4 * f + k]! * Y[j * f + k]!;
      expect(sim[j]).toBeCloseTo(dot / (norm(4) * norm(j)), 4);
    }
  });
});

describe('graph filter hyperparameters', () => {
  it('the degree exponents reach the kernel: an asymmetric normalization ranks differently', async () => {
    const train = groups();
    const base = { rank: 8, ideal_weight: 0.3, sharpen: 0, linear_weight: 1 };
    const symmetric = servingModel(...(Object.values(await fitArtifact('graph_filter', train, base)) as [Record<string, unknown>, never]));
    const asym = servingModel(
      ...(Object.values(await fitArtifact('graph_filter', train, { ...base, user_exponent: 0.6, item_exponent: 0.4 })) as [
        Record<string, unknown>,
        never,
      ]),
    );
    const ids = Int32Array.of(1, 4);
    const w = Float32Array.of(1, 1);
    const a = Array.from(symmetric.scoreUser(ids, w, new Float32Array(30)));
    const b = Array.from(asym.scoreUser(ids, w, new Float32Array(30)));
    expect(b.some((x, j) => Math.abs(x - a[j]!) > 1e-4)).toBe(true);
  });
});

describe('graph filter serving artifact', () => {
  it('stores R̃ instead of the items x items filter, and serves what an artifact of the earlier form served', async () => {
    const train = groups();
    const params = { rank: 8, ideal_weight: 0.3, sharpen: 0.5, sharpen_rank: 4, linear_weight: 0.9 };
    const { meta, arrays } = await fitArtifact('graph_filter', train, params);
    expect(meta.form).toBe('factored');
    expect(arrays.linIndptr).toBeUndefined();
    expect((arrays.rnIndices as Int32Array).length).toBe(train.indices.length);
    // an artifact written before the serving form (P̃ stored) is still served, and ranks as the new one does
    const binary = { ...train, data: new Float32Array(train.data.length).fill(1) };
    const old = fitGraphFilterModel(binary, graphFilterOptions(params as never, train));
    const earlier = servingModel(
      { type: 'graph_filter', items: train.cols, rank: old.rank },
      {
        popularity: arrays.popularity!,
        linIndptr: old.linear.indptr,
        linIndices: old.linear.indices,
        linData: old.linear.data,
        left: old.left,
        right: old.right,
      },
    );
    const current = servingModel(meta, arrays);
    // what it holds: at least its artifact's arrays, R̃ once more by item, and the dot kernel's packed right rows
    const held = Object.values(arrays).reduce((t, x) => t + x.byteLength, 0);
    expect(current.bytes).toBeGreaterThan(
      held + (arrays.rnData as Float32Array).byteLength + (arrays.rightRows as Float32Array).byteLength,
    );
    for (const ids of [Int32Array.of(1, 4), Int32Array.of(12), Int32Array.of(3, 13, 23, 29)]) {
      const w = new Float32Array(ids.length).fill(1);
      const a = earlier.scoreUser(ids, w, new Float32Array(30));
      const b = current.scoreUser(ids, w, new Float32Array(30));
      for (let j = 0; j < 30; j++) expect(b[j]!).toBeCloseTo(a[j]!, 4);
    }
    const s1 = earlier.scoreSimilar(7, new Float32Array(30));
    const s2 = current.scoreSimilar(7, new Float32Array(30));
    expect(s2[7]).toBe(-Infinity);
    for (let j = 0; j < 30; j++) if (j !== 7) expect(s2[j]!).toBeCloseTo(s1[j]!, 4);
    expect(current.pair(1, 4)).toBeCloseTo(earlier.pair(1, 4), 5);
    expect(current.pair(1, 4)).toBeGreaterThan(0);
  });
});
