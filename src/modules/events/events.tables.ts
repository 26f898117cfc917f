import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** A 64-bit transaction id (`pg_current_xact_id()`), returned as a decimal string. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * Seed 000's tracking data (sessions, page views, funnel stages, cart events) and the webhook connectors'
 * connections and delivery log. Tenant-owned: tenant_id first in every key. Tracking tables are append-mostly;
 * the client's own ids (session_id, page_view_id, event_id) are text and make every write idempotent.
 */
export const trackingSessions = pgTable(
  'tracking_sessions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** The client's session id (or one generated at start). */
    sessionId: text('session_id').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    deviceType: text('device_type'), // mobile | tablet | desktop | bot | other
    browser: text('browser'),
    os: text('os'),
    userAgent: text('user_agent'),
    locale: text('locale'),
    /** The visitor's country, ISO 3166-1 alpha-2 (from the client, or a trusted proxy header when configured). */
    country: text('country'),
    utmSource: text('utm_source'),
    utmMedium: text('utm_medium'),
    utmCampaign: text('utm_campaign'),
    utmTerm: text('utm_term'),
    utmContent: text('utm_content'),
    referrer: text('referrer'),
    landingUrl: text('landing_url'),
    exitPageUrl: text('exit_page_url'),
    pagesViewed: integer('pages_viewed').notNull().default(0),
    cartAdds: integer('cart_adds').notNull().default(0),
    purchases: integer('purchases').notNull().default(0),
    revenueMinor: bigint('revenue_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    currency: text('currency'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    durationSeconds: integer('duration_seconds'),
    bounce: boolean('bounce'),
    metadata: jsonb('metadata'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * The transaction that last wrote the session's report attributes (insert, or a late session/start filling them):
     * analytics' funnel pre-aggregates keep each session's attributes as of their watermark and redo the sessions
     * written since. Counter updates (pages, carts) do not touch it.
     */
    attrsXid: xid8('attrs_xid').default(sql`pg_current_xact_id()`),
    /**
     * The transaction that last wrote anything analytics' report rollups count of the session row (insert, start,
     * end, an erasure's rename): the rollups redo the hours of the sessions written since their watermark. Page and
     * cart counters are not stamped here: their page_views / cart_events rows carry their own xid.
     */
    reportXid: xid8('report_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('tracking_sessions_session_key').on(t.tenantId, t.sessionId),
    index('tracking_sessions_attrs_xid_idx').on(t.tenantId, t.attrsXid),
    index('tracking_sessions_report_xid_idx').on(t.tenantId, t.reportXid),
    index('tracking_sessions_started_idx').on(t.tenantId, t.startedAt),
    index('tracking_sessions_user_idx').on(t.tenantId, t.userId),
  ],
);

export const pageViews = pgTable(
  'page_views',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** The client's page view id (or one generated): page-view/end names it. */
    pageViewId: text('page_view_id').notNull(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id'),
    pageUrl: text('page_url').notNull(),
    pagePath: text('page_path'),
    pageType: text('page_type'),
    pageTitle: text('page_title'),
    productId: text('product_id'),
    referrer: text('referrer'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    timeOnPageSeconds: integer('time_on_page_seconds'),
    scrollDepthPercent: smallint('scroll_depth_percent'),
    /** The transaction that last wrote the row (insert, end, an erasure's rename): analytics' report rollups redo its hours. */
    writeXid: xid8('write_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('page_views_page_view_key').on(t.tenantId, t.pageViewId),
    index('page_views_session_idx').on(t.tenantId, t.sessionId, t.startedAt),
    index('page_views_started_idx').on(t.tenantId, t.startedAt),
    index('page_views_write_xid_idx').on(t.tenantId, t.writeXid),
  ],
);

export const funnelEvents = pgTable(
  'funnel_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id'),
    stage: text('stage').notNull(),
    productId: text('product_id'),
    metadata: jsonb('metadata'),
    reachedAt: timestamp('reached_at', { withTimezone: true }).notNull(),
    /**
     * The writing transaction (insert, or the erasure's session rename): analytics' funnel rollups recompute the
     * sessions with rows written since their watermark (`funnel-rollup-source.repository.ts`).
     */
    ingestXid: xid8('ingest_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('funnel_events_dedupe_key').on(t.tenantId, t.dedupeKey),
    index('funnel_events_stage_idx').on(t.tenantId, t.stage, t.reachedAt),
    index('funnel_events_session_idx').on(t.tenantId, t.sessionId),
    index('funnel_events_ingest_idx').on(t.tenantId, t.ingestXid),
    // Any stage in a time range (analytics' /realtime: the last 5 minutes); the stage index needs the stage first.
    index('funnel_events_time_idx').on(t.tenantId, t.reachedAt),
  ],
);

export const cartEvents = pgTable(
  'cart_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id'),
    eventType: text('event_type').notNull(), // item_added | item_removed | quantity_changed | converted | abandoned | custom
    productId: text('product_id'),
    cartItemId: text('cart_item_id'),
    quantity: integer('quantity'),
    valueMinor: bigint('value_minor', { mode: 'bigint' }),
    currency: text('currency'),
    /** The interaction this cart event also became (add_to_cart / remove_from_cart / purchase), if any. */
    interactionId: uuid('interaction_id'),
    metadata: jsonb('metadata'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    /** The writing transaction (insert, an erasure's rename): analytics' report rollups redo its session's hours. */
    ingestXid: xid8('ingest_xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('cart_events_dedupe_key').on(t.tenantId, t.dedupeKey),
    index('cart_events_session_idx').on(t.tenantId, t.sessionId),
    index('cart_events_type_idx').on(t.tenantId, t.eventType, t.occurredAt),
    // Any type in a time range (analytics' /realtime: the last 5 minutes); the type index needs the type first.
    index('cart_events_time_idx').on(t.tenantId, t.occurredAt),
    index('cart_events_ingest_idx').on(t.tenantId, t.ingestXid),
  ],
);

/** A webhook connection: one vendor account (a Shopify shop, a Stripe account ...) sending to one tenant. */
export const integrationConnections = pgTable(
  'integration_connections',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    type: text('type').notNull(), // shopify | woocommerce | stripe | twilio
    name: text('name').notNull(),
    status: text('status').notNull().default('active'),
    settings: jsonb('settings').notNull().default({}),
    /** Normalized shop domain (Shopify) for the seed-002 path that finds the connection by X-Shopify-Shop-Domain. */
    shopDomain: text('shop_domain'),
    /** The vendor's signing secret, sealed (AES-256-GCM, `enc:v1:<key id>:...`): HMACs need it in clear, so it is encrypted, not hashed. */
    signingSecret: text('signing_secret').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    lastDeliveryAt: timestamp('last_delivery_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('integration_connections_id_idx').on(t.id),
    index('integration_connections_shop_idx').on(t.shopDomain),
  ],
);

/**
 * Every webhook delivery with its outcome. `dedupe_key` (the vendor's delivery id) is set only on accepted
 * deliveries, so a forged request carrying a real delivery id can never block the genuine one.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    connectionId: uuid('connection_id').notNull(),
    deliveryId: text('delivery_id'),
    dedupeKey: text('dedupe_key'),
    topic: text('topic'),
    status: text('status').notNull(), // processed | duplicate | ignored | rejected | failed | deferred
    reason: text('reason'),
    httpStatus: smallint('http_status').notNull(),
    eventsWritten: integer('events_written').notNull().default(0),
    bodySha256: text('body_sha256'),
    bodyBytes: integer('body_bytes'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('webhook_deliveries_dedupe_key').on(t.tenantId, t.connectionId, t.dedupeKey),
    index('webhook_deliveries_connection_idx').on(t.tenantId, t.connectionId, t.receivedAt),
  ],
);

/**
 * Who a vendor shop domain belongs to, once proven: the first tenant whose connection verified a delivery for it
 * (seed 002's shared Shopify path finds connections by X-Shopify-Shop-Domain). Later registrations of the domain by
 * other tenants are refused, and deliveries are verified only against the claimant's connections. A global table
 * (one owner per domain across tenants), like `tenants`: small and keyed by the domain.
 */
export const shopDomainClaims = pgTable(
  'shop_domain_claims',
  {
    vendor: text('vendor').notNull(), // shopify
    shopDomain: text('shop_domain').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    connectionId: uuid('connection_id').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.vendor, t.shopDomain] })],
);

/**
 * The backfill of one Shopify connection through the Admin API (past products, customers, orders): one row per
 * connection, rewritten by each new run. `resources` holds, per resource, the cursor of the next page, the rows
 * done, rejected and expected, and whether it is complete, so a killed run resumes where it stopped. The Admin API
 * access token is sealed like the signing secret (AES-256-GCM, `enc:v1:...`).
 */
export const shopifyBackfills = pgTable(
  'shopify_backfills',
  {
    tenantId: uuid('tenant_id').notNull(),
    connectionId: uuid('connection_id').notNull(),
    runId: uuid('run_id').notNull(),
    jobId: uuid('job_id'),
    status: text('status').notNull(), // queued | running | succeeded | failed | cancelled
    accessToken: text('access_token').notNull(),
    resources: jsonb('resources').notNull().default({}),
    lastError: text('last_error'),
    lastErrorCode: text('last_error_code'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.connectionId] })],
);
