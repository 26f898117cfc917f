import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { unsafeTextReason } from '../../platform/text.ts';
import { ALERT_KINDS } from './alerts.core.ts';

const NETWORKS = ['feed', 'rakuten', 'cj', 'manual'] as const;

export const storeCreateBody = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200),
    network: z.enum(NETWORKS).default('feed'),
    network_merchant_id: z.string().trim().min(1).max(100).nullable().default(null),
    terms: z.record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean()])).default({}),
  })
  .strict();

export const storeSchema = z.object({
  id: z.string(),
  name: z.string(),
  network: z.string(),
  network_merchant_id: z.string().nullable(),
  terms: z.record(z.string(), z.unknown()),
  offer_count: z.number(),
  last_run: z.object({ id: z.string(), status: z.string(), started_at: z.string() }).nullable(),
  created_at: z.string(),
});
export const storeListResponse = z.object({ data: z.array(storeSchema) });

export const feedUploadResponse = z.object({ run_id: z.string(), job_id: z.string(), status_url: z.string() });

/** A run's mode: a full import (offers, identifiers, matching) or a price-only update of known offers. */
const importMode = z
  .enum(['full', 'prices'])
  .describe('full: offers, identifiers and matching; prices: only the price and availability of offers the store already has');
export const feedUploadQuery = z.object({ mode: importMode.default('full') }).strict();

export const feedRunSchema = z.object({
  id: z.string(),
  store_id: z.string(),
  format: z.string(),
  mode: z.enum(['full', 'prices']),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  rows_read: z.number(),
  rows_accepted: z.number(),
  rows_rejected: z.number(),
  offers_created: z.number(),
  prices_changed: z.number(),
  /** A price-only run's rows naming no offer of the store (logged as warnings; the next full import creates them). */
  offers_unknown: z.number(),
  errors: z.array(z.object({ row: z.number(), field: z.string(), message: z.string(), level: z.string() })),
  failure: z.string().nullable(),
  /** Attempts started (2: the first retry after an error) of `max_attempts`. */
  attempt: z.number(),
  max_attempts: z.number(),
  progress: z
    .object({
      fraction: z.number().nullable().describe('0..1 of the run done (reading pages, then writing); null before it starts'),
      pages_read: z.number().nullable(),
      rows_read: z.number().nullable(),
      total: z.number().nullable().describe('what the network says there is: pages (Rakuten) or products (CJ)'),
    })
    .nullable(),
  log: z
    .array(z.object({ at: z.string(), level: z.enum(['info', 'warning', 'error']), message: z.string() }))
    .describe('What happened, in order: started, pages and rows read, rejected rows with their reason, retries, finished or failed'),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});

export const offerListQuery = z
  .object({
    q: z.string().max(200).optional(),
    store_id: z.string().max(100).optional(),
    group_id: z.string().max(100).optional(),
    ...paginationQuery,
  })
  .strict();

export const offerSchema = z.object({
  id: z.string(),
  store_id: z.string(),
  store: z.string(),
  external_id: z.string(),
  title: z.string(),
  brand: z.string().nullable(),
  gtin: z.string().nullable(),
  mpn: z.string().nullable(),
  price: z.string().describe('Exact decimal text in the currency, e.g. "99.99"'),
  price_minor: z.string().describe('Integer minor units, as text'),
  currency: z.string(),
  availability: z.string(),
  affiliate_link: z.string().nullable(),
  image_link: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  match_group_id: z.string().nullable(),
  match_method: z.string().nullable(),
  price_updated_at: z.string(),
});
export const offerListResponse = z.object({ data: z.array(offerSchema), next_cursor: z.string().nullable() });

export const groupListQuery = z.object({ q: z.string().max(200).optional(), ...paginationQuery }).strict();
export const groupSchema = z.object({
  id: z.string(),
  canonical_name: z.string(),
  brand: z.string().nullable(),
  gtin: z.string().nullable(),
  mpn: z.string().nullable(),
  catalog_item_id: z.string().nullable(),
  pinned: z.boolean(),
  offer_count: z.number(),
  min_price: z.string().nullable(),
  currency: z.string().nullable(),
  created_at: z.string(),
});
export const groupListResponse = z.object({ data: z.array(groupSchema), next_cursor: z.string().nullable() });

// ---- the review queue: pairs the learned matcher was unsure of ----

export const reviewListQuery = z
  .object({ status: z.enum(['pending', 'accepted', 'rejected']).default('pending'), ...paginationQuery })
  .strict();
