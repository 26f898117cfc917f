import { minorToNumber } from '../../platform/index.ts';
import type { CartResponse } from './commerce.schemas.ts';
import type { CartView } from './carts.service.ts';
import type { LineTotals } from './totals.core.ts';

const n = (v: bigint): number => minorToNumber(v);

export const toLineTotals = (t: LineTotals) => ({
  subtotal: n(t.subtotal),
  total: n(t.total),
  original_total: n(t.originalTotal),
  discount_total: n(t.discountTotal),
  discount_subtotal: n(t.discountSubtotal),
  tax_total: n(t.taxTotal),
  original_tax_total: n(t.originalTaxTotal),
});

const EMPTY_CART: CartResponse = {
  id: null,
  status: null,
  currency_code: null,
  user_id: null,
  anonymous_id: null,
  order_id: null,
  items: [],
  notices: [],
  promotions: [],
  shipping_method: null,
  subtotal: 0,
  discount_total: 0,
  discount_subtotal: 0,
  discount_tax_total: 0,
  tax_total: 0,
  shipping_total: 0,
  shipping_subtotal: 0,
  item_total: 0,
  item_subtotal: 0,
  item_tax_total: 0,
  original_total: 0,
  total: 0,
};

/** A priced cart as its public JSON (snake_case, Medusa's totals names, minor units). */
export function toCartResponse(
  v: CartView | null,
  shopper: { userId?: string | undefined; anonymousId?: string | undefined } = {},
): CartResponse {
  if (!v) return { ...EMPTY_CART, user_id: shopper.userId ?? null, anonymous_id: shopper.userId ? null : (shopper.anonymousId ?? null) };
  const t = v.totals;
  return {
    id: v.cart.id,
    status: v.cart.status,
    currency_code: v.cart.currency,
    user_id: v.cart.userId,
    anonymous_id: v.cart.anonymousId,
    order_id: v.cart.orderId,
    items: v.lines.map((l) => {
      const lt = v.lineTotals.get(l.id);
      return {
        id: l.id,
        item_id: l.itemId,
        title: l.name,
        quantity: l.quantity,
        unit_price: n(l.unitPriceMinor),
        available: l.available,
        totals: lt ? toLineTotals(lt) : null,
      };
    }),
    notices: v.notices.map((x) => ({
      type: x.type,
      item_id: x.itemId,
      line_id: x.lineId,
      message: x.message,
      ...(x.previousUnitPrice !== undefined ? { previous_unit_price: n(x.previousUnitPrice) } : {}),
      ...(x.unitPrice !== undefined ? { unit_price: n(x.unitPrice) } : {}),
      ...(x.previousQuantity !== undefined ? { previous_quantity: x.previousQuantity } : {}),
      ...(x.quantity !== undefined ? { quantity: x.quantity } : {}),
    })),
    promotions: v.promotions.map((p) => ({ id: p.id, code: p.code, amount: n(p.amount) })),
    shipping_method: v.shippingOption
      ? { id: v.shippingOption.id, name: v.shippingOption.name, amount: n(v.shippingOption.amountMinor) }
      : null,
    subtotal: n(t.subtotal),
    discount_total: n(t.discountTotal),
    discount_subtotal: n(t.discountSubtotal),
    discount_tax_total: n(t.discountTaxTotal),
    tax_total: n(t.taxTotal),
    shipping_total: n(t.shippingTotal),
    shipping_subtotal: n(t.shippingSubtotal),
    item_total: n(t.itemTotal),
    item_subtotal: n(t.itemSubtotal),
    item_tax_total: n(t.itemTaxTotal),
    original_total: n(t.originalTotal),
    total: n(t.total),
  };
}
