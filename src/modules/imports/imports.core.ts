/**
 * Pure core of file imports: per-row validation and conversion (column planning in imports.columns.ts),
 * statistics, and export escaping. No I/O; `now` is passed in.
 */
import { createHash } from 'node:crypto';
import { findUnsafeValue, isCurrencyCode, parseMoney, UNSAFE_TEXT_MESSAGE, unsafeTextReason } from '../../platform/index.ts';
import { CUSTOM_TYPE_PATTERN, INTERACTION_TYPES, type NewInteraction } from '../events/index.ts';
import type { ItemUpsert } from '../catalog/index.ts';
import type { AnonymousRows, ColumnPlan, LoupeField } from './imports.columns.ts';

// ---------------- values ----------------

/** One problem with one row: reported to the user with the row number, the field and the reason. */
export interface RowIssue {
  row: number;
  field: string;
  code: string;
  reason: string;
  value?: string | null;
  itemId?: string | null;
  severity: 'error' | 'warning';
}

export const MAX_ID_CHARS = 256;
export const MAX_CELL_CHARS = 65_536;
export const MAX_DESCRIPTION_CHARS = 1_048_576;
/** Timestamps this far past `now` are still accepted (clock skew between the source and Loupe). */
export const FUTURE_SKEW_MS = 5 * 60_000;

type Parsed<T> = { ok: true; value: T } | { ok: false; code: string; reason: string };
const bad = (code: string, reason: string): { ok: false; code: string; reason: string } => ({ ok: false, code, reason });

/**
 * A decimal amount as integer minor units of `currency` (ISO 4217 exponent: JPY 0, USD 2, KWD 3), exactly, through
 * the platform's money module. Files from spreadsheets and shop exports get two allowances the API does not give:
 * an optional leading currency symbol and comma thousands separators in their only unambiguous form
 * ("1,299.99", "¥1,500"). Refuses negatives, more decimals than the currency has ("0.001" USD would need
 * rounding, which would not be exact) and values past int8. `currency` must be an ISO 4217 code (callers check).
 */
export function parsePriceMinor(raw: string, currency = 'USD'): Parsed<bigint> {
  let s = raw.trim().replace(/^[$£€¥]\s*/, '');
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  const m = parseMoney(s, currency);
  if (m.ok) return { ok: true, value: m.minor };
  const shown = truncate(raw, 40);
  if (m.reason === 'must not be negative') return bad('PRICE_NEGATIVE', `price ${shown} is negative`);
  if (m.reason === 'is too large') return bad('PRICE_OUT_OF_RANGE', `price "${shown}" is too large`);
  if (m.reason.startsWith('has more than')) return bad('PRICE_TOO_PRECISE', `price "${shown}" ${m.reason}`);
  return bad('PRICE_NOT_A_NUMBER', `price "${shown}" is not a number`);
}

