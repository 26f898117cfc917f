import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

interface Key {
  ts: string;
  id: string;
}

/**
 * The warehouse export's reads of the catalog items this module owns (the warehouse module declares the port,
 * src/app.ts wires this). Items change, so the keyset is (updated_at, id): each version is exported once and a
 * warehouse keeps the latest per id. Search columns (vectors, normalized names) stay home.
 */
export function createItemsWarehouseSource() {
  const where = (tenantId: string, after: Key | null, until: Date) =>
    sql`tenant_id = ${tenantId} AND updated_at < ${until.toISOString()}::timestamptz
        ${after ? sql`AND (updated_at, id) > (${after.ts}::timestamptz, ${after.id}::uuid)` : sql``}`;
  return {
    async readBatch(q: Q, tenantId: string, after: Key | null, until: Date, limit: number) {
      return queryRows<Record<string, unknown> & { key_ts: string; key_id: string; partition_date: string }>(
        q,
        sql`SELECT id::text AS id, item_id, name, description, category_id::text AS category_id, category_path, brand,
                   to_json(tags)::text AS tags, price_minor::text AS price_minor, sale_price_minor::text AS sale_price_minor, currency,
                   image_url, url, availability, stock, gtin, mpn, attributes::text AS attributes, is_active, created_at, updated_at,
                   updated_at::text AS key_ts, id::text AS key_id,
                   to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS partition_date
              FROM items WHERE ${where(tenantId, after, until)}
             ORDER BY updated_at, id LIMIT ${limit}`,
      );
    },
    async countPending(q: Q, tenantId: string, after: Key | null, until: Date) {
      const row = await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM items WHERE ${where(tenantId, after, until)}`);
      return row?.n ?? 0;
    },
  };
}
