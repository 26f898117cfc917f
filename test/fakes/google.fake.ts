/**
 * A local stand-in for Google's OAuth 2.0 server and the Merchant API's product inputs, speaking their
 * documented protocols closely enough to test a real client against: authorization code with PKCE S256
 * (RFC 6749 4.1, RFC 7636), single-use codes (a replayed code is invalid_grant and revokes what the code
 * issued, RFC 6749 4.1.2), refresh tokens, revocation (RFC 7009); bearer-token checks, quota 429s, 410
 * (a shut-down API), 5xx, and per-item 400s with google.rpc.BadRequest field violations. Also Google Business
 * Profile's v1 REST APIs: accounts.list, accounts.locations.list, locations.get/patch (readMask, updateMask: only
 * masked fields change, a bad field refuses the whole patch) and locations.fetchMultiDailyMetricsTimeSeries
 * (zero values left out, as Google does).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGoogle {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Product inputs held, by `account/contentLanguage~feedLabel~offerId`. */
  products: Map<string, { offerId: string; productAttributes: Record<string, unknown> }>;
  /** Every Merchant API call: method, offer id (or decoded input id), status answered. */
  calls: { method: string; id: string; status: number }[];
  /** Statuses answered (in order) by the next Merchant API calls, before any other check. */
  failNext: number[];
  /** Offer ids answered 400 with a field violation on price. */
  rejectOffers: Set<string>;
  /** Answer 410 to every Merchant API call (the Content API's fate). */
  gone: boolean;
  /** Calls allowed per quota window (default unlimited); beyond, 429 RESOURCE_EXHAUSTED. */
  quotaPerWindow: number;
  quotaWindowMs: number;
  /** Lifetime of access tokens issued from now on, in seconds. */
  accessTtlSeconds: number;
  tokenRequests: { grant: string; ok: boolean }[];
  /** Google Business Profile: accounts, locations by name, daily metrics, and every call made. */
  business: FakeBusiness;
  /** Simulates the user removing the app's access in their Google account: every token dies. */
  revokeAll(): void;
  /** Follows an authorization URL as a consenting user would: answers the redirect's code and state (GET /authorize does it over HTTP). */
  authorize(authorizationUrl: string): Promise<{ code: string; state: string; redirectUri: string }>;
  close(): Promise<void>;
}

export interface FakeBusiness {
  accounts: { name: string; accountName: string; type: string }[];
  /** Locations by account, each by name (`locations/{id}`), as the Business Information API returns them. */
  locations: Map<string, { account: string; location: Record<string, unknown> }>;
  /** Every call: method, path, update mask (PATCH), status answered. */
  calls: { method: string; path: string; updateMask?: string; status: number }[];
  /** Statuses answered (in order) by the next Business Profile calls, before any other check. */
  failNext: number[];
  /** The daily value of a metric at a location on a day (default: a deterministic figure from the three). */
  metric: (location: string, metric: string, day: string) => number | undefined;
  /** Answer the metrics of these dates too, whatever range was asked (a server that misbehaves). */
  extraDays: string[];
}

/** A deterministic daily figure (0..39) of a location, metric and day. */
export function fakeMetricValue(location: string, metric: string, day: string): number {
  return createHash('sha256').update(`${location}|${metric}|${day}`).digest()[0]! % 40;
}

