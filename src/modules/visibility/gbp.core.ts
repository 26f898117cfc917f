/**
 * Google Business Profile, the pure part: the business profile as a Business Information API Location with the
 * update mask of what differs from Google's copy, and the Performance API's daily time series as rows per day and
 * metric. No I/O, no clock (dates are passed in).
 */
import { GBP_DAILY_METRICS, type GbpDailyMetric, type GbpLocation, type GDate, type GTime } from './gbp.client.ts';
import type { BusinessProfile } from './profile.core.ts';

export interface SkippedField {
  field: string;
  message: string;
}

/** Google's description limit (characters). */
const DESCRIPTION_MAX = 750;

const time = (hhmm: string): GTime => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return m ? { hours: h, minutes: m } : { hours: h };
};
const date = (iso: string): GDate => {
  const [year, month, day] = iso.split('-').map(Number) as [number, number, number];
  return { year, month, day };
};

/**
 * The Location fields the profile sets, keyed by their update-mask path. A field the profile leaves empty is not
 * sent (Loupe never clears what the merchant keeps only on Google); categories go only as Google category ids
 * (`gcid:shoe_store`): free-text categories are listed in `skipped`.
 */
export function desiredFields(p: BusinessProfile): { fields: Map<string, unknown>; skipped: SkippedField[] } {
  const fields = new Map<string, unknown>();
  const skipped: SkippedField[] = [];
  if (p.name.trim()) fields.set('title', p.name.trim());
  if (p.phone) fields.set('phoneNumbers.primaryPhone', p.phone);
  const a = p.address;
  if (a.country || a.line1 || a.city) {
    const lines = [a.line1, a.line2].map((x) => x?.trim()).filter((x): x is string => !!x);
    fields.set('storefrontAddress', {
      ...(a.country ? { regionCode: a.country.toUpperCase() } : {}),
      ...(a.postalCode ? { postalCode: a.postalCode } : {}),
      ...(a.region ? { administrativeArea: a.region } : {}),
      ...(a.city ? { locality: a.city } : {}),
      addressLines: lines,
    });
  }
  if (p.website) fields.set('websiteUri', p.website);
  if (p.regularHours.length)
    fields.set('regularHours', {
      periods: p.regularHours.map((h) => ({
        openDay: h.day.toUpperCase(),
        openTime: time(h.open),
        closeDay: h.day.toUpperCase(),
        closeTime: time(h.close),
      })),
    });
  if (p.specialHours.length)
    fields.set('specialHours', {
      specialHourPeriods: p.specialHours.map((s) =>
        s.closed || !s.open || !s.close
          ? { startDate: date(s.date), closed: true }
          : { startDate: date(s.date), openTime: time(s.open), closeTime: time(s.close) },
      ),
    });
  if (p.seo.description) fields.set('profile.description', p.seo.description.slice(0, DESCRIPTION_MAX));
  const ids = p.categories.filter((c) => /^gcid:[a-z0-9_]{1,100}$/.test(c));
  const free = p.categories.filter((c) => !ids.includes(c));
  if (ids.length)
    fields.set('categories', {
      primaryCategory: { name: `categories/${ids[0]}` },
      ...(ids.length > 1 ? { additionalCategories: ids.slice(1).map((c) => ({ name: `categories/${c}` })) } : {}),
    });
  if (free.length)
    skipped.push({
      field: 'categories',
      message: `Not sent to Google: ${free.join(', ')}. Google takes its own category ids (for example gcid:shoe_store).`,
    });
  return { fields, skipped };
}

const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

/** JSON with sorted keys, so two equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Google omits zero minutes and hours: `{hours: 9}` and `{hours: 9, minutes: 0}` are the same time. */
function normalizeTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalizeTimes);
  if (v && typeof v === 'object') {
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeTimes(x)]));
    for (const k of ['hours', 'minutes'] as const) if (o[k] === 0) delete o[k];
    return o;
  }
  return v;
}

/**
 * What to send: the Location carrying every desired field and the mask naming only those that differ from
 * Google's copy (an unchanged profile makes an empty mask, hence no write).
 */
export function planLocationPatch(desired: Map<string, unknown>, current: GbpLocation): { location: GbpLocation; updateMask: string[] } {
  const location: Record<string, unknown> = {};
  const updateMask: string[] = [];
  for (const [path, value] of desired) {
    if (canonical(normalizeTimes(get(current, path))) === canonical(normalizeTimes(value))) continue;
    updateMask.push(path);
    const keys = path.split('.');
    let node = location;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = value;
  }
  return { location: location as GbpLocation, updateMask };
}

