import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor, Permission, Role, TenantContext } from './access.ts';
import { ROLE_PERMISSIONS, permissionsForScopes, PERMISSIONS } from './access.ts';
import { AppError } from './errors.ts';
import { isUuid } from './ids.ts';
import { isInNetworks, parseNetworks } from './networks.ts';
import { normalizeOrigin } from './origins.ts';
import {
  addressLimit,
  rateClassOf,
  rateServiceOf,
  tenantLimit,
  type BaseRateLimits,
  type RateLimiter,
  type TenantRateLimits,
} from './rate-limit.ts';
import type { RateGroup } from './http.types.ts';
import { runInTenantScope } from './tenant-read-scope.ts';

/** What the platform needs from the tenancy module to authenticate; tenancy implements it. */
export interface Authenticator {
  /** Verifies a bearer credential (access token or API key); throws AppError('unauthenticated') when invalid. */
  authenticate(credential: string): Promise<Actor>;
  /** The user's role in the tenant, or undefined when not a member. */
  membershipRole(userId: string, tenantId: string): Promise<Role | undefined>;
  /** The tenant a user acts in when a key-scoped route names none (the first membership). */
  defaultTenant(userId: string): Promise<string | undefined>;
  /** Status and rate limit of a tenant, or undefined when it does not exist. */
  tenantInfo(
    tenantId: string,
  ): Promise<{ status: string; rateLimits: TenantRateLimits | undefined; requireTwoFactor?: boolean; requireSso?: boolean } | undefined>;
}

export interface AuthHookDeps {
  /** The process clock (the step-up window). */
  clock: () => Date;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  limits: BaseRateLimits;
  /** Networks administration is allowed from (LOUPE_ADMIN_NETWORKS); undefined: from anywhere. */
  adminNetworks?: string | undefined;
  /**
   * Called when a platform administrator acts in a tenant they are not a member of (they act as its owner):
   * the caller records it in that tenant's audit log.
   */
  onPlatformAdminEntry?: (e: {
    tenantId: string;
    userId: string;
    sessionId: string;
    ip: string;
    userAgent: string | null;
    requestId: string;
  }) => void;
}

/** Tenant permissions that make a route tenant administration (members, keys, settings): network-restricted with the platform's. */
const TENANT_ADMIN_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>(['apikeys:manage', 'members:manage', 'tenant:manage']);

/** Permissions whose mutating routes are administrative actions: each must declare `config.audit`. */
const ADMINISTRATIVE_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'apikeys:manage',
  'members:manage',
  'tenant:manage',
  'data:delete',
  'integrations:manage',
  'models:manage',
  'experiments:manage',
  'jobs:manage',
  'orders:manage',
]);

/** Minutes after a password login (or a step-up) during which sensitive actions are allowed. */
export const STEP_UP_WINDOW_SECONDS = 5 * 60;

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new AppError('unauthenticated', 'AUTH_MALFORMED', 'Send the credential as "Authorization: Bearer <token or API key>".');
    return m[1];
  }
  return undefined;
}

/** Segment-style HTTP basic auth: the write key is the user name, the password is empty. */
function basicWriteKey(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  const m = h ? /^Basic\s+(\S+)$/i.exec(h) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user || undefined;
}

/**
 * `?write_key=pk_live_...` on the Segment-compatible endpoints: `navigator.sendBeacon` cannot set headers; and
 * the `:writeKey` of `/v1/projects/:writeKey/settings`, where Segment's browser library puts it. Only a
 * publishable key is taken from the URL (it is public anyway); a secret key in a URL would end up in logs.
 */
function beaconWriteKey(request: FastifyRequest): string | undefined {
  const k =
    (request.query as Record<string, unknown> | undefined)?.write_key ?? (request.params as Record<string, unknown> | undefined)?.writeKey;
  return typeof k === 'string' && k.startsWith('pk_live_') ? k : undefined;
}

/**
 * Installs the deny-by-default access hooks: every route under /api must declare `config.auth`, and the
 * onRequest hook authenticates, resolves the tenant, checks the permission and applies rate limits before
 * any body is parsed.
 */