const BUSINESS_FIELDS = new Set([
  'title',
  'phoneNumbers',
  'phoneNumbers.primaryPhone',
  'categories',
  'storefrontAddress',
  'websiteUri',
  'regularHours',
  'specialHours',
  'profile',
  'profile.description',
]);
const DAY_ENUM = new Set(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY']);
const DAILY_METRICS = new Set([
  'BUSINESS_IMPRESSIONS_DESKTOP_MAPS',
  'BUSINESS_IMPRESSIONS_DESKTOP_SEARCH',
  'BUSINESS_IMPRESSIONS_MOBILE_MAPS',
  'BUSINESS_IMPRESSIONS_MOBILE_SEARCH',
  'BUSINESS_CONVERSATIONS',
  'BUSINESS_DIRECTION_REQUESTS',
  'CALL_CLICKS',
  'WEBSITE_CLICKS',
  'BUSINESS_BOOKINGS',
  'BUSINESS_FOOD_ORDERS',
  'BUSINESS_FOOD_MENU_CLICKS',
]);

const b64urlSha = (s: string) => createHash('sha256').update(s, 'ascii').digest('base64url');

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const codes = new Map<string, { redirectUri: string; challenge: string; scope: string; used: boolean; issued: string[] }>();
  const access = new Map<string, { expiresAt: number; revoked: boolean; refresh: string | undefined }>();
  const refresh = new Map<string, { revoked: boolean }>();
  let windowStart = Date.now();
  let windowCalls = 0;

  const fake: FakeGoogle = {
    url: '',
    clientId: 'loupe-test-client',
    clientSecret: 'loupe-test-secret',
    products: new Map(),
    calls: [],
    failNext: [],
    rejectOffers: new Set(),
    gone: false,
    quotaPerWindow: Number.POSITIVE_INFINITY,
    quotaWindowMs: 1000,
    accessTtlSeconds: 3600,
    tokenRequests: [],
    business: {
      accounts: [{ name: 'accounts/1001', accountName: 'Fake Merchant', type: 'PERSONAL' }],
      locations: new Map([
        [
          'locations/555',
          {
            account: 'accounts/1001',
            location: {
              name: 'locations/555',
              title: 'Old Title',
              storefrontAddress: { regionCode: 'US', locality: 'Springfield', addressLines: ['1 Old Rd'] },
              phoneNumbers: { primaryPhone: '+14155550000', additionalPhones: ['+14155550001'] },
            },
          },
        ],
      ]),
      calls: [],
      failNext: [],
      metric: fakeMetricValue,
      extraDays: [],
    },
    revokeAll() {
      for (const a of access.values()) a.revoked = true;
      for (const r of refresh.values()) r.revoked = true;
    },
    async authorize(authorizationUrl) {
      const p = new URL(authorizationUrl).searchParams;
      const refused = authorizationProblem(p);
      if (refused) throw new Error(`authorization request refused: ${refused}`);
      return { code: grantCode(p), state: p.get('state')!, redirectUri: p.get('redirect_uri')! };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  /** Why an authorization request cannot be served at all (RFC 6749 4.1.2.1: shown to the user, never redirected). */
  const authorizationProblem = (p: URLSearchParams): string | undefined => {
    if (p.get('client_id') !== fake.clientId) return 'unknown client_id';
    const uri = p.get('redirect_uri') ?? '';
    if (!/^https?:\/\//.test(uri)) return 'redirect_uri missing or not http(s)';
    if (p.get('response_type') !== 'code') return 'response_type must be code';
    if (p.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(p.get('code_challenge') ?? ''))
      return 'PKCE S256 code_challenge required';
    return undefined;
  };
  const grantCode = (p: URLSearchParams): string => {
    const code = randomBytes(16).toString('base64url');
    codes.set(code, {
      redirectUri: p.get('redirect_uri')!,
      challenge: p.get('code_challenge')!,
      scope: p.get('scope') ?? '',
      used: false,
      issued: [],
    });
    return code;
  };
  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  /**
   * GET /authorize shows a tiny consent page (Allow / Deny, each a GET form repeating the request's parameters);
   * with `decision=allow` it redirects to redirect_uri with code and state, with `decision=deny` with
   * error=access_denied and state (RFC 6749 4.1.2, 4.1.2.1). A bad client or redirect_uri is shown, not redirected.
   */
  function authorizeEndpoint(p: URLSearchParams, res: http.ServerResponse) {
    const refused = authorizationProblem(p);
    if (refused) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(`<!doctype html><title>Error</title><h1>Authorization error</h1><p>${escapeHtml(refused)}</p>`);
    }
    const back = new URL(p.get('redirect_uri')!);
    const state = p.get('state');
    const decision = p.get('decision');
    if (decision === 'allow' || decision === 'deny') {
      if (decision === 'allow') back.searchParams.set('code', grantCode(p));
      else back.searchParams.set('error', 'access_denied');
      if (state !== null) back.searchParams.set('state', state);
      if (decision === 'allow') back.searchParams.set('scope', p.get('scope') ?? '');
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    const hidden = [...p.entries()]
      .filter(([k]) => k !== 'decision')
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>Sign in - Google Accounts (fake)</title><h1>Loupe wants to access your Google Account</h1>` +
        `<p>Scopes: ${escapeHtml(p.get('scope') ?? '')}</p>` +
        `<form method="get" action="/authorize">${hidden}<button name="decision" value="allow">Allow</button>` +
        `<button name="decision" value="deny">Deny</button></form>`,
    );
  }

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const googleError = (
    res: http.ServerResponse,
    code: number,
    status: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers = {},
  ) => json(res, code, { error: { code, status, message, ...extra } }, headers);

  function issue(withRefresh: string | undefined) {
    const token = `ya29.${randomBytes(16).toString('base64url')}`;
    access.set(token, { expiresAt: Date.now() + fake.accessTtlSeconds * 1000, revoked: false, refresh: withRefresh });
    return token;
  }

  function tokenEndpoint(form: URLSearchParams, res: http.ServerResponse) {
    const grant = form.get('grant_type') ?? '';
    const fail = (status: number, error: string, description: string) => {
      fake.tokenRequests.push({ grant, ok: false });
      json(res, status, { error, error_description: description });
    };
    if (form.get('client_id') !== fake.clientId || form.get('client_secret') !== fake.clientSecret)
      return fail(401, 'invalid_client', 'bad client');
    if (grant === 'authorization_code') {
      const c = codes.get(form.get('code') ?? '');
      if (!c) return fail(400, 'invalid_grant', 'unknown code');
      if (c.used) {
        // RFC 6749 4.1.2: a code used twice revokes the tokens it issued.
        for (const t of c.issued) {
          const a = access.get(t);
          if (a) a.revoked = true;
          const r = refresh.get(t);
          if (r) r.revoked = true;
        }
        return fail(400, 'invalid_grant', 'code already used');
      }
      c.used = true;
      if (form.get('redirect_uri') !== c.redirectUri) return fail(400, 'invalid_grant', 'redirect_uri mismatch');
      if (b64urlSha(form.get('code_verifier') ?? '') !== c.challenge) return fail(400, 'invalid_grant', 'code_verifier mismatch');
      const rt = `1//${randomBytes(16).toString('base64url')}`;
      refresh.set(rt, { revoked: false });
      const at = issue(rt);
      c.issued.push(at, rt);
      fake.tokenRequests.push({ grant, ok: true });
      const idPayload = Buffer.from(JSON.stringify({ sub: '1234567890', email: 'merchant@example.com' })).toString('base64url');
      return json(res, 200, {
        access_token: at,
        refresh_token: rt,
        expires_in: fake.accessTtlSeconds,
        token_type: 'Bearer',
        scope: c.scope,
        id_token: `e30.${idPayload}.sig`,
      });
    }
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      const r = refresh.get(rt);
      if (!r || r.revoked) return fail(400, 'invalid_grant', 'Token has been expired or revoked.');
      fake.tokenRequests.push({ grant, ok: true });
      return json(res, 200, {
        access_token: issue(rt),
        expires_in: fake.accessTtlSeconds,
        token_type: 'Bearer',
        scope: 'https://www.googleapis.com/auth/content',
      });
    }
    return fail(400, 'unsupported_grant_type', grant);
  }

  function revokeEndpoint(form: URLSearchParams, res: http.ServerResponse) {
    const t = form.get('token') ?? '';
    const r = refresh.get(t);
    const a = access.get(t);
    if (!r && !a) return json(res, 400, { error: 'invalid_token' });
    if (r) {
      r.revoked = true;
      for (const x of access.values()) if (x.refresh === t) x.revoked = true;
    }
    if (a) a.revoked = true;
    return json(res, 200, {});
  }

  /** The Geocoding API's JSON protocol: every address is found on its street, except one naming "Nowhere". */
  function geocode(q: URLSearchParams, res: http.ServerResponse) {
    if (q.get('key') !== GEOCODING_KEY)
      return json(res, 403, { status: 'REQUEST_DENIED', error_message: 'The provided API key is invalid.', results: [] });
    const address = q.get('address') ?? '';
    if (address.includes('Nowhere')) return json(res, 200, { status: 'ZERO_RESULTS', results: [] });
    return json(res, 200, {
      status: 'OK',
      results: [
        {
          formatted_address: address,
          place_id: `fake-${address.length}`,
          geometry: { location: { lat: 48.8584, lng: 2.2945 }, location_type: 'ROOFTOP' },
          address_components: [],
          types: ['street_address'],
        },
      ],
    });
  }

  function merchant(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    const u = new URL(req.url!, 'http://x');
    const insert = /^\/products\/v1\/accounts\/([^/]+)\/productInputs:insert$/.exec(u.pathname);
    const del = /^\/products\/v1\/accounts\/([^/]+)\/productInputs\/([^/]+)$/.exec(u.pathname);
    if (!(insert && req.method === 'POST') && !(del && req.method === 'DELETE'))
      return googleError(res, 404, 'NOT_FOUND', 'no such method');
    let id = '';
    let input: { offerId?: unknown; contentLanguage?: unknown; feedLabel?: unknown; productAttributes?: Record<string, unknown> } = {};
    if (insert) {
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload');
      }
      id = `${String(input.contentLanguage)}~${String(input.feedLabel)}~${String(input.offerId)}`;
    } else id = Buffer.from(decodeURIComponent(del![2]!), 'base64url').toString('utf8');
    const record = (status: number) => fake.calls.push({ method: req.method!, id, status });
    const account = (insert ?? del)![1]!;
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const tok = auth ? access.get(auth[1]!) : undefined;
    if (!tok || tok.revoked || tok.expiresAt < Date.now()) {
      record(401);
      return googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    if (fake.gone) {
      record(410);
      return googleError(res, 410, 'GONE', 'This API is shut down.');
    }
    const forced = fake.failNext.shift();
    if (forced) {
      record(forced);
      return googleError(
        res,
        forced,
        forced === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL',
        'forced',
        {},
        forced === 429 ? { 'retry-after': '0' } : {},
      );
    }
    if (Date.now() - windowStart >= fake.quotaWindowMs) {
      windowStart = Date.now();
      windowCalls = 0;
    }
    if (++windowCalls > fake.quotaPerWindow) {
      record(429);
      return googleError(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric products-write.');
    }
    if (u.searchParams.get('dataSource') !== `accounts/${account}/dataSources/${u.searchParams.get('dataSource')?.split('/').pop()}`) {
      record(400);
      return googleError(res, 400, 'INVALID_ARGUMENT', 'dataSource is required.');
    }
    const key = `${account}/${id}`;
    if (del) {
      const had = fake.products.delete(key);
      record(had ? 200 : 404);
      return had ? json(res, 200, {}) : googleError(res, 404, 'NOT_FOUND', 'product input not found');
    }
    const attrs = input.productAttributes ?? {};
    const violations: { field: string; description: string }[] = [];
    if (typeof input.offerId !== 'string' || !input.offerId) violations.push({ field: 'offer_id', description: 'offerId is required' });
    if (typeof attrs.title !== 'string') violations.push({ field: 'product_attributes.title', description: 'title is required' });
    const price = attrs.price as { amountMicros?: unknown } | undefined;
    if (price && !/^\d+$/.test(String(price.amountMicros)))
      violations.push({ field: 'product_attributes.price', description: 'amountMicros must be an integer' });
    if (fake.rejectOffers.has(String(input.offerId)))
      violations.push({ field: 'product_attributes.price', description: 'Price mismatch between the landing page and the product data' });
    if (violations.length) {
      record(400);
      return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid product input', {
        details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations }],
      });
    }
    fake.products.set(key, { offerId: String(input.offerId), productAttributes: attrs });
    record(200);
    return json(res, 200, { name: `accounts/${account}/productInputs/${id}`, product: `accounts/${account}/products/${id}`, ...input });
  }

  /** Google Business Profile's REST APIs (Account Management, Business Information, Performance), v1. */
  function business(req: http.IncomingMessage, body: string, res: http.ServerResponse): boolean {
    const u = new URL(req.url!, 'http://x');
    const p = u.pathname;
    const routes: [string, RegExp][] = [
      ['accounts', /^\/v1\/accounts$/],
      ['list', /^\/v1\/(accounts\/[^/]+)\/locations$/],
      ['metrics', /^\/v1\/(locations\/[^/:]+):fetchMultiDailyMetricsTimeSeries$/],
      ['location', /^\/v1\/(locations\/[^/:]+)$/],
    ];
    const hit = routes.map(([k, re]) => [k, re.exec(p)] as const).find(([, m]) => m);
    if (!hit) return false;
    const [kind, m] = hit;
    const b = fake.business;
    const updateMask = u.searchParams.get('updateMask') ?? undefined;
    const record = (status: number) =>
      b.calls.push({ method: req.method!, path: p, ...(updateMask !== undefined ? { updateMask } : {}), status });
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const tok = auth ? access.get(auth[1]!) : undefined;
    if (!tok || tok.revoked || tok.expiresAt < Date.now()) {
      record(401);
      googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
      return true;
    }
    const forced = b.failNext.shift();
    if (forced) {
      record(forced);
      googleError(
        res,
        forced,
        forced === 429 ? 'RESOURCE_EXHAUSTED' : forced === 410 ? 'GONE' : 'INTERNAL',
        'forced',
        {},
        forced === 429 ? { 'retry-after': '0' } : {},
      );
      return true;
    }
    const bad = (field: string, description: string) => {
      record(400);
      googleError(res, 400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', {
        details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] }],
      });
      return true;
    };
    const ok = (out: unknown) => {
      record(200);
      json(res, 200, out);
      return true;
    };
    if (kind === 'accounts' && req.method === 'GET') return ok({ accounts: b.accounts });
    if (kind === 'list' && req.method === 'GET') {
      if (!u.searchParams.get('readMask')) return bad('read_mask', 'read_mask is required');
      const account = m![1]!;
      return ok({ locations: [...b.locations.values()].filter((l) => l.account === account).map((l) => l.location) });
    }
    const name = m![1]!;
    const held = b.locations.get(name);
    if (!held) {
      record(404);
      googleError(res, 404, 'NOT_FOUND', 'Requested entity was not found.');
      return true;
    }
    if (kind === 'location' && req.method === 'GET') {
      if (!u.searchParams.get('readMask')) return bad('read_mask', 'read_mask is required');
      return ok(held.location);
    }
    if (kind === 'location' && req.method === 'PATCH') {
      if (!updateMask) return bad('update_mask', 'update_mask is required');
      let input: Record<string, any>;
      try {
        input = JSON.parse(body) as Record<string, any>;
      } catch {
        return bad('', 'Invalid JSON payload');
      }
      const paths = updateMask.split(',');
      for (const path of paths) if (!BUSINESS_FIELDS.has(path)) return bad('update_mask', `Invalid field mask path: ${path}`);
      const get = (o: any, path: string) => path.split('.').reduce((v, k) => (v == null ? undefined : v[k]), o);
      if (paths.includes('title') && !String(input.title ?? '').trim()) return bad('location.title', 'title must not be empty');
      const phone = get(input, 'phoneNumbers.primaryPhone');
      if (phone !== undefined && !/^\+[1-9]\d{6,14}$/.test(String(phone)))
        return bad('location.phone_numbers.primary_phone', 'Invalid phone number');
      if (paths.includes('websiteUri') && !/^https?:\/\//.test(String(input.websiteUri ?? '')))
        return bad('location.website_uri', 'Invalid website URI');
      for (const per of (input.regularHours?.periods ?? []) as any[])
        if (!DAY_ENUM.has(per.openDay) || !DAY_ENUM.has(per.closeDay)) return bad('location.regular_hours.periods.open_day', 'Invalid day');
      if (paths.includes('storefrontAddress') && !input.storefrontAddress?.regionCode)
        return bad('location.storefront_address.region_code', 'region_code is required');
      // Applied whole or not at all: only the masked fields change.
      const next = structuredClone(held.location) as Record<string, any>;
      for (const path of paths) {
        const keys = path.split('.');
        let node = next;
        for (const k of keys.slice(0, -1)) node = node[k] ??= {};
        const v = get(input, path);
        if (v === undefined) delete node[keys[keys.length - 1]!];
        else node[keys[keys.length - 1]!] = v;
      }
      held.location = next;
      return ok(next);
    }
    if (kind === 'metrics' && req.method === 'GET') {
      const q = u.searchParams;
      const metrics = q.getAll('dailyMetrics');
      if (!metrics.length) return bad('daily_metrics', 'daily_metrics is required');
      for (const x of metrics) if (!DAILY_METRICS.has(x)) return bad('daily_metrics', `Invalid value at 'daily_metrics' (${x})`);
      const d = (edge: string) => {
        const [y, mo, da] = ['year', 'month', 'day'].map((f) => Number(q.get(`dailyRange.${edge}.${f}`)));
        return Date.UTC(y!, mo! - 1, da!);
      };
      const start = d('startDate');
      const end = d('endDate');
      if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return bad('daily_range', 'Invalid daily_range');
      const days: string[] = [];
      for (let t = start; t <= end; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
      days.push(...b.extraDays);
      const asDate = (day: string) => ({ year: Number(day.slice(0, 4)), month: Number(day.slice(5, 7)), day: Number(day.slice(8, 10)) });
      return ok({
        multiDailyMetricTimeSeries: [
          {
            dailyMetricTimeSeries: metrics.map((metric) => ({
              dailyMetric: metric,
              timeSeries: {
                datedValues: days.map((day) => {
                  const v = b.metric(name, metric, day);
                  // Google leaves zero values out: the dated value has no `value`.
                  return v ? { date: asDate(day), value: String(v) } : { date: asDate(day) };
                }),
              },
            })),
          },
        ],
      });
    }
    record(404);
    googleError(res, 404, 'NOT_FOUND', 'no such method');
    return true;
  }

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = new URL(req.url!, 'http://x').pathname;
      if (req.method === 'GET' && path === '/authorize') return authorizeEndpoint(new URL(req.url!, 'http://x').searchParams, res);
      if (req.method === 'POST' && path === '/token') return tokenEndpoint(new URLSearchParams(body), res);
      if (req.method === 'POST' && path === '/revoke') return revokeEndpoint(new URLSearchParams(body), res);
      if (req.method === 'GET' && path === '/maps/api/geocode/json') return geocode(new URL(req.url!, 'http://x').searchParams, res);
      if (business(req, body, res)) return;
      return merchant(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** The environment that points a Loupe test app at the fake. */
export const fakeGoogleEnv = (g: FakeGoogle): Record<string, string> => ({
  GOOGLE_OAUTH_CLIENT_ID: g.clientId,
  GOOGLE_OAUTH_CLIENT_SECRET: g.clientSecret,
  GOOGLE_OAUTH_REDIRECT_URI: 'https://loupe.example.com/google/oauth/callback',
  GOOGLE_OAUTH_AUTHORIZE_URL: `${g.url}/authorize`,
  GOOGLE_OAUTH_TOKEN_URL: `${g.url}/token`,
  GOOGLE_OAUTH_REVOKE_URL: `${g.url}/revoke`,
  GOOGLE_MERCHANT_API_URL: g.url,
  GOOGLE_MERCHANT_RETRY_BASE_MS: '5',
  GOOGLE_BUSINESS_ACCOUNTS_URL: g.url,
  GOOGLE_BUSINESS_INFORMATION_URL: g.url,
  GOOGLE_BUSINESS_PERFORMANCE_URL: g.url,
  LOUPE_GEOCODING_API_KEY: GEOCODING_KEY,
  LOUPE_GEOCODING_URL: `${g.url}/maps/api/geocode/json`,
});
const GEOCODING_KEY = 'fake-geocoding-key';
