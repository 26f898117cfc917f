import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

interface Key {
  ts: string;
  id: string;
}

/**
 * The warehouse export's reads of the profiles table this module owns (the warehouse module declares the port,
 * src/app.ts wires this). Profiles change, so the keyset is (updated_at, id) over `profiles_updated_idx`: every
 * version of a profile (merged, erased: traits emptied) is exported once, and a warehouse keeps the latest per id.
 */
export function createProfilesWarehouseSource() {
  const where = (tenantId: string, after: Key | null, until: Date) =>
    sql`tenant_id = ${tenantId} AND updated_at < ${until.toISOString()}::timestamptz
        ${after ? sql`AND (updated_at, id) > (${after.ts}::timestamptz, ${after.id}::uuid)` : sql``}`;
  return {
    async readBatch(q: Q, tenantId: string, after: Key | null, until: Date, limit: number) {
      return queryRows<Record<string, unknown> & { key_ts: string; key_id: string; partition_date: string }>(
        q,
        sql`SELECT id::text AS id, status, merged_into::text AS merged_into, traits::text AS traits, first_seen_at, last_seen_at,
                   total_orders, revenue_minor::text AS revenue_minor, refunded_minor::text AS refunded_minor, currency, event_count,
                   to_json(channels)::text AS channels, profile_strength, created_at, updated_at,
                   updated_at::text AS key_ts, id::text AS key_id,
                   to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS partition_date
              FROM profiles WHERE ${where(tenantId, after, until)}
             ORDER BY updated_at, id LIMIT ${limit}`,
      );
    },
    async countPending(q: Q, tenantId: string, after: Key | null, until: Date) {
      const row = await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM profiles WHERE ${where(tenantId, after, until)}`);
      return row?.n ?? 0;
    },
  };
}
