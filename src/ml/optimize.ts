/**
 * Derivative-free minimisation for small, smooth problems (a handful of parameters, such as the
 * likelihoods of the customer-lifetime models). Pure: the objective is the only thing called.
 */

/** Options for {@link nelderMead}. */
export interface NelderMeadOptions {
  /** Stop when the spread of objective values over the simplex falls below this (absolute). Default 1e-10. */
  fTol?: number;
  /** Stop when every vertex is within this of the best one in every coordinate. Default 1e-10. */
  xTol?: number;
  /** Iteration cap per run. Default 20,000. */
  maxIter?: number;
  /** Restarts from the best point (with a fresh simplex) until a run no longer improves. Default 5. */
  restarts?: number;
  /** Initial step per coordinate. Default 0.1 (or 0.00025 for a coordinate at 0), as scipy. */
  step?: number;
}

/** The answer of {@link nelderMead}. */
export interface MinimizeResult {
  x: Float64Array;
  fx: number;
  iterations: number;
  converged: boolean;
}

/**
 * Nelder-Mead simplex minimisation (adaptive coefficients of Gao and Han 2012, which behave better than the
 * textbook ones as the dimension grows), restarted from the best point until a restart stops improving: the
 * usual guard against a collapsed simplex. `f` may return NaN or Infinity for infeasible points; they are
 * treated as +Infinity. O(maxIter * n) objective calls at most.
 */
export function nelderMead(f: (x: Float64Array) => number, x0: ArrayLike<number>, opts: NelderMeadOptions = {}): MinimizeResult {
  const n = x0.length;
  if (n === 0) throw new RangeError('nelderMead: x0 must not be empty');
  const fTol = opts.fTol ?? 1e-10;
  const xTol = opts.xTol ?? 1e-10;
  const maxIter = opts.maxIter ?? 20_000;
  const safe = (x: Float64Array): number => {
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let best: Float64Array = Float64Array.from(x0);
  let bestF = safe(best);
  let iterations = 0;
  let converged = false;
  for (let run = 0; run <= (opts.restarts ?? 5); run++) {
    const r = simplexRun(safe, best, opts.step, fTol, xTol, maxIter);
    iterations += r.iterations;
    converged = r.converged;
    const improved = r.fx < bestF - fTol;
    if (r.fx <= bestF) {
      best = r.x;
      bestF = r.fx;
    }
    if (!improved && run > 0) break;
  }
  return { x: best, fx: bestF, iterations, converged };
}

const STALL = 500;

function simplexRun(
  f: (x: Float64Array) => number,
  start: Float64Array,
  step: number | undefined,
  fTol: number,
  xTol: number,
  maxIter: number,
): MinimizeResult {
  const n = start.length;
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  const pts: Float64Array[] = [Float64Array.from(start)];
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(start);
    p[i] = step !== undefined ? p[i]! + step : p[i] !== 0 ? p[i]! * 1.05 : 0.00025;
    pts.push(p);
  }
  const fs = pts.map(f);
  const order = (): void => {
    const idx = pts.map((_, i) => i).sort((a, b) => fs[a]! - fs[b]!);
    const p2 = idx.map((i) => pts[i]!);
    const f2 = idx.map((i) => fs[i]!);
    for (let i = 0; i <= n; i++) {
      pts[i] = p2[i]!;
      fs[i] = f2[i]!;
    }
  };
  const centroid = new Float64Array(n);
  const along = (coef: number): Float64Array => {
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = centroid[j]! + coef * (centroid[j]! - pts[n]![j]!);
    return out;
  };
  let it = 0;
  let converged = false;
  let checkpoint = Number.POSITIVE_INFINITY;
  order();
  for (; it < maxIter; it++) {
    // stalled: the best value moved less than fTol (relative) in STALL iterations, e.g. a parameter drifting
    // to infinity along a flat ridge (BG/NBD with no visible dropout): stop there, not converged
    if (it % STALL === 0) {
      if (Math.abs(checkpoint - fs[0]!) <= fTol * (1 + Math.abs(fs[0]!))) break;
      checkpoint = fs[0]!;
    }
    let xSpread = 0;
    for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) xSpread = Math.max(xSpread, Math.abs(pts[i]![j]! - pts[0]![j]!));
    if (xSpread <= xTol && Math.abs(fs[n]! - fs[0]!) <= fTol) {
      converged = true;
      break;
    }
    centroid.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += pts[i]![j]! / n;
    const xr = along(alpha);
    const fr = f(xr);
    if (fr < fs[0]!) {
      const xe = along(alpha * beta);
      const fe = f(xe);
      if (fe < fr) {
        pts[n] = xe;
        fs[n] = fe;
      } else {
        pts[n] = xr;
        fs[n] = fr;
      }
    } else if (fr < fs[n - 1]!) {
      pts[n] = xr;
      fs[n] = fr;
    } else {
      const outside = fr < fs[n]!;
      const xc = along(outside ? alpha * gamma : -gamma);
      const fc = f(xc);
      if (fc < (outside ? fr : fs[n]!)) {
        pts[n] = xc;
        fs[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          const p = pts[i]!;
          for (let j = 0; j < n; j++) p[j] = pts[0]![j]! + delta * (p[j]! - pts[0]![j]!);
          fs[i] = f(p);
        }
      }
    }
    order();
  }
  return { x: Float64Array.from(pts[0]!), fx: fs[0]!, iterations: it, converged };
}
