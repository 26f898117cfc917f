import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

/** Read-only statistics over a tenant's interactions, for other modules' dashboards. */
export function createInteractionStatsRepository() {
  return {
    /** When the tenant's newest interaction happened (null when it has none). */
    async lastInteractionAt(q: Q, tenantId: string): Promise<Date | null> {
      const row = await queryOne<{ at: Date | null }>(
        q,
        sql`SELECT max(occurred_at) AS at FROM interactions WHERE tenant_id = ${tenantId}`,
      );
      return row?.at ?? null;
    },
    /**
     * What arrived from one source since `since` (by event time, on the (tenant, occurred_at) index): the count
     * and the newest ten, for the install page's live check.
     */
    async arrivals(q: Q, tenantId: string, source: string, since: Date) {
      const at = since.toISOString();
      const [count, latest] = await Promise.all([
        queryOne<{ n: number }>(
          q,
          sql`SELECT count(*)::int AS n FROM interactions
              WHERE tenant_id = ${tenantId} AND occurred_at > ${at}::timestamptz AND source = ${source}`,
        ),
        queryRows<{ type: string; itemId: string | null; occurredAt: Date; receivedAt: Date }>(
          q,
          sql`SELECT type, item_id AS "itemId", occurred_at AS "occurredAt", received_at AS "receivedAt" FROM interactions
              WHERE tenant_id = ${tenantId} AND occurred_at > ${at}::timestamptz AND source = ${source}
              ORDER BY occurred_at DESC LIMIT 10`,
        ),
      ]);
      return { count: count?.n ?? 0, latest };
    },
  };
}
