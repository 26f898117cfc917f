/**
 * Offline forecasting over a daily series (the `loupe predict forecast` command and the bench).
 */
import { intervalCoverage, meanAbsoluteError, rollingOrigins, seasonalNaive } from './forecast.core.ts';
import { forecastMstlEts } from './forecast.mstl.ts';
import type { SeriesFile } from './predictions.files.ts';

const r2 = (v: number): number => Number(v.toFixed(2));
const isoDay = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** Forecasts `horizon` days after the series with 80/95% intervals; JSON-ready (snake_case). */
export function forecastSeriesFile(s: SeriesFile, horizon: number) {
  const f = forecastMstlEts(s.values, horizon, [7]);
  const end = s.startDay + s.values.length;
  return {
    model: f.model,
    ...(f.note ? { note: f.note } : {}),
    history_days: s.values.length,
    filled_days: s.filled,
    points: f.point.map((p, h) => ({
      date: isoDay(end + h),
      value: r2(p),
      lower_80: r2(f.lower80[h]!),
      upper_80: r2(f.upper80[h]!),
      lower_95: r2(f.lower95[h]!),
      upper_95: r2(f.upper95[h]!),
    })),
  };
}

/** One fold of a holdout comparison of MSTL+ETS against seasonal naive (period 7). */
export interface ForecastFold {
  origin: number;
  seasonalNaiveMae: number;
  mstlEtsMae: number;
  coverage95: number;
  coverage80: number;
  seasonalNaiveCoverage95: number;
}

/** Rolling-origin evaluation: `folds` blocks of `horizon` days at the end of the series. */
export function evaluateForecast(y: Float64Array, horizon: number, folds: number): ForecastFold[] {
  return rollingOrigins(y.length, horizon, folds).map((origin) => {
    const train = y.subarray(0, origin);
    const test = y.subarray(origin, origin + horizon);
    const sn = seasonalNaive(train, 7, horizon);
    const m = forecastMstlEts(train, horizon, [7]);
    return {
      origin,
      seasonalNaiveMae: meanAbsoluteError(sn.point, test),
      mstlEtsMae: meanAbsoluteError(m.point, test),
      coverage95: intervalCoverage(m.lower95, m.upper95, test),
      coverage80: intervalCoverage(m.lower80, m.upper80, test),
      seasonalNaiveCoverage95: intervalCoverage(sn.lower95, sn.upper95, test),
    };
  });
}
