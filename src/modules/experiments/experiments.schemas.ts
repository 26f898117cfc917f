/**
 * Request and response schemas of the experiments API (seed 000's calls). Public JSON is snake_case.
 */
import { z } from 'zod';
import { currencyCode } from '../../platform/schemas.ts';
import { metricResult } from './analyze.schemas.ts';

const id = z.string().trim().min(1).max(200);
const key = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be 1 to 100 letters, digits, "_", "." or "-", starting with a letter or digit');
const eventName = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, 'must be a lower_snake_case event name of at most 50 characters');

/** JSON of at most `max` bytes and `depth` levels (configs and targeting rules are small documents). */
export function boundedJson(max: number, depth: number) {
  const deepest = (v: unknown, d = 0): number =>
    typeof v === 'object' && v !== null ? Math.max(d + 1, ...Object.values(v as Record<string, unknown>).map((x) => deepest(x, d + 1))) : d;
  return z
    .unknown()
    .refine((v) => v === undefined || JSON.stringify(v).length <= max, `must be at most ${max} bytes of JSON`)
    .refine((v) => deepest(v) <= depth, `must be nested at most ${depth} levels deep`);
}
const condition = boundedJson(8192, 8).refine((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object');

export const variantBody = z
  .object({
    key: key.optional(),
    name: z.string().trim().min(1).max(200).optional(),
    weight: z.number().finite().min(0).max(1).optional(),
    /** Handed to the client as is: a model version, a serving strategy, a feed module order ... */
    config: boundedJson(16384, 10).optional(),
  })
  .strict()
  .refine((v) => v.key !== undefined || v.name !== undefined, 'give a key or a name');

const metricBody = z
  .object({
    name: eventName,
    type: z.enum(['binomial', 'mean', 'ratio']),
    event: eventName,
    value: z.enum(['count', 'value']).default('count'),
    cap: z.number().finite().positive().optional(),
    denominator_event: eventName.optional(),
    guardrail: z.boolean().default(false),
    /**
     * Count interactions that arrived through these channels (shopify, segment, api, web, ...) instead of
     * events sent to /experiments/track: `event` is then the interaction type (purchase, add_to_cart, click or a
     * custom type). Purchases count once per order; `value` sums their revenue in the experiment's currency.
     */
    sources: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a channel name: lowercase letters, digits, _'))
      .min(1)
      .max(10)
      .refine((xs) => new Set(xs).size === xs.length, 'duplicate source')
      .optional(),
  })
  .strict()
  .refine((m) => m.type !== 'ratio' || m.denominator_event !== undefined, 'a ratio metric needs a denominator_event');

/** Bandit settings (GrowthBook's defaults: top-two Thompson sampling, 1 % minimum weight, daily updates). */
export const banditBody = z
  .object({
    posterior: z.enum(['auto', 'beta', 'gaussian']).default('auto'),
    top_two: z.boolean().default(true),
    min_weight: z.number().min(0).max(0.2).default(0.01),
    burn_in_hours: z
      .number()
      .min(0)
      .max(24 * 90)
      .default(24),
    update_every_hours: z
      .number()
      .min(0.25)
      .max(24 * 30)
      .default(24),
  })
  .strict();

const banditSchema = z.object({
  posterior: z.enum(['auto', 'beta', 'gaussian']),
  top_two: z.boolean(),
  min_weight: z.number(),
  burn_in_hours: z.number(),
  update_every_hours: z.number(),
});

export const createBody = z
  .object({
    key: key.optional(),
    name: z.string().trim().min(1).max(200),
    description: z.string().max(4000).default(''),
    metrics: z.array(metricBody).min(1).max(20).optional(),
    primary_metric: eventName.optional(),
    // The list is bounded by the HTTP schema at a size that still reports the real problem (too many variants).
    variants: z.array(variantBody).max(10_000).optional(),
    traffic_allocation: z.number().min(0).max(1).default(1),
    targeting: condition.optional(),
    namespace: z
      .object({ name: key, start: z.number().min(0).max(1), end: z.number().min(0).max(1) })
      .strict()
      .refine((n) => n.start < n.end, 'start must be below end')
      .optional(),
    holdout: z
      .object({ seed: key, percent: z.number().min(0).max(0.5) })
      .strict()
      .optional(),
    exclude_bots: z.boolean().default(true),
    engine: z.enum(['frequentist', 'bayesian']).default('frequentist'),
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    correction: z.enum(['none', 'holm', 'bh']).default('holm'),
    sequential: z.boolean().default(false),
    minimum_sample_size: z.number().int().min(0).max(1e9).default(100),
    conversion_window_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(72),
    currency: currencyCode.default('USD'),
    /** standard: fixed weights; bandit: weights recomputed every period from the primary metric. */
    type: z.enum(['standard', 'bandit']).default('standard'),
    bandit: banditBody.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.bandit && b.type !== 'bandit') ctx.addIssue({ code: 'custom', path: ['bandit'], message: 'bandit settings need type "bandit"' });
    const names = new Set<string>();
    b.metrics?.forEach((m, i) => {
      if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `duplicate metric name "${m.name}"` });
      names.add(m.name);
    });
  });

