/**
 * Offline forecasting over a daily series (the `loupe predict forecast` command and the bench).
 */
import { applyStructuralZeros, intervalCoverage, meanAbsoluteError, rollingOrigins, seasonalNaive } from './forecast.core.ts';
import { intermittentForecast } from '../../ml/intermittent.ts';
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

/** Per-item holdout comparison: mean MAE and 95% coverage of seasonal naive (period 7), Croston and TSB. */
export interface ItemForecastComparison {
  items: number;
  horizon: number;
  methods: { method: 'seasonal_naive' | 'croston' | 'tsb'; mae: number; coverage95: number; coverage80: number; bestOn: number }[];
}

/**
 * Holds out the last `horizon` days of each item's daily units and forecasts them with seasonal naive (period 7,
 * clipped at 0), Croston and TSB (alpha 0.1); averages MAE and interval coverage over the items and counts on how
 * many items each method had the lowest MAE (ties count for each).
 */
export function compareItemForecasts(series: readonly Float64Array[], horizon: number): ItemForecastComparison {
  const names = ['seasonal_naive', 'croston', 'tsb'] as const;
  const sums = names.map(() => ({ mae: 0, c95: 0, c80: 0, best: 0 }));
  let items = 0;
  for (const y of series) {
    if (y.length <= horizon + 7) continue;
    const train = y.subarray(0, y.length - horizon);
    const test = y.subarray(y.length - horizon);
    const fs = [
      applyStructuralZeros(seasonalNaive(train, 7, horizon), train, 7, Number.POSITIVE_INFINITY),
      intermittentForecast(train, 'croston', horizon),
      intermittentForecast(train, 'tsb', horizon),
    ];
    const maes = fs.map((f) => meanAbsoluteError(f.point, test));
    const best = Math.min(...maes);
    fs.forEach((f, k) => {
      sums[k]!.mae += maes[k]!;
      sums[k]!.c95 += intervalCoverage(f.lower95, f.upper95, test);
      sums[k]!.c80 += intervalCoverage(f.lower80, f.upper80, test);
      if (maes[k] === best) sums[k]!.best++;
    });
    items++;
  }
  return {
    items,
    horizon,
    methods: names.map((method, k) => ({
      method,
      mae: sums[k]!.mae / Math.max(1, items),
      coverage95: sums[k]!.c95 / Math.max(1, items),
      coverage80: sums[k]!.c80 / Math.max(1, items),
      bestOn: sums[k]!.best,
    })),
  };
}
