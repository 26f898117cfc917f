import { type SQL, sql } from 'drizzle-orm';

/**
 * The warehouse marts' reads of the items this module owns (`MartSources.productsSql`, wired in src/app.ts): every
 * item, active or not, as an SQL piece of the warehouse's own INSERT ... SELECT; money in minor units.
 */
export function createProductsMartSource() {
  return {
    /**
     * The tenant's items (active or not) as a piece of the warehouse's own statement (a subquery, no I/O here), in
     * dim_products' column order: product_id uuid, item_id, name, brand, category_path, price_minor int8,
     * sale_price_minor int8, currency, availability, is_active, created_at, updated_at.
     */
    productsSql: (tenantId: string): SQL =>
      sql`SELECT id AS product_id, item_id, name, brand, category_path, price_minor, sale_price_minor, currency, availability,
                 is_active, created_at, updated_at
            FROM items WHERE tenant_id = ${tenantId}`,
    /** A change marker of what `productsSql` answers (a text expression): count and sum of row hashes. */
    productsMarkerSql: (tenantId: string): SQL =>
      sql`(SELECT concat_ws(':', count(*), sum(hashtext(concat_ws('|', id, item_id, name, brand, category_path, price_minor, sale_price_minor,
                                                                 currency, availability, is_active, created_at, updated_at))))
             FROM items WHERE tenant_id = ${tenantId})`,
  };
}
