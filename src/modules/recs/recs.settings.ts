/** A tenant's recommendation settings (`settings.recommendations`), read by training, serving and the registry. */
import { DEFAULT_INTERACTION_WEIGHTS } from '../events/index.ts';
import { DEFAULT_TUNING_BUDGET_MS } from '../../ml/tuning.ts';
import { MODEL_TYPES, type ModelType } from './recs.core.ts';

/** Retraining policy (tenant settings `recommendations.retrain`), seed 003 step 10 defaults. */
export interface RetrainPolicy {
  enabled: boolean;
  everyDays: number;
  newInteractions: number;
  /** Retrain when the active version's 7-day click-through falls below this (0 = off). */
  minClickThrough: number;
  modelType: ModelType | 'auto';
}

export function recsSettings(settings: Record<string, unknown>) {
  const r = (settings.recommendations ?? {}) as Record<string, unknown>;
  const retrain = (r.retrain ?? {}) as Record<string, unknown>;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const weights = {
    ...DEFAULT_INTERACTION_WEIGHTS,
    ...((settings.interaction_weights ?? r.interaction_weights ?? {}) as Record<string, number>),
  };
  return {
    weights,
    excludePurchased: r.exclude_purchased !== false,
    canaryPercent: Math.min(100, Math.max(0, num(r.canary_percent, 10))),
    /** `auto`'s search budget (seconds in the settings; 0 = defaults only; capped by the search itself). */
    tuningBudgetMs: Math.max(0, num(r.tuning_budget_seconds, DEFAULT_TUNING_BUDGET_MS / 1000)) * 1000,
    retrain: {
      enabled: retrain.enabled !== false,
      everyDays: num(retrain.every_days, 7),
      newInteractions: num(retrain.new_interactions, 10_000),
      minClickThrough: num(retrain.min_click_through, 0),
      modelType: (typeof retrain.model_type === 'string' && ([...MODEL_TYPES, 'auto'] as string[]).includes(retrain.model_type)
        ? retrain.model_type
        : 'auto') as ModelType | 'auto',
    } satisfies RetrainPolicy,
  };
}
