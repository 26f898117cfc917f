import { minorToNumber } from '../../platform/index.ts';
import type { CartResponse } from './commerce.schemas.ts';
import type { CartView } from './carts.service.ts';
import type { LineTotals } from './totals.core.ts';
import type { PromotionRow } from './cart.core.ts';
import { shippingRefundedSoFar } from './returns.core.ts';
import type { OrderDetail, OrderSummary } from './orders.schemas.ts';
import type { OrderEventRow, OrderItemRow, OrderRow } from './orders.repository.ts';

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
  refused_promotions: [],
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
    refused_promotions: v.refusedCodes,
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

const iso = (d: Date): string => new Date(d).toISOString();

export const toOrderSummary = (o: OrderRow): OrderSummary => ({
  id: o.id,
  cart_id: o.cartId,
  status: o.status,
  user_id: o.userId,
  email: o.email,
  currency_code: o.currency,
  subtotal: n(o.subtotalMinor),
  discount_total: n(o.discountTotalMinor),
  tax_total: n(o.taxTotalMinor),
  shipping_total: n(o.shippingTotalMinor),
  total: n(o.totalMinor),
  paid_total: n(o.paidMinor),
  refunded_total: n(o.refundedMinor),
  payment_intent_id: o.paymentIntentId,
  created_at: iso(o.createdAt),
  updated_at: iso(o.updatedAt),
});

export const toOrderDetail = (d: { order: OrderRow; items: OrderItemRow[]; timeline: OrderEventRow[] }): OrderDetail => ({
  ...toOrderSummary(d.order),
  shipping_refunded_total: n(shippingRefundedSoFar(d.timeline.filter((e) => e.type === 'returned').map((e) => e.detail))),
  items: d.items.map((i) => ({
    id: i.id,
    item_id: i.itemId,
    title: i.name,
    quantity: i.quantity,
    unit_price: n(i.unitPriceMinor),
    subtotal: n(i.subtotalMinor),
    discount_total: n(i.discountTotalMinor),
    tax_total: n(i.taxTotalMinor),
    total: n(i.totalMinor),
  })),
  timeline: d.timeline.map((e) => ({
    id: e.id,
    type: e.type,
    amount: e.amountMinor === null ? null : n(e.amountMinor),
    detail: e.detail,
    actor: e.actor,
    created_at: iso(e.createdAt),
  })),
});

export const toPromotion = (p: PromotionRow) => ({
  id: p.id,
  code: p.code,
  automatic: p.automatic,
  type: p.type,
  target: p.target,
  allocation: p.allocation,
  value: n(p.value),
  currency: p.currency,
  kind: p.kind,
  target_item_ids: p.targetItemIds,
  target_categories: p.targetCategories,
  target_segments: p.targetSegments,
  buy_item_ids: p.buyItemIds,
  buy_rules_min_quantity: p.buyMinQuantity,
  apply_to_quantity: p.applyToQuantity,
  max_applications: p.maxApplications,
  max_quantity: p.maxQuantity,
  usage_limit: p.usageLimit,
  usage_count: p.usageCount,
  budget: p.budgetMinor === null ? null : n(p.budgetMinor),
  budget_used: n(p.budgetUsedMinor),
  starts_at: p.startsAt ? iso(p.startsAt) : null,
  ends_at: p.endsAt ? iso(p.endsAt) : null,
  active: p.active,
});
