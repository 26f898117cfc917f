/**
 * Business profile validation: what Google Business Profile and search engines need, as a score out of 100
 * and a list of fixes. Pure (libphonenumber-js's metadata is data, not I/O).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Day = (typeof DAYS)[number];

export interface BusinessProfile {
  name: string;
  address: { line1?: string; line2?: string; city?: string; region?: string; postalCode?: string; country?: string };
  phone: string | null;
  website: string | null;
  categories: string[];
  timeZone: string | null;
  regularHours: { day: Day; open: string; close: string }[];
  specialHours: { date: string; closed?: boolean; open?: string; close?: string }[];
  seo: { title?: string; description?: string; keywords?: string[] };
}

export interface ProfileFix {
  field: string;
  severity: 'error' | 'warning';
  message: string;
  fix: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** True for an IANA time zone name this runtime knows (America/New_York, Europe/Paris). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.includes('/') || tz === 'UTC';
  } catch {
    return false;
  }
}

/** The phone number in E.164 (+14155552671), read with the address's country as default; null when it cannot be parsed. */
export function toE164(phone: string, country: string | undefined): string | null {
  const p = parsePhoneNumberFromString(phone, (country?.toUpperCase() as CountryCode | undefined) ?? undefined);
  return p?.isValid() ? p.number : null;
}

/** Problems of one day's intervals: a malformed time, an end not after its start, overlapping intervals. */
function intervalFixes(field: string, intervals: { open?: string; close?: string }[], out: ProfileFix[]): void {
  const ok: [number, number][] = [];
  for (const iv of intervals) {
    if (!iv.open || !iv.close || !HHMM.test(iv.open) || !HHMM.test(iv.close)) {
      out.push({
        field,
        severity: 'error',
        message: 'Opening hours must be HH:MM (24-hour clock).',
        fix: 'Write times like 09:00 and 17:30.',
      });
      continue;
    }
    const [o, c] = [minutes(iv.open), minutes(iv.close)];
    if (c <= o) {
      out.push({
        field,
        severity: 'error',
        message: `Closing time ${iv.close} is not after opening time ${iv.open}.`,
        fix: 'Make the closing time later than the opening time; for hours past midnight close at 24:00 and open at 00:00 the next day.',
      });
      continue;
    }
    ok.push([o, c]);
  }
  ok.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ok.length; i++)
    if (ok[i]![0] < ok[i - 1]![1])
      out.push({
        field,
        severity: 'error',
        message: 'Two opening intervals overlap.',
        fix: 'Merge the overlapping intervals into one, or fix their times.',
      });
}

/** Where the geocoder found the business address, or why not; kept beside the profile and shown in validation. */
export type GeoLocation =
  | {
      status: 'found';
      latitude: number;
      longitude: number;
      /** ROOFTOP, RANGE_INTERPOLATED, GEOMETRIC_CENTER or APPROXIMATE (Google's location_type) */
      precision: string;
      formattedAddress: string;
      placeId: string | null;
      partialMatch: boolean;
      geocodedAt: string;
    }
  | { status: 'not_found'; geocodedAt: string }
  | { status: 'unavailable'; error: string; geocodedAt: string };

/** What the geocoder's answer asks of the merchant (none when it found the address exactly, or never looked). */
export function locationFixes(location: GeoLocation | null): ProfileFix[] {
  if (!location) return [];
  if (location.status === 'not_found')
    return [
      {
        field: 'address',
        severity: 'error',
        message: 'The address could not be found on the map.',
        fix: 'Check the street, postal code and city: Google shows a business only where it can place it.',
      },
    ];
  if (location.status === 'found' && (location.partialMatch || location.precision === 'APPROXIMATE'))
    return [
      {
        field: 'address',
        severity: 'warning',
        message: `The address was only approximately found (as "${location.formattedAddress}").`,
        fix: 'Add the street number and check the spelling, so shoppers are sent to the right door.',
      },
    ];
  return [];
}

