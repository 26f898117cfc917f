import { describe, expect, it } from 'vitest';
import {
  bgNbdConditionalExpectedPurchases,
  bgNbdExpectedPurchases,
  bgNbdLogLikelihood,
  bgNbdProbabilityAlive,
  expectedValue,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaExpectedSpend,
} from './clv.ts';

describe('CLV formulas (data-free)', () => {
  const bg = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const gg = { p: 6.25, q: 3.74, v: 15.44 };

  it('expected purchases grow with the horizon; a one-time buyer is always alive', () => {
    let prev = 0;
    for (const t of [1, 5, 10, 50, 100]) {
      const e = bgNbdExpectedPurchases(bg, t);
      expect(e).toBeGreaterThan(prev);
      prev = e;
    }
    expect(bgNbdExpectedPurchases(bg, 0)).toBe(0);
    expect(bgNbdProbabilityAlive(bg, 0, 0, 30)).toBe(1);
    // a long silence after many purchases means likely dead
    expect(bgNbdProbabilityAlive(bg, 10, 2, 40)).toBeLessThan(0.01);
  });

  it('expected value: no discount equals E[X] * E[spend]; a discount lowers it', () => {
    const c = { x: 3, tx: 20, T: 38, monetary: 40 };
    const undiscounted = expectedValue(bg, gg, c, 52, 0);
    const want = bgNbdConditionalExpectedPurchases(bg, 52, 3, 20, 38) * gammaGammaExpectedSpend(gg, 3, 40);
    expect(undiscounted).toBeCloseTo(want, 10);
    expect(expectedValue(bg, gg, c, 52, 0.01)).toBeLessThan(undiscounted);
    expect(expectedValue(bg, gg, c, 52, 0.01)).toBeGreaterThan(undiscounted / 1.01 ** 52);
  });

  it('refuses empty or ragged summaries and a Gamma-Gamma fit without repeat customers', () => {
    const empty = new Float64Array(0);
    expect(() => fitBgNbd({ frequency: empty, recency: empty, T: empty })).toThrow(/no customers/);
    expect(() => bgNbdLogLikelihood(bg, { frequency: new Float64Array(2), recency: new Float64Array(1), T: new Float64Array(2) })).toThrow(
      /same length/,
    );
    expect(() => fitGammaGamma(Float64Array.of(0, 0), Float64Array.of(0, 0))).toThrow(/no repeat/);
  });
});
