import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The one interactions table: every event that says a person did something with an item (view, cart,
 * purchase, rating ...), whatever its channel (API, SDK, upload, webhook). Append-only. The catalog's
 * uploads and the events API both write it through `interactions.repository.ts`.
 *
 * Partitioned by month of `occurred_at` (`PARTITION BY RANGE`, made by the migration; drizzle does not describe
 * partitioning): partitions `interactions_yYYYYmMM`, created ahead by `events.interaction-partitions`, and
 * `interactions_default` for a month without one. So the primary key carries `occurred_at` and the dedupe key
 * cannot be unique here (a unique index on a partitioned table must include the partition key): its uniqueness
 * lives in `interaction_keys`, written in the same statement.
 */
export const interactions = pgTable(
  'interactions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    profileId: uuid('profile_id'),
    itemId: text('item_id'),
    type: text('type').notNull(),
    value: doublePrecision('value'),
    quantity: integer('quantity'),
    priceMinor: bigint('price_minor', { mode: 'bigint' }),
    currency: text('currency'),
    orderId: text('order_id'),
    sessionId: text('session_id'),
    recommendationId: text('recommendation_id'),
    source: text('source').notNull(),
    context: jsonb('context'),
    metadata: jsonb('metadata'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id, t.occurredAt] }),
    index('interactions_user_time_idx').on(t.tenantId, t.userId, t.occurredAt),
    index('interactions_item_idx').on(t.tenantId, t.itemId),
    index('interactions_time_idx').on(t.tenantId, t.occurredAt),
    index('interactions_profile_idx').on(t.tenantId, t.profileId, t.occurredAt),
    index('interactions_recommendation_idx').on(t.tenantId, t.recommendationId),
  ],
);

/**
 * One row per accepted interaction, keyed by its dedupe key: what makes every write idempotent (the client's event
 * id / message id when given, otherwise a hash of (user, item, type, timestamp), see interactions.core.ts). A plain
 * table beside the partitioned one, because uniqueness across monthly partitions cannot be an index of theirs. The
 * write inserts the keys first (ON CONFLICT DO NOTHING) and the interactions of the keys it got, in one statement:
 * an event is stored once even across concurrent duplicates and kill -9. Holds the answer to a retry (the stored
 * id, `received_at`) so a retry reads no partition. Retention deletes a month's keys with its partition
 * (`occurred_at`), and the write refuses events older than the retention (a forgotten key could not stop them).
 */
export const interactionKeys = pgTable(
  'interaction_keys',
  {
    tenantId: uuid('tenant_id').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    id: uuid('id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.dedupeKey] }), index('interaction_keys_time_idx').on(t.occurredAt)],
);

/**
 * A tenant's own retention of its interactions (the Data page's "Event retention"): events older than the start of
 * the month `months` before the current one are not stored, and the elected task `events.tenant-retention` deletes
 * the stored ones (with their dedupe keys) in batches. With `archive`, only rows the warehouse's Parquet export has
 * already written are deleted, so nothing leaves without a copy. `LOUPE_INTERACTIONS_RETENTION_MONTHS` (whole
 * monthly partitions, platform-wide) still applies over it. No row: the tenant keeps everything.
 */
export const interactionRetention = pgTable('interaction_retention', {
  tenantId: uuid('tenant_id').primaryKey(),
  months: integer('months').notNull(),
  archive: boolean('archive').notNull().default(true),
  lastPurgeAt: timestamp('last_purge_at', { withTimezone: true }),
  lastPurgedRows: bigint('last_purged_rows', { mode: 'number' }).notNull().default(0),
  purgedRows: bigint('purged_rows', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
