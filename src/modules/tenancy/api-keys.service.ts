import {
  type Q,
  AppError,
  type SecurityEventRepository,
  type TenantContext,
  normalizeOrigin,
  notFound,
  PUBLISHABLE_DEFAULT_SCOPES,
  PUBLISHABLE_SCOPES,
  randomToken,
  requirePermission,
  sha256Hex,
} from '../../platform/index.ts';
import {
  API_KEY_PREFIX,
  DEFAULT_PUBLISHABLE_RATE_PER_MINUTE,
  DEFAULT_ROTATION_GRACE_SECONDS,
  keyPrefixOf,
  PUBLISHABLE_KEY_PREFIX,
} from './auth.core.ts';
import type { ApiKeyKind, ApiKeyRow, TenancyRepository } from './tenancy.repository.ts';

export interface CreateApiKeyInput {
  name: string;
  kind?: ApiKeyKind | undefined;
  scopes?: string[] | undefined;
  allowedOrigins?: string[] | undefined;
  rateLimitPerMinute?: number | null | undefined;
  expiresAt?: Date | undefined;
}

const invalid = (code: string, field: string, message: string) =>
  new AppError('validation', code, `${field} ${message}.`, { details: [{ field, message }] });

/** Each origin in its one normalized form (scheme://host[:port]), duplicates dropped; a bad one is named by index. */
function originsOf(input: string[]): string[] {
  const out = new Set<string>();
  input.forEach((o, i) => {
    const n = normalizeOrigin(o);
    if (!n)
      throw invalid(
        'API_KEY_ORIGIN_INVALID',
        `allowed_origins[${i}]`,
        'must be an origin such as https://shop.example (scheme and host, optional port, no path or wildcard)',
      );
    out.add(n);
  });
  return [...out];
}

/** The row to insert for a new key: publishable keys are held to serving scopes and need their origins. */
function keyShape(input: CreateApiKeyInput): Pick<ApiKeyRow, 'kind' | 'scopes' | 'allowedOrigins' | 'rateLimitPerMinute'> {
  const kind = input.kind ?? 'secret';
  if (kind === 'secret') {
    if (!input.scopes?.length) throw invalid('VALIDATION_FAILED', 'scopes', 'is required for a secret key');
    if (input.allowedOrigins)
      throw invalid(
        'API_KEY_ORIGINS_NOT_ALLOWED',
        'allowed_origins',
        'applies to publishable keys only: secret keys never run in browsers',
      );
    return { kind, scopes: [...new Set(input.scopes)], allowedOrigins: [], rateLimitPerMinute: input.rateLimitPerMinute ?? null };
  }
  const scopes = input.scopes ? [...new Set(input.scopes)] : [...PUBLISHABLE_DEFAULT_SCOPES];
  const bad = scopes.find((s) => !(PUBLISHABLE_SCOPES as readonly string[]).includes(s));
  if (bad)
    throw invalid(
      'API_KEY_SCOPE_NOT_PUBLISHABLE',
      'scopes',
      `cannot include ${bad} on a publishable key: it is readable by anyone visiting the page (allowed: ${PUBLISHABLE_SCOPES.join(', ')})`,
    );
  if (!input.allowedOrigins?.length)
    throw invalid('API_KEY_ORIGINS_REQUIRED', 'allowed_origins', 'is required for a publishable key: name the sites that may use it');
  return {
    kind,
    scopes,
    allowedOrigins: originsOf(input.allowedOrigins),
    rateLimitPerMinute: input.rateLimitPerMinute === undefined ? DEFAULT_PUBLISHABLE_RATE_PER_MINUTE : input.rateLimitPerMinute,
  };
}

export interface ApiKeysServiceDeps {
  db: Q;
  repo: TenancyRepository;
  security: SecurityEventRepository;
  clock: () => Date;
  invalidateKey: (keyHash: string) => void;
}

/**
 * API keys: the secret (`sk_live_` + 40 base62 characters, about 238 bits) is returned once; only its
 * SHA-256 is stored (a slow hash adds nothing for a secret of that entropy and would slow every request).
 * Publishable keys (`pk_live_`) have the same entropy and storage; what makes them safe to publish is
 * their scopes, their allowed origins and their own rate limit, enforced by the platform's access hook.
 */
