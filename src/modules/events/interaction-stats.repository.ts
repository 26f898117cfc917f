import { sql } from 'drizzle-orm';
import { arrayParam, type Q, queryOne, queryRows } from '../../platform/index.ts';

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
     * Units sold per item and UTC day (purchases; quantity, 1 when unset) in [from, to): of `itemIds`, or of the
     * `limit` items with the most units when none are given. For predictions' per-item demand forecasts.
     */
    itemUnitsByDay(
      q: Q,
      tenantId: string,
      opts: { itemIds?: readonly string[] | undefined; from: Date; to: Date; limit: number },
    ): Promise<{ itemId: string; day: string; units: number }[]> {
      const [from, to] = [opts.from.toISOString(), opts.to.toISOString()];
      const only = opts.itemIds ? sql`AND item_id = ANY(${arrayParam(opts.itemIds)}::text[])` : sql``;
      return queryRows(
        q,
        sql`WITH chosen AS (
              SELECT item_id FROM interactions
              WHERE tenant_id = ${tenantId} AND type = 'purchase' AND item_id IS NOT NULL
                AND occurred_at >= ${from}::timestamptz AND occurred_at < ${to}::timestamptz ${only}
              GROUP BY item_id ORDER BY sum(coalesce(quantity, 1)) DESC, item_id LIMIT ${opts.limit})
            SELECT i.item_id AS "itemId", to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                   sum(coalesce(i.quantity, 1))::float8 AS units
            FROM interactions i JOIN chosen c ON c.item_id = i.item_id
            WHERE i.tenant_id = ${tenantId} AND i.type = 'purchase'
              AND i.occurred_at >= ${from}::timestamptz AND i.occurred_at < ${to}::timestamptz
            GROUP BY 1, 2 ORDER BY 1, 2`,
      );
    },
    /**
     * Predictions' feature store: each of these profiles' sessions (the client's session id, or a UTC day of events sent
     * without one) with their first event and event count, oldest first per profile.
     */
    profileSessions(
      q: Q,
      tenantId: string,
      profileIds: readonly string[],
    ): Promise<{ profileId: string; startedAt: Date; events: number }[]> {
      return queryRows(
        q,
        sql`SELECT profile_id AS "profileId", min(occurred_at) AS "startedAt", count(*)::int AS events
            FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
            GROUP BY profile_id, coalesce(session_id, 'day:' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
            ORDER BY 1, 2`,
      );
    },
    /** Predictions' category affinity: these profiles' purchased items with their time, oldest first per profile. */
    profilePurchasedItems(
      q: Q,
      tenantId: string,
      profileIds: readonly string[],
    ): Promise<{ profileId: string; itemId: string; occurredAt: Date }[]> {
      return queryRows(
        q,
        sql`SELECT profile_id AS "profileId", item_id AS "itemId", occurred_at AS "occurredAt"
            FROM interactions
            WHERE tenant_id = ${tenantId} AND type = 'purchase' AND profile_id = ANY(${arrayParam(profileIds)}::uuid[]) AND item_id IS NOT NULL
            ORDER BY 1, 3`,
      );
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
