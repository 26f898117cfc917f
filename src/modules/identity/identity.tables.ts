import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Unified profiles (Customer 360). A merged-away profile keeps its row (status `merged`, `merged_into` = the
 * profile it was merged into, not path-compressed so an unmerge can split the chain); an erased one keeps
 * only anonymous aggregates (status `erased`).
 */
export const profiles = pgTable(
  'profiles',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    status: text('status').notNull().default('active'), // active | merged | erased
    mergedInto: uuid('merged_into'),
    traits: jsonb('traits').notNull().default({}),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    totalOrders: integer('total_orders').notNull().default(0),
    revenueMinor: bigint('revenue_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    refundedMinor: bigint('refunded_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    currency: text('currency'),
    eventCount: integer('event_count').notNull().default(0),
    channels: text('channels').array().notNull().default(sql`'{}'::text[]`),
    profileStrength: integer('profile_strength').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('profiles_merged_into_idx').on(t.tenantId, t.mergedInto),
    index('profiles_strength_idx').on(t.tenantId, t.profileStrength),
    // Changed profiles in (updated_at, id) order: the warehouse export's batches, and the change marker
    // caches in other processes read (the profiles changed since their last look).
    index('profiles_updated_idx').on(t.tenantId, t.updatedAt, t.id),
  ],
);

/**
 * One row per (type, normalized value): the unique index is what makes concurrent resolution unable to
 * create two profiles for one identifier. `match_key` is the blocking key (canonical mailbox, E.164 shared
 * by phone and WhatsApp); `origin_profile_id` is the profile the identifier first joined (unmerge uses it).
 */
export const profileIdentifiers = pgTable(
  'profile_identifiers',
  {
    tenantId: uuid('tenant_id').notNull(),
    type: text('type').notNull(),
    value: text('value').notNull(),
    matchKey: text('match_key').notNull(),
    profileId: uuid('profile_id').notNull(),
    originProfileId: uuid('origin_profile_id').notNull(),
    confidence: real('confidence').notNull(),
    channel: text('channel'),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.type, t.value] }),
    index('profile_identifiers_match_idx').on(t.tenantId, t.matchKey),
    index('profile_identifiers_profile_idx').on(t.tenantId, t.profileId),
  ],
);

/** Orders per profile, so total_orders counts distinct order ids and revenue is net of refunds. */
export const profileOrders = pgTable(
  'profile_orders',
  {
    tenantId: uuid('tenant_id').notNull(),
    orderId: text('order_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    revenueMinor: bigint('revenue_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    refundedMinor: bigint('refunded_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    currency: text('currency'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.orderId] }), index('profile_orders_profile_idx').on(t.tenantId, t.profileId)],
);

/**
 * Append-only merge log (seed 002's merge_history): merges and unmerges, never updated. The identifier that
 * linked the profiles is kept as its type and a SHA-256 of the value (no PII in the log).
 */
export const profileMerges = pgTable(
  'profile_merges',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    kind: text('kind').notNull(), // merge | unmerge
    survivorId: uuid('survivor_id').notNull(),
    mergedId: uuid('merged_id').notNull(),
    rule: text('rule').notNull(), // auto:shared_identifier | manual:review_approved | manual:unmerge
    identifierType: text('identifier_type'),
    identifierHash: text('identifier_hash'),
    eventRef: text('event_ref'),
    actor: text('actor').notNull(),
    revertsMergeId: uuid('reverts_merge_id'),
    movedEventIds: uuid('moved_event_ids').array().notNull().default(sql`'{}'::uuid[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('profile_merges_survivor_idx').on(t.tenantId, t.survivorId),
    index('profile_merges_merged_idx').on(t.tenantId, t.mergedId),
  ],
);

/** Cases the rules refused to merge automatically (more than N profiles, two user ids, limits). */
export const profileReviewQueue = pgTable(
  'profile_review_queue',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    caseKey: text('case_key').notNull(),
    status: text('status').notNull().default('pending'), // pending | approved | rejected
    reason: text('reason').notNull(),
    profileIds: uuid('profile_ids').array().notNull(),
    eventRef: text('event_ref'),
    occurrences: integer('occurrences').notNull().default(1),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('profile_review_case_key').on(t.tenantId, t.caseKey),
    index('profile_review_status_idx').on(t.tenantId, t.status),
  ],
);

/** Per-tenant identity settings (default phone region, block list, limits, custom types). */
export const identitySettings = pgTable('identity_settings', {
  tenantId: uuid('tenant_id').primaryKey(),
  settings: jsonb('settings').notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