const reviewSide = z.object({
  offer_id: z.string().nullable(),
  title: z.string().nullable(),
  store: z.string().nullable(),
  price: z.string().nullable(),
});
export const reviewSchema = z.object({
  id: z.string(),
  score: z.number().describe("The matcher's probability that the two offers are the same product, 0 to 1"),
  status: z.enum(['pending', 'accepted', 'rejected']),
  offer: reviewSide.extend({ match_group_id: z.string().nullable() }),
  candidate: reviewSide.extend({ match_group_id: z.string(), group_name: z.string() }),
  created_at: z.string(),
  decided_at: z.string().nullable(),
});
export const reviewListResponse = z.object({ data: z.array(reviewSchema), next_cursor: z.string().nullable() });
export const reviewDecisionResponse = z.object({
  review: reviewSchema,
  moved_offer_ids: z.array(z.string()),
  log_id: z.string().nullable().describe('The match-log entry of the move (revert it with POST /api/v1/pricing/match-log/:id/revert)'),
});

// ---- seed 000: GET /api/v1/products/:id and /price-history ----

const productOffer = z.object({
  offer_id: z.string(),
  store: z.string(),
  store_id: z.string().nullable(),
  price: z.string().describe('Display text, e.g. "$45.00"'),
  price_amount: z.string().describe('Exact decimal text, e.g. "45.00"'),
  price_minor: z.string(),
  currency: z.string(),
  availability: z.string(),
  affiliate_link: z.string().nullable(),
  is_best_price: z.boolean(),
  price_error: z.boolean().describe('90% or more below the median of the offers: likely a feed error, never advertised as best'),
  price_updated_at: z.string().nullable(),
});

export const productResponse = z.object({
  product: z.object({
    id: z.string(),
    kind: z.enum(['match_group', 'catalog_item']),
    name: z.string(),
    brand: z.string().nullable(),
    gtin: z.string().nullable(),
    mpn: z.string().nullable(),
    image_link: z.string().nullable(),
    match_group_id: z.string().nullable(),
    catalog_item_id: z.string().nullable(),
  }),
  pricing: z.object({
    currency: z.string().nullable(),
    best_offer: productOffer
      .extend({
        savings: z
          .string()
          .describe('Omnibus savings: the lowest price of the 30 days before the current price, minus the price; "$0.00" when none'),
        savings_minor: z.string(),
        was_price: z.string().nullable().describe('The lowest price of the previous 30 days (EU Omnibus), or null'),
      })
      .nullable(),
    other_offers: z.array(productOffer),
    price_range: z.object({ min: z.string(), max: z.string(), min_minor: z.string(), max_minor: z.string() }).nullable(),
    offers_in_other_currencies: z.array(productOffer),
    offer_count: z.number(),
    stale: z
      .boolean()
      .describe(
        "Some store offer's price is older than the tenant's freshness setting: a refresh from its network is queued in the background (the page never waits for it)",
      ),
    refreshed_at: z
      .string()
      .nullable()
      .describe(
        "When the oldest store offer's price was last confirmed (its change or its store's last successful run); null without store offers",
      ),
  }),
});
export type ProductResponse = z.infer<typeof productResponse>;
export type ProductOffer = z.infer<typeof productOffer>;

export const priceHistoryQuery = z
  .object({
    days: z.coerce.number().int().min(1).max(3650).default(90),
    points: z.coerce.number().int().min(2).max(1000).default(120),
  })
  .strict();

const seriesPoint = z.object({ t: z.string(), price: z.number().nullable() });
export const priceHistoryResponse = z.object({
  product_id: z.string(),
  currency: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  interval_seconds: z.number(),
  series: z.array(z.object({ offer_id: z.string(), store_id: z.string(), store: z.string(), points: z.array(seriesPoint) })),
  best_price: z.array(seriesPoint),
});
export type PriceHistoryResponse = z.infer<typeof priceHistoryResponse>;

// ---- price alerts ----

const userId = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(255)
  .refine((v) => unsafeTextReason(v) === null, 'must not contain NUL bytes or lone surrogates');
const alertKind = z
  .enum(ALERT_KINDS)
  .describe(
    'target_price: at or below target_price; any_drop: each new low; percent_drop: drop_percent or more below the price when created or last fired; lowest_in_days: below every price of the last `days` days; back_in_stock: in stock again after none was. Each fires once per change.',
  );
