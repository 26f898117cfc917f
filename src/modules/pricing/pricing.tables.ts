import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
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

/** A 64-bit transaction id (`pg_current_xact_id()`): which transaction wrote a row (platform/snapshots.ts). */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * Pricing tables (seed 000's aggregator): stores and their affiliate network, brands, offers (one store's
 * listing), match groups (one product across stores), append-on-change price history, the match log and
 * feed runs. Money is integer minor units beside its ISO 4217 currency (platform/money.ts).
 */
export const pricingStores = pgTable(
  'pricing_stores',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    /** 'feed' (CSV/JSON/XML upload), 'rakuten', 'cj' or 'manual'. */
    network: text('network').notNull().default('feed'),
    /** The network's advertiser/merchant id, when it has one. */
    networkMerchantId: text('network_merchant_id'),
    /** Commission and other affiliate terms, as the network states them. */
    terms: jsonb('terms').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('pricing_stores_tenant_name_key').on(t.tenantId, t.name)],
);

export const pricingBrands = pgTable(
  'pricing_brands',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    /** Lower-cased, punctuation-free name: the brand's identity ("Hewlett-Packard" = "hewlett packard"). */
    nameNorm: text('name_norm').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('pricing_brands_tenant_norm_key').on(t.tenantId, t.nameNorm)],
);

/** A match group: one product across stores. Its id never changes once given (merges keep the older id). */
export const pricingMatchGroups = pgTable(
  'pricing_match_groups',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    canonicalName: text('canonical_name').notNull(),
    brandId: uuid('brand_id'),
    /** GTIN-14 (normalized) shared by the group's offers, when known. */
    gtin: text('gtin'),
    mpn: text('mpn'),
    /** The catalog item (its item_id) this group is, for a tenant that also sells the product itself. */
    catalogItemId: text('catalog_item_id'),
    /** Pinned by an operator: the automatic matcher neither merges nor splits it. */
    pinned: boolean('pinned').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('pricing_match_groups_tenant_gtin_idx').on(t.tenantId, t.gtin),
    index('pricing_match_groups_tenant_catalog_item_idx').on(t.tenantId, t.catalogItemId),
  ],
);

export const pricingOffers = pgTable(
  'pricing_offers',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    storeId: uuid('store_id').notNull(),
    /** The store's own id of the listing (SKU, product id in the feed). */
    externalId: text('external_id').notNull(),
    title: text('title').notNull(),
    brandId: uuid('brand_id'),
    /** Normalized GTIN-14 (check digit verified), null when absent or invalid. */
    gtin: text('gtin'),
    mpn: text('mpn'),
    /** Lower-cased MPN without separators: brand + mpn matching. */
    mpnNorm: text('mpn_norm'),
    priceMinor: bigint('price_minor', { mode: 'bigint' }).notNull(),
    currency: text('currency').notNull(),
    availability: text('availability').notNull().default('in_stock'), // in_stock | out_of_stock | preorder
    affiliateUrl: text('affiliate_url'),
    imageUrl: text('image_url'),
    attributes: jsonb('attributes').notNull().default({}),
    matchGroupId: uuid('match_group_id'),
    /** How the offer joined its group: 'gtin', 'brand_mpn', 'model', 'operator', 'new'. */
    matchMethod: text('match_method'),
    priceUpdatedAt: timestamp('price_updated_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('pricing_offers_tenant_store_external_key').on(t.tenantId, t.storeId, t.externalId),
    index('pricing_offers_tenant_group_idx').on(t.tenantId, t.matchGroupId),
    index('pricing_offers_tenant_gtin_idx').on(t.tenantId, t.gtin),
    index('pricing_offers_tenant_brand_mpn_idx').on(t.tenantId, t.brandId, t.mpnNorm),
  ],
);

/** One row per observed price change of an offer (appended only when price, currency or availability change). */
export const pricingPriceHistory = pgTable(
  'pricing_price_history',
  {
    tenantId: uuid('tenant_id').notNull(),
    offerId: uuid('offer_id').notNull(),
    observedAt: timestamp('observed_at', { withTimezone: true }).notNull(),
    priceMinor: bigint('price_minor', { mode: 'bigint' }).notNull(),
    currency: text('currency').notNull(),
    availability: text('availability').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.offerId, t.observedAt] })],
);