export function registerAuthHooks(app: FastifyInstance, deps: AuthHookDeps): void {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('tenantCtx', undefined);
  app.decorateRequest('auditTarget', undefined);

  app.addHook('onRoute', (route) => {
    const url = route.url;
    const auth = route.config?.auth;
    if ((url.startsWith('/api') || url.startsWith('/v1/') || url.startsWith('/audit')) && !auth) {
      throw new Error(`Route ${route.method} ${url} declares no config.auth: every API route must say who may call it.`);
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const mutating = methods.some((m) => m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS');
    const administrative = auth?.kind === 'platform_admin' || (auth?.kind === 'tenant' && ADMINISTRATIVE_PERMISSIONS.has(auth.permission));
    if (mutating && administrative && !route.config?.audit) {
      throw new Error(
        `Route ${methods.join(',')} ${url} is an administrative action but declares no config.audit: every such action is audited.`,
      );
    }
  });

  const adminNetworks = deps.adminNetworks ? parseNetworks(deps.adminNetworks) : undefined;

  /** Seed 004's per-service budget: one bucket per service and tenant (or address), refused with the paths it covers. */
  const serviceLimit = async (routeUrl: string, key: string, reply: FastifyReply, per: 'tenant' | 'address'): Promise<void> => {
    const svc = deps.limits.services ? rateServiceOf(routeUrl) : undefined;
    if (!svc) return;
    const perMinute = deps.limits.services![svc.service];
    const d = await deps.rateLimiter.consume(`service:${svc.service}`, key, { perMinute, burst: 0 });
    if (d.allowed) return;
    reply
      .header('x-ratelimit-limit', String(d.limit))
      .header('x-ratelimit-remaining', '0')
      .header('x-ratelimit-reset', String(d.resetSeconds));
    throw new AppError(
      'rate_limited',
      'RATE_LIMITED',
      `The ${svc.paths} routes allow ${perMinute} requests a minute per ${per}. Retry after ${d.resetSeconds} s.`,
      { retryAfterSeconds: d.resetSeconds },
    );
  };

  app.addHook('onRequest', async (request, reply) => {
    const auth = request.routeOptions.config?.auth;
    if (!auth) return;
    // Administration from allowed networks only, checked before any credential is looked at. request.ip
    // is the socket address, or the X-Forwarded-For client when LOUPE_TRUST_PROXY=true.
    if (
      adminNetworks &&
      (auth.kind === 'platform_admin' || (auth.kind === 'tenant' && TENANT_ADMIN_PERMISSIONS.has(auth.permission))) &&
      !isInNetworks(request.ip, adminNetworks)
    ) {
      throw new AppError(
        'forbidden',
        'ADMIN_NETWORK_REQUIRED',
        `Administration is only allowed from the networks this server is configured for (LOUPE_ADMIN_NETWORKS); your address (${request.ip}) is not one of them.`,
      );
    }
    const group: RateGroup = request.routeOptions.config.rateGroup ?? (auth.kind === 'public' ? 'auth' : 'api');
    const ip = request.ip;

    const d = await deps.rateLimiter.consume(`group:${group}`, ip, addressLimit(group, deps.limits));
    if (!d.allowed) {
      reply
        .header('x-ratelimit-limit', String(d.limit))
        .header('x-ratelimit-remaining', '0')
        .header('x-ratelimit-reset', String(d.resetSeconds));
      throw new AppError('rate_limited', 'RATE_LIMITED', `Too many requests from this address. Retry after ${d.resetSeconds} s.`, {
        retryAfterSeconds: d.resetSeconds,
      });
    }

    const routeUrl = request.routeOptions.url ?? '';
    if (auth.kind === 'public') return serviceLimit(routeUrl, ip, reply, 'address');

    // Segment-compatible endpoints take the write key as HTTP basic auth, as Segment's and RudderStack's libraries send it.
    const credential =
      (request.url.startsWith('/v1/') ? (basicWriteKey(request) ?? beaconWriteKey(request)) : undefined) ?? bearer(request);
    if (!credential) {
      throw new AppError(
        'unauthenticated',
        'AUTH_REQUIRED',
        'This endpoint needs a credential: "Authorization: Bearer <access token or API key>".',
      );
    }
    const actor = await deps.authenticator.authenticate(credential);
    request.actor = actor;

    if (auth.kind === 'user') {
      if (actor.type !== 'user')
        throw new AppError('forbidden', 'USER_SESSION_REQUIRED', 'This endpoint is for signed-in users, not API keys.');
      if (auth.stepUp) requireRecentAuth(actor, deps.clock());
      return serviceLimit(routeUrl, ip, reply, 'address');
    }
    if (auth.kind === 'platform_admin') {
      if (actor.type !== 'user' || !actor.isPlatformAdmin) {
        throw new AppError('forbidden', 'PLATFORM_ADMIN_REQUIRED', 'Only a platform administrator may do this.');
      }
      if (auth.stepUp) requireRecentAuth(actor, deps.clock());
      return;
    }

    // Tenant routes: the tenant comes from the path (seed 004 style) or from the credential (key-scoped).
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const pathTenant = params.tenantId;
    let tenantId: string | undefined;
    let role: Role | undefined;
    let permissions;
    if (actor.type === 'api_key') {
      // A step-up is a person confirming their password: a key can never give one, so it is refused too.
      if (auth.usersOnly || auth.stepUp) {
        throw new AppError(
          'forbidden',
          'USER_SESSION_REQUIRED',
          auth.stepUp
            ? 'This is a sensitive action: it needs a signed-in user who confirmed their password in the last few minutes (step-up). API keys cannot perform it, whatever their scopes.'
            : 'This action needs a signed-in user; API keys cannot perform it.',
        );
      }
      if (pathTenant !== undefined && pathTenant !== actor.tenantId) throw tenantNotFound();
      const headerTenant = request.headers['x-tenant-id'];
      if (typeof headerTenant === 'string' && headerTenant !== actor.tenantId) throw tenantNotFound();
      checkBrowserUse(request, reply, actor, auth.publishable === true);
      tenantId = actor.tenantId;
      permissions = permissionsForScopes(actor.scopes, actor.kind);
    } else if (actor.type === 'user') {
      const headerTenant = typeof request.headers['x-tenant-id'] === 'string' ? request.headers['x-tenant-id'] : undefined;
      if (pathTenant !== undefined && headerTenant !== undefined && pathTenant !== headerTenant) throw tenantNotFound();
      tenantId = pathTenant ?? headerTenant ?? (await deps.authenticator.defaultTenant(actor.id));
      if (!tenantId)
        throw new AppError(
          'not_found',
          'TENANT_NOT_FOUND',
          'You are not a member of any tenant. Ask an administrator to add you, or name one with X-Tenant-Id.',
        );
      if (!isUuid(tenantId)) throw tenantNotFound();
      role = await deps.authenticator.membershipRole(actor.id, tenantId);
      if (!role && actor.isPlatformAdmin) {
        role = 'owner';
        deps.onPlatformAdminEntry?.({
          tenantId,
          userId: actor.id,
          sessionId: actor.sessionId,
          ip,
          userAgent: request.headers['user-agent']?.slice(0, 300) ?? null,
          requestId: String(request.id),
        });
      }
      if (!role) throw tenantNotFound();
      permissions = ROLE_PERMISSIONS[role];
      if (auth.stepUp) requireRecentAuth(actor, deps.clock());
    } else {
      permissions = new Set(PERMISSIONS);
    }
    if (!isUuid(tenantId!)) throw tenantNotFound();
    const info = await deps.authenticator.tenantInfo(tenantId!);
    if (!info) throw tenantNotFound();
    if (info.status !== 'active') {
      throw new AppError('forbidden', 'TENANT_SUSPENDED', 'This tenant is suspended. Contact the platform administrator.');
    }
    if (info.requireTwoFactor && actor.type === 'user' && !actor.twoFactor) {
      throw new AppError(
        'forbidden',
        'TWO_FACTOR_REQUIRED',
        'This store requires two-factor sign-in. Turn it on in Settings → Security (your account), then carry on.',
      );
    }

    // Owners keep password sign-in (break-glass: a broken provider must not lock the store out), as does the
    // platform administrator entering a tenant (role owner here, audited).
    if (info.requireSso && actor.type === 'user' && role !== 'owner' && actor.ssoTenantId !== tenantId) {
      throw new AppError(
        'forbidden',
        'SSO_REQUIRED',
        "This store requires single sign-on. Sign out, then use the store's 'Sign in with …' button on the sign-in page.",
      );
    }

    const ctx: TenantContext = { tenantId: tenantId!, actor, role, permissions, requestId: String(request.id), ip };
    request.tenantCtx = ctx;
    if (!permissions.has(auth.permission)) {
      throw new AppError(
        'forbidden',
        'PERMISSION_DENIED',
        actor.type === 'api_key'
          ? `This API key lacks the scope this endpoint needs (${auth.permission}).`
          : `Your role does not allow this action (${auth.permission}).`,
      );
    }

    // Each class of traffic has its own tenant budget: a busy storefront never starves the dashboard, and back.
    const t = await deps.rateLimiter.consume(
      `tenant:${rateClassOf(group) ?? 'management'}`,
      tenantId!,
      tenantLimit(group, deps.limits, info.rateLimits),
    );
    reply
      .header('x-ratelimit-limit', String(t.limit))
      .header('x-ratelimit-remaining', String(t.remaining))
      .header('x-ratelimit-reset', String(t.resetSeconds));
    if (!t.allowed) {
      throw new AppError(
        'rate_limited',
        'RATE_LIMITED',
        `This tenant's rate limit of ${t.limit} requests per minute is spent. Retry after ${t.resetSeconds} s.`,
        {
          retryAfterSeconds: t.resetSeconds,
        },
      );
    }
    // A key's own budget (publishable keys have one by default): a copied page key cannot spend the tenant's.
    if (actor.type === 'api_key' && actor.rateLimitPerMinute) {
      const k = await deps.rateLimiter.consume('api_key', actor.id, { perMinute: actor.rateLimitPerMinute, burst: 0 });
      if (!k.allowed) {
        reply
          .header('x-ratelimit-limit', String(k.limit))
          .header('x-ratelimit-remaining', '0')
          .header('x-ratelimit-reset', String(k.resetSeconds));
        throw new AppError(
          'rate_limited',
          'RATE_LIMITED',
          `This API key's limit of ${k.limit} requests per minute is spent. Retry after ${k.resetSeconds} s.`,
          { retryAfterSeconds: k.resetSeconds },
        );
      }
    }
    await serviceLimit(routeUrl, tenantId!, reply, 'tenant');
  });

  // Row-level security for the request's reads: from here on (body validation, preHandler hooks, the handler and
  // everything it awaits) every statement outside a transaction runs as the tenant role for this tenant. A
  // callback hook: `done` called inside the scope carries it into the rest of the request.
  app.addHook('preValidation', (request, _reply, done) => {
    const ctx = request.tenantCtx;
    if (ctx) runInTenantScope(ctx.tenantId, () => done());
    else done();
  });
}

/** Response headers a browser script may read on a cross-origin answer (retries and diagnostics). */
const EXPOSED_HEADERS = 'retry-after, x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset';

/**
 * Where an API key may be used from. A publishable key: only on storefront routes (`auth.publishable`), only
 * from one of its allowed origins, answered with CORS headers for that origin. A secret key: never from
 * another site's page (a request carrying a foreign Origin header), since a secret in a page is public.
 */
function checkBrowserUse(
  request: FastifyRequest,
  reply: FastifyReply,
  actor: Actor & { type: 'api_key' },
  publishableRoute: boolean,
): void {
  const header = request.headers.origin;
  // Browsers send no Origin on a same-origin GET; they do send Sec-Fetch-Site. A page served by Loupe itself
  // (the reference storefront at /store/<slug>) is then this server's own origin, which the key must list.
  const sameOrigin = header === undefined && request.headers['sec-fetch-site'] === 'same-origin';
  const origin =
    typeof header === 'string'
      ? normalizeOrigin(header)
      : sameOrigin
        ? normalizeOrigin(`${request.protocol}://${request.host}`)
        : undefined;
  if (actor.kind === 'publishable') {
    if (!publishableRoute) {
      throw new AppError(
        'forbidden',
        'PUBLISHABLE_KEY_NOT_ALLOWED',
        'Publishable keys (pk_live_) only collect events and serve recommendations, search and the newsfeed. Call this endpoint from your server with a secret key (sk_live_).',
      );
    }
    if (!origin || !actor.allowedOrigins?.includes(origin)) {
      throw new AppError(
        'forbidden',
        'ORIGIN_NOT_ALLOWED',
        origin === undefined
          ? 'A publishable key is used from web pages: this request carries no Origin header.'
          : "This page's origin is not on the publishable key's allowed origins. Add it in Settings → API keys.",
      );
    }
    reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', EXPOSED_HEADERS).header('vary', 'Origin');
    return;
  }
  if (header !== undefined && (!origin || origin !== normalizeOrigin(`${request.protocol}://${request.host}`))) {
    throw new AppError(
      'forbidden',
      'SECRET_KEY_IN_BROWSER',
      'Secret keys (sk_live_) must not be used from web pages: anyone can read them there. Use a publishable key (pk_live_) with this site as an allowed origin.',
    );
  }
}

/**
 * CORS preflight for the API: browsers ask before sending a request with an Authorization header. The answer
 * reveals nothing and grants nothing; the request that follows is checked by `checkBrowserUse`, and only a
 * publishable key of an allowed origin gets an `access-control-allow-origin` back.
 */
export function registerPreflight(app: FastifyInstance): void {
  for (const url of ['/api/v1/*', '/v1/*']) {
    app.options(url, { schema: { hide: true }, config: { auth: { kind: 'public' }, rateGroup: 'serving' } }, async (request, reply) => {
      const header = request.headers.origin;
      const origin = typeof header === 'string' ? normalizeOrigin(header) : undefined;
      if (!origin) return reply.code(204).send();
      return reply
        .code(204)
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-methods', 'GET, POST, PATCH, DELETE')
        .header(
          'access-control-allow-headers',
          'authorization, content-type, idempotency-key, x-request-id, x-shopper-token, x-retry-count',
        )
        .header('access-control-max-age', '600')
        .header('vary', 'Origin')
        .send();
    });
  }
}

function tenantNotFound(): AppError {
  return new AppError('not_found', 'TENANT_NOT_FOUND', 'Tenant was not found.');
}

/**
 * A step-up that depends on what a request asks (e.g. a PATCH that replaces a secret among other fields):
 * the same rule as a route's `auth.stepUp` with `usersOnly`, checked by the handler before it changes
 * anything. API keys are refused whatever their scopes; a user needs a password check within the window.
 */
export function requireStepUp(request: FastifyRequest, now: Date): void {
  const actor = request.actor;
  if (!actor || actor.type !== 'user')
    throw new AppError(
      'forbidden',
      'USER_SESSION_REQUIRED',
      'This is a sensitive action: it needs a signed-in user who confirmed their password in the last few minutes (step-up). API keys cannot perform it, whatever their scopes.',
    );
  requireRecentAuth(actor, now);
}

function requireRecentAuth(actor: Actor, now: Date): void {
  if (actor.type !== 'user') return;
  const age = now.getTime() / 1000 - actor.authTime;
  if (age > STEP_UP_WINDOW_SECONDS) {
    throw new AppError(
      'forbidden',
      'STEP_UP_REQUIRED',
      'This is a sensitive action: confirm your password with POST /api/v1/auth/step-up, then retry with the new access token.',
    );
  }
}

/** The tenant context of a tenant route. Throws if a handler is mounted without `auth.kind: 'tenant'`. */
export function tenantContext(request: FastifyRequest): TenantContext {
  if (!request.tenantCtx) throw new Error(`route ${request.routeOptions.url} reads a tenant context but is not a tenant route`);
  return request.tenantCtx;
}