/** The row's currency when it is an ISO 4217 code (refused by name otherwise), USD when the row has none. */
function rowCurrency(c: RowCheck): { code: string | null; forPrices: string | null } {
  const text = c.text('currency', 10)?.trim();
  if (!text) return { code: null, forPrices: 'USD' };
  if (!/^[A-Za-z]{3}$/.test(text) || !isCurrencyCode(text)) {
    c.fail('currency', 'CURRENCY_INVALID', `currency "${truncate(text, 20)}" is not an ISO 4217 code`, text);
    return { code: null, forPrices: null };
  }
  return { code: text.toUpperCase(), forPrices: text.toUpperCase() };
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parses ISO 8601 ('2024-01-10T14:23:00Z'), 'YYYY-MM-DD HH:MM[:SS]' (no zone: read as UTC), a date alone,
 * or Unix epoch seconds (10 digits) / milliseconds (13 digits). Refuses dates before 1970 or more than
 * FUTURE_SKEW_MS past `now`.
 */
export function parseTimestamp(raw: string, now: Date): Parsed<Date> {
  const s = raw.trim();
  let ms: number;
  if (/^\d{9,10}(\.\d+)?$/.test(s)) ms = Math.round(Number(s) * 1000);
  else if (/^\d{12,13}$/.test(s)) ms = Number(s);
  else {
    const m = ISO_RE.exec(s);
    if (!m) return bad('TIMESTAMP_INVALID', `timestamp "${truncate(raw, 40)}" is not a date (use ISO 8601, e.g. 2024-01-10T14:23:00Z)`);
    const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
    const month = Number(mo);
    const day = Number(d);
    if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) {
      return bad('TIMESTAMP_INVALID', `timestamp "${truncate(raw, 40)}" is not a valid date`);
    }
    ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec), Number(frac.slice(0, 3).padEnd(3, '0')));
    if (new Date(ms).getUTCDate() !== day) return bad('TIMESTAMP_INVALID', `timestamp "${truncate(raw, 40)}" is not a valid date`);
    if (zone && zone.toUpperCase() !== 'Z') {
      const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      const off = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
      ms -= zm[1] === '+' ? off : -off;
    }
  }
  if (!Number.isFinite(ms)) return bad('TIMESTAMP_INVALID', `timestamp "${truncate(raw, 40)}" is not a date`);
  if (ms < 0) return bad('TIMESTAMP_BEFORE_1970', `timestamp ${truncate(raw, 40)} is before 1970`);
  if (ms > now.getTime() + FUTURE_SKEW_MS) return bad('TIMESTAMP_IN_FUTURE', `timestamp ${truncate(raw, 40)} is in the future`);
  return { ok: true, value: new Date(ms) };
}

