import { z } from 'zod';
import { countryCode } from '../../platform/schemas.ts';

/**
 * Seed 000's reports (`GET /api/v1/analytics/*`). Every report takes `from`, `to` (ISO 8601 dates or times;
 * default the last 30 days), `tz` (IANA; default the tenant's `settings.timezone`, else UTC) and equality filters
 * on the session's device, browser, OS and UTM source/medium/campaign. Series are cut in local buckets of `tz`.
 */
const filterValue = z.string().trim().min(1).max(200);
const bound = z.string().trim().min(1).max(40);
const granularity = z.enum(['hour', 'day', 'week', 'month']);
const sessionDimension = z.enum(['device', 'browser', 'os', 'country', 'utm_source', 'utm_medium', 'utm_campaign']);

const common = {
  from: bound.optional(),
  to: bound.optional(),
  tz: z.string().trim().min(1).max(64).optional(),
  device: filterValue.optional(),
  browser: filterValue.optional(),
  os: filterValue.optional(),
  utm_source: filterValue.optional(),
  utm_medium: filterValue.optional(),
  utm_campaign: filterValue.optional(),
  /** ISO 3166-1 alpha-2 (any case); an unassigned code is a 400. */
  country: countryCode.optional(),
};
/** Breakdowns keep the `top` largest values; the rest are summed into one `other` row. */
const top = z.coerce.number().int().min(1).max(100).default(10);

export const sessionsQuery = z
  .object({
    ...common,
    granularity: granularity.default('day'),
    breakdown: sessionDimension.optional(),
    top,
    limit: z.coerce.number().int().min(0).max(500).default(50),
    cursor: z.string().max(300).optional(),
  })
  .strict();
export const pageViewsQuery = z
  .object({
    ...common,
    granularity: granularity.default('day'),
    page_type: filterValue.optional(),
    breakdown: z.enum([...sessionDimension.options, 'page_type']).optional(),
    top,
  })
  .strict();
export const topPagesQuery = z
  .object({ ...common, page_type: filterValue.optional(), limit: z.coerce.number().int().min(1).max(200).default(20) })
  .strict();

export const DEFAULT_FUNNEL_STEPS = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'] as const;
export const MAX_FUNNEL_STEPS = 30;
/** A funnel stage, `cart:<cart event type>` or `page:<page type>`. */
export const FUNNEL_STEP_RE = /^(?:cart:|page:)?[A-Za-z0-9_.-]{1,100}$/;
export const funnelQuery = z
  .object({
    ...common,
    /** Comma-separated steps (1 to 30), each a funnel stage, `cart:<event type>` or `page:<page type>`. */
    steps: z.string().max(4000).optional(),
    by: z.enum(['session', 'user']).default('session'),
    /** Conversion window: later steps within this many seconds of step 1 (each step-1 occurrence is an attempt; the deepest counts). */
    window_seconds: z.coerce.number().int().min(1).max(31_622_400).optional(),
    /**
     * `ordered`: each step after the previous one, other events allowed between; `strict`: each step the very next
     * event of the kinds the funnel tracks; `any`: the steps in any order (step N = did N of them).
     */
    order: z.enum(['ordered', 'strict', 'any']).default('ordered'),
    /** Comma-separated events (up to 10): an attempt with one of them between its first and deepest step does not count. */
    exclude: z.string().max(2000).optional(),
    /** Split by the session attribute of each entity's counted attempt: at its first step, or at the deepest step it reached. */
    breakdown: sessionDimension.optional(),
    attribution: z.enum(['first_touch', 'last_touch']).default('first_touch'),
    top,
  })
  .strict();
export const MAX_FUNNEL_EXCLUSIONS = 10;
export const cartQuery = z
  .object({ ...common, granularity: granularity.default('day'), breakdown: sessionDimension.optional(), top })
  .strict();
export const cartProductsQuery = z.object({ ...common, limit: z.coerce.number().int().min(1).max(200).default(20) }).strict();
export const realtimeQuery = z.object({}).strict();
export const sessionParams = z.object({ sessionId: z.string().min(1).max(200) });

const range = z.object({ from: z.string(), to: z.string(), tz: z.string() });
const money = z.object({ currency: z.string(), amount: z.number(), amount_minor: z.string(), count: z.number() });

