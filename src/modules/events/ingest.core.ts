import Bowser from 'bowser';
import { findUnsafeValue, MAX_MINOR, parseMoney, UNSAFE_TEXT_MESSAGE, unsafeTextReason } from '../../platform/index.ts';
import type { IdentifierInput, ResolveInput } from '../identity/index.ts';
import { CUSTOM_TYPE_PATTERN, type NewInteraction } from './interactions.core.ts';
import type { InteractionBody } from './interactions.schemas.ts';

/**
 * Pure helpers shared by every ingestion edge (API, tracking, Segment, webhooks): money in minor units,
 * lossless JSON, custom type names, user agents and UTM parameters. No I/O, no clock.
 */

/**
 * A decimal amount from an ingestion edge ("1575.90", 99.99, "-5.00") in minor units of `currency` (ISO 4217,
 * through the platform's money module): exact, digits past the currency's exponent rounded half to even (vendor
 * payloads may carry more digits than the currency has). An amount without a currency is read in USD, the
 * platform's default (as the catalog does). Null when the amount is not a plain decimal, out of the stored
 * range, or in a currency ISO 4217 does not list: no price is better than a price off by a power of ten.
 */
export function toMinorUnits(amount: string | number | null | undefined, currency?: string | null): bigint | null {
  if (amount == null) return null;
  const r = parseMoney(amount, currency || 'USD', { rounding: 'half-even', allowNegative: true });
  if (r.ok) return r.minor;
  // An amount too large to store is refused by the write door's range check, never silently dropped to "no price".
  return r.reason === 'is too large' ? (String(amount).trim().startsWith('-') ? -(MAX_MINOR + 1n) : MAX_MINOR + 1n) : null;
}

export { parseJsonLossless } from '../../platform/index.ts';

/** A vendor id (number, big-integer string, string) as text; null when absent. */
export function idText(v: unknown): string | null {
  if (v == null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}

/** An arbitrary event name ("Signed Up", "Video Played") as a valid custom interaction type ("signed_up"). */
export function customTypeOf(name: string): string {
  let s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(s)) s = `event_${s}`;
  s = s.slice(0, 50).replace(/_+$/, '');
  return CUSTOM_TYPE_PATTERN.test(s) ? s : 'custom_event';
}

export interface UserAgentInfo {
  deviceType: 'mobile' | 'tablet' | 'desktop' | 'bot' | 'other';
  browser: string | null;
  os: string | null;
}

/** Bowser's names where Loupe has stored shorter ones since before it used Bowser (dashboards group by them). */
const FAMILY: Record<string, string> = {
  'Microsoft Edge': 'Edge',
  'Samsung Internet for Android': 'Samsung Internet',
  'Chrome OS': 'ChromeOS',
};
const DEVICE: Record<string, UserAgentInfo['deviceType']> = { mobile: 'mobile', tablet: 'tablet', desktop: 'desktop', bot: 'bot' };

/** Device type, browser family and OS family of a user agent (Bowser); unknown parts are null / 'other'. */
export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
  const s = (ua ?? '').slice(0, 1000);
  if (!s) return { deviceType: 'other', browser: null, os: null };
  const p = Bowser.parse(s);
  const browser = p.browser.name ? (FAMILY[p.browser.name] ?? p.browser.name) : null;
  const os = p.os.name ? (FAMILY[p.os.name] ?? p.os.name) : null;
  // Bowser knows the big crawlers; headless browsers and audit tools announce themselves in plain words.
  const bot = p.platform.type === 'bot' || /bot\b|crawler|spider|headless|lighthouse/i.test(s);
  const device = bot ? 'bot' : (DEVICE[p.platform.type ?? ''] ?? (browser || os ? 'desktop' : 'other'));
  return { deviceType: device, browser: bot && p.platform.type === 'bot' ? null : browser, os };
}

export interface UtmParams {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
}

/** UTM parameters of a landing URL (absolute or relative); all null when absent or unparsable. */
export function utmFromUrl(url: string | null | undefined): UtmParams {
  const none: UtmParams = { source: null, medium: null, campaign: null, term: null, content: null };
  if (!url) return none;
  let params: URLSearchParams;
  try {
    params = new URL(url, 'http://relative.invalid').searchParams;
  } catch {
    return none;
  }
  const get = (k: string) => params.get(`utm_${k}`)?.slice(0, 200) || null;
  return { source: get('source'), medium: get('medium'), campaign: get('campaign'), term: get('term'), content: get('content') };
}

/** The path of a URL, or null. */
export function pathOf(url: string): string | null {
  try {
    return new URL(url, 'http://relative.invalid').pathname.slice(0, 2000);
  } catch {
    return null;
  }
}

