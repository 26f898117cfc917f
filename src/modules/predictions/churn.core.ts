/**
 * Churn model training over customers' orders at a cutoff (pure): features at the cutoff, label = no purchase in
 * [cutoff, cutoff + window), a hash split of customers, hyperparameters chosen on a validation split of the
 * training customers only, gradient-boosted trees, calibration on that validation split, test metrics.
 */
import { bgNbdConditionalExpectedPurchases, bgNbdProbabilityAlive, fitBgNbd, type BgNbdParams } from '../../ml/clv.ts';
import { calibrate, fitIsotonic, fitPlatt, type Calibrator } from '../../ml/calibration.ts';
import { fitGbt, predictGbt, type GbtModel, type GbtParams, type GbtRoundListener } from '../../ml/gbt.ts';
import { brierScore, classificationMetrics, reliabilityBins, rocAuc, type ClassificationMetrics } from '../../ml/metrics.ts';
import { customerFeatures, FEATURE_COUNT, FEATURE_NAMES, fnv1a, rfmSummaryAt, toMatrix, type CustomerOrders } from './features.core.ts';

/** The candidate settings tried on the validation split (small on purpose: the data is small). */
export const CHURN_GRID: readonly Omit<GbtParams, 'objective'>[] = [
  { maxDepth: 2, learningRate: 0.03, minSamplesLeaf: 30, subsample: 0.8, colsample: 0.8 },
  { maxDepth: 3, learningRate: 0.03, minSamplesLeaf: 30, subsample: 0.8, colsample: 0.8 },
  { maxDepth: 4, learningRate: 0.03, minSamplesLeaf: 50, subsample: 0.8, colsample: 0.8 },
  { maxDepth: 3, learningRate: 0.03, minSamplesLeaf: 80, subsample: 0.8, colsample: 0.6, lambda: 5 },
];

export interface ChurnDataset {
  ids: string[];
  features: Float64Array[];
  labels: Float64Array;
  summaries: { x: number; tx: number; T: number; monetary: number }[];
}

/** Customers with at least one purchase before `cutoff`, their features and churn labels. */
export function churnDataset(customers: ReadonlyMap<string, CustomerOrders>, cutoff: number, windowDays: number): ChurnDataset {
  const ids: string[] = [];
  const features: Float64Array[] = [];
  const labels: number[] = [];
  const summaries: ChurnDataset['summaries'] = [];
  for (const [id, o] of customers) {
    const f = new Float64Array(FEATURE_COUNT);
    if (customerFeatures(o, cutoff, f) === 0) continue;
    let bought = false;
    for (let k = 0; k < o.day.length; k++) {
      const d = o.day[k]!;
      if (d >= cutoff && d < cutoff + windowDays && o.amount[k]! > 0) {
        bought = true;
        break;
      }
    }
    ids.push(id);
    features.push(f);
    labels.push(bought ? 0 : 1);
    summaries.push(rfmSummaryAt(o, cutoff)!);
  }
  return { ids, features, labels: Float64Array.from(labels), summaries };
}

export interface ChurnModel {
  gbt: GbtModel;
  calibrator: Calibrator;
  params: GbtParams;
  featureNames: readonly string[];
}

export interface ChurnEvaluation {
  model: ChurnModel;
  customers: { train: number; valid: number; test: number };
  churnRate: number;
  test: ClassificationMetrics & { rocAucUncalibrated: number; brierUncalibrated: number };
  baselines: { recencyAuc: number; bgNbdPAliveAuc: number; bgNbdExpectedAuc: number; bgNbd: BgNbdParams };
  reliability: ReturnType<typeof reliabilityBins>;
  validation: { params: GbtParams; validAuc: number; rounds: number }[];
}

const pick = (rows: Float64Array[], idx: number[]) => toMatrix(idx.map((i) => rows[i]!));

/**
 * Trains and evaluates on a hash split (`trainShare` of 100 buckets to train, the rest test; a fifth of
 * train held out for settings, early stopping and calibration). Throws a RangeError when a split lacks a class.
 */
