/**
 * MSTL decomposition with an AutoETS trend (the `@bsull/augurs` WebAssembly build of Grafana's augurs), loaded
 * synchronously from its wasm bytes on first use (Node 20 has no wasm ESM integration).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { initSync, MSTL } from '@bsull/augurs/mstl';
import { applyStructuralZeros, type IntervalForecast, seasonalNaive } from './forecast.core.ts';

let ready = false;

function init(): void {
  if (ready) return;
  const dir = path.dirname(createRequire(import.meta.url).resolve('@bsull/augurs'));
  initSync({ module: fs.readFileSync(path.join(dir, 'mstl_bg.wasm')) });
  ready = true;
}

/** Which model produced a forecast, and why when it is not MSTL+ETS. */
export interface ForecastResult extends IntervalForecast {
  model: 'mstl_ets' | 'seasonal_naive' | 'naive';
  note?: string;
}

/**
 * MSTL(periods) + AutoETS trend, with 80% and 95% intervals. Falls back to seasonal naive when the series is
 * shorter than two of its longest periods, or naive for a single value (MSTL cannot fit those). Non-negative
 * series get structural zeros and clipping (`applyStructuralZeros`, on the first period).
 */
export function forecastMstlEts(y: Float64Array, horizon: number, periods: readonly number[] = [7]): ForecastResult {
  if (y.length === 0) throw new RangeError('forecast: empty series');
  const longest = Math.max(...periods);
  if (y.length < 2 * longest + 1) {
    const f = seasonalNaive(y, longest, horizon);
    const model = y.length > longest ? 'seasonal_naive' : 'naive';
    return { ...f, model, note: `${y.length} values: fewer than two seasonal periods (${2 * longest + 1} needed) for MSTL+ETS` };
  }
  init();
  const m = MSTL.ets(Uint32Array.from(periods), { impute: false });
  try {
    m.fit(y);
    const f80 = m.predict(horizon, 0.8);
    const f95 = m.predict(horizon, 0.95);
    if (!f80.intervals || !f95.intervals) throw new Error('forecast: MSTL returned no intervals');
    const f: IntervalForecast = {
      point: f95.point,
      lower80: f80.intervals.lower,
      upper80: f80.intervals.upper,
      lower95: f95.intervals.lower,
      upper95: f95.intervals.upper,
    };
    return { ...applyStructuralZeros(f, y, periods[0] ?? 1), model: 'mstl_ets' };
  } finally {
    m.free();
  }
}