/** Every merge, split and move of offers between groups; `reverted_at` marks an undone entry. */
export const pricingMatchLog = pgTable(
  'pricing_match_log',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** 'merge' (from_group folded into to_group), 'split' (offers moved out to to_group), 'assign'. */
    action: text('action').notNull(),
    fromGroupId: uuid('from_group_id'),
    toGroupId: uuid('to_group_id').notNull(),
    offerIds: uuid('offer_ids').array().notNull(),
    reason: text('reason').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    revertedAt: timestamp('reverted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('pricing_match_log_tenant_created_idx').on(t.tenantId, t.createdAt)],
);

/** One feed import of one store: progress, counts and the first row-level errors. */
export const pricingFeedRuns = pgTable(
  'pricing_feed_runs',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    storeId: uuid('store_id').notNull(),
    format: text('format').notNull(),
    status: text('status').notNull(), // queued | running | succeeded | failed
    /** 'full' (offers, keys, matching) or 'prices' (prices and availability of known offers only). */
    mode: text('mode').notNull().default('full'),
    rowsRead: integer('rows_read').notNull().default(0),
    rowsAccepted: integer('rows_accepted').notNull().default(0),
    rowsRejected: integer('rows_rejected').notNull().default(0),
    offersCreated: integer('offers_created').notNull().default(0),
    pricesChanged: integer('prices_changed').notNull().default(0),
    /** A price-only run's rows naming no offer of the store (left for the next full import). */
    offersUnknown: integer('offers_unknown').notNull().default(0),
    /** The first 100 row errors: [{ row, field, message }]. */
    errors: jsonb('errors').notNull().default(sql`'[]'::jsonb`),
    failure: text('failure'),
    /** The job that runs it (its progress is the run's), written when the job starts: null while queued. */
    jobId: uuid('job_id'),
    /** Attempts started so far (the job's retries after an error: 2 is the first retry). */
    attempts: integer('attempts').notNull().default(0),
    /** What an operator reads: [{ at, level, message }] in order (started, pages read, rejected rows, retries, the end). */
    log: jsonb('log').notNull().default(sql`'[]'::jsonb`),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    // Two imports of one store at once: the second is refused by this index, not by a check-then-insert race.
    uniqueIndex('pricing_feed_runs_one_running_key').on(t.tenantId, t.storeId).where(sql`status IN ('queued', 'running')`),
    index('pricing_feed_runs_tenant_started_idx').on(t.tenantId, t.startedAt),
  ],
);

/**
 * Blocking keys of offers (model-number candidates of the title and MPN): the learned matcher compares a new
 * offer only with offers sharing a key, never with all of them. Rewritten when an offer is imported.
 */
