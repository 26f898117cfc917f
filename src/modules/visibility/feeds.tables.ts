import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A tenant's feed settings: target country, content language, attribute mapping rules. */
export const feedSettings = pgTable('feed_settings', {
  tenantId: uuid('tenant_id').primaryKey(),
  targetCountry: text('target_country').notNull().default('US'),
  contentLanguage: text('content_language').notNull().default('en'),
  /** MappingRule[] (feeds.mapping.core.ts). */
  mappingRules: jsonb('mapping_rules').notNull().default(sql`'[]'::jsonb`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Seed 004's feed push jobs. Status: queued -> processing -> success | failed; a failed job goes back to
 * queued as a retry ('retried' is recorded in the audit trail, the job itself is queued again).
 */
export const feedPushJobs = pgTable(
  'feed_push_jobs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    status: text('status').notNull(),
    /** Who asked: 'api' (POST .../feed/push), 'google' (POST /google/feeds/push), 'schedule'. */
    trigger: text('trigger').notNull(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    /** { inserted, deleted, unchanged, failed, calls } of the last attempt. */
    summary: jsonb('summary').notNull().default(sql`'{}'::jsonb`),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('feed_push_jobs_tenant_created_idx').on(t.tenantId, t.createdAt)],
);

/** Every status change of a feed push job: who, when, why. Append-only. */
export const feedPushJobEvents = pgTable(
  'feed_push_job_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    jobId: uuid('job_id').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    reason: text('reason'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('feed_push_job_events_job_idx').on(t.tenantId, t.jobId, t.createdAt)],
);

/**
 * What Merchant Center holds of each item, as last written: the content hash of the product input sent (an
 * unchanged hash means no call), and the per-item issues Google answered.
 */
export const feedItemStates = pgTable(
  'feed_item_states',
  {
    tenantId: uuid('tenant_id').notNull(),
    itemId: text('item_id').notNull(),
    /** sha256 of the canonical product input; null when the last write was refused. */
    contentHash: text('content_hash'),
    /** 'pushed' | 'rejected' | 'deleted' */
    status: text('status').notNull(),
    issues: jsonb('issues').notNull().default(sql`'[]'::jsonb`),
    lastJobId: uuid('last_job_id'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.itemId] })],
);
