/**
 * Croston and TSB against a reference: a line-by-line port of Nixtla statsforecast's `_ses_fcst_mse`,
 * `_ses_forecast`, `_intervals`, `_croston_classic` and `_tsb` (statsforecast/models.py, v1.7), recomputed here on
 * random intermittent series, plus a worked example by hand and invariants (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crostonFit, demandClass, INTERVAL_LEVELS, INTERVAL_WINDOW, intermittentForecast, tsbFit } from './intermittent.ts';
import { rngMulberry32 } from './random.ts';

/** statsforecast's SES: smoothed starts at x[0]; fitted[i] = smoothed after x[i-1]; forecast adds x[n-1]. */
function refSes(x: number[], alpha: number): number {
  let smoothed = x[0]!;
  for (let i = 1; i < x.length; i++) smoothed = alpha * x[i - 1]! + (1 - alpha) * smoothed;
  return alpha * x[x.length - 1]! + (1 - alpha) * smoothed;
}
/** statsforecast's `_intervals`: np.diff(nonzero_idxs + 1, prepend=0). */
function refIntervals(y: number[]): number[] {
  const idx = y.flatMap((v, i) => (v !== 0 ? [i + 1] : []));
  return idx.map((v, k) => v - (k === 0 ? 0 : idx[k - 1]!));
}
function refCroston(y: number[], alpha: number): number {
  const z = y.filter((v) => v !== 0);
  if (!z.length) return 0;
  return refSes(z, alpha) / refSes(refIntervals(y), alpha);
}
function refTsb(y: number[], alphaD: number, alphaP: number): number {
  const z = y.filter((v) => v !== 0);
  if (!z.length) return 0;
  return (
    refSes(
      y.map((v) => (v !== 0 ? 1 : 0)),
      alphaP,
    ) * refSes(z, alphaD)
  );
}

function series(seed: number, n: number, pDemand: number): number[] {
  const rng = rngMulberry32(seed);
  return Array.from({ length: n }, () => (rng() < pDemand ? 1 + Math.floor(rng() * 12) : 0));
}

