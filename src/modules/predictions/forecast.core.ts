/**
 * Forecast baselines and their scoring (pure): seasonal naive with the usual residual-based intervals
 * (Hyndman and Athanasopoulos, Forecasting: Principles and Practice, section 5.5), MAE and interval coverage.
 */

/** Point forecasts with 80% and 95% prediction intervals, one value per step ahead. */
export interface IntervalForecast {
  point: number[];
  lower80: number[];
  upper80: number[];
  lower95: number[];
  upper95: number[];
}

const Z80 = 1.2815515655446004;
const Z95 = 1.959963984540054;

/**
 * Seasonal naive: y(T+h) = y(T+h-m*k) with k = floor((h-1)/m)+1. Interval half-width z * sigma * sqrt(k), sigma
 * the root mean square of the in-sample seasonal differences. A series shorter than one period + 1 falls back
 * to the naive forecast (m = 1). Throws on an empty series.
 */
export function seasonalNaive(y: ArrayLike<number>, period: number, horizon: number): IntervalForecast {
  const n = y.length;
  if (n === 0) throw new RangeError('seasonalNaive: empty series');
  const m = n > period ? period : 1;
  let ss = 0;
  let cnt = 0;
  for (let t = m; t < n; t++) {
    ss += (y[t]! - y[t - m]!) ** 2;
    cnt++;
  }
  const sigma = cnt > 0 ? Math.sqrt(ss / cnt) : 0;
  const out: IntervalForecast = { point: [], lower80: [], upper80: [], lower95: [], upper95: [] };
  for (let h = 1; h <= horizon; h++) {
    const k = Math.floor((h - 1) / m) + 1;
    const p = y[n - m + ((h - 1) % m)]!;
    const sd = sigma * Math.sqrt(k);
    out.point.push(p);
    out.lower80.push(p - Z80 * sd);
    out.upper80.push(p + Z80 * sd);
    out.lower95.push(p - Z95 * sd);
    out.upper95.push(p + Z95 * sd);
  }
  return out;
}

/** Mean absolute error of `pred` against `actual` (same length). */
export function meanAbsoluteError(pred: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (pred.length !== actual.length || actual.length === 0) throw new RangeError('meanAbsoluteError: lengths must match and be > 0');
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(pred[i]! - actual[i]!);
  return s / actual.length;
}

/** Share of `actual` values inside [lower, upper]. */
export function intervalCoverage(lower: ArrayLike<number>, upper: ArrayLike<number>, actual: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i]! >= lower[i]! && actual[i]! <= upper[i]!) c++;
  return actual.length ? c / actual.length : Number.NaN;
}

/** Origins of a rolling-origin evaluation: `folds` consecutive blocks of `horizon` at the end of a series of length n. */
export function rollingOrigins(n: number, horizon: number, folds: number): number[] {
  const out: number[] = [];
  for (let f = folds; f >= 1; f--) {
    const origin = n - f * horizon;
    if (origin > 0) out.push(origin);
  }
  return out;
}

/**
 * Post-processing for series that cannot go negative (revenue, orders, units): forecasts and interval bounds
 * are clipped at 0, and a seasonal position that was exactly 0 in each of its last `seasons` periods (a shop
 * closed on Saturdays) is forecast 0 with a zero-width interval. Modifies `f` in place and returns it.
 */
export function applyStructuralZeros(f: IntervalForecast, y: ArrayLike<number>, period: number, seasons = 8): IntervalForecast {
  const n = y.length;
  for (let t = 0; t < n; t++) if (y[t]! < 0) return f; // a series with negatives is left alone
  for (let h = 0; h < f.point.length; h++) {
    let closed = n >= period * seasons;
    for (let k = 1; closed && k <= seasons; k++) if (y[n - period * k + (h % period)] !== 0) closed = false;
    const keys = ['point', 'lower80', 'upper80', 'lower95', 'upper95'] as const;
    for (const key of keys) f[key][h] = closed ? 0 : Math.max(0, f[key][h]!);
  }
  return f;
}
