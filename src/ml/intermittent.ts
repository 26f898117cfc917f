/**
 * Intermittent demand (many zero periods: one item's daily units): Croston's method and TSB, with empirical
 * prediction intervals, and the Syntetos-Boylan demand classification. Pure functions over number arrays.
 *
 * Definitions follow Nixtla statsforecast's `CrostonClassic` and `TSB` (the reference the tests recompute):
 * - Croston (1972): simple exponential smoothing (SES) of the non-zero demand sizes z_j and, separately, of the
 *   intervals p_j between them (the first interval counts from the start: index of the first demand + 1); both
 *   start at their first value. Forecast z / p for every step ahead.
 * - TSB (Teunter, Syntetos and Babai 2011): SES of the demand indicator d_t = [y_t > 0] every period (the
 *   probability of a demand, starting at d_0) and SES of the non-zero sizes (starting at the first); forecast
 *   p * z. Unlike Croston, the forecast decays while no demand comes (an item that stopped selling goes to 0).
 * - SES here: level_0 = x_0, level_i = level_{i-1} + alpha (x_i - level_{i-1}); the forecast is the last level.
 * Intervals: these methods give a flat point forecast and no error model, so the 80% / 95% bounds are the point
 * plus the empirical 10/90% and 2.5/97.5% quantiles of the in-sample one-step-ahead errors, clipped at 0 (the
 * same width at every horizon).
 */

/** Point forecast with 80% and 95% intervals per step ahead (the shape of the predictions module's forecasts). */
export interface IntermittentForecast {
  point: number[];
  lower80: number[];
  upper80: number[];
  lower95: number[];
  upper95: number[];
}

export interface IntermittentFit {
  /** The forecast for every future period. */
  forecast: number;
  /** One-step-ahead forecast of each period from the periods before it (NaN before the first demand). */
  fitted: Float64Array;
}

function checkAlpha(name: string, a: number): void {
  if (!(a > 0 && a <= 1)) throw new RangeError(`${name}: smoothing weight must be in (0, 1], got ${a}`);
}

function checkSeries(name: string, y: ArrayLike<number>): void {
  if (y.length === 0) throw new RangeError(`${name}: empty series`);
  for (let i = 0; i < y.length; i++)
    if (!Number.isFinite(y[i]!) || y[i]! < 0) throw new RangeError(`${name}: value ${i} is not a finite non-negative number`);
}

/** Croston's method. O(n). Throws on an empty series, negative or non-finite values, alpha outside (0, 1]. */
export function crostonFit(y: ArrayLike<number>, alpha = 0.1): IntermittentFit {
  checkSeries('crostonFit', y);
  checkAlpha('crostonFit', alpha);
  const n = y.length;
  const fitted = new Float64Array(n).fill(Number.NaN);
  let z = Number.NaN;
  let p = Number.NaN;
  let last = -1; // index of the previous demand
  for (let t = 0; t < n; t++) {
    if (last >= 0) fitted[t] = z / p;
    const v = y[t]!;
    if (v > 0) {
      const interval = t - last; // the first one: t + 1
      if (last < 0) {
        z = v;
        p = interval;
      } else {
        z += alpha * (v - z);
        p += alpha * (interval - p);
      }
      last = t;
    }
  }
  return { forecast: last < 0 ? 0 : z / p, fitted };
}

/** TSB. O(n). `alphaDemand` smooths the sizes, `alphaProbability` the demand indicator. Same errors as crostonFit. */
export function tsbFit(y: ArrayLike<number>, alphaDemand = 0.1, alphaProbability = 0.1): IntermittentFit {
  checkSeries('tsbFit', y);
  checkAlpha('tsbFit', alphaDemand);
  checkAlpha('tsbFit', alphaProbability);
  const n = y.length;
  const fitted = new Float64Array(n).fill(Number.NaN);
  let prob = Number.NaN;
  let z = Number.NaN;
  for (let t = 0; t < n; t++) {
    if (t > 0 && !Number.isNaN(z)) fitted[t] = prob * z;
    const v = y[t]!;
    const d = v > 0 ? 1 : 0;
    prob = t === 0 ? d : prob + alphaProbability * (d - prob);
    if (v > 0) z = Number.isNaN(z) ? v : z + alphaDemand * (v - z);
  }
  return { forecast: Number.isNaN(z) ? 0 : prob * z, fitted };
}

/** The q-quantile (0..1) of sorted values, linear between order statistics (type 7, R's and numpy's default). */
function quantileSorted(s: Float64Array, q: number): number {
  if (s.length === 0) return 0;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

/**
 * `horizon` steps of Croston or TSB with 80% / 95% intervals from the in-sample one-step errors (see the file's
 * comment). A series without any demand forecasts 0 with zero-width intervals.
 */
export function intermittentForecast(
  y: ArrayLike<number>,
  method: 'croston' | 'tsb',
  horizon: number,
  opts: { alpha?: number; alphaProbability?: number } = {},
): IntermittentForecast {
  if (!(Number.isInteger(horizon) && horizon >= 1)) throw new RangeError(`intermittentForecast: horizon must be a positive integer`);
  const fit = method === 'croston' ? crostonFit(y, opts.alpha ?? 0.1) : tsbFit(y, opts.alpha ?? 0.1, opts.alphaProbability ?? 0.1);
  const errors: number[] = [];
  for (let t = 0; t < y.length; t++) if (!Number.isNaN(fit.fitted[t]!)) errors.push(y[t]! - fit.fitted[t]!);
  const e = Float64Array.from(errors).sort();
  const f = fit.forecast;
  const at = (q: number) => Math.max(0, f + quantileSorted(e, q));
  const bounds = { lower80: at(0.1), upper80: at(0.9), lower95: at(0.025), upper95: at(0.975) };
  const fill = (v: number) => new Array<number>(horizon).fill(v);
  return {
    point: fill(f),
    lower80: fill(Math.min(bounds.lower80, f)),
    upper80: fill(Math.max(bounds.upper80, f)),
    lower95: fill(Math.min(bounds.lower95, f)),
    upper95: fill(Math.max(bounds.upper95, f)),
  };
}

/**
 * Syntetos-Boylan classification: ADI (mean interval between demands, periods) and CV² of the non-zero sizes;
 * cut-offs 1.32 and 0.49: smooth, intermittent (ADI high), erratic (CV² high), lumpy (both). `none`: no demand.
 */
export function demandClass(y: ArrayLike<number>): {
  adi: number;
  cv2: number;
  kind: 'smooth' | 'intermittent' | 'erratic' | 'lumpy' | 'none';
} {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let t = 0; t < y.length; t++)
    if (y[t]! > 0) {
      n++;
      sum += y[t]!;
      sq += y[t]! * y[t]!;
    }
  if (n === 0) return { adi: Number.POSITIVE_INFINITY, cv2: 0, kind: 'none' };
  const adi = y.length / n;
  const mean = sum / n;
  const cv2 = n > 1 ? (sq / n - mean * mean) / (mean * mean) : 0;
  const kind = adi < 1.32 ? (cv2 < 0.49 ? 'smooth' : 'erratic') : cv2 < 0.49 ? 'intermittent' : 'lumpy';
  return { adi, cv2, kind };
}
