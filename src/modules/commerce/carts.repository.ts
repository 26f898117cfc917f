import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import { type SellableItem, type SellableRepository, parseSellableJson } from '../catalog/index.ts';
import type { PromotionRow, StoredLine } from './cart.core.ts';

export interface CartRow {
  id: string;
  userId: string | null;
  anonymousId: string | null;
  profileId: string | null;
  email: string | null;
  currency: string;
  status: 'active' | 'completed' | 'merged';
  promotionCodes: string[];
  shippingOptionId: string | null;
  shippingAddress: Record<string, unknown> | null;
  orderId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Shopper {
  userId?: string | undefined;
  anonymousId?: string | undefined;
}

const CART_COLUMNS = sql`id, user_id AS "userId", anonymous_id AS "anonymousId", profile_id AS "profileId", email, currency, status,
  promotion_codes AS "promotionCodes", shipping_option_id AS "shippingOptionId", shipping_address AS "shippingAddress",
  order_id AS "orderId", created_at AS "createdAt", updated_at AS "updatedAt"`;

const LINE_COLUMNS = sql`id, item_id AS "itemId", name, quantity, unit_price_minor::text AS "unitPriceMinor", available`;

type RawLine = Omit<StoredLine, 'unitPriceMinor'> & { unitPriceMinor: string };
const toLine = (r: RawLine): StoredLine => ({ ...r, unitPriceMinor: BigInt(r.unitPriceMinor) });

const PROMOTION_COLUMNS = sql`id, code, automatic, type, target, allocation, value::text AS value, currency, kind, target_item_ids AS "targetItemIds", target_categories AS "targetCategories", target_segments AS "targetSegments",
  buy_item_ids AS "buyItemIds", buy_min_quantity AS "buyMinQuantity", apply_to_quantity AS "applyToQuantity", max_applications AS "maxApplications", max_quantity AS "maxQuantity", usage_limit AS "usageLimit",
  budget_minor::text AS "budgetMinor", budget_used_minor::text AS "budgetUsedMinor",
  usage_count AS "usageCount", starts_at AS "startsAt", ends_at AS "endsAt", active,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || id::text AS "sortKey"`;

type RawPromotion = Omit<PromotionRow, 'value' | 'budgetMinor' | 'budgetUsedMinor' | 'startsAt' | 'endsAt'> & {
  value: string;
  budgetMinor: string | null;
  budgetUsedMinor: string;
  startsAt: string | Date | null;
  endsAt: string | Date | null;
  sortKey: string;
};
/** A promotion row and its place in creation order. */
export interface SortedPromotion {
  row: PromotionRow;
  sortKey: string;
}
const toPromotion = ({ sortKey, ...r }: RawPromotion): SortedPromotion => ({
  row: {
    ...r,
    value: BigInt(r.value),
    budgetMinor: r.budgetMinor === null ? null : BigInt(r.budgetMinor),
    budgetUsedMinor: BigInt(r.budgetUsedMinor),
    startsAt: r.startsAt ? new Date(r.startsAt) : null,
    endsAt: r.endsAt ? new Date(r.endsAt) : null,
  },
  sortKey,
});

/** How a statement names a cart: by id, or as the shopper's active cart. */
export type CartSelector = { cartId: string } | { shopper: Shopper };

function whereCart(tenantId: string, sel: CartSelector): SQL {
  if ('cartId' in sel) return sql`tenant_id = ${tenantId} AND id = ${sel.cartId}`;
  return sel.shopper.userId
    ? sql`tenant_id = ${tenantId} AND status = 'active' AND user_id = ${sel.shopper.userId}`
    : sql`tenant_id = ${tenantId} AND status = 'active' AND user_id IS NULL AND anonymous_id = ${sel.shopper.anonymousId ?? null}`;
}

/** Everything a cart read needs, from one statement (`snapshot`). */
export interface CartSnapshot {
  /** null: no such cart (or the shopper has no active cart). */
  cart: CartRow | null;
  lines: StoredLine[];
  /** The catalog now: the lines' items and the extra ones asked for (unknown ids are absent). */
  items: SellableItem[];
  /** Units of those items held by unexpired reservations of other carts. */
  held: Map<string, number>;
  /** The promotions the cart's codes (and the extra codes) name, whatever their state. */
  coded: SortedPromotion[];
  /** Live usage counters of the tenant's automatic promotions that have a usage limit or a spend budget. */
  usage: Map<string, { usageCount: number; budgetUsedMinor: bigint }>;
  /** The tenant's rules version (0 before any settings or promotion change). */
  rulesVersion: bigint;
}

type RawCart = Omit<CartRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };
type LineTuple = [string, string, string, number, string, boolean];
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** The change of one cart `apply` writes in one statement: lines deleted, updated and inserted, and the cart's own fields. */
export interface CartWrite {
  deletes?: readonly string[];
  updates?: readonly { id: string; name: string; quantity: number; unitPriceMinor: bigint; available: boolean }[];
  inserts?: readonly { id: string; itemId: string; name: string; quantity: number; unitPriceMinor: bigint }[];
  promotionCodes?: readonly string[];
  shipping?: { optionId: string | null; address: Record<string, unknown> | null; email: string | null };
}

