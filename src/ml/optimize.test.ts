import { describe, expect, it } from 'vitest';
import { nelderMead } from './optimize.ts';

describe('nelderMead', () => {
  it('finds the minimum of the Rosenbrock function (1, 1) and of a shifted quadratic', () => {
    const rosen = (x: Float64Array) => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;
    const r = nelderMead(rosen, [-1.2, 1]);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(r.x[1]).toBeCloseTo(1, 5);
    const target = [3, -2, 0.5, 7, -1];
    const q = nelderMead((x) => x.reduce((s, v, i) => s + (i + 1) * (v - target[i]!) ** 2, 0), [0, 0, 0, 0, 0]);
    for (let i = 0; i < 5; i++) expect(q.x[i]).toBeCloseTo(target[i]!, 5);
  });

  it('treats NaN and infinite values as infeasible instead of wandering into them', () => {
    // log-barrier at x <= 0: minimum of x - log(x) at x = 1
    const r = nelderMead((x) => (x[0]! > 0 ? x[0]! - Math.log(x[0]!) : Number.NaN), [5]);
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(() => nelderMead(() => 0, [])).toThrow(RangeError);
  });
});
