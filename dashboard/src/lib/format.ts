// Money as the server formats it: the runtime money contract (pure, nothing server-side behind it).
import { formatMoneyDisplay, isCurrencyCode, parseMoney } from '../../../src/contracts/money.ts';

/**
 * The tenant's regional settings (GET /api/v1/settings/regional), set once they load: the currency of amounts
 * that name none, the locale numbers and dates are written in, the time zone dates are shown in. Until then the
 * browser's locale and zone and USD.
 */
let regional: { currency: string; locale: string | undefined; timeZone: string | undefined } = {
  currency: 'USD',
  locale: undefined,
  timeZone: undefined,
};
let num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** Applies the tenant's regional settings to every formatter below (idempotent: same values, nothing rebuilt). */
export function setRegional(r: { currency: string; locale: string; timezone: string }): void {
  if (r.currency === regional.currency && r.locale === regional.locale && r.timezone === regional.timeZone) return;
  regional = { currency: r.currency, locale: r.locale, timeZone: r.timezone };
  num = new Intl.NumberFormat(r.locale, { maximumFractionDigits: 2 });
}

export const fmtNumber = (n: unknown): string =>
  typeof n === 'number' && Number.isFinite(n)
    ? num.format(n)
    : typeof n === 'string' && n !== '' && !Number.isNaN(Number(n))
      ? num.format(Number(n))
      : '—';
/** Bytes in the units people read (1,024-based): 812 B, 4.2 kB, 1.3 MB, 2.0 GB. */
export const fmtBytes = (n: unknown): string => {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
};
export const fmtPercent = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '—');
/**
 * A major-unit amount (a JSON number, or the exact decimal text the catalog returns) as money (in the tenant's
 * currency when `currency` is null), with the
 * currency's ISO 4217 digits (¥1,500, KWD 1.234, $19.99): read exactly by the server's money module, never
 * through Intl's own digits for the currency. An amount with more digits than the currency has is rounded half
 * to even; a currency ISO 4217 does not list is shown as a plain number beside its code.
 */
export function fmtMoney(n: unknown, currency: string | null = null): string {
  if (!((typeof n === 'number' && Number.isFinite(n)) || (typeof n === 'string' && n !== ''))) return '—';
  const code = currency ?? regional.currency;
  if (!isCurrencyCode(code)) return `${fmtNumber(n)} ${code}`;
  const m = parseMoney(n, code, { rounding: 'half-even', allowNegative: true });
  return m.ok ? formatMoneyDisplay(m.minor, code) : '—';
}

/** Exact integer minor units (the API's `*_minor` text) as money in `currency`, exact at any size. */
export function fmtMinor(minor: unknown, currency: string | null = null): string {
  const code = currency ?? regional.currency;
  if (!(typeof minor === 'string' && /^-?\d+$/.test(minor)) && typeof minor !== 'bigint') return '—';
  return isCurrencyCode(code) ? formatMoneyDisplay(minor, code) : `${String(minor)} ${code} (minor units)`;
}
export function fmtDate(s: unknown): string {
  if (typeof s !== 'string' || !s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(regional.locale, regional.timeZone ? { timeZone: regional.timeZone } : {});
}
export function str(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
