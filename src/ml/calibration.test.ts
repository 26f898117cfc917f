import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { calibrate, fitIsotonic, fitPlatt } from './calibration.ts';

const s = Float64Array.of(0.1, 0.2, 0.2, 0.35, 0.4, 0.5, 0.6, 0.8, 0.9, 0.95);
const y = Float64Array.of(0, 1, 0, 1, 0, 0, 1, 1, 0, 1);

describe('fitIsotonic', () => {
  it('matches scikit-learn 1.2.1 IsotonicRegression(out_of_bounds="clip") on a small example', () => {
    // python: IsotonicRegression(out_of_bounds='clip').fit(s, y).predict([0.05, 0.2, 0.3, 0.45, 0.7, 0.85, 0.99])
    const want = [0.0, 0.4, 0.4, 0.4, 0.6666666666666666, 0.6666666666666666, 1.0];
    const m = fitIsotonic(s, y);
    [0.05, 0.2, 0.3, 0.45, 0.7, 0.85, 0.99].forEach((q, i) => expect(calibrate(m, q)).toBeCloseTo(want[i]!, 12));
  });

  it('is non-decreasing and keeps the mean of the labels (a property of least-squares isotonic fits)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 60 }), (rows) => {
        const sc = Float64Array.from(rows, (r) => r[0]);
        const lb = Float64Array.from(rows, (r) => (r[1] ? 1 : 0));
        const m = fitIsotonic(sc, lb);
        for (let i = 1; i < m.y.length; i++) expect(m.y[i]!).toBeGreaterThanOrEqual(m.y[i - 1]! - 1e-12);
        const mean = lb.reduce((a, b) => a + b, 0) / lb.length;
        const fitted = sc.reduce((a, v) => a + calibrate(m, v), 0) / sc.length;
        expect(fitted).toBeCloseTo(mean, 9);
      }),
    );
  });
});

describe('fitPlatt', () => {
  it('keeps the ranking and maps scores into (0, 1); recovers a known logistic link', () => {
    // labels drawn as y = 1 exactly when a deterministic uniform u < sigmoid(4s - 2): the fit should find a ~ -4, b ~ 2
    const n = 4000;
    const sc = new Float64Array(n);
    const lb = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sc[i] = (i % 100) / 100;
      const u = ((i * 7919) % 1000) / 1000;
      lb[i] = u < 1 / (1 + Math.exp(-(4 * sc[i]! - 2))) ? 1 : 0;
    }
    const m = fitPlatt(sc, lb);
    expect(m.a).toBeCloseTo(-4, 0);
    expect(m.b).toBeCloseTo(2, 0);
    expect(calibrate(m, 0.9)).toBeGreaterThan(calibrate(m, 0.1));
    expect(() => fitPlatt(new Float64Array(0), new Float64Array(0))).toThrow(RangeError);
  });
});