function parseId(raw: string): Parsed<string> {
  const s = raw.trim();
  if (s === '') return bad('MISSING_ID', 'is empty');
  if (s.length > MAX_ID_CHARS) return bad('ID_TOO_LONG', `is longer than ${MAX_ID_CHARS} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return bad('ID_INVALID', 'contains control characters');
  return { ok: true, value: s };
}

function parseInteger(raw: string, what: string): Parsed<number> {
  const s = raw.trim().replace(/\.0+$/, '');
  if (!/^[+-]?\d{1,9}$/.test(s)) return bad(`${what.toUpperCase()}_INVALID`, `${what} "${truncate(raw, 40)}" is not a whole number`);
  return { ok: true, value: Number(s) };
}

export const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Depth beyond which a JSON cell (attributes, metadata) is refused. */
export const MAX_JSON_DEPTH = 32;

/**
 * Text safe to show and store in a report: control characters (except tab and newline), NUL and lone
 * surrogates become U+FFFD, so no raw byte of a file ever reaches an error message or the database.
 */
export function displayText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\uFFFD');
}

/** A column name fit for a report (the file's header may hold anything). */

/** An issue whose every text is safe to store and show (see displayText). */
export function storableIssue(i: RowIssue): RowIssue {
  return {
    ...i,
    field: displayText(i.field),
    reason: displayText(i.reason),
    ...(i.value != null ? { value: displayText(i.value) } : {}),
    ...(i.itemId != null ? { itemId: displayText(i.itemId) } : {}),
  };
}

const unsafeReason = (field: string, r: 'nul_byte' | 'lone_surrogate' | 'too_deep', path?: string): string =>
  r === 'too_deep'
    ? `${field} is nested deeper than ${MAX_JSON_DEPTH} levels`
    : `${field}${path && path !== '$' ? ` (at ${path})` : ''} ${UNSAFE_TEXT_MESSAGE[r]}`;

/** A record as it comes from the file: column → raw value (strings from CSV; any JSON value from JSON). */
export type RawRecord = Record<string, unknown>;

/** Text of a raw value: strings as they are (never trimmed of content), numbers and booleans as text. */
export function textOf(v: unknown): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

class RowCheck {
  readonly issues: RowIssue[] = [];
  constructor(
    readonly row: number,
    readonly record: RawRecord,
    readonly plan: ColumnPlan,
  ) {}
  raw(field: LoupeField): unknown {
    const src = this.plan.fields[field];
    if (!src) return undefined;
    return 'constant' in src ? src.constant : this.record[src.column];
  }
  /** The field's text, or null when absent or blank. Records an issue (and returns undefined) when invalid. */
  text(field: LoupeField, max = MAX_CELL_CHARS): string | null | undefined {
    const raw = this.raw(field);
    if (!this.storable(field, raw)) return undefined;
    const v = textOf(raw);
    if (v == null || v.trim() === '') return null;
    if (v.length > max) return this.fail(field, 'VALUE_TOO_LONG', `${field} is ${v.length} characters long; the limit is ${max}`, v);
    if (v.includes('\uFFFD')) return this.fail(field, 'INVALID_UTF8', `${field} is not valid UTF-8 text (save the file as UTF-8)`, v);
    return v;
  }
  /** False (and an UNSAFE_TEXT issue, without the value) when the cell holds NUL, a lone surrogate or too deep JSON. */
  storable(field: string, v: unknown): boolean {
    if (v == null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return true;
    const bad =
      typeof v === 'string'
        ? unsafeTextReason(v)
          ? { path: '$', reason: unsafeTextReason(v)! }
          : null
        : findUnsafeValue(v, MAX_JSON_DEPTH);
    if (!bad) return true;
    this.fail(field, 'UNSAFE_TEXT', unsafeReason(field, bad.reason, bad.path), null);
    return false;
  }
  fail(field: string, code: string, reason: string, value?: string | null): undefined {
    this.issues.push({ row: this.row, field, code, reason, value: value == null ? null : truncate(value, 200), severity: 'error' });
    return undefined;
  }
  check<T>(field: LoupeField, p: Parsed<T>, value: string): T | undefined {
    if (p.ok) return p.value;
    return this.fail(field, p.code, p.reason, value);
  }
  id(field: LoupeField, required: boolean): string | null | undefined {
    const v = this.text(field, MAX_CELL_CHARS);
    if (v === undefined) return undefined;
    if (v === null) return required ? this.fail(field, 'MISSING_ID', `${field} is missing`) : null;
    const p = parseId(v);
    return p.ok ? p.value : this.fail(field, p.code, `${field} ${p.reason}`, v);
  }
  extras(): Record<string, unknown> | null {
    let out: Record<string, unknown> | null = null;
    for (const c of Object.keys(this.record)) {
      if (this.plan.used.has(c) || c.trim() === '') continue;
      const v = this.record[c];
      if (v == null || v === '') continue;
      if (unsafeTextReason(c)) {
        this.fail('<column>', 'UNSAFE_TEXT', unsafeReason('a column name', unsafeTextReason(c)!), null);
        continue;
      }
      if (!this.storable(c, v)) continue;
      if (typeof v === 'string' && v.length > MAX_CELL_CHARS) {
        this.fail(c, 'VALUE_TOO_LONG', `${c} is ${v.length} characters long; the limit is ${MAX_CELL_CHARS}`, v);
        continue;
      }
      if (typeof v === 'string' && v.includes('\uFFFD')) {
        this.fail(c, 'INVALID_UTF8', `${c} is not valid UTF-8 text (save the file as UTF-8)`, v);
        continue;
      }
      (out ??= {})[c] = v;
    }
    return out;
  }
}

export type RowResult<T> = { ok: true; value: T; itemId: string | null } | { ok: false; issues: RowIssue[]; itemId: string | null };

const AVAILABILITY: Record<string, ItemUpsert['availability']> = {
  in_stock: 'in_stock',
  instock: 'in_stock',
  available: 'in_stock',
  true: 'in_stock',
  yes: 'in_stock',
  '1': 'in_stock',
  out_of_stock: 'out_of_stock',
  outofstock: 'out_of_stock',
  sold_out: 'out_of_stock',
  false: 'out_of_stock',
  no: 'out_of_stock',
  '0': 'out_of_stock',
  preorder: 'preorder',
  pre_order: 'preorder',
  backorder: 'preorder',
  discontinued: 'discontinued',
};

/** Splits a tags cell: JSON array, or text separated by '|', ';' or ','. */
export function parseTags(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map((x) => textOf(x) ?? '') : (textOf(v) ?? '').split(/[|;,]/);
  return [...new Set(list.map((t) => t.trim()).filter((t) => t !== '' && t.length <= 200))].slice(0, 100);
}

/** Validates and converts one items row. */
export function validateItemRow(row: number, record: RawRecord, plan: ColumnPlan): RowResult<ItemUpsert> {
  const c = new RowCheck(row, record, plan);
  const itemId = c.id('item_id', true);
  const name = c.text('name', 1000);
  if (name === null) c.fail('name', 'MISSING_NAME', 'name is missing');
  const description = c.text('description', MAX_DESCRIPTION_CHARS);
  const category = c.text('category', 1000);
  const brand = c.text('brand', 1000);
  const currency = rowCurrency(c);
  const priceText = c.text('price', 100);
  const price = priceText && currency.forPrices ? c.check('price', parsePriceMinor(priceText, currency.forPrices), priceText) : null;
  const saleText = c.text('sale_price', 100);
  const sale = saleText && currency.forPrices ? c.check('sale_price', parsePriceMinor(saleText, currency.forPrices), saleText) : null;
  const stockText = c.text('stock', 100);
  const stock = stockText ? c.check('stock', parseInteger(stockText, 'stock'), stockText) : null;
  const availText = c.text('availability', 100);
  let availability: ItemUpsert['availability'] = null;
  if (availText) {
    availability =
      AVAILABILITY[
        availText
          .trim()
          .toLowerCase()
          .replace(/[\s-]+/g, '_')
      ] ?? null;
    if (!availability)
      c.fail(
        'availability',
        'AVAILABILITY_INVALID',
        `availability "${truncate(availText, 40)}" is not one of in_stock, out_of_stock, preorder, discontinued`,
        availText,
      );
  }
  const imageUrl = c.text('image_url', 4000);
  const url = c.text('url', 4000);
  const gtin = c.text('gtin', 100);
  const mpn = c.text('mpn', 200);
  const tagsRaw = c.storable('tags', c.raw('tags')) ? c.raw('tags') : null;
  const attributes = c.extras();
  const id = itemId ?? null;
  if (c.issues.length || !itemId || !name) return { ok: false, issues: c.issues.map((i) => ({ ...i, itemId: id })), itemId: id };
  const value: ItemUpsert = {
    itemId,
    name,
    description: description ?? null,
    category: category?.trim() ?? null,
    brand: brand ?? null,
    tags: tagsRaw == null || tagsRaw === '' ? null : parseTags(tagsRaw),
    priceMinor: price ?? null,
    salePriceMinor: sale ?? null,
    currency: currency.code,
    imageUrl: imageUrl ?? null,
    url: url ?? null,
    availability,
    stock: stock ?? null,
    gtin: gtin ?? null,
    mpn: mpn ?? null,
    attributes,
  };
  return { ok: true, value, itemId };
}

/** An accepted interactions row, and the customer identifiers it carries besides user and anonymous ids. */
export interface ImportedInteraction {
  row: NewInteraction;
  identifiers: { type: string; value: string }[];
}

const BUILT_IN = new Set<string>(INTERACTION_TYPES);
const TYPE_ALIASES: Record<string, string> = {
  addtocart: 'add_to_cart',
  cart: 'add_to_cart',
  order: 'purchase',
  buy: 'purchase',
  transaction: 'purchase',
  pageview: 'view',
  page_view: 'view',
  rate: 'rating',
};

/**
 * Validates and converts one interactions row. Types: the built-ins, or the tenant's custom types
 * (lower_snake_case, listed in `customTypes`). A purchase with a negative quantity (a cancellation line,
 * as Online Retail's 'C…' invoices) is recorded as a `refund` of the positive quantity.
 */
export function validateInteractionRow(
  row: number,
  record: RawRecord,
  plan: ColumnPlan,
  opts: { now: Date; customTypes?: ReadonlySet<string>; defaultType?: string; source?: string; anonymousRows?: AnonymousRows },
): RowResult<ImportedInteraction> {
  const c = new RowCheck(row, record, plan);
  const userId = c.id('user_id', false);
  let anonymousId = c.id('anonymous_id', false);
  const orderId = c.id('order_id', false);
  const sessionId = c.id('session_id', false);
  // A POS sale may name its customer only by e-mail, phone or loyalty card: identity links it to the profile.
  const identifiers: { type: string; value: string }[] = [];
  for (const [field, type] of [
    ['email', 'email'],
    ['phone', 'phone'],
    ['loyalty_id', 'loyalty_id'],
  ] as const) {
    const v = c.text(field, 320);
    if (v) identifiers.push({ type, value: v.trim() });
  }
  // A guest checkout (no customer at all) becomes one anonymous shopper per order, or per session, when asked.
  if (!userId && !anonymousId && !identifiers.length && opts.anonymousRows === 'anonymous') {
    if (orderId) anonymousId = `order:${orderId}`;
    else if (sessionId) anonymousId = `session:${sessionId}`;
  }
  const someone = userId || anonymousId || identifiers.length > 0;
  if (!someone && userId !== undefined && anonymousId !== undefined) {
    const field = (['user_id', 'anonymous_id', 'email', 'phone', 'loyalty_id'] as const).find((f) => plan.fields[f]) ?? 'user_id';
    if (opts.anonymousRows === 'anonymous')
      c.fail(field, 'MISSING_USER', 'the row names no customer, and no order_id or session_id to import it as an anonymous shopper');
    else
      c.fail(
        field,
        'MISSING_USER',
        'user_id is missing (a row names its customer by user_id, anonymous_id, email, phone or loyalty_id; or import rows without a customer as anonymous shoppers with anonymous_rows=anonymous)',
      );
  }
  const itemId = c.id('item_id', true);
  const typeText = c.text('type', 100);
  let type: string | undefined;
  if (typeText === null) {
    if (opts.defaultType) type = opts.defaultType;
    else c.fail('type', 'MISSING_TYPE', 'interaction type is missing');
  } else if (typeText !== undefined) {
    const t = typeText
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
    const canon = TYPE_ALIASES[t] ?? t;
    if (BUILT_IN.has(canon) || (CUSTOM_TYPE_PATTERN.test(canon) && opts.customTypes?.has(canon))) type = canon;
    else
      c.fail(
        'type',
        'UNKNOWN_TYPE',
        `interaction type "${truncate(typeText, 40)}" is unknown (built-ins: ${INTERACTION_TYPES.join(', ')})`,
        typeText,
      );
  }
  const tsText = c.text('timestamp', 100);
  let occurredAt: Date | undefined;
  if (tsText === null) c.fail('timestamp', 'MISSING_TIMESTAMP', 'timestamp is missing');
  else if (tsText !== undefined) occurredAt = c.check('timestamp', parseTimestamp(tsText, opts.now), tsText);
  const valueText = c.text('value', 100);
  let value: number | null = null;
  if (valueText) {
    const n = Number(valueText.trim());
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(valueText.trim()) || !Number.isFinite(n))
      c.fail('value', 'VALUE_INVALID', `value "${truncate(valueText, 40)}" is not a number`, valueText);
    else value = n;
  }
  const qtyText = c.text('quantity', 100);
  let quantity = qtyText ? (c.check('quantity', parseInteger(qtyText, 'quantity'), qtyText) ?? null) : null;
  if (quantity != null && quantity < 0) {
    if (type === 'purchase') {
      type = 'refund';
      quantity = -quantity;
    } else if (type !== undefined) {
      c.fail('quantity', 'QUANTITY_NEGATIVE', `quantity ${quantity} is negative`, qtyText);
    }
  }
  const currency = rowCurrency(c);
  const priceText = c.text('price', 100);
  const price = priceText && currency.forPrices ? c.check('price', parsePriceMinor(priceText, currency.forPrices), priceText) : null;
  const eventId = c.id('event_id', false);
  const recommendationId = c.id('recommendation_id', false);
  const metadata = c.extras();
  const id = itemId ?? null;
  if (c.issues.length || !itemId || !type || !occurredAt || !someone) {
    return { ok: false, issues: c.issues.map((i) => ({ ...i, itemId: id })), itemId: id };
  }
  return {
    ok: true,
    itemId,
    value: {
      identifiers,
      row: {
        eventId: eventId ?? null,
        userId: userId ?? null,
        anonymousId: anonymousId ?? null,
        itemId,
        type,
        value,
        quantity,
        priceMinor: price ?? null,
        currency: currency.code,
        orderId: orderId ?? null,
        sessionId: sessionId ?? null,
        recommendationId: recommendationId ?? null,
        source: opts.source ?? 'upload',
        metadata,
        occurredAt,
      },
    },
  };
}

// ---------------- statistics ----------------

/** Seed 003's interaction statistics, accumulated over accepted rows. */
export function createInteractionStats() {
  const users = new Set<string>();
  const items = new Set<string>();
  const types: Record<string, number> = {};
  return {
    add({ row: i, identifiers }: ImportedInteraction): void {
      const other = identifiers[0];
      users.add(i.userId ?? (i.anonymousId !== null ? `anon:${i.anonymousId}` : `${other?.type}:${other?.value}`));
      if (i.itemId) items.add(i.itemId);
      types[i.type] = (types[i.type] ?? 0) + 1;
    },
    snapshot: () => ({ unique_users: users.size, unique_items: items.size, interaction_types: { ...types } }),
  };
}

/** A short digest of an item's content, to tell a harmless repeat from a conflicting duplicate (memory: 27 chars per id). */
export function itemFingerprint(i: ItemUpsert): string {
  return createHash('sha1')
    .update(JSON.stringify(i, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('base64url');
}

// ---------------- export ----------------

/**
 * Escapes a cell for spreadsheet export: text starting with = + - @ tab or CR is prefixed with a quote
 * so Excel/Sheets show it instead of evaluating it (OWASP CSV injection).
 */
export function escapeFormula(v: string | null | undefined): string {
  if (v == null) return '';
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

/** Progress figures from counts and time: rate in rows/s, ETA from the fraction of bytes read. */
export function progressFigures(p: { rowsRead: number; bytesRead: number; totalBytes: number; startedAt: Date | null }, now: Date) {
  const elapsed = p.startedAt ? Math.max(0.001, (now.getTime() - p.startedAt.getTime()) / 1000) : 0;
  const fraction = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 0;
  const rate = elapsed > 0 ? p.rowsRead / elapsed : 0;
  const eta = fraction > 0 && fraction < 1 && elapsed > 0 ? (elapsed * (1 - fraction)) / fraction : fraction >= 1 ? 0 : null;
  return {
    fraction: Math.round(fraction * 10_000) / 10_000,
    rowsPerSecond: Math.round(rate),
    etaSeconds: eta == null ? null : Math.round(eta),
  };
}

/** How much of a finished file was kept (see importOutcome in the schemas); null while running or when the run failed. */
export function importOutcomeOf(r: {
  status: string;
  rowsAccepted: number;
  rowsRejected: number;
  rowsDuplicate: number;
}): 'complete' | 'partial' | 'mostly_rejected' | 'nothing_imported' | null {
  if (r.status !== 'succeeded') return null;
  const kept = r.rowsAccepted + r.rowsDuplicate;
  if (kept === 0) return 'nothing_imported';
  if (r.rowsRejected === 0) return 'complete';
  return r.rowsRejected * 2 >= kept + r.rowsRejected ? 'mostly_rejected' : 'partial';
}