export const alertCreateBody = z
  .object({
    user_id: userId.describe("The shopper's user id (the tenant's own)"),
    product_id: z.string().min(1).max(255).describe('The match group id of the product to watch'),
    kind: alertKind,
    target_price: z.string().max(40).optional().describe('target_price: fire when the best price is at or below this amount, e.g. "49.99"'),
    drop_percent: z.number().int().min(1).max(99).optional().describe('percent_drop: the drop that fires, whole percent 1..99'),
    days: z.number().int().min(1).max(365).optional().describe('lowest_in_days: the window N, days 1..365'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
      .optional()
      .describe("Default: the currency of the product's cheapest offer in stock"),
  })
  .strict();
export const alertSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  product_id: z.string(),
  product_name: z.string(),
  kind: alertKind,
  target_price: z.string().nullable(),
  drop_percent: z.number().nullable(),
  days: z.number().nullable(),
  currency: z.string(),
  lowest_seen_price: z.string().nullable().describe('any_drop: the low a price must go below to fire'),
  reference_price: z
    .string()
    .nullable()
    .describe('percent_drop: the price a drop is measured from; lowest_in_days: the best price at the last check'),
  armed: z
    .boolean()
    .describe('target_price: false after firing, until the price rises above the target; back_in_stock: true while out of stock'),
  last_fired_at: z.string().nullable(),
  created_at: z.string(),
});
export const alertListQuery = z.object({ user_id: userId.optional(), ...paginationQuery }).strict();
export const alertListResponse = z.object({ data: z.array(alertSchema), next_cursor: z.string().nullable() });
export const alertEventsQuery = z
  .object({
    user_id: userId.optional(),
    alert_id: z.string().max(255).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
export const alertEventSchema = z.object({
  id: z.string(),
  alert_id: z.string(),
  user_id: z.string(),
  product_id: z.string(),
  kind: alertKind,
  price: z.string(),
  threshold: z
    .string()
    .nullable()
    .describe("The target, the previous low, the drop's reference or the window's low the price went below; null for back_in_stock"),
  currency: z.string(),
  fired_at: z.string(),
});
export const alertEventsResponse = z.object({ data: z.array(alertEventSchema) });

// ---- affiliate network connections (Rakuten Advertising, CJ) ----
const safeText = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((v) => unsafeTextReason(v) === null, 'must not contain NUL bytes or lone surrogates');
const numericId = z.string().regex(/^\d{1,20}$/, 'must be the numeric id the network shows');
const schedule = z
  .enum(['hourly', 'daily', 'off'])
  .default('hourly')
  .describe('full imports: hourly (default), daily, or off (only when asked)');
const priceSchedule = z
  .enum(['hourly', 'off'])
  .default('off')
  .describe('price-only updates between full imports: hourly, or off (default). Seed 000: schedule daily, price_schedule hourly');
export const sourceConnectBody = z.discriminatedUnion('network', [
  z
    .object({
      network: z.literal('rakuten'),
      client_id: safeText(200),
      client_secret: safeText(500),
      sid: numericId.describe("the publisher's site id (SID): the token's scope"),
      mid: numericId.describe("the advertiser's merchant id"),
      keyword: safeText(200).nullable().default(null),
      schedule,
      price_schedule: priceSchedule,
    })
    .strict(),
  z
    .object({
      network: z.literal('cj'),
      token: safeText(2000).describe('a CJ personal access token'),
      company_id: numericId.describe("the publisher's company id (CID)"),
      partner_ids: z.array(numericId).min(1).max(100).describe("the advertisers' ids"),
      schedule,
      price_schedule: priceSchedule,
    })
    .strict(),
  z
    .object({
      network: z.literal('feed'),
      url: z
        .string()
        .min(1)
        .max(2000)
        .describe(
          "the retailer feed's http(s) URL, fetched with a conditional GET on each run; sealed at rest (only its origin and path are answered); a private, loopback or link-local host is refused",
        ),
      format: z
        .enum(['csv', 'json', 'xml'])
        .nullable()
        .default(null)
        .describe('CSV, JSON or Google XML; null: from the content type, then the content'),
      schedule,
      price_schedule: priceSchedule,
    })
    .strict(),
]);
export const sourceSchema = z.object({
  id: z.string(),
  store_id: z.string(),
  store: z.string(),
  network: z.enum(['rakuten', 'cj', 'feed']),
  /** Non-secret settings only: credentials are never answered. */
  account: z.record(z.string(), z.unknown()),
  schedule: z.enum(['hourly', 'daily', 'off']),
  next_run_at: z.string().nullable(),
  price_schedule: z.enum(['hourly', 'off']),
  next_price_run_at: z.string().nullable(),
  last_run: z.object({ id: z.string(), status: z.string(), at: z.string().nullable(), error: z.string().nullable() }).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const sourceListResponse = z.object({ data: z.array(sourceSchema) });
export const sourceRunResponse = z.object({ run_id: z.string(), job_id: z.string(), status_url: z.string() });

export const pricingSettingsSchema = z.object({
  freshness_minutes: z
    .number()
    .int()
    .describe("A store offer's price older than this is stale: opening its product queues a refresh from the store's network"),
  refreshes_per_hour: z.number().int().describe('Stale-price refreshes the tenant may queue per hour (0: none)'),
});
export const pricingSettingsBody = z
  .object({
    freshness_minutes: z.number().int().min(5).max(525_600).optional(),
    refreshes_per_hour: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();
