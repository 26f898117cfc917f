import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** A tenant's receiver of outbound webhooks: where, which event types, and its signing secrets (sealed). */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    /** Subscribed event types: exact names, `prefix.*` wildcards or `*`. */
    eventTypes: jsonb('event_types').notNull().default([]),
    enabled: boolean('enabled').notNull().default(true),
    /** Why the endpoint was disabled automatically (null when enabled or disabled by a person). */
    disabledReason: text('disabled_reason'),
    /** `whsec_...`, sealed (AES-256-GCM): the HMAC needs it in clear. */
    secret: text('secret').notNull(),
    /** The secret before the last rotation, sealed; also signs until previous_secret_expires_at. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    /** Start of the current run of failed attempts (null after a success): auto-disable after N days of it. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('webhook_endpoints_url_key').on(t.tenantId, t.url)],
);

/** The outbox: one row per published event, written in the producer's transaction; idempotent by key. */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('webhook_messages_idempotency_key').on(t.tenantId, t.idempotencyKey)],
);

/** One message to one endpoint: its state, attempts and when the next attempt is due. */
export const webhookOutboundDeliveries = pgTable(
  'webhook_outbound_deliveries',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    messageId: uuid('message_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    type: text('type').notNull(),
    /** pending | sending | succeeded | failed */
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastStatusCode: smallint('last_status_code'),
    lastError: text('last_error'),
    lastLatencyMs: integer('last_latency_ms'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('webhook_outbound_deliveries_message_endpoint_key').on(t.tenantId, t.messageId, t.endpointId),
    index('webhook_outbound_deliveries_endpoint_idx').on(t.tenantId, t.endpointId, t.id),
    index('webhook_outbound_deliveries_due_idx').on(t.nextAttemptAt).where(sql`status IN ('pending', 'sending')`),
  ],
);

/** The delivery log: every attempt, its HTTP status, latency, error and the start of the response body. */
export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    attempt: integer('attempt').notNull(),
    ok: boolean('ok').notNull(),
    statusCode: smallint('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    /** At most 1 kB of the response body. */
    responseBody: text('response_body'),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('webhook_delivery_attempts_delivery_idx').on(t.tenantId, t.deliveryId),
    index('webhook_delivery_attempts_time_idx').on(t.tenantId, t.attemptedAt),
  ],
);
