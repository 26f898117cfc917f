import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryRows } from '../../platform/index.ts';

/**
 * Erasure of a person's carts and orders, in identity's erasure transaction, the way Shopify's customer redaction
 * treats orders: an order is a financial record the store must keep (totals, lines, payments, refunds stay), but
 * who placed it goes (user, anonymous and profile ids, e-mail, shipping address), and its timeline says so. Open
 * carts are deleted with their lines; completed and merged carts are anonymized like orders.
 * A cart or order is the person's when it carries one of their ids or e-mails (e-mails compared case-insensitively).
 */
export async function eraseShopper(
  q: Q,
  tenantId: string,
  who: { profileIds: readonly string[]; userIds: readonly string[]; anonymousIds: readonly string[]; emails: readonly string[] },
): Promise<{ cartsDeleted: number; ordersRedacted: number }> {
  const theirs = sql`(user_id = ANY(${arrayParam(who.userIds)}::text[]) OR anonymous_id = ANY(${arrayParam(who.anonymousIds)}::text[])
    OR profile_id = ANY(${arrayParam(who.profileIds)}::uuid[]) OR lower(email) = ANY(${arrayParam(who.emails.map((e) => e.toLowerCase()))}::text[]))`;
  const open = await queryRows<{ id: string }>(
    q,
    sql`DELETE FROM carts WHERE tenant_id = ${tenantId} AND status = 'active' AND ${theirs} RETURNING id`,
  );
  if (open.length) {
    const ids = arrayParam(open.map((c) => c.id));
    await q.execute(sql`DELETE FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ANY(${ids}::uuid[])`);
    await q.execute(sql`DELETE FROM stock_reservations WHERE tenant_id = ${tenantId} AND cart_id = ANY(${ids}::uuid[])`);
  }
  await q.execute(
    sql`UPDATE carts SET user_id = NULL, anonymous_id = NULL, profile_id = NULL, email = NULL, shipping_address = NULL, updated_at = now()
        WHERE tenant_id = ${tenantId} AND ${theirs}`,
  );
  const orders = await queryRows<{ id: string }>(
    q,
    sql`UPDATE orders SET user_id = NULL, anonymous_id = NULL, profile_id = NULL, email = NULL, shipping_address = NULL, updated_at = now()
        WHERE tenant_id = ${tenantId} AND ${theirs} RETURNING id`,
  );
  if (orders.length)
    await q.execute(
      sql`INSERT INTO order_events (tenant_id, order_id, id, type, detail, actor)
          SELECT ${tenantId}, o.order_id, o.id, 'customer_redacted', '{"reason":"privacy erasure"}'::jsonb, 'privacy'
          FROM unnest(${arrayParam(orders.map((o) => o.id))}::uuid[], ${arrayParam(orders.map(() => newId()))}::uuid[]) AS o(order_id, id)`,
    );
  return { cartsDeleted: open.length, ordersRedacted: orders.length };
}
