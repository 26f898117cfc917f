import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { PromotionRow } from './cart.core.ts';
import { bumpRulesVersion } from './settings.repository.ts';

const COLUMNS = sql`id, code, automatic, type, target, allocation, value::text AS value, currency, kind, target_item_ids AS "targetItemIds", target_categories AS "targetCategories", target_segments AS "targetSegments",
  buy_item_ids AS "buyItemIds", buy_min_quantity AS "buyMinQuantity", apply_to_quantity AS "applyToQuantity", max_applications AS "maxApplications", max_quantity AS "maxQuantity", usage_limit AS "usageLimit",
  budget_minor::text AS "budgetMinor", budget_used_minor::text AS "budgetUsedMinor",
  usage_count AS "usageCount", starts_at AS "startsAt", ends_at AS "endsAt", active`;

type Raw = Omit<PromotionRow, 'value' | 'budgetMinor' | 'budgetUsedMinor'> & {
  value: string;
  budgetMinor: string | null;
  budgetUsedMinor: string;
};
const arrayOrNull = (v: readonly string[] | null) => (v === null ? null : arrayParam(v));
const toRow = (r: Raw): PromotionRow => ({
  ...r,
  value: BigInt(r.value),
  budgetMinor: r.budgetMinor === null ? null : BigInt(r.budgetMinor),
  budgetUsedMinor: BigInt(r.budgetUsedMinor),
  startsAt: r.startsAt ? new Date(r.startsAt) : null,
  endsAt: r.endsAt ? new Date(r.endsAt) : null,
});

/**
 * Promotions as the merchant manages them (the cart reads them through carts.repository). Every change bumps the
 * tenant's rules version in the same statement, so servers caching the rules (rules.cache.ts) see it.
 */
export function createPromotionsRepository() {
  return {
    /** Creates a promotion; null when the tenant already has one with this code. */
    async create(
      q: Q,
      tenantId: string,
      p: Omit<PromotionRow, 'id' | 'usageCount' | 'active' | 'budgetUsedMinor'>,
    ): Promise<PromotionRow | null> {
      const row = await queryOne<Raw>(
        q,
        sql`WITH bump AS (${bumpRulesVersion(tenantId)})
            INSERT INTO promotions (tenant_id, id, code, automatic, type, target, allocation, value, currency, kind, target_item_ids, target_categories, target_segments,
                                    buy_item_ids, buy_min_quantity, apply_to_quantity, max_applications, max_quantity, usage_limit, budget_minor,
                                    starts_at, ends_at)
            VALUES (${tenantId}, ${newId()}, ${p.code}, ${p.automatic}, ${p.type}, ${p.target}, ${p.allocation}, ${p.value.toString()}::bigint,
                    ${p.currency}, ${p.kind}, ${arrayOrNull(p.targetItemIds)}::text[], ${arrayOrNull(p.targetCategories)}::text[], ${arrayOrNull(p.targetSegments)}::text[],
                    ${arrayOrNull(p.buyItemIds)}::text[],
                    ${p.buyMinQuantity}, ${p.applyToQuantity}, ${p.maxApplications}, ${p.maxQuantity}, ${p.usageLimit},
                    ${p.budgetMinor === null ? null : p.budgetMinor.toString()}::bigint, ${p.startsAt?.toISOString() ?? null}::timestamptz, ${p.endsAt?.toISOString() ?? null}::timestamptz)
            ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      );
      return row ? toRow(row) : null;
    },

    list: async (q: Q, tenantId: string) =>
      (
        await queryRows<Raw>(
          q,
          sql`SELECT ${COLUMNS} FROM promotions WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id LIMIT 1000`,
        )
      ).map(toRow),

    setActive: async (q: Q, tenantId: string, id: string, active: boolean) => {
      const row = await queryOne<Raw>(
        q,
        sql`WITH bump AS (${bumpRulesVersion(tenantId)})
            UPDATE promotions SET active = ${active} WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${COLUMNS}`,
      );
      return row ? toRow(row) : undefined;
    },
  };
}
export type PromotionsRepository = ReturnType<typeof createPromotionsRepository>;