const sessionStats = z.object({
  sessions: z.number(),
  users: z.number(),
  bounces: z.number(),
  bounce_rate: z.number(),
  avg_duration_seconds: z.number().nullable(),
  pages_per_session: z.number(),
  cart_adds: z.number(),
  purchases: z.number(),
  converted_sessions: z.number(),
  conversion_rate: z.number(),
});
export const sessionRecord = z.object({
  session_id: z.string(),
  user_id: z.string().nullable(),
  anonymous_id: z.string().nullable(),
  device_type: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  utm_source: z.string().nullable(),
  utm_medium: z.string().nullable(),
  utm_campaign: z.string().nullable(),
  country: z.string().nullable(),
  referrer: z.string().nullable(),
  landing_url: z.string().nullable(),
  exit_page_url: z.string().nullable(),
  pages_viewed: z.number(),
  cart_adds: z.number(),
  purchases: z.number(),
  revenue: money.omit({ count: true }).nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
});
/**
 * Where the measures came from: `rollup` (UTC-hour rollups, the window's partial first and last hours from the raw
 * rows) or `raw` (every row of the window), with the reason when raw (a zone not a whole number of hours from UTC).
 * Both give the same answer; the session list and revenue are always read raw.
 */
const source = {
  source: z.enum(['rollup', 'raw']).describe('rollup: UTC-hour rollups plus the raw partial hours; raw: every row of the window'),
  source_reason: z.string().nullable(),
};
export const sessionsResponse = z.object({
  range: range.extend({ granularity }),
  summary: sessionStats.extend({ revenue: z.array(money) }),
  series: z.array(sessionStats.extend({ bucket: z.string() })),
  breakdown: z.array(sessionStats.extend({ value: z.string() })).nullable(),
  data: z.array(sessionRecord),
  next_cursor: z.string().nullable(),
  ...source,
});

const pageStats = z.object({
  views: z.number(),
  sessions: z.number(),
  views_per_session: z.number(),
  avg_time_on_page_seconds: z.number().nullable(),
  avg_scroll_depth_percent: z.number().nullable(),
});
export const pageViewsResponse = z.object({
  range: range.extend({ granularity }),
  summary: pageStats,
  series: z.array(pageStats.extend({ bucket: z.string() })),
  breakdown: z.array(pageStats.extend({ value: z.string() })).nullable(),
  ...source,
});
export const topPagesResponse = z.object({ range, data: z.array(pageStats.extend({ page: z.string() })), ...source });

const funnelStep = z.object({
  name: z.string(),
  count: z.number(),
  conversion_rate: z.number(),
  step_conversion_rate: z.number(),
  dropoff: z.number(),
  median_seconds_to_convert: z
    .number()
    .nullable()
    .describe(
      'median seconds from the previous step; ordered per-session funnels of stages take it from merged log-bucket histograms, within 0.991 % + 0.5 ms of the exact median',
    ),
});
export const funnelResponse = z.object({
  range,
  by: z.enum(['session', 'user']),
  window_seconds: z.number().nullable(),
  order: z.enum(['ordered', 'strict', 'any']),
  exclude: z.array(z.string()),
  attribution: z.enum(['first_touch', 'last_touch']),
  steps: z.array(funnelStep),
  overall_conversion_rate: z.number(),
  /** Per breakdown value (largest first, `other` last): the same steps. Null without `breakdown`. */
  breakdown: z.array(z.object({ value: z.string(), steps: z.array(funnelStep), overall_conversion_rate: z.number() })).nullable(),
});

const cartStats = z.object({
  carts: z.number(),
  converted_carts: z.number(),
  abandoned_carts: z.number(),
  abandonment_rate: z.number(),
  conversions: z.number(),
  items_added: z.number(),
  items_removed: z.number(),
});
export const cartResponse = z.object({
  range: range.extend({ granularity }),
  summary: cartStats.extend({ revenue: z.array(money) }),
  series: z.array(cartStats.extend({ bucket: z.string() })),
  breakdown: z.array(cartStats.extend({ value: z.string() })).nullable(),
  ...source,
});
export const cartProductsResponse = z.object({
  range,
  data: z.array(
    z.object({
      product_id: z.string(),
      adds: z.number(),
      removes: z.number(),
      quantity_added: z.number(),
      adds_converted: z.number(),
      adds_abandoned: z.number(),
      cart_conversion_rate: z.number(),
    }),
  ),
});

export const realtimeResponse = z.object({
  as_of: z.string(),
  window_seconds: z.number(),
  active_sessions: z.number(),
  active_users: z.number(),
  events: z.number(),
  page_views: z.number(),
  funnel_events: z.number(),
  cart_events: z.number(),
  sessions_started: z.number(),
  top_pages: z.array(z.object({ page: z.string(), views: z.number() })),
});

