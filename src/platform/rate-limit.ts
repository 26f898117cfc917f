import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { RateGroup } from './http.types.ts';
import type { TenantRateClass } from './schemas.ts';

/** A sustained rate plus a burst allowance, as seed 004 writes them (`requests_per_minute`, `burst`). */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

/**
 * The classes of traffic a tenant's limits are set for (`settings.rate_limit`): `management` (dashboard and
 * administrative API: seed 004's 100/min + burst 20), `serving` (recommendations, similar items, search,
 * autocomplete: one call per shopper keystroke or page view) and `ingest` (interactions, tracking, Segment,
 * imports: one call per shopper action). A busy store makes thousands of serving and ingest calls a minute.
 */
export type { TenantRateClass };
/** A tenant's own limits per class (from its settings); a class not set uses the server default. */
export type TenantRateLimits = Partial<Record<TenantRateClass, RateLimit>>;

/** The configured base limits (seed 004): per address (`global`), per tenant and for sign-in. */
export interface BaseRateLimits {
  readonly global: RateLimit;
  readonly tenant: RateLimit;
  readonly auth: RateLimit;
  /** Seed 004's per-service budgets, requests per minute (none: no service budgets). */
  readonly services?: Readonly<Record<RateService, number>>;
}

/**
 * How many times the base limits each route group gets. Management groups keep seed 004's limits; serving,
 * ingest and webhook traffic scale with the number of shoppers, so their defaults are 60 times the base
 * (with the default base: 6,000 requests a minute + 1,200 burst per tenant, 60,000 a minute per address,
 * since a store's backend calls from one address).
 */
const GROUP_SCALE: Record<RateGroup, number> = { auth: 1, api: 1, admin: 1, serving: 60, ingest: 60, webhooks: 60 };

/** The tenant limit class of a route group (`undefined`: public routes, limited per address only). */
export function rateClassOf(group: RateGroup): TenantRateClass | undefined {
  if (group === 'serving' || group === 'ingest') return group;
  if (group === 'api' || group === 'admin') return 'management';
  return undefined;
}

const scaled = (l: RateLimit, k: number): RateLimit => ({ perMinute: l.perMinute * k, burst: l.burst * k });

/** The per-address limit of a route group. */
export function addressLimit(group: RateGroup, base: BaseRateLimits): RateLimit {
  return group === 'auth' ? base.auth : scaled(base.global, GROUP_SCALE[group]);
}

/** The per-tenant limit of a route group: the tenant's own setting for its class, else the scaled default. */
export function tenantLimit(group: RateGroup, base: BaseRateLimits, own: TenantRateLimits | undefined): RateLimit {
  const cls = rateClassOf(group) ?? 'management';
  return own?.[cls] ?? scaled(base.tenant, GROUP_SCALE[group]);
}

/**
 * A tenant's limits from its settings. `rate_limit: { requests_per_minute, burst }` (seed 004's shape) is the
 * management limit; `rate_limit.serving` and `rate_limit.ingest` (same shape) set the other classes.
 */
export function tenantRateLimitsOf(settings: Record<string, unknown>): TenantRateLimits | undefined {
  const rl = settings.rate_limit;
  if (!rl || typeof rl !== 'object') return undefined;
  const one = (v: unknown): RateLimit | undefined => {
    const o = v as { requests_per_minute?: unknown; burst?: unknown } | undefined;
    if (!o || typeof o !== 'object' || typeof o.requests_per_minute !== 'number') return undefined;
    return { perMinute: o.requests_per_minute, burst: typeof o.burst === 'number' ? o.burst : 0 };
  };
  const r = rl as Record<string, unknown>;
  const out: TenantRateLimits = {};
  const management = one(r);
  if (management) out.management = management;
  const serving = one(r.serving);
  if (serving) out.serving = serving;
  const ingest = one(r.ingest);
  if (ingest) out.ingest = ingest;
  return Object.keys(out).length ? out : undefined;
}

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets (and, when refused, until a retry can succeed). */
  readonly resetSeconds: number;
}

export interface RateLimiter {
  consume(bucket: string, key: string, limit: RateLimit): Promise<RateDecision>;
}

/**
 * Logs a Redis outage once, not once per reconnect attempt (ioredis emits an error for each): the first error
 * after a healthy connection is a warning that rate limits fall back to per-process limits, the next `ready` says
 * Redis is back. In between, requests are limited by each process's insurance limiter (see createRateLimiter).
 */
