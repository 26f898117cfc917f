import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Q,
  AppError,
  STEP_UP_WINDOW_SECONDS,
  errorResponses,
  iso,
  isUuid,
  notFound,
  paginate,
  tenantContext,
} from '../../platform/index.ts';
import type { ApiKeysService } from './api-keys.service.ts';
import type { AuthService, ClientMeta } from './auth.service.ts';
import type { TenancyRepository, ApiKeyRow, ApiKeyListRow, TenantRow, UserRow } from './tenancy.repository.ts';
import * as s from './tenancy.schemas.ts';
import type { TenantsService } from './tenants.service.ts';

export interface TenancyRouteDeps {
  db: Q;
  auth: AuthService;
  tenants: TenantsService;
  apiKeys: ApiKeysService;
  repo: TenancyRepository;
  registration: 'open' | 'closed';
}

const meta = (r: FastifyRequest): ClientMeta => ({ ip: r.ip ?? null, userAgent: r.headers['user-agent']?.slice(0, 300) ?? null });

const toTenant = (t: TenantRow) => ({
  id: t.id,
  name: t.name,
  slug: t.slug,
  status: t.status,
  settings: t.settings,
  created_at: iso(t.createdAt)!,
  updated_at: iso(t.updatedAt)!,
});
const toUser = (u: UserRow, tenantId: string | null, role: string | null) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  tenant_id: tenantId,
  role,
  status: u.status,
  is_platform_admin: u.isPlatformAdmin,
});
const toKey = (k: ApiKeyRow, creator: { creatorEmail: string | null; creatorName: string | null }) => ({
  id: k.id,
  name: k.name,
  key_prefix: k.keyPrefix,
  scopes: k.scopes,
  created_by: k.createdBy,
  created_by_email: creator.creatorEmail,
  created_by_name: creator.creatorName,
  created_at: iso(k.createdAt)!,
  last_used_at: iso(k.lastUsedAt),
  expires_at: iso(k.expiresAt),
  revoked_at: iso(k.revokedAt),
});

const idParams = z.object({ id: z.string().max(100) });

