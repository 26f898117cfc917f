/**
 * Public schemas of checkout, orders, promotions and checkout settings (re-exported from src/contracts).
 * Money is integer minor units of `currency_code`.
 */
import { z } from 'zod';
import { currencyCode } from '../../platform/schemas.ts';
import { RETURN_REASONS, SHIPPING_REFUNDS } from './returns.core.ts';

const amount = z.number().int().describe('Minor units of currency_code');

export const ORDER_STATUSES = ['pending', 'paid', 'fulfilled', 'partially_refunded', 'refunded', 'cancelled'] as const;

export const completeBody = z
  .object({
    cart_id: z.uuid(),
    payment_method: z
      .string()
      .regex(/^pm_[A-Za-z0-9_]{1,200}$/, 'must be a Stripe PaymentMethod id (pm_...)')
      .describe('A Stripe PaymentMethod id; with the test server, pm_card_visa succeeds and pm_card_chargeDeclined is declined'),
  })
  .strict();

export const orderSummary = z.object({
  id: z.string(),
  cart_id: z.string(),
  status: z.enum(ORDER_STATUSES),
  user_id: z.string().nullable(),
  email: z.string().nullable(),
  currency_code: z.string(),
  subtotal: amount,
  discount_total: amount,
  tax_total: amount,
  shipping_total: amount,
  total: amount,
  paid_total: amount,
  refunded_total: amount,
  payment_intent_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type OrderSummary = z.infer<typeof orderSummary>;

export const orderDetail = orderSummary.extend({
  shipping_refunded_total: amount.describe('What returns refunded of the original shipping so far (part of refunded_total)'),
  items: z.array(
    z.object({
      id: z.string(),
      item_id: z.string(),
      title: z.string(),
      quantity: z.number().int(),
      unit_price: amount,
      subtotal: amount,
      discount_total: amount,
      tax_total: amount,
      total: amount,
    }),
  ),
  timeline: z.array(
    z.object({
      id: z.string(),
      type: z.string().describe('placed | payment_captured | payment_failed | fulfilled | refunded | returned | cancelled | disputed'),
      amount: amount.nullable(),
      detail: z.record(z.string(), z.unknown()),
      actor: z.string().nullable(),
      created_at: z.string(),
    }),
  ),
});
export type OrderDetail = z.infer<typeof orderDetail>;

export const completeResponse = z.object({ type: z.literal('order'), created: z.boolean(), order: orderSummary });

/** Sort keys of GET /orders, a whitelist (each maps to one fixed SQL ordering in the repository). */
export const ORDER_SORTS = [
  'created_at',
  '-created_at',
  'total',
  '-total',
  'status',
  '-status',
  'email',
  '-email',
  'customer',
  '-customer',
] as const;
export type OrderSort = (typeof ORDER_SORTS)[number];
/** Offset paging stops here: deeper pages scan too much; filters narrow instead. */
const ORDER_OFFSET_MAX = 10_000;

export const orderListQuery = z
  .object({
    status: z.enum(ORDER_STATUSES).optional(),
    user_id: z.string().max(200).optional(),
    q: z.string().max(200).optional().describe('Order id, customer id or e-mail contains'),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    cursor: z.uuid().optional().describe('Keyset paging, newest first only (no `sort`, no `offset`)'),
    sort: z.enum(ORDER_SORTS).optional().describe('A column, `-` first for descending; ties fall back to newest first'),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(ORDER_OFFSET_MAX)
      .optional()
      .describe(`Rows to skip for page-numbered tables (at most ${ORDER_OFFSET_MAX}; past that, narrow the filters)`),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict()
  .refine((q) => !(q.cursor && (q.sort || q.offset !== undefined)), {
    message: 'cursor pages newest first: use offset with sort',
    path: ['cursor'],
  });
export const orderListResponse = z.object({
  data: z.array(orderSummary),
  next_cursor: z.string().nullable(),
  total: z.number().int().optional().describe('Orders matching the filters (all pages); the shopper list leaves it out'),
});
export const orderParams = z.object({ id: z.uuid() }).strict();
export const shopperOrdersQuery = z
  .object({
    user_id: z.string().min(1).max(200).optional().describe("Servers (commerce:write): the customer; a page's shopper token names it"),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

export const refundBody = z
  .object({
    amount: z
      .number()
      .int('must be whole minor units')
      .min(1, 'must be positive')
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Minor units; default: all that is left'),
    reason: z.string().max(500).optional(),
  })
  .strict();

export const returnBody = z
  .object({
    items: z
      .array(
        z
          .object({
            item_id: z.string().trim().min(1).max(200),
            quantity: z.number().int('must be whole units').min(1, 'must be at least 1').max(9_999),
            reason: z.enum(RETURN_REASONS).optional().describe('Why these units came back'),
            restock: z.boolean().optional().describe("Put these units back in stock (default: the return's restock)"),
          })
          .strict(),
      )
      .min(1, 'return at least one item')
      .max(200),
    restock: z.boolean().default(true).describe('Put the returned units back in stock (default true); a line may say otherwise'),
    reason: z.string().max(500).optional().describe("A note on the whole return (each line's reason code is items[].reason)"),
    refund_shipping: z
      .enum(SHIPPING_REFUNDS)
      .default('auto')
      .describe(
        "Refund the order's original shipping with this return: auto (when a line came back damaged, defective, wrong or not as described, or the return completes the order), full (what is left of it) or none; never refunded twice",
      ),
    return_shipping: z
      .object({
        amount: z
          .number()
          .int('must be whole minor units')
          .min(0)
          .max(Number.MAX_SAFE_INTEGER)
          .describe("The return label's cost, minor units of the order's currency (JPY: yen, KWD: fils)"),
        paid_by: z
          .enum(['customer', 'merchant'])
          .optional()
          .describe(
            'Who pays it: the customer (deducted from the refund, never below 0) or the merchant; default: the merchant when at fault',
          ),
      })
      .strict()
      .optional(),
  })
  .strict();

export const settingsBody = z
  .object({
    tax_rate_bp: z.number().int().min(0).max(10_000).describe('Tax rate in basis points: 2000 is 20%'),
    tax_inclusive: z.boolean().describe('Prices include tax (EU style) or tax is added (US style)'),
    shipping_options: z
      .array(z.object({ id: z.string().min(1).max(100), name: z.string().min(1).max(200), amount, currency: currencyCode }).strict())
      .max(50),
    stripe_secret_key: z
      .string()
      .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe secret key (sk_test_... or sk_live_...)')
      .optional(),
    stripe_webhook_secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe webhook signing secret (whsec_...)')
      .optional(),
    reservation_ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .optional()
      .describe("How long a checkout start holds the cart's units (Saleor's reservation TTL), 60 to 3600 s; omit to keep (default 900)"),
  })
  .strict();
export const settingsResponse = z.object({
  tax_rate_bp: z.number().int(),
  tax_inclusive: z.boolean(),
  shipping_options: z.array(z.object({ id: z.string(), name: z.string(), amount, currency: z.string() })),
  stripe_configured: z.boolean(),
  webhook_configured: z.boolean(),
  reservation_ttl_seconds: z.number().int().describe('How long a checkout start holds units; a storefront may ask for less, never more'),
  webhook_url: z.string().describe("Where to point the Stripe account's webhook endpoint"),
});

/** A catalog item id in a promotion rule: printable, no NUL (ids are compared byte for byte). */
const itemIdField = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20), 'must not contain control characters');

export const promotionBody = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{2,50}$/, 'must be 2 to 50 letters, digits, _ or -')
      .optional(),
    automatic: z.boolean().default(false),
    type: z.enum(['percentage', 'fixed']),
    target: z.enum(['items', 'shipping', 'order']),
    allocation: z
      .enum(['each', 'across', 'once'])
      .default('across')
      .describe(
        "Medusa's allocations: each (per unit of every line, up to max_quantity units a line), across (spread over the lines), once (max_quantity units in the whole cart, the cheapest first)",
      ),
    max_quantity: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe('each: units of each line discounted (default: all); once: units in the whole cart (required)'),
    value: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .describe('Basis points for a percentage (1500 = 15%), minor units for fixed'),
    currency: currencyCode.optional().describe('Required for a fixed amount'),
    kind: z.enum(['standard', 'buyget']).default('standard').describe("Medusa's promotion types: buyget is buy X get Y"),
    target_item_ids: z
      .array(itemIdField)
      .min(1)
      .max(1000)
      .optional()
      .describe('Target rule: only these catalog items are discounted (default: every item)'),
    target_categories: z
      .array(z.string().trim().min(1).max(300))
      .min(1)
      .max(100)
      .optional()
      .describe('Category rule: only items in these categories, or under them ("Home" covers "Home > Lighting"), are discounted'),
    target_segments: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .max(100)
          .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20), 'must not contain control characters'),
      )
      .min(1)
      .max(50)
      .optional()
      .describe(
        "Customer segment rule: only shoppers in one of these segments (Predictions' RFM segments, e.g. champions, at_risk) get it; a shopper not scored yet is in none",
      ),
    buy_item_ids: z
      .array(itemIdField)
      .min(1)
      .max(1000)
      .optional()
      .describe('buyget: the items that qualify the cart (default: every item)'),
    buy_rules_min_quantity: z.number().int().min(1).max(9_999).optional().describe('buyget: units of buy items the cart must hold'),
    apply_to_quantity: z.number().int().min(1).max(9_999).optional().describe('buyget: units of target items then discounted by value'),
    max_applications: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .optional()
      .describe('buyget: how many times one cart may earn it, each with its own units (default 1)'),
    usage_limit: z.number().int().min(1).max(1_000_000_000).optional(),
    budget: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000_000)
      .optional()
      .describe(
        'Spend budget: the most it may give away in all, minor units of currency (needs currency); holds under concurrent checkouts',
      ),
    starts_at: z.iso.datetime({ offset: true }).optional(),
    ends_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((p) => p.budget === undefined || p.currency !== undefined, {
    message: 'a spend budget is an amount: give currency',
    path: ['currency'],
  })
  .refine((p) => p.allocation !== 'once' || (p.target !== 'order' && p.kind === 'standard'), {
    message: 'a once allocation is for standard promotions on items or shipping (an order promotion is spread across)',
    path: ['allocation'],
  })
  .refine((p) => p.allocation !== 'once' || p.max_quantity !== undefined, {
    message: 'a once allocation needs max_quantity: the units it discounts in the whole cart',
    path: ['max_quantity'],
  })
  .refine((p) => p.max_quantity === undefined || (p.allocation !== 'across' && p.target !== 'order' && p.kind === 'standard'), {
    message: 'max_quantity is for each and once allocations on items or shipping',
    path: ['max_quantity'],
  })
  .refine((p) => p.max_applications === undefined || p.kind === 'buyget', {
    message: 'max_applications is for buyget promotions',
    path: ['max_applications'],
  })
  .refine((p) => p.kind !== 'buyget' || (p.buy_rules_min_quantity !== undefined && p.apply_to_quantity !== undefined), {
    message: 'a buyget promotion needs buy_rules_min_quantity and apply_to_quantity',
    path: ['apply_to_quantity'],
  })
  .refine((p) => p.kind !== 'buyget' || (p.type === 'percentage' && p.target === 'items'), {
    message: 'a buyget promotion is a percentage (10000 = free) on items',
    path: ['type'],
  })
  .refine(
    (p) =>
      p.kind === 'buyget' || (p.buy_item_ids === undefined && p.buy_rules_min_quantity === undefined && p.apply_to_quantity === undefined),
    {
      message: 'buy rules belong to a buyget promotion',
      path: ['kind'],
    },
  )
  .refine((p) => p.target !== 'shipping' || p.target_categories === undefined, {
    message: 'target_categories applies to items or the order, not shipping',
    path: ['target_categories'],
  })
  .refine((p) => p.target !== 'shipping' || p.target_item_ids === undefined, {
    message: 'target_item_ids applies to items or the order, not shipping',
    path: ['target_item_ids'],
  })
  .refine((p) => p.automatic !== (p.code !== undefined), { message: 'give a code, or automatic: true (not both)', path: ['code'] })
  .refine((p) => p.type !== 'fixed' || p.currency !== undefined, { message: 'a fixed amount needs its currency', path: ['currency'] })
  .refine((p) => p.type !== 'percentage' || p.value <= 10_000, { message: 'a percentage is at most 10000 basis points', path: ['value'] });

