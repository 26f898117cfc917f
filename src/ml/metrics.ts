/**
 * Evaluation metrics for classifiers and regressors (pure, O(n) or O(n log n)).
 */

/** Area under the ROC curve, ties counted half (Mann-Whitney U / (n+ n-)). NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let k = 0; k < n; ) {
    let e = k;
    while (e + 1 < n && scores[order[e + 1]!] === scores[order[k]!]) e++;
    const avgRank = (k + e + 2) / 2; // 1-based ranks k+1..e+1
    for (let t = k; t <= e; t++) {
      if (labels[order[t]!]! > 0.5) {
        pos++;
        rankSum += avgRank;
      }
    }
    k = e + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean squared error of probabilities against 0/1 labels. */
export function brierScore(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) s += (probs[i]! - labels[i]!) ** 2;
  return probs.length ? s / probs.length : Number.NaN;
}

/** Mean log loss with probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probs[i]!));
    s -= labels[i]! > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return probs.length ? s / probs.length : Number.NaN;
}

export interface ClassificationMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
  brier: number;
}

/** Seed 002's churn metrics, with predictions >= `threshold` counted positive. Undefined ratios are 0. */
export function classificationMetrics(probs: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): ClassificationMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < probs.length; i++) {
    const yhat = probs[i]! >= threshold;
    const y = labels[i]! > 0.5;
    if (yhat && y) tp++;
    else if (yhat) fp++;
    else if (y) fn++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    accuracy: probs.length ? (tp + tn) / probs.length : 0,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    rocAuc: rocAuc(probs, labels),
    brier: brierScore(probs, labels),
  };
}

export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number;
  /** Mean absolute percentage error over rows with a non-zero actual (NaN when there are none). */
  mape: number;
}

/** Seed 002's LTV metrics. */
export function regressionMetrics(pred: ArrayLike<number>, actual: ArrayLike<number>): RegressionMetrics {
  const n = pred.length;
  let se = 0;
  let ae = 0;
  let mean = 0;
  let ape = 0;
  let nz = 0;
  for (let i = 0; i < n; i++) mean += actual[i]! / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const e = pred[i]! - actual[i]!;
    se += e * e;
    ae += Math.abs(e);
    ss += (actual[i]! - mean) ** 2;
    if (actual[i] !== 0) {
      ape += Math.abs(e / actual[i]!);
      nz++;
    }
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: ss > 0 ? 1 - se / ss : Number.NaN, mape: nz ? ape / nz : Number.NaN };
}

/** Reliability diagram: `bins` equal-width probability bins with mean prediction, observed rate and count. */
export function reliabilityBins(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { meanPredicted: number; observed: number; count: number }[] {
  const sp = new Float64Array(bins);
  const so = new Float64Array(bins);
  const c = new Float64Array(bins);
  for (let i = 0; i < probs.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(probs[i]! * bins)));
    sp[b]! += probs[i]!;
    so[b]! += labels[i]!;
    c[b]!++;
  }
  return Array.from({ length: bins }, (_, b) => ({
    meanPredicted: c[b] ? sp[b]! / c[b]! : 0,
    observed: c[b] ? so[b]! / c[b]! : 0,
    count: c[b]!,
  }));
}
