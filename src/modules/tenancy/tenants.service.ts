import { LRUCache } from 'lru-cache';
import {
  type Q,
  AppError,
  type Role,
  type SecurityEventRepository,
  type TenantContext,
  conflict,
  notFound,
  requirePermission,
} from '../../platform/index.ts';
import { normalizeEmail, slugify } from './auth.core.ts';
import { hashPassword } from './auth.service.ts';
import type { TenancyRepository } from './tenancy.repository.ts';

export interface TenantsServiceDeps {
  db: Q;
  repo: TenancyRepository;
  security: SecurityEventRepository;
  /** Called after a change that cached access facts depend on. */
  invalidate: (what: { tenantId?: string; membership?: { userId: string; tenantId: string }; apiKeyHash?: string }) => void;
}

/** What happens to the API keys a removed member created: revoked (the default) or handed to another member. */
export type RemovedMemberKeys = { action: 'revoke' } | { action: 'reassign'; toUserId: string };

/**
 * Tenants, users and memberships. Platform-level operations (create/suspend tenants, create users) are
 * guarded by the route (`platform_admin`); tenant-level ones take the tenant context first.
 */
export function createTenantsService(deps: TenantsServiceDeps) {
  const { repo, db } = deps;
  // Tenant settings for serving paths (recommendations, predictions, the feed read them on every request): kept a
  // few seconds per process, the promise rather than the result so a burst shares one read; a change made through
  // this process drops the entry at once, other processes see it within the TTL (as the access facts do).
  const settingsCache = new LRUCache<string, Promise<Record<string, unknown>>>({ max: 10_000, ttl: 5_000 });

  async function uniqueSlug(base: string): Promise<string> {
    let slug = base;
    for (let i = 2; await repo.slugTaken(db, slug); i++) slug = `${base.slice(0, 44)}-${i}`;
    return slug;
  }

  return {
    async createTenant(input: { name: string; slug?: string | undefined; settings?: Record<string, unknown> | undefined }) {
      const slug = input.slug ?? (await uniqueSlug(slugify(input.name)));
      const t = await repo.insertTenant(db, { name: input.name, slug, settings: input.settings ?? {} });
      if (!t) throw conflict('TENANT_SLUG_TAKEN', `The slug "${slug}" is already used by another tenant. Choose another.`);
      return t;
    },
    async getTenant(id: string) {
      const t = await repo.getTenant(db, id);
      if (!t) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      return t;
    },
    /**
     * The tenant's settings (`{}` for an unknown tenant), read at most every few seconds per process: for serving
     * paths. Reads that must see a change made elsewhere at once (another process, a migration) use getTenant.
     */
    settingsOf(id: string): Promise<Record<string, unknown>> {
      const hit = settingsCache.get(id);
      if (hit) return hit;
      const read = repo.getTenant(db, id).then((t) => (t ? (t.settings as Record<string, unknown>) : {}));
      settingsCache.set(id, read);
      read.catch(() => settingsCache.delete(id));
      return read;
    },
    listTenants: (f: Parameters<TenancyRepository['listTenants']>[1]) => repo.listTenants(db, f),
    async updateTenant(
      id: string,
      patch: {
        name?: string | undefined;
        slug?: string | undefined;
        settings?: Record<string, unknown> | undefined;
        status?: 'active' | 'suspended' | undefined;
      },
    ) {
      if (patch.slug && (await repo.slugTaken(db, patch.slug, id)))
        throw conflict('TENANT_SLUG_TAKEN', `The slug "${patch.slug}" is already used by another tenant.`);
      const t = await repo.updateTenant(db, id, patch);
      settingsCache.delete(id);
      if (!t) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      deps.invalidate({ tenantId: id });
      return t;
    },

    /** Creates a user (or finds the one with that e-mail when `reuseExisting`) and optionally adds a membership. */
    async createUser(input: {
      email: string;
      password: string;
      name?: string | undefined;
      tenantId?: string | undefined;
      role?: Role | undefined;
      isPlatformAdmin?: boolean | undefined;
    }) {
      if (input.tenantId && !(await repo.getTenant(db, input.tenantId))) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      const email = normalizeEmail(input.email);
      const user = await repo.insertUser(db, {
        email,
        name: input.name ?? null,
        passwordHash: await hashPassword(input.password),
        isPlatformAdmin: input.isPlatformAdmin ?? false,
      });
      if (!user) throw conflict('USER_EMAIL_TAKEN', 'A user with this e-mail already exists. Add them to the tenant as a member instead.');
      if (input.tenantId) {
        await repo.upsertMembership(db, input.tenantId, user.id, input.role ?? 'viewer');
      }
      return { user, tenantId: input.tenantId ?? null, role: input.tenantId ? (input.role ?? 'viewer') : null };
    },

    /** Self-service sign-up: a user, and when a store name is given, a new tenant they own. */
    async register(input: { email: string; password: string; name?: string | undefined; tenantName?: string | undefined }) {
      const created = await this.createUser({ email: input.email, password: input.password, name: input.name });
      let tenant = null;
      if (input.tenantName) {
        tenant = await this.createTenant({ name: input.tenantName });
        await repo.upsertMembership(db, tenant.id, created.user.id, 'owner');
      }
      return { user: created.user, tenant };
    },

    listMembers(ctx: TenantContext) {
      requirePermission(ctx, 'members:manage');
      return repo.membersOfTenant(db, ctx.tenantId);
    },

    /**
     * Adds a member. A new account (created here with the given password) is a member at once; an
     * EXISTING account is only invited: it gets no access, and the inviter sees no last sign-in, until
     * the user accepts (GET /api/v1/auth/invitations). An inviter never changes the user's default tenant.
     */
    async addMember(
      ctx: TenantContext,
      input: { email: string; role: Role; password?: string | undefined; name?: string | undefined },
    ): Promise<{ userId: string; email: string; role: Role; status: 'active' | 'invited' }> {
      requirePermission(ctx, 'members:manage');
      if (input.role === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can make another owner.');
      const email = normalizeEmail(input.email);
      let user = await repo.getUserByEmail(db, email);
      if (!user) {
        if (!input.password) {
          throw new AppError(
            'validation',
            'PASSWORD_REQUIRED',
            'No user has this e-mail yet: give an initial password to create the account.',
            {
              details: [{ field: 'password', message: 'required to create a new user' }],
            },
          );
        }
        user = (await this.createUser({ email, password: input.password, name: input.name })).user;
        await repo.upsertMembership(db, ctx.tenantId, user.id, input.role);
        deps.invalidate({ membership: { userId: user.id, tenantId: ctx.tenantId } });
        return { userId: user.id, email: user.email, role: input.role, status: 'active' };
      }
      const status = await repo.inviteMembership(db, ctx.tenantId, user.id, input.role, ctx.actor.type === 'user' ? ctx.actor.id : null);
      deps.invalidate({ membership: { userId: user.id, tenantId: ctx.tenantId } });
      return { userId: user.id, email: user.email, role: input.role, status };
    },

    /** The invitations waiting for this user's answer. */
    invitations: (userId: string) => repo.invitationsOf(db, userId),

    async acceptInvitation(userId: string, tenantId: string): Promise<{ role: Role }> {
      const role = await repo.acceptInvitation(db, tenantId, userId);
      if (!role) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      deps.invalidate({ membership: { userId, tenantId } });
      return { role };
    },

    async declineInvitation(userId: string, tenantId: string): Promise<void> {
      if (!(await repo.declineInvitation(db, tenantId, userId))) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
    },

    /** The user's own choice of the tenant they act in by default (null: their first tenant). */
    async setDefaultTenant(userId: string, tenantId: string | null): Promise<void> {
      if (tenantId !== null && !(await repo.getRole(db, tenantId, userId))) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      await repo.setDefaultTenant(db, userId, tenantId);
    },

    async changeRole(ctx: TenantContext, userId: string, role: Role) {
      requirePermission(ctx, 'members:manage');
      const current = await repo.getRole(db, ctx.tenantId, userId);
      if (!current) throw notFound('MEMBER_NOT_FOUND', 'Member');
      if ((role === 'owner' || current === 'owner') && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can grant or remove the owner role.');
      if (current === 'owner' && role !== 'owner' && (await repo.countOwners(db, ctx.tenantId)) <= 1) {
        throw conflict('LAST_OWNER', 'A tenant needs at least one owner. Make someone else owner first.');
      }
      await repo.upsertMembership(db, ctx.tenantId, userId, role);
      deps.invalidate({ membership: { userId, tenantId: ctx.tenantId } });
    },

    /**
     * Removes a member (or withdraws an invitation). The live API keys the member created in this tenant
     * are revoked in the same statement, or, by an owner's choice, handed to another active member, so a
     * departed person's keys never keep working unnoticed. Returns the keys touched, for the audit entry.
     */
    async removeMember(ctx: TenantContext, userId: string, keys: RemovedMemberKeys = { action: 'revoke' }) {
      requirePermission(ctx, 'members:manage');
      const current = await repo.getMembership(db, ctx.tenantId, userId);
      if (!current) throw notFound('MEMBER_NOT_FOUND', 'Member');
      const activeOwner = current.role === 'owner' && current.status === 'active';
      if (current.role === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can remove an owner.');
      if (activeOwner && (await repo.countOwners(db, ctx.tenantId)) <= 1)
        throw conflict('LAST_OWNER', 'A tenant needs at least one owner.');
      let out: { removed: boolean; keys: { id: string; keyHash: string }[] };
      if (keys.action === 'reassign') {
        if (ctx.role !== 'owner')
          throw new AppError('forbidden', 'OWNER_REQUIRED', "Only an owner can hand a removed member's API keys to someone else.");
        if (keys.toUserId === userId || !(await repo.getRole(db, ctx.tenantId, keys.toUserId))) {
          throw new AppError('validation', 'REASSIGN_TARGET_INVALID', 'The API keys can only be handed to another active member.', {
            details: [{ field: 'reassign_to', message: 'must be an active member of this tenant other than the one removed' }],
          });
        }
        out = await repo.removeMemberReassigningKeys(db, ctx.tenantId, userId, keys.toUserId);
      } else {
        out = await repo.removeMemberRevokingKeys(db, ctx.tenantId, userId);
        for (const k of out.keys) deps.invalidate({ apiKeyHash: k.keyHash });
      }
      if (!out.removed) throw notFound('MEMBER_NOT_FOUND', 'Member');
      deps.invalidate({ membership: { userId, tenantId: ctx.tenantId } });
      for (const k of out.keys) {
        await deps.security.record({
          type: keys.action === 'reassign' ? 'api_key_reassigned' : 'api_key_revoked',
          userId: ctx.actor.type === 'user' ? ctx.actor.id : null,
          subjectHash: null,
          ip: ctx.ip ?? null,
          userAgent: null,
          details: {
            key_id: k.id,
            tenant_id: ctx.tenantId,
            reason: 'member_removed',
            removed_user_id: userId,
            ...(keys.action === 'reassign' ? { reassigned_to: keys.toUserId } : {}),
          },
        });
      }
      return { keyIds: out.keys.map((k) => k.id), action: keys.action };
    },
  };
}
export type TenantsService = ReturnType<typeof createTenantsService>;
