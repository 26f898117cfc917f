import { sql } from 'drizzle-orm';
import { arrayParam, type Q, queryRows } from '../../platform/index.ts';

/** One order of an active profile: revenue and refunds in minor units of `currency`. */
export interface CustomerOrderRow {
  profileId: string;
  occurredAt: Date;
  revenueMinor: string;
  refundedMinor: string;
  currency: string | null;
}

/**
 * Read-only view of active profiles' orders for the predictions module (identity owns profiles and
 * profile_orders; predictions reads them only through identity's public entry). Merged-away and erased profiles
 * are never returned.
 */
export function createCustomerOrdersRepository() {
  return {
    /** Orders of the tenant's active profiles (or of `profileIds`), by profile then time. */
    orders(q: Q, tenantId: string, profileIds?: readonly string[]): Promise<CustomerOrderRow[]> {
      const only = profileIds ? sql`AND o.profile_id = ANY(${arrayParam(profileIds)}::uuid[])` : sql``;
      return queryRows<CustomerOrderRow>(
        q,
        sql`SELECT o.profile_id AS "profileId", o.occurred_at AS "occurredAt", o.revenue_minor::text AS "revenueMinor",
                   o.refunded_minor::text AS "refundedMinor", o.currency
            FROM profile_orders o JOIN profiles p ON p.tenant_id = o.tenant_id AND p.id = o.profile_id AND p.status = 'active'
            WHERE o.tenant_id = ${tenantId} ${only}
            ORDER BY o.profile_id, o.occurred_at`,
      );
    },

    /** Identifiers of active profiles with confidence, channel and first sighting (predictions' profile strength). */
    identifiers(
      q: Q,
      tenantId: string,
      profileIds: readonly string[],
    ): Promise<{ profileId: string; type: string; confidence: number; channel: string | null; firstSeenAt: Date }[]> {
      return queryRows(
        q,
        sql`SELECT i.profile_id AS "profileId", i.type, i.confidence::float8 AS confidence, i.channel, i.first_seen_at AS "firstSeenAt"
            FROM profile_identifiers i JOIN profiles p ON p.tenant_id = i.tenant_id AND p.id = i.profile_id AND p.status = 'active'
            WHERE i.tenant_id = ${tenantId} AND i.profile_id = ANY(${arrayParam(profileIds)}::uuid[])`,
      );
    },

    /**
     * A page of active profile ids after `after` (keyset, by id): whole-tenant reads go page by page, so that no
     * single statement holds the embedded database (and with it the event loop) for the whole tenant.
     */
    async activeProfilePage(q: Q, tenantId: string, after: string | null, limit: number): Promise<string[]> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`SELECT id FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active' ${after ? sql`AND id > ${after}` : sql``}
            ORDER BY id LIMIT ${limit}`,
      );
      return rows.map((r) => r.id);
    },

    /**
     * Change marker for caches in other processes: profiles whose orders, status or merge chain changed at or after
     * `since` (by `profiles.updated_at`, set by every such write; its transaction's start time), at most `limit`.
     * One index range scan (profiles_updated_idx).
     */
    async changedSince(q: Q, tenantId: string, since: Date, limit: number): Promise<string[]> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`SELECT id::text AS id FROM profiles WHERE tenant_id = ${tenantId} AND updated_at >= ${since.toISOString()}::timestamptz
            ORDER BY updated_at LIMIT ${limit}`,
      );
      return rows.map((r) => r.id);
    },

    /**
     * One round trip for live scoring: the active profile `id` ends at (following merges), or null when it was
     * erased, is unknown or belongs to another tenant, with that profile's orders by time.
     */
    async ofSurvivor(q: Q, tenantId: string, id: string): Promise<{ profileId: string; orders: CustomerOrderRow[] } | null> {
      const rows = await queryRows<Omit<CustomerOrderRow, 'occurredAt'> & { occurredAt: Date | null }>(
        q,
        sql`WITH RECURSIVE chain(id, status, next, depth) AS (
              SELECT p.id, p.status, p.merged_into, 0 FROM profiles p WHERE p.tenant_id = ${tenantId} AND p.id = ${id}
              UNION ALL
              SELECT p.id, p.status, p.merged_into, c.depth + 1 FROM chain c JOIN profiles p ON p.tenant_id = ${tenantId} AND p.id = c.next
              WHERE c.status = 'merged' AND c.depth < 50),
            survivor AS (SELECT id FROM chain WHERE status = 'active' LIMIT 1)
            SELECT s.id::text AS "profileId", o.occurred_at AS "occurredAt", o.revenue_minor::text AS "revenueMinor",
                   o.refunded_minor::text AS "refundedMinor", o.currency
            FROM survivor s LEFT JOIN profile_orders o ON o.tenant_id = ${tenantId} AND o.profile_id = s.id
            ORDER BY o.occurred_at`,
      );
      if (!rows.length) return null;
      return {
        profileId: rows[0]!.profileId,
        orders: rows.filter((r): r is CustomerOrderRow => r.occurredAt !== null),
      };
    },
  };
}
export type CustomerOrdersRepository = ReturnType<typeof createCustomerOrdersRepository>;
