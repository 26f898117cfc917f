import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Platform tables. Every tenant-owned table has `tenant_id` first in its primary key and in every unique
 * index, so the schema can be distributed by tenant (Citus) without a rewrite. Platform-scope rows that
 * belong to no tenant use the nil UUID as tenant_id (PLATFORM_TENANT_ID).
 */
export const platformSettings = pgTable('platform_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const jobs = pgTable(
  'jobs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('queued'), // queued | running | succeeded | failed | cancelled
    priority: smallint('priority').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    progress: jsonb('progress'),
    result: jsonb('result'),
    lastError: text('last_error'),
    dedupeKey: text('dedupe_key'),
    /** The W3C `traceparent` of the span that enqueued the job (tracing on), so its run joins that trace. */
    traceparent: text('traceparent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('jobs_claim_idx').on(t.status, t.runAt, t.priority).where(sql`status in ('queued', 'running')`),
    index('jobs_tenant_type_idx').on(t.tenantId, t.type, t.createdAt),
    // One live job per dedupe key: enqueue inserts ON CONFLICT DO NOTHING against it, so two schedulers (or a
    // takeover) booking the same slot at once leave one job. Finished jobs keep their key and do not count.
    uniqueIndex('jobs_live_dedupe_idx').on(t.tenantId, t.type, t.dedupeKey).where(sql`status in ('queued', 'running')`),
  ],
);

export const auditLogs = pgTable(
  'audit_logs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    actorType: text('actor_type').notNull(), // user | api_key | system | anonymous
    actorId: text('actor_id'),
    action: text('action').notNull(),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    outcome: text('outcome').notNull(), // success | failure
    statusCode: integer('status_code'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    details: jsonb('details'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('audit_logs_tenant_time_idx').on(t.tenantId, t.createdAt)],
);

export const securityEvents = pgTable(
  'security_events',
  {
    id: uuid('id').primaryKey(),
    type: text('type').notNull(), // login_succeeded | login_failed | account_locked | refresh_reuse_detected | step_up_failed ...
    userId: uuid('user_id'),
    subjectHash: text('subject_hash'), // sha-256 of the normalized e-mail: never the address in clear
    ip: text('ip'),
    userAgent: text('user_agent'),
    details: jsonb('details'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('security_events_user_idx').on(t.userId, t.createdAt)],
);

/** Responses remembered per Idempotency-Key so that a retried write returns the first answer. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: uuid('tenant_id').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    response: jsonb('response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key, t.route] })],
);

export const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000000';
