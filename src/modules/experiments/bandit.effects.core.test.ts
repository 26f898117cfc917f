import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../ml/random.ts';
import { type PeriodArmSums, periodWeightedEffects } from './bandit.effects.core.ts';

/** Binomial sums of `n` units converting with probability `p`. */
function binomialArm(n: number, p: number, rng: () => number): PeriodArmSums {
  let s = 0;
  for (let i = 0; i < n; i++) if (rng() < p) s++;
  return { n, sum: s, sumSquares: s };
}

describe('period-weighted bandit effects', () => {
  it('computes the weighted means, their standard errors and the delta-method interval by the formula', () => {
    const periods = [
      [
        { n: 100, sum: 10, sumSquares: 10 },
        { n: 100, sum: 12, sumSquares: 12 },
      ],
      [
        { n: 50, sum: 10, sumSquares: 10 },
        { n: 250, sum: 60, sumSquares: 60 },
      ],
    ];
    const r = periodWeightedEffects(periods, 0.95);
    // shares 200/500 and 300/500
    const w = [0.4, 0.6];
    const mc = w[0]! * 0.1 + w[1]! * 0.2;
    const mt = w[0]! * 0.12 + w[1]! * 0.24;
    const s2 = (n: number, s: number) => (s - (s * s) / n) / (n - 1);
    const vc = w[0]! ** 2 * (s2(100, 10) / 100) + w[1]! ** 2 * (s2(50, 10) / 50);
    const vt = w[0]! ** 2 * (s2(100, 12) / 100) + w[1]! ** 2 * (s2(250, 60) / 250);
    expect(r.arms[0]!.mean).toBeCloseTo(mc, 12);
    expect(r.arms[1]!.mean).toBeCloseTo(mt, 12);
    expect(r.arms[0]!.standardError).toBeCloseTo(Math.sqrt(vc), 12);
    const rel = mt / mc - 1;
    const se = Math.sqrt(vt / mc ** 2 + (mt ** 2 * vc) / mc ** 4);
    const e = r.effects[0]!;
    expect(e.relativeEffect).toBeCloseTo(rel, 12);
    expect(e.ciLow).toBeCloseTo(rel - 1.959963984540054 * se, 9);
    expect(e.ciHigh).toBeCloseTo(rel + 1.959963984540054 * se, 9);
    // naive pooling: 20/150 vs 72/350
    expect(e.pooledRelativeEffect).toBeCloseTo(72 / 350 / (20 / 150) - 1, 12);
    expect(r.periodsUsed).toBe(2);
  });

  it('is unbiased where the naive pooled estimate is not: the metric drifts up while the weights move to one arm', () => {
    // Both arms convert alike in every period (no true effect); the baseline doubles each period while the
    // bandit moves traffic to arm 1. Naive pooling credits arm 1 with the later, better periods.
    const base = [0.04, 0.08, 0.16];
    const weights = [
      [0.5, 0.5],
      [0.2, 0.8],
      [0.1, 0.9],
    ];
    const perPeriod = 4000;
    const sims = 200;
    const rng = rngMulberry32(7);
    let naive = 0;
    let weighted = 0;
    let covered = 0;
    for (let s = 0; s < sims; s++) {
      const periods = base.map((p, i) => weights[i]!.map((w) => binomialArm(Math.round(perPeriod * w), p, rng)));
      const r = periodWeightedEffects(periods, 0.95);
      const e = r.effects[0]!;
      naive += e.pooledRelativeEffect! / sims;
      weighted += e.relativeEffect! / sims;
      if (e.ciLow! <= 0 && 0 <= e.ciHigh!) covered++;
    }
    // naive: ~ +60 % of "lift" from the drift alone; weighted: ~0 (its standard error here is ~10 %)
    expect(naive).toBeGreaterThan(0.4);
    expect(Math.abs(weighted)).toBeLessThan(0.03);
    // the 95 % interval covers the true effect (0) about 95 % of the time
    expect(covered / sims).toBeGreaterThan(0.9);
  });

  it('finds a real effect, skips periods in which an arm got nobody, and handles nothing to compare', () => {
    const rng = rngMulberry32(3);
    const periods = [
      [binomialArm(2000, 0.1, rng), binomialArm(2000, 0.13, rng)],
      [{ n: 0, sum: 0, sumSquares: 0 }, binomialArm(500, 0.5, rng)],
      [binomialArm(1000, 0.1, rng), binomialArm(3000, 0.13, rng)],
    ];
    const r = periodWeightedEffects(periods, 0.95);
    expect(r.periodsUsed).toBe(2);
    expect(r.periodsTotal).toBe(3);
    expect(r.effects[0]!.relativeEffect!).toBeGreaterThan(0.1);
    expect(r.effects[0]!.chanceToWin!).toBeGreaterThan(0.95);
    expect(r.effects[0]!.pValue!).toBeLessThan(0.05);
    const empty = periodWeightedEffects(
      [
        [
          { n: 0, sum: 0, sumSquares: 0 },
          { n: 5, sum: 1, sumSquares: 1 },
        ],
      ],
      0.95,
    );
    expect(empty.periodsUsed).toBe(0);
    expect(empty.effects[0]!.relativeEffect).toBeNull();
    const zero = periodWeightedEffects(
      [
        [
          { n: 10, sum: 0, sumSquares: 0 },
          { n: 10, sum: 0, sumSquares: 0 },
        ],
      ],
      0.95,
    );
    expect(zero.effects[0]!.relativeEffect).toBeNull();
    expect(() => periodWeightedEffects([[{ n: 1, sum: 0, sumSquares: 0 }], []], 0.95)).toThrow(RangeError);
    expect(periodWeightedEffects([], 0.95)).toMatchObject({ arms: [], effects: [], periodsUsed: 0 });
  });
});
