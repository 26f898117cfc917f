import { describe, expect, it } from 'vitest';
import { intervalCoverage, meanAbsoluteError, seasonalNaive } from './forecast.core.ts';
import { forecastMstlEts } from './forecast.mstl.ts';
import { rngMulberry32 } from '../../ml/random.ts';

/** A weekly pattern on a slow trend with Gaussian-ish noise (sum of uniforms), seeded. */
function weekly(n: number, seed: number): Float64Array {
  const rng = rngMulberry32(seed);
  const pattern = [100, 120, 130, 125, 140, 60, 80];
  return Float64Array.from({ length: n }, (_, t) => pattern[t % 7]! + 0.05 * t + 10 * (rng() + rng() + rng() - 1.5));
}

describe('forecastMstlEts', () => {
  it('beats seasonal naive on a noisy weekly series and its 95% intervals cover about 95%', () => {
    let mstl = 0;
    let naive = 0;
    let covered = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const y = weekly(400, seed);
      const train = y.subarray(0, 372);
      const test = y.subarray(372);
      const f = forecastMstlEts(train, 28);
      expect(f.model).toBe('mstl_ets');
      mstl += meanAbsoluteError(f.point, test);
      naive += meanAbsoluteError(seasonalNaive(train, 7, 28).point, test);
      covered += intervalCoverage(f.lower95, f.upper95, test) / 5;
      for (let h = 0; h < 28; h++) {
        expect(f.lower95[h]!).toBeLessThanOrEqual(f.lower80[h]!);
        expect(f.upper80[h]!).toBeLessThanOrEqual(f.upper95[h]!);
      }
    }
    // seasonal naive carries one week's noise into every forecast: its error is about sqrt(2) times larger
    expect(mstl).toBeLessThan(0.85 * naive);
    expect(covered).toBeGreaterThan(0.85);
  });

  it('falls back for a single value and a series shorter than two weeks; fits 10 years of daily data', () => {
    expect(forecastMstlEts(Float64Array.of(5), 3)).toMatchObject({ model: 'naive', point: [5, 5, 5] });
    expect(forecastMstlEts(weekly(10, 1), 3).model).toBe('seasonal_naive');
    expect(() => forecastMstlEts(new Float64Array(0), 3)).toThrow(RangeError);
    const long = forecastMstlEts(weekly(3653, 2), 14);
    expect(long.model).toBe('mstl_ets');
    expect(long.point.every(Number.isFinite)).toBe(true);
    // the trend reached ~0.05 * 3653 = 183 above the start: the forecast level must follow it
    expect(long.point.reduce((a, b) => a + b, 0) / 14).toBeGreaterThan(250);
  }, 60_000);
});
