import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryRows } from '../../platform/index.ts';

/** Stock reservations of carts in checkout (table `stock_reservations`). Always by tenant, in the caller's transaction. */
export function createReservationsRepository() {
  return {
    /** Units of each item held by unexpired reservations of carts other than `cartId` (null: every cart's) at `now`. */
    async heldByOthers(q: Q, tenantId: string, cartId: string | null, itemIds: readonly string[], now: Date): Promise<Map<string, number>> {
      if (itemIds.length === 0) return new Map();
      const rows = await queryRows<{ itemId: string; held: number }>(
        q,
        sql`SELECT item_id AS "itemId", sum(quantity)::int AS held FROM stock_reservations
            WHERE tenant_id = ${tenantId} AND item_id = ANY(${arrayParam(itemIds)}::text[]) AND expires_at > ${now.toISOString()}::timestamptz
              ${cartId ? sql`AND cart_id <> ${cartId}` : sql``}
            GROUP BY item_id`,
      );
      return new Map(rows.map((r) => [r.itemId, r.held]));
    },

    /** Replaces the cart's reservations with `lines` until `expiresAt`; sweeps the expired ones of those items. */
    async reserve(
      q: Q,
      tenantId: string,
      cartId: string,
      lines: readonly { itemId: string; quantity: number }[],
      expiresAt: Date,
      now: Date,
    ): Promise<void> {
      const ids = arrayParam(lines.map((l) => l.itemId));
      await q.execute(
        sql`DELETE FROM stock_reservations WHERE tenant_id = ${tenantId}
              AND (cart_id = ${cartId} OR (item_id = ANY(${ids}::text[]) AND expires_at <= ${now.toISOString()}::timestamptz))`,
      );
      if (lines.length === 0) return;
      await q.execute(
        sql`INSERT INTO stock_reservations (tenant_id, cart_id, item_id, quantity, expires_at)
            SELECT ${tenantId}, ${cartId}, w.item_id, w.quantity, ${expiresAt.toISOString()}::timestamptz
            FROM unnest(${ids}::text[], ${arrayParam(lines.map((l) => l.quantity))}::int[]) AS w(item_id, quantity)`,
      );
    },

    /** Drops the cart's reservations (checkout abandoned, or completed: the sale took the units). */
    async release(q: Q, tenantId: string, cartId: string): Promise<number> {
      const rows = await queryRows<{ itemId: string }>(
        q,
        sql`DELETE FROM stock_reservations WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} RETURNING item_id AS "itemId"`,
      );
      return rows.length;
    },
  };
}
export type ReservationsRepository = ReturnType<typeof createReservationsRepository>;
