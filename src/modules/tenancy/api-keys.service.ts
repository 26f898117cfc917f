import {
  type Q,
  AppError,
  type SecurityEventRepository,
  type TenantContext,
  notFound,
  randomToken,
  requirePermission,
  sha256Hex,
} from '../../platform/index.ts';
import { API_KEY_PREFIX, keyPrefixOf } from './auth.core.ts';
import type { TenancyRepository } from './tenancy.repository.ts';

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
 */
export function createApiKeysService(deps: ApiKeysServiceDeps) {
  const { repo, db } = deps;
  return {
    async create(ctx: TenantContext, input: { name: string; scopes: string[]; expiresAt?: Date | undefined }) {
      requirePermission(ctx, 'apikeys:manage');
      if (input.expiresAt && input.expiresAt.getTime() <= deps.clock().getTime()) {
        throw new AppError('validation', 'API_KEY_EXPIRY_IN_PAST', 'expires_at is in the past: a key would be created already expired.', {
          details: [{ field: 'expires_at', message: 'must be in the future' }],
        });
      }
      const secret = `${API_KEY_PREFIX}${randomToken(40)}`;
      const row = await repo.insertApiKey(db, {
        tenantId: ctx.tenantId,
        name: input.name,
        keyPrefix: keyPrefixOf(secret),
        keyHash: sha256Hex(secret),
        scopes: [...new Set(input.scopes)],
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
}
export type ApiKeysService = ReturnType<typeof createApiKeysService>;
