import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choleskySolve, fitLogistic, predictLogistic } from './logistic.ts';

describe('choleskySolve', () => {
  it('solves a 3 × 3 system against a hand-computed answer', () => {
    // A = [[4,2,0],[2,5,1],[0,1,3]], x = [1,2,3] gives b = A x = [8, 15, 11].
    const a = Float64Array.from([4, 2, 0, 2, 5, 1, 0, 1, 3]);
    const out = choleskySolve(a, Float64Array.from([8, 15, 11]), 3);
    expect([...out].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 2, 3]);
  });
  it('refuses a matrix that is not positive definite', () => {
    expect(() => choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2)).toThrow(/positive definite/);
  });
});

describe('fitLogistic', () => {
  it('matches the closed-form optimum of a one-feature problem (checked by the gradient vanishing)', () => {
    // x in {0, 1}; at x = 0 one positive of 4, at x = 1 three positives of 4. Unregularized (l2 tiny), the MLE
    // reproduces the group rates exactly: p(0) = 0.25, p(1) = 0.75 (logit ±ln 3).
    const x = Float64Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
    const y = Uint8Array.from([1, 0, 0, 0, 1, 1, 1, 0]);
    const m = fitLogistic(x, y, 1, { l2: 1e-9 });
    const p = predictLogistic(m, Float64Array.from([0, 1]));
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBeCloseTo(0.75, 6);
  });

  it('property: probabilities stay in (0, 1), and a larger penalty never grows the weight norm', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.boolean()), {
          minLength: 6,
          maxLength: 40,
        }),
        (rows) => {
          const x = Float64Array.from(rows.flatMap((r) => [r[0], r[1]]));
          const y = Uint8Array.from(rows.map((r) => (r[2] ? 1 : 0)));
          const a = fitLogistic(x, y, 2, { l2: 0.1 });
          const b = fitLogistic(x, y, 2, { l2: 10 });
          const norm = (m: typeof a) => Math.hypot(m.weights[0]!, m.weights[1]!);
          expect(norm(b)).toBeLessThanOrEqual(norm(a) + 1e-9);
          for (const p of predictLogistic(a, x)) expect(p > 0 && p < 1).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
