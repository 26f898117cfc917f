/**
 * A client of Google Business Profile's REST APIs, v1: accounts (Account Management API), locations list, get and
 * patch with an update mask (Business Information API), and daily metrics
 * (`locations/{id}:fetchMultiDailyMetricsTimeSeries`, Business Profile Performance API). Each base URL is
 * configurable (tests: a local server). Same transport as the Merchant API client (`google.http.client.ts`):
 * bearer token, 429/5xx retried with backoff and jitter, 4xx outcomes with Google's per-field violations.
 *
 * Hand-written on fetch like the Merchant API client: Google ships no light official package for the Performance
 * API, and `@googleapis/mybusinessbusinessinformation` would bring a second HTTP, auth and retry stack (gaxios,
 * google-auth-library) beside the one the Merchant API client uses.
 */
import { createGoogleHttp, type GoogleHttpOptions, type GoogleOutcome } from './google.http.client.ts';

export interface GbpClientOptions extends GoogleHttpOptions {
  /** https://mybusinessaccountmanagement.googleapis.com */
  accountsUrl: string;
  /** https://mybusinessbusinessinformation.googleapis.com */
  informationUrl: string;
  /** https://businessprofileperformance.googleapis.com */
  performanceUrl: string;
}

/** google.type.Date */
export interface GDate {
  year: number;
  month: number;
  day: number;
}
/** google.type.TimeOfDay */
export interface GTime {
  hours?: number;
  minutes?: number;
}

/** The Location fields Loupe reads and writes (Business Information API v1). */
export interface GbpLocation {
  name?: string;
  title?: string;
  storeCode?: string;
  languageCode?: string;
  phoneNumbers?: { primaryPhone?: string; additionalPhones?: string[] };
  categories?: { primaryCategory?: { name: string; displayName?: string }; additionalCategories?: { name: string }[] };
  storefrontAddress?: {
    regionCode?: string;
    languageCode?: string;
    postalCode?: string;
    administrativeArea?: string;
    locality?: string;
    addressLines?: string[];
  };
  websiteUri?: string;
  regularHours?: { periods: { openDay: string; openTime: GTime; closeDay: string; closeTime: GTime }[] };
  specialHours?: { specialHourPeriods: { startDate: GDate; endDate?: GDate; openTime?: GTime; closeTime?: GTime; closed?: boolean }[] };
  profile?: { description?: string };
  latlng?: { latitude: number; longitude: number };
}

export interface GbpAccount {
  name: string;
  accountName?: string;
  type?: string;
}

/** The daily metrics Loupe stores (DailyMetric enum of the Performance API). */
export const GBP_DAILY_METRICS = [
  'BUSINESS_IMPRESSIONS_DESKTOP_MAPS',
  'BUSINESS_IMPRESSIONS_DESKTOP_SEARCH',
  'BUSINESS_IMPRESSIONS_MOBILE_MAPS',
  'BUSINESS_IMPRESSIONS_MOBILE_SEARCH',
  'BUSINESS_DIRECTION_REQUESTS',
  'CALL_CLICKS',
  'WEBSITE_CLICKS',
] as const;
export type GbpDailyMetric = (typeof GBP_DAILY_METRICS)[number];

export interface MultiDailyMetricsResponse {
  multiDailyMetricTimeSeries?: {
    dailyMetricTimeSeries?: {
      dailyMetric?: string;
      timeSeries?: { datedValues?: { date?: Partial<GDate>; value?: string }[] };
    }[];
  }[];
}

/** The fields of a location the pickers show. */
export const LOCATION_LIST_MASK = 'name,title,storefrontAddress,websiteUri';
/** The fields Loupe compares and writes. */
export const LOCATION_READ_MASK =
  'name,title,phoneNumbers,categories,storefrontAddress,websiteUri,regularHours,specialHours,profile,latlng';

/** At most this many pages of accounts or locations are read (100 each): a picker, not an export. */
const MAX_PAGES = 10;

