/**
 * Gradient-boosted decision trees with histogram splits (the LightGBM/XGBoost "hist" method, written plainly):
 * binary logistic and squared-error objectives, L2-regularised Newton leaves, row and column subsampling from
 * a seeded generator, early stopping on a validation set. Pure: no I/O, deterministic for a given seed.
 *
 * Shapes: a feature matrix is row-major, `rows * cols` float64 values. NaN is allowed and always goes left
 * (it is binned with the smallest values).
 */
import { rngMulberry32 } from './random.ts';

export type GbtObjective = 'logistic' | 'squared_error';

/** A dense row-major feature matrix. */
export interface FeatureMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export interface GbtParams {
  objective: GbtObjective;
  /** Most boosting rounds (trees). Default 500. */
  nTrees?: number;
  /** Shrinkage per tree. Default 0.05. */
  learningRate?: number;
  /** Depth of each tree (2^depth leaves at most). Default 4. */
  maxDepth?: number;
  /** Fewest training rows in a leaf. Default 20. */
  minSamplesLeaf?: number;
  /** Smallest hessian sum in a leaf (XGBoost's min_child_weight). Default 1e-3. */
  minChildWeight?: number;
  /** L2 penalty on leaf values (XGBoost's lambda). Default 1. */
  lambda?: number;
  /** Smallest loss reduction to split (XGBoost's gamma). Default 0. */
  minSplitGain?: number;
  /** Histogram bins per feature, at most 256. Default 64. */
  maxBins?: number;
  /** Fraction of rows sampled (without replacement) per tree. Default 1. */
  subsample?: number;
  /** Fraction of features tried per tree. Default 1. */
  colsample?: number;
  /** Stop after this many rounds without a better validation loss (needs a validation set). Default 50. */
  earlyStoppingRounds?: number;
  seed?: number;
}

/** One tree as parallel node arrays; a leaf has feature -1 and its output in `value`. */
export interface GbtTree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

export interface GbtModel {
  objective: GbtObjective;
  cols: number;
  baseScore: number;
  trees: GbtTree[];
  /** Per-round training loss (log loss or mean squared error), before truncation. */
  trainLoss: number[];
  /** Per-round validation loss when a validation set was given. */
  validLoss: number[];
  /** Rounds kept (the best validation round, or all). */
  bestRounds: number;
  /** Total split gain per feature over the kept trees (a feature-importance measure). */
  gain: Float64Array;
}

/** Called after every round; throw from it to cancel training. */
export type GbtRoundListener = (round: number, trainLoss: number, validLoss: number | undefined) => void;

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

function lossOf(objective: GbtObjective, margin: Float64Array, y: Float64Array): number {
  let s = 0;
  const n = y.length;
  if (objective === 'logistic') {
    for (let i = 0; i < n; i++) {
      const p = Math.min(1 - 1e-15, Math.max(1e-15, sigmoid(margin[i]!)));
      s -= y[i]! * Math.log(p) + (1 - y[i]!) * Math.log(1 - p);
    }
  } else {
    for (let i = 0; i < n; i++) s += (margin[i]! - y[i]!) ** 2;
  }
  return n > 0 ? s / n : 0;
}

/**
 * Bin edges per feature: midpoints between distinct values when there are at most `maxBins`, else
 * quantile cut points. A value v falls in bin = number of edges e with v > e. O(rows * cols * log rows).
 */
export function binEdges(x: FeatureMatrix, maxBins: number): Float64Array[] {
  const edges: Float64Array[] = [];
  const col = new Float64Array(x.rows);
  for (let j = 0; j < x.cols; j++) {
    let m = 0;
    for (let i = 0; i < x.rows; i++) {
      const v = x.data[i * x.cols + j]!;
      if (!Number.isNaN(v)) col[m++] = v;
    }
    const sorted = col.subarray(0, m).sort();
    const uniq: number[] = [];
    for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) uniq.push(sorted[i]!);
    const e: number[] = [];
    if (uniq.length <= maxBins) {
      for (let k = 0; k + 1 < uniq.length; k++) e.push((uniq[k]! + uniq[k + 1]!) / 2);
    } else {
      for (let k = 1; k < maxBins; k++) {
        const v = sorted[Math.floor((k * m) / maxBins)]!;
        if (e.length === 0 || v > e[e.length - 1]!) e.push(v);
      }
    }
    edges.push(Float64Array.from(e));
  }
  return edges;
}

