import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Commerce tables: carts, their lines, orders, their lines and timeline, promotions, per-tenant checkout
 * settings and the processed Stripe events. Money is integer minor units beside its currency (platform/money.ts).
 */

/** A shopper's cart: a signed-in customer (`user_id`, the store's id) or an anonymous shopper (`anonymous_id`). */
export const carts = pgTable(
  'carts',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    /** Identity's profile of the shopper, once resolved (sign-in merge). */
    profileId: uuid('profile_id'),
    email: text('email'),
    currency: text('currency').notNull(),
    /** active | completed | merged (an anonymous cart folded into the customer's on sign-in). */
    status: text('status').notNull().default('active'),
    promotionCodes: text('promotion_codes').array().notNull().default(sql`'{}'::text[]`),
    shippingOptionId: text('shipping_option_id'),
    shippingAddress: jsonb('shipping_address'),
    orderId: uuid('order_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    // One active cart per shopper: the unique index is what makes "find or create" safe under concurrency.
    uniqueIndex('carts_active_user_key').on(t.tenantId, t.userId).where(sql`status = 'active' AND user_id IS NOT NULL`),
    uniqueIndex('carts_active_anonymous_key')
      .on(t.tenantId, t.anonymousId)
      .where(sql`status = 'active' AND user_id IS NULL AND anonymous_id IS NOT NULL`),
  ],
);

/** A cart's lines: one per catalog item, with the price and availability the shopper last saw. */
export const cartItems = pgTable(
  'cart_items',
  {
    tenantId: uuid('tenant_id').notNull(),
    cartId: uuid('cart_id').notNull(),
    id: uuid('id').notNull(),
    /** The catalog's item id (the store's own). */
    itemId: text('item_id').notNull(),
    name: text('name').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceMinor: bigint('unit_price_minor', { mode: 'bigint' }).notNull(),
    available: boolean('available').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex('cart_items_cart_item_key').on(t.tenantId, t.cartId, t.itemId)],
);

/**
 * Units held for a cart that started checkout (Saleor's stock reservations): until `expires_at` no other cart can
 * buy them. Completing the cart turns its reservations into a stock decrement; expired rows count for nothing and
 * are swept when the item is next reserved.
 */
export const stockReservations = pgTable(
  'stock_reservations',
  {
    tenantId: uuid('tenant_id').notNull(),
    cartId: uuid('cart_id').notNull(),
    /** The catalog's item id (the store's own). */
    itemId: text('item_id').notNull(),
    quantity: integer('quantity').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.cartId, t.itemId] }), index('stock_reservations_item_idx').on(t.tenantId, t.itemId)],
);

