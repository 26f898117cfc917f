/**
 * Money, once: ISO 4217 minor units, exact decimal parsing and formatting. Every amount Loupe stores is an
 * integer count of its currency's minor unit (1999 = USD 19.99, 1500 = JPY 1,500, 1234 = KWD 1.234) beside
 * its currency code; this module is the one place that turns decimal text into minor units and back.
 *
 * Pure: no I/O, no server imports (the dashboard imports it too). The exponents come from the maintained
 * `currency-codes` package (the ISO 4217 list), never from `Intl`, whose display digits differ from ISO for
 * some currencies (CLDR shows IDR, HUF, COP, IQD ... with 0 decimals; ISO says 2, 2, 2, 3).
 *
 * Decisions, for a reader who handles payments:
 * - An unknown currency code is an error, never a silent 2 decimals.
 * - Amounts are plain decimals: digits, an optional `.` and fraction, an optional leading sign. Thousands
 *   separators (`"1,000"`) are refused: a comma is a decimal separator in half the world ("1,000" is 1 in
 *   de-DE), so guessing would silently multiply or divide by 1000. Exponent notation in text is refused.
 * - A JSON number is read through its shortest round-trip text (99.99 is "99.99", what the client wrote);
 *   exponent forms of numbers (1e21, 1e-7) are expanded exactly from that text, never through float arithmetic.
 * - More decimals than the currency has: refused by default (`rounding: 'exact'`; trailing zeros are fine,
 *   "19.990" is USD 19.99). Edges that must accept a vendor's extra digits ask for `'half-even'` (banker's
 *   rounding, no upward drift over many amounts); range filters ask for `'floor'` or `'ceil'`.
 * - Range: what the database stores (int8, |minor| <= 2^63 - 1); beyond is refused. Minor units are bigint;
 *   `minorToNumber` refuses values past 2^53 rather than lose digits.
 */
import { data as isoCurrencies } from 'currency-codes';

/** Largest magnitude the database stores (PostgreSQL int8). */
export const MAX_MINOR = 9_223_372_036_854_775_807n;

/** Minor-unit exponent of every ISO 4217 code: JPY 0, USD 2, KWD 3, CLF 4. */
const EXPONENTS: ReadonlyMap<string, number> = new Map(isoCurrencies.map((c) => [c.code, c.digits]));

/** Every ISO 4217 code this module knows, sorted. */
export const CURRENCY_CODES: readonly string[] = [...EXPONENTS.keys()].sort();

/** The codes with each exponent other than 2 ({0: ['BIF', 'CLP', ..., 'JPY', ...], 3: ['BHD', ..., 'KWD', ...], 4: ['CLF', 'UYW']}), for SQL. */
export const CURRENCIES_BY_EXPONENT: ReadonlyMap<number, readonly string[]> = (() => {
  const out = new Map<number, string[]>();
  for (const code of CURRENCY_CODES) {
    const e = EXPONENTS.get(code)!;
    if (e === 2) continue;
    out.set(e, [...(out.get(e) ?? []), code]);
  }
  return out;
})();