export const variantsBody = z.union([z.object({ variants: z.array(variantBody).max(10_000) }).strict(), variantBody]);

export const idParams = z.object({ id: z.string().max(100) });
export const listQuery = z
  .object({ include_archived: z.enum(['true', 'false']).default('false'), limit: z.coerce.number().int().min(1).max(500).default(100) })
  .strict();
/** `raw` scans the experiment's rows instead of reading its rollups: the reference the rollups equal (checks, benches). */
export const reportQuery = z
  .object({
    source: z.enum(['rollup', 'raw']).default('rollup'),
    refresh: z
      .enum(['true', 'false'])
      .default('false')
      .describe(
        'true (needs experiments:manage): bring the rollups up to now before answering, for at most LOUPE_EXPERIMENTS_REFRESH_BUDGET_MS; `freshness.pending` says whether it caught up',
      ),
  })
  .strict();

const variantSchema = z.object({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  weight: z.number(),
  config: z.unknown(),
  position: z.number(),
});
export const experimentSchema = z.object({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string(),
  status: z.enum(['draft', 'running', 'stopped', 'archived']),
  metrics: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['binomial', 'mean', 'ratio']),
      event: z.string(),
      value: z.enum(['count', 'value']),
      cap: z.number().nullable(),
      denominator_event: z.string().nullable(),
      guardrail: z.boolean(),
      sources: z.array(z.string()).nullable(),
    }),
  ),
  primary_metric: z.string(),
  variants: z.array(variantSchema),
  traffic_allocation: z.number(),
  targeting: z.unknown(),
  namespace: z.object({ name: z.string(), start: z.number(), end: z.number() }).nullable(),
  holdout: z.object({ seed: z.string(), percent: z.number() }).nullable(),
  exclude_bots: z.boolean(),
  engine: z.enum(['frequentist', 'bayesian']),
  confidence: z.number(),
  correction: z.enum(['none', 'holm', 'bh']),
  sequential: z.boolean(),
  minimum_sample_size: z.number(),
  conversion_window_hours: z.number(),
  currency: z.string(),
  hashing: z.literal('growthbook_fnv1a_v2'),
  /** 1: hashes the unit key (u:<id>, experiments from before the raw-id change); 2: the raw id, as GrowthBook SDKs. */
  hash_version: z.union([z.literal(1), z.literal(2)]),
  type: z.enum(['standard', 'bandit']),
  bandit: banditSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  stopped_at: z.string().nullable(),
});
export type ExperimentJson = z.infer<typeof experimentSchema>;

export const listResponse = z.object({ data: z.array(experimentSchema) });

const unitIds = {
  user_id: id.optional(),
  anonymous_id: id.optional(),
};
const needsUnit = (b: { user_id?: string | undefined; anonymous_id?: string | undefined }) =>
  b.user_id !== undefined || b.anonymous_id !== undefined;
const UNIT_MESSAGE = { message: 'send user_id or anonymous_id' };

export const assignBody = z
  .object({
    ...unitIds,
    /** Keys (or ids) of the experiments to assign; omitted: every running experiment. */
    experiments: z.array(z.string().min(1).max(200)).max(100).optional(),
    experiment_keys: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Attributes targeting rules look at (country, plan, device ...). */
    attributes: boundedJson(8192, 4).optional(),
    user_agent: z.string().max(1000).optional(),
  })
  .strict()
  .refine(needsUnit, UNIT_MESSAGE);

export const assignResponse = z.object({
  unit_id: z.string(),
  assignments: z.array(
    z.object({
      experiment_key: z.string(),
      experiment_id: z.string().nullable(),
      variant_key: z.string(),
      variant_id: z.string().nullable(),
      config: z.unknown(),
      in_experiment: z.boolean(),
      reason: z.string(),
    }),
  ),
});

