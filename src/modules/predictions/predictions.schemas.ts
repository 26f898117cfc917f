import { z } from 'zod';
import { SEGMENTS } from './segments.core.ts';

/** Which customer to predict for: the profile id, or any identifier the profile holds (seed 002's /predict calls). */
export const predictBody = z
  .object({
    profile_id: z.string().min(1).max(100).optional(),
    identifier: z
      .object({ type: z.string().min(1).max(50), value: z.string().min(1).max(500) })
      .strict()
      .optional(),
  })
  .strict();

const reason = z.object({
  feature: z.string(),
  value: z.number().nullable(),
  typical: z.number().nullable(),
  direction: z.enum(['higher', 'lower', 'same']),
});
const churnPart = z.object({
  probability: z.number(),
  risk_level: z.enum(['low', 'medium', 'high']),
  model_version: z.string(),
  model_type: z.string(),
  window_days: z.number(),
  top_reasons: z.array(reason),
});
const ltvPart = z.object({
  predicted_ltv: z.number().describe('expected value over the horizon, major units of `currency`'),
  predicted_ltv_minor: z.string(),
  currency: z.string().nullable(),
  horizon_days: z.number(),
  expected_purchases: z.number().nullable(),
  p_alive: z.number().nullable(),
  model_version: z.string(),
  model_type: z.string(),
});
const segmentPart = z.object({
  segment: z.enum(SEGMENTS),
  rfm: z.object({ r: z.number(), f: z.number(), m: z.number() }),
  cluster: z.number().nullable(),
  model_version: z.string(),
});
const notReady = z.array(z.object({ model: z.string(), reason: z.string() }));
const base = { profile_id: z.string(), as_of: z.string(), orders: z.number(), not_ready: notReady };

export const churnResponse = z.object({ ...base, churn: churnPart.nullable() });
export const ltvResponse = z.object({ ...base, ltv: ltvPart.nullable() });
export const allResponse = z.object({ ...base, churn: churnPart.nullable(), ltv: ltvPart.nullable(), segment: segmentPart.nullable() });

const modelFamily = z.enum(['predictions', 'recommendations']);
export const modelVersionSummary = z.object({
  id: z.string(),
  family: modelFamily,
  kind: z.string(),
  version: z.string(),
  model_type: z.string(),
  status: z.string(),
  metrics: z.record(z.string(), z.number().nullable()),
  training_window: z.object({ from: z.string().nullable(), to: z.string(), cutoff: z.string() }).nullable(),
  model_card: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
});
export const modelVersionsResponse = z.object({ data: z.array(modelVersionSummary) });

const num = z.number().nullable();
export const metricsSummaryResponse = z.object({
  churn: z
    .object({
      model_version: z.string(),
      model_type: z.string(),
      accuracy: num,
      precision: num,
      recall: num,
      f1: num,
      roc_auc: num,
      brier: num,
    })
    .nullable(),
  ltv: z.object({ model_version: z.string(), model_type: z.string(), rmse: num, mae: num, r2: num, mape: num }).nullable(),
  segments: z.object({ model_version: z.string(), model_type: z.string(), silhouette: num, inertia: num, clusters: num }).nullable(),
  recommendations: z.array(
    z.object({ version: z.string(), model_type: z.string(), status: z.string(), metrics: z.record(z.string(), z.number()) }),
  ),
});

/** Current segments by size, then those that emptied since the previous run (`profiles` 0, `previous_profiles` > 0). */
export const segmentsResponse = z.object({
  scored_at: z.string().nullable(),
  /** The scoring run before the current scores (null: this is the first). */
  previous_scored_at: z.string().nullable(),
  data: z.array(
    z.object({
      segment: z.string(),
      profiles: z.number(),
      /** Size at the previous run (0: the segment was empty then; null: no previous run). */
      previous_profiles: z.number().nullable(),
      share: z.number(),
      avg_churn_probability: z.number().nullable(),
      expected_value_minor: z.string().nullable(),
    }),
  ),
});

export const segmentHistoryQuery = z.object({ days: z.coerce.number().int().min(1).max(730).default(90) }).strict();
export const segmentHistoryResponse = z.object({
  days: z.number(),
  /** One row per scoring run and non-empty segment, oldest run first. */
  data: z.array(z.object({ run_at: z.string(), segment: z.string(), profiles: z.number() })),
});

