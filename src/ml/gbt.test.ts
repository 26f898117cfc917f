import { describe, expect, it } from 'vitest';
import { binEdges, fitGbt, predictGbt, type FeatureMatrix } from './gbt.ts';
import { rocAuc } from './metrics.ts';
import { rngMulberry32 } from './random.ts';

function synthetic(n: number, seed: number): { x: FeatureMatrix; y: Float64Array; logit: Float64Array } {
  const rng = rngMulberry32(seed);
  const d = 5;
  const data = new Float64Array(n * d);
  const y = new Float64Array(n);
  const logit = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = rng() * 2 - 1;
    // a non-linear truth: an interaction and a threshold, two noise features
    logit[i] = 3 * data[i * d]! * data[i * d + 1]! + (data[i * d + 2]! > 0.3 ? 2 : -1);
    y[i] = rng() < 1 / (1 + Math.exp(-logit[i]!)) ? 1 : 0;
  }
  return { x: { rows: n, cols: d, data }, y, logit };
}

describe('fitGbt', () => {
  it('one depth-1 tree with lr 1 and lambda 0 picks the exhaustive best split of the squared error', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const ys = [1, 1.2, 0.9, 1.1, 5, 5.2, 4.8, 5];
    const x = { rows: 8, cols: 1, data: Float64Array.from(xs) };
    const m = fitGbt(x, Float64Array.from(ys), {
      objective: 'squared_error',
      nTrees: 1,
      maxDepth: 1,
      learningRate: 1,
      lambda: 0,
      minSamplesLeaf: 1,
    });
    // naive reference: the best cut is between 4 and 5; leaf values are the side means 1.05 and 5
    expect(m.trees[0]!.threshold[0]).toBe(4.5);
    const p = predictGbt(m, x);
    expect(p[0]).toBeCloseTo(1.05, 12);
    expect(p[7]).toBeCloseTo(5, 12);
  });

  it('learns a non-linear logistic truth close to the Bayes AUC and stops early on validation', () => {
    const train = synthetic(3000, 1);
    const valid = synthetic(1000, 2);
    const test = synthetic(2000, 3);
    const m = fitGbt(
      train.x,
      train.y,
      { objective: 'logistic', nTrees: 600, maxDepth: 3, learningRate: 0.1, earlyStoppingRounds: 30 },
      valid,
    );
    expect(m.bestRounds).toBeLessThan(600);
    expect(m.trees.length).toBe(m.bestRounds);
    const auc = rocAuc(predictGbt(m, test.x), test.y);
    const bayes = rocAuc(test.logit, test.y); // the true logit ranks as well as anything can
    expect(auc).toBeGreaterThan(bayes - 0.03);
    // the noise features earn less gain than the informative ones
    expect(m.gain[3]! + m.gain[4]!).toBeLessThan(m.gain[0]! + m.gain[1]! + m.gain[2]!);
    // the training loss never rises from one round to the next (Newton steps with shrinkage)
    for (let i = 1; i < m.trainLoss.length; i++) expect(m.trainLoss[i]!).toBeLessThanOrEqual(m.trainLoss[i - 1]! + 1e-12);
  });

  it('is deterministic for a seed with subsampling, sends NaN left, and can be cancelled from the listener', () => {
    const t = synthetic(500, 4);
    const p = { objective: 'logistic' as const, nTrees: 20, subsample: 0.7, colsample: 0.6, seed: 9 };
    expect([...predictGbt(fitGbt(t.x, t.y, p), t.x)]).toEqual([...predictGbt(fitGbt(t.x, t.y, p), t.x)]);
    const withNaN = { rows: 1, cols: 5, data: Float64Array.of(Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN) };
    const lowest = { rows: 1, cols: 5, data: Float64Array.of(-5, -5, -5, -5, -5) };
    const m = fitGbt(t.x, t.y, p);
    expect(predictGbt(m, withNaN)[0]).toBe(predictGbt(m, lowest)[0]);
    expect(() =>
      fitGbt(t.x, t.y, p, undefined, (round) => {
        if (round === 5) throw new Error('cancelled');
      }),
    ).toThrow('cancelled');
  });

  it('refuses bad shapes and builds at most maxBins bins', () => {
    expect(() => fitGbt({ rows: 2, cols: 2, data: new Float64Array(3) }, new Float64Array(2), { objective: 'logistic' })).toThrow(
      RangeError,
    );
    expect(() => fitGbt({ rows: 0, cols: 1, data: new Float64Array(0) }, new Float64Array(0), { objective: 'logistic' })).toThrow(
      /no training rows/,
    );
    const x = { rows: 1000, cols: 1, data: Float64Array.from({ length: 1000 }, (_, i) => i) };
    expect(binEdges(x, 16)[0]!.length).toBeLessThanOrEqual(15);
    expect(binEdges({ rows: 3, cols: 1, data: Float64Array.of(2, 2, 2) }, 16)[0]!.length).toBe(0);
  });
});