/** Google's per-field paths (`phone_numbers.primary_phone`, `title`) as the profile's field names. */
const FIELD_OF: Record<string, string> = {
  title: 'name',
  phone_numbers: 'phone',
  storefront_address: 'address',
  website_uri: 'website',
  regular_hours: 'regular_hours',
  special_hours: 'special_hours',
  profile: 'seo.description',
  categories: 'categories',
};
/** The profile field a Google field violation is about (`location.phone_numbers.primary_phone` -> `phone`). */
export function profileFieldOf(googleField: string): string {
  const parts = googleField
    .replace(/^location\./, '')
    .replace(/([A-Z])/g, '_$1')
    .toLowerCase()
    .split('.');
  return FIELD_OF[parts[0] ?? ''] ?? (googleField || 'profile');
}

export interface MetricRow {
  day: string;
  metric: GbpDailyMetric;
  value: number;
}

const isMetric = (m: unknown): m is GbpDailyMetric => (GBP_DAILY_METRICS as readonly unknown[]).includes(m);
const pad = (n: number) => String(n).padStart(2, '0');
export const isoDate = (d: GDate) => `${d.year}-${pad(d.month)}-${pad(d.day)}`;

/**
 * The Performance API's answer as rows: one per day and known metric. A dated value without `value` is 0 (Google
 * leaves zeros out); an unknown metric, a partial or impossible date, or a value that is not a non-negative integer
 * is dropped.
 */
export function metricRows(resp: {
  multiDailyMetricTimeSeries?: {
    dailyMetricTimeSeries?: { dailyMetric?: string; timeSeries?: { datedValues?: { date?: Partial<GDate>; value?: string }[] } }[];
  }[];
}): MetricRow[] {
  const out = new Map<string, MetricRow>();
  for (const multi of resp.multiDailyMetricTimeSeries ?? [])
    for (const s of multi.dailyMetricTimeSeries ?? []) {
      if (!isMetric(s.dailyMetric)) continue;
      for (const dv of s.timeSeries?.datedValues ?? []) {
        const d = dv.date;
        if (!d?.year || !d.month || !d.day) continue;
        const day = isoDate(d as GDate);
        const check = new Date(`${day}T00:00:00Z`);
        if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== day) continue;
        const raw = dv.value ?? '0';
        if (!/^\d{1,15}$/.test(raw)) continue;
        out.set(`${day}|${s.dailyMetric}`, { day, metric: s.dailyMetric, value: Number(raw) });
      }
    }
  return [...out.values()];
}

/** The days a daily fetch asks for: the `days` days ending yesterday (UTC); Google's figures settle over a few days. */
export function metricsRange(now: Date, days: number): { start: GDate; end: GDate } {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
  const start = new Date(end.getTime() - (days - 1) * 86_400_000);
  const g = (d: Date): GDate => ({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
  return { start: g(start), end: g(end) };
}

export interface InsightDay {
  date: string;
  impressionsDesktopMaps: number;
  impressionsDesktopSearch: number;
  impressionsMobileMaps: number;
  impressionsMobileSearch: number;
  directionRequests: number;
  callClicks: number;
  websiteClicks: number;
}

const KEY: Record<GbpDailyMetric, keyof Omit<InsightDay, 'date'>> = {
  BUSINESS_IMPRESSIONS_DESKTOP_MAPS: 'impressionsDesktopMaps',
  BUSINESS_IMPRESSIONS_DESKTOP_SEARCH: 'impressionsDesktopSearch',
  BUSINESS_IMPRESSIONS_MOBILE_MAPS: 'impressionsMobileMaps',
  BUSINESS_IMPRESSIONS_MOBILE_SEARCH: 'impressionsMobileSearch',
  BUSINESS_DIRECTION_REQUESTS: 'directionRequests',
  CALL_CLICKS: 'callClicks',
  WEBSITE_CLICKS: 'websiteClicks',
};

/** Stored rows as one record per day over [from, to] (ISO dates, inclusive); a day without figures is null. */
export function insightDays(rows: readonly MetricRow[], from: string, to: string): (InsightDay | { date: string; missing: true })[] {
  const byDay = new Map<string, InsightDay>();
  for (const r of rows) {
    let d = byDay.get(r.day);
    if (!d) {
      d = {
        date: r.day,
        impressionsDesktopMaps: 0,
        impressionsDesktopSearch: 0,
        impressionsMobileMaps: 0,
        impressionsMobileSearch: 0,
        directionRequests: 0,
        callClicks: 0,
        websiteClicks: 0,
      };
      byDay.set(r.day, d);
    }
    d[KEY[r.metric]] = r.value;
  }
  const out: (InsightDay | { date: string; missing: true })[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { date: day, missing: true });
  }
  return out;
}
