import { sql } from 'drizzle-orm';
import { type Q, queryRows } from '../../platform/index.ts';

/** An active item with the fields a product feed is built from (read by the visibility module). */
export interface FeedSourceRow {
  itemId: string;
  name: string;
  description: string | null;
  url: string | null;
  imageUrl: string | null;
  availability: string;
  priceMinor: string | null;
  salePriceMinor: string | null;
  currency: string | null;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  categoryPath: string | null;
  /** The Google category its catalog category is aligned to. */
  googleCategoryId: number | null;
  attributes: Record<string, unknown>;
  updatedAt: Date;
}

/** Read-only view of the catalog as feed rows, always by tenant, ordered by item id (keyset pages). */
export function createFeedSourceRepository() {
  return {
    /** Active items after `afterItemId`, `limit` at a time; a page shorter than `limit` is the last. */
    feedRows: (q: Q, tenantId: string, afterItemId: string | null, limit: number) =>
      queryRows<FeedSourceRow>(
        q,
        sql`SELECT i.item_id AS "itemId", i.name, i.description, i.url, i.image_url AS "imageUrl", i.availability,
                   i.price_minor::text AS "priceMinor", i.sale_price_minor::text AS "salePriceMinor", i.currency, i.brand, i.gtin, i.mpn,
                   i.category_path AS "categoryPath", c.google_category_id AS "googleCategoryId", i.attributes, i.updated_at AS "updatedAt"
            FROM items i LEFT JOIN categories c ON c.tenant_id = i.tenant_id AND c.id = i.category_id
            WHERE i.tenant_id = ${tenantId} AND i.is_active ${afterItemId === null ? sql`` : sql`AND i.item_id > ${afterItemId}`}
            ORDER BY i.item_id LIMIT ${limit}`,
      ),
  };
}
