/**
 * From a catalog item to a Google feed item: the default mapping, then the merchant's attribute mapping
 * rules (WooCommerce Google Listings' most requested feature: "set brand from the manufacturer attribute",
 * "gender is always female in Women's clothing"). Pure.
 */
import { formatMoney } from '../../platform/index.ts';
import type { FeedItem } from './feeds.precheck.core.ts';

/** One rule: set `attribute` from a source field (or a fixed value), for all items or some categories. */
export interface MappingRule {
  /** Google attribute to set, e.g. `brand`, `gender`, `google_product_category`. */
  attribute: string;
  /** A catalog field (`name`, `brand`, `category_path` ...) or a custom attribute (`attributes.material`). */
  source?: string | undefined;
  /** A fixed value, used when `source` is not given. */
  value?: string | undefined;
  /** Limit the rule to items in (`only`) or outside (`except`) these catalog category paths (and their subcategories). */
  categories?: { mode: 'only' | 'except'; paths: string[] } | undefined;
}

/** Google attributes a rule may set (everything the precheck and the Merchant API client read). */
export const MAPPABLE_ATTRIBUTES = [
  'title',
  'description',
  'link',
  'image_link',
  'availability',
  'availability_date',
  'price',
  'sale_price',
  'sale_price_effective_date',
  'price_includes_tax',
  'brand',
  'gtin',
  'mpn',
  'identifier_exists',
  'condition',
  'google_product_category',
  'product_type',
  'item_group_id',
  'color',
  'size',
  'gender',
  'age_group',
  'material',
  'pattern',
] as const;

/** The catalog fields a rule may read (besides `attributes.<key>`). */
export const MAPPING_SOURCES = [
  'item_id',
  'name',
  'description',
  'url',
  'image_url',
  'brand',
  'gtin',
  'mpn',
  'category_path',
  'availability',
] as const;

export interface CatalogProduct {
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
  googleCategoryId: number | null;
  attributes: Record<string, unknown>;
}

const AVAILABILITY: Record<string, string> = {
  in_stock: 'in_stock',
  out_of_stock: 'out_of_stock',
  preorder: 'preorder',
  backorder: 'backorder',
  discontinued: 'out_of_stock',
};

const money = (minor: string | null, currency: string | null): string | undefined =>
  minor === null || !currency ? undefined : `${formatMoney(minor, currency)} ${currency}`;

function sourceValue(p: CatalogProduct, source: string): string | undefined {
  if (source.startsWith('attributes.')) {
    const v = p.attributes[source.slice('attributes.'.length)];
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  }
  const fields: Record<(typeof MAPPING_SOURCES)[number], string | null> = {
    item_id: p.itemId,
    name: p.name,
    description: p.description,
    url: p.url,
    image_url: p.imageUrl,
    brand: p.brand,
    gtin: p.gtin,
    mpn: p.mpn,
    category_path: p.categoryPath,
    availability: p.availability,
  };
  return Object.hasOwn(fields, source) ? (fields[source as (typeof MAPPING_SOURCES)[number]] ?? undefined) : undefined;
}

function inCategories(path: string | null, c: NonNullable<MappingRule['categories']>): boolean {
  const hit = !!path && c.paths.some((p) => path === p || path.startsWith(`${p} > `));
  return c.mode === 'only' ? hit : !hit;
}

/** The feed item of a catalog product: the default mapping, then `rules` in order (a later rule wins). */
export function toFeedItem(p: CatalogProduct, rules: readonly MappingRule[] = []): FeedItem {
  const item: Record<string, string | undefined> = {
    id: p.itemId,
    title: p.name,
    description: p.description ?? undefined,
    link: p.url ?? undefined,
    image_link: p.imageUrl ?? undefined,
    availability: AVAILABILITY[p.availability] ?? p.availability,
    price: money(p.priceMinor, p.currency),
    sale_price: money(p.salePriceMinor, p.currency),
    brand: p.brand ?? undefined,
    gtin: p.gtin ?? undefined,
    mpn: p.mpn ?? undefined,
    google_product_category: p.googleCategoryId === null ? undefined : String(p.googleCategoryId),
    product_type: p.categoryPath ?? undefined,
  };
  for (const r of rules) {
    if (r.categories && !inCategories(p.categoryPath, r.categories)) continue;
    const v = r.source !== undefined ? sourceValue(p, r.source) : r.value;
    if (v !== undefined && v !== '') item[r.attribute] = v;
  }
  return item;
}
