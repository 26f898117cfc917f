import { type SQL, sql } from 'drizzle-orm';
import { type Q, queryRows } from '../../platform/index.ts';

/**
 * The warehouse marts' reads of the items this module owns (`MartSources.products`, wired in src/app.ts): every
 * item, active or not, in id order by pages; money in minor units as text.
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
    readPage: (q: Q, tenantId: string, afterId: string | null, limit: number) =>
      queryRows<{
        productId: string;
        itemId: string;
        name: string | null;
        brand: string | null;
        categoryPath: string | null;
        priceMinor: string | null;
        salePriceMinor: string | null;
        currency: string | null;
        availability: string | null;
        isActive: boolean;
        createdAt: Date;
        updatedAt: Date;
      }>(
        q,
        sql`SELECT id::text AS "productId", item_id AS "itemId", name, brand, category_path AS "categoryPath",
                   price_minor::text AS "priceMinor", sale_price_minor::text AS "salePriceMinor", currency, availability,
                   is_active AS "isActive", created_at AS "createdAt", updated_at AS "updatedAt"
              FROM items
             WHERE tenant_id = ${tenantId} ${afterId === null ? sql`` : sql`AND id > ${afterId}::uuid`}
             ORDER BY id LIMIT ${limit}`,
      ),
  };
}
