import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/index.ts';
import { REFRESH_TOKEN_SECONDS } from './auth.core.ts';

/**
 * The dashboard's refresh token lives in an HttpOnly cookie, never in JavaScript (issue 22: a script injected into
 * the dashboard must not be able to carry a session away). A caller opts in with `X-Loupe-Refresh: cookie` (the
 * dashboard sends it on every request); API clients and the SDK, which do not, keep the token in the JSON body as
 * before. In cookie mode every answer that issues tokens (sign-in, registration, two-factor, invitations, SSO,
 * refresh) sets the cookie and leaves `refresh_token` out of the body, and the refresh endpoint reads the cookie.
 *
 * The cookie is `HttpOnly`, `SameSite=Strict`, `Secure` when the request came over https, and scoped to the
 * refresh path only (no other request carries it). The refresh is CSRF-safe twice over: SameSite=Strict keeps a
 * cross-site request from sending the cookie, and a refresh from the cookie must name this server's own origin
 * (or PUBLIC_URL's) in `Origin`.
 */
const REFRESH_COOKIE = 'loupe_refresh';
const REFRESH_COOKIE_PATH = '/api/v1/auth/refresh';
const REFRESH_MODE_HEADER = 'x-loupe-refresh';

export function wantsRefreshCookie(request: FastifyRequest): boolean {
  return request.headers[REFRESH_MODE_HEADER] === 'cookie';
}

function cookieAttributes(request: FastifyRequest, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `Path=${REFRESH_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
}

function setRefreshCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=${token}; ${cookieAttributes(request, REFRESH_TOKEN_SECONDS)}`);
}

/** Ends the cookie (logout, a refused refresh). Harmless for callers that never had one. */
export function clearRefreshCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=; ${cookieAttributes(request, 0)}`);
}

/** The refresh token of the request's cookie, if it sent one of the shape Loupe issues. */
export function refreshTokenFromCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== REFRESH_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return /^rt_[A-Za-z0-9_-]{1,200}$/.test(v) ? v : undefined;
  }
  return undefined;
}

/**
 * A refresh by cookie must come from this server's own pages: the host of `Origin` (which browsers send on every
 * POST) is the host the request reached (`Host`), or PUBLIC_URL's. No Origin, `null`, or another site: refused.
 * The scheme is not compared: behind a TLS-terminating proxy the request arrives as http while the page is https,
 * and a cross-site page cannot name this host as its origin anyway.
 */
export function checkRefreshOrigin(request: FastifyRequest, publicUrl: string | undefined): void {
  const origin = request.headers.origin;
  const allowed = new Set([request.host.toLowerCase()]);
  if (publicUrl) {
    try {
      allowed.add(new URL(publicUrl).host.toLowerCase());
    } catch {
      /* a malformed PUBLIC_URL is reported by config; it allows nothing here */
    }
  }
  let host: string | undefined;
  try {
    host = typeof origin === 'string' && /^https?:\/\//i.test(origin) ? new URL(origin).host.toLowerCase() : undefined;
  } catch {
    host = undefined;
  }
  if (host === undefined || !allowed.has(host)) {
    throw new AppError(
      'forbidden',
      'REFRESH_ORIGIN_REFUSED',
      "A session can only be refreshed from this server's own pages (the request's Origin is not this server).",
    );
  }
}

/**
 * Installs the cookie mode on every token-issuing answer (one place, whichever route signed the person in): a
 * JSON answer below 300 carrying both `access_token` and `refresh_token`, to a request in cookie mode, has its
 * refresh token moved into the cookie.
 */
export function installRefreshCookie(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every answer and almost always returns the payload untouched,
  // so it should not cost a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    done(null, cookieModeAnswer(request, reply, payload));
  });
}

/** The answer with its refresh token moved into the cookie when `installRefreshCookie` applies (else `payload` itself). */
function cookieModeAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  if (!wantsRefreshCookie(request) || reply.statusCode >= 300 || typeof payload !== 'string' || !payload.includes('"refresh_token"'))
    return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return payload;
  const { refresh_token: token, ...rest } = body as Record<string, unknown>;
  if (typeof token !== 'string' || typeof rest.access_token !== 'string') return payload;
  setRefreshCookie(request, reply, token);
  return JSON.stringify(rest);
}
