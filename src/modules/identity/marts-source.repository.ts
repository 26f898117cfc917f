import { type SQL, sql } from 'drizzle-orm';

/**
 * The warehouse marts' reads of the tables this module owns (the warehouse module declares `MartSources`, src/app.ts
 * wires this): unified orders (`profile_orders`, every channel counted once) and profiles, as SQL pieces of the
 * warehouse's own INSERT ... SELECT (as catalog's `sellableJson` is for commerce), so no row passes through JavaScript.
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
    /**
     * A change marker of everything `ordersSql` and `customersSql` answer (a text expression): equal markers mean, up
     * to hash collisions, the same rows. Counts plus sums of row hashes: an insert, delete, refund, relink after a
     * merge or any profile change moves it. One scan of each table.
     */
    customersMarkerSql: (tenantId: string): SQL =>
      sql`(SELECT concat_ws(':', count(*), sum(revenue_minor), sum(refunded_minor),
                            sum(hashtext(concat_ws('|', order_id, profile_id, occurred_at, currency, revenue_minor, refunded_minor))))
             FROM profile_orders WHERE tenant_id = ${tenantId})
          || '/' ||
          (SELECT concat_ws(':', count(*),
                            sum(hashtext(concat_ws('|', id, status, merged_into, first_seen_at, last_seen_at, event_count, channels::text))))
             FROM profiles WHERE tenant_id = ${tenantId})`,
  };
}