/** An event on its way in: the row to store, who it is about (for identity resolution), and what it is worth. */
export interface PendingEvent {
  row: NewInteraction;
  /** Identifiers and traits for identity resolution; null when the event names nobody. */
  identity: ResolveInput | null;
  /** Revenue of a purchase, or amount of a refund, in minor units (profile aggregates). */
  revenueMinor?: bigint | null;
}

/** The identity input of an event from its identifiers (empty values dropped); null when none is left. */
export function identityInput(
  identifiers: readonly (IdentifierInput | null | undefined)[],
  channel: string,
  occurredAt: Date,
  extra: { traits?: Record<string, unknown>; eventRef?: string } = {},
): ResolveInput | null {
  const seen = new Set<string>();
  const list: IdentifierInput[] = [];
  for (const i of identifiers) {
    if (!i || !i.value || !i.value.trim()) continue;
    const k = `${i.type}\u0000${i.value}`;
    if (seen.has(k)) continue;
    seen.add(k);
    list.push({ type: i.type, value: i.value.trim() });
  }
  if (!list.length) return null;
  return {
    identifiers: list,
    channel,
    occurredAt,
    ...(extra.traits && Object.keys(extra.traits).length ? { traits: extra.traits } : {}),
    ...(extra.eventRef ? { eventRef: extra.eventRef } : {}),
  };
}

/** Revenue that a purchase or refund row carries (unit price x quantity), minor units; null for other types. */
export function revenueOf(row: NewInteraction): bigint | null {
  if ((row.type !== 'purchase' && row.type !== 'refund') || row.priceMinor == null) return null;
  const amount = row.priceMinor * BigInt(row.quantity ?? 1);
  return amount < 0n ? -amount : amount;
}

const str = (v: unknown): string | null =>
  typeof v === 'string' && v.trim() ? v.trim().slice(0, 200) : typeof v === 'number' ? String(v) : null;

/**
 * Maps one `POST /api/v1/interactions` body (seed 003) to a pending event. `eventId` is the client's
 * event_id or the request's Idempotency-Key; `now` stands in for a missing timestamp.
 */
export function fromApiInteraction(
  body: InteractionBody,
  opts: { now: Date; eventId?: string | undefined; source?: string },
): PendingEvent {
  const occurredAt = body.timestamp ? new Date(body.timestamp) : opts.now;
  const meta = body.metadata ?? {};
  const ctx = body.context ?? {};
  const currency = typeof meta.currency === 'string' ? meta.currency.toUpperCase() : null;
  const source = opts.source ?? str(ctx.source) ?? 'api';
  const row: NewInteraction = {
    eventId: body.event_id ?? opts.eventId ?? null,
    userId: body.user_id ?? null,
    anonymousId: body.anonymous_id ?? null,
    itemId: body.item_id ?? null,
    type: body.interaction_type,
    value: body.value ?? null,
    quantity: meta.quantity ?? null,
    priceMinor: meta.price == null ? null : toMinorUnits(meta.price, currency),
    currency,
    orderId: meta.order_id ?? null,
    sessionId: body.session_id ?? str(ctx.session_id),
    recommendationId: body.recommendation_id ?? meta.recommendation_id ?? str(ctx.recommendation_id),
    source: source.slice(0, 100),
    context: body.context ?? null,
    metadata: body.metadata ?? null,
    occurredAt,
  };
  const ids: IdentifierInput[] = [];
  if (body.user_id) ids.push({ type: 'user_id', value: body.user_id });
  if (body.anonymous_id) ids.push({ type: 'anonymous_id', value: body.anonymous_id });
  for (const [type, value] of Object.entries(body.identifiers ?? {})) ids.push({ type, value });
  return {
    row,
    identity: identityInput(ids, 'api', occurredAt, { ...(row.eventId ? { eventRef: row.eventId } : {}) }),
    revenueMinor: revenueOf(row),
  };
}

/**
 * A row in stored form (an uploaded file, a POS export) with the customer's other identifiers (e-mail, phone,
 * loyalty id ...) as a pending event, so imported purchases land on the same unified profiles as live events.
 */
export function fromImportedRow(row: NewInteraction, identifiers: readonly IdentifierInput[]): PendingEvent {
  const ids: IdentifierInput[] = [];
  if (row.userId) ids.push({ type: 'user_id', value: row.userId });
  if (row.anonymousId) ids.push({ type: 'anonymous_id', value: row.anonymousId });
  ids.push(...identifiers);
  return {
    row,
    identity: identityInput(ids, row.source, row.occurredAt, row.eventId ? { eventRef: row.eventId } : {}),
    revenueMinor: revenueOf(row),
  };
}

const EARLIEST = Date.UTC(2000, 0, 1);
const MAX_FUTURE_MS = 24 * 3600 * 1000;

