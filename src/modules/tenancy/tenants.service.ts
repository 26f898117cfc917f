import { AppError, type Role, type TenantContext, conflict, notFound, requirePermission } from '../../platform/index.ts';
import { normalizeEmail, slugify } from './auth.core.ts';
import { hashPassword } from './auth.service.ts';
import type { TenancyRepository } from './tenancy.repository.ts';

export interface TenantsServiceDeps {
  repo: TenancyRepository;
  /** Called after a change that cached access facts depend on. */
  invalidate: (what: { tenantId?: string; membership?: { userId: string; tenantId: string } }) => void;
}

/**
 * Tenants, users and memberships. Platform-level operations (create/suspend tenants, create users) are
 * guarded by the route (`platform_admin`); tenant-level ones take the tenant context first.
 */
export function createTenantsService(deps: TenantsServiceDeps) {
  const { repo } = deps;

  async function uniqueSlug(base: string): Promise<string> {
    let slug = base;
    for (let i = 2; await repo.slugTaken(slug); i++) slug = `${base.slice(0, 44)}-${i}`;
    return slug;
  }

  return {
    async createTenant(input: { name: string; slug?: string | undefined; settings?: Record<string, unknown> | undefined }) {
      const slug = input.slug ?? (await uniqueSlug(slugify(input.name)));
      const t = await repo.insertTenant({ name: input.name, slug, settings: input.settings ?? {} });
      if (!t) throw conflict('TENANT_SLUG_TAKEN', `The slug "${slug}" is already used by another tenant. Choose another.`);
      return t;
    },
    async getTenant(id: string) {
      const t = await repo.getTenant(id);
      if (!t) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      return t;
    },
    listTenants: repo.listTenants,
    async updateTenant(
      id: string,
      patch: {
        name?: string | undefined;
        slug?: string | undefined;
        settings?: Record<string, unknown> | undefined;
        status?: 'active' | 'suspended' | undefined;
      },
    ) {
      if (patch.slug && (await repo.slugTaken(patch.slug, id)))
        throw conflict('TENANT_SLUG_TAKEN', `The slug "${patch.slug}" is already used by another tenant.`);
      const t = await repo.updateTenant(id, patch);
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
      if (input.tenantId && !(await repo.getTenant(input.tenantId))) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      const email = normalizeEmail(input.email);
      const user = await repo.insertUser({
        email,
        name: input.name ?? null,
        passwordHash: await hashPassword(input.password),
        isPlatformAdmin: input.isPlatformAdmin ?? false,
      });
      if (!user) throw conflict('USER_EMAIL_TAKEN', 'A user with this e-mail already exists. Add them to the tenant as a member instead.');
      if (input.tenantId) {
        await repo.upsertMembership(input.tenantId, user.id, input.role ?? 'viewer');
      }
      return { user, tenantId: input.tenantId ?? null, role: input.tenantId ? (input.role ?? 'viewer') : null };
    },

    /** Self-service sign-up: a user, and when a store name is given, a new tenant they own. */
    async register(input: { email: string; password: string; name?: string | undefined; tenantName?: string | undefined }) {
      const created = await this.createUser({ email: input.email, password: input.password, name: input.name });
      let tenant = null;
      if (input.tenantName) {
        tenant = await this.createTenant({ name: input.tenantName });
        await repo.upsertMembership(tenant.id, created.user.id, 'owner');
      }
      return { user: created.user, tenant };
    },

    listMembers(ctx: TenantContext) {
      requirePermission(ctx, 'members:manage');
      return repo.membersOfTenant(ctx.tenantId);
    },

    async addMember(ctx: TenantContext, input: { email: string; role: Role; password?: string | undefined; name?: string | undefined }) {
      requirePermission(ctx, 'members:manage');
      if (input.role === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can make another owner.');
      const email = normalizeEmail(input.email);
      let user = await repo.getUserByEmail(email);
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
      }
      await repo.upsertMembership(ctx.tenantId, user.id, input.role);
      deps.invalidate({ membership: { userId: user.id, tenantId: ctx.tenantId } });
      return { userId: user.id, email: user.email, role: input.role };
    },

    async changeRole(ctx: TenantContext, userId: string, role: Role) {
      requirePermission(ctx, 'members:manage');
      const current = await repo.getRole(ctx.tenantId, userId);
      if (!current) throw notFound('MEMBER_NOT_FOUND', 'Member');
      if ((role === 'owner' || current === 'owner') && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can grant or remove the owner role.');
      if (current === 'owner' && role !== 'owner' && (await repo.countOwners(ctx.tenantId)) <= 1) {
        throw conflict('LAST_OWNER', 'A tenant needs at least one owner. Make someone else owner first.');
      }
      await repo.upsertMembership(ctx.tenantId, userId, role);
      deps.invalidate({ membership: { userId, tenantId: ctx.tenantId } });
    },

    async removeMember(ctx: TenantContext, userId: string) {
      requirePermission(ctx, 'members:manage');
      const current = await repo.getRole(ctx.tenantId, userId);
      if (!current) throw notFound('MEMBER_NOT_FOUND', 'Member');
      if (current === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can remove an owner.');
      if (current === 'owner' && (await repo.countOwners(ctx.tenantId)) <= 1)
        throw conflict('LAST_OWNER', 'A tenant needs at least one owner.');
      await repo.deleteMembership(ctx.tenantId, userId);
      deps.invalidate({ membership: { userId, tenantId: ctx.tenantId } });
    },
  };
}
export type TenantsService = ReturnType<typeof createTenantsService>;