export const promotionResponse = z.object({
  id: z.string(),
  code: z.string().nullable(),
  automatic: z.boolean(),
  type: z.string(),
  target: z.string(),
  allocation: z.string(),
  value: z.number().int(),
  currency: z.string().nullable(),
  kind: z.enum(['standard', 'buyget']),
  target_item_ids: z.array(z.string()).nullable(),
  target_categories: z.array(z.string()).nullable(),
  target_segments: z.array(z.string()).nullable(),
  buy_item_ids: z.array(z.string()).nullable(),
  buy_rules_min_quantity: z.number().int().nullable(),
  apply_to_quantity: z.number().int().nullable(),
  max_applications: z.number().int(),
  max_quantity: z.number().int().nullable().describe('each: units of each line discounted (null: all); once: units in the whole cart'),
  usage_limit: z.number().int().nullable(),
  usage_count: z.number().int(),
  budget: z.number().int().nullable().describe('Spend budget, minor units of currency (null: none)'),
  budget_used: z.number().int().describe('What it has given away so far, minor units'),
  starts_at: z.string().nullable(),
  ends_at: z.string().nullable(),
  active: z.boolean(),
});
export const promotionListResponse = z.object({ data: z.array(promotionResponse) });

export const webhookAnswer = z.object({ received: z.boolean(), duplicate: z.boolean() });
