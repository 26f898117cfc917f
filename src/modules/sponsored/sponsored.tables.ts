import { sql } from 'drizzle-orm';
import {
  bigint,
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

/**
 * Sponsored content (seed 000's sponsored_campaigns, sponsored_impressions, sponsored_clicks,
 * sponsored_conversions, campaign_budget_tracking). Budgets and bids are integer minor units of the
 * campaign's currency; spend, reservations and charges are milli units (1/1000 of a minor unit) so CPM
 * impressions cost an exact integer. The budget counters live on the campaign row so one conditional UPDATE
 * reserves against them (spend never exceeds the budget under concurrency).
 */
export const sponsoredCampaigns = pgTable(
  'sponsored_campaigns',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    brandId: text('brand_id').notNull(),
    name: text('name').notNull(),
    /** Headline, image, link: shown as given. */
    creative: jsonb('creative').notNull().default({}),
    promotedItemIds: text('promoted_item_ids').array().notNull().default(sql`'{}'::text[]`),
    currency: text('currency').notNull(),
    budgetMinor: bigint('budget_minor', { mode: 'bigint' }).notNull(),
    budgetType: text('budget_type').notNull(), // daily | lifetime
    startDate: timestamp('start_date', { withTimezone: true }).notNull(),
    endDate: timestamp('end_date', { withTimezone: true }),
    status: text('status').notNull(), // pending_review | approved | rejected | active | paused | completed
    statusReason: text('status_reason'),
    priorityScore: doublePrecision('priority_score').notNull().default(0),
    pricingModel: text('pricing_model').notNull(), // cpm | cpc | cpa
    bidMinor: bigint('bid_minor', { mode: 'bigint' }).notNull(),
    targeting: jsonb('targeting').notNull().default({}),
    frequencyCaps: jsonb('frequency_caps').notNull().default([]),
    pacing: text('pacing').notNull().default('even'), // even | asap
    clickWindowSeconds: integer('click_window_seconds').notNull().default(604_800),
    viewWindowSeconds: integer('view_window_seconds').notNull().default(86_400),
    /** Lifetime spend and open reservations, milli units. */
    spentMilli: bigint('spent_milli', { mode: 'bigint' }).notNull().default(sql`0`),
    reservedMilli: bigint('reserved_milli', { mode: 'bigint' }).notNull().default(sql`0`),
    /** The UTC day the day counters belong to (reset by the reservation statement when the day turns). */
    budgetDay: text('budget_day').notNull().default(''),
    daySpentMilli: bigint('day_spent_milli', { mode: 'bigint' }).notNull().default(sql`0`),
    dayReservedMilli: bigint('day_reserved_milli', { mode: 'bigint' }).notNull().default(sql`0`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('sponsored_campaigns_status_idx').on(t.tenantId, t.status)],
);

/** A served placement: the auction's price and the budget reserved for its one chargeable event. */
export const sponsoredDecisions = pgTable(
  'sponsored_decisions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    campaignId: uuid('campaign_id').notNull(),
    userId: text('user_id').notNull(),
    placement: text('placement').notNull(),
    priceMinor: bigint('price_minor', { mode: 'bigint' }).notNull(),
    reservedMilli: bigint('reserved_milli', { mode: 'bigint' }).notNull(),
    reservedDay: text('reserved_day').notNull(),
    state: text('state').notNull(), // open | consumed | released
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('sponsored_decisions_open_idx').on(t.tenantId, t.state, t.expiresAt),
    // A shopper's decisions on a campaign in a cap's window (frequency caps): without it the count read every open
    // decision of the tenant (reservations live 30 minutes: thousands under a feed's load). Not partial on purpose:
    // see `capUsage` in sponsored.repository.ts.
    index('sponsored_decisions_shopper_idx').on(t.tenantId, t.campaignId, t.userId, t.createdAt),
  ],
);

export const sponsoredImpressions = pgTable(
  'sponsored_impressions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    eventId: text('event_id').notNull(),
    campaignId: uuid('campaign_id').notNull(),
    decisionId: uuid('decision_id'),
    userId: text('user_id').notNull(),
    placement: text('placement').notNull(),
    impressionCostMilli: bigint('impression_cost_milli', { mode: 'bigint' }).notNull(),
    viewedAt: timestamp('viewed_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sponsored_impressions_event_key').on(t.tenantId, t.eventId),
    /** One impression per served decision: a replay under a new event id is still the same impression. */
    uniqueIndex('sponsored_impressions_decision_key').on(t.tenantId, t.decisionId),
    index('sponsored_impressions_user_idx').on(t.tenantId, t.userId, t.viewedAt),
    index('sponsored_impressions_campaign_idx').on(t.tenantId, t.campaignId, t.viewedAt),
  ],
);

export const sponsoredClicks = pgTable(
  'sponsored_clicks',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    eventId: text('event_id').notNull(),
    impressionId: uuid('impression_id').notNull(),
    campaignId: uuid('campaign_id').notNull(),
    userId: text('user_id').notNull(),
    clickCostMilli: bigint('click_cost_milli', { mode: 'bigint' }).notNull(),
    /** null when valid; bot | repeat when filtered as invalid traffic (recorded, never charged). */
    invalidReason: text('invalid_reason'),
    clickedAt: timestamp('clicked_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sponsored_clicks_event_key').on(t.tenantId, t.eventId),
    index('sponsored_clicks_user_idx').on(t.tenantId, t.userId, t.clickedAt),
    index('sponsored_clicks_campaign_idx').on(t.tenantId, t.campaignId, t.clickedAt),
  ],
);

export const sponsoredConversions = pgTable(
  'sponsored_conversions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    eventId: text('event_id').notNull(),
    userId: text('user_id').notNull(),
    /** The attributed campaign and touch (null when nothing in window). */
    campaignId: uuid('campaign_id'),
    clickId: uuid('click_id'),
    impressionId: uuid('impression_id'),
    conversionType: text('conversion_type').notNull(),
    valueMinor: bigint('value_minor', { mode: 'bigint' }).notNull(),
    currency: text('currency').notNull(),
    costMilli: bigint('cost_milli', { mode: 'bigint' }).notNull(),
    convertedAt: timestamp('converted_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sponsored_conversions_event_key').on(t.tenantId, t.eventId),
    index('sponsored_conversions_campaign_idx').on(t.tenantId, t.campaignId, t.convertedAt),
  ],
);

/** The ledger: one row per charge, at most one per charged event (the unique index makes charging idempotent). */
export const sponsoredCharges = pgTable(
  'sponsored_charges',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    campaignId: uuid('campaign_id').notNull(),
    kind: text('kind').notNull(), // impression | click | conversion
    sourceId: uuid('source_id').notNull(),
    amountMilli: bigint('amount_milli', { mode: 'bigint' }).notNull(),
    currency: text('currency').notNull(),
    chargedAt: timestamp('charged_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('sponsored_charges_source_key').on(t.tenantId, t.kind, t.sourceId),
    index('sponsored_charges_campaign_idx').on(t.tenantId, t.campaignId, t.chargedAt),
  ],
);

/**
 * Placement requests per tenant and UTC hour (every decision asked for, served or not): the traffic even pacing
 * spreads a daily budget over. Counted in memory and added here every few seconds; the last 28 days are read.
 */
export const sponsoredTrafficHours = pgTable(
  'sponsored_traffic_hours',
  {
    tenantId: uuid('tenant_id').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour] })],
);
