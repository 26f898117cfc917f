/**
 * The learned product matcher: gradient-boosted trees (src/ml/gbt.ts) over `richPairFeatures`, with its
 * decision threshold and review band. Fitting follows the entity-matching protocol: trees fit on train,
 * hyper-parameters, early stopping and the threshold chosen on valid; test is never read here.
 * Serializable so the feed import can score offers with a model trained offline (`npm run train:matcher`).
 */
import { type FeatureMatrix, type GbtModel, type GbtTree, fitGbt, predictGbt } from '../../ml/gbt.ts';
import { rngMulberry32, shuffleInPlace } from '../../ml/random.ts';
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

/** Two labeled matrices of the same width, one under the other. */
export function stackRows(
  a: { x: FeatureMatrix; y: Float64Array },
  b: { x: FeatureMatrix; y: Float64Array },
): { x: FeatureMatrix; y: Float64Array } {
  if (a.x.cols !== b.x.cols) throw new RangeError('stackRows: widths differ');
  const data = new Float64Array(a.x.data.length + b.x.data.length);
  data.set(a.x.data);
  data.set(b.x.data, a.x.data.length);
  const y = new Float64Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { x: { rows: a.x.rows + b.x.rows, cols: a.x.cols, data }, y };
}

/** Rows `idx` of a labeled matrix. */
function takeRows(m: { x: FeatureMatrix; y: Float64Array }, idx: ArrayLike<number>): { x: FeatureMatrix; y: Float64Array } {
  const d = m.x.cols;
  const data = new Float64Array(idx.length * d);
  const y = new Float64Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    data.set(m.x.data.subarray(i * d, (i + 1) * d), r * d);
    y[r] = m.y[i]!;
  }
  return { x: { rows: idx.length, cols: d, data }, y };
}

/**
 * One model from k: the average of their margins (log-odds), as a single tree list with every leaf scaled by 1/k,
 * so scoring, serialization and the matching thread see an ordinary model.
 */
export function averageGbtModels(models: readonly GbtModel[]): GbtModel {
  const k = models.length;
  if (!k) throw new RangeError('averageGbtModels: no models');
  const cols = models[0]!.cols;
  const gain = new Float64Array(cols);
  for (const m of models) for (let j = 0; j < cols; j++) gain[j]! += m.gain[j]! / k;
  return {
    objective: models[0]!.objective,
    cols,
    baseScore: models.reduce((s, m) => s + m.baseScore, 0) / k,
    trees: models.flatMap((m) => m.trees.map((t) => ({ ...t, value: t.value.map((v) => v / k) }))),
    trainLoss: [],
    validLoss: [],
    bestRounds: models.reduce((s, m) => s + m.bestRounds, 0),
    gain,
  };
}

/** The k-fold matcher: the learned matcher plus the out-of-fold F1 its choices were made on. */
export interface CvMatcher extends LearnedMatcher {
  folds: number;
  /** Out-of-fold match probability of every labeled pair (what the threshold and operating points are read off). */
  oof: Float64Array;
}

/**
 * Fits the boosted matcher by k-fold cross-fitting over all labeled pairs (train and valid together; test is never
 * passed here): rows are shuffled by `seed` into `folds` folds; for each grid point, one model per fold trains on
 * the other folds with early stopping on its own fold, whose predictions are its out-of-fold scores. The grid point
 * and the threshold with the best out-of-fold F1 win (chosen on every labeled pair, not on valid's ~200 matches
 * alone), and the matcher is the average of that point's k fold models (bagging: each saw (k-1)/k of the pairs).
 * `validF1` is the out-of-fold F1. Costs k fits per grid point.
 */
export function fitCvMatcher(
  all: { x: FeatureMatrix; y: Float64Array },
  opts: { folds?: number; seed?: number; grid?: readonly LearnedMatcher['params'][] } = {},
): CvMatcher {
  const folds = opts.folds ?? 5;
  const n = all.x.rows;
  if (n < folds * 2) throw new RangeError(`fitCvMatcher: ${n} pairs are too few for ${folds} folds`);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, rngMulberry32(opts.seed ?? 11));
  const foldOf = new Int32Array(n);
  order.forEach((row, r) => {
    foldOf[row] = r % folds;
  });
  const parts = Array.from({ length: folds }, (_, k) => {
    const inFold: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === k ? inFold : rest).push(i);
    return { inFold, fit: takeRows(all, rest), held: takeRows(all, inFold) };
  });
  let best: CvMatcher | undefined;
  for (const params of opts.grid ?? GRID) {
    const oof = new Float64Array(n);
    const models = parts.map(({ inFold, fit, held }) => {
      const model = fitGbt(
        fit.x,
        fit.y,
        { objective: 'logistic', nTrees: 1500, learningRate: 0.05, subsample: 0.8, earlyStoppingRounds: 100, seed: 7, ...params },
        held,
      );
      const p = predictGbt(model, held.x);
      inFold.forEach((row, r) => {
        oof[row] = p[r]!;
      });
      return model;
    });
    const b = bestThreshold(oof, all.y);
    if (!best || b.f1 > best.validF1) best = { model: averageGbtModels(models), threshold: b.threshold, params, validF1: b.f1, folds, oof };
  }
  return best!;
}

/**
 * ONE model over all labeled pairs (the shipped matcher's procedure): the choices are the cross-fit's
 * (`fitCvMatcher`: grid point and threshold on the out-of-fold scores of every labeled pair, rounds by early stopping
 * in each fold), then a single model is refitted on every pair with the folds' mean rounds. Scoring costs one model
 * per pair, where the cross-fitted average costs `folds` models. `oof` and `validF1` are the cross-fit's (what the
 * threshold and operating points are read off). Test is never passed here.
 */
export function fitOneMatcher(
  all: { x: FeatureMatrix; y: Float64Array },
  opts: { folds?: number; seed?: number; grid?: readonly LearnedMatcher['params'][] } = {},
): CvMatcher {
  const cv = fitCvMatcher(all, opts);
  const rounds = Math.max(1, Math.round(cv.model.trees.length / cv.folds));
  const model = fitGbt(all.x, all.y, { objective: 'logistic', nTrees: rounds, learningRate: 0.05, subsample: 0.8, seed: 7, ...cv.params });
  return { ...cv, model };
}

/** Match probabilities of the rows of a feature matrix (the trees alone, features already computed). */
export function scoreMatrix(m: Pick<LearnedMatcher, 'model'>, x: FeatureMatrix): Float64Array {
  return predictGbt(m.model, x);
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

/**
 * Rebuilds a scorer from its JSON; refuses one trained on other features. Features are only ever appended to
 * RICH_FEATURE_NAMES, so a model trained on a prefix of today's list still scores (its trees never read the newer
 * columns); one naming a feature in another place is refused.
 */
export function deserializeMatcher(s: SerializedMatcher): Pick<LearnedMatcher, 'model' | 'threshold'> & { points: OperatingPoints } {
  if (!s.features.length || s.features.length > RICH_FEATURE_NAMES.length || s.features.some((f, i) => f !== RICH_FEATURE_NAMES[i]))
    throw new Error('the matcher model was trained on other features: run `npm run train:matcher`');
  for (const t of s.trees)
    if (t.feature.some((f) => f >= s.features.length)) throw new Error('the matcher model reads a feature it does not list');
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
