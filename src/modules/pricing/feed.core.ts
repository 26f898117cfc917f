/**
 * Retailer feeds, pure: CSV, JSON and Google-format XML (RSS 2.0 `<item>` or Atom `<entry>` with `g:`
 * attributes) parsed into flat records, and each record validated into an offer or per-row errors. Field names
 * follow Google Merchant Center's product data specification (id, title, brand, gtin, mpn, price, sale_price,
 * availability, link, image_link); anything else is kept as an attribute.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import { parseMoney, unsafeTextReason } from '../../platform/index.ts';
import { normalizeGtin } from './gtin.core.ts';

export type FeedFormat = 'csv' | 'json' | 'xml';
export type FeedRecord = Record<string, unknown>;

export interface OfferInput {
  externalId: string;
  title: string;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  priceMinor: bigint;
  currency: string;
  availability: 'in_stock' | 'out_of_stock' | 'preorder';
  affiliateUrl: string | null;
  imageUrl: string | null;
  attributes: Record<string, string>;
}

export interface RowIssue {
  row: number;
  field: string;
  message: string;
  /** 'error': the row is refused; 'warning': the row is kept without the field. */
  level: 'error' | 'warning';
}

/** Guess the format from a file name or a content type, then from the first non-blank character. */
export function detectFormat(text: string, hint?: string): FeedFormat {
  const h = (hint ?? '').toLowerCase();
  if (/xml|rss|atom/.test(h)) return 'xml';
  if (/json/.test(h)) return 'json';
  if (/csv|tsv|text\/plain/.test(h)) return 'csv';
  const c = text.trimStart()[0];
  return c === '<' ? 'xml' : c === '[' || c === '{' ? 'json' : 'csv';
}

const MAX_FIELD = 10_000;

/**
 * Parses a whole feed into records. Throws (the feed is unreadable: nothing is imported) on a document that
 * does not parse at all; a CSV row with the wrong number of fields is kept and flagged by validation instead.
 */
export function parseFeed(text: string, format: FeedFormat): FeedRecord[] {
  if (format === 'json') {
    const doc = JSON.parse(text) as unknown;
    const list = Array.isArray(doc)
      ? doc
      : ((doc as { items?: unknown; products?: unknown })?.items ?? (doc as { products?: unknown })?.products);
    if (!Array.isArray(list)) throw new Error('a JSON feed is an array of products, or an object with "items" or "products"');
    return list.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as FeedRecord) : { __invalid: 'not an object' }));
  }
  if (format === 'xml') {
    // Entities declared in a DOCTYPE are refused outright (entity expansion attacks); the parser never fetches.
    if (/<!ENTITY/i.test(text)) throw new Error('XML feeds with entity declarations are refused');
    const parser = new XMLParser({
      ignoreAttributes: true,
      removeNSPrefix: true,
      parseTagValue: false,
      trimValues: true,
      isArray: (name) => name === 'item' || name === 'entry',
    });
    const doc = parser.parse(text, true) as { rss?: { channel?: { item?: FeedRecord[] } }; feed?: { entry?: FeedRecord[] } };
    const items = doc.rss?.channel?.item ?? doc.feed?.entry;
    if (!items) throw new Error('an XML feed is RSS 2.0 (<rss><channel><item>) or Atom (<feed><entry>)');
    return items;
  }
  const rows = parseCsv(text, {
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase().replace(/^g:/, '')),
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    trim: true,
    delimiter: text.slice(0, text.indexOf('\n')).includes('\t') ? '\t' : ',',
  }) as FeedRecord[];
  return rows;
}

const text = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') {
    // An XML element with attributes or children: its text node, when it has one.
    const t = (v as Record<string, unknown>)['#text'];
    return t === undefined ? null : text(t);
  }
  const s = String(v).trim();
  return s === '' ? null : s;
};

const AVAILABILITY: Record<string, OfferInput['availability']> = {
  in_stock: 'in_stock',
  instock: 'in_stock',
  'in stock': 'in_stock',
  available: 'in_stock',
  out_of_stock: 'out_of_stock',
  'out of stock': 'out_of_stock',
  outofstock: 'out_of_stock',
  sold_out: 'out_of_stock',
  preorder: 'preorder',
  backorder: 'preorder',
};

const KNOWN = new Set([
  'id',
  'title',
  'brand',
  'gtin',
  'ean',
  'upc',
  'mpn',
  'price',
  'sale_price',
  'currency',
  'availability',
  'link',
  'affiliate_link',
  'image_link',
  'description',
]);

/**
 * One record into an offer, or the reasons it is refused. `row` is the 1-based record number (the CSV line
 * after the header). `defaultCurrency` applies when a price carries none. A bad GTIN is a warning: the offer is
 * kept, matched without it.
 */
