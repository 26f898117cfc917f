import {
  doublePrecision,
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The one interactions table: every event that says a person did something with an item (view, cart,
 * purchase, rating ...), whatever its channel (API, SDK, upload, webhook). Append-only. The catalog's
 * uploads and the events API both write it through `interactions.repository.ts`.
 *
 * `dedupe_key` makes every write idempotent: the client's event id / message id when given, otherwise a
 * hash of (user, item, type, timestamp) (see interactions.core.ts).
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
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('interactions_dedupe_key').on(t.tenantId, t.dedupeKey),
    index('interactions_user_time_idx').on(t.tenantId, t.userId, t.occurredAt),
    index('interactions_item_idx').on(t.tenantId, t.itemId),
    index('interactions_time_idx').on(t.tenantId, t.occurredAt),
    index('interactions_profile_idx').on(t.tenantId, t.profileId, t.occurredAt),
    index('interactions_recommendation_idx').on(t.tenantId, t.recommendationId),
  ],
);
