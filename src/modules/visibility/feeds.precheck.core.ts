/**
 * Feed precheck: every product checked against Google's product data specification before it is sent to
 * Merchant Center, with one result per item and per rule and the fix to make. Pure: no I/O, no clock, the
 * taxonomy passed in.
 *
 * Items use Google's attribute names (`id`, `title`, `image_link`, `sale_price_effective_date` ...) with text
 * values as in a text feed: prices are `"19.99 USD"`, dates ISO 8601. O(total text length) per feed.
 */
import { isCurrencyCode, parseMoney } from '../../platform/index.ts';
import { APPAREL_DETAIL_COUNTRIES, COUNTRY_CURRENCY, TAX_EXCLUSIVE_COUNTRIES } from './feeds.countries.core.ts';

/** A product in Google's attribute vocabulary; absent and empty values are the same. */
export type FeedItem = Readonly<Record<string, string | undefined>>;

export type Severity = 'error' | 'warning';

/** Every rule the precheck applies, with its severity (error: Google disapproves; warning: reduced reach). */
export const PRECHECK_RULES = {
  id_required: 'error',
  id_too_long: 'error',
  id_duplicate: 'error',
  title_required: 'error',
  title_too_long: 'error',
  description_required: 'error',
  description_too_long: 'error',
  description_script: 'error',
  link_required: 'error',
  link_invalid: 'error',
  image_link_required: 'error',
  image_link_invalid: 'error',
  availability_required: 'error',
  availability_invalid: 'error',
  availability_date_required: 'error',
  availability_date_invalid: 'error',
  price_required: 'error',
  price_invalid: 'error',
  price_currency_country: 'error',
  price_tax_included: 'error',
  sale_price_invalid: 'error',
  sale_price_not_lower: 'error',
  sale_price_effective_date_invalid: 'error',
  condition_invalid: 'error',
  brand_required: 'error',
  brand_too_long: 'error',
  identifier_required: 'error',
  identifier_exists_invalid: 'error',
  gtin_invalid_length: 'error',
  gtin_check_digit: 'error',
  mpn_too_long: 'error',
  item_group_id_required: 'error',
  item_group_id_too_long: 'error',
  google_product_category_unknown: 'warning',
  apparel_attribute_required: 'error',
  gender_invalid: 'error',
  age_group_invalid: 'error',
} as const satisfies Record<string, Severity>;
export type PrecheckRule = keyof typeof PRECHECK_RULES;
export const PRECHECK_RULE_IDS = Object.keys(PRECHECK_RULES) as PrecheckRule[];

export interface PrecheckIssue {
  rule: PrecheckRule;
  attribute: string;
  severity: Severity;
  message: string;
  /** What to change, in words a merchant can act on. */
  fix: string;
}

export interface ItemResult {
  /** Position of the item in the feed (0-based). */
  index: number;
  /** The item's `id` (truncated to 200 characters), '' when missing. */
  id: string;
  status: 'ok' | 'warning' | 'error';
  issues: PrecheckIssue[];
}

export interface PrecheckOptions {
  /** ISO 3166-1 alpha-2 country the feed targets (its currency and tax rules apply). */
  targetCountry: string;
  /** Google category id -> full path. Without it the category rule is skipped. */
  taxonomy?: ReadonlyMap<number, string>;
}

export interface PrecheckReport {
  items: ItemResult[];
  summary: { items: number; ok: number; warnings: number; errors: number; byRule: Partial<Record<PrecheckRule, number>> };
}

const AVAILABILITY = new Set(['in_stock', 'out_of_stock', 'preorder', 'backorder']);
const CONDITION = new Set(['new', 'refurbished', 'used']);
const GENDER = new Set(['male', 'female', 'unisex']);
const AGE_GROUP = new Set(['newborn', 'infant', 'toddler', 'kids', 'adult']);
const YES_NO = new Set(['yes', 'no', 'true', 'false']);
/** Attributes that make an item one variant of a product (Google: items differing only by these share an item_group_id). */
const VARIANT_ATTRIBUTES = ['color', 'size', 'material', 'pattern'] as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const SCRIPT = /<\s*\/?\s*script\b|javascript\s*:|\son[a-z]+\s*=/i;
const PRICE_TEXT = /^\s*([0-9]+(?:\.[0-9]+)?)\s+([A-Za-z]{3})\s*$/;

