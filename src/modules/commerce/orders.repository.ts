import { type SQL, sql } from 'drizzle-orm';
import type { OrderSort } from './orders.schemas.ts';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';

export type OrderStatus = 'pending' | 'paid' | 'fulfilled' | 'partially_refunded' | 'refunded' | 'cancelled';

export interface OrderRow {
  id: string;
  cartId: string;
  userId: string | null;
  anonymousId: string | null;
  profileId: string | null;
  email: string | null;
  currency: string;
  status: OrderStatus;
  subtotalMinor: bigint;
  discountTotalMinor: bigint;
  taxTotalMinor: bigint;
  shippingTotalMinor: bigint;
  totalMinor: bigint;
  paidMinor: bigint;
  refundedMinor: bigint;
  paymentIntentId: string | null;
  promotionIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderItemRow {
  id: string;
  itemId: string;
  name: string;
  quantity: number;
  unitPriceMinor: bigint;
  subtotalMinor: bigint;
  discountTotalMinor: bigint;
  taxTotalMinor: bigint;
  totalMinor: bigint;
}

export interface OrderEventRow {
  id: string;
  type: string;
  amountMinor: bigint | null;
  detail: Record<string, unknown>;
  actor: string | null;
  createdAt: Date;
}

/** A page of orders: keyset (`after`, newest first) or offset with a whitelisted sort. */
export interface OrderPage {
  after?: string | undefined;
  sort?: OrderSort | undefined;
  offset?: number | undefined;
  limit: number;
}

/**
 * One fixed ordering per sort key (never built from input). Ties fall back to the id, newest first, so that
 * offset pages neither repeat nor skip a row. Totals compare minor units across currencies (one store, one
 * currency in practice).
 */
const ORDER_BY: Record<OrderSort, SQL> = {
  created_at: sql`created_at ASC, id DESC`,
  '-created_at': sql`created_at DESC, id DESC`,
  total: sql`total_minor ASC, id DESC`,
  '-total': sql`total_minor DESC, id DESC`,
  status: sql`status ASC, id DESC`,
  '-status': sql`status DESC, id DESC`,
  email: sql`email ASC NULLS LAST, id DESC`,
  '-email': sql`email DESC NULLS LAST, id DESC`,
  customer: sql`user_id ASC NULLS LAST, id DESC`,
  '-customer': sql`user_id DESC NULLS LAST, id DESC`,
};

/** The tenant and the filters, shared by a page and its count. */
function orderWhere(tenantId: string, f: OrderFilters): SQL {
  const search = f.search ? `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return sql`tenant_id = ${tenantId}
    ${f.status ? sql`AND status = ${f.status}` : sql``}
    ${f.userId ? sql`AND user_id = ${f.userId}` : sql``}
    ${f.anonymousId ? sql`AND anonymous_id = ${f.anonymousId} AND user_id IS NULL` : sql``}
    ${search ? sql`AND (id::text LIKE ${search} OR lower(user_id) LIKE ${search} OR lower(email) LIKE ${search})` : sql``}
    ${f.from ? sql`AND created_at >= ${f.from.toISOString()}::timestamptz` : sql``}
    ${f.to ? sql`AND created_at < ${f.to.toISOString()}::timestamptz` : sql``}`;
}

export interface OrderFilters {
  status?: OrderStatus | undefined;
  userId?: string | undefined;
  /** An anonymous shopper's orders (guest checkouts). */
  anonymousId?: string | undefined;
  /** Matches the order id prefix, the customer id or the e-mail (case-insensitive). */
  search?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

const MONEY = [
  'subtotalMinor',
  'discountTotalMinor',
  'taxTotalMinor',
  'shippingTotalMinor',
  'totalMinor',
  'paidMinor',
  'refundedMinor',
] as const;

const ORDER_COLUMNS = sql`id, cart_id AS "cartId", user_id AS "userId", anonymous_id AS "anonymousId", profile_id AS "profileId", email, currency, status,
  subtotal_minor::text AS "subtotalMinor", discount_total_minor::text AS "discountTotalMinor", tax_total_minor::text AS "taxTotalMinor",
  shipping_total_minor::text AS "shippingTotalMinor", total_minor::text AS "totalMinor", paid_minor::text AS "paidMinor",
  refunded_minor::text AS "refundedMinor", payment_intent_id AS "paymentIntentId", promotion_ids AS "promotionIds",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

function toOrder(r: Record<string, unknown>): OrderRow {
  const out = { ...r } as Record<string, unknown>;
  for (const k of MONEY) out[k] = BigInt(r[k] as string);
  out.createdAt = new Date(r.createdAt as string);
  out.updatedAt = new Date(r.updatedAt as string);
  return out as unknown as OrderRow;
}

/** Orders, their lines, timeline and the promotion budgets they consume: the only SQL of them. */
export function createOrdersRepository() {
  return {
    async insertOrder(
      q: Q,
      tenantId: string,
      o: Omit<OrderRow, 'id' | 'status' | 'paidMinor' | 'refundedMinor' | 'paymentIntentId' | 'createdAt' | 'updatedAt'>,
      items: readonly Omit<OrderItemRow, 'id'>[],
      shippingAddress: Record<string, unknown> | null,
    ): Promise<OrderRow> {
      const id = newId();
      const row = await queryOne<Record<string, unknown>>(
        q,
        sql`INSERT INTO orders (tenant_id, id, cart_id, user_id, anonymous_id, profile_id, email, currency, status, subtotal_minor,
                                discount_total_minor, tax_total_minor, shipping_total_minor, total_minor, promotion_ids, shipping_address)
            VALUES (${tenantId}, ${id}, ${o.cartId}, ${o.userId}, ${o.anonymousId}, ${o.profileId}, ${o.email}, ${o.currency}, 'pending',
                    ${o.subtotalMinor.toString()}::bigint, ${o.discountTotalMinor.toString()}::bigint, ${o.taxTotalMinor.toString()}::bigint,
                    ${o.shippingTotalMinor.toString()}::bigint, ${o.totalMinor.toString()}::bigint, ${arrayParam(o.promotionIds)}::uuid[],
                    ${shippingAddress === null ? null : JSON.stringify(shippingAddress)}::jsonb)
            RETURNING ${ORDER_COLUMNS}`,
      );
      const col = <K extends keyof Omit<OrderItemRow, 'id'>>(k: K) => arrayParam(items.map((i) => String(i[k])));
      await q.execute(
        sql`INSERT INTO order_items (tenant_id, order_id, id, item_id, name, quantity, unit_price_minor, subtotal_minor, discount_total_minor, tax_total_minor, total_minor)
            SELECT ${tenantId}, ${id}, gen_random_uuid(), u.* FROM unnest(${col('itemId')}::text[], ${col('name')}::text[], ${col('quantity')}::int[],
              ${col('unitPriceMinor')}::bigint[], ${col('subtotalMinor')}::bigint[], ${col('discountTotalMinor')}::bigint[],
              ${col('taxTotalMinor')}::bigint[], ${col('totalMinor')}::bigint[])
              AS u(item_id, name, quantity, unit_price_minor, subtotal_minor, discount_total_minor, tax_total_minor, total_minor)`,
      );
      return toOrder(row!);
    },

    getOrder: async (q: Q, tenantId: string, orderId: string) => {
      const r = await queryOne<Record<string, unknown>>(
        q,
        sql`SELECT ${ORDER_COLUMNS} FROM orders WHERE tenant_id = ${tenantId} AND id = ${orderId}`,
      );
      return r ? toOrder(r) : undefined;
    },

    /** The order locked for the caller's transaction (payment, refund, cancel, fulfil serialize on it). */
    lockOrder: async (q: Q, tenantId: string, orderId: string) => {
      const r = await queryOne<Record<string, unknown>>(
        q,
        sql`SELECT ${ORDER_COLUMNS} FROM orders WHERE tenant_id = ${tenantId} AND id = ${orderId} FOR UPDATE`,
      );
      return r ? toOrder(r) : undefined;
    },

    /** The cart's live (not cancelled) order. */
    orderOfCart: async (q: Q, tenantId: string, cartId: string) => {
      const r = await queryOne<Record<string, unknown>>(
        q,
        sql`SELECT ${ORDER_COLUMNS} FROM orders WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} AND status <> 'cancelled'`,
      );
      return r ? toOrder(r) : undefined;
    },

    items: async (q: Q, tenantId: string, orderId: string) =>
      (
        await queryRows<Record<string, unknown>>(
          q,
          sql`SELECT id, item_id AS "itemId", name, quantity, unit_price_minor::text AS "unitPriceMinor", subtotal_minor::text AS "subtotalMinor",
                     discount_total_minor::text AS "discountTotalMinor", tax_total_minor::text AS "taxTotalMinor", total_minor::text AS "totalMinor"
              FROM order_items WHERE tenant_id = ${tenantId} AND order_id = ${orderId} ORDER BY item_id`,
        )
      ).map(
        (r) =>
          ({
            ...r,
            unitPriceMinor: BigInt(r.unitPriceMinor as string),
            subtotalMinor: BigInt(r.subtotalMinor as string),
            discountTotalMinor: BigInt(r.discountTotalMinor as string),
            taxTotalMinor: BigInt(r.taxTotalMinor as string),
            totalMinor: BigInt(r.totalMinor as string),
          }) as OrderItemRow,
      ),

    timeline: async (q: Q, tenantId: string, orderId: string) =>
      (
        await queryRows<Record<string, unknown>>(
          q,
          sql`SELECT id, type, amount_minor::text AS "amountMinor", detail, actor, created_at AS "createdAt"
              FROM order_events WHERE tenant_id = ${tenantId} AND order_id = ${orderId} ORDER BY created_at, id`,
        )
      ).map(
        (r) =>
          ({
            ...r,
            amountMinor: r.amountMinor === null ? null : BigInt(r.amountMinor as string),
            createdAt: new Date(r.createdAt as string),
          }) as OrderEventRow,
      ),

    addEvent: (
      q: Q,
      tenantId: string,
      orderId: string,
      e: { type: string; amountMinor?: bigint | null; detail?: Record<string, unknown>; actor?: string | null },
    ) =>
      q.execute(
        sql`INSERT INTO order_events (tenant_id, order_id, id, type, amount_minor, detail, actor)
            VALUES (${tenantId}, ${orderId}, ${newId()}, ${e.type}, ${e.amountMinor === undefined || e.amountMinor === null ? null : e.amountMinor.toString()}::bigint,
                    ${JSON.stringify(e.detail ?? {})}::jsonb, ${e.actor ?? null})`,
      ),

    /** Marks the order paid and answers it as it now stands (no read back). */
    markPaid: async (q: Q, tenantId: string, orderId: string, paymentIntentId: string, paid: bigint) => {
      const r = await queryOne<Record<string, unknown>>(
        q,
        sql`UPDATE orders SET status = 'paid', payment_intent_id = ${paymentIntentId}, paid_minor = ${paid.toString()}::bigint, updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${orderId}
            RETURNING ${ORDER_COLUMNS}`,
      );
      return toOrder(r!);
    },

    setPaymentIntent: (q: Q, tenantId: string, orderId: string, paymentIntentId: string) =>
      q.execute(
        sql`UPDATE orders SET payment_intent_id = ${paymentIntentId}, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${orderId}`,
      ),

    setStatus: (q: Q, tenantId: string, orderId: string, status: OrderStatus, refunded?: bigint) =>
      q.execute(
        sql`UPDATE orders SET status = ${status}, refunded_minor = COALESCE(${refunded === undefined ? null : refunded.toString()}::bigint, refunded_minor), updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${orderId}`,
      ),

    /** The order paying a PaymentIntent (webhooks name the intent, and carry the order id in metadata). */
    orderOfPaymentIntent: async (q: Q, tenantId: string, paymentIntentId: string) =>
      (
        await queryOne<{ id: string }>(
          q,
          sql`SELECT id FROM orders WHERE tenant_id = ${tenantId} AND payment_intent_id = ${paymentIntentId}`,
        )
      )?.id,

    async list(q: Q, tenantId: string, f: OrderFilters, page: OrderPage): Promise<OrderRow[]> {
      // Without a sort: newest first by id (time-ordered), the order keyset cursors follow.
      const order = page.sort ? ORDER_BY[page.sort] : sql`id DESC`;
      const rows = await queryRows<Record<string, unknown>>(
        q,
        sql`SELECT ${ORDER_COLUMNS} FROM orders WHERE ${orderWhere(tenantId, f)}
              ${page.after ? sql`AND id < ${page.after}` : sql``}
            ORDER BY ${order} LIMIT ${page.limit} OFFSET ${page.offset ?? 0}`,
      );
      return rows.map(toOrder);
    },

    /** How many orders match the filters (the total of a paged table). */
    count: async (q: Q, tenantId: string, f: OrderFilters): Promise<number> =>
      (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM orders WHERE ${orderWhere(tenantId, f)}`))?.n ?? 0,

    /**
     * Counts one use of each promotion, all or nothing: the row lock and the `usage_count < usage_limit` guard
     * make concurrent checkouts of a budget of 10 use it exactly 10 times. Answers the ids that had no use left.
     */
    async consumePromotions(q: Q, tenantId: string, uses: readonly { id: string; amount: bigint }[]): Promise<string[]> {
      if (uses.length === 0) return [];
      const byId = [...uses].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const sorted = byId.map((u) => u.id);
      await q.execute(
        sql`SELECT id FROM promotions WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(sorted)}::uuid[]) ORDER BY id FOR UPDATE`,
      );
      const used = await queryRows<{ id: string }>(
        q,
        sql`UPDATE promotions p SET usage_count = p.usage_count + 1, budget_used_minor = p.budget_used_minor + w.amount
            FROM unnest(${arrayParam(sorted)}::uuid[], ${arrayParam(byId.map((u) => u.amount.toString()))}::bigint[]) AS w(id, amount)
            WHERE p.tenant_id = ${tenantId} AND p.id = w.id AND (p.usage_limit IS NULL OR p.usage_count < p.usage_limit)
              AND (p.budget_minor IS NULL OR p.budget_used_minor + w.amount <= p.budget_minor)
            RETURNING p.id`,
      );
      const ok = new Set(used.map((u) => u.id));
      return sorted.filter((id) => !ok.has(id));
    },

    /** Gives back one use of each promotion and what it gave to the order (its spend budget), when an order is unwound. */
    releasePromotions: (q: Q, tenantId: string, uses: readonly { id: string; amount: bigint }[]) =>
      q.execute(
        sql`UPDATE promotions p SET usage_count = GREATEST(p.usage_count - 1, 0), budget_used_minor = GREATEST(p.budget_used_minor - w.amount, 0)
            FROM unnest(${arrayParam(uses.map((u) => u.id))}::uuid[], ${arrayParam(uses.map((u) => u.amount.toString()))}::bigint[]) AS w(id, amount)
            WHERE p.tenant_id = ${tenantId} AND p.id = w.id`,
      ),

    /** Records a Stripe event once: false when it was already handled (duplicate or concurrent delivery). */
    firstDelivery: async (q: Q, tenantId: string, eventId: string, type: string) =>
      !!(await queryOne<{ eventId: string }>(
        q,
        sql`INSERT INTO stripe_events (tenant_id, event_id, type) VALUES (${tenantId}, ${eventId}, ${type})
            ON CONFLICT DO NOTHING RETURNING event_id AS "eventId"`,
      )),
  };
}
export type OrdersRepository = ReturnType<typeof createOrdersRepository>;
