import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, errorResponses } from '../../platform/index.ts';
import type { ClientMeta } from './auth.service.ts';
import type { RegistrationService } from './registration.service.ts';
import { registerAccepted, registerBody, registerVerifyBody, tokenReply, tokenResponse } from './tenancy.schemas.ts';

export interface RegistrationRouteDeps {
  registration: RegistrationService;
  /** 'open' only when LOUPE_REGISTRATION=open and e-mail is configured (the module decides, and logs why not). */
  mode: 'open' | 'closed';
}

const meta = (r: FastifyRequest): ClientMeta => ({ ip: r.ip ?? null, userAgent: r.headers['user-agent']?.slice(0, 300) ?? null });

/** The same answer for every address: whether an e-mail has an account is told only to its inbox. */
const CHECK_MAIL = {
  status: 'verification_sent' as const,
  message: 'Check your e-mail: we sent a link to finish signing up. It works once, for one day.',
};

/** Verified self-service sign-up (LOUPE_REGISTRATION=open): register sends a link; the link creates the account. */
export async function registrationRoutes(app: FastifyInstance, deps: RegistrationRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const closed = () =>
    new AppError(
      'forbidden',
      'REGISTRATION_CLOSED',
      'Self-service registration is closed on this server. Ask an administrator for an account.',
    );

  r.post(
    '/api/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Sign up: e-mails a single-use link that creates the account (and, with tenant_name, a tenant it owns). Always 202 with the same body, whether or not the address has an account',
        body: registerBody,
        response: { 202: registerAccepted, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request, reply) => {
      if (deps.mode === 'closed') throw closed();
      await deps.registration.request(
        { email: request.body.email, password: request.body.password, name: request.body.name, tenantName: request.body.tenant_name },
        meta(request),
      );
      return reply.code(202).send(CHECK_MAIL);
    },
  );

  r.post(
    '/api/v1/auth/register/verify',
    {
      schema: {
        tags: ['auth'],
        summary: 'Follow a sign-up link: creates the account (and its tenant) and signs it in. Single use',
        body: registerVerifyBody,
        response: { 201: tokenResponse, ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth', audit: { action: 'auth.register', resourceType: 'user' } },
    },
    async (request, reply) => {
      if (deps.mode === 'closed') throw closed();
      const out = await deps.registration.verify(request.body.token, meta(request));
      request.auditTarget = { resourceId: out.user.id, ...(out.tenantId ? { tenantId: out.tenantId } : {}) };
      return reply.code(201).send(tokenReply(out));
    },
  );
}
