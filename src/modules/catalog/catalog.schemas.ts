import { z } from 'zod';
import { type ErrorDetail, currencyCode, formatMoney, iso, paginationQuery, parseMoney } from '../../platform/index.ts';
import type { ItemUpsert } from './catalog.types.ts';
import type { ItemRow } from './items.repository.ts';
import type { CategoryRow } from './categories.repository.ts';

const AVAILABILITY = ['in_stock', 'out_of_stock', 'preorder', 'discontinued'] as const;
const text = (max: number) => z.string().max(max);
const money = z.union([z.string().max(40), z.number()]);

/** The store's item id: text, exact at any length. A JSON number is accepted only while it is exact (≤ 2^53). */
const itemIdField = z.union([
  z.string().trim().min(1, 'must not be empty').max(255),
  z
    .number()
    .int()
    .refine((n) => Number.isSafeInteger(n) && n >= 0, 'beyond 2^53 must be sent as a string to stay exact')
    .transform((n) => String(n)),
]);

const itemFields = {
  name: z.string().trim().min(1, 'must not be empty').max(1000),
  description: text(100_000).nullable(),
  /** Category path ('Electronics > Audio') or name; created when missing. */
  category: text(1000).nullable(),
  /** Alternatively, an existing category by id. */
  category_id: z.uuid().nullable(),
  brand: text(300).nullable(),
  tags: z.array(text(200)).max(100).nullable(),
  price: money.nullable(),
  sale_price: money.nullable(),
  currency: currencyCode.nullable(),
  image_url: text(2000).nullable(),
  url: text(2000).nullable(),
  availability: z.enum(AVAILABILITY).nullable(),
  stock: z.number().int().min(-1_000_000_000).max(2_000_000_000).nullable(),
  gtin: text(50).nullable(),
  mpn: text(100).nullable(),
  attributes: z.record(z.string().max(200), z.unknown()).nullable(),
};

export const itemCreateBody = z
  .object({ item_id: itemIdField, ...itemFields, name: itemFields.name })
  .partial()
  .required({ item_id: true, name: true })
  .strict();
export const itemUpdateBody = z
  .object({ item_id: itemIdField, ...itemFields })
  .partial()
  .strict();
export type ItemUpdateBody = z.infer<typeof itemUpdateBody>;

/**
 * Converts a validated body to the internal shape, money to exact minor units. Errors name the field
 * (prefixed, e.g. `[3].price`, for bulk rows). A price without a currency is in `defaultCurrency` (the item's
 * current one on updates, USD otherwise).
 */
export function toItemUpsert(
  b: ItemUpdateBody,
  prefix = '',
  defaultCurrency = 'USD',
): { ok: true; value: Partial<ItemUpsert> & { categoryId?: string | null } } | { ok: false; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const currency = b.currency ?? defaultCurrency;
  const v: Partial<ItemUpsert> & { categoryId?: string | null } = {};
  if (b.item_id !== undefined) v.itemId = b.item_id;
  if (b.name !== undefined) v.name = b.name;
  if (b.description !== undefined) v.description = b.description;
  if (b.category !== undefined) v.category = b.category;
  if (b.category_id !== undefined) v.categoryId = b.category_id;
  if (b.brand !== undefined) v.brand = b.brand;
  if (b.tags !== undefined) v.tags = b.tags;
  for (const [field, key] of [
    ['price', 'priceMinor'],
    ['sale_price', 'salePriceMinor'],
  ] as const) {
    const given = b[field];
    if (given === undefined) continue;
    if (given === null) {
      v[key] = null;
      continue;
    }
    const m = parseMoney(given, currency);
    if (m.ok) v[key] = m.minor;
    else errors.push({ field: `${prefix}${field}`, message: `${field} ${m.reason}` });
  }
  if (b.currency !== undefined) v.currency = b.currency;
  else if (b.price != null || b.sale_price != null) v.currency = defaultCurrency;
  if (b.image_url !== undefined) v.imageUrl = b.image_url;
  if (b.url !== undefined) v.url = b.url;
  if (b.availability !== undefined) v.availability = b.availability;
  if (b.stock !== undefined) v.stock = b.stock;
  if (b.gtin !== undefined) v.gtin = b.gtin;
  if (b.mpn !== undefined) v.mpn = b.mpn;
  if (b.attributes !== undefined) v.attributes = b.attributes;
  return errors.length ? { ok: false, errors } : { ok: true, value: v };
}

