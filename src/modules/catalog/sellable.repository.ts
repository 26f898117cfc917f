import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryRows } from '../../platform/index.ts';

/** What a cart needs to know of an item: its price now, and whether it can be sold. */
export interface SellableItem {
  itemId: string;
  name: string;
  /** The price a shopper pays now: the sale price when there is one, else the price (minor units); null when unpriced. */
  priceMinor: bigint | null;
  currency: string | null;
  /** False when inactive, out of stock, discontinued or its tracked stock is 0. */
  sellable: boolean;
  /** Units left when the item tracks stock; null when it does not. */
  stock: number | null;
  /** The item's category as the store gave it (path or name); null when it has none. */
  categoryPath: string | null;
}

/** Reads and stock moves of items for commerce (carts and checkout). Always by tenant, inside the caller's unit of work. */
export function createSellableRepository() {
  return {
    /** The given items as they are now; ids absent from the answer are unknown (or deleted). */
    async sellableItems(q: Q, tenantId: string, itemIds: readonly string[]): Promise<SellableItem[]> {
      if (itemIds.length === 0) return [];
      const rows = await queryRows<{
        itemId: string;
        name: string;
        price: string | null;
        currency: string | null;
        sellable: boolean;
        stock: number | null;
        categoryPath: string | null;
      }>(
        q,
        sql`SELECT item_id AS "itemId", name, COALESCE(sale_price_minor, price_minor)::text AS price, currency, stock,
                   category_path AS "categoryPath",
                   (is_active AND availability NOT IN ('out_of_stock', 'discontinued') AND COALESCE(stock, 1) > 0) AS sellable
            FROM items WHERE tenant_id = ${tenantId} AND item_id = ANY(${arrayParam(itemIds)}::text[])`,
      );
      return rows.map((r) => ({ ...r, priceMinor: r.price === null ? null : BigInt(r.price) }));
    },

    /**
     * The same read as `sellableItems`, as a piece of the caller's own statement (a cart reads its lines, their
     * items and its promotions in one round trip): a scalar subquery answering a JSON array of
     * `[item_id, name, price (text minor units) | null, currency | null, sellable, stock | null, category_path | null]`,
     * one per known item of `itemIds` (an SQL expression of type text[]). Parse it with `parseSellableJson`.
     */
    sellableJson(tenantId: string, itemIds: SQL): SQL {
      return sql`(SELECT COALESCE(json_agg(json_build_array(item_id, name, COALESCE(sale_price_minor, price_minor)::text, currency, stock,
                    (is_active AND availability NOT IN ('out_of_stock', 'discontinued') AND COALESCE(stock, 1) > 0), category_path)), '[]'::json)
                  FROM items WHERE tenant_id = ${tenantId} AND item_id = ANY(${itemIds}))`;
    },

    /**
     * Locks the items' rows for the caller's transaction, in id order (concurrent callers cannot deadlock), and
     * answers each tracked item's stock (untracked items are absent). Held until the transaction ends: what a
     * caller decides from these numbers (a reservation, a sale) cannot be raced by another that locks them too.
     */
    async lockStock(q: Q, tenantId: string, itemIds: readonly string[]): Promise<Map<string, number>> {
      if (itemIds.length === 0) return new Map();
      const sorted = [...new Set(itemIds)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const rows = await queryRows<{ itemId: string; stock: number | null }>(
        q,
        sql`SELECT item_id AS "itemId", stock FROM items WHERE tenant_id = ${tenantId} AND item_id = ANY(${arrayParam(sorted)}::text[])
            ORDER BY item_id FOR UPDATE`,
      );
      return new Map(rows.filter((r) => r.stock !== null).map((r) => [r.itemId, r.stock!]));
    },

    /**
     * Takes `quantity` units of each line's item when it tracks stock, all or nothing per line, in one
     * statement: a row lock per item makes two concurrent checkouts of the last unit serialize, and the
     * `stock >= quantity` guard makes the second one take nothing. Answers the item ids that were short
     * (callers roll back their transaction when any is). Items that do not track stock are never short.
     * `lockedByCaller`: the transaction already holds these rows' locks (`lockStock` of the same items): one statement.
     */
    async takeStock(
      q: Q,
      tenantId: string,
      lines: readonly { itemId: string; quantity: number }[],
      opts: { lockedByCaller?: boolean } = {},
    ): Promise<string[]> {
      if (lines.length === 0) return [];
      // Sorted ids: concurrent checkouts lock rows in the same order, so they cannot deadlock.
      const sorted = [...lines].sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
      const ids = arrayParam(sorted.map((l) => l.itemId));
      if (opts.lockedByCaller) {
        // The caller's transaction holds the rows (`lockStock`, in id order): the guarded update and the items that
        // track no stock (never short) in ONE statement.
        const taken = await queryRows<{ itemId: string }>(
          q,
          sql`WITH u AS (
                UPDATE items i SET stock = i.stock - w.quantity, updated_at = now()
                FROM unnest(${ids}::text[], ${arrayParam(sorted.map((l) => l.quantity))}::int[]) AS w(item_id, quantity)
                WHERE i.tenant_id = ${tenantId} AND i.item_id = w.item_id AND i.stock IS NOT NULL AND i.stock >= w.quantity
                RETURNING i.item_id
              )
              SELECT item_id AS "itemId" FROM u
              UNION ALL
              SELECT item_id FROM items WHERE tenant_id = ${tenantId} AND item_id = ANY(${ids}::text[]) AND stock IS NULL`,
        );
        const ok = new Set(taken.map((t) => t.itemId));
        return sorted.filter((l) => !ok.has(l.itemId)).map((l) => l.itemId);
      }
      // Row locks first, in id order (one statement's join order is not guaranteed), then the guarded update.
      const locked = await queryRows<{ itemId: string; stock: number | null }>(
        q,
        sql`SELECT item_id AS "itemId", stock FROM items WHERE tenant_id = ${tenantId} AND item_id = ANY(${ids}::text[])
            ORDER BY item_id FOR UPDATE`,
      );
      const updated = await queryRows<{ itemId: string }>(
        q,
        sql`UPDATE items i SET stock = i.stock - w.quantity, updated_at = now()
            FROM unnest(${ids}::text[], ${arrayParam(sorted.map((l) => l.quantity))}::int[]) AS w(item_id, quantity)
            WHERE i.tenant_id = ${tenantId} AND i.item_id = w.item_id AND i.stock IS NOT NULL AND i.stock >= w.quantity
            RETURNING i.item_id AS "itemId"`,
      );
      const taken = [...updated, ...locked.filter((l) => l.stock === null)];
      const ok = new Set(taken.map((t) => t.itemId));
      return sorted.filter((l) => !ok.has(l.itemId)).map((l) => l.itemId);
    },

    /** Puts units back (a cancelled order, a failed payment after stock was taken). Items that do not track stock are left alone. */
    async returnStock(q: Q, tenantId: string, lines: readonly { itemId: string; quantity: number }[]): Promise<void> {
      if (lines.length === 0) return;
      await q.execute(
        sql`UPDATE items i SET stock = i.stock + w.quantity, updated_at = now()
            FROM unnest(${arrayParam(lines.map((l) => l.itemId))}::text[], ${arrayParam(lines.map((l) => l.quantity))}::int[]) AS w(item_id, quantity)
            WHERE i.tenant_id = ${tenantId} AND i.item_id = w.item_id AND i.stock IS NOT NULL`,
      );
    },
  };
}
export type SellableRepository = ReturnType<typeof createSellableRepository>;

type SellableTuple = [string, string, string | null, string | null, number | null, boolean, string | null];

/** The items `sellableJson` answered (the driver has parsed its JSON, or hands the text). */
export function parseSellableJson(value: unknown): SellableItem[] {
  const rows = (typeof value === 'string' ? JSON.parse(value) : (value ?? [])) as SellableTuple[];
  return rows.map(([itemId, name, price, currency, stock, sellable, categoryPath]) => ({
    itemId,
    name,
    priceMinor: price === null ? null : BigInt(price),
    currency,
    sellable,
    stock,
    categoryPath,
  }));
}
