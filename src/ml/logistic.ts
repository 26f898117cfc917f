/**
 * L2-regularized logistic regression trained by Newton's method (IRLS), for small dense feature sets
 * (tens of features, up to ~10^6 rows). Plain functions over typed arrays, no hidden randomness: the same
 * data gives the same weights.
 *
 * Shapes: `x` is row-major n × d (`x[i * d + j]`), `y` is n labels in {0, 1}. The model adds its own bias
 * (not regularized). Features are standardized inside `fitLogistic` (mean 0, sd 1, from the training rows) so
 * one `l2` suits every feature scale; `predictLogistic` applies the same standardization.
 */

export interface LogisticModel {
  /** Feature count d. */
  readonly dims: number;
  /** d weights on standardized features, then the bias. */
  readonly weights: Float64Array;
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

export interface FitOptions {
  /** L2 penalty on the (standardized) weights. Default 1. */
  l2?: number;
  /** Newton steps at most. Default 50. */
  maxIter?: number;
  /** Stop when the largest weight change is below this. Default 1e-8. */
  tol?: number;
  /** Weight of positive rows (class imbalance). Default 1. */
  positiveWeight?: number;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Solves `a · out = b` in place for a symmetric positive-definite `a` (k × k, row-major) by Cholesky. `a` is
 * overwritten with its factor. Throws when `a` is not positive definite. O(k³).
 */
export function choleskySolve(a: Float64Array, b: Float64Array, k: number, out = new Float64Array(k)): Float64Array {
  if (a.length !== k * k || b.length !== k) throw new Error('choleskySolve: shapes do not match');
  for (let j = 0; j < k; j++) {
    let s = a[j * k + j]!;
    for (let p = 0; p < j; p++) s -= a[j * k + p]! * a[j * k + p]!;
    if (!(s > 0)) throw new Error('choleskySolve: matrix is not positive definite');
    const l = Math.sqrt(s);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let t = a[i * k + j]!;
      for (let p = 0; p < j; p++) t -= a[i * k + p]! * a[j * k + p]!;
      a[i * k + j] = t / l;
    }
  }
  for (let i = 0; i < k; i++) {
    let t = b[i]!;
    for (let p = 0; p < i; p++) t -= a[i * k + p]! * out[p]!;
    out[i] = t / a[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let t = out[i]!;
    for (let p = i + 1; p < k; p++) t -= a[p * k + i]! * out[p]!;
    out[i] = t / a[i * k + i]!;
  }
  return out;
}

/** Fits the model. O(iterations × n × d²). */
export function fitLogistic(x: Float64Array, y: Uint8Array, d: number, opts: FitOptions = {}): LogisticModel {
  const n = y.length;
  if (x.length !== n * d) throw new Error('fitLogistic: x must hold n × d values');
  if (n === 0) throw new Error('fitLogistic: no rows');
  const l2 = opts.l2 ?? 1;
  const maxIter = opts.maxIter ?? 50;
  const tol = opts.tol ?? 1e-8;
  const posW = opts.positiveWeight ?? 1;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j]! += (x[i * d + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const k = d + 1;
  const z = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) z[i * k + j] = (x[i * d + j]! - mean[j]!) / scale[j]!;
    z[i * k + d] = 1;
  }
  const w = new Float64Array(k);
  const h = new Float64Array(k * k);
  const g = new Float64Array(k);
  const step = new Float64Array(k);
  for (let it = 0; it < maxIter; it++) {
    h.fill(0);
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += z[i * k + j]! * w[j]!;
      const p = sigmoid(s);
      const c = y[i] ? posW : 1;
      const r = c * ((y[i] ? 1 : 0) - p);
      const v = c * Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a < k; a++) {
        const za = z[i * k + a]!;
        g[a]! += za * r;
        for (let b = 0; b <= a; b++) h[a * k + b]! += v * za * z[i * k + b]!;
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) h[b * k + a] = h[a * k + b]!;
    for (let j = 0; j < d; j++) {
      g[j]! -= l2 * w[j]!;
      h[j * k + j]! += l2;
    }
    h[d * k + d]! += 1e-9;
    choleskySolve(h, g, k, step);
    let change = 0;
    for (let j = 0; j < k; j++) {
      w[j]! += step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < tol) break;
  }
  return { dims: d, weights: w, mean, scale };
}

/** Probability of class 1 for each of the n rows of `x` (n × d, row-major). O(n × d). */
export function predictLogistic(model: LogisticModel, x: Float64Array, out = new Float64Array(x.length / model.dims)): Float64Array {
  const d = model.dims;
  const n = x.length / d;
  if (!Number.isInteger(n) || out.length !== n) throw new Error('predictLogistic: shapes do not match');
  for (let i = 0; i < n; i++) {
    let s = model.weights[d]!;
    for (let j = 0; j < d; j++) s += ((x[i * d + j]! - model.mean[j]!) / model.scale[j]!) * model.weights[j]!;
    out[i] = sigmoid(s);
  }
  return out;
}
