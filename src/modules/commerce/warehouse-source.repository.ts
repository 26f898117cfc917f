import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

interface Key {
  ts: string;
  id: string;
}

/**
 * The warehouse export's reads of the orders this module owns, with their lines (the warehouse module declares
 * the port, src/app.ts wires this). Orders change (payment, fulfilment, refunds, an erasure blanking the
 * customer), so the keyset is (updated_at, id) over `orders_tenant_updated_idx`: each version is exported once,
 * a warehouse keeps the latest per id. Partitioned by the order's creation date; `lines` is the order's lines as
 * a JSON array (minor units as JSON strings: exact beyond 2^53).
 */
export function createOrdersWarehouseSource() {
  const where = (tenantId: string, after: Key | null, until: Date) =>
    sql`o.tenant_id = ${tenantId} AND o.updated_at < ${until.toISOString()}::timestamptz
        ${after ? sql`AND (o.updated_at, o.id) > (${after.ts}::timestamptz, ${after.id}::uuid)` : sql``}`;
  return {
    async readBatch(q: Q, tenantId: string, after: Key | null, until: Date, limit: number) {
      return queryRows<Record<string, unknown> & { key_ts: string; key_id: string; partition_date: string }>(
        q,
        sql`SELECT o.id::text AS id, o.cart_id::text AS cart_id, o.user_id, o.anonymous_id, o.profile_id::text AS profile_id, o.email,
                   o.currency, o.status, o.subtotal_minor::text AS subtotal_minor, o.discount_total_minor::text AS discount_total_minor,
                   o.tax_total_minor::text AS tax_total_minor, o.shipping_total_minor::text AS shipping_total_minor,
                   o.total_minor::text AS total_minor, o.paid_minor::text AS paid_minor, o.refunded_minor::text AS refunded_minor,
                   to_json(o.promotion_ids)::text AS promotion_ids, o.created_at, o.updated_at,
                   coalesce((SELECT json_agg(json_build_object('id', l.id, 'item_id', l.item_id, 'name', l.name, 'quantity', l.quantity,
                                  'unit_price_minor', l.unit_price_minor::text, 'subtotal_minor', l.subtotal_minor::text,
                                  'discount_total_minor', l.discount_total_minor::text, 'tax_total_minor', l.tax_total_minor::text,
                                  'total_minor', l.total_minor::text) ORDER BY l.id)
                               FROM order_items l WHERE l.tenant_id = ${tenantId} AND l.order_id = o.id), '[]'::json)::text AS lines,
                   o.updated_at::text AS key_ts, o.id::text AS key_id,
                   to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS partition_date
              FROM orders o WHERE ${where(tenantId, after, until)}
             ORDER BY o.updated_at, o.id LIMIT ${limit}`,
      );
    },
    async countPending(q: Q, tenantId: string, after: Key | null, until: Date) {
      const row = await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM orders o WHERE ${where(tenantId, after, until)}`);
      return row?.n ?? 0;
    },
  };
}
