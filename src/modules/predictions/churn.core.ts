/**
 * Churn model training over customers' orders at a cutoff (pure): features at the cutoff, label = no purchase in
 * [cutoff, cutoff + window), a hash split of customers, settings and the number of trees chosen by k-fold
 * cross-validation on the training customers only, the trees refitted on every training customer, calibration on
 * the out-of-fold scores (scikit-learn's CalibratedClassifierCV with ensemble=False does the same), test metrics.
 */
import { bgNbdConditionalExpectedPurchases, bgNbdProbabilityAlive, fitBgNbd, type BgNbdParams } from '../../ml/clv.ts';
import { calibrate, fitIsotonic, fitPlatt, type Calibrator } from '../../ml/calibration.ts';
import { fitGbt, predictGbt, type GbtModel, type GbtParams, type GbtRoundListener } from '../../ml/gbt.ts';
import { brierScore, classificationMetrics, reliabilityBins, rocAuc, type ClassificationMetrics } from '../../ml/metrics.ts';
import { CHURN_INPUT_COUNT, CHURN_INPUT_NAMES, churnInputs, fnv1a, rfmSummaryAt, type CustomerOrders } from './features.core.ts';

/**
 * Columns (indices into the rows) with at least two distinct finite values among `idx`'s rows, ascending.
 * O(rows * cols).
 */
export function informativeColumns(rows: readonly Float64Array[], idx: readonly number[], cols: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < cols; j++) {
    let first = Number.NaN;
    for (const i of idx) {
      const v = rows[i]![j]!;
      if (!Number.isFinite(v)) continue;
      if (Number.isNaN(first)) first = v;
      else if (v !== first) {
        out.push(j);
        break;
      }
    }
  }
  return out;
}

/** The `inputs` columns of each row, stacked (row-major). */
export function gatherInputs(rows: readonly Float64Array[], inputs: readonly number[]) {
  const data = new Float64Array(rows.length * inputs.length);
  rows.forEach((r, i) => {
    for (let j = 0; j < inputs.length; j++) data[i * inputs.length + j] = r[inputs[j]!]!;
  });
  return { rows: rows.length, cols: inputs.length, data };
}

/**
 * The candidate settings compared by cross-validation. Two on purpose: on Online Retail every setting tried
 * (depth 1 to 4, min leaf 30 to 80, lambda 1 or 5) scored within 0.004 AUC of the others across five folds of the
 * training customers, well inside the folds' spread (0.74 to 0.78), so a larger grid only costs time.
 */
export const CHURN_GRID: readonly Omit<GbtParams, 'objective'>[] = [
  { maxDepth: 2, learningRate: 0.03, minSamplesLeaf: 30, subsample: 0.8, colsample: 0.8 },
  { maxDepth: 3, learningRate: 0.03, minSamplesLeaf: 80, subsample: 0.8, colsample: 0.6, lambda: 5 },
];

/** Folds of the training customers (by a hash of the id, so a customer's fold never changes). */
export const CHURN_FOLDS = 5;

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
    const f = new Float64Array(CHURN_INPUT_COUNT);
    if (churnInputs(o, cutoff, f) === 0) continue;
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
  /** The columns of CHURN_INPUT_NAMES the trees read, in the trees' order (tree feature j = inputs[j]). */
  inputs: number[];
  featureNames: readonly string[];
}

export interface ChurnEvaluation {
  model: ChurnModel;
  customers: { train: number; folds: number; test: number };
  churnRate: number;
  test: ClassificationMetrics & { rocAucUncalibrated: number; brierUncalibrated: number };
  baselines: { recencyAuc: number; bgNbdPAliveAuc: number; bgNbdExpectedAuc: number; bgNbd: BgNbdParams };
  reliability: ReturnType<typeof reliabilityBins>;
  /** Each setting's pooled out-of-fold AUC on the training customers and its trees per fold (early stopping). */
  validation: { params: GbtParams; validAuc: number; rounds: number[] }[];
}

function checkClasses(name: string, v: Float64Array): void {
  let s = 0;
  for (const l of v) s += l;
  if (s === 0 || s === v.length)
    throw new RangeError(`not enough data: the ${name} customers are all ${s === 0 ? 'active' : 'churned'} (${v.length} customers)`);
}

/**
 * Trains and evaluates on a hash split (`trainShare` of 100 buckets to train, the rest test; `splitSalt` salts the hash). Each setting of
 * CHURN_GRID is fitted on CHURN_FOLDS folds of the training customers, stopping early on the held-out fold; the best
 * by pooled out-of-fold AUC is refitted on every training customer with the median of its folds' tree counts, and
 * calibrated on its out-of-fold scores. The test customers are scored once, at the end. Throws a RangeError when the
 * test customers or a fold lack a class. O(grid * folds * trees * customers * features).
 */