const text = (item: FeedItem, attr: string): string => (item[attr] ?? '').trim();

/** True when `value` is an absolute http(s) URL of at most 2,000 characters with a host. */
export function isFeedUrl(value: string): boolean {
  if (value.length > 2000 || !/^https?:\/\//i.test(value) || /\s/.test(value)) return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.includes('.');
  } catch {
    return false;
  }
}

/**
 * GS1 check digit: the digits before the last, weighted 3, 1, 3 ... from the right, summed; the check digit
 * brings the sum to a multiple of ten. Valid for GTIN-8, -12 (UPC), -13 (EAN) and -14.
 */
export function gs1CheckDigitValid(gtin: string): boolean {
  let sum = 0;
  for (let i = gtin.length - 2, w = 3; i >= 0; i--, w = 4 - w) sum += (gtin.charCodeAt(i) - 48) * w;
  return (10 - (sum % 10)) % 10 === gtin.charCodeAt(gtin.length - 1) - 48;
}

/** A feed price `"19.99 USD"` as minor units and currency, or a reason. */
export function parseFeedPrice(value: string): { ok: true; minor: bigint; currency: string } | { ok: false; reason: string } {
  const m = PRICE_TEXT.exec(value);
  if (!m) return { ok: false, reason: 'must be an amount and an ISO 4217 currency code, e.g. "19.99 USD"' };
  const currency = m[2]!.toUpperCase();
  if (!isCurrencyCode(currency)) return { ok: false, reason: `has an unknown currency "${currency}"` };
  const r = parseMoney(m[1]!, currency);
  if (!r.ok) return { ok: false, reason: r.reason };
  if (r.minor <= 0n) return { ok: false, reason: 'must be greater than zero' };
  return { ok: true, minor: r.minor, currency };
}

const validDate = (s: string): boolean => ISO_DATE.test(s) && !Number.isNaN(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));
const dateMs = (s: string): number => Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));

/** Checks a whole feed. Cross-item rules (duplicate ids, variants without a group) look across all items. */
export function precheckFeed(items: readonly FeedItem[], opts: PrecheckOptions): PrecheckReport {
  const country = opts.targetCountry.toUpperCase();
  const seenIds = new Set<string>();
  const titleVariants = new Map<string, number>();
  for (const item of items) {
    const title = text(item, 'title').toLowerCase();
    if (title && VARIANT_ATTRIBUTES.some((a) => text(item, a))) titleVariants.set(title, (titleVariants.get(title) ?? 0) + 1);
  }
  const results: ItemResult[] = new Array(items.length);
  const byRule: Partial<Record<PrecheckRule, number>> = {};
  let ok = 0;
  let warnings = 0;
  let errors = 0;
  for (let i = 0; i < items.length; i++) {
    const issues = checkItem(items[i]!, { country, taxonomy: opts.taxonomy, seenIds, titleVariants });
    let status: ItemResult['status'] = 'ok';
    for (const issue of issues) {
      byRule[issue.rule] = (byRule[issue.rule] ?? 0) + 1;
      if (issue.severity === 'error') status = 'error';
      else if (status === 'ok') status = 'warning';
    }
    if (status === 'ok') ok++;
    else if (status === 'warning') warnings++;
    else errors++;
    results[i] = { index: i, id: text(items[i]!, 'id').slice(0, 200), status, issues };
  }
  return { items: results, summary: { items: items.length, ok, warnings, errors, byRule } };
}

