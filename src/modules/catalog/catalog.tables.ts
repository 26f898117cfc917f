import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** PostgreSQL full-text document; written by the catalog repository on every item write. */
const tsvector = customType<{ data: string }>({
  dataType() {
    return 'tsvector';
  },
});

/**
 * Catalog tables. `item_id` is the store's own id (text, exact beyond 2^53); `id` is Loupe's time-ordered
 * UUID. Money is stored as integer minor units with its currency.
 */
export const items = pgTable(
  'items',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    itemId: text('item_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    categoryId: uuid('category_id'),
    /** The category as given by the source (path or name), kept even when it maps to no category row. */
    categoryPath: text('category_path'),
    brand: text('brand'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    priceMinor: bigint('price_minor', { mode: 'bigint' }),
    salePriceMinor: bigint('sale_price_minor', { mode: 'bigint' }),
    currency: text('currency'),
    imageUrl: text('image_url'),
    url: text('url'),
    availability: text('availability').notNull().default('in_stock'), // in_stock | out_of_stock | preorder | discontinued
    stock: integer('stock'),
    gtin: text('gtin'),
    mpn: text('mpn'),
    attributes: jsonb('attributes').notNull().default({}),
    isActive: boolean('is_active').notNull().default(true),
    /** Weighted document: name (A), brand and tags (B), description (C); 'english' stemming. */
    searchVector: tsvector('search_vector'),
    /** lower(unaccent(name)): prefix autocomplete (text_pattern_ops) and typo fallback (trigram). */
    nameNorm: text('name_norm').notNull().default(''),
    /** lower(unaccent(brand)): brand facet and brand autocomplete. */
    brandNorm: text('brand_norm'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('items_tenant_item_id_key').on(t.tenantId, t.itemId),
    index('items_tenant_category_idx').on(t.tenantId, t.categoryId),
    index('items_tenant_updated_idx').on(t.tenantId, t.updatedAt),
    // The newsfeed's newest items (serving.feedItems: ORDER BY created_at DESC, item_id): an index scan, not a
    // sort of every item of the tenant on each read.
    index('items_tenant_created_idx').on(t.tenantId, t.createdAt.desc().nullsFirst(), t.itemId),
    // Pricing links match groups to items by GTIN (serving.itemsByGtin).
    index('items_tenant_gtin_idx').on(t.tenantId, t.gtin),
    index('items_tenant_name_prefix_idx').on(t.tenantId, t.nameNorm.op('text_pattern_ops')),
    index('items_tenant_brand_prefix_idx').on(t.tenantId, t.brandNorm.op('text_pattern_ops')),
    index('items_search_vector_idx').using('gin', t.searchVector),
    index('items_name_trgm_idx').using('gin', t.nameNorm.op('gin_trgm_ops')),
  ],
);

export const categories = pgTable(
  'categories',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    /** The store's own category id, when it has one. */
    externalId: text('external_id'),
    name: text('name').notNull(),
    parentId: uuid('parent_id'),
    /** Materialized path of names, ' > ' separated (Google taxonomy style): 'Electronics > Audio > Headphones'. */
    path: text('path').notNull(),
    depth: integer('depth').notNull().default(0),
    googleCategoryId: integer('google_category_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('categories_tenant_path_key').on(t.tenantId, t.path),
    index('categories_tenant_parent_idx').on(t.tenantId, t.parentId),
  ],
);

/**
 * Google's product taxonomy (taxonomy-with-ids.en-US.txt): a platform-wide reference table, not tenant
 * data, so it has no tenant_id. Reloading a newer file upserts by Google's id.
 */
export const googleTaxonomy = pgTable(
  'google_taxonomy',
  {
    id: integer('id').primaryKey(),
    name: text('name').notNull(),
    /** Full path as Google publishes it: 'Electronics > Audio > Audio Components > Headphones'. */
    path: text('path').notNull(),
    parentId: integer('parent_id'),
    depth: integer('depth').notNull(),
    /** lower(unaccent(path)) for trigram similarity. */
    pathNorm: text('path_norm').notNull(),
  },
  (t) => [index('google_taxonomy_path_trgm_idx').using('gin', t.pathNorm.op('gin_trgm_ops'))],
);

/** Every change of a category's Google alignment: who, when, from what to what. Append-only. */
export const categoryAlignmentAudit = pgTable(
  'category_alignment_audit',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    categoryId: uuid('category_id').notNull(),
    oldGoogleCategoryId: integer('old_google_category_id'),
    newGoogleCategoryId: integer('new_google_category_id'),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id').notNull(),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('category_alignment_audit_category_idx').on(t.tenantId, t.categoryId, t.createdAt),
  ],
);

/**
 * Per tenant, how many items were ever deleted: serving processes compare it between reads to notice a deletion
 * made elsewhere (an upsert or update moves `items.updated_at`, which they read through its index; a deletion
 * leaves nothing there). Written in the deleting statement (items.repository.ts `delete`); no row: none yet.
 */
export const catalogChangeMarkers = pgTable('catalog_change_markers', {
  tenantId: uuid('tenant_id').primaryKey(),
  itemsDeleted: bigint('items_deleted', { mode: 'bigint' }).notNull().default(sql`0`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
