/**
 * Customer-lifetime probability models fitted by maximum likelihood on RFM summaries (no I/O):
 * BG/NBD (Fader, Hardie and Lee 2005, Marketing Science), Pareto/NBD (Schmittlein, Morrison and Colombo 1987)
 * and Gamma-Gamma spend (Fader, Hardie and Lee 2005, JMR). Time is in whatever unit the summary uses
 * (weeks for CDNOW); `frequency` counts repeat purchases, `recency` is the age at the last purchase and `T`
 * the age at the end of the calibration period.
 */
import { nelderMead } from './optimize.ts';
import { hyp2f1, lgamma, logAddExp, logSubExp } from './special.ts';

/** One row per customer. All arrays have the same length. */
export interface RfmSummary {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
}

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface ParetoNbdParams {
  r: number;
  alpha: number;
  s: number;
  beta: number;
}

export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

/** A fitted model: parameters, total log-likelihood and whether the optimizer converged. */
export interface Fit<P> {
  params: P;
  logLikelihood: number;
  converged: boolean;
  iterations: number;
}

function checkSummary(s: RfmSummary): number {
  const n = s.frequency.length;
  if (s.recency.length !== n || s.T.length !== n) throw new RangeError('RFM summary: frequency, recency and T must have the same length');
  if (n === 0) throw new RangeError('RFM summary: no customers');
  return n;
}

/** Total BG/NBD log-likelihood of a summary under `p`. O(n). */
export function bgNbdLogLikelihood(p: BgNbdParams, s: RfmSummary): number {
  const n = checkSummary(s);
  const { r, alpha, a, b } = p;
  const base = -lgamma(r) + r * Math.log(alpha) + lgamma(a + b) - lgamma(b);
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const x = s.frequency[i]!;
    const tx = s.recency[i]!;
    const T = s.T[i]!;
    const a1 = base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x);
    const a3 = -(r + x) * Math.log(alpha + T);
    if (x > 0) ll += a1 + logAddExp(a3, Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx));
    else ll += a1 + a3;
  }
  return ll;
}

/** Total Pareto/NBD log-likelihood of a summary under `p` (the form of Fader, Hardie and Lee's note). O(n). */
export function paretoNbdLogLikelihood(p: ParetoNbdParams, s: RfmSummary): number {
  const n = checkSummary(s);
  const { r, alpha, s: sh, beta } = p;
  const lo = Math.min(alpha, beta);
  const hi = Math.max(alpha, beta);
  const diff = hi - lo;
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const x = s.frequency[i]!;
    const tx = s.recency[i]!;
    const T = s.T[i]!;
    const rsx = r + sh + x;
    const t = alpha < beta ? r + x : sh + 1;
    const q1 = hi + tx;
    const q2 = hi + T;
    const p1 = hyp2f1(rsx, t, rsx + 1, diff / q1);
    const p2 = hyp2f1(rsx, t, rsx + 1, diff / q2);
    const logA0 = logSubExp(Math.log(p1) + rsx * Math.log(q2), Math.log(p2) + rsx * Math.log(q1)) - rsx * Math.log(q1 * q2);
    const a1 = lgamma(r + x) - lgamma(r) + r * Math.log(alpha) + sh * Math.log(beta);
    const a2 = logAddExp(-(r + x) * Math.log(alpha + T) - sh * Math.log(beta + T), Math.log(sh) + logA0 - Math.log(rsx));
    ll += a1 + a2;
  }
  return ll;
}

/**
 * Gamma-Gamma log-likelihood over repeat customers only (frequency > 0): `monetary` is each customer's mean
 * spend per repeat transaction. Rows with frequency 0 or spend <= 0 are ignored (the model is undefined there).
 */
export function gammaGammaLogLikelihood(p: GammaGammaParams, frequency: Float64Array, monetary: Float64Array): number {
  const { p: pp, q, v } = p;
  let ll = 0;
  for (let i = 0; i < frequency.length; i++) {
    const x = frequency[i]!;
    const m = monetary[i]!;
    if (!(x > 0 && m > 0)) continue;
    ll +=
      lgamma(pp * x + q) -
      lgamma(pp * x) -
      lgamma(q) +
      q * Math.log(v) +
      (pp * x - 1) * Math.log(m) +
      pp * x * Math.log(x) -
      (pp * x + q) * Math.log(x * m + v);
  }
  return ll;
}