/** Why an event at `at` is not kept under the retention horizon `retainFrom` (first instant kept), or null. */
export function retentionProblem(at: Date, retainFrom: Date | null): string | null {
  if (!retainFrom || at.getTime() >= retainFrom.getTime()) return null;
  return `is older than the retention period: events before ${retainFrom.toISOString().slice(0, 10)} are not kept (LOUPE_INTERACTIONS_RETENTION_MONTHS)`;
}

/** Why an event time is refused (before 2000, or more than a day ahead of `now`), or null when it is acceptable. Late events are fine. */
export function checkOccurredAt(at: Date, now: Date): string | null {
  const t = at.getTime();
  if (!Number.isFinite(t)) return 'is not a valid date-time';
  if (t < EARLIEST) return 'is before 2000-01-01';
  if (t > now.getTime() + MAX_FUTURE_MS) return 'is more than 24 hours in the future';
  return null;
}

/**
 * Largest amount one event may carry, in minor units (10^17: a thousand trillion dollars in cents). Below
 * int64 (9.2 x 10^18) with room for unit price x quantity and a profile's summed revenue; beyond it an amount
 * is refused with a 400, never clamped, frozen or left to overflow in the database.
 */
export const MAX_AMOUNT_MINOR = 10n ** 17n;

/** Deepest JSON an event's context or metadata may hold (the request edge refuses deeper bodies first). */
const MAX_EVENT_JSON_DEPTH = 32;

export interface EventProblem {
  field: string;
  message: string;
}

const tooLarge = (amount: bigint | null | undefined): boolean =>
  amount != null && (amount > MAX_AMOUNT_MINOR || amount < -MAX_AMOUNT_MINOR);

/**
 * Why an event cannot be stored, or null: text PostgreSQL refuses (NUL, lone surrogate) in any field or JSON
 * value, JSON nested too deep, or an amount out of range. Every channel's events pass here in the write door,
 * so no stray byte from any edge (API, Segment, a vendor payload, a file) reaches the database.
 */
export function eventProblem(e: PendingEvent): EventProblem | null {
  const row = e.row;
  for (const [field, value] of Object.entries(row)) {
    if (value == null || value instanceof Date || typeof value === 'bigint' || typeof value === 'number') continue;
    const bad = findUnsafeValue(value, MAX_EVENT_JSON_DEPTH);
    if (bad) {
      const where = bad.path === '$' ? field : `${field}${bad.path.slice(1)}`;
      return {
        field: where,
        message: bad.reason === 'too_deep' ? `is nested more than ${MAX_EVENT_JSON_DEPTH} levels deep` : UNSAFE_TEXT_MESSAGE[bad.reason],
      };
    }
  }
  if (e.identity) {
    const bad =
      findUnsafeValue(e.identity.identifiers, 4) ?? (e.identity.traits ? findUnsafeValue(e.identity.traits, MAX_EVENT_JSON_DEPTH) : null);
    if (bad) return { field: 'identifiers', message: bad.reason === 'too_deep' ? 'is nested too deep' : UNSAFE_TEXT_MESSAGE[bad.reason] };
  }
  if (tooLarge(row.priceMinor)) return { field: 'price', message: `is out of range (at most ${MAX_AMOUNT_MINOR} minor units)` };
  const lineTotal = row.priceMinor == null ? null : row.priceMinor * BigInt(row.quantity ?? 1);
  if (tooLarge(lineTotal) || tooLarge(e.revenueMinor))
    return { field: 'price', message: `times quantity is out of range (at most ${MAX_AMOUNT_MINOR} minor units)` };
  if (row.value != null && !Number.isFinite(row.value)) return { field: 'value', message: 'must be a finite number' };
  return null;
}

/** `s` without NUL characters, with lone surrogates replaced by U+FFFD (what a UTF-8 decoder does with bad bytes). */
function scrubText(s: string): string {
  // Fast path: nearly every string is clean.
  if (!unsafeTextReason(s)) return s;
  return s
    .split('\u0000')
    .join('')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** A copy of a JSON-like value with every string and key scrubbed (Dates, numbers and bigints kept). */
export function scrubValue<T>(value: T): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(scrubValue) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[scrubText(k)] = scrubValue(v);
  return out as T;
}

/**
 * Vendor payloads (Shopify, WooCommerce, Stripe, Twilio) are scrubbed, not refused: the vendor signed them and
 * will resend the same bytes on every retry, and Shopify removes a subscription that keeps failing, so refusing
 * a NUL in a product title would lose the order and then the whole feed. Stripping it loses one invisible
 * character. (Loupe's own API refuses such text instead: its client can fix and resend.)
 */
export function scrubVendorEvents(events: readonly PendingEvent[]): PendingEvent[] {
  return events.map((e) => ({ ...e, row: scrubValue(e.row), identity: e.identity ? scrubValue(e.identity) : null }));
}