/** Orders: created once per cart; totals frozen at completion (Medusa's field names, minor units). */
export const orders = pgTable(
  'orders',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    cartId: uuid('cart_id').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    profileId: uuid('profile_id'),
    email: text('email'),
    currency: text('currency').notNull(),
    /** pending | paid | fulfilled | partially_refunded | refunded | cancelled */
    status: text('status').notNull(),
    subtotalMinor: bigint('subtotal_minor', { mode: 'bigint' }).notNull(),
    discountTotalMinor: bigint('discount_total_minor', { mode: 'bigint' }).notNull(),
    taxTotalMinor: bigint('tax_total_minor', { mode: 'bigint' }).notNull(),
    shippingTotalMinor: bigint('shipping_total_minor', { mode: 'bigint' }).notNull(),
    totalMinor: bigint('total_minor', { mode: 'bigint' }).notNull(),
    paidMinor: bigint('paid_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    refundedMinor: bigint('refunded_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    paymentIntentId: text('payment_intent_id'),
    promotionIds: uuid('promotion_ids').array().notNull().default(sql`'{}'::uuid[]`),
    shippingAddress: jsonb('shipping_address'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    // A cart becomes at most one order, whoever completes it (storefront, webhook, retry).
    uniqueIndex('orders_cart_key').on(t.tenantId, t.cartId).where(sql`status <> 'cancelled'`),
    uniqueIndex('orders_payment_intent_key').on(t.tenantId, t.paymentIntentId),
    index('orders_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('orders_tenant_user_idx').on(t.tenantId, t.userId),
    // The warehouse export reads changed orders in (updated_at, id) order.
    index('orders_tenant_updated_idx').on(t.tenantId, t.updatedAt, t.id),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    tenantId: uuid('tenant_id').notNull(),
    orderId: uuid('order_id').notNull(),
    id: uuid('id').notNull(),
    itemId: text('item_id').notNull(),
    name: text('name').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceMinor: bigint('unit_price_minor', { mode: 'bigint' }).notNull(),
    subtotalMinor: bigint('subtotal_minor', { mode: 'bigint' }).notNull(),
    discountTotalMinor: bigint('discount_total_minor', { mode: 'bigint' }).notNull(),
    taxTotalMinor: bigint('tax_total_minor', { mode: 'bigint' }).notNull(),
    totalMinor: bigint('total_minor', { mode: 'bigint' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('order_items_order_idx').on(t.tenantId, t.orderId)],
);

/** An order's timeline: placed, payment, fulfilment, refunds, cancellation. */
export const orderEvents = pgTable(
  'order_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    orderId: uuid('order_id').notNull(),
    id: uuid('id').notNull(),
    type: text('type').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'bigint' }),
    detail: jsonb('detail').notNull().default({}),
    actor: text('actor'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), index('order_events_order_idx').on(t.tenantId, t.orderId, t.createdAt)],
);

/** Promotions: percentage or fixed, on items, shipping or the order, or buy X get Y; by code or automatic; with a usage budget. */
export const promotions = pgTable(
  'promotions',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** Upper-cased; null for an automatic promotion. */
    code: text('code'),
    automatic: boolean('automatic').notNull().default(false),
    type: text('type').notNull(), // percentage | fixed
    target: text('target').notNull(), // items | shipping | order
    allocation: text('allocation').notNull().default('across'), // each | across | once
    /** each: units of each line discounted (null: all); once: units in the whole cart, cheapest first (Medusa's max_quantity). */
    maxQuantity: integer('max_quantity'),
    /** Basis points for a percentage (1500 = 15%), minor units of `currency` for a fixed amount. */
    value: bigint('value', { mode: 'bigint' }).notNull(),
    currency: text('currency'),
    /** standard | buyget (Medusa's promotion types). */
    kind: text('kind').notNull().default('standard'),
    /** Target rule: the discount applies only to these catalog items (null: every item). */
    targetItemIds: text('target_item_ids').array(),
    /** Category rule: only items in these categories (or under them) are discounted (null: any category). */
    targetCategories: text('target_categories').array(),
    /** Customer segment rule: only shoppers in one of these segments (predictions' RFM segments) get it (null: everyone). */
    targetSegments: text('target_segments').array(),
    /** Buy rule of a buyget promotion: the items that qualify the cart (null: every item). */
    buyItemIds: text('buy_item_ids').array(),
    /** buyget: units of buy-rule items the cart must hold, and units of target items then discounted. */
    buyMinQuantity: integer('buy_min_quantity'),
    applyToQuantity: integer('apply_to_quantity'),
    /** buyget: how many times one cart may earn it (each time needs its own qualifying units). */
    maxApplications: integer('max_applications').notNull().default(1),
    usageLimit: integer('usage_limit'),
    usageCount: integer('usage_count').notNull().default(0),
    /** Spend budget: the most this promotion may give away in all, minor units of `currency` (null: no cap). */
    budgetMinor: bigint('budget_minor', { mode: 'bigint' }),
    budgetUsedMinor: bigint('budget_used_minor', { mode: 'bigint' }).notNull().default(sql`0`),
    startsAt: timestamp('starts_at', { withTimezone: true }),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('promotions_code_key').on(t.tenantId, t.code).where(sql`code IS NOT NULL`),
  ],
);

/** Per-tenant checkout settings: tax region, shipping options, and the sealed Stripe keys. */
export const commerceSettings = pgTable('commerce_settings', {
  tenantId: uuid('tenant_id').primaryKey(),
  taxRateBp: integer('tax_rate_bp').notNull().default(0),
  taxInclusive: boolean('tax_inclusive').notNull().default(false),
  /** [{ id, name, amount_minor }] in the tenant's currencies. */
  shippingOptions: jsonb('shipping_options').notNull().default([]),
  stripeSecretKey: text('stripe_secret_key'),
  stripeWebhookSecret: text('stripe_webhook_secret'),
  /** How long a checkout start holds the cart's units (Saleor's reservation TTL), in seconds. */
  reservationTtlSeconds: integer('reservation_ttl_seconds').notNull().default(900),
  /**
   * Bumped by every change of these settings or of the tenant's promotions: a server caches both per tenant and
   * every cart read carries this number, so a change made by another process is seen on the next read.
   */
  rulesVersion: bigint('rules_version', { mode: 'bigint' }).notNull().default(sql`0`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Stripe events already handled (webhooks arrive at least once, possibly many times at once). */
export const stripeEvents = pgTable(
  'stripe_events',
  {
    tenantId: uuid('tenant_id').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.eventId] })],
);