interface FeedContext {
  country: string;
  taxonomy: ReadonlyMap<number, string> | undefined;
  /** Ids of the items before this one (a repeated id is reported on its later occurrences). */
  seenIds: Set<string>;
  titleVariants: ReadonlyMap<string, number>;
}

/** The rules of one item, in the order of Google's specification. */
function checkItem(item: FeedItem, f: FeedContext): PrecheckIssue[] {
  const out: PrecheckIssue[] = [];
  const add = (rule: PrecheckRule, attribute: string, message: string, fix: string) =>
    out.push({ rule, attribute, severity: PRECHECK_RULES[rule], message, fix });

  const id = text(item, 'id');
  if (!id) add('id_required', 'id', 'id is missing.', 'Give every product a unique id (your SKU works).');
  else if (id.length > 50) add('id_too_long', 'id', `id has ${id.length} characters; the limit is 50.`, 'Shorten the id to 50 characters.');
  else if (f.seenIds.has(id))
    add(
      'id_duplicate',
      'id',
      `id "${id}" is already used by an earlier product in this feed.`,
      'Give each product (and each variant) its own id.',
    );
  else f.seenIds.add(id);

  const title = text(item, 'title');
  if (!title) add('title_required', 'title', 'title is missing.', 'Add the product name as it appears on the landing page.');
  else if (title.length > 150)
    add('title_too_long', 'title', `title has ${title.length} characters; the limit is 150.`, 'Shorten the title to 150 characters.');

  const description = text(item, 'description');
  if (!description) add('description_required', 'description', 'description is missing.', 'Add a description of the product.');
  else {
    if (description.length > 5000)
      add(
        'description_too_long',
        'description',
        `description has ${description.length} characters; the limit is 5,000.`,
        'Shorten the description to 5,000 characters.',
      );
    if (SCRIPT.test(description))
      add(
        'description_script',
        'description',
        'description contains a script tag, a javascript: link or an event handler.',
        'Remove scripts and event handlers from the description; use plain text or simple formatting.',
      );
  }

  urlRule(add, item, 'link', true, 'the product landing page');
  urlRule(add, item, 'image_link', true, 'the main product image');

  const availability = text(item, 'availability').toLowerCase().replace(/ /g, '_');
  if (!availability)
    add(
      'availability_required',
      'availability',
      'availability is missing.',
      'Set availability to in_stock, out_of_stock, preorder or backorder.',
    );
  else if (!AVAILABILITY.has(availability))
    add(
      'availability_invalid',
      'availability',
      `availability "${availability.slice(0, 40)}" is not one of Google's values.`,
      'Use in_stock, out_of_stock, preorder or backorder.',
    );
  const availabilityDate = text(item, 'availability_date');
  if ((availability === 'preorder' || availability === 'backorder') && !availabilityDate)
    add(
      'availability_date_required',
      'availability_date',
      `availability is ${availability} but availability_date is missing.`,
      'Add availability_date: the ISO 8601 date the product ships, e.g. 2026-12-25T13:00-0800.',
    );
  else if (availabilityDate && !validDate(availabilityDate))
    add(
      'availability_date_invalid',
      'availability_date',
      'availability_date is not an ISO 8601 date.',
      'Write it as YYYY-MM-DD or YYYY-MM-DDThh:mm with an offset, e.g. 2026-12-25T13:00-0800.',
    );

  const priceText = text(item, 'price');
  const price = priceText ? parseFeedPrice(priceText) : undefined;
  const expected = COUNTRY_CURRENCY[f.country];
  if (!price) add('price_required', 'price', 'price is missing.', 'Add the price with its currency, e.g. "19.99 USD".');
  else if (!price.ok)
    add('price_invalid', 'price', `price ${price.reason}.`, 'Write the price as an amount and a currency code, e.g. "19.99 USD".');
  else if (expected && price.currency !== expected)
    add(
      'price_currency_country',
      'price',
      `price is in ${price.currency}, but products shown in ${f.country} must be priced in ${expected}.`,
      `Submit the price in ${expected} for ${f.country} (or target a country that uses ${price.currency}).`,
    );
  if (TAX_EXCLUSIVE_COUNTRIES.has(f.country) && isYes(text(item, 'price_includes_tax')))
    add(
      'price_tax_included',
      'price',
      `prices for ${f.country} must exclude tax, but this price includes it.`,
      'Send the pre-tax price and configure tax in Merchant Center.',
    );

  const saleText = text(item, 'sale_price');
  if (saleText) {
    const sale = parseFeedPrice(saleText);
    if (!sale.ok) add('sale_price_invalid', 'sale_price', `sale_price ${sale.reason}.`, 'Write it like the price, e.g. "14.99 USD".');
    else if (price?.ok && (sale.currency !== price.currency || sale.minor >= price.minor))
      add(
        'sale_price_not_lower',
        'sale_price',
        sale.currency !== price.currency ? 'sale_price is in another currency than price.' : 'sale_price is not lower than price.',
        'Give a sale price below the regular price, in the same currency.',
      );
  }
  const effective = text(item, 'sale_price_effective_date');
  if (effective) {
    const [start, end, extra] = effective.split('/');
    if (extra !== undefined || !start || !end || !validDate(start) || !validDate(end) || dateMs(end) <= dateMs(start))
      add(
        'sale_price_effective_date_invalid',
        'sale_price_effective_date',
        'sale_price_effective_date must be two ISO 8601 dates, start/end, with the end after the start.',
        'Write it as 2026-11-27T00:00-0500/2026-11-30T23:59-0500.',
      );
  }

  const condition = text(item, 'condition').toLowerCase();
  if (condition && !CONDITION.has(condition))
    add(
      'condition_invalid',
      'condition',
      `condition "${condition.slice(0, 40)}" is not one of Google's values.`,
      'Use new, refurbished or used.',
    );

  identifierRules(add, item);

  const group = text(item, 'item_group_id');
  if (group.length > 50)
    add(
      'item_group_id_too_long',
      'item_group_id',
      `item_group_id has ${group.length} characters; the limit is 50.`,
      'Shorten it to 50 characters.',
    );
  else if (!group && title && VARIANT_ATTRIBUTES.some((a) => text(item, a)) && (f.titleVariants.get(title.toLowerCase()) ?? 0) > 1)
    add(
      'item_group_id_required',
      'item_group_id',
      'This product is one of several variants (same title, differing in color, size, material or pattern) but has no item_group_id.',
      "Give all variants of the product the same item_group_id (the parent product's SKU).",
    );

  const categoryPath = categoryRule(add, item, f.taxonomy);
  apparelRules(add, item, categoryPath, f.country);
  return out;
}

