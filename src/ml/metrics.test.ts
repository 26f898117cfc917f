import { describe, expect, it } from 'vitest';
import { brierScore, classificationMetrics, logLoss, regressionMetrics, reliabilityBins, rocAuc } from './metrics.ts';

describe('classification metrics', () => {
  const s = [0.1, 0.2, 0.2, 0.35, 0.4, 0.5, 0.6, 0.8, 0.9, 0.95];
  const y = [0, 1, 0, 1, 0, 0, 1, 1, 0, 1];
  it('match scikit-learn 1.2.1 (roc_auc_score 0.66, brier_score_loss 0.2535 on the same arrays)', () => {
    expect(rocAuc(s, y)).toBeCloseTo(0.66, 12);
    expect(brierScore(s, y)).toBeCloseTo(0.2535, 12);
    expect(rocAuc([1, 2, 3], [1, 1, 1])).toBeNaN();
    expect(rocAuc([5, 5, 5, 5], [0, 1, 0, 1])).toBe(0.5);
  });
  it('counts the confusion matrix at the threshold (by hand: tp 3, fp 2, fn 2, tn 3)', () => {
    const m = classificationMetrics(s, y, 0.5);
    expect(m.precision).toBeCloseTo(3 / 5, 12);
    expect(m.recall).toBeCloseTo(3 / 5, 12);
    expect(m.accuracy).toBeCloseTo(6 / 10, 12);
    expect(m.f1).toBeCloseTo(0.6, 12);
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-12);
  });
  it('puts each prediction in one reliability bin', () => {
    const b = reliabilityBins(s, y, 2);
    expect(b.map((x) => x.count)).toEqual([5, 5]);
    expect(b[1]!.observed).toBeCloseTo(3 / 5, 12);
  });
});

describe('regressionMetrics', () => {
  it('by hand: errors 1, -1, 2 on actuals 2, 4, 0', () => {
    const m = regressionMetrics([3, 3, 2], [2, 4, 0]);
    expect(m.mae).toBeCloseTo(4 / 3, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(2), 12);
    expect(m.mape).toBeCloseTo((0.5 + 0.25) / 2, 12); // the zero actual is skipped
    expect(m.r2).toBeCloseTo(1 - 6 / 8, 12); // mean 2, SS_tot 0 + 4 + 4
  });
});
