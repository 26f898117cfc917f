import { type SQL, sql } from 'drizzle-orm';

/**
 * The newsfeed reads a shopper's recent interactions through this SQL piece (the newsfeed declares
 * `ShopperHistorySql`, src/app.ts wires it), so it asks for them in the same statement as its own per-shopper rows
 * (follows, favorites, preferences, style profile, shown items) and that statement names no events table.
 */
export function createShopperHistorySource() {
  return {
    /**
     * The user's most recent interactions with an item as a subquery of at most `limit` rows: item_id text, type
     * text, n int8 (1 for the newest: occurred_at, then id). One backward range of `interactions_user_time_idx`,
     * stopped after `limit` rows (the numbering streams in the same order).
     */
    recentInteractionsSql: (tenantId: string, userId: string, limit: number): SQL =>
      sql`SELECT item_id, type, row_number() OVER (ORDER BY occurred_at DESC, id DESC) AS n FROM interactions
           WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND item_id IS NOT NULL
           ORDER BY occurred_at DESC, id DESC LIMIT ${limit}`,
  };
}
