import { type SQL, sql } from 'drizzle-orm';
import { CURRENCIES_BY_EXPONENT, arrayParam, isUuid, newId, queryOne, queryRows, type Q } from '../../platform/index.ts';
import { underPath } from './categories.repository.ts';

/** One item ready to write: category already resolved to an id. */
export interface ItemWrite {
  itemId: string;
  name: string;
  description: string | null;
  categoryId: string | null;
  categoryPath: string | null;
  brand: string | null;
  tags: string[];
  priceMinor: bigint | null;
  salePriceMinor: bigint | null;
  currency: string | null;
  imageUrl: string | null;
  url: string | null;
  availability: string;
  stock: number | null;
  gtin: string | null;
  mpn: string | null;
  attributes: Record<string, unknown>;
}

export interface ItemRow {
  id: string;
  itemId: string;
  name: string;
  description: string | null;
  categoryId: string | null;
  /** The category's current path when it maps to a category row, else the path given by the source. */
  categoryPath: string | null;
  brand: string | null;
  tags: string[];
  priceMinor: string | null;
  salePriceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  url: string | null;
  availability: string;
  stock: number | null;
  gtin: string | null;
  mpn: string | null;
  attributes: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface ItemFilters {
  /** Category id or path: the category and everything below it. */
  category?: string | undefined;
  brand?: string | undefined;
  /** Decimal major units, compared in each item's own currency. */
  minPrice?: string | undefined;
  maxPrice?: string | undefined;
  availability?: string | undefined;
  tag?: string | undefined;
  updatedSince?: Date | undefined;
  /** Only these store item ids (a batch lookup of names). */
  itemIds?: readonly string[] | undefined;
}

export const ITEM_COLUMNS = sql`i.id, i.item_id AS "itemId", i.name, i.description, i.category_id AS "categoryId",
  COALESCE(c.path, i.category_path) AS "categoryPath", i.brand, i.tags, i.price_minor::text AS "priceMinor",
  i.sale_price_minor::text AS "salePriceMinor", i.currency, i.image_url AS "imageUrl", i.url, i.availability, i.stock,
  i.gtin, i.mpn, i.attributes, i.created_at AS "createdAt", i.updated_at AS "updatedAt"`;

export const ITEM_FROM = (tenantId: string) => sql`items i LEFT JOIN categories c ON c.tenant_id = ${tenantId} AND c.id = i.category_id`;

/** The item's price in major units (numeric), from its minor units and its currency's ISO 4217 exponent (2 unless listed). */
const majorPrice = sql`(i.price_minor::numeric / CASE ${sql.join(
  [...CURRENCIES_BY_EXPONENT].map(
    ([exp, codes]) => sql`WHEN i.currency = ANY(${arrayParam(codes)}::text[]) THEN ${sql.raw(String(10 ** exp))}`,
  ),
  sql` `,
)} ELSE 100 END)`;

/** WHERE conditions of the list and search filters (tenant filter included). */
export function filterConditions(tenantId: string, f: ItemFilters): SQL[] {
  const conds = [sql`i.tenant_id = ${tenantId}`];
  if (f.category !== undefined) {
    const rootMatch = isUuid(f.category) ? sql`(r.id = ${f.category}::uuid OR r.path = ${f.category})` : sql`r.path = ${f.category}`;
    conds.push(sql`i.category_id IN (SELECT d.id FROM categories r JOIN categories d ON d.tenant_id = r.tenant_id AND ${underPath(sql`d.path`, sql`r.path`)}
                                    WHERE r.tenant_id = ${tenantId} AND ${rootMatch})`);
  }
  if (f.brand !== undefined) conds.push(sql`i.brand_norm = lower(unaccent(${f.brand}))`);
  if (f.minPrice !== undefined) conds.push(sql`${majorPrice} >= ${f.minPrice}::numeric`);
  if (f.maxPrice !== undefined) conds.push(sql`${majorPrice} <= ${f.maxPrice}::numeric`);
  if (f.availability !== undefined) conds.push(sql`i.availability = ${f.availability}`);
  if (f.tag !== undefined) conds.push(sql`${f.tag} = ANY(i.tags)`);
  if (f.updatedSince !== undefined) conds.push(sql`i.updated_at >= ${f.updatedSince.toISOString()}::timestamptz`);
  if (f.itemIds !== undefined) conds.push(sql`i.item_id = ANY(${arrayParam([...f.itemIds])}::text[])`);
  return conds;
}

/** Rows per statement: bounds the size of one statement's parameters (10k rows is a few MB). */
const CHUNK = 10_000;

/** All SQL of items. Every statement filters on tenant_id. */
export function createItemsRepository() {
  return {
    /**
     * Upserts rows by (tenant, item_id) in one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` per
     * chunk. Rows must have distinct item ids (the caller keeps the last of duplicates). The search columns
     * are computed in the same statement. Returns Loupe's id of each row and whether it was new.
     */
    async upsertMany(
      q: Q,
      tenantId: string,
      rows: readonly ItemWrite[],
      now: Date,
    ): Promise<{ id: string; itemId: string; inserted: boolean }[]> {
      const out: { id: string; itemId: string; inserted: boolean }[] = [];
      for (let start = 0; start < rows.length; start += CHUNK) {
        const part = rows.slice(start, start + CHUNK);
        const col = <T>(f: (r: ItemWrite) => T) => arrayParam(part.map(f));
        const ts = now.toISOString();
        const res = await queryRows<{ id: string; itemId: string; inserted: boolean }>(
          q,
          sql`INSERT INTO items AS x (tenant_id, id, item_id, name, description, category_id, category_path, brand, tags, price_minor, sale_price_minor,
                currency, image_url, url, availability, stock, gtin, mpn, attributes, search_vector, name_norm, brand_norm, created_at, updated_at)
              SELECT ${tenantId}::uuid, s.id, s.item_id, s.name, s.description, s.category_id, s.category_path, s.brand, tg.tags, s.price_minor,
                s.sale_price_minor, s.currency, s.image_url, s.url, s.availability, s.stock, s.gtin, s.mpn, s.attributes::jsonb,
                setweight(to_tsvector('english', s.name), 'A')
                  || setweight(to_tsvector('english', coalesce(s.brand, '') || ' ' || array_to_string(tg.tags, ' ') || ' ' || coalesce(s.category_path, '')), 'B')
                  || setweight(to_tsvector('english', left(coalesce(s.description, ''), 100000)), 'C'),
                lower(unaccent(s.name)), lower(unaccent(s.brand)), ${ts}::timestamptz, ${ts}::timestamptz
              FROM unnest(
                ${col(() => newId())}::uuid[], ${col((r) => r.itemId)}::text[], ${col((r) => r.name)}::text[], ${col((r) => r.description)}::text[],
                ${col((r) => r.categoryId)}::uuid[], ${col((r) => r.categoryPath)}::text[], ${col((r) => r.brand)}::text[],
                ${col((r) => JSON.stringify(r.tags))}::text[], ${col((r) => r.priceMinor?.toString() ?? null)}::bigint[],
                ${col((r) => r.salePriceMinor?.toString() ?? null)}::bigint[], ${col((r) => r.currency)}::text[], ${col((r) => r.imageUrl)}::text[],
                ${col((r) => r.url)}::text[], ${col((r) => r.availability)}::text[], ${col((r) => r.stock)}::int[], ${col((r) => r.gtin)}::text[],
                ${col((r) => r.mpn)}::text[], ${col((r) => JSON.stringify(r.attributes))}::text[]
              ) AS s(id, item_id, name, description, category_id, category_path, brand, tags_json, price_minor, sale_price_minor, currency,
                     image_url, url, availability, stock, gtin, mpn, attributes)
              CROSS JOIN LATERAL (SELECT ARRAY(SELECT jsonb_array_elements_text(s.tags_json::jsonb)) AS tags) tg
              ON CONFLICT (tenant_id, item_id) DO UPDATE SET
                name = EXCLUDED.name, description = EXCLUDED.description, category_id = EXCLUDED.category_id, category_path = EXCLUDED.category_path,
                brand = EXCLUDED.brand, tags = EXCLUDED.tags, price_minor = EXCLUDED.price_minor, sale_price_minor = EXCLUDED.sale_price_minor,
                currency = EXCLUDED.currency, image_url = EXCLUDED.image_url, url = EXCLUDED.url, availability = EXCLUDED.availability,
                stock = EXCLUDED.stock, gtin = EXCLUDED.gtin, mpn = EXCLUDED.mpn, attributes = EXCLUDED.attributes,
                search_vector = EXCLUDED.search_vector, name_norm = EXCLUDED.name_norm, brand_norm = EXCLUDED.brand_norm,
                is_active = true, updated_at = EXCLUDED.updated_at
              RETURNING x.id, x.item_id AS "itemId", (x.xmax = 0) AS inserted`,
        );
        out.push(...res);
      }
      return out;
    },

    /** By Loupe's UUID or by the store's item_id (an id match wins when a store uses UUIDs as item ids). */
    getByIdOrItemId: (q: Q, tenantId: string, ref: string) =>
      queryOne<ItemRow>(
        q,
        isUuid(ref)
          ? sql`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM(tenantId)} WHERE i.tenant_id = ${tenantId} AND (i.id = ${ref}::uuid OR i.item_id = ${ref})
                ORDER BY (i.id = ${ref}::uuid) DESC LIMIT 1`
          : sql`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM(tenantId)} WHERE i.tenant_id = ${tenantId} AND i.item_id = ${ref}`,
      ),

    getByItemId: (q: Q, tenantId: string, itemId: string) =>
      queryOne<ItemRow>(
        q,
        sql`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM(tenantId)} WHERE i.tenant_id = ${tenantId} AND i.item_id = ${itemId}`,
      ),

    /** A page ordered by Loupe id (time-ordered); `after` is the last id seen. Fetches `limit` rows. */
    list: (q: Q, tenantId: string, f: ItemFilters, page: { after?: string | undefined; limit: number }) => {
      const conds = filterConditions(tenantId, f);
      if (page.after !== undefined) conds.push(sql`i.id > ${page.after}::uuid`);
      return queryRows<ItemRow>(
        q,
        sql`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM(tenantId)} WHERE ${sql.join(conds, sql` AND `)} ORDER BY i.id LIMIT ${page.limit}`,
      );
    },

    /**
     * Deletes an item and counts it in the tenant's change marker in the same statement (serving processes read
     * that count to notice deletions made elsewhere: serving.repository.ts `catalogMarker`).
     */
    async delete(q: Q, tenantId: string, id: string): Promise<boolean> {
      const r = await queryRows<{ id: string }>(
        q,
        sql`WITH d AS (DELETE FROM items WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id),
            m AS (INSERT INTO catalog_change_markers (tenant_id, items_deleted, updated_at)
                  SELECT ${tenantId}, count(*), now() FROM d HAVING count(*) > 0
                  ON CONFLICT (tenant_id) DO UPDATE SET items_deleted = catalog_change_markers.items_deleted + EXCLUDED.items_deleted,
                    updated_at = EXCLUDED.updated_at)
            SELECT id FROM d`,
      );
      return r.length > 0;
    },

    /** Fresh planner statistics for the whole table (every tenant's rows: statistics are per table). */
    async analyze(q: Q): Promise<void> {
      await q.execute(sql`ANALYZE items`);
    },
  };
}
export type ItemsRepository = ReturnType<typeof createItemsRepository>;