export function logRedisOutages(redis: Redis, log: { warn(obj: object, msg: string): void }): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: err.message }, 'Redis is unavailable: rate limits fall back to per-process limits until it is back');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.warn({}, 'Redis is back: rate limits are shared again');
  });
}

/**
 * Rate limiting on rate-limiter-flexible: a fixed one-minute window of `perMinute` points, plus a burst
 * allowance of `burst` points that is only drawn on once the window is spent. In memory by default;
 * Redis-backed (shared by every replica) when a client is given, with an in-memory insurance limiter
 * so a Redis outage degrades to per-process limits instead of failing requests.
 */
export function createRateLimiter(redis?: Redis): RateLimiter {
  const limiters = new Map<string, RateLimiterAbstract | BurstyRateLimiter>();

  const make = (prefix: string, points: number): RateLimiterAbstract => {
    const opts = { keyPrefix: prefix, points, duration: 60 };
    if (!redis) return new RateLimiterMemory(opts);
    return new RateLimiterRedis({ ...opts, storeClient: redis, insuranceLimiter: new RateLimiterMemory(opts) });
  };

  const limiterFor = (bucket: string, limit: RateLimit): RateLimiterAbstract | BurstyRateLimiter => {
    const id = `${bucket}:${limit.perMinute}:${limit.burst}`;
    let l = limiters.get(id);
    if (!l) {
      const main = make(`rl:${id}`, limit.perMinute);
      l = limit.burst > 0 ? new BurstyRateLimiter(main, make(`rlb:${id}`, limit.burst)) : main;
      limiters.set(id, l);
    }
    return l;
  };

  return {
    async consume(bucket, key, limit) {
      const limiter = limiterFor(bucket, limit);
      try {
        const res = await limiter.consume(key);
        return {
          allowed: true,
          limit: limit.perMinute,
          remaining: Math.max(0, res.remainingPoints),
          resetSeconds: Math.ceil(res.msBeforeNext / 1000),
        };
      } catch (e) {
        if (e instanceof RateLimiterRes) {
          return { allowed: false, limit: limit.perMinute, remaining: 0, resetSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
        }
        throw e;
      }
    },
  };
}

/**
 * Seed 004's gateway table ("Path Pattern | Target Service | Rate Limit"): routes of these path families share
 * one budget per service, per tenant on tenant routes and per client address otherwise, on top of the
 * group limits above. Matched against the route's pattern (e.g. `/api/v1/tenants/:tenantId/inventory`).
 */
const SEED004_SERVICE_ROUTES: readonly { readonly service: RateService; readonly pattern: RegExp; readonly paths: string }[] = [
  { service: 'auth', pattern: /^\/auth(\/|$)/, paths: '/auth/*' },
  {
    service: 'inventory',
    pattern: /^\/api\/v1\/tenants\/[^/]+\/(inventory|categories)(\/|$)/,
    paths: '/api/v1/tenants/:id/inventory*, categories*',
  },
  { service: 'feed_jobs', pattern: /^\/api\/feed-jobs(\/|$)/, paths: '/api/feed-jobs*' },
  { service: 'business_profile', pattern: /^\/tenant\/profile(\/|$)/, paths: '/tenant/profile*' },
  { service: 'integrations', pattern: /^\/(google|stripe)\//, paths: '/google/*, /stripe/*' },
  { service: 'observability', pattern: /^\/(api\/feedback(\/|$)|metrics\/)/, paths: '/api/feedback*, /metrics/*' },
];

/** Seed 004's per-service budgets, requests per minute (RATE_LIMIT_SERVICES overrides any of them). */
export const SEED004_SERVICE_LIMITS = {
  auth: 500,
  inventory: 1000,
  feed_jobs: 500,
  business_profile: 300,
  integrations: 200,
  observability: 500,
} as const;
export type RateService = keyof typeof SEED004_SERVICE_LIMITS;

const serviceOfRoute = new Map<string, { service: RateService; paths: string } | undefined>();

/** The seed 004 service a route pattern belongs to, and the path families it covers, or undefined. */
export function rateServiceOf(routeUrl: string): { service: RateService; paths: string } | undefined {
  // Route patterns are finite: each is matched against the rules once, not on every request.
  if (serviceOfRoute.has(routeUrl)) return serviceOfRoute.get(routeUrl);
  const rule = SEED004_SERVICE_ROUTES.find((r) => r.pattern.test(routeUrl));
  const out = rule ? { service: rule.service, paths: rule.paths } : undefined;
  serviceOfRoute.set(routeUrl, out);
  return out;
}