/** Validates a profile: a score out of 100 (an error costs 15, a warning 5) and the fixes to make. */
export function validateProfile(p: BusinessProfile): { score: number; fixes: ProfileFix[] } {
  const fixes: ProfileFix[] = [];
  const add = (field: string, severity: 'error' | 'warning', message: string, fix: string) => fixes.push({ field, severity, message, fix });
  if (!p.name.trim()) add('name', 'error', 'The business name is missing.', 'Use the name customers see on your storefront and signage.');
  else if (p.name.length > 100)
    add('name', 'error', 'The business name is longer than 100 characters.', 'Shorten it to the real-world name.');

  const a = p.address;
  for (const [f, label] of [
    ['line1', 'street address'],
    ['city', 'city'],
    ['postalCode', 'postal code'],
    ['country', 'country'],
  ] as const)
    if (!a[f]?.trim())
      add(`address.${f === 'postalCode' ? 'postal_code' : f}`, 'error', `The ${label} is missing.`, `Add the ${label} of the business.`);
  if (a.country && !/^[A-Z]{2}$/.test(a.country))
    add('address.country', 'error', 'country is not an ISO 3166-1 alpha-2 code.', 'Use a two-letter code such as US or FR.');

  if (!p.phone) add('phone', 'warning', 'No phone number.', 'Add the main phone number so customers can call.');
  else if (!toE164(p.phone, a.country))
    add(
      'phone',
      'error',
      'The phone number cannot be parsed as a valid number.',
      'Write it in international form, e.g. +1 415 555 2671, or with the country in the address.',
    );

  if (!p.website) add('website', 'warning', 'No website.', 'Add the store URL so customers can reach it from search.');
  else if (!/^https?:\/\/[^\s/]+\.[^\s]+$/i.test(p.website) || p.website.length > 2000)
    add('website', 'error', 'The website is not a valid http(s) URL.', 'Use the full URL, e.g. https://shop.example.com.');
  else if (/^http:/i.test(p.website))
    add('website', 'warning', 'The website is not served over HTTPS.', 'Use the https:// address of the store.');

  if (!p.categories.length)
    add('categories', 'error', 'No business category.', 'Pick a primary category that describes the business, e.g. "Shoe store".');
  else if (p.categories.length > 10)
    add('categories', 'error', 'More than 10 categories.', 'Keep one primary and at most nine additional categories.');

  if (!p.timeZone)
    add(
      'time_zone',
      p.regularHours.length ? 'error' : 'warning',
      'No time zone for the opening hours.',
      'Set the IANA time zone, e.g. America/New_York.',
    );
  else if (!isTimeZone(p.timeZone))
    add(
      'time_zone',
      'error',
      `"${p.timeZone.slice(0, 60)}" is not an IANA time zone.`,
      'Use a name such as America/New_York or Europe/Paris.',
    );

  if (!p.regularHours.length) add('regular_hours', 'warning', 'No opening hours.', 'Add regular hours for each day the business opens.');
  for (const day of DAYS) {
    const ivs = p.regularHours.filter((h) => h.day === day);
    if (ivs.length) intervalFixes(`regular_hours.${day}`, ivs, fixes);
  }
  const byDate = new Map<string, { open?: string; close?: string; closed?: boolean }[]>();
  for (const s of p.specialHours) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s.date) || Number.isNaN(Date.parse(s.date))) {
      add('special_hours', 'error', `"${s.date.slice(0, 20)}" is not a date.`, 'Write special-hours dates as YYYY-MM-DD.');
      continue;
    }
    byDate.set(s.date, [...(byDate.get(s.date) ?? []), s]);
  }
  for (const [date, list] of byDate) {
    if (list.some((s) => s.closed) && list.length > 1)
      add(
        `special_hours.${date}`,
        'error',
        `${date} is marked closed and also has opening hours.`,
        'Either mark the day closed or give its hours.',
      );
    else if (!list.some((s) => s.closed)) intervalFixes(`special_hours.${date}`, list, fixes);
  }

  const seo = p.seo;
  if (!seo.title)
    add('seo.title', 'warning', 'No SEO title.', 'Add a title of at most 60 characters naming the business and what it sells.');
  else if (seo.title.length > 60)
    add('seo.title', 'warning', 'The SEO title is longer than 60 characters (search results cut it).', 'Shorten it to 60 characters.');
  if (!seo.description) add('seo.description', 'warning', 'No SEO description.', 'Add a description of 50 to 160 characters.');
  else if (seo.description.length < 50 || seo.description.length > 160)
    add(
      'seo.description',
      'warning',
      `The SEO description has ${seo.description.length} characters.`,
      'Keep it between 50 and 160 characters.',
    );
  if ((seo.keywords?.length ?? 0) > 10) add('seo.keywords', 'warning', 'More than 10 keywords.', 'Keep the ten that matter most.');

  const cost = fixes.reduce((n, f) => n + (f.severity === 'error' ? 15 : 5), 0);
  return { score: Math.max(0, 100 - cost), fixes };
}
