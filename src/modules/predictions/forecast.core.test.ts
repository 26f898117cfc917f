import { describe, expect, it } from 'vitest';
import { applyStructuralZeros, intervalCoverage, meanAbsoluteError, rollingOrigins, seasonalNaive } from './forecast.core.ts';

describe('seasonalNaive', () => {
  it('repeats the last season; intervals widen with sqrt(k) (fpp3 section 5.5, by hand)', () => {
    // period 2: seasonal differences 2, 2, 2, 2 -> sigma 2
    const f = seasonalNaive([1, 5, 3, 7, 5, 9], 2, 4);
    expect(f.point).toEqual([5, 9, 5, 9]);
    expect(f.upper95[0]! - f.point[0]!).toBeCloseTo(1.959963984540054 * 2, 12);
    expect(f.upper95[2]! - f.point[2]!).toBeCloseTo(1.959963984540054 * 2 * Math.SQRT2, 12);
    expect(f.upper80[0]! - f.point[0]!).toBeCloseTo(1.2815515655446004 * 2, 12);
  });
  it('falls back to naive on a short series and refuses an empty one', () => {
    expect(seasonalNaive([4], 7, 3).point).toEqual([4, 4, 4]);
    expect(seasonalNaive([1, 2, 3], 7, 2).point).toEqual([3, 3]);
    expect(() => seasonalNaive([], 7, 3)).toThrow(RangeError);
  });
});

describe('scores and origins', () => {
  it('MAE, coverage and rolling origins by hand', () => {
    expect(meanAbsoluteError([1, 2, 3], [2, 2, 5])).toBe(1);
    expect(intervalCoverage([0, 0, 0, 0], [1, 1, 1, 1], [0.5, 1, 2, -1])).toBe(0.5);
    expect(rollingOrigins(374, 28, 4)).toEqual([262, 290, 318, 346]);
    expect(rollingOrigins(50, 28, 4)).toEqual([22]);
  });
});

describe('applyStructuralZeros', () => {
  it('forecasts 0 on a position closed for 8 seasons and clips negatives; leaves a series with negatives alone', () => {
    const y = Array.from({ length: 70 }, (_, t) => (t % 7 === 5 ? 0 : 100));
    const f = {
      point: [-3, 1, 2, 3, 4, 5, 6],
      lower80: Array(7).fill(-10),
      upper80: Array(7).fill(10),
      lower95: Array(7).fill(-20),
      upper95: Array(7).fill(20),
    };
    applyStructuralZeros(f, y, 7);
    // the forecast starts at t = 70, whose position 70 % 7 = 0; the closed position 5 is step h = 5
    expect(f.point).toEqual([0, 1, 2, 3, 4, 0, 6]);
    expect(f.upper95[5]).toBe(0);
    expect(f.lower95[0]).toBe(0);
    const g = { point: [-3], lower80: [-4], upper80: [0], lower95: [-5], upper95: [1] };
    applyStructuralZeros(g, [1, -1], 7);
    expect(g.point).toEqual([-3]);
  });
});
