/**
 * Request and response schemas of feature flags: administration under /api/v1/admin/flags, the GrowthBook SDK
 * payload at GET /api/features/:clientKey and SDK exposures. Public JSON is snake_case (the payload keeps
 * GrowthBook's camelCase, which the SDKs read).
 */
import { z } from 'zod';
import { boundedJson } from './experiments.schemas.ts';

const flagKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be 1 to 100 letters, digits, "_", "." or "-", starting with a letter or digit');
const environment = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be a lower-case environment name such as "production" or "staging"');
const attribute = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,99}$/, 'must be an attribute name such as "id" or "company.id"');
const condition = boundedJson(8192, 8).refine((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object');
/** A flag value: at most 16 KB of JSON nested at most 10 levels. */
const flagValue = boundedJson(16384, 10);

const prerequisite = z
  .object({ flag_key: flagKey, condition: condition.optional() })
  .strict()
  .transform((p) => ({ flagKey: p.flag_key, condition: (p.condition as Record<string, unknown> | undefined) ?? { value: true } }));

const rule = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 letters, digits, "_", ".", ":" or "-"')
      .optional(),
    type: z.enum(['force', 'rollout', 'experiment']),
    description: z.string().max(1000).default(''),
    enabled: z.boolean().default(true),
    environments: z.array(environment).max(20).nullable().default(null),
    condition: condition.optional(),
    prerequisites: z.array(prerequisite).max(10).default([]),
    value: flagValue.optional(),
    coverage: z.number().min(0).max(1).optional(),
    hash_attribute: attribute.default('id'),
    seed: z.string().min(1).max(100).optional(),
    experiment_key: flagKey.optional(),
    variation_values: z
      .record(flagKey, flagValue)
      .refine((r) => Object.keys(r).length <= 50, 'at most 50 variants')
      .default({}),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.type !== 'experiment' && r.value === undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `a ${r.type} rule needs a value` });
    if (r.type === 'rollout' && r.coverage === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['coverage'],
        message: 'a rollout needs coverage, the share of units (0 to 1) that get the value',
      });
    if (r.type === 'experiment' && r.experiment_key === undefined)
      ctx.addIssue({ code: 'custom', path: ['experiment_key'], message: 'an experiment rule names the experiment (experiment_key)' });
  })
  .transform((r) => ({
    id: r.id,
    type: r.type,
    description: r.description,
    enabled: r.enabled,
    environments: r.environments,
    condition: (r.condition as Record<string, unknown> | undefined) ?? null,
    prerequisites: r.prerequisites,
    value: r.value ?? null,
    coverage: r.coverage ?? 1,
    hashAttribute: r.hash_attribute,
    seed: r.seed ?? null,
    experimentKey: r.experiment_key ?? null,
    variationValues: r.variation_values as Record<string, unknown>,
  }));

const definition = {
  description: z.string().max(4000).default(''),
  value_type: z.enum(['boolean', 'string', 'number', 'json']),
  default_value: flagValue,
  rules: z.array(rule).max(100).default([]),
  prerequisites: z.array(prerequisite).max(10).default([]),
  environments: z
    .array(environment)
    .min(1)
    .max(20)
    .refine((e) => new Set(e).size === e.length, 'lists an environment twice')
    .default(['production']),
};

export const createFlagBody = z.object({ key: flagKey, ...definition }).strict();
export const updateFlagBody = z.object({ version: z.number().int().min(1), archived: z.boolean().default(false), ...definition }).strict();

export const flagIdParams = z.object({ id: z.string().max(100) });
export const exposureCountsQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }).strict();

const ruleSchema = z.object({
  id: z.string(),
  type: z.enum(['force', 'rollout', 'experiment']),
  description: z.string(),
  enabled: z.boolean(),
  environments: z.array(z.string()).nullable(),
  condition: z.unknown(),
  prerequisites: z.array(z.object({ flag_key: z.string(), condition: z.unknown() })),
  value: z.unknown(),
  coverage: z.number(),
  hash_attribute: z.string(),
  seed: z.string().nullable(),
  experiment_key: z.string().nullable(),
  variation_values: z.record(z.string(), z.unknown()),
});
export const flagSchema = z.object({
  id: z.string(),
  key: z.string(),
  description: z.string(),
  value_type: z.enum(['boolean', 'string', 'number', 'json']),
  default_value: z.unknown(),
  rules: z.array(ruleSchema),
  prerequisites: z.array(z.object({ flag_key: z.string(), condition: z.unknown() })),
  environments: z.array(z.string()),
  archived: z.boolean(),
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const flagListResponse = z.object({ data: z.array(flagSchema) });

export const clientKeyBody = z.object({ environment: environment.default('production') }).strict();
const clientKeySchema = z.object({ client_key: z.string(), environment: z.string(), created_at: z.string() });
export const clientKeyResponse = clientKeySchema;
export const clientKeyListResponse = z.object({ data: z.array(clientKeySchema) });

export const exposureCountsResponse = z.object({ data: z.array(z.object({ day: z.string(), value: z.string(), count: z.number() })) });

export const sdkPayloadParams = z.object({ clientKey: z.string().max(200) });
/** The GrowthBook SDK payload (documented loosely: the SDKs read it, see flags.core.ts for the fields). */
export const sdkPayloadResponse = z.object({
  status: z.literal(200),
  features: z.record(z.string(), z.object({ defaultValue: z.unknown(), rules: z.array(z.record(z.string(), z.unknown())).optional() })),
  experiments: z.array(z.unknown()),
  dateUpdated: z.string(),
});

const unitId = z.string().trim().min(1).max(200);
/**
 * One exposure: a flag evaluation (`feature_key`, `value`) or, from GrowthBook's trackingCallback, an experiment
 * exposure (`experiment_key` and `variation_id`, the index of the variation), for a `user_id` or `anonymous_id`.
 */
const exposure = z
  .object({
    feature_key: flagKey.optional(),
    value: flagValue.optional(),
    experiment_key: flagKey.optional(),
    variation_id: z.number().int().min(0).max(1000).optional(),
    user_id: unitId.optional(),
    anonymous_id: unitId.optional(),
  })
  .strict()
  .refine((e) => e.feature_key !== undefined || (e.experiment_key !== undefined && e.variation_id !== undefined), {
    message: 'give a feature_key, or an experiment_key with its variation_id',
  })
  .refine((e) => e.experiment_key === undefined || e.user_id !== undefined || e.anonymous_id !== undefined, {
    message: 'an experiment exposure needs a user_id or an anonymous_id',
  });
export const exposuresBody = z.object({ exposures: z.array(exposure).min(1).max(500) }).strict();
export const exposuresResponse = z.object({ accepted: z.number(), skipped: z.number() });
