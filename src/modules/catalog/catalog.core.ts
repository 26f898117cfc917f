/**
 * Pure catalog rules: money parsing, category paths, cursors, search text normalization. No I/O.
 */

/** ISO 4217 currencies whose minor unit is not 1/100. Everything else has two decimals. */
const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'ISK',
  'JPY',
  'KMF',
  'KRW',
  'PYG',
  'RWF',
  'UGX',
  'UYI',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

/** Number of decimals of a currency's minor unit (JPY 0, USD 2, KWD 3). */
export function currencyExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

export const ZERO_DECIMAL_CURRENCIES: readonly string[] = [...ZERO_DECIMAL];
export const THREE_DECIMAL_CURRENCIES: readonly string[] = [...THREE_DECIMAL];

/** Largest amount stored (int8). */
const MAX_MINOR = 9_223_372_036_854_775_807n;

export type MoneyResult = { ok: true; minor: bigint } | { ok: false; reason: string };

/**
 * Converts a decimal amount given as a JSON number or string ("99.99", 99.99, "1999") to integer minor
 * units of `currency`, exactly: the decimal text is parsed digit by digit, never through float arithmetic.
 * A JSON number is taken by its shortest round-trip text (99.99 → "99.99"), which is what the client wrote.
 * Refuses negatives, exponents, more decimals than the currency has, and values past int8.
 */
export function parseMoney(value: string | number, currency: string): MoneyResult {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, reason: 'must be a finite number' };
    text = String(value);
  } else {
    text = value.trim();
  }
  if (text.startsWith('-')) return { ok: false, reason: 'must not be negative' };
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return { ok: false, reason: 'must be a decimal amount such as 19.99' };
  const exp = currencyExponent(currency);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > exp) return { ok: false, reason: `has more than ${exp} decimal places for ${currency}` };
  const minor = BigInt(m[1]!) * 10n ** BigInt(exp) + BigInt(frac.padEnd(exp, '0') || '0');
  if (minor > MAX_MINOR) return { ok: false, reason: 'is too large' };
  return { ok: true, minor };
}

/** Formats integer minor units as the exact decimal text of `currency` (1999n, USD → "19.99"). */
export function formatMoney(minor: bigint | string, currency: string): string {
  const v = BigInt(minor);
  const exp = currencyExponent(currency);
  if (exp === 0) return v.toString();
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

export const PATH_SEPARATOR = ' > ';

/** Splits 'Electronics>Audio >  Headphones' into trimmed, non-empty segments with inner spaces collapsed. */
export function splitCategoryPath(input: string): string[] {
  return input
    .split('>')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 0);
}

/** The canonical path text of segments: 'Electronics > Audio > Headphones'. */
export const joinCategoryPath = (segments: readonly string[]): string => segments.join(PATH_SEPARATOR);

export interface CategoryNodeSpec {
  path: string;
  name: string;
  parentPath: string | null;
  depth: number;
}

/**
 * Every category node a set of paths needs, ancestors included, deduplicated, parents before children.
 * Single-segment inputs are returned separately: they are names, resolved against existing categories first.
 */
export function categoryNodesFor(paths: Iterable<string>): CategoryNodeSpec[] {
  const seen = new Map<string, CategoryNodeSpec>();
  for (const p of paths) {
    const segs = splitCategoryPath(p);
    for (let i = 0; i < segs.length; i++) {
      const path = joinCategoryPath(segs.slice(0, i + 1));
      if (!seen.has(path))
        seen.set(path, { path, name: segs[i]!, parentPath: i === 0 ? null : joinCategoryPath(segs.slice(0, i)), depth: i });
    }
  }
  return [...seen.values()].sort((a, b) => a.depth - b.depth);
}

/** Lower case, accents removed, spaces collapsed: the form autocomplete and typo matching compare. */
export function normalizeSearchText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Opaque cursors: base64url of a small JSON value. Returns undefined for anything malformed. */
export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}
export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return check(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Price bands of the search facet, in major units: [from, to). */
export const PRICE_BANDS: readonly { key: string; from: number; to: number | null }[] = [
  { key: '0-25', from: 0, to: 25 },
  { key: '25-50', from: 25, to: 50 },
  { key: '50-100', from: 50, to: 100 },
  { key: '100-250', from: 100, to: 250 },
  { key: '250-500', from: 250, to: 500 },
  { key: '500+', from: 500, to: null },
];

/** Deduplicates rows by key, keeping each key's LAST occurrence at the position of its last occurrence. */
export function lastWins<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const last = new Map<string, number>();
  rows.forEach((r, i) => last.set(key(r), i));
  return rows.filter((r, i) => last.get(key(r)) === i);
}
