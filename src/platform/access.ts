import { AppError } from './errors.ts';

/**
 * The one deny-by-default access model. Every tenant route names the permission it needs; a user's role
 * or an API key's scopes grant permissions; anything not granted here is refused.
 */
export const PERMISSIONS = [
  'tenant:read',
  'catalog:read',
  'catalog:write',
  'interactions:write',
  'recommendations:read',
  'analytics:read',
  // Saved cohorts (create, change, delete).
  'analytics:manage',
  'profiles:read',
  'profiles:write',
  'models:manage',
  'experiments:manage',
  'integrations:manage',
  'imports:write',
  'jobs:read',
  'jobs:manage',
  'apikeys:manage',
  'members:manage',
  'tenant:manage',
  'audit:read',
  'data:delete',
  'commerce:write',
  'commerce:shop',
  'orders:read',
  'orders:manage',
  'sponsored:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'admin', 'analyst', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const READ: Permission[] = [
  'tenant:read',
  'catalog:read',
  'recommendations:read',
  'analytics:read',
  'profiles:read',
  'jobs:read',
  'orders:read',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set(PERMISSIONS.filter((p) => p !== 'tenant:manage')),
  analyst: new Set<Permission>([
    ...READ,
    'jobs:manage',
    'models:manage',
    'experiments:manage',
    'analytics:manage',
    'imports:write',
    'catalog:write',
    'interactions:write',
  ]),
  viewer: new Set<Permission>(READ),
};

/**
 * API key scopes (seed 003). `admin` grants every tenant permission but key and member management,
 * tenant settings and erasure: those need a signed-in person (erasure with a recent password check).
 */
export const API_KEY_SCOPES = [
  'recommendations:read',
  'interactions:write',
  'catalog:read',
  'catalog:write',
  'analytics:read',
  'analytics:manage',
  'profiles:read',
  'profiles:write',
  'models:manage',
  // Storefronts: carts and checkout on behalf of any shopper (seed 000 cart calls, seed 001 checkout). Servers only.
  'commerce:write',
  // Storefront pages: carts, checkout and order history of the one shopper a signed shopper token names.
  'commerce:shop',
  'orders:read',
  'orders:manage',
  'sponsored:manage',
  'experiments:manage',
  'admin',
] as const;

/**
 * What a publishable key (pk_live_, published in a store's pages) may ever hold: collecting events and
 * serving recommendations, similar items, search, autocomplete, the newsfeed and experiment assignment.
 * The routes themselves opt in with `auth.publishable`; everything else refuses such a key.
 */
export const PUBLISHABLE_SCOPES = [
  'interactions:write',
  'recommendations:read',
  'catalog:read',
  'commerce:shop',
] as const satisfies readonly (typeof API_KEY_SCOPES)[number][];

/** A new publishable key's scopes when none are named: collection and serving. Shopping (`commerce:shop`) is opted in. */
export const PUBLISHABLE_DEFAULT_SCOPES = [
  'interactions:write',
  'recommendations:read',
  'catalog:read',
] as const satisfies readonly (typeof PUBLISHABLE_SCOPES)[number][];

/** Permissions no API key holds, whatever its scopes. */
const USERS_ONLY_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'apikeys:manage',
  'members:manage',
  'tenant:manage',
  'data:delete',
]);

function derivePermissions(scopes: readonly string[], kind: 'secret' | 'publishable'): ReadonlySet<Permission> {
  if (kind === 'publishable') {
    // No derived permissions (imports, jobs): a published key collects and serves, nothing else.
    const allowed = new Set<string>(PUBLISHABLE_SCOPES);
    return new Set<Permission>(scopes.filter((s): s is Permission => allowed.has(s)));
  }
  // Every valid key may read its own tenant's identity (whoami, tenant info).
  const out = new Set<Permission>(['tenant:read']);
  for (const s of scopes) {
    if (s === 'admin') {
      for (const p of PERMISSIONS) if (!USERS_ONLY_PERMISSIONS.has(p)) out.add(p);
    } else if ((PERMISSIONS as readonly string[]).includes(s)) {
      out.add(s as Permission);
      if (s === 'catalog:write' || s === 'interactions:write') out.add('imports:write');
      if (s === 'catalog:write') out.add('jobs:read');
      // A server that may act for any shopper may act for one.
      if (s === 'commerce:write') out.add('commerce:shop');
    }
  }
  return out;
}

/**
 * Derived once per scopes array: a cached API key hands every request the same array, and the auth hook asked
 * for its permissions on each one.
 */
const derived = {
  secret: new WeakMap<readonly string[], ReadonlySet<Permission>>(),
  publishable: new WeakMap<readonly string[], ReadonlySet<Permission>>(),
};

export function permissionsForScopes(scopes: readonly string[], kind: 'secret' | 'publishable' = 'secret'): ReadonlySet<Permission> {
  let out = derived[kind].get(scopes);
  if (!out) {
    out = derivePermissions(scopes, kind);
    derived[kind].set(scopes, out);
  }
  return out;
}

export type Actor =
  | {
      readonly type: 'user';
      readonly id: string;
      readonly isPlatformAdmin: boolean;
      readonly authTime: number;
      readonly sessionId: string;
      /** Signs in with a second factor (TOTP); a tenant that requires it refuses users without. */
      readonly twoFactor?: boolean;
      /** The tenant whose identity provider began this session (single sign-on); a tenant that requires SSO admits only it. */
      readonly ssoTenantId?: string | null;
    }
  | {
      readonly type: 'api_key';
      readonly id: string;
      readonly tenantId: string;
      readonly scopes: readonly string[];
      /** `publishable` (pk_live_): usable from web pages on its allowed origins, on `publishable` routes only. Default secret. */
      readonly kind?: 'secret' | 'publishable';
      readonly allowedOrigins?: readonly string[];
      /** This key's own budget (requests a minute), on top of the tenant's; undefined/null: none. */
      readonly rateLimitPerMinute?: number | null;
    }
  | { readonly type: 'system'; readonly id: string };

/**
 * The tenant context every service function takes first. Built once per request by the auth hook (or by
 * a job runner for background work); never optional.
 */
export interface TenantContext {
  readonly tenantId: string;
  readonly actor: Actor;
  readonly role: Role | undefined;
  readonly permissions: ReadonlySet<Permission>;
  readonly requestId: string;
  readonly ip: string | undefined;
}

export function can(ctx: TenantContext, permission: Permission): boolean {
  return ctx.permissions.has(permission);
}

export function requirePermission(ctx: TenantContext, permission: Permission): void {
  if (!can(ctx, permission)) {
    throw new AppError(
      'forbidden',
      'PERMISSION_DENIED',
      ctx.actor.type === 'api_key'
        ? `This API key lacks the scope needed here (${permission}). Create a key with that scope.`
        : `Your role does not allow this action (${permission}). Ask an owner or admin of the tenant.`,
    );
  }
}

/** A context for background work on behalf of a tenant (jobs, webhooks after verification). */
export function systemContext(tenantId: string, id = 'system', requestId = 'job'): TenantContext {
  return { tenantId, actor: { type: 'system', id }, role: undefined, permissions: new Set(PERMISSIONS), requestId, ip: undefined };
}
