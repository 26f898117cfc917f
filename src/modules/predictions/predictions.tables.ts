import { bigint, index, integer, jsonb, pgTable, primaryKey, real, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Model registry of predictions: one row per trained model (churn, ltv, segments, clv) with its training window,
 * metrics, model card and the fitted parameters themselves (small: trees, cut points, centroids). One version per
 * kind is `active`; a training run writes its versions as `active` only when it finishes, so a cancelled or failed
 * run leaves the previous ones serving.
 */
export const predictionModelVersions = pgTable(
  'prediction_model_versions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** churn | ltv | segments | clv */
    kind: text('kind').notNull(),
    /** Human label, e.g. `churn_v3_20261205`. */
    version: text('version').notNull(),
    /** gbt_calibrated | bg_nbd_p_alive | bg_nbd_gamma_gamma | gbt_regression | rfm_kmeans ... */
    modelType: text('model_type').notNull(),
    /** active | previous | inactive */
    status: text('status').notNull(),
    windowFrom: timestamp('window_from', { withTimezone: true }),
    windowTo: timestamp('window_to', { withTimezone: true }).notNull(),
    cutoff: timestamp('cutoff', { withTimezone: true }).notNull(),
    metrics: jsonb('metrics').notNull().default({}),
    modelCard: jsonb('model_card').notNull().default({}),
    params: jsonb('params').notNull(),
    jobId: uuid('job_id'),
    trainingSeconds: real('training_seconds').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    activatedAt: timestamp('activated_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('prediction_model_versions_kind_idx').on(t.tenantId, t.kind, t.status)],
);

/**
 * Feature store (seed 002's `features`): each profile's features as of `as_of` (point-in-time: only orders before
 * it), in the order of `FEATURE_NAMES`; NaN is stored as null.
 */
export const predictionFeatures = pgTable(
  'prediction_features',
  {
    tenantId: uuid('tenant_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    asOf: timestamp('as_of', { withTimezone: true }).notNull(),
    values: jsonb('values').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.profileId] })],
);

/**
 * Scores per profile (seed 002's `predictions` cache): churn probability, expected value over the horizon in minor
 * units, CLV parts, RFM scores and named segment, k-means cluster, top reasons; written by the training job.
 */
export const predictionScores = pgTable(
  'prediction_scores',
  {
    tenantId: uuid('tenant_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    churnProbability: real('churn_probability'),
    expectedValueMinor: bigint('expected_value_minor', { mode: 'bigint' }),
    currency: text('currency'),
    expectedPurchases: real('expected_purchases'),
    pAlive: real('p_alive'),
    rfmR: smallint('rfm_r').notNull(),
    rfmF: smallint('rfm_f').notNull(),
    rfmM: smallint('rfm_m').notNull(),
    segment: text('segment').notNull(),
    cluster: integer('cluster'),
    reasons: jsonb('reasons').notNull().default([]),
    /** Last order before scoring, for the at-risk list. */
    lastOrderAt: timestamp('last_order_at', { withTimezone: true }),
    scoredAt: timestamp('scored_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.profileId] }),
    index('prediction_scores_segment_idx').on(t.tenantId, t.segment),
    index('prediction_scores_churn_idx').on(t.tenantId, t.churnProbability),
  ],
);

/**
 * Segment sizes of every scoring run (training and the nightly rescore), for the trends on the Predictions page:
 * counts only, no person, so erasure has nothing to remove here. `run_at` is the run's `scored_at`.
 */
export const predictionSegmentHistory = pgTable(
  'prediction_segment_history',
  {
    tenantId: uuid('tenant_id').notNull(),
    runAt: timestamp('run_at', { withTimezone: true }).notNull(),
    segment: text('segment').notNull(),
    profiles: integer('profiles').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.runAt, t.segment] })],
);