export function evaluateChurn(
  ds: ChurnDataset,
  windowDays: number,
  opts: { trainShare?: number; seed?: number; onRound?: GbtRoundListener } = {},
): ChurnEvaluation {
  const share = opts.trainShare ?? 70;
  const fit: number[] = [];
  const valid: number[] = [];
  const test: number[] = [];
  ds.ids.forEach((id, i) => {
    if (fnv1a(id) % 100 >= share) test.push(i);
    else if (fnv1a(`${id}:valid`) % 5 === 0) valid.push(i);
    else fit.push(i);
  });
  const y = (idx: number[]) => Float64Array.from(idx, (i) => ds.labels[i]!);
  const yFit = y(fit);
  const yValid = y(valid);
  const yTest = y(test);
  for (const [name, v] of [
    ['training', yFit],
    ['validation', yValid],
    ['test', yTest],
  ] as const) {
    let s = 0;
    for (const l of v) s += l;
    if (s === 0 || s === v.length)
      throw new RangeError(`not enough data: the ${name} customers are all ${s === 0 ? 'active' : 'churned'} (${v.length} customers)`);
  }
  const xFit = pick(ds.features, fit);
  const xValid = pick(ds.features, valid);
  const xTest = pick(ds.features, test);

  const tried: ChurnEvaluation['validation'] = [];
  let best: { model: GbtModel; params: GbtParams; auc: number } | undefined;
  for (const g of CHURN_GRID) {
    const params: GbtParams = { objective: 'logistic', nTrees: 1000, earlyStoppingRounds: 100, seed: opts.seed ?? 7, ...g };
    const model = fitGbt(xFit, yFit, params, { x: xValid, y: yValid }, opts.onRound);
    const auc = rocAuc(predictGbt(model, xValid), yValid);
    tried.push({ params, validAuc: auc, rounds: model.bestRounds });
    if (!best || auc > best.auc) best = { model, params, auc };
  }
  const validScores = predictGbt(best!.model, xValid);
  const calibrator = valid.length >= 1000 ? fitIsotonic(validScores, yValid) : fitPlatt(validScores, yValid);
  const raw = predictGbt(best!.model, xTest);
  const probs = raw.map((s) => calibrate(calibrator, s));

  // baselines on the same test customers: recency alone; BG/NBD fitted on the training customers
  const recency = Float64Array.from(test, (i) => ds.features[i]![0]!);
  const trainIdx = [...fit, ...valid];
  const bg = fitBgNbd({
    frequency: Float64Array.from(trainIdx, (i) => ds.summaries[i]!.x),
    recency: Float64Array.from(trainIdx, (i) => ds.summaries[i]!.tx),
    T: Float64Array.from(trainIdx, (i) => ds.summaries[i]!.T),
  });
  const pDead = Float64Array.from(test, (i) => {
    const s = ds.summaries[i]!;
    return 1 - bgNbdProbabilityAlive(bg.params, s.x, s.tx, s.T);
  });
  // BG/NBD's own churn score: fewer expected purchases in the label window = more likely to churn
  const fewer = Float64Array.from(test, (i) => {
    const s = ds.summaries[i]!;
    return -bgNbdConditionalExpectedPurchases(bg.params, windowDays / 7, s.x, s.tx, s.T);
  });
  let churned = 0;
  for (const l of ds.labels) churned += l;
  return {
    model: { gbt: best!.model, calibrator, params: best!.params, featureNames: FEATURE_NAMES },
    customers: { train: fit.length, valid: valid.length, test: test.length },
    churnRate: churned / ds.labels.length,
    test: { ...classificationMetrics(probs, yTest), rocAucUncalibrated: rocAuc(raw, yTest), brierUncalibrated: brierScore(raw, yTest) },
    baselines: {
      recencyAuc: rocAuc(recency, yTest),
      bgNbdPAliveAuc: rocAuc(pDead, yTest),
      bgNbdExpectedAuc: rocAuc(fewer, yTest),
      bgNbd: bg.params,
    },
    reliability: reliabilityBins(probs, yTest),
    validation: tried,
  };
}