type Add = (rule: PrecheckRule, attribute: string, message: string, fix: string) => void;

const isYes = (v: string): boolean => v === 'yes' || v === 'true' || v === 'TRUE' || v === 'Yes';

function urlRule(add: Add, item: FeedItem, attr: 'link' | 'image_link', required: boolean, what: string): void {
  const v = text(item, attr);
  if (!v) {
    if (required) add(`${attr}_required`, attr, `${attr} is missing.`, `Add the URL of ${what}.`);
    return;
  }
  if (!isFeedUrl(v))
    add(
      `${attr}_invalid`,
      attr,
      `${attr} is not a valid http(s) URL.`,
      `Use the full URL of ${what}, starting with https://, without spaces, at most 2,000 characters.`,
    );
}

function identifierRules(add: Add, item: FeedItem): void {
  const exists = text(item, 'identifier_exists').toLowerCase();
  if (exists && !YES_NO.has(exists)) {
    add('identifier_exists_invalid', 'identifier_exists', 'identifier_exists must be yes or no.', 'Use yes or no.');
  }
  const brand = text(item, 'brand');
  const gtin = text(item, 'gtin').replace(/[\s-]/g, '');
  const mpn = text(item, 'mpn');
  if (brand.length > 70)
    add('brand_too_long', 'brand', `brand has ${brand.length} characters; the limit is 70.`, 'Shorten the brand to 70 characters.');
  if (gtin) {
    if (!/^\d+$/.test(gtin) || ![8, 12, 13, 14].includes(gtin.length))
      add(
        'gtin_invalid_length',
        'gtin',
        'gtin must be 8, 12, 13 or 14 digits (GTIN-8, UPC, EAN, GTIN-14).',
        "Copy the barcode number from the product's packaging; leave gtin empty if it has none.",
      );
    else if (!gs1CheckDigitValid(gtin))
      add(
        'gtin_check_digit',
        'gtin',
        `gtin ${gtin} fails the GS1 check digit.`,
        'The number has a typo: re-copy it from the barcode (the last digit is a checksum of the others).',
      );
  }
  if (mpn.length > 70)
    add('mpn_too_long', 'mpn', `mpn has ${mpn.length} characters; the limit is 70.`, 'Shorten the mpn to 70 characters.');
  if (exists === 'no' || exists === 'false') return;
  if (!brand)
    add(
      'brand_required',
      'brand',
      'brand is missing.',
      'Add the brand; for products without one (custom goods), set identifier_exists to no.',
    );
  if (!gtin && !mpn)
    add(
      'identifier_required',
      'gtin',
      'Neither gtin nor mpn is given.',
      "Add the product's GTIN (barcode) or its manufacturer part number; for products without either, set identifier_exists to no.",
    );
}

