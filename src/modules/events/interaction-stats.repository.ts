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
     * What a new tenant's first-run checklist asks of events, in one statement of index probes: whether any
     * purchase was recorded (imported, posted or from a webhook), how many store connections (Shopify, WooCommerce) exist, and whether
     * the browser snippet ever started a tracking session.
     */
    async setupFacts(q: Q, tenantId: string): Promise<{ purchases: boolean; storeConnections: number; trackedSessions: boolean }> {
      const row = await queryOne<{ purchases: boolean; storeConnections: number; trackedSessions: boolean }>(
        q,
        sql`SELECT EXISTS (SELECT 1 FROM interactions WHERE tenant_id = ${tenantId} AND type = 'purchase') AS purchases,
                   (SELECT count(*)::int FROM integration_connections WHERE tenant_id = ${tenantId} AND type IN ('shopify', 'woocommerce')) AS "storeConnections",
                   EXISTS (SELECT 1 FROM tracking_sessions WHERE tenant_id = ${tenantId}) AS "trackedSessions"`,
      );
      return {
        purchases: row?.purchases ?? false,
        storeConnections: row?.storeConnections ?? 0,
        trackedSessions: row?.trackedSessions ?? false,
      };
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
