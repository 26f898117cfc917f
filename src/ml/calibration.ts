/**
 * Probability calibration of classifier scores on a held-out set (pure): isotonic regression by the
 * pool-adjacent-violators algorithm, and Platt scaling (a one-feature logistic fit by Newton's method).
 */

/** A monotone step function: knots `x` (ascending) and values `y`; linear between knots, clamped outside. */
export interface IsotonicModel {
  kind: 'isotonic';
  x: Float64Array;
  y: Float64Array;
}

export interface PlattModel {
  kind: 'platt';
  a: number;
  b: number;
}

export type Calibrator = IsotonicModel | PlattModel;

/**
 * Non-decreasing least-squares fit of `labels` on `scores` (PAV). O(n log n). Ties in score are pooled first,
 * as scikit-learn does, so the result is a function of the score.
 */
export function fitIsotonic(scores: Float64Array, labels: Float64Array): IsotonicModel {
  const n = scores.length;
  if (n === 0 || labels.length !== n) throw new RangeError('fitIsotonic: scores and labels must be non-empty and of equal length');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const bx: number[] = [];
  const by: number[] = [];
  const bw: number[] = [];
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    let sum = 0;
    let w = 0;
    while (k < n && scores[order[k]!] === s) {
      sum += labels[order[k]!]!;
      w++;
      k++;
    }
    bx.push(s);
    by.push(sum / w);
    bw.push(w);
  }
  // pool adjacent violators over the blocks, each block remembering its first and last knot
  const vy: number[] = [];
  const vw: number[] = [];
  const vStart: number[] = [];
  const vEnd: number[] = [];
  for (let i = 0; i < bx.length; i++) {
    vy.push(by[i]!);
    vw.push(bw[i]!);
    vStart.push(i);
    vEnd.push(i);
    while (vy.length > 1 && vy[vy.length - 2]! > vy[vy.length - 1]!) {
      const w = vw[vw.length - 2]! + vw[vw.length - 1]!;
      const yy = (vy[vy.length - 2]! * vw[vw.length - 2]! + vy[vy.length - 1]! * vw[vw.length - 1]!) / w;
      const end = vEnd[vEnd.length - 1]!;
      vy.pop();
      vw.pop();
      vStart.pop();
      vEnd.pop();
      vy[vy.length - 1] = yy;
      vw[vw.length - 1] = w;
      vEnd[vEnd.length - 1] = end;
    }
  }
  const kx: number[] = [];
  const ky: number[] = [];
  for (let v = 0; v < vy.length; v++) {
    kx.push(bx[vStart[v]!]!);
    ky.push(vy[v]!);
    if (vEnd[v]! !== vStart[v]!) {
      kx.push(bx[vEnd[v]!]!);
      ky.push(vy[v]!);
    }
  }
  return { kind: 'isotonic', x: Float64Array.from(kx), y: Float64Array.from(ky) };
}

/** Platt scaling: P(y=1 | s) = 1 / (1 + exp(a*s + b)), with Platt's smoothed targets. Newton, O(n) per step. */
export function fitPlatt(scores: Float64Array, labels: Float64Array): PlattModel {
  const n = scores.length;
  if (n === 0 || labels.length !== n) throw new RangeError('fitPlatt: scores and labels must be non-empty and of equal length');
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i]! > 0.5 ? 1 : 0;
  const hiT = (pos + 1) / (pos + 2);
  const loT = 1 / (n - pos + 2);
  let a = 0;
  let b = Math.log((n - pos + 1) / (pos + 1));
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const t = labels[i]! > 0.5 ? hiT : loT;
      const p = 1 / (1 + Math.exp(a * scores[i]! + b));
      const d = t - p; // derivative of the log loss w.r.t. the linear term a*s+b
      ga += d * scores[i]!;
      gb += d;
      const w = p * (1 - p);
      haa += w * scores[i]! * scores[i]!;
      hab += w * scores[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  return { kind: 'platt', a, b };
}

/** Calibrated probability of one score. */
export function calibrate(model: Calibrator, s: number): number {
  if (model.kind === 'platt') return 1 / (1 + Math.exp(model.a * s + model.b));
  const { x, y } = model;
  if (s <= x[0]!) return y[0]!;
  if (s >= x[x.length - 1]!) return y[y.length - 1]!;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= s) lo = mid;
    else hi = mid;
  }
  const span = x[hi]! - x[lo]!;
  return span > 0 ? y[lo]! + ((s - x[lo]!) / span) * (y[hi]! - y[lo]!) : y[hi]!;
}
