import { z } from 'zod';
import { MODEL_TYPES, STRATEGIES } from './recs.core.ts';

export { MODEL_TYPES };

/** The documented cap on `count` (400 above it). */
export const MAX_COUNT = 100;

const tenantIdField = z.string().max(100).optional().describe('Accepted for seed 003 compatibility; must be the caller’s tenant.');

export const trainBody = z
  .object({
    tenant_id: tenantIdField,
    model_type: z.enum([...MODEL_TYPES, 'auto']).default('auto'),
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
    training_mode: z.enum(['full', 'incremental']).default('full'),
    auto_deploy: z.boolean().default(true),
  })
  .strict();

export const trainResponse = z.object({
  job_id: z.string(),
  status: z.string(),
  estimated_duration_minutes: z.number(),
  progress_url: z.string(),
});

export const jobParams = z.object({ job_id: z.string().max(100) });

export const progressResponse = z.object({
  job_id: z.string(),
  status: z.enum(['queued', 'training', 'completed', 'failed', 'cancelled', 'interrupted']),
  progress: z.number(),
  phase: z.string().nullable(),
  current_epoch: z.number().nullable(),
  total_epochs: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  estimated_completion: z.string().nullable(),
  model_version: z.string().nullable(),
  model_version_id: z.string().nullable(),
  final_metrics: z.record(z.string(), z.number()).nullable(),
  model_location: z.string().nullable(),
  deployment_status: z.string().nullable(),
  training_duration_seconds: z.number().nullable(),
  error: z.string().nullable(),
});

const filters = z
  .object({
    category: z.string().max(300).optional(),
    brand: z.string().max(200).optional(),
    min_price: z.number().nonnegative().optional(),
    max_price: z.number().nonnegative().optional(),
    price_range: z.object({ min: z.number().nonnegative().optional(), max: z.number().nonnegative().optional() }).strict().optional(),
    in_stock: z.boolean().optional(),
    exclude_ids: z.array(z.string().max(200)).max(1000).optional(),
  })
  .strict()
  .default({});

export const recommendBody = z
  .object({
    tenant_id: tenantIdField,
    user_id: z.string().min(1).max(200).optional(),
    /** Anonymous visitors: items seen in this session, most recent first. */
    recent_items: z.array(z.string().min(1).max(200)).max(100).optional(),
    count: z.number().int().min(1).max(MAX_COUNT).default(10),
    filters,
    context: z
      .object({
        page: z.string().max(100).optional(),
        device: z.string().max(50).optional(),
        current_item: z.string().max(200).optional(),
        time_of_day: z.string().max(50).optional(),
      })
      .loose()
      .default({}),
  })
  .strict();

const itemFields = {
  item_id: z.string(),
  name: z.string(),
  category: z.string().nullable(),
  brand: z.string().nullable(),
  price: z.number().nullable(),
  currency: z.string().nullable(),
  image_url: z.string().nullable(),
  availability: z.string(),
};

const metadata = z.object({
  model_version: z.string().nullable(),
  latency_ms: z.number(),
  algorithm: z.string(),
  strategy: z
    .enum(STRATEGIES)
    .describe(
      'How the list was made: personalized (the model and the user history), popularity (the model, no history), trending (no usable model: what recent shoppers touched), catalog (no model and no interactions: catalog order), item_similarity (the model), content_similarity (category, brand and name of items the model does not know, or before any model), category_popularity (no content neighbour: trending items of the same category)',
    ),
  cache_hit: z.boolean().optional(),
});

export const recommendResponse = z.object({
  recommendation_id: z.string(),
  recommendations: z.array(z.object({ ...itemFields, score: z.number(), reason: z.string() })),
  metadata,
});

export const similarBody = z
  .object({
    tenant_id: tenantIdField,
    item_id: z.string().min(1).max(200),
    count: z.number().int().min(1).max(MAX_COUNT).default(10),
    filters,
  })
  .strict();

export const similarResponse = z.object({
  recommendation_id: z.string(),
  similar_items: z.array(z.object({ ...itemFields, similarity_score: z.number() })),
  metadata,
});

export const versionSchema = z.object({
  id: z.string(),
  version: z.string(),
  model_type: z.string(),
  hyperparameters: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.number()),
  model_card: z.record(z.string(), z.unknown()),
  snapshot: z.object({ users: z.number(), items: z.number(), interactions: z.number() }),
  artifact: z.object({ location: z.string(), bytes: z.number() }),
  /**
   * Estimated bytes the answering process holds for this version while serving it (its arrays, what its scorer
   * built at load, its item table and filter masks); null when that process has not loaded it.
   */
  serving_bytes: z.number().nullable(),
  training_seconds: z.number(),
  load_error: z.string().nullable(),
  status: z.enum(['active', 'canary', 'previous', 'inactive']),
  created_at: z.string(),
  deployed_at: z.string().nullable(),
  expires_at: z.string(),
});

export const deploymentSchema = z.object({
  active_version_id: z.string().nullable(),
  previous_version_id: z.string().nullable(),
  canary_version_id: z.string().nullable(),
  canary_percent: z.number(),
});

export const versionParams = z.object({ version_id: z.string().max(100) });
export const deployBody = z
  .object({ canary_percent: z.number().int().min(1).max(100).optional() })
  .strict()
  .default({});

export const dashboardParams = z.object({ tenantId: z.string().max(100) });
export const dashboardQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(7) });
export const dashboardResponse = z.object({
  period: z.string(),
  metrics: z.object({
    total_api_calls: z.number(),
    total_recommendations_served: z.number(),
    click_through_rate: z.number(),
    conversion_rate: z.number(),
    average_latency_ms: z.number(),
    cache_hit_rate: z.number(),
    model_performance: z.record(z.string(), z.number()),
    /** In `currency`, the currency of most attributed orders; `by_currency` has every currency's own totals. */
    revenue_impact: z.object({
      attributed_revenue: z.number(),
      attributed_orders: z.number(),
      average_order_value: z.number(),
      currency: z.string().nullable(),
      by_currency: z.array(z.object({ currency: z.string(), attributed_revenue: z.number(), attributed_orders: z.number() })),
    }),
  }),
  model_version: z.string().nullable(),
  top_recommended_items: z.array(z.object({ item_id: z.string(), impressions: z.number(), clicks: z.number(), purchases: z.number() })),
  data_quality: z.object({ items: z.number(), interactions: z.number(), users: z.number(), freshness_hours: z.number().nullable() }),
});

/** What the answering process holds in memory to serve the tenant, estimated in bytes (per process: each replica has its own). */
export const servingMemorySchema = z.object({
  total_bytes: z.number(),
  models: z.array(z.object({ version_id: z.string(), version: z.string(), bytes: z.number() })),
  catalog_bytes: z.number(),
  catalog_items: z.number(),
  histories_bytes: z.number(),
  history_users: z.number(),
  responses_bytes: z.number(),
  responses: z.number(),
  cold_start_bytes: z.number(),
});

export const versionsResponse = z.object({
  data: z.array(versionSchema),
  deployment: deploymentSchema,
  serving_memory: servingMemorySchema,
});
