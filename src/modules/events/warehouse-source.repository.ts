import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

/** A position in the export of one table (the warehouse module's `ExportKey`). */
interface Key {
  ts: string;
  id: string;
}

/**
 * The smallest UUIDv7 of the millisecond `at`: every v7 id minted before `at` sorts below it, every later or
 * equal one above (the first 48 bits are the Unix time in ms, then the version nibble 7).
 */
export function uuidV7Floor(at: Date): string {
  const hex = Math.max(0, Math.floor(at.getTime())).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * The warehouse export's reads of the interactions table this module owns (the warehouse module declares the
 * port, src/app.ts wires this). Keyset on `id` alone: interaction ids are UUIDv7 minted at insert, so id order is
 * insertion order and the primary key (tenant_id, id) serves the scan; `until` becomes the v7 floor of its
 * millisecond. Rows are returned in id order; `key_ts` is the received time, for the manifest only.
 */
export function createEventsWarehouseSource() {
  const where = (tenantId: string, after: Key | null, until: Date) =>
    sql`tenant_id = ${tenantId} AND id < ${uuidV7Floor(until)}::uuid ${after ? sql`AND id > ${after.id}::uuid` : sql``}`;
  return {
    async readBatch(q: Q, tenantId: string, after: Key | null, until: Date, limit: number) {
      return queryRows<Record<string, unknown> & { key_ts: string; key_id: string; partition_date: string }>(
        q,
        sql`SELECT id::text AS id, received_at, occurred_at, type, user_id, anonymous_id, profile_id::text AS profile_id, item_id,
                   value, quantity, price_minor::text AS price_minor, currency, order_id, session_id, recommendation_id, source,
                   context::text AS context, metadata::text AS metadata,
                   received_at::text AS key_ts, id::text AS key_id,
                   to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS partition_date
              FROM interactions WHERE ${where(tenantId, after, until)}
             ORDER BY id LIMIT ${limit}`,
      );
    },
    async countPending(q: Q, tenantId: string, after: Key | null, until: Date) {
      const row = await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM interactions WHERE ${where(tenantId, after, until)}`);
      return row?.n ?? 0;
    },
  };
}
