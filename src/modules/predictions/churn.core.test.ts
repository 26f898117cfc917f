import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../ml/random.ts';
import { CHURN_FOLDS, CHURN_GRID, churnDataset, evaluateChurn } from './churn.core.ts';
import { type CustomerOrders, fnv1a } from './features.core.ts';

/** Customers whose purchase rate drives both their history and whether they buy after the cutoff. */
function population(n: number, seed: number): Map<string, CustomerOrders> {
  const rng = rngMulberry32(seed);
  const m = new Map<string, CustomerOrders>();
  for (let c = 0; c < n; c++) {
    const rate = rng() < 0.5 ? 0.01 : 0.08; // orders per day
    const dies = rng() * 400; // the day the customer stops buying
    const days: number[] = [];
    for (let d = rng() * 100; d < 400; d += -Math.log(1 - rng()) / rate) if (d < dies) days.push(d);
    if (days.length) m.set(`c${c}`, { day: Float64Array.from(days), amount: Float64Array.from(days, () => 10 + rng() * 50) });
  }
  return m;
}

describe('evaluateChurn', () => {
  it('beats recency alone on customers whose rate and death time are hidden', () => {
    const ds = churnDataset(population(3000, 5), 300, 60);
    const e = evaluateChurn(ds, 60);
    expect(e.customers.test).toBeGreaterThan(700);
    expect(e.test.rocAucUncalibrated).toBeGreaterThan(0.75);
    expect(e.test.rocAucUncalibrated).toBeGreaterThan(e.baselines.recencyAuc - 0.01);
    expect(e.test.brier).toBeLessThan(0.25);
    expect(e.reliability.reduce((a, b) => a + b.count, 0)).toBe(e.customers.test);
  }, 120_000);

  it('never looks at the test customers: flipping their labels changes no tree, no calibration, no setting', () => {
    const ds = churnDataset(population(600, 11), 300, 60);
    const a = evaluateChurn(ds, 60);
    const flipped = {
      ...ds,
      labels: Float64Array.from(ds.labels, (l, i) => (fnv1a(ds.ids[i]!) % 100 >= 70 ? 1 - l : l)),
    };
    const b = evaluateChurn(flipped, 60);
    expect(b.model.params).toEqual(a.model.params);
    expect(b.model.gbt.trees).toEqual(a.model.gbt.trees);
    expect(b.model.calibrator).toEqual(a.model.calibrator);
    expect(b.validation).toEqual(a.validation);
    // the test metrics do see the flip (the check above could not pass by ignoring labels altogether)
    expect(b.test.rocAucUncalibrated).toBeCloseTo(1 - a.test.rocAucUncalibrated, 9);
    expect(a.validation).toHaveLength(CHURN_GRID.length);
    for (const v of a.validation) expect(v.rounds).toHaveLength(CHURN_FOLDS);
    expect(a.customers.train + a.customers.test).toBe(ds.ids.length);
  }, 60_000);

  it('answers "not enough data" when every customer churned', () => {
    const m = new Map<string, CustomerOrders>();
    for (let c = 0; c < 200; c++) m.set(`c${c}`, { day: Float64Array.of(1), amount: Float64Array.of(5) });
    expect(() => evaluateChurn(churnDataset(m, 10, 30), 30)).toThrow(/not enough data/);
  });
});
