/**
 * Feed push, the pure part: a feed item as a Merchant API ProductInput (prices in micros), its content hash,
 * and the plan of a push (what to insert, what to delete, what is unchanged). No I/O.
 */
import { createHash } from 'node:crypto';
import { currencyExponent } from '../../platform/index.ts';
import type { ProductInput } from './google.merchant.client.ts';
import { parseFeedPrice, type FeedItem } from './feeds.precheck.core.ts';

const ENUM = (v: string | undefined) =>
  v
    ? v
        .trim()
        .toUpperCase()
        .replace(/[\s-]+/g, '_')
    : undefined;

/** `"19.99 USD"` as the Merchant API's Price: micros (1,000,000 per unit) as a decimal string. */
export function toPrice(text: string | undefined): { amountMicros: string; currencyCode: string } | undefined {
  if (!text) return undefined;
  const p = parseFeedPrice(text);
  if (!p.ok) return undefined;
  return { amountMicros: (p.minor * 10n ** BigInt(6 - currencyExponent(p.currency))).toString(), currencyCode: p.currency };
}

const isoTime = (s: string) => s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');

/** The ProductInput of a feed item. Absent attributes are left out (never sent as empty strings). */
export function toProductInput(item: FeedItem, target: { contentLanguage: string; feedLabel: string }): ProductInput {
  const t = (k: string) => {
    const v = item[k]?.trim();
    return v ? v : undefined;
  };
  const [saleStart, saleEnd] = (t('sale_price_effective_date') ?? '').split('/');
  const gtin = t('gtin')?.replace(/[\s-]/g, '');
  const exists = t('identifier_exists')?.toLowerCase();
  const attrs: Record<string, unknown> = {
    title: t('title'),
    description: t('description'),
    link: t('link'),
    imageLink: t('image_link'),
    availability: ENUM(t('availability')),
    availabilityDate: t('availability_date') ? isoTime(t('availability_date')!) : undefined,
    price: toPrice(t('price')),
    salePrice: toPrice(t('sale_price')),
    salePriceEffectiveDate: saleStart && saleEnd ? { startTime: isoTime(saleStart), endTime: isoTime(saleEnd) } : undefined,
    brand: t('brand'),
    gtins: gtin ? [gtin] : undefined,
    mpn: t('mpn'),
    identifierExists: exists === undefined ? undefined : !(exists === 'no' || exists === 'false'),
    condition: ENUM(t('condition')),
    googleProductCategory: t('google_product_category'),
    productTypes: t('product_type') ? [t('product_type')] : undefined,
    itemGroupId: t('item_group_id'),
    color: t('color'),
    sizes: t('size') ? [t('size')] : undefined,
    gender: ENUM(t('gender')),
    ageGroup: ENUM(t('age_group')),
    material: t('material'),
    pattern: t('pattern'),
  };
  for (const k of Object.keys(attrs)) if (attrs[k] === undefined) delete attrs[k];
  return { offerId: t('id') ?? '', contentLanguage: target.contentLanguage, feedLabel: target.feedLabel, productAttributes: attrs };
}

/** sha256 of the input's canonical JSON (keys sorted): equal inputs, equal hashes, whatever the key order. */
export function contentHash(input: ProductInput): string {
  return createHash('sha256').update(canonical(input)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface PushPlan {
  /** Items whose input changed or was never written (or whose last write was refused). */
  upserts: { itemId: string; input: ProductInput; hash: string }[];
  /** Items Merchant Center holds that the catalog no longer has (or that the precheck now refuses). */
  deletes: string[];
  /** Items gone from the catalog whose last write was refused: nothing to delete at Google, only to forget. */
  forget: string[];
  unchanged: number;
}

/**
 * Compares the feed with what was last written. `written` maps item id -> hash of the input Merchant Center
 * holds (null: the last write was refused, so it is tried again). O(items + written).
 */
export function planPush(
  current: readonly { itemId: string; input: ProductInput; hash: string }[],
  written: ReadonlyMap<string, string | null>,
  /** Catalog items the precheck refused this time (their state is written apart). */
  refused: ReadonlySet<string> = new Set(),
): PushPlan {
  const upserts: PushPlan['upserts'] = [];
  const seen = new Set<string>();
  let unchanged = 0;
  for (const c of current) {
    seen.add(c.itemId);
    const h = written.get(c.itemId);
    if (h !== undefined && h !== null && h === c.hash) unchanged++;
    else upserts.push(c);
  }
  const deletes: string[] = [];
  const forget: string[] = [];
  for (const [id, hash] of written) {
    if (seen.has(id)) continue;
    if (hash !== null) deletes.push(id);
    else if (!refused.has(id)) forget.push(id);
  }
  return { upserts, deletes, forget, unchanged };
}
