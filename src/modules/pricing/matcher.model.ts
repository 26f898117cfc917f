/**
 * The learned product matcher: gradient-boosted trees (src/ml/gbt.ts) over `richPairFeatures`, with its
 * decision threshold and review band. Fitting follows the entity-matching protocol: trees fit on train,
 * hyper-parameters, early stopping and the threshold chosen on valid; test is never read here.
 * Serializable so the feed import can score offers with a model trained offline (`npm run train:matcher`).
 */
import { type FeatureMatrix, type GbtModel, type GbtTree, fitGbt, predictGbt } from '../../ml/gbt.ts';
import { type Idf, type LabeledPair, type Prepared, RICH_FEATURE_NAMES, prepare, prf, richPairFeatures } from './matcher.core.ts';

export interface LearnedMatcher {
  model: GbtModel;
  /** Probability at or above which a pair is a match (best F1 on valid). */
  threshold: number;
  params: { maxDepth: number; minSamplesLeaf: number; colsample: number };
  validF1: number;
}

/**
 * The import's operating points, read off valid: at or above `auto` an offer joins the candidate's group
 * unasked (valid precision >= 0.97); from `review` up to `auto` the pair waits in the review queue; `review` is
 * where, scanning down from `auto`, the valid pairs scored within 0.1 above it stop being at least a quarter
 * true matches (an operator's time is not spent on near-certain non-matches); below it the offer starts its
 * own group.
 */
export interface OperatingPoints {
  auto: number;
  review: number;
}

/** The operating points of scores `p` against labels `y` (thresholds by 0.01). */
export function operatingPoints(p: ArrayLike<number>, y: ArrayLike<number>, minPrecision = 0.97, minBandPrecision = 0.25): OperatingPoints {
  let auto = 0.99;
  for (let k = 99; k >= 1; k--) {
    const r = prf(
      Array.from(p, (v) => (v >= k / 100 ? 1 : 0)),
      y,
    );
    if (r.tp && r.precision >= minPrecision) auto = k / 100;
  }
  // Scan down from `auto`; stop where the scores just below hold too few true matches to be worth a look.
  let review = auto;
  for (let k = Math.round(auto * 100) - 1; k >= 1; k--) {
    let pos = 0;
    let all = 0;
    for (let i = 0; i < p.length; i++)
      if (p[i]! >= k / 100 && p[i]! < (k + 10) / 100) {
        all++;
        pos += y[i]!;
      }
    if (all && pos / all < minBandPrecision) break;
    review = k / 100;
  }
  return { auto, review };
}

/** The hyper-parameter grid searched on valid (fixed before any test figure was read). */
const GRID = [3, 5, 7].flatMap((maxDepth) =>
  [5, 20].flatMap((minSamplesLeaf) => [0.5, 1].map((colsample) => ({ maxDepth, minSamplesLeaf, colsample }))),
);

/** The rich-feature matrix of labeled pairs. */
export function richMatrix(pairs: readonly LabeledPair[], idf: Idf): { x: FeatureMatrix; y: Float64Array } {
  const d = RICH_FEATURE_NAMES.length;
  const data = new Float64Array(pairs.length * d);
  pairs.forEach((p, i) => data.set(richPairFeatures(prepare(p.left), prepare(p.right), idf), i * d));
  return { x: { rows: pairs.length, cols: d, data }, y: Float64Array.from(pairs, (p) => p.label) };
}

/** The threshold (0.05 to 0.95 by 0.01) with the best F1 of `p` against `y`. */
export function bestThreshold(p: ArrayLike<number>, y: ArrayLike<number>): { threshold: number; f1: number } {
  let best = { threshold: 0.5, f1: -1 };
  for (let k = 5; k <= 95; k++) {
    const th = k / 100;
    const f1 = prf(
      Array.from(p, (v) => (v >= th ? 1 : 0)),
      y,
    ).f1;
    if (f1 > best.f1) best = { threshold: th, f1 };
  }
  return best;
}

/**
 * Fits the boosted matcher: each grid point trains on `train` with early stopping on `valid`; the point and
 * threshold with the best valid F1 win. `grid` narrows the search (tests).
 */
export function fitLearnedMatcher(
  train: { x: FeatureMatrix; y: Float64Array },
  valid: { x: FeatureMatrix; y: Float64Array },
  grid: readonly LearnedMatcher['params'][] = GRID,
): LearnedMatcher {
  let best: LearnedMatcher | undefined;
  for (const params of grid) {
    const model = fitGbt(
      train.x,
      train.y,
      { objective: 'logistic', nTrees: 1500, learningRate: 0.05, subsample: 0.8, earlyStoppingRounds: 100, seed: 7, ...params },
      valid,
    );
    const b = bestThreshold(predictGbt(model, valid.x), valid.y);
    if (!best || b.f1 > best.validF1) best = { model, threshold: b.threshold, params, validF1: b.f1 };
  }
  return best!;
}

/** Match probabilities of prepared pairs. */
export function scorePairs(m: Pick<LearnedMatcher, 'model'>, pairs: readonly [Prepared, Prepared][], idf: Idf): Float64Array {
  const d = RICH_FEATURE_NAMES.length;
  const data = new Float64Array(pairs.length * d);
  pairs.forEach(([a, b], i) => data.set(richPairFeatures(a, b, idf), i * d));
  return predictGbt(m.model, { rows: pairs.length, cols: d, data });
}

/** A JSON-safe form of the trees (typed arrays as plain arrays). */
export interface SerializedMatcher {
  features: string[];
  threshold: number;
  points: OperatingPoints;
  params: LearnedMatcher['params'];
  validF1: number;
  baseScore: number;
  trees: { feature: number[]; threshold: number[]; left: number[]; right: number[]; value: number[] }[];
}

export function serializeMatcher(m: LearnedMatcher, points: OperatingPoints): SerializedMatcher {
  const r = (v: number) => Number(v.toPrecision(7));
  return {
    features: [...RICH_FEATURE_NAMES],
    threshold: m.threshold,
    points,
    params: m.params,
    validF1: m.validF1,
    baseScore: m.model.baseScore,
    trees: m.model.trees.map((t) => ({
      feature: Array.from(t.feature),
      threshold: Array.from(t.threshold, r),
      left: Array.from(t.left),
      right: Array.from(t.right),
      value: Array.from(t.value, r),
    })),
  };
}

/** Rebuilds a scorer from its JSON; refuses one trained on other features. */
export function deserializeMatcher(s: SerializedMatcher): Pick<LearnedMatcher, 'model' | 'threshold'> & { points: OperatingPoints } {
  if (s.features.length !== RICH_FEATURE_NAMES.length || s.features.some((f, i) => f !== RICH_FEATURE_NAMES[i]))
    throw new Error('the matcher model was trained on other features: run `npm run train:matcher`');
  const trees: GbtTree[] = s.trees.map((t) => ({
    feature: Int32Array.from(t.feature),
    threshold: Float64Array.from(t.threshold),
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    value: Float64Array.from(t.value),
  }));
  return {
    threshold: s.threshold,
    points: s.points,
    model: {
      objective: 'logistic',
      cols: RICH_FEATURE_NAMES.length,
      baseScore: s.baseScore,
      trees,
      trainLoss: [],
      validLoss: [],
      bestRounds: trees.length,
      gain: new Float64Array(RICH_FEATURE_NAMES.length),
    },
  };
}