/**
 * Carts, their lines and promotions: the only SQL of them. Every method takes the query handle, then the tenant.
 * `catalog` gives the piece of SQL that reads items (catalog owns that table), so a cart reads in one statement.
 */
export function createCartsRepository(catalog: Pick<SellableRepository, 'sellableJson'>) {
  return {
    /**
     * The cart, its lines, their items as the catalog has them now (and `extraItemIds`'), what other carts'
     * reservations hold of them, the promotions its codes (and `extraCodes`) name, the live counters of the
     * limited automatic promotions and the rules version: ONE statement, the whole read of a cart.
     */
    async snapshot(
      q: Q,
      tenantId: string,
      sel: CartSelector,
      opts: { now: Date; extraItemIds?: readonly string[]; extraCodes?: readonly string[] },
    ): Promise<CartSnapshot> {
      const ids = sql`(SELECT ids FROM ids)::text[]`;
      const row = await queryOne<{
        cart: unknown;
        lines: unknown;
        items: unknown;
        held: unknown;
        coded: unknown;
        usage: unknown;
        version: string | null;
      }>(
        q,
        sql`WITH c AS (SELECT ${CART_COLUMNS} FROM carts WHERE ${whereCart(tenantId, sel)}),
                 l AS (SELECT id, item_id, name, quantity, unit_price_minor, available, created_at FROM cart_items
                       WHERE tenant_id = ${tenantId} AND cart_id = (SELECT id FROM c)),
                 ids AS (SELECT ARRAY(SELECT item_id FROM l) || ${arrayParam(opts.extraItemIds ?? [])}::text[] AS ids)
            SELECT (SELECT row_to_json(c) FROM c) AS cart,
                   (SELECT COALESCE(json_agg(json_build_array(id, item_id, name, quantity, unit_price_minor::text, available) ORDER BY created_at, id), '[]'::json) FROM l) AS lines,
                   ${catalog.sellableJson(tenantId, ids)} AS items,
                   (SELECT COALESCE(json_agg(json_build_array(item_id, held)), '[]'::json) FROM (
                      SELECT item_id, sum(quantity)::int AS held FROM stock_reservations
                      WHERE tenant_id = ${tenantId} AND item_id = ANY(${ids}) AND expires_at > ${opts.now.toISOString()}::timestamptz
                        AND cart_id IS DISTINCT FROM (SELECT id FROM c)
                      GROUP BY item_id) h) AS held,
                   (SELECT COALESCE(json_agg(p), '[]'::json) FROM (
                      SELECT ${PROMOTION_COLUMNS} FROM promotions
                      WHERE tenant_id = ${tenantId} AND NOT automatic
                        AND code = ANY(COALESCE((SELECT "promotionCodes" FROM c), '{}'::text[]) || ${arrayParam(opts.extraCodes ?? [])}::text[])) p) AS coded,
                   (SELECT COALESCE(json_agg(json_build_array(id, usage_count, budget_used_minor::text)), '[]'::json) FROM promotions
                      WHERE tenant_id = ${tenantId} AND automatic AND (usage_limit IS NOT NULL OR budget_minor IS NOT NULL)) AS usage,
                   (SELECT rules_version::text FROM commerce_settings WHERE tenant_id = ${tenantId}) AS version`,
      );
      const raw = json<RawCart | null>(row!.cart);
      return {
        cart: raw ? { ...raw, createdAt: new Date(raw.createdAt), updatedAt: new Date(raw.updatedAt) } : null,
        lines: json<LineTuple[]>(row!.lines).map(([id, itemId, name, quantity, price, available]) => ({
          id,
          itemId,
          name,
          quantity,
          unitPriceMinor: BigInt(price),
          available,
        })),
        items: parseSellableJson(row!.items),
        held: new Map(json<[string, number][]>(row!.held)),
        coded: json<RawPromotion[]>(row!.coded).map(toPromotion),
        usage: new Map(
          json<[string, number, string][]>(row!.usage).map(([id, usageCount, used]) => [id, { usageCount, budgetUsedMinor: BigInt(used) }]),
        ),
        rulesVersion: row!.version === null ? 0n : BigInt(row!.version),
      };
    },

    /** Locks the cart `sel` names for the caller's transaction; answers its id, or null when there is none. */
    lock: async (q: Q, tenantId: string, sel: CartSelector): Promise<string | null> =>
      (await queryOne<{ id: string }>(q, sql`SELECT id FROM carts WHERE ${whereCart(tenantId, sel)} FOR UPDATE`))?.id ?? null,

    /** Writes one change of a cart (lines and the cart's own fields) in one statement. */
    async apply(q: Q, tenantId: string, cartId: string, w: CartWrite): Promise<void> {
      const parts: SQL[] = [];
      if (w.deletes?.length)
        parts.push(
          sql`d AS (DELETE FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} AND id = ANY(${arrayParam(w.deletes)}::uuid[]))`,
        );
      const u = w.updates ?? [];
      if (u.length)
        parts.push(
          sql`u AS (UPDATE cart_items c SET name = u.name, quantity = u.quantity, unit_price_minor = u.price, available = u.available, updated_at = now()
              FROM unnest(${arrayParam(u.map((x) => x.id))}::uuid[], ${arrayParam(u.map((x) => x.name))}::text[],
                          ${arrayParam(u.map((x) => x.quantity))}::int[], ${arrayParam(u.map((x) => x.unitPriceMinor.toString()))}::bigint[],
                          ${arrayParam(u.map((x) => x.available))}::boolean[]) AS u(id, name, quantity, price, available)
              WHERE c.tenant_id = ${tenantId} AND c.cart_id = ${cartId} AND c.id = u.id)`,
        );
      const i = w.inserts ?? [];
      if (i.length)
        parts.push(
          sql`i AS (INSERT INTO cart_items (tenant_id, cart_id, id, item_id, name, quantity, unit_price_minor)
              SELECT ${tenantId}, ${cartId}, x.id, x.item_id, x.name, x.quantity, x.price
              FROM unnest(${arrayParam(i.map((x) => x.id))}::uuid[], ${arrayParam(i.map((x) => x.itemId))}::text[], ${arrayParam(i.map((x) => x.name))}::text[],
                          ${arrayParam(i.map((x) => x.quantity))}::int[], ${arrayParam(i.map((x) => x.unitPriceMinor.toString()))}::bigint[])
                   AS x(id, item_id, name, quantity, price))`,
        );
      const set: SQL[] = [sql`updated_at = now()`];
      if (w.promotionCodes) set.push(sql`promotion_codes = ${arrayParam(w.promotionCodes)}::text[]`);
      if (w.shipping)
        set.push(
          sql`shipping_option_id = ${w.shipping.optionId}, shipping_address = ${w.shipping.address === null ? null : JSON.stringify(w.shipping.address)}::jsonb, email = COALESCE(${w.shipping.email}, email)`,
        );
      await queryRows(
        q,
        sql`${parts.length ? sql`WITH ${sql.join(parts, sql`, `)} ` : sql``}UPDATE carts SET ${sql.join(set, sql`, `)} WHERE tenant_id = ${tenantId} AND id = ${cartId}`,
      );
    },

    /** The tenant's automatic promotions in creation order, and whether an active promotion has a segment rule. */
    async automaticPromotions(q: Q, tenantId: string): Promise<{ rows: SortedPromotion[]; hasSegmentRules: boolean }> {
      const rows = await queryRows<RawPromotion>(
        q,
        sql`SELECT ${PROMOTION_COLUMNS} FROM promotions WHERE tenant_id = ${tenantId} AND automatic ORDER BY created_at, id`,
      );
      return { rows: rows.map(toPromotion), hasSegmentRules: await this.hasSegmentPromotions(q, tenantId) };
    },

    getCart: (q: Q, tenantId: string, cartId: string) =>
      queryOne<CartRow>(q, sql`SELECT ${CART_COLUMNS} FROM carts WHERE tenant_id = ${tenantId} AND id = ${cartId}`),

    /** The shopper's active cart: by customer id when signed in, else by anonymous id. */
    findActive: (q: Q, tenantId: string, shopper: Shopper) =>
      shopper.userId
        ? queryOne<CartRow>(
            q,
            sql`SELECT ${CART_COLUMNS} FROM carts WHERE tenant_id = ${tenantId} AND status = 'active' AND user_id = ${shopper.userId}`,
          )
        : queryOne<CartRow>(
            q,
            sql`SELECT ${CART_COLUMNS} FROM carts WHERE tenant_id = ${tenantId} AND status = 'active' AND user_id IS NULL AND anonymous_id = ${shopper.anonymousId ?? null}`,
          ),

    /**
     * The shopper's active cart, created in `currency` when there is none. ON CONFLICT DO NOTHING on the
     * one-active-cart-per-shopper index: two first adds at once make one cart, not two.
     */
    async findOrCreate(q: Q, tenantId: string, shopper: Shopper, currency: string): Promise<CartRow> {
      const conflict = shopper.userId
        ? sql`(tenant_id, user_id) WHERE status = 'active' AND user_id IS NOT NULL`
        : sql`(tenant_id, anonymous_id) WHERE status = 'active' AND user_id IS NULL AND anonymous_id IS NOT NULL`;
      const created = await queryOne<CartRow>(
        q,
        sql`INSERT INTO carts (tenant_id, id, user_id, anonymous_id, currency)
            VALUES (${tenantId}, ${newId()}, ${shopper.userId ?? null}, ${shopper.anonymousId ?? null}, ${currency})
            ON CONFLICT ${conflict} DO NOTHING RETURNING ${CART_COLUMNS}`,
      );
      return created ?? (await this.findActive(q, tenantId, shopper))!;
    },

    lines: async (q: Q, tenantId: string, cartId: string) =>
      (
        await queryRows<RawLine>(
          q,
          sql`SELECT ${LINE_COLUMNS} FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} ORDER BY created_at, id`,
        )
      ).map(toLine),

    /** Moves the lines of cart `from` into cart `to` (quantities add up for an item in both), then marks `from` merged. */
    async mergeInto(q: Q, tenantId: string, from: string, to: string): Promise<void> {
      await q.execute(
        sql`INSERT INTO cart_items (tenant_id, cart_id, id, item_id, name, quantity, unit_price_minor, available)
            SELECT tenant_id, ${to}, gen_random_uuid(), item_id, name, quantity, unit_price_minor, available
            FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ${from}
            ON CONFLICT (tenant_id, cart_id, item_id) DO UPDATE
              SET quantity = LEAST(cart_items.quantity + EXCLUDED.quantity, 9999), updated_at = now()`,
      );
      await q.execute(sql`DELETE FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ${from}`);
      await q.execute(sql`UPDATE carts SET status = 'merged', updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${from}`);
    },

    /** Turns an anonymous cart into the customer's (sign-in when the customer has no cart yet). */
    adopt: (q: Q, tenantId: string, cartId: string, userId: string, profileId: string | null) =>
      q.execute(
        sql`UPDATE carts SET user_id = ${userId}, profile_id = COALESCE(${profileId}::uuid, profile_id), updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${cartId}`,
      ),

    setProfile: (q: Q, tenantId: string, cartId: string, profileId: string) =>
      q.execute(sql`UPDATE carts SET profile_id = ${profileId}, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${cartId}`),

    complete: (q: Q, tenantId: string, cartId: string, orderId: string) =>
      q.execute(
        sql`UPDATE carts SET status = 'completed', order_id = ${orderId}, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${cartId}`,
      ),

    /**
     * Opens a completed cart again (its payment failed), unless its shopper has started another active cart
     * meanwhile (one active cart per shopper): then it stays completed and the shopper keeps the new one.
     */
    reopen: (q: Q, tenantId: string, cartId: string) =>
      q.execute(
        sql`UPDATE carts c SET status = 'active', order_id = NULL, updated_at = now()
            WHERE c.tenant_id = ${tenantId} AND c.id = ${cartId} AND c.status = 'completed'
              AND NOT EXISTS (SELECT 1 FROM carts o WHERE o.tenant_id = c.tenant_id AND o.status = 'active' AND o.id <> c.id
                AND ((c.user_id IS NOT NULL AND o.user_id = c.user_id)
                  OR (c.user_id IS NULL AND o.user_id IS NULL AND o.anonymous_id = c.anonymous_id)))`,
      ),

    /** Whether any active promotion of the tenant has a customer segment rule (only then are segments looked up). */
    hasSegmentPromotions: async (q: Q, tenantId: string) =>
      !!(await queryOne<{ one: number }>(
        q,
        sql`SELECT 1 AS one FROM promotions WHERE tenant_id = ${tenantId} AND active AND target_segments IS NOT NULL LIMIT 1`,
      )),
  };
}
export type CartsRepository = ReturnType<typeof createCartsRepository>;