/** Fits positive parameters by Nelder-Mead on their logarithms (so every trial point is feasible). */
function fitPositive(
  negLl: (theta: Float64Array) => number,
  k: number,
  start = 0,
): { theta: Float64Array; fx: number; converged: boolean; iterations: number } {
  const r = nelderMead((lt) => negLl(lt.map(Math.exp)), new Float64Array(k).fill(start), {
    fTol: 1e-11,
    xTol: 1e-9,
    restarts: 8,
    step: 0.5,
  });
  return { theta: r.x.map(Math.exp), fx: r.fx, converged: r.converged, iterations: r.iterations };
}

/** Maximum-likelihood BG/NBD fit. O(n) per likelihood evaluation, a few thousand evaluations. */
export function fitBgNbd(s: RfmSummary): Fit<BgNbdParams> {
  checkSummary(s);
  const f = fitPositive((t) => -bgNbdLogLikelihood({ r: t[0]!, alpha: t[1]!, a: t[2]!, b: t[3]! }, s), 4);
  const [r, alpha, a, b] = f.theta;
  return { params: { r: r!, alpha: alpha!, a: a!, b: b! }, logLikelihood: -f.fx, converged: f.converged, iterations: f.iterations };
}

/** Maximum-likelihood Pareto/NBD fit. */
export function fitParetoNbd(s: RfmSummary): Fit<ParetoNbdParams> {
  checkSummary(s);
  const f = fitPositive((t) => -paretoNbdLogLikelihood({ r: t[0]!, alpha: t[1]!, s: t[2]!, beta: t[3]! }, s), 4);
  const [r, alpha, sh, beta] = f.theta;
  return { params: { r: r!, alpha: alpha!, s: sh!, beta: beta! }, logLikelihood: -f.fx, converged: f.converged, iterations: f.iterations };
}

/** Maximum-likelihood Gamma-Gamma fit on repeat customers. Throws when there are none. */
export function fitGammaGamma(frequency: Float64Array, monetary: Float64Array): Fit<GammaGammaParams> {
  if (frequency.length !== monetary.length) throw new RangeError('Gamma-Gamma: frequency and monetary must have the same length');
  let repeat = 0;
  for (let i = 0; i < frequency.length; i++) if (frequency[i]! > 0 && monetary[i]! > 0) repeat++;
  if (repeat === 0) throw new RangeError('Gamma-Gamma: no repeat customer with a positive spend');
  const f = fitPositive((t) => -gammaGammaLogLikelihood({ p: t[0]!, q: t[1]!, v: t[2]! }, frequency, monetary), 3);
  const [p, q, v] = f.theta;
  return { params: { p: p!, q: q!, v: v! }, logLikelihood: -f.fx, converged: f.converged, iterations: f.iterations };
}

/** BG/NBD: expected purchases of a new customer in (0, t]. */
export function bgNbdExpectedPurchases(p: BgNbdParams, t: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/** BG/NBD: probability that a customer with history (x, t_x, T) is still alive at T. */
export function bgNbdProbabilityAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = p;
  return 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x));
}

/** BG/NBD: expected purchases in (T, T + t] of a customer with history (x, t_x, T). */
export function bgNbdConditionalExpectedPurchases(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const num =
    ((a + b + x - 1) / (a - 1)) *
    (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)));
  const den = x > 0 ? 1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 1;
  return num / den;
}

/** Gamma-Gamma: expected mean spend per transaction of a customer with `x` repeat purchases averaging `m`. */
export function gammaGammaExpectedSpend(p: GammaGammaParams, x: number, m: number): number {
  const { p: pp, q, v } = p;
  const population = (pp * v) / (q - 1);
  if (!(x > 0 && m > 0)) return population;
  const w = (q - 1) / (pp * x + q - 1);
  return w * population + (1 - w) * m;
}

/**
 * Expected value of a customer over `horizon` time units, discounted at `discountRate` per time unit
 * (e.g. 0.01 per week), summed over `steps` equal slices: sum of E[purchases in slice] * E[spend] / (1+d)^end.
 * This is the discounted-cash-flow form of lifetimes' `customer_lifetime_value`.
 */
export function expectedValue(
  bg: BgNbdParams,
  gg: GammaGammaParams,
  customer: { x: number; tx: number; T: number; monetary: number },
  horizon: number,
  discountRate: number,
  steps = 12,
): number {
  const spend = gammaGammaExpectedSpend(gg, customer.x, customer.monetary);
  let value = 0;
  let prev = 0;
  for (let k = 1; k <= steps; k++) {
    const t = (horizon * k) / steps;
    const cum = bgNbdConditionalExpectedPurchases(bg, t, customer.x, customer.tx, customer.T);
    value += ((cum - prev) * spend) / (1 + discountRate) ** t;
    prev = cum;
  }
  return value;
}