/** A refused currency or amount; `code` is stable, `message` says what to send instead. */
export class MoneyError extends Error {
  constructor(
    readonly code: 'UNKNOWN_CURRENCY' | 'INVALID_AMOUNT',
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

/** True for an ISO 4217 code (upper or lower case). */
export const isCurrencyCode = (code: string): boolean => EXPONENTS.has(code.toUpperCase());

/**
 * Digits after the decimal point of `currency`'s minor unit (JPY 0, USD 2, KWD 3, CLF 4), from ISO 4217.
 * Case-insensitive. Throws `MoneyError('UNKNOWN_CURRENCY')` for a code ISO 4217 does not list.
 */
export function currencyExponent(currency: string): number {
  const e = EXPONENTS.get(currency.toUpperCase());
  if (e === undefined)
    throw new MoneyError('UNKNOWN_CURRENCY', `unknown currency "${currency.slice(0, 10)}": use an ISO 4217 code such as USD`);
  return e;
}

/** How digits past the currency's exponent are treated: refused, or rounded (half to even, down, up). */
type Rounding = 'exact' | 'half-even' | 'floor' | 'ceil';

export interface ParseMoneyOptions {
  /** Default 'exact': more decimals than the currency has is an error. */
  rounding?: Rounding;
  /** Default false: a negative amount is an error (prices); refunds and adjustments pass true. */
  allowNegative?: boolean;
}

export type MoneyResult = { ok: true; minor: bigint } | { ok: false; reason: string };

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Plain decimal text of a finite number's shortest round-trip form, exponent expanded digit by digit. */
function numberText(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  const s = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const digits = m[2]! + (m[3] ?? '');
  const point = m[2]!.length + Number(m[4]);
  const body =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return m[1] + body;
}

/**
 * A decimal amount (`"19.99"`, `19.99`, `"1500"`, `"-5.00"`) in integer minor units of `currency`, exactly:
 * the text is read digit by digit, never through float arithmetic. Refuses (as a value, with a reason that
 * reads after a field name: "has more than 0 decimal places for JPY") unknown currencies, anything that is not
 * a plain decimal, negatives unless allowed, extra decimals unless a rounding is asked for, and magnitudes
 * past int8. O(length of the text).
 */
export function parseMoney(value: string | number, currency: string, opts: ParseMoneyOptions = {}): MoneyResult {
  if (!isCurrencyCode(currency)) return { ok: false, reason: `is in an unknown currency "${currency.slice(0, 10)}"` };
  const exp = currencyExponent(currency);
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  if (text === null) return { ok: false, reason: 'must be a finite number' };
  const m = DECIMAL.exec(text);
  if (!m || (!m[2] && !m[3])) return { ok: false, reason: 'must be a decimal amount such as 19.99 (no thousands separators)' };
  const negative = m[1] === '-';
  if (negative && !opts.allowNegative) return { ok: false, reason: 'must not be negative' };
  const frac = (m[3] ?? '').replace(/0+$/, '');
  let minor = BigInt((m[2] || '0') + frac.slice(0, exp).padEnd(exp, '0'));
  const rest = frac.slice(exp);
  if (rest) {
    const rounding = opts.rounding ?? 'exact';
    if (rounding === 'exact') return { ok: false, reason: `has more than ${exp} decimal places for ${currency.toUpperCase()}` };
    // `rest` has no trailing zeros, so it is never zero here: the amount lies strictly between minor and minor + 1.
    const up =
      rounding === 'half-even'
        ? rest[0]! > '5' || (rest[0] === '5' && (rest.length > 1 || minor % 2n === 1n))
        : rounding === 'ceil'
          ? !negative
          : negative;
    if (up) minor += 1n;
  }
  if (minor > MAX_MINOR) return { ok: false, reason: 'is too large' };
  return { ok: true, minor: negative ? -minor : minor };
}

/**
 * Major units to minor units (`toMinor('19.99', 'USD')` → 1999n): `parseMoney` that throws `MoneyError` (message
 * "amount ..."), for callers that already validated. The inverse of `minorToMajor`/`formatMoney`.
 */
export function toMinor(value: string | number, currency: string, opts: ParseMoneyOptions = {}): bigint {
  currencyExponent(currency); // throws UNKNOWN_CURRENCY for a code ISO 4217 does not list
  const r = parseMoney(value, currency, opts);
  if (!r.ok) throw new MoneyError('INVALID_AMOUNT', `amount ${r.reason}`);
  return r.minor;
}

/**
 * Integer minor units as the exact decimal text of `currency`, with exactly its exponent's digits
 * (1999n USD → "19.99", 1500n JPY → "1500", 1234n KWD → "1.234", -5n USD → "-0.05"). Accepts the database's
 * bigint text. Inverse of `parseMoney` for every value in range.
 */
export function formatMoney(minor: bigint | string | number, currency: string): string {
  const v = BigInt(minor);
  const exp = currencyExponent(currency);
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString();
  if (exp === 0) return (neg ? '-' : '') + digits;
  const s = digits.padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

const displayFormats = new Map<string, Intl.NumberFormat>();

/**
 * Minor units as a localized display string with the currency's ISO digits ("$19.99", "¥1,500",
 * "KWD 1.234"), exact beyond 2^53: `Intl.NumberFormat` is given the exact decimal text, not a float.
 * `locale` undefined is the runtime's default. Formatters are cached per locale and currency.
 */
export function formatMoneyDisplay(minor: bigint | string | number, currency: string, locale?: string): string {
  const code = currency.toUpperCase();
  const exp = currencyExponent(code);
  const key = `${locale ?? ''}\u0001${code}`;
  let f = displayFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: exp, maximumFractionDigits: exp });
    displayFormats.set(key, f);
  }
  // A decimal string is formatted exactly (ECMA-402 "Intl.NumberFormat v3"); the cast covers older lib typings.
  return f.format(formatMoney(minor, code) as unknown as number);
}

/** Minor units as a number, refusing (MoneyError) values a double cannot hold exactly (past 2^53 - 1). */
export function minorToNumber(minor: bigint | string): number {
  const v = BigInt(minor);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
    throw new MoneyError('INVALID_AMOUNT', 'amount is too large to be a JSON number: use the exact minor units');
  return Number(v);
}

/**
 * Minor units as major units in a JSON number (1999n USD → 19.99, 1234n KWD → 1.234): the double nearest the
 * exact decimal, read from its exact text (so 1999n is 19.99, the same double as the literal). Exact text
 * (`formatMoney`) or minor units are the lossless forms; use this only where a contract asks for a number.
 */
export function minorToMajor(minor: bigint | string | number, currency: string): number {
  return Number(formatMoney(minor, currency));
}

/**
 * `numerator / denominator` minor units rounded half to even to a whole minor unit (an average order value,
 * a share of revenue), exact on bigints. Throws on a zero denominator.
 */
export function divideMinor(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new MoneyError('INVALID_AMOUNT', 'division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let q = n / d;
  const twice = (n % d) * 2n;
  if (twice > d || (twice === d && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}
