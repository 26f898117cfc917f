/**
 * Pure rules of the reports: report ranges in a time zone, local time buckets, ratios from additive measures,
 * funnel step arithmetic. No I/O; `now` is passed in.
 */
import { isCurrencyCode } from '../../platform/index.ts';

export type Granularity = 'hour' | 'day' | 'week' | 'month';

/** Longest report range (a little over ten years) and most buckets in one series. */
export const MAX_RANGE_DAYS = 3_700;
export const MAX_BUCKETS = 5_000;
export const DEFAULT_RANGE_DAYS = 30;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Whether `tz` is an IANA time zone this runtime knows (`UTC` included). */
export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(tz)) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock fields of instant `ms` in `tz`. */
export function localParts(ms: number, tz: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute!, second: out.second! };
}

/** Offset of `tz` from UTC at instant `ms`, in milliseconds (east positive). */
function offsetAt(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const p = localParts(whole, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole;
}

/**
 * The instant of a wall-clock time in `tz` (fields as for Date.UTC, month 1-12; out-of-range days roll over).
 * A repeated time (autumn) is its first occurrence; a time skipped by a spring jump is read with the offset before
 * the jump (02:30 becomes 03:30), as PostgreSQL's `timestamp AT TIME ZONE` does.
 */
export function zonedToInstant(tz: string, year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const o1 = offsetAt(wall - offsetAt(wall, tz), tz);
  const o0 = offsetAt(wall - o1 - 3 * 3_600_000, tz);
  // The earlier of the two candidate offsets first: a repeated hour resolves to its first occurrence.
  for (const o of o0 >= o1 ? [o0, o1] : [o1, o0]) {
    const t = wall - o;
    if (offsetAt(t, tz) === o) return t;
  }
  return wall - o0;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/;
const INSTANT_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** A `from`/`to` value: a local date, a local date-time, or an instant with an offset. */
function parseBound(value: string, tz: string, isEnd: boolean): number | null {
  let m = DATE_RE.exec(value);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!validDate(y, mo, d)) return null;
    // A `to` date is inclusive: the range ends at the next local midnight.
    return isEnd ? zonedToInstant(tz, y, mo, d + 1) : zonedToInstant(tz, y, mo, d);
  }
  m = LOCAL_RE.exec(value);
  if (m) {
    const [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    if (!validDate(y, mo, d) || h > 23 || mi > 59 || Number(m[6] ?? 0) > 59) return null;
    return zonedToInstant(tz, y, mo, d, h, mi, Number(m[6] ?? 0), Number((m[7] ?? '0').padEnd(3, '0')));
  }
  if (INSTANT_RE.test(value)) {
    const t = Date.parse(value.replace(' ', 'T'));
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

function validDate(y: number, m: number, d: number): boolean {
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export type RangeResult = { ok: true; from: Date; to: Date } | { ok: false; field: 'from' | 'to'; message: string };

/**
 * The report range [from, to) from the query's `from` and `to` in `tz`. Defaults: `to` now, `from` the local
 * midnight 29 days before today (the last 30 local days). A date `to` includes that whole day.
 */
export function resolveRange(input: { from?: string | undefined; to?: string | undefined }, tz: string, now: Date): RangeResult {
  const to = input.to === undefined ? now.getTime() : parseBound(input.to, tz, true);
  if (to === null) return { ok: false, field: 'to', message: 'to must be an ISO 8601 date (2026-03-01) or time (2026-03-01T12:00:00Z)' };
  let from: number | null;
  if (input.from === undefined) {
    const p = localParts(to - 1, tz);
    from = zonedToInstant(tz, p.year, p.month, p.day - (DEFAULT_RANGE_DAYS - 1));
  } else from = parseBound(input.from, tz, false);
  if (from === null)
    return { ok: false, field: 'from', message: 'from must be an ISO 8601 date (2026-03-01) or time (2026-03-01T12:00:00Z)' };
  if (to <= from) return { ok: false, field: 'to', message: 'to must be after from (the range is empty)' };
  if (to - from > MAX_RANGE_DAYS * DAY_MS)
    return { ok: false, field: 'from', message: `the range may span at most ${MAX_RANGE_DAYS} days` };
  return { ok: true, from: new Date(from), to: new Date(to) };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const dateLabel = (y: number, m: number, d: number) => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
};

/** The local bucket label of instant `ms` (as the repository's SQL writes it: PostgreSQL's date_trunc in `tz`). */
export function bucketLabel(ms: number, tz: string, g: Granularity): string {
  const p = localParts(ms, tz);
  if (g === 'hour') return `${dateLabel(p.year, p.month, p.day)}T${pad(p.hour)}:00`;
  if (g === 'day') return dateLabel(p.year, p.month, p.day);
  if (g === 'month') return dateLabel(p.year, p.month, 1);
  const dow = (new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7; // Monday = 0 (ISO weeks)
  return dateLabel(p.year, p.month, p.day - dow);
}

/** Upper bound of the number of buckets of a range, without listing them. */
export function bucketCountEstimate(from: Date, to: Date, g: Granularity): number {
  const span = to.getTime() - from.getTime();
  const per = { hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS, month: 28 * DAY_MS }[g];
  return Math.ceil(span / per) + 2;
}

/**
 * Every local bucket label the range touches, in order: the series' x axis, so empty buckets show as zeros.
 * Hours step through the range a quarter of an hour at a time (zones are offset by whole quarters).
 */
export function bucketLabels(from: Date, to: Date, tz: string, g: Granularity): string[] {
  const out: string[] = [];
  const push = (label: string) => {
    if (out[out.length - 1] !== label && !out.includes(label)) out.push(label);
  };
  const end = to.getTime() - 1;
  if (g === 'hour') {
    for (let t = from.getTime(); t <= end; t += 900_000) push(bucketLabel(t, tz, g));
    push(bucketLabel(end, tz, g));
    return out;
  }
  const last = bucketLabel(end, tz, g);
  let cur = bucketLabel(from.getTime(), tz, g);
  let [y, m, d] = cur.split('-').map(Number) as [number, number, number];
  for (let i = 0; i < MAX_BUCKETS + 2; i++) {
    out.push(cur);
    if (cur === last) break;
    if (g === 'day') d += 1;
    else if (g === 'week') d += 7;
    else m += 1;
    cur = dateLabel(y, m, d);
    [y, m, d] = cur.split('-').map(Number) as [number, number, number];
  }
  return out;
}

/** n / d rounded to 4 decimals; 0 when d is 0. */
export const rate = (n: number, d: number): number => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : 0);
/** sum / n rounded to 2 decimals; null when n is 0. */
export const mean = (sum: number, n: number): number | null => (n > 0 ? Math.round((sum / n) * 100) / 100 : null);

export interface FunnelStepOut {
  name: string;
  count: number;
  conversion_rate: number;
  step_conversion_rate: number;
  dropoff: number;
  median_seconds_to_convert: number | null;
}

/** Per step: count, conversion from the first step and from the previous one, drop-off, median seconds from the previous step. */
export function funnelSteps(
  names: readonly string[],
  rows: readonly { step: number; count: number; medianSeconds: number | null }[],
): FunnelStepOut[] {
  const counts = names.map((_, i) => rows.find((r) => r.step === i));
  const first = counts[0]?.count ?? 0;
  return names.map((name, i) => {
    const count = counts[i]?.count ?? 0;
    const prev = i === 0 ? count : (counts[i - 1]?.count ?? 0);
    const median = counts[i]?.medianSeconds;
    return {
      name,
      count,
      conversion_rate: i === 0 ? (count > 0 ? 1 : 0) : rate(count, first),
      step_conversion_rate: i === 0 ? (count > 0 ? 1 : 0) : rate(count, prev),
      dropoff: prev - count,
      median_seconds_to_convert: i === 0 || median == null ? null : Math.round(median * 100) / 100,
    };
  });
}

/** The period of the same length just before [from, to): what KPIs are compared with. */
export function previousWindow(from: Date, to: Date): { from: Date; to: Date } {
  const span = to.getTime() - from.getTime();
  return { from: new Date(from.getTime() - span), to: new Date(from.getTime()) };
}

/** Relative change from `previous` to `current` (0.25 = +25 %), 4 decimals; null when there is nothing to compare with. */
export const relativeChange = (current: number, previous: number): number | null =>
  previous === 0 ? null : Math.round(((current - previous) / Math.abs(previous)) * 10_000) / 10_000;

/**
 * The currency of most orders (ties: alphabetical), the one a report's revenue and series are shown in; rows
 * without a valid ISO 4217 code are ignored. Null when there is none.
 */
export function mainCurrency(rows: readonly { currency: string | null; orders: number }[]): string | null {
  const orders = new Map<string, number>();
  for (const r of rows) if (r.currency && isCurrencyCode(r.currency)) orders.set(r.currency, (orders.get(r.currency) ?? 0) + r.orders);
  return [...orders.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null;
}

const WEEK_MS = 7 * 86_400_000;

/**
 * Whether `tz`'s offset from UTC is a whole number of hours all through [from, to] (sampled at both ends and weekly
 * between, so a half-hour daylight-saving offset such as Lord Howe's is seen): then every local hour, day, week and
 * month starts on a UTC hour and UTC-hour rollups answer the zone's buckets exactly. India (+05:30) and Nepal
 * (+05:45) are not.
 */
export function hourAlignedZone(tz: string, from: Date, to: Date): boolean {
  const end = to.getTime();
  for (let ms = from.getTime(); ; ms = Math.min(ms + WEEK_MS, end)) {
    if (offsetAt(ms, tz) % 3_600_000 !== 0) return false;
    if (ms >= end) return true;
  }
}

/** The window cut for a rollup read: `inner` whole UTC hours from the rollup, `edges` (partial hours) from the raw rows. */
export interface RollupCut {
  inner: { from: Date; to: Date } | null;
  edges: { from: Date; to: Date }[];
}

const HOUR_MS = 3_600_000;

/** The start of the UTC hour holding `at`. */
export function floorHour(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/**
 * [from, to) as its whole UTC hours and the raw edges around them. `closedThrough`: the rollup holds only the hours
 * before it (the open hours after it are read raw, with the partial last hour).
 */
export function cutWindow(w: { from: Date; to: Date }, closedThrough?: Date): RollupCut {
  const a = Math.ceil(w.from.getTime() / HOUR_MS) * HOUR_MS;
  const b = Math.min(
    Math.floor(w.to.getTime() / HOUR_MS) * HOUR_MS,
    closedThrough ? floorHour(closedThrough).getTime() : Number.POSITIVE_INFINITY,
  );
  if (a >= b) return { inner: null, edges: w.from < w.to ? [{ from: w.from, to: w.to }] : [] };
  const edges: { from: Date; to: Date }[] = [];
  if (w.from.getTime() < a) edges.push({ from: w.from, to: new Date(a) });
  if (b < w.to.getTime()) edges.push({ from: new Date(b), to: w.to });
  return { inner: { from: new Date(a), to: new Date(b) }, edges };
}
