import { sql } from 'drizzle-orm';
import { queryOne, type Q } from '../../platform/index.ts';

/** How complete a tenant's catalog is: item counts per filled field (the data-quality dashboard, seed 003). */
export interface CatalogCompleteness {
  total: number;
  withName: number;
  withDescription: number;
  withCategory: number;
  withBrand: number;
  withPrice: number;
  withImage: number;
  lastItemUpdateAt: Date | null;
}

export function createCompletenessRepository() {
  return {
    /** One tenant-filtered aggregate over the tenant's items. */
    async completeness(q: Q, tenantId: string): Promise<CatalogCompleteness> {
      const row = await queryOne<CatalogCompleteness>(
        q,
        sql`SELECT count(*)::int AS total, count(*) FILTER (WHERE name <> '')::int AS "withName", count(description)::int AS "withDescription",
                   count(category_path)::int AS "withCategory", count(brand)::int AS "withBrand", count(price_minor)::int AS "withPrice",
                   count(image_url)::int AS "withImage", max(updated_at) AS "lastItemUpdateAt"
            FROM items WHERE tenant_id = ${tenantId}`,
      );
      return row!;
    },
  };
}
