import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Q, errorResponses, iso, isUuid, notFound, tenantContext } from '../../platform/index.ts';
import type { EmailInvitationRow } from './accounts.repository.ts';
import * as s from './accounts.schemas.ts';
import type { AccountsService, Delivery } from './accounts.service.ts';
import type { AuthService, ClientMeta } from './auth.service.ts';
import type { TenancyRepository } from './tenancy.repository.ts';
import { mfaChallengeResponse, tokenReply, tokenResponse } from './tenancy.schemas.ts';
import { MFA_TOKEN_SECONDS } from './tokens.ts';

export interface AccountsRouteDeps {
  db: Q;
  auth: AuthService;
  accounts: AccountsService;
  repo: TenancyRepository;
  clock: () => Date;
}

const meta = (r: FastifyRequest): ClientMeta => ({ ip: r.ip ?? null, userAgent: r.headers['user-agent']?.slice(0, 300) ?? null });
const idParams = z.object({ id: z.string().max(100) });

/** Members invited by e-mail link, and password reset (tenancy's account routes). */
export async function accountsRoutes(app: FastifyInstance, deps: AccountsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const toInvitation = (i: EmailInvitationRow) => ({
    id: i.id,
    email: i.email,
    role: i.role,
    invited_by_email: i.invitedByEmail,
    sent_count: i.sentCount,
    last_sent_at: iso(i.lastSentAt)!,
    expires_at: iso(i.expiresAt)!,
    expired: i.expiresAt.getTime() <= deps.clock().getTime(),
    created_at: iso(i.createdAt)!,
  });
  const sent = (o: { invitation: EmailInvitationRow; link: string | null; delivery: Delivery }) => ({
    invitation: toInvitation(o.invitation),
    delivery: o.delivery,
    link: o.link,
  });
  const memberAuth = { kind: 'tenant', permission: 'members:manage', usersOnly: true, stepUp: true } as const;

  r.post(
    '/api/v1/members/invitations',
    {
      schema: {
        tags: ['tenancy'],
        summary:
          'Invite an e-mail address (with or without an account) by single-use link; inviting it again sends a new link. The link is in the answer when it was not e-mailed',
        body: s.inviteBody,
        response: { 201: s.inviteResponse, ...errorResponses },
      },
      config: { auth: memberAuth, audit: { action: 'member.invite_email', resourceType: 'invitation' } },
    },
    async (request, reply) => {
      const out = await deps.accounts.invite(tenantContext(request), request.body);
      request.auditTarget = { resourceId: out.invitation.id, details: { role: out.invitation.role, delivery: out.delivery } };
      return reply.code(201).send(sent(out));
    },
  );
  r.get(
    '/api/v1/members/invitations',
    {
      schema: {
        tags: ['tenancy'],
        summary: 'Open invitations by e-mail link (expired ones included: they can be resent)',
        response: { 200: s.invitationList, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true } },
    },
    async (request) => ({
      data: (await deps.accounts.listInvitations(tenantContext(request))).map(toInvitation),
      email_configured: deps.accounts.mailConfigured,
    }),
  );
  r.post(
    '/api/v1/members/invitations/:id/resend',
    {
      schema: {
        tags: ['tenancy'],
        summary:
          'Send an invitation again with a new link (the old link stops working) and a new expiry; at most once a minute per invitation (429 with Retry-After)',
        params: idParams,
        response: { 200: s.inviteResponse, ...errorResponses },
      },
      config: { auth: memberAuth, audit: { action: 'member.invite_resend', resourceType: 'invitation' } },
    },
    async (request) => {
      if (!isUuid(request.params.id)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      const out = await deps.accounts.resendInvitation(tenantContext(request), request.params.id);
      request.auditTarget = { resourceId: out.invitation.id, details: { delivery: out.delivery } };
      return sent(out);
    },
  );
  r.delete(
    '/api/v1/members/invitations/:id',
    {
      schema: {
        tags: ['tenancy'],
        summary: 'Withdraw an invitation: its link stops working',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: { auth: memberAuth, audit: { action: 'member.invite_withdraw', resourceType: 'invitation' } },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      await deps.accounts.withdrawInvitation(tenantContext(request), request.params.id);
      request.auditTarget = { resourceId: request.params.id };
      return reply.code(204).send(null);
    },
  );

  // ---- public: whoever holds a link ----
  r.post(
    '/api/v1/auth/invitation-links/lookup',
    {
      schema: {
        tags: ['auth'],
        summary: 'What an invitation link offers (store, address, role, whether the address has an account)',
        body: s.tokenBody,
        response: { 200: s.invitationPreview, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const p = await deps.accounts.previewInvitation(request.body.token);
      return {
        tenant_name: p.tenantName,
        email: p.invitation.email,
        role: p.invitation.role,
        account_exists: p.accountExists,
        expires_at: iso(p.invitation.expiresAt)!,
      };
    },
  );
  r.post(
    '/api/v1/auth/invitation-links/accept',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Accept an invitation link: a new address chooses its password (the policy applies), an existing account enters its own. Signs in',
        body: s.acceptInvitationBody,
        response: { 200: z.union([tokenResponse, mfaChallengeResponse]), ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth', audit: { action: 'invitation.accept_link', resourceType: 'membership' } },
    },
    async (request) => {
      const out = await deps.accounts.acceptInvitation(request.body.token, request.body, meta(request));
      request.auditTarget = { tenantId: out.tenantId, resourceId: out.userId, details: { role: out.role } };
      const t = await deps.auth.login(out.email, request.body.password, meta(request));
      // An existing account with two-factor sign-in: the membership is active; signing in takes the second step.
      if ('mfaToken' in t) return { mfa_required: true as const, mfa_token: t.mfaToken, expires_in: MFA_TOKEN_SECONDS };
      return tokenReply(t);
    },
  );
  r.post(
    '/api/v1/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password reset link by e-mail. Always 202, whether or not the address has an account',
        body: s.resetRequestBody,
        response: { 202: s.resetRequestResponse, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request, reply) => {
      await deps.accounts.requestReset(request.body.email, meta(request));
      return reply.code(202).send({ email_configured: deps.accounts.mailConfigured });
    },
  );
  r.post(
    '/api/v1/auth/password-reset/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a reset link (single use, one hour). Every session of the account ends',
        body: s.resetConfirmBody,
        response: { 204: z.null(), ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth', audit: { action: 'auth.password_reset', resourceType: 'user' } },
    },
    async (request, reply) => {
      const out = await deps.accounts.confirmReset(request.body.token, request.body.password, meta(request));
      request.auditTarget = { resourceId: out.userId };
      return reply.code(204).send(null);
    },
  );
  r.post(
    '/api/v1/admin/users/:id/password-reset-link',
    {
      schema: {
        tags: ['admin'],
        summary: 'Make a password reset link for a user to pass on yourself (for servers that send no e-mail)',
        params: idParams,
        response: { 201: s.resetLinkResponse, ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, rateGroup: 'admin', audit: { action: 'user.reset_link', resourceType: 'user' } },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw notFound('USER_NOT_FOUND', 'User');
      const out = await deps.accounts.adminResetLink(request.params.id);
      request.auditTarget = { resourceId: request.params.id };
      return reply.code(201).send({ link: out.link, email: out.email, expires_at: iso(out.expiresAt)! });
    },
  );
}