export function evaluateChurn(
  ds: ChurnDataset,
  windowDays: number,
  opts: {
    trainShare?: number;
    seed?: number;
    onRound?: GbtRoundListener;
    splitSalt?: string;
    /** Percent of the training customers kept (by another hash of the id; default 100): a learning curve's x. */
    trainPercent?: number;
    /** Candidate columns (default: every column); the informative ones among the training customers are kept. */
    columns?: readonly number[];
  } = {},
): ChurnEvaluation {
  const share = opts.trainShare ?? 70;
  // another salt draws another 70/30 split (the split's own variance); none is the FNV-1a hash of the id itself
  const bucket = (id: string) => (opts.splitSalt ? fnv1a(`${id}:${opts.splitSalt}`) : fnv1a(id)) % 100;
  const train: number[] = [];
  const test: number[] = [];
  const folds: number[][] = Array.from({ length: CHURN_FOLDS }, () => []);
  ds.ids.forEach((id, i) => {
    if (bucket(id) >= share) test.push(i);
    else if (fnv1a(`${id}:curve`) % 100 < (opts.trainPercent ?? 100)) {
      train.push(i);
      folds[fnv1a(`${id}:fold`) % CHURN_FOLDS]!.push(i);
    }
  });
  const y = (idx: readonly number[]) => Float64Array.from(idx, (i) => ds.labels[i]!);
  checkClasses('training', y(train));
  checkClasses('test', y(test));
  folds.forEach((f, k) => checkClasses(`fold ${k + 1}`, y(f)));
  const yTest = y(test);
  const width = ds.features[0]?.length ?? 0;
  const candidates = new Set(opts.columns ?? Array.from({ length: width }, (_, j) => j));
  const inputs = informativeColumns(ds.features, train, width).filter((j) => candidates.has(j));
  if (!inputs.length) throw new RangeError('not enough data: no feature varies among the training customers');
  const pick = (rows: Float64Array[], idx: readonly number[]) =>
    gatherInputs(
      idx.map((i) => rows[i]!),
      inputs,
    );

  const position = new Map(train.map((i, p) => [i, p]));
  const yTrain = y(train);
  const tried: ChurnEvaluation['validation'] = [];
  let best: { params: GbtParams; auc: number; oof: Float64Array; rounds: number[] } | undefined;
  for (const g of CHURN_GRID) {
    const params: GbtParams = { objective: 'logistic', nTrees: 1000, earlyStoppingRounds: 50, seed: opts.seed ?? 7, ...g };
    const oof = new Float64Array(train.length);
    const rounds: number[] = [];
    folds.forEach((held, k) => {
      const rest = folds.flatMap((f, j) => (j === k ? [] : f));
      const xHeld = pick(ds.features, held);
      const model = fitGbt(pick(ds.features, rest), y(rest), params, { x: xHeld, y: y(held) }, opts.onRound);
      const p = predictGbt(model, xHeld);
      held.forEach((i, r) => (oof[position.get(i)!] = p[r]!));
      rounds.push(model.bestRounds);
    });
    const auc = rocAuc(oof, yTrain);
    tried.push({ params, validAuc: auc, rounds });
    if (!best || auc > best.auc) best = { params, auc, oof, rounds };
  }
  const sorted = [...best!.rounds].sort((a, b) => a - b);
  const nTrees = Math.max(1, sorted[Math.floor(sorted.length / 2)]!);
  // no validation set here: the tree count is the folds' median, not stopped on anything
  const chosen: GbtParams = { ...best!.params, nTrees };
  const gbt = fitGbt(pick(ds.features, train), yTrain, chosen, undefined, opts.onRound);
  const calibrator = train.length >= 1000 ? fitIsotonic(best!.oof, yTrain) : fitPlatt(best!.oof, yTrain);
  const raw = predictGbt(gbt, pick(ds.features, test));
  const probs = raw.map((s) => calibrate(calibrator, s));

  // baselines on the same test customers: recency alone; BG/NBD fitted on the training customers
  const recency = Float64Array.from(test, (i) => ds.features[i]![0]!);
  const bg = fitBgNbd({
    frequency: Float64Array.from(train, (i) => ds.summaries[i]!.x),
    recency: Float64Array.from(train, (i) => ds.summaries[i]!.tx),
    T: Float64Array.from(train, (i) => ds.summaries[i]!.T),
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
    model: { gbt, calibrator, params: chosen, inputs, featureNames: inputs.map((j) => CHURN_INPUT_NAMES[j]!) },
    customers: { train: train.length, folds: CHURN_FOLDS, test: test.length },
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
