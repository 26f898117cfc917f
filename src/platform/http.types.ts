import type { Permission, TenantContext, Actor } from './access.ts';

/**
 * Per-route declarations read by the platform hooks. Every route under /api must declare `auth`
 * (checked at start-up: a route without it refuses to boot), so access is deny-by-default.
 */
export type RouteAuth =
  /** No credential (login, health, public webhooks verified by signature). */
  | { readonly kind: 'public' }
  /** A signed-in dashboard user; no tenant needed (session, tenant list). */
  | { readonly kind: 'user'; readonly stepUp?: boolean }
  /** A platform administrator (tenant and user administration). */
  | { readonly kind: 'platform_admin'; readonly stepUp?: boolean }
  /** A tenant resource: a user with a membership or an API key of that tenant, holding `permission`. */
  | {
      readonly kind: 'tenant';
      readonly permission: Permission;
      readonly stepUp?: boolean;
      readonly usersOnly?: boolean;
      /**
       * A storefront route (collection and serving) that publishable keys (pk_live_) may call from their
       * allowed origins, with CORS. Every other route refuses a publishable key.
       */
      readonly publishable?: boolean;
    };

/**
 * The rate-limit group of a route (`config.rateGroup`; default `auth` for public routes, `api` otherwise).
 * `serving`: recommendations, similar, search, autocomplete; `ingest`: interactions, tracking, Segment,
 * imports; `webhooks`: vendor deliveries. Limits per group: `platform/rate-limit.ts`.
 */
export type RateGroup = 'auth' | 'api' | 'admin' | 'serving' | 'ingest' | 'webhooks';

export interface RouteAudit {
  /** e.g. `api_key.create` */
  readonly action: string;
  readonly resourceType: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    rateGroup?: RateGroup;
    audit?: RouteAudit;
  }
  interface FastifyRequest {
    /** Who is calling, once authenticated. */
    actor: Actor | undefined;
    /** The tenant context, on tenant routes. Use `tenantContext(request)` to read it. */
    tenantCtx: TenantContext | undefined;
    /** Set by a handler to name what an audited action touched. */
    auditTarget: { tenantId?: string; resourceId?: string; details?: Record<string, unknown> } | undefined;
  }
}