export const atRiskQuery = z
  .object({
    threshold: z.coerce.number().min(0).max(1).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(100),
    segment: z.enum(SEGMENTS).optional(),
  })
  .strict();
export const atRiskResponse = z.object({
  threshold: z.number(),
  data: z.array(
    z.object({
      profile_id: z.string(),
      churn_probability: z.number().nullable(),
      expected_value_minor: z.string().nullable(),
      currency: z.string().nullable(),
      segment: z.string(),
      last_order_at: z.string().nullable(),
      top_reasons: z.array(reason),
      scored_at: z.string(),
    }),
  ),
});

export const forecastQuery = z
  .object({
    metric: z.enum(['revenue', 'orders']).default('revenue'),
    horizon: z.coerce.number().int().min(1).max(365).default(28),
    history: z.coerce.number().int().min(14).max(3660).default(730),
  })
  .strict();
export const forecastResponse = z.object({
  metric: z.enum(['revenue', 'orders']),
  currency: z.string().nullable(),
  unit: z.enum(['minor_units', 'orders']),
  model: z.string().nullable(),
  note: z.string().nullable(),
  history: z.array(z.object({ date: z.string(), value: z.number() })),
  points: z.array(
    z.object({
      date: z.string(),
      value: z.number(),
      lower_80: z.number(),
      upper_80: z.number(),
      lower_95: z.number(),
      upper_95: z.number(),
    }),
  ),
});

export const itemForecastQuery = z
  .object({
    item_id: z
      .string()
      .max(4000)
      .optional()
      .describe("comma-separated item ids (at most 20); without it, the tenant's best sellers over the history")
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        const ids = [
          ...new Set(
            v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean),
          ),
        ];
        if (!ids.length || ids.length > 20 || ids.some((x) => x.length > 200)) {
          ctx.addIssue({ code: 'custom', message: 'give 1 to 20 comma-separated item ids of at most 200 characters' });
          return z.NEVER;
        }
        return ids;
      }),
    horizon: z.coerce.number().int().min(1).max(90).default(28),
    history: z.coerce.number().int().min(28).max(730).default(365),
    method: z.enum(['auto', 'croston', 'tsb', 'seasonal_naive']).default('auto'),
    limit: z.coerce.number().int().min(1).max(20).default(5),
  })
  .strict();
const intervalPoint = z.object({
  date: z.string(),
  units: z.number(),
  lower_80: z.number(),
  upper_80: z.number(),
  lower_95: z.number(),
  upper_95: z.number(),
});
export const itemForecastResponse = z.object({
  horizon: z.number(),
  history_start: z.string(),
  /** Requested items without any purchase in the history. */
  missing: z.array(z.string()),
  data: z.array(
    z.object({
      item_id: z.string(),
      method: z.enum(['croston', 'tsb', 'seasonal_naive']),
      /** Syntetos-Boylan class: ADI (mean days between sales) and CV² of the non-zero days' units. */
      demand: z.object({ kind: z.string(), adi: z.number().nullable(), cv2: z.number() }),
      units_in_history: z.number(),
      history: z.array(z.object({ date: z.string(), units: z.number() })),
      points: z.array(intervalPoint),
    }),
  ),
});

export const driftQuery = z
  .object({ fresh: z.enum(['true', 'false']).default('false').describe('measure again instead of the result kept for a few minutes') })
  .strict();
const driftStatus = z.enum(['stable', 'moderate', 'significant']);
export const driftResponse = z.object({
  as_of: z.string(),
  customers: z.number().describe('customers with a purchase, scored now'),
  thresholds: z.object({ moderate: z.number(), significant: z.number() }),
  retrain_recommended: z.boolean().describe('true when a model input or output shifted significantly (PSI at or above 0.25)'),
  models: z.array(
    z.object({
      kind: z.string(),
      model_version: z.string(),
      reference_customers: z.number().nullable().describe('customers in the training population; null: trained before drift monitoring'),
      max_psi: z.number().nullable(),
      status: driftStatus.nullable(),
      columns: z.array(z.object({ name: z.string(), psi: z.number(), status: driftStatus })),
    }),
  ),
});
