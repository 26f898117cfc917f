import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId } from '../../platform/index.ts';

/**
 * Erasure of a person's sponsored placements (decisions, impressions, clicks, conversions), in identity's erasure
 * transaction. Spend, the charges ledger and campaign performance must still add up, so rows stay and the user id
 * is replaced by one fresh random pseudonym per id (the same in all four tables: a click still follows its
 * impression for reports). Ids the store sends as `user_id` may be its signed-in or its anonymous ids: both go.
 */
export async function eraseSponsoredUsers(
  q: Q,
  tenantId: string,
  who: { userIds: readonly string[]; anonymousIds: readonly string[] },
): Promise<void> {
  const ids = [...new Set([...who.userIds, ...who.anonymousIds])];
  if (!ids.length) return;
  const pseudonyms = ids.map(() => `erased:${newId()}`);
  const map = sql`unnest(${arrayParam(ids)}::text[], ${arrayParam(pseudonyms)}::text[]) AS m(old_id, new_id)`;
  for (const table of ['sponsored_decisions', 'sponsored_impressions', 'sponsored_clicks', 'sponsored_conversions'] as const) {
    await q.execute(
      sql`UPDATE ${sql.identifier(table)} t SET user_id = m.new_id FROM ${map} WHERE t.tenant_id = ${tenantId} AND t.user_id = m.old_id`,
    );
  }
}