const trackCommon = {
  ...unitIds,
  event_id: id.optional(),
  experiment_id: z.string().uuid().optional(),
  item_id: id.optional(),
  recommendation_id: id.optional(),
  position: z.number().int().min(0).max(100000).optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
};

export const trackClickBody = z
  .object({ ...trackCommon })
  .strict()
  .refine(needsUnit, UNIT_MESSAGE);
export const trackAddToCartBody = z
  .object({ ...trackCommon, quantity: z.number().int().min(1).max(100000).optional() })
  .strict()
  .refine(needsUnit, UNIT_MESSAGE);
const money = z.union([
  z.number().finite().min(0).max(1e12),
  z.string().regex(/^\d{1,15}(\.\d{1,6})?$/, 'must be a decimal amount such as "99.99"'),
]);
export const trackPurchaseBody = z
  .object({
    ...trackCommon,
    /** The order: the same order id tracked twice counts once. */
    order_id: id,
    amount: money.optional(),
    revenue: money.optional(),
    currency: currencyCode.optional(),
  })
  .strict()
  .refine(needsUnit, UNIT_MESSAGE);
export const trackBody = z
  .object({ ...trackCommon, event: eventName, value: z.number().finite().min(-1e12).max(1e12).optional() })
  .strict()
  .refine(needsUnit, UNIT_MESSAGE);

export const trackResponse = z.object({ status: z.literal('tracked'), event_id: z.string(), counted: z.boolean(), unit_id: z.string() });

const banditPeriodSchema = z.object({
  period: z.number(),
  started_at: z.string(),
  weights: z.record(z.string(), z.number()),
  best_arm_probabilities: z.record(z.string(), z.number()).nullable(),
  units: z.record(z.string(), z.number()),
  message: z.string(),
});

export const reportResponse = z.object({
  experiment: experimentSchema,
  /**
   * How fresh the numbers are. Rollup reports read the rollups as the background refresh left them (never refreshing
   * on the request): every row committed before `as_of` is in them (null: not built yet); `pending` true when rows
   * written since are not in them yet; `refreshing` while a refresh is under way. A raw scan is as of the request.
   */
  freshness: z.object({
    source: z.enum(['rollup', 'raw']),
    as_of: z.string().nullable(),
    pending: z.boolean(),
    refreshing: z.boolean(),
  }),
  units: z.array(z.object({ variant_key: z.string(), n: z.number(), exposures: z.number(), expected_weight: z.number() })),
  srm_p_value: z.number(),
  metrics: z.array(metricResult.extend({ guardrail: z.boolean(), primary: z.boolean() })),
  warnings: z.array(z.string()),
  /** Bandits only: weights over time, units first exposed per period, and the SRM against each period's weights. */
  bandit: z
    .object({
      periods: z.array(banditPeriodSchema),
      srm_p_value: z.number(),
      next_update_at: z.string().nullable(),
      /**
       * The primary metric weighted by period (GrowthBook's bandit estimate): each arm's per-period means weighted
       * by the same period shares, so weights that moved over time do not bias the comparison; `pooled_*` are the
       * naive figures beside them. Null for ratio metrics or without periods. Control first (its effects null).
       */
      period_weighted: z
        .object({
          metric: z.string(),
          periods_used: z.number(),
          periods_total: z.number(),
          variants: z.array(
            z.object({
              variant_key: z.string(),
              n: z.number(),
              mean: z.number().nullable(),
              standard_error: z.number().nullable(),
              pooled_mean: z.number().nullable(),
              absolute_effect: z.number().nullable(),
              relative_effect: z.number().nullable(),
              ci_low: z.number().nullable(),
              ci_high: z.number().nullable(),
              p_value: z.number().nullable(),
              chance_to_win: z.number().nullable(),
              pooled_relative_effect: z.number().nullable(),
            }),
          ),
        })
        .nullable(),
    })
    .nullable(),
  decision: z.object({
    action: z.enum(['ship', 'keep_control', 'keep_running', 'inconclusive']),
    variant_key: z.string().nullable(),
    reason: z.string(),
  }),
});

export const liftResponse = z.object({
  experiment_id: z.string(),
  metric: z.string(),
  control: z.string().nullable(),
  variants: z.array(
    z.object({
      variant_key: z.string(),
      lift: z.number().nullable(),
      ci_low: z.number().nullable(),
      ci_high: z.number().nullable(),
      p_value: z.number().nullable(),
      chance_to_win: z.number().nullable(),
      significant: z.boolean(),
    }),
  ),
  winner: z.string().nullable(),
  decision: z.string(),
});

export type ReportJson = z.infer<typeof reportResponse>;
