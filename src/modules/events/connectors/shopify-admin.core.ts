import type { ItemUpsert } from '../../catalog/index.ts';
import { isCurrencyCode, parseMoney } from '../../../platform/index.ts';
import { idText } from '../ingest.core.ts';
import { arr, obj, text, type Obj } from './connector.types.ts';

/**
 * Shopify's GraphQL Admin API as the backfill reads it: the queries (cursor pages of products, customers,
 * orders, with counts), the cost-based throttle arithmetic, and the translation of GraphQL nodes into the
 * REST/webhook shapes `mapShopify` already reads, so an order backfilled and the same order's webhook give the
 * same event ids (`shopify:order:<id>:line:<line id>`, numeric ids from `legacyResourceId`). Pure: no I/O.
 */

export const BACKFILL_RESOURCES = ['products', 'customers', 'orders'] as const;
export type BackfillResource = (typeof BACKFILL_RESOURCES)[number];

/** The access scope each resource needs (named in the error when Shopify refuses). */
export const SCOPE_OF: Record<BackfillResource, string> = {
  products: 'read_products',
  customers: 'read_customers',
  orders: 'read_orders',
};

/** Page size: 50 nodes with up to 50 line items keeps an orders page near Shopify's 1,000-point single-query limit. */
export const PAGE_SIZE = 50;

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

/** The count query of a resource (`productsCount` etc., API 2024-04 and later). `limit: null`: counts past 10,000. */
export function countQuery(resource: BackfillResource): string {
  return `query LoupeCount { ${resource}Count(limit: null) { count } }`;
}

/** One page of a resource after `cursor` (null: the first page), oldest id first. */
export function pageQuery(resource: BackfillResource): string {
  switch (resource) {
    case 'products':
      return `query LoupeProducts($first: Int!, $after: String) {
  products(first: $first, after: $after, sortKey: ID) {
    ${PAGE_INFO}
    nodes { id legacyResourceId title description vendor productType tags status handle onlineStoreUrl
      featuredImage { url }
      variants(first: 1) { nodes { price sku barcode inventoryQuantity } } }
  }
}`;
    case 'customers':
      return `query LoupeCustomers($first: Int!, $after: String) {
  customers(first: $first, after: $after, sortKey: ID) {
    ${PAGE_INFO}
    nodes { id legacyResourceId email phone firstName lastName createdAt updatedAt
      defaultAddress { phone countryCodeV2 } }
  }
}`;
    case 'orders':
      return `query LoupeOrders($first: Int!, $after: String) {
  orders(first: $first, after: $after, sortKey: ID) {
    ${PAGE_INFO}
    nodes { id legacyResourceId name createdAt processedAt currencyCode email phone displayFinancialStatus
      customer { id legacyResourceId email phone firstName lastName defaultAddress { phone countryCodeV2 } }
      lineItems(first: 50) { nodes { id quantity sku title
        variant { id legacyResourceId } product { id legacyResourceId }
        originalUnitPriceSet { shopMoney { amount currencyCode } } } } }
  }
}`;
  }
}

/** The query used to learn the shop's currency (product prices come without one). */
export const SHOP_QUERY = 'query LoupeShop { shop { currencyCode } }';