export function createApiKeysService(deps: ApiKeysServiceDeps) {
  const { repo, db } = deps;
  const service = {
    async create(ctx: TenantContext, input: CreateApiKeyInput) {
      requirePermission(ctx, 'apikeys:manage');
      const shape = keyShape(input);
      if (input.expiresAt && input.expiresAt.getTime() <= deps.clock().getTime()) {
        throw new AppError('validation', 'API_KEY_EXPIRY_IN_PAST', 'expires_at is in the past: a key would be created already expired.', {
          details: [{ field: 'expires_at', message: 'must be in the future' }],
        });
      }
      const secret = `${shape.kind === 'publishable' ? PUBLISHABLE_KEY_PREFIX : API_KEY_PREFIX}${randomToken(40)}`;
      const row = await repo.insertApiKey(db, {
        tenantId: ctx.tenantId,
        name: input.name,
        keyPrefix: keyPrefixOf(secret),
        keyHash: sha256Hex(secret),
        ...shape,
        publishableKey: shape.kind === 'publishable' ? secret : null,
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
        expiresAt: input.expiresAt ?? null,
      });
      await deps.security.record({
        type: 'api_key_created',
        userId: ctx.actor.type === 'user' ? ctx.actor.id : null,
        subjectHash: null,
        ip: ctx.ip ?? null,
        userAgent: null,
        details: { key_id: row.id, tenant_id: ctx.tenantId },
      });
      return { row, secret };
    },
    list(ctx: TenantContext, includeRevoked: boolean) {
      requirePermission(ctx, 'apikeys:manage');
      return repo.listApiKeys(db, ctx.tenantId, includeRevoked);
    },
    /** Changes a publishable key's origins or any key's own rate limit; takes effect at once in this process. */
    async update(
      ctx: TenantContext,
      id: string,
      change: { allowedOrigins?: string[] | undefined; rateLimitPerMinute?: number | null | undefined },
    ) {
      requirePermission(ctx, 'apikeys:manage');
      const current = (await repo.listApiKeys(db, ctx.tenantId, false)).find((k) => k.id === id);
      if (!current) throw notFound('API_KEY_NOT_FOUND', 'API key');
      if (change.allowedOrigins && current.kind !== 'publishable')
        throw invalid(
          'API_KEY_ORIGINS_NOT_ALLOWED',
          'allowed_origins',
          'applies to publishable keys only: secret keys never run in browsers',
        );
      const row = await repo.updateApiKey(db, ctx.tenantId, id, {
        allowedOrigins: change.allowedOrigins ? originsOf(change.allowedOrigins) : undefined,
        rateLimitPerMinute: change.rateLimitPerMinute,
      });
      if (!row) throw notFound('API_KEY_NOT_FOUND', 'API key');
      deps.invalidateKey(row.keyHash);
      return row;
    },
    /**
     * Rotation: a new key with the same name, kind, scopes, origins and limit; the old one keeps working for
     * `graceSeconds` (default a day) so pages and servers can be redeployed, then expires.
     */
    async rotate(ctx: TenantContext, id: string, graceSeconds = DEFAULT_ROTATION_GRACE_SECONDS) {
      requirePermission(ctx, 'apikeys:manage');
      const old = (await repo.listApiKeys(db, ctx.tenantId, false)).find((k) => k.id === id);
      if (!old) throw notFound('API_KEY_NOT_FOUND', 'API key');
      const created = await service.create(ctx, {
        name: old.name,
        kind: old.kind,
        scopes: old.scopes,
        allowedOrigins: old.kind === 'publishable' ? old.allowedOrigins : undefined,
        rateLimitPerMinute: old.rateLimitPerMinute,
        expiresAt: old.expiresAt && old.expiresAt.getTime() > deps.clock().getTime() ? old.expiresAt : undefined,
      });
      const previous = await repo.expireApiKey(db, ctx.tenantId, id, new Date(deps.clock().getTime() + graceSeconds * 1000));
      if (previous) deps.invalidateKey(previous.keyHash);
      return { ...created, previous: previous ?? old };
    },
    async revoke(ctx: TenantContext, id: string) {
      requirePermission(ctx, 'apikeys:manage');
      const row = await repo.revokeApiKey(db, ctx.tenantId, id);
      if (!row) throw notFound('API_KEY_NOT_FOUND', 'API key');
      deps.invalidateKey(row.keyHash);
      await deps.security.record({
        type: 'api_key_revoked',
        userId: ctx.actor.type === 'user' ? ctx.actor.id : null,
        subjectHash: null,
        ip: ctx.ip ?? null,
        userAgent: null,
        details: { key_id: row.id, tenant_id: ctx.tenantId },
      });
      return row;
    },
  };
  return service;
}
export type ApiKeysService = ReturnType<typeof createApiKeysService>;
