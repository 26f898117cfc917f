/**
 * Public request and response schemas of commerce (re-exported from src/contracts). Money is integer minor
 * units of `currency_code` (Medusa's totals field names); quantities are whole units.
 */
import { z } from 'zod';
import { currencyCode } from '../../platform/schemas.ts';
import { MAX_QUANTITY } from './cart.core.ts';

const id = z.string().trim().min(1).max(200);
const quantity = z
  .number({ error: 'must be a whole number of units' })
  .int('must be a whole number of units')
  .min(1, 'must be at least 1 (remove the line with DELETE instead of sending 0)')
  .max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`);

/** How a request names a cart: its id, or its shopper. */
const cartRef = {
  cart_id: z.uuid().optional(),
  user_id: id.optional(),
  anonymous_id: id.optional(),
};

export const cartQuery = z.object(cartRef).strict();
export const addItemBody = z
  .object({
    ...cartRef,
    item_id: id.optional().describe("The catalog item's id (the store's own)"),
    product_id: id.optional().describe('Alias of item_id (seed 000)'),
    quantity: quantity.default(1),
    currency: currencyCode.optional().describe("The cart's currency when this add creates it (default: the item's)"),
  })
  .strict()
  .refine((b) => (b.item_id ?? b.product_id) !== undefined, { message: 'send item_id', path: ['item_id'] });
export const updateLineBody = z.object({ ...cartRef, quantity }).strict();
export const lineParams = z.object({ line_id: z.uuid() }).strict();
export const reserveBody = z
  .object({
    ...cartRef,
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .optional()
      .describe("How long the units are held: the store's reservation_ttl_seconds setting (default 15 minutes), or less"),
  })
  .strict();
export const reservationResponse = z.object({
  cart_id: z.string(),
  expires_at: z.string(),
  items: z.array(z.object({ item_id: z.string(), quantity: z.number().int() })).describe('Held units of the items that track stock'),
});
export const releaseResponse = z.object({ released: z.number().int().describe('Lines whose hold was dropped') });

const shopperToken = z.string().min(1).max(2000);
export const mergeBody = z
  .object({
    anonymous_id: id.optional().describe("The visitor's anonymous id (servers with commerce:write; a page sends anonymous_token)"),
    user_id: id.optional().describe("The customer's id (servers; a page's X-Shopper-Token names it)"),
    anonymous_token: shopperToken
      .optional()
      .describe("A page's proof of the visitor it was before sign-in: that visitor's anonymous shopper token"),
  })
  .strict();

export const shopperTokenBody = z
  .object({
    customer_id: id
      .optional()
      .describe("Servers only (secret key, commerce:write): the signed-in customer's id (the store's own). Omit for an anonymous visitor."),
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .optional()
      .describe('Servers only: lifetime of a customer token (default 3600, at most a day)'),
  })
  .strict();
export const shopperTokenResponse = z.object({
  token: z.string().describe('Send as X-Shopper-Token with the site key on cart, checkout and order-history calls'),
  shopper_type: z.enum(['customer', 'anonymous']),
  shopper_id: z.string().describe('The customer id, or the fresh anonymous id the token is bound to'),
  expires_at: z.string(),
});
export const promotionCodeBody = z.object({ ...cartRef, code: z.string().trim().min(1).max(100) }).strict();
export const promotionCodeParams = z.object({ code: z.string().min(1).max(100) }).strict();
export const shippingBody = z
  .object({
    ...cartRef,
    shipping_option_id: id,
    email: z.email().max(320).optional(),
    shipping_address: z
      .object({
        name: z.string().max(200).optional(),
        line1: z.string().max(300).optional(),
        line2: z.string().max(300).optional(),
        city: z.string().max(200).optional(),
        postal_code: z.string().max(40).optional(),
        country: z.string().max(2).optional(),
        phone: z.string().max(40).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const amount = z.number().int().describe('Minor units of currency_code');

export const shippingOptionsQuery = z.object({ currency: currencyCode.optional() }).strict();
export const shippingOptionsResponse = z.object({
  data: z.array(z.object({ id: z.string(), name: z.string(), amount, currency_code: z.string() })),
});

export const lineTotalsSchema = z.object({
  subtotal: amount,
  total: amount,
  original_total: amount,
  discount_total: amount,
  discount_subtotal: amount,
  tax_total: amount,
  original_tax_total: amount,
});

export const cartNoticeSchema = z.object({
  type: z.enum(['price_changed', 'savings_available', 'no_longer_available', 'back_in_stock', 'quantity_reduced']),
  item_id: z.string(),
  line_id: z.string(),
  message: z.string(),
  previous_unit_price: amount.optional(),
  unit_price: amount.optional(),
  previous_quantity: z.number().int().optional(),
  quantity: z.number().int().optional(),
});

export const cartResponse = z.object({
  id: z.string().nullable().describe('null when the shopper has no cart yet'),
  status: z.enum(['active', 'completed', 'merged']).nullable(),
  currency_code: z.string().nullable(),
  user_id: z.string().nullable(),
  anonymous_id: z.string().nullable(),
  order_id: z.string().nullable(),
  items: z.array(
    z.object({
      id: z.string(),
      item_id: z.string(),
      title: z.string(),
      quantity: z.number().int(),
      unit_price: amount,
      available: z.boolean(),
      totals: lineTotalsSchema.nullable().describe('null when the line is not counted (no longer available)'),
    }),
  ),
  notices: z.array(cartNoticeSchema),
  promotions: z.array(z.object({ id: z.string(), code: z.string().nullable(), amount })),
  refused_promotions: z
    .array(z.object({ code: z.string(), reason: z.string() }))
    .describe('Codes on the cart that no longer apply (expired, used up, stopped): checkout refuses until they are removed'),
  shipping_method: z.object({ id: z.string(), name: z.string(), amount }).nullable(),
  subtotal: amount,
  discount_total: amount,
  discount_subtotal: amount,
  discount_tax_total: amount,
  tax_total: amount,
  shipping_total: amount,
  shipping_subtotal: amount,
  item_total: amount,
  item_subtotal: amount,
  item_tax_total: amount,
  original_total: amount,
  total: amount,
});
export type CartResponse = z.infer<typeof cartResponse>;