export interface PageOf {
  nodes: Obj[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Reads `data.<resource>` of a page answer defensively (a missing connection is an empty last page). */
export function pageOf(data: unknown, resource: BackfillResource): PageOf {
  const conn = obj(obj(data)[resource]);
  const info = obj(conn.pageInfo);
  const endCursor = typeof info.endCursor === 'string' && info.endCursor.length <= 2000 ? info.endCursor : null;
  return { nodes: arr(conn.nodes).map(obj), hasNextPage: info.hasNextPage === true && endCursor !== null, endCursor };
}

/** Reads `data.<resource>Count.count`, or null. */
export function countOf(data: unknown, resource: BackfillResource): number | null {
  const n = obj(obj(data)[`${resource}Count`]).count;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Shopify's `extensions.cost.throttleStatus` (points of the leaky bucket). */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export function throttleStatusOf(extensions: unknown): { requested: number | null; status: ThrottleStatus | null } {
  const cost = obj(obj(extensions).cost);
  const t = obj(cost.throttleStatus);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
  const max = num(t.maximumAvailable);
  const cur = num(t.currentlyAvailable);
  const rate = num(t.restoreRate);
  return {
    requested: num(cost.requestedQueryCost),
    status:
      max !== null && cur !== null && rate !== null && rate > 0
        ? { maximumAvailable: max, currentlyAvailable: cur, restoreRate: rate }
        : null,
  };
}

/**
 * Milliseconds to wait until the bucket holds `needed` points again (Shopify's documented restore: `restoreRate`
 * points per second). Zero when they are there; bounded to 60 s (a hostile or broken answer cannot stall a run).
 */
export function waitForPointsMs(status: ThrottleStatus | null, needed: number): number {
  if (!status) return 1000;
  const want = Math.min(needed, status.maximumAvailable);
  if (status.currentlyAvailable >= want) return 0;
  return Math.min(60_000, Math.ceil(((want - status.currentlyAvailable) / status.restoreRate) * 1000));
}

/** The numeric id of a node (`legacyResourceId`, else the tail of its `gid://shopify/Type/123`). */
export function legacyId(node: Obj): string | null {
  const legacy = idText(node.legacyResourceId);
  if (legacy && /^\d{1,20}$/.test(legacy)) return legacy;
  const gid = typeof node.id === 'string' ? /^gid:\/\/shopify\/\w+\/(\d{1,20})(?:\?.*)?$/.exec(node.id) : null;
  return gid ? gid[1]! : null;
}

function customerRest(c: Obj): Obj | null {
  const id = legacyId(c);
  if (!id) return null;
  const addr = obj(c.defaultAddress);
  return {
    id,
    email: c.email ?? null,
    phone: c.phone ?? null,
    first_name: c.firstName ?? null,
    last_name: c.lastName ?? null,
    created_at: c.createdAt ?? null,
    updated_at: c.updatedAt ?? null,
    default_address: { phone: addr.phone ?? null, country_code: addr.countryCodeV2 ?? null },
  };
}

/** A GraphQL customer node as the `customers/create` webhook body (null without an id). */
export const customerAsWebhook = (node: Obj): Obj | null => customerRest(node);

/** A GraphQL order node as the `orders/create` webhook body (same ids: the webhook and the backfill dedupe). */
export function orderAsWebhook(node: Obj): Obj | null {
  const id = legacyId(node);
  if (!id) return null;
  const customer = node.customer ? customerRest(obj(node.customer)) : null;
  return {
    id,
    name: node.name ?? null,
    created_at: node.createdAt ?? null,
    processed_at: node.processedAt ?? null,
    currency: node.currencyCode ?? null,
    email: node.email ?? null,
    phone: node.phone ?? null,
    financial_status: typeof node.displayFinancialStatus === 'string' ? node.displayFinancialStatus.toLowerCase() : null,
    customer: customer ?? {},
    line_items: arr(obj(node.lineItems).nodes).map((raw) => {
      const li = obj(raw);
      const money = obj(obj(li.originalUnitPriceSet).shopMoney);
      return {
        id: legacyId(li),
        quantity: li.quantity ?? 1,
        sku: li.sku ?? null,
        title: li.title ?? null,
        price: money.amount ?? null,
        variant_id: li.variant ? legacyId(obj(li.variant)) : null,
        product_id: li.product ? legacyId(obj(li.product)) : null,
      };
    }),
  };
}

/** The outcome of reading one product: an item for the catalog, or why the row was left out. */
export type ProductRow = { ok: true; item: ItemUpsert } | { ok: false; id: string | null; reason: string };

const clean = (v: unknown, max: number): string | null => {
  const s = text(v, max * 2);
  if (s === null) return null;
  // NUL bytes and lone surrogates cannot be stored in PostgreSQL text (or are not text): dropped, not stored.
  const out = s
    .split('\u0000')
    .join('')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
  return out.trim() ? out.trim().slice(0, max) : null;
};

/**
 * A GraphQL product node as a catalog item (item id = the numeric product id, which order line items name).
 * Unsafe characters are removed from text; a price that is not a valid amount of the shop's currency leaves the
 * product out (a per-row rejection, never a failed run).
 */
export function productAsItem(node: Obj, shopCurrency: string | null): ProductRow {
  const id = legacyId(node);
  if (!id) return { ok: false, id: null, reason: 'product without an id' };
  const name = clean(node.title, 500) ?? clean(node.handle, 500);
  if (!name) return { ok: false, id, reason: 'product without a title' };
  const variant = obj(arr(obj(node.variants).nodes)[0]);
  const currency = shopCurrency && isCurrencyCode(shopCurrency) ? shopCurrency.toUpperCase() : null;
  let priceMinor: bigint | null = null;
  const rawPrice = variant.price;
  if (rawPrice !== undefined && rawPrice !== null) {
    if (!currency) return { ok: false, id, reason: 'price without a known shop currency' };
    const amount = typeof rawPrice === 'string' || typeof rawPrice === 'number' ? rawPrice : String(obj(rawPrice).amount ?? '');
    const parsed = parseMoney(amount, currency);
    // 10^15 minor units (10^13 of a two-decimal currency) is beyond any real price: refused like the events door does.
    if (!parsed.ok || parsed.minor < 0n || parsed.minor > 10n ** 15n)
      return { ok: false, id, reason: `invalid price ${String(amount).slice(0, 40)}` };
    priceMinor = parsed.minor;
  }
  const stock =
    typeof variant.inventoryQuantity === 'number' && Number.isSafeInteger(variant.inventoryQuantity) ? variant.inventoryQuantity : null;
  const status = typeof node.status === 'string' ? node.status.toUpperCase() : 'ACTIVE';
  const tags = arr(node.tags)
    .map((t) => clean(t, 100))
    .filter((t): t is string => t !== null)
    .slice(0, 50);
  const item: ItemUpsert = {
    itemId: id,
    name,
    description: clean(node.description, 5000),
    category: clean(node.productType, 300),
    brand: clean(node.vendor, 200),
    tags,
    priceMinor,
    currency: priceMinor !== null ? currency : null,
    imageUrl: safeUrl(obj(node.featuredImage).url),
    url: safeUrl(node.onlineStoreUrl),
    availability: status === 'ARCHIVED' ? 'discontinued' : stock !== null && stock <= 0 ? 'out_of_stock' : 'in_stock',
    stock: stock !== null ? Math.max(0, Math.min(stock, 1_000_000_000)) : null,
    gtin: clean(variant.barcode, 50),
    mpn: null,
    attributes: { source: 'shopify', handle: clean(node.handle, 300), sku: clean(variant.sku, 100), shopify_status: status.toLowerCase() },
  };
  return { ok: true, item };
}

function safeUrl(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 2000) return null;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** What Shopify's refusal means for the merchant: the access scope to grant, named from its message or the resource. */
export function missingScopeOf(message: string, resource: BackfillResource | null): string {
  const m = /`?(read_[a-z_]+)`?/.exec(message);
  return m ? m[1]! : resource ? SCOPE_OF[resource] : 'read_products, read_customers, read_orders';
}
