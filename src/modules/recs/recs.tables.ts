import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Model registry: one row per trained version. The artifact itself lives in object storage
 * (`models/<version id>/model.bin`); metrics, hyperparameters and the model card are stored here.
 */
export const recsModelVersions = pgTable(
  'recs_model_versions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** Human label, e.g. `v3_20261122` (seed 003's `model_version`). */
    version: text('version').notNull(),
    modelType: text('model_type').notNull(),
    hyperparameters: jsonb('hyperparameters').notNull().default({}),
    metrics: jsonb('metrics').notNull().default({}),
    modelCard: jsonb('model_card').notNull().default({}),
    snapshotUsers: integer('snapshot_users').notNull().default(0),
    snapshotItems: integer('snapshot_items').notNull().default(0),
    snapshotInteractions: integer('snapshot_interactions').notNull().default(0),
    artifactKey: text('artifact_key').notNull(),
    artifactBytes: bigint('artifact_bytes', { mode: 'number' }).notNull().default(0),
    jobId: uuid('job_id'),
    trainingSeconds: real('training_seconds').notNull().default(0),
    /** Set when the serving layer failed to load the artifact (e.g. deleted from storage). */
    loadError: text('load_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deployedAt: timestamp('deployed_at', { withTimezone: true }),
    /** Retention: versions that are not serving are deleted after this time (30 days after training). */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('recs_model_versions_version_key').on(t.tenantId, t.version),
    index('recs_model_versions_created_idx').on(t.tenantId, t.createdAt),
  ],
);

/** What each tenant serves: the active version, the one before it (rollback), and an optional canary. */
export const recsDeployments = pgTable('recs_deployments', {
  tenantId: uuid('tenant_id').notNull().primaryKey(),
  activeVersionId: uuid('active_version_id'),
  previousVersionId: uuid('previous_version_id'),
  canaryVersionId: uuid('canary_version_id'),
  canaryPercent: integer('canary_percent').notNull().default(0),
  canaryStartedAt: timestamp('canary_started_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One row per recommendation response: its id is the `recommendation_id` clients cite in interactions,
 * which is how clicks, purchases and revenue are attributed to a model version.
 */
export const recsServed = pgTable(
  'recs_served',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    kind: text('kind').notNull(), // user | similar
    userId: text('user_id'),
    modelVersionId: uuid('model_version_id'),
    itemIds: text('item_ids').array().notNull(),
    latencyMs: real('latency_ms').notNull(),
    cacheHit: boolean('cache_hit').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('recs_served_time_idx').on(t.tenantId, t.createdAt)],
);
