/** Row and body mappers of the catalog's HTTP edge: repository rows → public JSON, validated bodies → internal shapes. */
import type { z } from 'zod';
import { type ErrorDetail, formatMoney, iso, parseMoney } from '../../platform/index.ts';
import type { CategoryJson, ItemUpdateBody, itemResponse } from './catalog.schemas.ts';
import type { ItemUpsert } from './catalog.types.ts';
import type { CategoryRow } from './categories.repository.ts';
import type { ItemRow } from './items.repository.ts';

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