export function createGbpClient(opts: GbpClientOptions) {
  const http = createGoogleHttp(opts);
  const trim = (u: string) => u.replace(/\/$/, '');
  const accountsBase = trim(opts.accountsUrl);
  const infoBase = trim(opts.informationUrl);
  const perfBase = trim(opts.performanceUrl);
  /** `locations/123` or `accounts/1`: path segments Google names resources by; anything else is refused before a call. */
  const resource = (name: string, kind: 'locations' | 'accounts') => {
    if (!new RegExp(`^${kind}/[A-Za-z0-9_-]{1,64}$`).test(name)) throw new Error(`not a ${kind} resource name`);
    return name;
  };

  async function paged<T>(first: string, key: string, token: string, signal?: AbortSignal): Promise<GoogleOutcome<T[]>> {
    const out: T[] = [];
    let pageToken: string | undefined;
    let calls = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const u = new URL(first);
      if (pageToken) u.searchParams.set('pageToken', pageToken);
      const r = await http.call<Record<string, unknown>>({ method: 'GET', url: u.toString(), token, signal });
      calls += r.calls;
      if (!r.ok) return { ...r, calls };
      const items = r.body[key];
      if (Array.isArray(items)) out.push(...(items as T[]));
      pageToken = typeof r.body.nextPageToken === 'string' && r.body.nextPageToken ? r.body.nextPageToken : undefined;
      if (!pageToken) break;
    }
    return { ok: true, status: 200, calls, body: out };
  }

  return {
    /** accounts.list (Account Management API): the accounts the token's user can manage. */
    listAccounts: (token: string, signal?: AbortSignal) =>
      paged<GbpAccount>(`${accountsBase}/v1/accounts?pageSize=20`, 'accounts', token, signal),

    /** accounts.locations.list: an account's locations with the picker's fields. */
    listLocations: (token: string, account: string, signal?: AbortSignal) =>
      paged<GbpLocation>(
        `${infoBase}/v1/${resource(account, 'accounts')}/locations?pageSize=100&readMask=${encodeURIComponent(LOCATION_LIST_MASK)}`,
        'locations',
        token,
        signal,
      ),

    /** locations.get with the fields Loupe writes. */
    getLocation: (token: string, name: string, signal?: AbortSignal) =>
      http.call<GbpLocation>({
        method: 'GET',
        url: `${infoBase}/v1/${resource(name, 'locations')}?readMask=${encodeURIComponent(LOCATION_READ_MASK)}`,
        token,
        signal,
      }),

    /**
     * locations.patch: only the fields named in `updateMask` change (a field in the mask and absent from the body is
     * cleared). `validateOnly` asks Google to check without applying.
     */
    patchLocation: (
      token: string,
      name: string,
      location: GbpLocation,
      updateMask: readonly string[],
      o: { validateOnly?: boolean; signal?: AbortSignal } = {},
    ) =>
      http.call<GbpLocation>({
        method: 'PATCH',
        url: `${infoBase}/v1/${resource(name, 'locations')}?updateMask=${encodeURIComponent(updateMask.join(','))}${
          o.validateOnly ? '&validateOnly=true' : ''
        }`,
        token,
        body: location,
        signal: o.signal,
      }),

    /** locations.fetchMultiDailyMetricsTimeSeries over [start, end] (both inclusive, calendar dates). */
    fetchDailyMetrics: (
      token: string,
      name: string,
      metrics: readonly GbpDailyMetric[],
      range: { start: GDate; end: GDate },
      signal?: AbortSignal,
    ) => {
      const u = new URL(`${perfBase}/v1/${resource(name, 'locations')}:fetchMultiDailyMetricsTimeSeries`);
      for (const m of metrics) u.searchParams.append('dailyMetrics', m);
      for (const [edge, d] of [
        ['startDate', range.start],
        ['endDate', range.end],
      ] as const) {
        u.searchParams.set(`dailyRange.${edge}.year`, String(d.year));
        u.searchParams.set(`dailyRange.${edge}.month`, String(d.month));
        u.searchParams.set(`dailyRange.${edge}.day`, String(d.day));
      }
      return http.call<MultiDailyMetricsResponse>({ method: 'GET', url: u.toString(), token, signal });
    },
  };
}
export type GbpClient = ReturnType<typeof createGbpClient>;
