import { describe, expect, it } from 'vitest';
import { applyMinimumWeight, epsilonGreedyChoice, sampleBeta, simulateRegret, thompsonWeights, ucb1Choice } from './bandits.ts';
import { rngMulberry32 } from './random.ts';

describe('bandits', () => {
  it('Beta sampler matches the analytic mean a/(a+b) and variance ab/((a+b)²(a+b+1))', () => {
    const rng = rngMulberry32(7);
    for (const [a, b] of [
      [2, 5],
      [0.5, 0.5],
      [30, 70],
    ] as const) {
      const n = 40_000;
      let s = 0;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const x = sampleBeta(a, b, rng);
        s += x;
        ss += x * x;
      }
      const mean = s / n;
      const variance = ss / n - mean * mean;
      const m = a / (a + b);
      const v = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(mean - m)).toBeLessThan(4 * Math.sqrt(v / n) + 1e-3);
      expect(Math.abs(variance - v) / v).toBeLessThan(0.05);
    }
  });

  it('Thompson favours the better arm, keeps the minimum weight, and top-two keeps the runner-up explored', () => {
    const arms = [
      { n: 1000, sum: 50, sumSquares: 50 },
      { n: 1000, sum: 80, sumSquares: 80 },
      { n: 1000, sum: 60, sumSquares: 60 },
    ];
    const plain = thompsonWeights(arms, { posterior: 'beta', draws: 5000, topTwo: false, minWeight: 0.05, rng: rngMulberry32(1) });
    const two = thompsonWeights(arms, { posterior: 'beta', draws: 5000, topTwo: true, minWeight: 0.05, rng: rngMulberry32(1) });
    expect(plain.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 12);
    expect(plain[1]).toBeCloseTo(0.9, 12); // 1 − 2 × 0.05: the other arms sit at the floor
    expect(Math.min(...plain)).toBeGreaterThanOrEqual(0.05 - 1e-12);
    expect(two[1]).toBeCloseTo(0.5, 1);
    expect(two[2]).toBeGreaterThan(plain[2]!);
    const g = thompsonWeights(
      [
        { n: 500, sum: 500 * 10, sumSquares: 500 * (100 + 4) },
        { n: 500, sum: 500 * 12, sumSquares: 500 * (144 + 4) },
      ],
      { posterior: 'gaussian', draws: 2000, topTwo: false, minWeight: 0, rng: rngMulberry32(3) },
    );
    expect(g[1]).toBeGreaterThan(0.99);
  });

  it('minimum weight: raised arms take from the others, total stays 1', () => {
    const w = applyMinimumWeight([0.97, 0.02, 0.01], 0.1);
    expect(w[1]).toBeCloseTo(0.1, 12);
    expect(w[2]).toBeCloseTo(0.1, 12);
    expect(w[0]).toBeCloseTo(0.8, 12);
  });

  it('UCB1 and epsilon-greedy try unplayed arms first, then exploit', () => {
    expect(
      ucb1Choice([
        { n: 5, sum: 5, sumSquares: 5 },
        { n: 0, sum: 0, sumSquares: 0 },
      ]),
    ).toBe(1);
    expect(
      epsilonGreedyChoice(
        [
          { n: 10, sum: 1, sumSquares: 1 },
          { n: 10, sum: 6, sumSquares: 6 },
        ],
        0,
        rngMulberry32(1),
      ),
    ).toBe(1);
  });

  it('seeded simulation: Thompson and UCB1 regret far below uniform allocation', () => {
    const rates = [0.04, 0.05, 0.07];
    const opts = { horizon: 20_000, updateEvery: 500, checkpoints: [20_000], draws: 500 };
    const uniform = simulateRegret(rates, { kind: 'uniform' }, { ...opts, rng: rngMulberry32(11) }).regret[0]!;
    const ts = simulateRegret(rates, { kind: 'thompson', topTwo: true, minWeight: 0.02 }, { ...opts, rng: rngMulberry32(11) });
    const ucb = simulateRegret(rates, { kind: 'ucb1' }, { ...opts, rng: rngMulberry32(11) }).regret[0]!;
    // Uniform regret is (0.03 + 0.02) / 3 per pull in expectation: 333 over 20,000 pulls (within 5 %).
    expect(Math.abs(uniform - ((0.03 + 0.02) / 3) * 20_000)).toBeLessThan(17);
    expect(ts.regret[0]!).toBeLessThan(uniform * 0.75); // top-two keeps half its traffic on the runner-up
    expect(ucb).toBeLessThan(uniform);
    expect(ts.pulls[2]).toBeGreaterThan(ts.pulls[0]!);
  });
});
