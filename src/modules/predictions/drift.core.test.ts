import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../ml/random.ts';
import { binShares, driftReference, driftReport, populationStability, quantileEdges } from './drift.core.ts';

const shares = fc
  .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 12 })
  .filter((a) => a.reduce((s, x) => s + x, 0) > 0)
  .map((a) => {
    const t = a.reduce((s, x) => s + x, 0);
    return a.map((x) => x / t);
  });

describe('population stability', () => {
  it('matches the formula on a worked example', () => {
    // (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 2 + 0.25 ln 1.5
    expect(populationStability([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
  });

  it('is 0 for equal shares, non-negative and symmetric', () => {
    fc.assert(
      fc.property(shares, shares, (a, b) => {
        if (a.length !== b.length) return;
        expect(populationStability(a, a)).toBe(0);
        const ab = populationStability(a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeCloseTo(populationStability(b, a), 10);
      }),
    );
  });

  it('bins at the deciles: ten equal shares on distinct values, missing values in the last bin', () => {
    const v = Float64Array.from({ length: 1000 }, (_, i) => i);
    const edges = quantileEdges(v);
    expect(edges).toHaveLength(9);
    const s = binShares(v, edges);
    expect(s.slice(0, 10)).toEqual(new Array(10).fill(0.1));
    expect(s[10]).toBe(0);
    expect(binShares([Number.NaN, 1], edges)).toEqual([0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]);
    // a constant column has no inner edge: one bin
    expect(quantileEdges([3, 3, 3])).toEqual([]);
    // cuts sit between values: a group sharing a value stays in its bin when the value grows a little
    const mass = [...new Array(50).fill(1), ...Array.from({ length: 50 }, (_, i) => 2 + i)];
    const cuts = quantileEdges(mass);
    expect(cuts[0]).toBe(1.5);
    expect(
      binShares(
        mass.map((v) => (v === 1 ? 1.001 : v)),
        cuts,
      ),
    ).toEqual(binShares(mass, cuts));
  });

  it('reports a stable column as stable and a shifted one as significant, categories included', () => {
    const rng = rngMulberry32(3);
    const normal = (shift: number) =>
      Float64Array.from({ length: 5000 }, () => shift + Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(6.283 * rng()));
    const seg = (p: number) => Array.from({ length: 5000 }, () => (rng() < p ? 'champions' : 'at_risk'));
    const ref = driftReference({ x: normal(0), s: seg(0.5) }, ['x', 's', 'absent'], 5000);
    expect(ref.columns.map((c) => c.name)).toEqual(['x', 's']);
    const same = driftReport(ref, { x: normal(0), s: seg(0.5) });
    expect(same.map((d) => d.status)).toEqual(['stable', 'stable']);
    const moved = driftReport(ref, { x: normal(1), s: [...seg(0.1), 'new_customers'] });
    expect(moved.map((d) => d.status)).toEqual(['significant', 'significant']);
    expect(moved[0]!.psi).toBeGreaterThan(0.25);
  });
});
