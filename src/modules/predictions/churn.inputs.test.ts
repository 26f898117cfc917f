/**
 * The churn model's inputs: the feature store's activity columns are model inputs when a tenant has them, columns
 * that never vary among the training customers are left out (a store without sessions trains on orders alone),
 * and serving reads the same columns as training (scoreCustomer with the stored `inputs`).
 */
import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../ml/random.ts';
import { churnDataset, evaluateChurn, informativeColumns } from './churn.core.ts';
import { ACTIVITY_FEATURE_NAMES, CHURN_INPUT_NAMES, type CustomerActivity, type CustomerOrders, FEATURE_COUNT } from './features.core.ts';
import { calibratorToJson, gbtToJson, prepareChurn, scoreCustomer } from './scoring.core.ts';

const empty = new Float64Array(0);
const activityOf = (sessionDays: number[]): CustomerActivity => ({
  sessionDay: Float64Array.from(sessionDays),
  sessionEvents: Float64Array.from(sessionDays, () => 3),
  categoryDay: empty,
  category: new Int32Array(0),
  identifierDay: empty,
  identifierType: new Int32Array(0),
  identifierConfidence: empty,
  identifierChannel: new Int32Array(0),
});

/**
 * Every customer has the same orders (days 10, 50, 90 before the cutoff at 200): only sessions tell. A customer
 * who browsed in the last 30 days stays (buys in the window) with probability 0.9, the others with 0.1.
 */
function browsers(n: number, seed: number, withSessions = true): Map<string, CustomerOrders> {
  const rng = rngMulberry32(seed);
  const m = new Map<string, CustomerOrders>();
  for (let c = 0; c < n; c++) {
    const recent = rng() < 0.5;
    const stays = rng() < (recent ? 0.9 : 0.1);
    const days = [110, 150, 190, ...(stays ? [210] : [])];
    m.set(`c${c}`, {
      day: Float64Array.from(days),
      amount: Float64Array.from(days, () => 20),
      activity: withSessions ? activityOf(recent ? [120, 185] : [120]) : undefined,
    });
  }
  return m;
}

describe('churn inputs', () => {
  it('keeps only columns with two distinct finite values among the given rows', () => {
    const rows = [
      Float64Array.of(1, Number.NaN, 5, 2),
      Float64Array.of(1, Number.NaN, 6, Number.NaN),
      Float64Array.of(1, Number.NaN, 5, 2),
    ];
    expect(informativeColumns(rows, [0, 1, 2], 4)).toEqual([2]);
    expect(informativeColumns(rows, [0, 2], 4)).toEqual([]);
  });

  it('learns from sessions when orders cannot tell, and serving scores with the same columns', () => {
    const ds = churnDataset(browsers(600, 3), 200, 30);
    const e = evaluateChurn(ds, 30);
    const names = e.model.inputs.map((j) => CHURN_INPUT_NAMES[j]);
    expect(names).toContain('sessions_30d');
    expect(e.model.inputs.every((j) => j >= FEATURE_COUNT)).toBe(true); // the orders are all alike
    expect(e.test.rocAucUncalibrated).toBeGreaterThan(0.8);

    const served = prepareChurn('v1', '1', {
      type: 'gbt_calibrated',
      gbt: gbtToJson(e.model.gbt),
      calibrator: calibratorToJson(e.model.calibrator),
      inputs: e.model.inputs,
      importance: Array.from(e.model.gbt.gain),
      medians: CHURN_INPUT_NAMES.map(() => 1),
      windowDays: 30,
    });
    const orders = { day: Float64Array.of(110, 150, 190), amount: Float64Array.of(20, 20, 20) };
    const browsing = scoreCustomer({ churn: served }, { ...orders, activity: activityOf([120, 185]) }, 200);
    const idle = scoreCustomer({ churn: served }, { ...orders, activity: activityOf([120]) }, 200);
    expect(idle.churnProbability! - browsing.churnProbability!).toBeGreaterThan(0.4);
    expect(ACTIVITY_FEATURE_NAMES).toContain(browsing.reasons[0]?.feature);
  }, 60_000);

  it('a tenant without activity trains on its order features alone', () => {
    const rng = rngMulberry32(9);
    const m = new Map<string, CustomerOrders>();
    for (let c = 0; c < 400; c++) {
      const gap = rng() < 0.5 ? 10 : 60;
      const days = [20, 20 + gap, 20 + 2 * gap, ...(gap === 10 && rng() < 0.9 ? [205] : [])].filter((d) => d < 200 || d === 205);
      m.set(`c${c}`, { day: Float64Array.from(days), amount: Float64Array.from(days, () => 10 + rng() * 10) });
    }
    const e = evaluateChurn(churnDataset(m, 200, 30), 30);
    expect(e.model.inputs.length).toBeGreaterThan(0);
    expect(e.model.inputs.every((j) => j < FEATURE_COUNT)).toBe(true);
    expect(() => evaluateChurn(churnDataset(browsers(300, 4, false), 200, 30), 30)).toThrow(/no feature varies/);
  }, 60_000);
});
