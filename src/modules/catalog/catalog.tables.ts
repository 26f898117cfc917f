import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

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
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('items_tenant_item_id_key').on(t.tenantId, t.itemId),
    index('items_tenant_category_idx').on(t.tenantId, t.categoryId),
    index('items_tenant_updated_idx').on(t.tenantId, t.updatedAt),
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