export async function tenancyRoutes(app: FastifyInstance, deps: TenancyRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tokenReply = (
    t: { accessToken: string; refreshToken: string; expiresIn: number },
    user: UserRow,
    tenantId: string | null,
    role: string | null,
  ) => ({
    access_token: t.accessToken,
    refresh_token: t.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: t.expiresIn,
    user: { id: user.id, email: user.email, tenant_id: tenantId, role, is_platform_admin: user.isPlatformAdmin },
  });

  // ---------------- auth ----------------
  r.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with e-mail and password (seed 003 step 3)',
        body: s.loginBody,
        response: { 200: s.tokenResponse, 423: errorResponses[401], ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const out = await deps.auth.login(request.body.email, request.body.password, meta(request));
      return tokenReply(out, out.user, out.tenantId, out.role);
    },
  );

  r.post(
    '/api/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account (and, with tenant_name, a new tenant you own)',
        body: s.registerBody,
        response: { 201: s.tokenResponse, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth', audit: { action: 'auth.register', resourceType: 'user' } },
    },
    async (request, reply) => {
      if (deps.registration === 'closed')
        throw new AppError(
          'forbidden',
          'REGISTRATION_CLOSED',
          'Self-service registration is closed on this server. Ask an administrator for an account.',
        );
      const { user, tenant } = await deps.tenants.register({
        email: request.body.email,
        password: request.body.password,
        name: request.body.name,
        tenantName: request.body.tenant_name,
      });
      request.auditTarget = { resourceId: user.id, ...(tenant ? { tenantId: tenant.id } : {}) };
      const out = await deps.auth.login(request.body.email, request.body.password, meta(request));
      return reply.code(201).send(tokenReply(out, out.user, out.tenantId, out.role));
    },
  );

  r.post(
    '/api/v1/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for new tokens (rotating; reuse ends the session)',
        body: s.refreshBody,
        response: { 200: s.tokenResponse, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const out = await deps.auth.refresh(request.body.refresh_token, meta(request));
      const tenantId = (await deps.repo.firstTenantOf(deps.db, out.user.id)) ?? null;
      const role = tenantId ? ((await deps.repo.getRole(deps.db, tenantId, out.user.id)) ?? null) : null;
      return tokenReply(out, out.user, tenantId, role);
    },
  );

  r.post(
    '/api/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End this session: its access and refresh tokens stop working',
        body: s.logoutBody,
        response: { 204: z.null(), ...errorResponses },
      },
      config: { auth: { kind: 'user' } },
    },
    async (request, reply) => {
      const actor = request.actor!;
      if (actor.type === 'user') await deps.auth.logout(actor.sessionId, meta(request), actor.id);
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/api/v1/auth/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user, this session and their tenants',
        response: { 200: s.sessionResponse, ...errorResponses },
      },
      config: { auth: { kind: 'user' } },
    },
    async (request) => {
      const actor = request.actor!;
      if (actor.type !== 'user') throw new AppError('forbidden', 'USER_SESSION_REQUIRED', 'This endpoint is for signed-in users.');
      const [user, session, tenants, active] = await Promise.all([
        deps.repo.getUser(deps.db, actor.id),
        deps.repo.getSession(deps.db, actor.sessionId),
        deps.repo.tenantsOfUser(deps.db, actor.id),
        deps.repo.firstTenantOf(deps.db, actor.id),
      ]);
      if (!user || !session) throw notFound('SESSION_NOT_FOUND', 'Session');
      return {
        user: { id: user.id, email: user.email, name: user.name, is_platform_admin: user.isPlatformAdmin },
        session: {
          id: session.id,
          created_at: iso(session.createdAt)!,
          expires_at: iso(session.expiresAt)!,
          auth_time: new Date(actor.authTime * 1000).toISOString(),
          elevated_until: new Date((actor.authTime + STEP_UP_WINDOW_SECONDS) * 1000).toISOString(),
        },
        tenants,
        active_tenant_id: active ?? null,
      };
    },
  );

  r.post(
    '/api/v1/auth/step-up',
    {
      schema: {
        tags: ['auth'],
        summary: 'Re-enter the password to unlock sensitive actions for a few minutes',
        body: s.stepUpBody,
        response: {
          200: z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number(), elevated_until: z.string() }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'user' }, rateGroup: 'auth' },
    },
    async (request) => {
      const actor = request.actor!;
      if (actor.type !== 'user') throw new AppError('forbidden', 'USER_SESSION_REQUIRED', 'Step-up is for signed-in users.');
      const out = await deps.auth.stepUp(actor.id, actor.sessionId, request.body.password, meta(request));
      return {
        access_token: out.accessToken,
        token_type: 'Bearer' as const,
        expires_in: out.expiresIn,
        elevated_until: new Date((out.authTime + STEP_UP_WINDOW_SECONDS) * 1000).toISOString(),
      };
    },
  );

  // ---------------- invitations and the user's own default tenant ----------------
  const signedInUser = (request: FastifyRequest): string => {
    const actor = request.actor!;
    if (actor.type !== 'user') throw new AppError('forbidden', 'USER_SESSION_REQUIRED', 'This endpoint is for signed-in users.');
    return actor.id;
  };
  r.get(
    '/api/v1/auth/invitations',
    {
      schema: {
        tags: ['auth'],
        summary: 'Tenants that invited you: accept to join, or decline',
        response: { 200: z.object({ data: z.array(s.invitationResponse) }), ...errorResponses },
      },
      config: { auth: { kind: 'user' } },
    },
    async (request) => ({
      data: (await deps.tenants.invitations(signedInUser(request))).map((i) => ({
        tenant_id: i.tenantId,
        tenant_name: i.tenantName,
        tenant_slug: i.tenantSlug,
        role: i.role,
        invited_by_email: i.invitedByEmail,
        created_at: iso(i.createdAt)!,
      })),
    }),
  );
  r.post(
    '/api/v1/auth/invitations/:id/accept',
    {
      schema: {
        tags: ['auth'],
        summary: "Accept a tenant's invitation: you become a member with the role offered",
        params: idParams,
        response: { 200: z.object({ tenant_id: z.string(), role: z.string() }), ...errorResponses },
      },
      config: { auth: { kind: 'user' }, audit: { action: 'invitation.accept', resourceType: 'membership' } },
    },
    async (request) => {
      const userId = signedInUser(request);
      if (!isUuid(request.params.id)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      const out = await deps.tenants.acceptInvitation(userId, request.params.id);
      request.auditTarget = { tenantId: request.params.id, resourceId: userId, details: { role: out.role } };
      return { tenant_id: request.params.id, role: out.role };
    },
  );
  r.post(
    '/api/v1/auth/invitations/:id/decline',
    {
      schema: {
        tags: ['auth'],
        summary: "Decline a tenant's invitation",
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: { auth: { kind: 'user' }, audit: { action: 'invitation.decline', resourceType: 'membership' } },
    },
    async (request, reply) => {
      const userId = signedInUser(request);
      if (!isUuid(request.params.id)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      await deps.tenants.declineInvitation(userId, request.params.id);
      request.auditTarget = { tenantId: request.params.id, resourceId: userId };
      return reply.code(204).send(null);
    },
  );
  r.put(
    '/api/v1/auth/default-tenant',
    {
      schema: {
        tags: ['auth'],
        summary: 'Choose the tenant you act in by default (null: your first tenant)',
        body: s.defaultTenantBody,
        response: { 200: z.object({ default_tenant_id: z.string().nullable() }), ...errorResponses },
      },
      config: { auth: { kind: 'user' } },
    },
    async (request) => {
      const userId = signedInUser(request);
      await deps.tenants.setDefaultTenant(userId, request.body.tenant_id);
      return { default_tenant_id: request.body.tenant_id };
    },
  );

  // ---------------- platform administration ----------------
  r.post(
    '/api/v1/admin/tenants',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a tenant (seed 003 step 1)',
        body: s.createTenantBody,
        response: { 201: s.tenantResponse, ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin', audit: { action: 'tenant.create', resourceType: 'tenant' } },
    },
    async (request, reply) => {
      const t = await deps.tenants.createTenant(request.body);
      request.auditTarget = { tenantId: t.id, resourceId: t.id };
      return reply.code(201).send(toTenant(t));
    },
  );
  r.get(
    '/api/v1/admin/tenants',
    {
      schema: {
        tags: ['admin'],
        summary: 'List tenants',
        querystring: z
          .object({
            status: z.enum(['active', 'suspended']).optional(),
            q: z.string().max(100).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
            cursor: z.uuid().optional(),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(s.tenantResponse), next_cursor: z.string().nullable() }), ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin' },
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.tenants.listTenants({ status: q.status, q: q.q, cursor: q.cursor, limit: q.limit + 1 });
      return paginate(rows.map(toTenant), q.limit, (t) => t.id);
    },
  );
  r.get(
    '/api/v1/admin/tenants/:id',
    {
      schema: { tags: ['admin'], summary: 'Get a tenant', params: idParams, response: { 200: s.tenantResponse, ...errorResponses } },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin' },
    },
    async (request) => {
      if (!isUuid(request.params.id)) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      return toTenant(await deps.tenants.getTenant(request.params.id));
    },
  );
  r.patch(
    '/api/v1/admin/tenants/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Update a tenant (name, slug, settings such as rate_limit, status)',
        params: idParams,
        body: s.updateTenantBody,
        response: { 200: s.tenantResponse, ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin', audit: { action: 'tenant.update', resourceType: 'tenant' } },
    },
    async (request) => {
      if (!isUuid(request.params.id)) throw notFound('TENANT_NOT_FOUND', 'Tenant');
      const rl = request.body.settings?.rate_limit;
      if (rl !== undefined) {
        const parsed = s.rateLimitSettings.safeParse(rl);
        if (!parsed.success) {
          throw new AppError('validation', 'VALIDATION_ERROR', 'settings.rate_limit is invalid.', {
            details: parsed.error.issues.map((i) => ({
              field: ['settings', 'rate_limit', ...i.path.map(String)].join('.'),
              message: i.message,
            })),
          });
        }
      }
      request.auditTarget = { tenantId: request.params.id, resourceId: request.params.id, details: { fields: Object.keys(request.body) } };
      return toTenant(await deps.tenants.updateTenant(request.params.id, request.body));
    },
  );
  for (const [verb, status] of [
    ['suspend', 'suspended'],
    ['activate', 'active'],
  ] as const) {
    r.post(
      `/api/v1/admin/tenants/:id/${verb}`,
      {
        schema: {
          tags: ['admin'],
          summary: `${verb === 'suspend' ? 'Suspend' : 'Re-activate'} a tenant`,
          params: idParams,
          response: { 200: s.tenantResponse, ...errorResponses },
        },
        config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin', audit: { action: `tenant.${verb}`, resourceType: 'tenant' } },
      },
      async (request) => {
        if (!isUuid(request.params.id)) throw notFound('TENANT_NOT_FOUND', 'Tenant');
        request.auditTarget = { tenantId: request.params.id, resourceId: request.params.id };
        return toTenant(await deps.tenants.updateTenant(request.params.id, { status }));
      },
    );
  }

  r.post(
    '/api/v1/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a user, optionally a member of a tenant (seed 003 step 2)',
        body: s.createUserBody,
        response: { 201: s.userResponse, ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin', audit: { action: 'user.create', resourceType: 'user' } },
    },
    async (request, reply) => {
      const b = request.body;
      const out = await deps.tenants.createUser({
        email: b.email,
        password: b.password,
        name: b.name,
        tenantId: b.tenant_id,
        role: b.role,
        isPlatformAdmin: b.is_platform_admin,
      });
      request.auditTarget = { resourceId: out.user.id, ...(out.tenantId ? { tenantId: out.tenantId } : {}), details: { role: out.role } };
      return reply.code(201).send(toUser(out.user, out.tenantId, out.role));
    },
  );

  // ---------------- the current tenant, members ----------------
  r.get(
    '/api/v1/tenant',
    {
      schema: { tags: ['tenancy'], summary: 'The tenant of this credential', response: { 200: s.tenantResponse, ...errorResponses } },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => toTenant(await deps.tenants.getTenant(tenantContext(request).tenantId)),
  );
  r.get(
    '/api/v1/whoami',
    {
      schema: {
        tags: ['tenancy'],
        summary: 'Who this credential is: actor, tenant, role or scopes, and effective permissions (check an API key before going live)',
        response: { 200: s.whoamiResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      return {
        actor_type: ctx.actor.type,
        actor_id: ctx.actor.id,
        tenant_id: ctx.tenantId,
        role: ctx.role ?? null,
        scopes: ctx.actor.type === 'api_key' ? [...ctx.actor.scopes] : null,
        permissions: [...ctx.permissions].sort(),
      };
    },
  );
  r.get(
    '/api/v1/members',
    {
      schema: {
        tags: ['tenancy'],
        summary: 'Members of the tenant and their roles',
        response: { 200: z.object({ data: z.array(s.memberResponse) }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true } },
    },
    async (request) => {
      const rows = await deps.tenants.listMembers(tenantContext(request));
      return {
        data: rows.map((m) => ({
          user_id: m.userId,
          email: m.email,
          name: m.name,
          role: m.role,
          status: m.status,
          membership_status: m.membershipStatus,
          created_at: iso(m.createdAt)!,
          last_login_at: iso(m.lastLoginAt),
        })),
      };
    },
  );
  r.post(
    '/api/v1/members',
    {
      schema: {
        tags: ['tenancy'],
        summary:
          'Add a member: a new account (created with the given password) joins at once; an existing account is invited and joins when it accepts',
        body: s.addMemberBody,
        response: {
          201: z.object({ user_id: z.string(), email: z.string(), role: z.string(), status: z.enum(['active', 'invited']) }),
          ...errorResponses,
        },
      },
      config: {
        auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true, stepUp: true },
        audit: { action: 'member.add', resourceType: 'membership' },
      },
    },
    async (request, reply) => {
      const out = await deps.tenants.addMember(tenantContext(request), request.body);
      request.auditTarget = { resourceId: out.userId, details: { role: out.role, status: out.status } };
      return reply.code(201).send({ user_id: out.userId, email: out.email, role: out.role, status: out.status });
    },
  );
  r.patch(
    '/api/v1/members/:id',
    {
      schema: {
        tags: ['tenancy'],
        summary: "Change a member's role",
        params: idParams,
        body: s.changeRoleBody,
        response: { 204: z.null(), ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true, stepUp: true },
        audit: { action: 'member.change_role', resourceType: 'membership' },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw notFound('MEMBER_NOT_FOUND', 'Member');
      await deps.tenants.changeRole(tenantContext(request), request.params.id, request.body.role);
      request.auditTarget = { details: { role: request.body.role } };
      return reply.code(204).send(null);
    },
  );
  r.delete(
    '/api/v1/members/:id',
    {
      schema: {
        tags: ['tenancy'],
        summary:
          'Remove a member (or withdraw an invitation). The API keys they created are revoked, or with api_keys=reassign handed to reassign_to (owners only)',
        params: idParams,
        querystring: s.removeMemberQuery,
        response: { 204: z.null(), ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true, stepUp: true },
        audit: { action: 'member.remove', resourceType: 'membership' },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw notFound('MEMBER_NOT_FOUND', 'Member');
      const q = request.query;
      if (q.api_keys === 'reassign' && !q.reassign_to) {
        throw new AppError('validation', 'VALIDATION_ERROR', 'Name the member who takes over the API keys.', {
          details: [{ field: 'reassign_to', message: 'required with api_keys=reassign', location: 'querystring' }],
        });
      }
      const out = await deps.tenants.removeMember(
        tenantContext(request),
        request.params.id,
        q.api_keys === 'reassign' ? { action: 'reassign', toUserId: q.reassign_to! } : { action: 'revoke' },
      );
      request.auditTarget = {
        resourceId: request.params.id,
        details: {
          api_keys: out.action === 'reassign' ? 'reassigned' : 'revoked',
          api_key_ids: out.keyIds,
          ...(out.action === 'reassign' ? { reassigned_to: q.reassign_to } : {}),
        },
      };
      return reply.code(204).send(null);
    },
  );

  // ---------------- API keys ----------------
  r.post(
    '/api/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key; the secret is shown once (seed 003 step 3)',
        body: s.createApiKeyBody,
        response: { 201: s.createdApiKeyResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'apikeys:manage', usersOnly: true, stepUp: true },
        audit: { action: 'api_key.create', resourceType: 'api_key' },
      },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const { row, secret } = await deps.apiKeys.create(ctx, {
        name: request.body.name,
        scopes: request.body.scopes,
        expiresAt: request.body.expires_at ? new Date(request.body.expires_at) : undefined,
      });
      request.auditTarget = { resourceId: row.id, details: { scopes: row.scopes, name: row.name } };
      const creator = row.createdBy ? await deps.repo.getUser(deps.db, row.createdBy) : undefined;
      return reply
        .code(201)
        .send({ ...toKey(row, { creatorEmail: creator?.email ?? null, creatorName: creator?.name ?? null }), api_key: secret });
    },
  );
  r.get(
    '/api/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys (never their secrets)',
        querystring: z.object({ include_revoked: z.enum(['true', 'false']).default('false') }).strict(),
        response: { 200: z.object({ data: z.array(s.apiKeyResponse) }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'apikeys:manage', usersOnly: true } },
    },
    async (request) => ({
      data: (await deps.apiKeys.list(tenantContext(request), request.query.include_revoked === 'true')).map((k: ApiKeyListRow) =>
        toKey(k, k),
      ),
    }),
  );
  r.delete(
    '/api/v1/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key: it stops working at once',
        params: idParams,
        response: { 200: s.apiKeyResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'apikeys:manage', usersOnly: true },
        audit: { action: 'api_key.revoke', resourceType: 'api_key' },
      },
    },
    async (request) => {
      if (!isUuid(request.params.id)) throw notFound('API_KEY_NOT_FOUND', 'API key');
      const row = await deps.apiKeys.revoke(tenantContext(request), request.params.id);
      const creator = row.createdBy ? await deps.repo.getUser(deps.db, row.createdBy) : undefined;
      return toKey(row, { creatorEmail: creator?.email ?? null, creatorName: creator?.name ?? null });
    },
  );
}
