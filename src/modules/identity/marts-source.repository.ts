import { type SQL, sql } from 'drizzle-orm';
import { type Q, queryRows } from '../../platform/index.ts';

/**
 * The warehouse marts' reads of the tables this module owns (the warehouse module declares `MartSources`, src/app.ts
 * wires this): unified orders (`profile_orders`, every channel counted once) and profiles, in id order by pages.
 */
export function createMartsSources() {
  return {
    /**
     * The tenant's unified orders as a piece of the warehouse's own statement (a subquery, no I/O here): columns
     * order_id text, profile_id uuid, occurred_at timestamptz, currency text, revenue_minor int8, refunded_minor int8.
     */
    ordersSql: (tenantId: string): SQL =>
      sql`SELECT order_id, profile_id, occurred_at, currency, revenue_minor, refunded_minor
            FROM profile_orders WHERE tenant_id = ${tenantId}`,
    /**
     * The tenant's profiles (any status) as a subquery: profile_id uuid, status text, merged_into uuid,
     * first_seen_at timestamptz, last_seen_at timestamptz, event_count int, channels text[].
     */
    customersSql: (tenantId: string): SQL =>
      sql`SELECT id AS profile_id, status, merged_into, first_seen_at, last_seen_at, event_count, channels
            FROM profiles WHERE tenant_id = ${tenantId}`,
    orders: {
      readPage: (q: Q, tenantId: string, afterId: string | null, limit: number) =>
        queryRows<{
          orderId: string;
          profileId: string;
          occurredAt: Date;
          currency: string | null;
          revenueMinor: string;
          refundedMinor: string;
        }>(
          q,
          sql`SELECT order_id AS "orderId", profile_id::text AS "profileId", occurred_at AS "occurredAt", currency,
                     revenue_minor::text AS "revenueMinor", refunded_minor::text AS "refundedMinor"
                FROM profile_orders
               WHERE tenant_id = ${tenantId} ${afterId === null ? sql`` : sql`AND order_id > ${afterId}`}
               ORDER BY order_id LIMIT ${limit}`,
        ),
    },
    customers: {
      readPage: (q: Q, tenantId: string, afterId: string | null, limit: number) =>
        queryRows<{
          profileId: string;
          status: string;
          mergedInto: string | null;
          firstSeenAt: Date | null;
          lastSeenAt: Date | null;
          eventCount: number;
          channels: string[];
        }>(
          q,
          sql`SELECT id::text AS "profileId", status, merged_into::text AS "mergedInto", first_seen_at AS "firstSeenAt",
                     last_seen_at AS "lastSeenAt", event_count AS "eventCount", channels
                FROM profiles
               WHERE tenant_id = ${tenantId} ${afterId === null ? sql`` : sql`AND id > ${afterId}::uuid`}
               ORDER BY id LIMIT ${limit}`,
        ),
    },
  };
}