export const pricingOfferKeys = pgTable(
  'pricing_offer_keys',
  {
    tenantId: uuid('tenant_id').notNull(),
    key: text('key').notNull(),
    offerId: uuid('offer_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key, t.offerId] }), index('pricing_offer_keys_tenant_offer_idx').on(t.tenantId, t.offerId)],
);

/**
 * The review queue: an offer the learned matcher found likely, not surely, the same product as a group
 * (score in the uncertain band). An operator accepts (the offer moves into the group, logged and revertible)
 * or rejects. One row per (offer, candidate group): a re-import does not queue the pair twice.
 */
export const pricingMatchReviews = pgTable(
  'pricing_match_reviews',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    offerId: uuid('offer_id').notNull(),
    candidateGroupId: uuid('candidate_group_id').notNull(),
    /** The candidate offer of that group that scored best. */
    candidateOfferId: uuid('candidate_offer_id').notNull(),
    /** The matcher's probability that the two are the same product, 0..1. */
    score: doublePrecision('score').notNull(),
    status: text('status').notNull().default('pending'), // pending | accepted | rejected
    decidedByType: text('decided_by_type'),
    decidedById: text('decided_by_id'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('pricing_match_reviews_pair_key').on(t.tenantId, t.offerId, t.candidateGroupId),
    index('pricing_match_reviews_tenant_status_idx').on(t.tenantId, t.status, t.score),
  ],
);

/**
 * Price alerts: a shopper (the tenant's user id) watches a match group's best price in one currency. State of
 * the no-flapping rules (alerts.core.ts): `armed` for target and back-in-stock alerts, `reference_minor` for
 * any-drop, percent-drop and lowest-in-days alerts; `drop_percent` and `window_days` are their parameters.
 */
export const pricingPriceAlerts = pgTable(
  'pricing_price_alerts',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    userId: text('user_id').notNull(),
    groupId: uuid('group_id').notNull(),
    kind: text('kind').notNull(), // target_price | any_drop | percent_drop | lowest_in_days | back_in_stock
    targetMinor: bigint('target_minor', { mode: 'bigint' }),
    /** percent_drop: the drop that fires, whole percent 1..99. */
    dropPercent: integer('drop_percent'),
    /** lowest_in_days: the window N, days 1..365. */
    windowDays: integer('window_days'),
    currency: text('currency').notNull(),
    referenceMinor: bigint('reference_minor', { mode: 'bigint' }),
    armed: boolean('armed').notNull().default(true),
    lastFiredAt: timestamp('last_fired_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('pricing_price_alerts_watch_key').on(t.tenantId, t.userId, t.groupId, t.kind),
    index('pricing_price_alerts_tenant_group_idx').on(t.tenantId, t.groupId),
  ],
);

/** Every time an alert fired: its history (one row per change that fired it). */
export const pricingAlertEvents = pgTable(
  'pricing_alert_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    alertId: uuid('alert_id').notNull(),
    userId: text('user_id').notNull(),
    groupId: uuid('group_id').notNull(),
    kind: text('kind').notNull(),
    priceMinor: bigint('price_minor', { mode: 'bigint' }).notNull(),
    /** The target (target_price), the previous low (any_drop), the reference (percent_drop) or the window's low (lowest_in_days); null for back_in_stock. */
    thresholdMinor: bigint('threshold_minor', { mode: 'bigint' }),
    currency: text('currency').notNull(),
    firedAt: timestamp('fired_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('pricing_alert_events_tenant_fired_idx').on(t.tenantId, t.firedAt)],
);

/**
 * A store's affiliate network connection (Rakuten Advertising or CJ): the account settings in clear, the
 * credentials sealed (platform secret box, bound to tenant and source), and the schedule of its imports. The
 * elected scheduler claims due sources (`next_run_at`) and queues one import each; `last_*` is what the
 * dashboard shows.
 */
export const pricingNetworkSources = pgTable(
  'pricing_network_sources',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    storeId: uuid('store_id').notNull(),
    /** 'rakuten' or 'cj'. */
    network: text('network').notNull(),
    /** Non-secret account settings: Rakuten { sid, mid, keyword }, CJ { company_id, partner_ids }. */
    account: jsonb('account').notNull().default({}),
    /** Sealed JSON: Rakuten { client_id, client_secret }, CJ { token }. */
    credentials: text('credentials').notNull(),
    /** 'hourly', 'daily' or 'off' (imports only when asked). */
    schedule: text('schedule').notNull().default('hourly'),
    nextRunAt: timestamp('next_run_at', { withTimezone: true }),
    /** 'hourly' or 'off': price-only updates between full imports (prices and availability of known offers). */
    priceSchedule: text('price_schedule').notNull().default('off'),
    nextPriceRunAt: timestamp('next_price_run_at', { withTimezone: true }),
    lastRunId: uuid('last_run_id'),
    lastRunAt: timestamp('last_run_at', { withTimezone: true }),
    lastStatus: text('last_status'),
    lastError: text('last_error'),
    /** When a run of this source last succeeded: the store's prices were confirmed then (freshness on the product page). */
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    /** A feed URL source: the validators of its last good answer (conditional GET: If-None-Match, If-Modified-Since). */
    feedEtag: text('feed_etag'),
    feedLastModified: text('feed_last_modified'),
    /** When a shopper's open of a stale product last claimed a refresh of this source (one per interval). */
    lastRefreshAt: timestamp('last_refresh_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('pricing_network_sources_tenant_store_key').on(t.tenantId, t.storeId),
    index('pricing_network_sources_due_idx').on(t.nextRunAt).where(sql`schedule <> 'off'`),
    index('pricing_network_sources_price_due_idx').on(t.nextPriceRunAt).where(sql`price_schedule <> 'off'`),
  ],
);

/**
 * A tenant's pricing settings (no row: the defaults): how old a price may be before opening its product queues a
 * refresh from the network, and how many such refreshes the tenant may queue per hour (the window's counter).
 */
export const pricingSettings = pgTable('pricing_settings', {
  tenantId: uuid('tenant_id').primaryKey(),
  freshnessMinutes: integer('freshness_minutes').notNull().default(1440),
  refreshesPerHour: integer('refreshes_per_hour').notNull().default(60),
  refreshWindowStart: timestamp('refresh_window_start', { withTimezone: true }),
  refreshCount: integer('refresh_count').notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One row per match group: its best offer and Omnibus savings as the product page computes them (`summary.core.ts`),
 * maintained on write: every change of a group's offers (imports, price-only runs and stale-price refreshes, matching,
 * merges, splits, reverts, review decisions) recomputes the rows of the groups it touched in its own transaction,
 * under the groups' row locks (`summary.service.ts`). No row: not computed yet (the page computes on read meanwhile;
 * the scheduled `pricing.group-summaries` fills it). The 30-day low is anchored at the best price's start (Omnibus),
 * so it never moves with time alone: only writes change a row.
 */
export const pricingGroupSummaries = pgTable(
  'pricing_group_summaries',
  {
    tenantId: uuid('tenant_id').notNull(),
    groupId: uuid('group_id').notNull(),
    /** The product's currency (the one most offers use); null for a group without offers. */
    currency: text('currency'),
    bestOfferId: uuid('best_offer_id'),
    bestPriceMinor: bigint('best_price_minor', { mode: 'bigint' }),
    /** The next competing offer's price (savings against the next store: next − best). */
    nextPriceMinor: bigint('next_price_minor', { mode: 'bigint' }),
    /** The price range over the offers in `currency` that are not price errors. */
    minPriceMinor: bigint('min_price_minor', { mode: 'bigint' }),
    maxPriceMinor: bigint('max_price_minor', { mode: 'bigint' }),
    /** Omnibus "was": the best offer's lowest price in the 30 days before its price took effect; null: none. */
    wasMinor: bigint('was_minor', { mode: 'bigint' }),
    savingsMinor: bigint('savings_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    offerCount: integer('offer_count').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * The transaction that last wrote the row: every change a product page shows of the group stamps it (the one door
     * recomputes the row; a catalog link only stamps it). Product page caches of other processes drop the groups whose
     * rows were written by transactions their last look did not see (`products.cache.ts`). No default: adding the
     * column rewrites nothing; null (rows from before it) is never "changed".
     */
    writeXid: xid8('write_xid'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.groupId] }), index('pricing_group_summaries_write_xid_idx').on(t.tenantId, t.writeXid)],
);