export function validateRecord(
  rec: FeedRecord,
  row: number,
  defaultCurrency: string | null,
): { offer: OfferInput | null; issues: RowIssue[] } {
  const issues: RowIssue[] = [];
  const err = (field: string, message: string) => issues.push({ row, field, message, level: 'error' });
  if ('__invalid' in rec) {
    err('row', 'must be an object');
    return { offer: null, issues };
  }
  const values = new Map<string, string>();
  for (const [k, v] of Object.entries(rec)) {
    const key = k.toLowerCase().replace(/^g:/, '');
    const t = text(v);
    if (t === null) continue;
    if (t.length > MAX_FIELD) err(key.slice(0, 40), `is longer than ${MAX_FIELD} characters`);
    else {
      const unsafe = unsafeTextReason(t);
      if (unsafe) err(key.slice(0, 40), unsafe === 'nul_byte' ? 'contains a NUL byte' : 'contains a lone surrogate');
      else values.set(key, t);
    }
  }
  const externalId = values.get('id');
  const title = values.get('title');
  if (!externalId) err('id', 'is required');
  else if (externalId.length > 255) err('id', 'is longer than 255 characters');
  if (!title) err('title', 'is required');

  // Google's "19.99 USD"; or a bare amount beside a currency column; sale_price wins when set.
  const rawPrice = values.get('sale_price') ?? values.get('price');
  let priceMinor: bigint | null = null;
  let currency: string | null = null;
  if (!rawPrice) err('price', 'is required');
  else {
    const m = /^([+-]?[\d.]+)\s*([A-Za-z]{3})?$/.exec(rawPrice.replace(/^([A-Za-z]{3})\s+([+-]?[\d.]+)$/, '$2 $1'));
    currency = (m?.[2] ?? values.get('currency') ?? defaultCurrency)?.toUpperCase() ?? null;
    if (!m) err('price', 'must be an amount such as "19.99 USD"');
    else if (!currency) err('currency', 'is required when the price has none');
    else {
      const r = parseMoney(m[1]!, currency);
      if (!r.ok) err(m[2] || !values.get('currency') ? 'price' : 'currency', r.reason);
      else if (r.minor <= 0n) err('price', 'must be greater than zero');
      else priceMinor = r.minor;
    }
  }
  const rawAvailability = values.get('availability');
  const availability = rawAvailability ? AVAILABILITY[rawAvailability.toLowerCase().replace(/-/g, '_')] : 'in_stock';
  if (!availability) err('availability', 'must be in stock, out of stock, preorder or backorder');

  let gtin: string | null = null;
  const rawGtin = values.get('gtin') ?? values.get('ean') ?? values.get('upc');
  if (rawGtin) {
    const g = normalizeGtin(rawGtin);
    if (g.ok) gtin = g.gtin14;
    else issues.push({ row, field: 'gtin', message: `${g.reason}: the offer is kept without it`, level: 'warning' });
  }
  const url = (k: string) => {
    const v = values.get(k);
    if (!v) return null;
    if (!/^https?:\/\//i.test(v)) {
      issues.push({ row, field: k, message: 'must be an http(s) URL: the offer is kept without it', level: 'warning' });
      return null;
    }
    return v;
  };
  const affiliateUrl = url('affiliate_link') ?? url('link');
  const imageUrl = url('image_link');
  if (issues.some((i) => i.level === 'error')) return { offer: null, issues };
  const attributes: Record<string, string> = {};
  for (const [k, v] of values) if (!KNOWN.has(k) && Object.keys(attributes).length < 50) attributes[k.slice(0, 100)] = v.slice(0, 1000);
  const description = values.get('description');
  if (description) attributes.description = description.slice(0, 5000);
  return {
    offer: {
      externalId: externalId!,
      title: title!.slice(0, 1000),
      brand: values.get('brand')?.slice(0, 200) ?? null,
      gtin,
      mpn: values.get('mpn')?.slice(0, 100) ?? null,
      priceMinor: priceMinor!,
      currency: currency!,
      availability: availability!,
      affiliateUrl,
      imageUrl,
      attributes,
    },
    issues,
  };
}

/**
 * Duplicated offers inside one feed: the last record of an external id wins (a feed lists the latest state
 * last), earlier ones are reported as warnings so the count of accepted rows stays honest.
 */
export function dedupeOffers(rows: readonly { row: number; offer: OfferInput }[]): { offers: OfferInput[]; duplicates: RowIssue[] } {
  const last = new Map<string, { row: number; offer: OfferInput }>();
  const duplicates: RowIssue[] = [];
  for (const r of rows) {
    const prev = last.get(r.offer.externalId);
    if (prev) duplicates.push({ row: prev.row, field: 'id', message: `duplicate of row ${r.row}, which replaces it`, level: 'warning' });
    last.set(r.offer.externalId, r);
  }
  return { offers: [...last.values()].map((r) => r.offer), duplicates };
}