/** Checks google_product_category (an id or a full path) and returns the category's path when known. */
function categoryRule(add: Add, item: FeedItem, taxonomy: ReadonlyMap<number, string> | undefined): string | undefined {
  const v = text(item, 'google_product_category');
  if (!v || !taxonomy) return undefined;
  if (/^\d{1,9}$/.test(v)) {
    const path = taxonomy.get(Number(v));
    if (path) return path;
  } else if (pathSet(taxonomy).has(v)) return v;
  add(
    'google_product_category_unknown',
    'google_product_category',
    `google_product_category "${v.slice(0, 80)}" is not in Google's product taxonomy.`,
    "Pick a category id from Google's taxonomy (the category alignment page suggests one), or leave it empty to let Google choose.",
  );
  return undefined;
}

const pathSets = new WeakMap<ReadonlyMap<number, string>, Set<string>>();
function pathSet(taxonomy: ReadonlyMap<number, string>): Set<string> {
  let s = pathSets.get(taxonomy);
  if (!s) pathSets.set(taxonomy, (s = new Set(taxonomy.values())));
  return s;
}

function apparelRules(add: Add, item: FeedItem, categoryPath: string | undefined, country: string): void {
  const gender = text(item, 'gender').toLowerCase();
  const age = text(item, 'age_group').toLowerCase();
  if (gender && !GENDER.has(gender))
    add('gender_invalid', 'gender', `gender "${gender.slice(0, 40)}" is not one of Google's values.`, 'Use male, female or unisex.');
  if (age && !AGE_GROUP.has(age))
    add(
      'age_group_invalid',
      'age_group',
      `age_group "${age.slice(0, 40)}" is not one of Google's values.`,
      'Use newborn, infant, toddler, kids or adult.',
    );
  if (!categoryPath?.startsWith('Apparel & Accessories') || !APPAREL_DETAIL_COUNTRIES.has(country)) return;
  const needsSize = categoryPath.startsWith('Apparel & Accessories > Clothing') || categoryPath.startsWith('Apparel & Accessories > Shoes');
  const missing = ['color', 'gender', 'age_group', ...(needsSize ? ['size'] : [])].filter((a) => !text(item, a));
  if (missing.length)
    add(
      'apparel_attribute_required',
      missing[0]!,
      `Apparel shown in ${country} needs ${missing.join(', ')}.`,
      `Add ${missing.join(', ')} (for example color "Navy", gender "unisex", age_group "adult", size "M").`,
    );
}