export const sessionTimelineResponse = z.object({
  session: sessionRecord,
  timeline: z.array(
    z.object({
      kind: z.enum(['page_view', 'funnel', 'cart']),
      at: z.string(),
      name: z.string().nullable(),
      page_url: z.string().nullable(),
      product_id: z.string().nullable(),
      time_on_page_seconds: z.number().nullable(),
      scroll_depth_percent: z.number().nullable(),
      quantity: z.number().nullable(),
      value: money.omit({ count: true }).nullable(),
    }),
  ),
  timeline_truncated: z.boolean(),
});

export type SessionsQuery = z.infer<typeof sessionsQuery>;
export type PageViewsQuery = z.infer<typeof pageViewsQuery>;
export type TopPagesQuery = z.infer<typeof topPagesQuery>;
export type FunnelQuery = z.infer<typeof funnelQuery>;
export type CartQuery = z.infer<typeof cartQuery>;
export type CartProductsQuery = z.infer<typeof cartProductsQuery>;
export type SessionsResponse = z.infer<typeof sessionsResponse>;
export type PageViewsResponse = z.infer<typeof pageViewsResponse>;
export type TopPagesResponse = z.infer<typeof topPagesResponse>;
export type FunnelResponse = z.infer<typeof funnelResponse>;
export type CartResponse = z.infer<typeof cartResponse>;
export type CartProductsResponse = z.infer<typeof cartProductsResponse>;
export type RealtimeResponse = z.infer<typeof realtimeResponse>;
export type SessionTimelineResponse = z.infer<typeof sessionTimelineResponse>;

export const kpisQuery = z.object({ ...common, granularity: granularity.default('day') }).strict();
const kpiSet = z.object({
  /** Net revenue (refunds deducted) in `currency`, the currency of most orders. */
  revenue: z.number(),
  revenue_minor: z.string(),
  refunds_minor: z.string(),
  orders: z.number(),
  /** Net revenue per order in `currency`. */
  average_order_value: z.number(),
  sessions: z.number(),
  /** Orders per session. */
  conversion_rate: z.number(),
  customers: z.number(),
  new_customers: z.number(),
  returning_customers: z.number(),
  /** Customers with two or more orders in the period, of all customers. */
  repeat_rate: z.number(),
});
const change = z.number().nullable();
export const kpisResponse = z.object({
  range: range.extend({ granularity }),
  previous_range: range,
  currency: z.string().nullable(),
  current: kpiSet,
  previous: kpiSet,
  /** Relative change from the previous period (0.25 = +25 %); null when the previous value is 0. */
  change: z.object({
    revenue: change,
    orders: change,
    average_order_value: change,
    sessions: change,
    conversion_rate: change,
    new_customers: change,
    returning_customers: change,
    repeat_rate: change,
  }),
  revenue_by_currency: z.array(money),
  series: z.array(
    z.object({
      bucket: z.string(),
      revenue: z.number(),
      orders: z.number(),
      sessions: z.number(),
      conversion_rate: z.number(),
      new_customers: z.number(),
      returning_customers: z.number(),
    }),
  ),
});
export type KpisQuery = z.infer<typeof kpisQuery>;
export type KpisResponse = z.infer<typeof kpisResponse>;

/** One item's sales (GET /api/v1/analytics/items/:itemId/sales): the window and zone as every report, a series. */
export const itemSalesQuery = z
  .object({ from: bound.optional(), to: bound.optional(), tz: common.tz, granularity: granularity.default('day') })
  .strict();
export const itemSalesParams = z.object({ itemId: z.string().min(1).max(255) });
const itemSalesSet = z.object({
  /** Units sold (purchase quantities; a purchase without a quantity counts 1). */
  units: z.number(),
  /** Gross sales in `currency` (unit price x quantity); refunds apart. */
  revenue: z.number(),
  revenue_minor: z.string(),
  refunds_minor: z.string(),
  /** Distinct orders with the item (a purchase without an order id counts as its own order). */
  orders: z.number(),
  /** Distinct buyers (profile, else user id, else anonymous id). */
  buyers: z.number(),
  views: z.number(),
  /** Distinct people who viewed the item. */
  viewers: z.number(),
  /** Of the viewers, the share who also bought it in the period (0 without viewers). */
  view_to_purchase_rate: z.number(),
});
export const itemSalesResponse = z.object({
  item_id: z.string(),
  range: range.extend({ granularity }),
  /** The currency of most of the item's orders; revenue figures are in it (others in `revenue_by_currency`). */
  currency: z.string().nullable(),
  summary: itemSalesSet,
  revenue_by_currency: z.array(money),
  series: z.array(z.object({ bucket: z.string(), units: z.number(), revenue: z.number(), orders: z.number(), views: z.number() })),
});
export type ItemSalesQuery = z.infer<typeof itemSalesQuery>;
export type ItemSalesResponse = z.infer<typeof itemSalesResponse>;