export const itemResponse = z.object({
  id: z.string(),
  item_id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  category_id: z.string().nullable(),
  category: z.string().nullable(),
  brand: z.string().nullable(),
  tags: z.array(z.string()),
  price: z.string().nullable().describe('Exact decimal text in the currency, e.g. "99.99"'),
  sale_price: z.string().nullable(),
  price_minor: z.string().nullable().describe('Integer minor units (cents), as text'),
  currency: z.string().nullable(),
  image_url: z.string().nullable(),
  url: z.string().nullable(),
  availability: z.string(),
  stock: z.number().nullable(),
  gtin: z.string().nullable(),
  mpn: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

export const toItem = (r: ItemRow): z.infer<typeof itemResponse> => ({
  id: r.id,
  item_id: r.itemId,
  name: r.name,
  description: r.description,
  category_id: r.categoryId,
  category: r.categoryPath,
  brand: r.brand,
  tags: r.tags,
  price: r.priceMinor === null ? null : formatMoney(r.priceMinor, r.currency ?? 'USD'),
  sale_price: r.salePriceMinor === null ? null : formatMoney(r.salePriceMinor, r.currency ?? 'USD'),
  price_minor: r.priceMinor,
  currency: r.currency,
  image_url: r.imageUrl,
  url: r.url,
  availability: r.availability,
  stock: r.stock,
  gtin: r.gtin,
  mpn: r.mpn,
  attributes: r.attributes,
  created_at: iso(r.createdAt)!,
  updated_at: iso(r.updatedAt)!,
});

const decimal = (field: string) =>
  z
    .string()
    .max(40)
    .regex(/^\d+(\.\d+)?$/, `${field} must be a non-negative decimal such as 19.99`);

/** Filters shared by the list and the search. */
export const itemFilterQuery = {
  category: z.string().max(1000).optional().describe('Category id or path; includes its whole subtree'),
  brand: z.string().max(300).optional(),
  min_price: decimal('min_price').optional(),
  max_price: decimal('max_price').optional(),
  availability: z.enum(AVAILABILITY).optional(),
  tag: z.string().max(200).optional(),
  updated_since: z.iso.datetime({ offset: true }).optional(),
};
export const itemListQuery = z.object({ ...paginationQuery, ...itemFilterQuery }).strict();
export const itemListResponse = z.object({ data: z.array(itemResponse), next_cursor: z.string().nullable() });

export const bulkBody = z.array(z.unknown()).min(1, 'send at least one item').max(1000, 'send at most 1000 items per call');
export const bulkResponse = z.object({
  inserted: z.number(),
  updated: z.number(),
  rejected: z.number(),
  results: z.array(
    z.object({
      index: z.number(),
      item_id: z.string().nullable(),
      status: z.enum(['created', 'updated', 'rejected']),
      id: z.string().nullable(),
      errors: z.array(z.object({ field: z.string().optional(), message: z.string() })).optional(),
    }),
  ),
});

// ---------------- categories ----------------
const categoryName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .refine((s) => !s.includes('>'), "must not contain '>' (it separates path segments)");
export const categoryCreateBody = z
  .object({ name: categoryName, parent_id: z.uuid().nullable().optional(), external_id: z.string().max(255).nullable().optional() })
  .strict();
export const categoryUpdateBody = z
  .object({
    name: categoryName.optional(),
    parent_id: z.uuid().nullable().optional(),
    external_id: z.string().max(255).nullable().optional(),
  })
  .strict();
export const categoryResponse = z.object({
  id: z.string(),
  name: z.string(),
  parent_id: z.string().nullable(),
  path: z.string(),
  depth: z.number(),
  external_id: z.string().nullable(),
  google_category_id: z.number().nullable(),
  item_count: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type CategoryJson = z.infer<typeof categoryResponse>;
export const toCategory = (c: CategoryRow): CategoryJson => ({
  id: c.id,
  name: c.name,
  parent_id: c.parentId,
  path: c.path,
  depth: c.depth,
  external_id: c.externalId,
  google_category_id: c.googleCategoryId,
  item_count: c.itemCount,
  created_at: iso(c.createdAt)!,
  updated_at: iso(c.updatedAt)!,
});
export type CategoryTreeJson = CategoryJson & { children: CategoryTreeJson[] };
export const categoryTreeNode: z.ZodType<CategoryTreeJson> = z.lazy(() => categoryResponse.extend({ children: z.array(categoryTreeNode) }));
export const categoryListQuery = z
  .object({
    format: z.enum(['flat', 'tree']).default('flat'),
    parent_id: z.string().max(100).optional().describe("Only direct children of this category ('root' for top level); flat format only"),
    ...paginationQuery,
  })
  .strict();
export const categoryListResponse = z.object({ data: z.array(categoryResponse), next_cursor: z.string().nullable() });
export const categoryTreeResponse = z.object({ data: z.array(categoryTreeNode) });
export const categoryDeleteQuery = z.object({ strategy: z.enum(['refuse', 'reparent']).default('refuse') }).strict();
