/**
 * A local stand-in for Google's OAuth 2.0 server and the Merchant API's product inputs, speaking their
 * documented protocols closely enough to test a real client against: authorization code with PKCE S256
 * (RFC 6749 4.1, RFC 7636), single-use codes (a replayed code is invalid_grant and revokes what the code
 * issued, RFC 6749 4.1.2), refresh tokens, revocation (RFC 7009); bearer-token checks, quota 429s, 410
 * (a shut-down API), 5xx, and per-item 400s with google.rpc.BadRequest field violations.
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
  /** Simulates the user removing the app's access in their Google account: every token dies. */
  revokeAll(): void;
  /** Follows an authorization URL as a consenting user would: answers the redirect's code and state. */
  authorize(authorizationUrl: string): Promise<{ code: string; state: string; redirectUri: string }>;
  close(): Promise<void>;
}

const b64urlSha = (s: string) => createHash('sha256').update(s, 'ascii').digest('base64url');

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const codes = new Map<string, { redirectUri: string; challenge: string; used: boolean; issued: string[] }>();
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
    revokeAll() {
      for (const a of access.values()) a.revoked = true;
      for (const r of refresh.values()) r.revoked = true;
    },
    async authorize(authorizationUrl) {
      const u = new URL(authorizationUrl);
      const p = u.searchParams;
      if (p.get('client_id') !== fake.clientId || p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256') {
        throw new Error('authorization request refused');
      }
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { redirectUri: p.get('redirect_uri')!, challenge: p.get('code_challenge')!, used: false, issued: [] });
      return { code, state: p.get('state')!, redirectUri: p.get('redirect_uri')! };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

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
        scope: 'https://www.googleapis.com/auth/content',
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

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = new URL(req.url!, 'http://x').pathname;
      if (req.method === 'POST' && path === '/token') return tokenEndpoint(new URLSearchParams(body), res);
      if (req.method === 'POST' && path === '/revoke') return revokeEndpoint(new URLSearchParams(body), res);
      if (req.method === 'GET' && path === '/maps/api/geocode/json') return geocode(new URL(req.url!, 'http://x').searchParams, res);
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
  LOUPE_GEOCODING_API_KEY: GEOCODING_KEY,
  LOUPE_GEOCODING_URL: `${g.url}/maps/api/geocode/json`,
});
const GEOCODING_KEY = 'fake-geocoding-key';