function binIndex(edges: Float64Array, v: number): number {
  if (!(v > edges[0]!)) return 0; // NaN and the smallest values
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v > edges[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Builder {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

/**
 * Trains a boosted ensemble. `y` holds 0/1 labels for `logistic`, targets for `squared_error`.
 * O(rounds * depth * rows * cols) time, O(rows * cols) bytes for the bin codes.
 */
export function fitGbt(
  x: FeatureMatrix,
  y: Float64Array,
  params: GbtParams,
  valid?: { x: FeatureMatrix; y: Float64Array },
  onRound?: GbtRoundListener,
): GbtModel {
  const { rows: n, cols: d } = x;
  if (x.data.length !== n * d) throw new RangeError('fitGbt: data length must be rows * cols');
  if (y.length !== n) throw new RangeError('fitGbt: y must have one value per row');
  if (n === 0) throw new RangeError('fitGbt: no training rows');
  if (valid && (valid.x.cols !== d || valid.y.length !== valid.x.rows)) throw new RangeError('fitGbt: validation shape does not match');
  const nTrees = params.nTrees ?? 500;
  const lr = params.learningRate ?? 0.05;
  const maxDepth = params.maxDepth ?? 4;
  const minLeaf = Math.max(1, params.minSamplesLeaf ?? 20);
  const minHess = params.minChildWeight ?? 1e-3;
  const lambda = params.lambda ?? 1;
  const minGain = params.minSplitGain ?? 0;
  const maxBins = Math.min(256, Math.max(2, params.maxBins ?? 64));
  const subsample = params.subsample ?? 1;
  const colsample = params.colsample ?? 1;
  const patience = params.earlyStoppingRounds ?? 50;
  const rng = rngMulberry32(params.seed ?? 1);
  const logistic = params.objective === 'logistic';

  // bin codes, column-major so a node's histogram reads one feature contiguously per row index
  const edges = binEdges(x, maxBins);
  const codes = new Uint8Array(n * d);
  for (let j = 0; j < d; j++) for (let i = 0; i < n; i++) codes[j * n + i] = binIndex(edges[j]!, x.data[i * d + j]!);

  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  const baseScore = logistic ? Math.log(Math.max(1e-6, Math.min(1 - 1e-6, mean)) / (1 - Math.max(1e-6, Math.min(1 - 1e-6, mean)))) : mean;
  const margin = new Float64Array(n).fill(baseScore);
  const vMargin = valid ? new Float64Array(valid.x.rows).fill(baseScore) : undefined;
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const histG = new Float64Array(256);
  const histH = new Float64Array(256);
  const histC = new Int32Array(256);
  const trees: GbtTree[] = [];
  const treeGains: Float64Array[] = [];
  const trainLoss: number[] = [];
  const validLoss: number[] = [];
  let best = Infinity;
  let bestRounds = 0;
  const all = new Int32Array(n);
  const featureOrder = Int32Array.from({ length: d }, (_, j) => j);

  for (let round = 0; round < nTrees; round++) {
    for (let i = 0; i < n; i++) {
      if (logistic) {
        const p = sigmoid(margin[i]!);
        grad[i] = p - y[i]!;
        hess[i] = Math.max(p * (1 - p), 1e-16);
      } else {
        grad[i] = margin[i]! - y[i]!;
        hess[i] = 1;
      }
    }
    // rows of this tree
    let m = 0;
    for (let i = 0; i < n; i++) if (subsample >= 1 || rng() < subsample) all[m++] = i;
    // features of this tree (partial Fisher-Yates)
    const k = Math.max(1, Math.round(colsample * d));
    for (let j = 0; j < k && colsample < 1; j++) {
      const r = j + Math.floor(rng() * (d - j));
      const t = featureOrder[j]!;
      featureOrder[j] = featureOrder[r]!;
      featureOrder[r] = t;
    }
    const feats = featureOrder.subarray(0, k);
    const b: Builder = { feature: [], threshold: [], left: [], right: [], value: [] };
    const gain = new Float64Array(d);

    const grow = (idx: Int32Array, depth: number): number => {
      const node = b.feature.length;
      b.feature.push(-1);
      b.threshold.push(0);
      b.left.push(-1);
      b.right.push(-1);
      let G = 0;
      let H = 0;
      for (let t = 0; t < idx.length; t++) {
        G += grad[idx[t]!]!;
        H += hess[idx[t]!]!;
      }
      b.value.push((-G / (H + lambda)) * lr);
      if (depth >= maxDepth || idx.length < 2 * minLeaf) return node;
      const parentScore = (G * G) / (H + lambda);
      let bestGain = minGain;
      let bestF = -1;
      let bestBin = -1;
      for (const f of feats) {
        const nb = edges[f]!.length + 1;
        if (nb < 2) continue;
        histG.fill(0, 0, nb);
        histH.fill(0, 0, nb);
        histC.fill(0, 0, nb);
        const base = f * n;
        for (let t = 0; t < idx.length; t++) {
          const i = idx[t]!;
          const c = codes[base + i]!;
          histG[c]! += grad[i]!;
          histH[c]! += hess[i]!;
          histC[c]!++;
        }
        let gl = 0;
        let hl = 0;
        let cl = 0;
        for (let c = 0; c < nb - 1; c++) {
          gl += histG[c]!;
          hl += histH[c]!;
          cl += histC[c]!;
          const cr = idx.length - cl;
          if (cl < minLeaf) continue;
          if (cr < minLeaf) break;
          const hr = H - hl;
          if (hl < minHess || hr < minHess) continue;
          const gr = G - gl;
          const g = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
          if (g > bestGain) {
            bestGain = g;
            bestF = f;
            bestBin = c;
          }
        }
      }
      if (bestF < 0) return node;
      // partition idx in place: bins <= bestBin to the left
      const base = bestF * n;
      let lo = 0;
      let hi = idx.length - 1;
      while (lo <= hi) {
        if (codes[base + idx[lo]!]! <= bestBin) lo++;
        else {
          const t = idx[lo]!;
          idx[lo] = idx[hi]!;
          idx[hi] = t;
          hi--;
        }
      }
      gain[bestF]! += bestGain;
      b.feature[node] = bestF;
      b.threshold[node] = edges[bestF]![bestBin]!;
      b.left[node] = grow(idx.subarray(0, lo), depth + 1);
      b.right[node] = grow(idx.subarray(lo), depth + 1);
      return node;
    };
    grow(all.subarray(0, m), 0);
    const tree: GbtTree = {
      feature: Int32Array.from(b.feature),
      threshold: Float64Array.from(b.threshold),
      left: Int32Array.from(b.left),
      right: Int32Array.from(b.right),
      value: Float64Array.from(b.value),
    };
    trees.push(tree);
    treeGains.push(gain);
    for (let i = 0; i < n; i++) margin[i]! += treeOutput(tree, x.data, i * d);
    trainLoss.push(lossOf(params.objective, margin, y));
    let vl: number | undefined;
    if (valid && vMargin) {
      for (let i = 0; i < valid.x.rows; i++) vMargin[i]! += treeOutput(tree, valid.x.data, i * d);
      vl = lossOf(params.objective, vMargin, valid.y);
      validLoss.push(vl);
      if (vl < best - 1e-12) {
        best = vl;
        bestRounds = round + 1;
      }
    } else bestRounds = round + 1;
    onRound?.(round + 1, trainLoss[round]!, vl);
    if (valid && round + 1 - bestRounds >= patience) break;
  }
  const kept = trees.slice(0, bestRounds);
  const totalGain = new Float64Array(d);
  for (let t = 0; t < bestRounds; t++) for (let j = 0; j < d; j++) totalGain[j]! += treeGains[t]![j]!;
  return { objective: params.objective, cols: d, baseScore, trees: kept, trainLoss, validLoss, bestRounds, gain: totalGain };
}

function treeOutput(tree: GbtTree, data: Float64Array, offset: number): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node]!;
    if (f < 0) return tree.value[node]!;
    node = data[offset + f]! > tree.threshold[node]! ? tree.right[node]! : tree.left[node]!;
  }
}

/** Raw margins (log-odds for logistic, predictions for squared error) of every row. O(rows * trees * depth). */
export function predictGbtMargin(model: GbtModel, x: FeatureMatrix, out = new Float64Array(x.rows)): Float64Array {
  if (x.cols !== model.cols) throw new RangeError(`predictGbt: expected ${model.cols} features, got ${x.cols}`);
  for (let i = 0; i < x.rows; i++) {
    let s = model.baseScore;
    for (const t of model.trees) s += treeOutput(t, x.data, i * x.cols);
    out[i] = s;
  }
  return out;
}

/** Predictions on the response scale: probabilities for logistic, values for squared error. */
export function predictGbt(model: GbtModel, x: FeatureMatrix, out = new Float64Array(x.rows)): Float64Array {
  predictGbtMargin(model, x, out);
  if (model.objective === 'logistic') for (let i = 0; i < out.length; i++) out[i] = sigmoid(out[i]!);
  return out;
}
