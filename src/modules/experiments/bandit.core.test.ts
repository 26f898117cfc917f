import { describe, expect, it } from 'vitest';
import { banditSrmPValue, banditUpdate, currentPeriod, DEFAULT_BANDIT, periodStart } from './bandit.core.ts';

/**
 * Reference values computed with scipy 1.x, the formula of GrowthBook's gbstats Bandits.compute_srm:
 *   obs = Σ_p counts_p ; exp = Σ_p sum(counts_p) · weights_p ; stat = Σ (obs − exp)² / exp ; p = 1 − chi2.cdf(stat, k − 1)
 */
describe('bandit SRM against each period weights', () => {
  it('agrees with scipy on two reference cases', () => {
    const twoArms = [
      { weights: [0.5, 0.5], counts: [520, 480] },
      { weights: [0.2, 0.8], counts: [190, 810] },
      { weights: [0.1, 0.9], counts: [130, 870] },
    ];
    expect(banditSrmPValue(twoArms)).toBeCloseTo(0.09864761042929937, 9);
    const threeArms = [
      { weights: [1 / 3, 1 / 3, 1 / 3], counts: [340, 330, 330] },
      { weights: [0.1, 0.3, 0.6], counts: [100, 280, 620] },
    ];
    expect(banditSrmPValue(threeArms)).toBeCloseTo(0.5326364678949544, 9);
  });

  it('does not flag a healthy bandit that a check against the latest weights would (p = 0 in scipy)', () => {
    const healthy = [
      { weights: [0.5, 0.5], counts: [500, 500] },
      { weights: [0.1, 0.9], counts: [100, 900] },
    ];
    expect(banditSrmPValue(healthy)).toBeGreaterThan(0.5);
    expect(banditSrmPValue([{ weights: [0.1, 0.9], counts: [600, 1400] }])).toBeLessThan(1e-6);
  });

  it('flags a period whose split does not follow its weights; nothing to test gives 1', () => {
    expect(banditSrmPValue([{ weights: [0.5, 0.5], counts: [700, 300] }])).toBeLessThan(0.001);
    expect(banditSrmPValue([])).toBe(1);
    expect(banditSrmPValue([{ weights: [0.5, 0.5], counts: [0, 0] }])).toBe(1);
    // an arm expected to get nobody is left out of the statistic instead of dividing by zero
    expect(Number.isFinite(banditSrmPValue([{ weights: [1, 0], counts: [10, 0] }]))).toBe(true);
  });
});

describe('bandit schedule', () => {
  const s = { ...DEFAULT_BANDIT, burnInHours: 24, updateEveryHours: 6 };
  const start = new Date('2026-01-01T00:00:00Z');
  const at = (h: number) => new Date(start.getTime() + h * 3_600_000);
  it('burn-in is period 0, then one period per cadence', () => {
    expect(currentPeriod(start, s, at(0))).toBe(0);
    expect(currentPeriod(start, s, at(23.99))).toBe(0);
    expect(currentPeriod(start, s, at(24))).toBe(1);
    expect(currentPeriod(start, s, at(29.9))).toBe(1);
    expect(currentPeriod(start, s, at(30))).toBe(2);
    expect(periodStart(start, s, 0)).toEqual(start);
    expect(periodStart(start, s, 1)).toEqual(at(24));
    expect(periodStart(start, s, 3)).toEqual(at(36));
    for (let k = 0; k < 5; k++) expect(currentPeriod(start, s, periodStart(start, s, k))).toBe(k);
  });
});

describe('bandit update', () => {
  const o = { settings: DEFAULT_BANDIT, posterior: 'beta' as const, experimentId: 'e1', period: 1 };
  it('keeps the previous weights below 100 units per arm (GrowthBook rule)', () => {
    const r = banditUpdate(
      [
        { n: 90, sum: 9, sumSquares: 9 },
        { n: 100, sum: 30, sumSquares: 30 },
      ],
      [0.5, 0.5],
      o,
    );
    expect(r.weights).toEqual([0.5, 0.5]);
    expect(r.message).toContain('200 needed');
  });

  it('moves traffic to the better arm, keeps the minimum weight, and is reproducible per period', () => {
    const arms = [
      { n: 1000, sum: 50, sumSquares: 50 },
      { n: 1000, sum: 52, sumSquares: 52 },
      { n: 1000, sum: 90, sumSquares: 90 },
    ];
    const r = banditUpdate(arms, [1 / 3, 1 / 3, 1 / 3], o);
    expect(r.message).toBe('updated');
    expect(r.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(r.weights[2]).toBeGreaterThan(0.45);
    // top-two: the best arm is first or second in nearly every draw, so it holds about half; the rest explores
    expect(r.weights[2]).toBeLessThan(0.55);
    for (const w of r.weights) expect(w).toBeGreaterThanOrEqual(0.01 - 1e-12);
    expect(r.bestArmProbabilities?.[2]).toBeGreaterThan(0.99);
    expect(banditUpdate(arms, [1 / 3, 1 / 3, 1 / 3], o)).toEqual(r);
    const plain = banditUpdate(arms, [1 / 3, 1 / 3, 1 / 3], { ...o, settings: { ...DEFAULT_BANDIT, topTwo: false } });
    expect(plain.weights[2]).toBeGreaterThan(0.95);
  });

  it('two arms: plain Thompson (top-two would pin both at 50 %)', () => {
    const r = banditUpdate(
      [
        { n: 500, sum: 25, sumSquares: 25 },
        { n: 500, sum: 60, sumSquares: 60 },
      ],
      [0.5, 0.5],
      o,
    );
    expect(r.weights[1]).toBeGreaterThan(0.95);
  });

  it('Gaussian posterior for means (revenue per user)', () => {
    const arms = [
      { n: 500, sum: 500 * 10, sumSquares: 500 * (100 + 25) },
      { n: 500, sum: 500 * 12, sumSquares: 500 * (144 + 25) },
    ];
    const r = banditUpdate(arms, [0.5, 0.5], { ...o, posterior: 'gaussian', settings: { ...DEFAULT_BANDIT, topTwo: false } });
    expect(r.weights[1]).toBeGreaterThan(0.98);
  });
});
