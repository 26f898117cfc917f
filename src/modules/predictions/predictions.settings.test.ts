import { describe, expect, it } from 'vitest';
import { predictionSettingsReader } from './predictions.service.ts';

describe('prediction settings reader', () => {
  it('parses a settings object once; a changed settings object (a new one from tenancy) is read again', () => {
    const read = predictionSettingsReader();
    const first = { predictions: { churn_window_days: 60 } };
    const a = read(first);
    expect(a.churn_window_days).toBe(60);
    expect(a.ltv_horizon_days).toBe(365);
    expect(read(first)).toBe(a); // the same object: no second parse
    expect(Object.isFrozen(a)).toBe(true);
    const changed = read({ predictions: { churn_window_days: 120, at_risk_threshold: 0.7 } });
    expect(changed.churn_window_days).toBe(120);
    expect(changed.at_risk_threshold).toBe(0.7);
    // another reader keeps its own memory
    expect(predictionSettingsReader()(first)).not.toBe(a);
  });

  it('bad or hostile settings fall back to the defaults, never throw', () => {
    const read = predictionSettingsReader();
    const defaults = read({});
    expect(defaults).toEqual({
      churn_window_days: 90,
      ltv_horizon_days: 365,
      discount_rate_per_week: 0.0019,
      at_risk_threshold: 0.5,
      retrain_after_days: 7,
    });
    for (const bad of [
      { predictions: { churn_window_days: 1e308 } },
      { predictions: { churn_window_days: '60\u0000' } },
      { predictions: { at_risk_threshold: Number.NaN } },
      { predictions: 'x'.repeat(100_000) },
      { predictions: null },
      { predictions: JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`) },
    ])
      expect(read(bad as Record<string, unknown>)).toEqual(defaults);
  });
});
