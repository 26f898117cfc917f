import { doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Shopper preferences and style profiles (seed 000's user_brand_follows, user_favorites,
 * user_fashion_preferences, style_profiles, style_profile_events, style_profile_snapshots). `user_id` is the
 * store's own user id (text), as in interactions.
 */
export const userBrandFollows = pgTable(
  'user_brand_follows',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    brandId: text('brand_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId, t.brandId] })],
);

export const userFavorites = pgTable(
  'user_favorites',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    itemId: text('item_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId, t.itemId] })],
);

/** Stated preferences: styles, categories, sizes, price range, occasions (validated JSON). */
export const userFashionPreferences = pgTable(
  'user_fashion_preferences',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    preferences: jsonb('preferences').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

/**
 * A shopper's learned style: each layer maps an attribute value to an exponentially decayed weight (half-life
 * in the core), as of `decayed_at`. `last_event_id` is the newest interaction folded in (UUIDv7, time-ordered).
 */
export const styleProfiles = pgTable(
  'style_profiles',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    styleLayers: jsonb('style_layers').notNull(),
    priceLayers: jsonb('price_layers').notNull(),
    categoryLayers: jsonb('category_layers').notNull(),
    occasionLayers: jsonb('occasion_layers').notNull(),
    brandLayers: jsonb('brand_layers').notNull(),
    commerceIntent: jsonb('commerce_intent').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    eventsCount: integer('events_count').notNull(),
    lastEventId: text('last_event_id'),
    decayedAt: timestamp('decayed_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

/** The interactions folded into a profile, with the weight each carried (type x source). */
export const styleProfileEvents = pgTable(
  'style_profile_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    userId: text('user_id').notNull(),
    eventType: text('event_type').notNull(),
    sourceType: text('source_type').notNull(),
    sourceId: text('source_id').notNull(),
    weight: doublePrecision('weight').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('style_profile_events_user_idx').on(t.tenantId, t.userId, t.createdAt)],
);

export const styleProfileSnapshots = pgTable(
  'style_profile_snapshots',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    userId: text('user_id').notNull(),
    styleLayers: jsonb('style_layers').notNull(),
    layers: jsonb('layers').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    snapshotDate: timestamp('snapshot_date', { withTimezone: true }).notNull(),
    reason: text('reason').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('style_profile_snapshots_user_idx').on(t.tenantId, t.userId, t.snapshotDate)],
);

/**
 * What the feed served each shopper (organic items), newest time per item: the rule "items shown in the last N
 * days are not repeated" reads it. One row per (user, item), so a shopper's rows are bounded by the catalog;
 * rows older than the tenant's N days are pruned (retention.service.ts).
 */
export const newsfeedShownItems = pgTable(
  'newsfeed_shown_items',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    itemId: text('item_id').notNull(),
    shownAt: timestamp('shown_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.itemId] }),
    index('newsfeed_shown_items_user_idx').on(t.tenantId, t.userId, t.shownAt),
    // retention (retention.service.ts): a tenant's rows past its N days, oldest first
    index('newsfeed_shown_items_shown_idx').on(t.tenantId, t.shownAt),
  ],
);