describe('Croston and TSB', () => {
  it('match the statsforecast reference on random intermittent series', () => {
    for (let s = 1; s <= 50; s++) {
      const y = series(s, 30 + s * 7, 0.05 + (s % 10) / 20);
      const alpha = 0.05 + (s % 5) * 0.1;
      expect(crostonFit(y, alpha).forecast).toBeCloseTo(refCroston(y, alpha), 12);
      expect(tsbFit(y, alpha, 0.2).forecast).toBeCloseTo(refTsb(y, alpha, 0.2), 12);
    }
  });

  it('a worked example: y = 0 0 3 0 0 0 2 0 1, alpha 0.1', () => {
    const y = [0, 0, 3, 0, 0, 0, 2, 0, 1];
    // sizes 3, 2, 1 -> 3, 2.9, 2.71; intervals 3, 4, 2 -> 3, 3.1, 2.99
    expect(crostonFit(y, 0.1).forecast).toBeCloseTo(2.71 / 2.99, 12);
    // demand indicator from 0: 0, 0, .1, .09, .081, .0729, .16561, .149049, .2341441; sizes as above
    expect(tsbFit(y, 0.1, 0.1).forecast).toBeCloseTo(0.2341441 * 2.71, 12);
    // one-step-ahead: nothing before the first demand; then the forecast from the periods before
    const f = crostonFit(y, 0.1).fitted;
    expect(Number.isNaN(f[2]!)).toBe(true);
    expect(f[3]).toBeCloseTo(1, 12);
    expect(f[7]).toBeCloseTo(2.9 / 3.1, 12);
  });

  it('a steady demand forecasts itself; TSB decays after the item stops selling, Croston does not', () => {
    expect(crostonFit([4, 4, 4, 4, 4]).forecast).toBeCloseTo(4, 12);
    expect(tsbFit([4, 4, 4, 4, 4]).forecast).toBeCloseTo(4, 12);
    const stopped = [3, 0, 3, 0, 3, ...new Array(60).fill(0)];
    expect(tsbFit(stopped).forecast).toBeLessThan(0.01);
    expect(crostonFit(stopped).forecast).toBeCloseTo(3 / 1.19, 9); // intervals 1, 2, 2 -> 1, 1.1, 1.19
  });

  it('forecasts are non-negative and within the demand sizes; intervals nest around the point', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 200 }), (y) => {
        const max = Math.max(...y);
        for (const m of ['croston', 'tsb'] as const) {
          const f = intermittentForecast(y, m, 5);
          expect(f.point).toHaveLength(5);
          const p = f.point[0]!;
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(max + 1e-9);
          expect(f.lower95[0]!).toBeLessThanOrEqual(f.lower80[0]! + 1e-12);
          expect(f.lower80[0]!).toBeLessThanOrEqual(p + 1e-12);
          expect(f.upper80[0]!).toBeGreaterThanOrEqual(p - 1e-12);
          expect(f.upper95[0]!).toBeGreaterThanOrEqual(f.upper80[0]! - 1e-12);
          expect(f.lower95[0]!).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('intervals are quantiles of the recent window only, at the calibrated levels', () => {
    // 91 recent days: 0..90 once each (type-7 quantiles are exact); older history of huge values is ignored
    const old = new Array<number>(50).fill(10_000);
    const recent = Array.from({ length: INTERVAL_WINDOW }, (_, i) => (i * 37) % INTERVAL_WINDOW);
    const f = intermittentForecast([...old, ...recent], 'croston', 3);
    const { level80, level95 } = INTERVAL_LEVELS.croston;
    const p = f.point[0]!;
    expect(f.upper95[0]).toBeCloseTo(Math.max(p, 90 * (1 - (1 - level95) / 2)), 9);
    expect(f.lower95[0]).toBeCloseTo(Math.min(p, 90 * ((1 - level95) / 2)), 9);
    expect(f.upper80[0]).toBeCloseTo(Math.max(p, 90 * (1 - (1 - level80) / 2)), 9);
    expect(f.upper95[2]).toBe(f.upper95[0]);
    expect(f.upper95[0]!).toBeLessThan(100);
    // wider levels give wider bounds; a custom window reads only that many values
    const wide = intermittentForecast([...old, ...recent], 'croston', 1, { levels: { level80: 0.8, level95: 0.99 } });
    expect(wide.upper80[0]!).toBeGreaterThan(f.upper80[0]!);
    expect(intermittentForecast([...old, ...recent], 'tsb', 1, { window: 200 }).upper95[0]).toBe(10_000);
  });

  it('calibrated intervals cover close to nominal on simulated intermittent demand', () => {
    // Bernoulli(0.2) days with geometric-ish sizes 1..10: coverage of the next 28 days over 300 series
    let s = 12345;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const draw = () => (rnd() < 0.2 ? 1 + Math.floor(-Math.log(1 - rnd()) * 3) : 0);
    for (const m of ['croston', 'tsb'] as const) {
      let c80 = 0;
      let c95 = 0;
      let n = 0;
      for (let k = 0; k < 300; k++) {
        const y = Array.from({ length: 200 }, draw);
        const f = intermittentForecast(y, m, 28);
        for (let h = 0; h < 28; h++) {
          const v = draw();
          if (v >= f.lower80[h]! && v <= f.upper80[h]!) c80++;
          if (v >= f.lower95[h]! && v <= f.upper95[h]!) c95++;
          n++;
        }
      }
      expect(c80 / n).toBeGreaterThan(0.75);
      expect(c95 / n).toBeGreaterThan(0.9);
      expect(c95 / n).toBeLessThan(0.995);
    }
  });

  it('no demand forecasts 0; bad input is refused by name', () => {
    expect(intermittentForecast([0, 0, 0], 'tsb', 3).upper95).toEqual([0, 0, 0]);
    expect(() => crostonFit([])).toThrow('empty series');
    expect(() => crostonFit([1, -1])).toThrow('value 1');
    expect(() => tsbFit([1, Number.NaN])).toThrow('value 1');
    expect(() => crostonFit([1], 0)).toThrow('smoothing weight');
    expect(() => intermittentForecast([1], 'croston', 0)).toThrow('horizon');
    expect(() => intermittentForecast([1], 'croston', 1, { window: 0 })).toThrow('window');
    expect(() => intermittentForecast([1], 'tsb', 1, { levels: { level80: 0.8, level95: 1 } })).toThrow('levels');
    expect(() => intermittentForecast([1], 'tsb', 1, { levels: { level80: Number.NaN, level95: 0.9 } })).toThrow('levels');
  });

  it('classifies demand by ADI and CV² (Syntetos-Boylan)', () => {
    expect(demandClass([5, 5, 5, 5]).kind).toBe('smooth');
    expect(demandClass([0, 0, 5, 0, 0, 5, 0, 0, 5]).kind).toBe('intermittent');
    expect(demandClass([0, 0, 1, 0, 0, 40, 0, 0, 2]).kind).toBe('lumpy');
    expect(demandClass([1, 30, 2, 50, 1]).kind).toBe('erratic');
    expect(demandClass([0, 0]).kind).toBe('none');
  });
});
