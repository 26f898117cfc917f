import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errorResponses, iso, tenantContext } from '../../platform/index.ts';
import type { AuthService, ClientMeta } from './auth.service.ts';
import type { TenantsService } from './tenants.service.ts';
import { tokenReply, tokenResponse } from './tenancy.schemas.ts';
import type { TwoFactorService } from './two-factor.service.ts';

export interface TwoFactorRouteDeps {
  auth: AuthService;
  twoFactor: TwoFactorService;
  tenants: TenantsService;
}

const meta = (r: FastifyRequest): ClientMeta => ({ ip: r.ip ?? null, userAgent: r.headers['user-agent']?.slice(0, 300) ?? null });
const code = z.string().max(20);
const recoveryCodes = z.object({ recovery_codes: z.array(z.string()).describe('Shown once: each works once instead of a code') });

/** Two-factor sign-in (TOTP): the account's own enrolment, the sign-in second step, and a tenant's requirement. */
export async function twoFactorRoutes(app: FastifyInstance, deps: TwoFactorRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const userOf = (request: FastifyRequest): string => {
    const a = request.actor!;
    if (a.type !== 'user') throw new AppError('forbidden', 'USER_SESSION_REQUIRED', 'This endpoint is for signed-in users.');
    return a.id;
  };

  r.get(
    '/api/v1/auth/2fa',
    {
      schema: {
        tags: ['auth'],
        summary: 'Whether two-factor sign-in is on for your account, and recovery codes left',
        response: {
          200: z.object({ enabled: z.boolean(), enabled_at: z.string().nullable(), recovery_codes_left: z.number().int() }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'user' } },
    },
    async (request) => {
      const s = await deps.twoFactor.status(userOf(request));
      return { enabled: s.enabled, enabled_at: iso(s.enabledAt), recovery_codes_left: s.recoveryCodesLeft };
    },
  );
  r.post(
    '/api/v1/auth/2fa/enrol',
    {
      schema: {
        tags: ['auth'],
        summary: 'Start two-factor enrolment: a new secret, its otpauth URI and QR code (SVG) for an authenticator app',
        response: { 200: z.object({ secret: z.string(), otpauth_uri: z.string(), qr_svg: z.string() }), ...errorResponses },
      },
      config: { auth: { kind: 'user', stepUp: true }, rateGroup: 'auth' },
    },
    async (request) => {
      const out = await deps.twoFactor.enrol(userOf(request));
      return { secret: out.secret, otpauth_uri: out.uri, qr_svg: out.qrSvg };
    },
  );
  r.post(
    '/api/v1/auth/2fa/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm enrolment with a first code from the app: two-factor sign-in is on; answers the recovery codes once',
        body: z.object({ code }).strict(),
        response: { 200: recoveryCodes, ...errorResponses },
      },
      config: { auth: { kind: 'user' }, rateGroup: 'auth', audit: { action: 'auth.two_factor_enable', resourceType: 'user' } },
    },
    async (request) => ({ recovery_codes: await deps.twoFactor.confirm(userOf(request), request.body.code, meta(request)) }),
  );
  r.post(
    '/api/v1/auth/2fa/recovery-codes',
    {
      schema: {
        tags: ['auth'],
        summary: 'New recovery codes (the old ones stop working); shown once',
        response: { 200: recoveryCodes, ...errorResponses },
      },
      config: { auth: { kind: 'user', stepUp: true }, rateGroup: 'auth', audit: { action: 'auth.recovery_codes', resourceType: 'user' } },
    },
    async (request) => ({ recovery_codes: await deps.twoFactor.regenerateRecoveryCodes(userOf(request)) }),
  );
  r.delete(
    '/api/v1/auth/2fa',
    {
      schema: { tags: ['auth'], summary: 'Turn two-factor sign-in off', response: { 204: z.null(), ...errorResponses } },
      config: {
        auth: { kind: 'user', stepUp: true },
        rateGroup: 'auth',
        audit: { action: 'auth.two_factor_disable', resourceType: 'user' },
      },
    },
    async (request, reply) => {
      await deps.twoFactor.disable(userOf(request), meta(request));
      return reply.code(204).send(null);
    },
  );
  r.post(
    '/api/v1/auth/2fa/verify',
    {
      schema: {
        tags: ['auth'],
        summary: "Sign-in's second step: the mfa_token a right password answered, and a code from the app (or a recovery code)",
        body: z
          .object({ mfa_token: z.string().min(1).max(2000), code: code.optional(), recovery_code: z.string().max(40).optional() })
          .strict(),
        response: { 200: tokenResponse, 423: errorResponses[401], ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const b = request.body;
      if (!b.code && !b.recovery_code)
        throw new AppError('validation', 'TWO_FACTOR_CODE_REQUIRED', 'Enter the code of your authenticator app, or a recovery code.', {
          details: [{ field: 'code', message: 'required' }],
        });
      const t = await deps.auth.completeMfa(
        b.mfa_token,
        async (userId) => {
          await deps.twoFactor.verify(userId, { code: b.code, recoveryCode: b.recovery_code }, meta(request));
        },
        meta(request),
      );
      return tokenReply(t);
    },
  );
  r.put(
    '/api/v1/tenant/security',
    {
      schema: {
        tags: ['tenancy'],
        summary: "The tenant's sign-in rules: require_2fa sends members without two-factor sign-in to turn it on before anything else",
        body: z.object({ require_2fa: z.boolean() }).strict(),
        response: { 200: z.object({ require_2fa: z.boolean() }), ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'members:manage', usersOnly: true, stepUp: true },
        audit: { action: 'tenant.security', resourceType: 'tenant' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      // Turning it on while not enrolled would lock the one who turned it on out of the tenant at once.
      if (request.body.require_2fa && ctx.actor.type === 'user' && !ctx.actor.twoFactor)
        throw new AppError('conflict', 'TWO_FACTOR_SELF_REQUIRED', 'Turn on two-factor sign-in for your own account first.');
      await deps.tenants.updateTenant(ctx.tenantId, { settings: { require_2fa: request.body.require_2fa } });
      request.auditTarget = { details: { require_2fa: request.body.require_2fa } };
      return { require_2fa: request.body.require_2fa };
    },
  );
}
