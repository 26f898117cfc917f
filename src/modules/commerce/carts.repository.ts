import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
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

/** Carts, their lines and promotions: the only SQL of them. Every method takes the query handle, then the tenant. */
export function createCartsRepository() {
  return {
    getCart: (q: Q, tenantId: string, cartId: string) =>
      queryOne<CartRow>(q, sql`SELECT ${CART_COLUMNS} FROM carts WHERE tenant_id = ${tenantId} AND id = ${cartId}`),

    /** The cart row locked for the rest of the caller's transaction (completion, line changes). */
    lockCart: (q: Q, tenantId: string, cartId: string) =>
      queryOne<CartRow>(q, sql`SELECT ${CART_COLUMNS} FROM carts WHERE tenant_id = ${tenantId} AND id = ${cartId} FOR UPDATE`),

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

    /** Adds units of an item (a second add of the same item raises its quantity); answers the line. */
    async addLine(
      q: Q,
      tenantId: string,
      cartId: string,
      line: { itemId: string; name: string; quantity: number; unitPriceMinor: bigint },
    ): Promise<StoredLine> {
      const row = await queryOne<RawLine>(
        q,
        sql`INSERT INTO cart_items (tenant_id, cart_id, id, item_id, name, quantity, unit_price_minor)
            VALUES (${tenantId}, ${cartId}, ${newId()}, ${line.itemId}, ${line.name}, ${line.quantity}, ${line.unitPriceMinor.toString()}::bigint)
            ON CONFLICT (tenant_id, cart_id, item_id) DO UPDATE
              SET quantity = cart_items.quantity + EXCLUDED.quantity, name = EXCLUDED.name,
                  unit_price_minor = EXCLUDED.unit_price_minor, available = true, updated_at = now()
            RETURNING ${LINE_COLUMNS}`,
      );
      return toLine(row!);
    },

    setQuantity: (q: Q, tenantId: string, cartId: string, lineId: string, quantity: number) =>
      queryOne<{ id: string }>(
        q,
        sql`UPDATE cart_items SET quantity = ${quantity}, updated_at = now()
            WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} AND id = ${lineId} RETURNING id`,
      ),

    removeLine: (q: Q, tenantId: string, cartId: string, lineId: string) =>
      queryOne<{ id: string }>(
        q,
        sql`DELETE FROM cart_items WHERE tenant_id = ${tenantId} AND cart_id = ${cartId} AND id = ${lineId} RETURNING id`,
      ),

    /** Stores refreshed lines in one statement. */
    async updateLines(
      q: Q,
      tenantId: string,
      updates: readonly { id: string; name: string; quantity: number; unitPriceMinor: bigint; available: boolean }[],
    ): Promise<void> {
      if (updates.length === 0) return;
      await q.execute(
        sql`UPDATE cart_items c SET name = u.name, quantity = u.quantity, unit_price_minor = u.price, available = u.available, updated_at = now()
            FROM unnest(${arrayParam(updates.map((u) => u.id))}::uuid[], ${arrayParam(updates.map((u) => u.name))}::text[],
                        ${arrayParam(updates.map((u) => u.quantity))}::int[], ${arrayParam(updates.map((u) => u.unitPriceMinor.toString()))}::bigint[],
                        ${arrayParam(updates.map((u) => u.available))}::boolean[]) AS u(id, name, quantity, price, available)
            WHERE c.tenant_id = ${tenantId} AND c.id = u.id`,
      );
    },

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

    setPromotionCodes: (q: Q, tenantId: string, cartId: string, codes: readonly string[]) =>
      q.execute(
        sql`UPDATE carts SET promotion_codes = ${arrayParam(codes)}::text[], updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${cartId}`,
      ),

    setShipping: (
      q: Q,
      tenantId: string,
      cartId: string,
      optionId: string | null,
      address: Record<string, unknown> | null,
      email: string | null,
    ) =>
      q.execute(
        sql`UPDATE carts SET shipping_option_id = ${optionId}, shipping_address = ${address === null ? null : JSON.stringify(address)}::jsonb,
                   email = COALESCE(${email}, email), updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${cartId}`,
      ),

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

    /** Automatic promotions and those with the given codes (upper-cased). */
    promotionsFor: async (q: Q, tenantId: string, codes: readonly string[]) =>
      (
        await queryRows<
          Omit<PromotionRow, 'value' | 'budgetMinor' | 'budgetUsedMinor'> & {
            value: string;
            budgetMinor: string | null;
            budgetUsedMinor: string;
          }
        >(
          q,
          sql`SELECT id, code, automatic, type, target, allocation, value::text AS value, currency, kind, target_item_ids AS "targetItemIds", target_categories AS "targetCategories", target_segments AS "targetSegments",
  buy_item_ids AS "buyItemIds", buy_min_quantity AS "buyMinQuantity", apply_to_quantity AS "applyToQuantity", max_applications AS "maxApplications", usage_limit AS "usageLimit",
                     budget_minor::text AS "budgetMinor", budget_used_minor::text AS "budgetUsedMinor",
                     usage_count AS "usageCount", starts_at AS "startsAt", ends_at AS "endsAt", active
              FROM promotions WHERE tenant_id = ${tenantId} AND (automatic OR code = ANY(${arrayParam(codes)}::text[]))
              ORDER BY created_at, id`,
        )
      ).map((r) => ({
        ...r,
        value: BigInt(r.value),
        budgetMinor: r.budgetMinor === null ? null : BigInt(r.budgetMinor),
        budgetUsedMinor: BigInt(r.budgetUsedMinor),
        startsAt: r.startsAt ? new Date(r.startsAt) : null,
        endsAt: r.endsAt ? new Date(r.endsAt) : null,
      })),
  };
}
export type CartsRepository = ReturnType<typeof createCartsRepository>;
