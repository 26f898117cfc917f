import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import type { ClientMeta } from './auth.service.ts';
import { SSO_PROVISIONING } from './sso.core.ts';
import type { SsoProviderRow } from './sso.repository.ts';
import type { SsoService } from './sso.service.ts';
import { mfaChallengeResponse, tokenReply, tokenResponse } from './tenancy.schemas.ts';
import { MFA_TOKEN_SECONDS } from './tokens.ts';

export interface SsoRouteDeps {
  sso: SsoService;
}

const meta = (r: FastifyRequest): ClientMeta => ({ ip: r.ip ?? null, userAgent: r.headers['user-agent']?.slice(0, 300) ?? null });

const providerBody = z
  .object({
    name: z.string().trim().min(1).max(80).describe('Shown on the sign-in button: "Sign in with <name>"'),
    issuer: z.string().min(1).max(500).describe('The issuer URL; its /.well-known/openid-configuration is discovered'),
    client_id: z.string().trim().min(1).max(300),
    client_secret: z.string().min(1).max(2000).optional().describe('Required when creating; omitted on update keeps the stored one'),
    allowed_domains: z.array(z.string().max(253)).max(50).default([]).describe('E-mail domains admitted; empty admits any (invite-only)'),
    default_role: z.enum(['admin', 'analyst', 'viewer']).default('viewer').describe('Role of members added just in time'),
    provisioning: z.enum(SSO_PROVISIONING).default('invite_only').describe('jit: verified e-mails of the domains join; invite_only'),
    enabled: z.boolean().default(true),
  })
  .strict();
const provider = z.object({
  id: z.string(),
  name: z.string(),
  issuer: z.string(),
  client_id: z.string(),
  client_secret_set: z.literal(true).describe('The secret is sealed at rest and never answered'),
  allowed_domains: z.array(z.string()),
  default_role: z.string(),
  provisioning: z.enum(SSO_PROVISIONING),
  enabled: z.boolean(),
  linked_accounts: z.number().int().optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
const toProvider = (p: SsoProviderRow & { linkedAccounts?: number }) => ({
  id: p.id,
  name: p.name,
  issuer: p.issuer,
  client_id: p.clientId,
  client_secret_set: true as const,
  allowed_domains: p.allowedDomains,
  default_role: p.defaultRole,
  provisioning: p.provisioning,
  enabled: p.enabled,
  ...(p.linkedAccounts !== undefined ? { linked_accounts: p.linkedAccounts } : {}),
  created_at: iso(p.createdAt)!,
  updated_at: iso(p.updatedAt)!,
});
const toInput = (b: z.infer<typeof providerBody>) => ({
  name: b.name,
  issuer: b.issuer,
  clientId: b.client_id,
  clientSecret: b.client_secret,
  allowedDomains: b.allowed_domains,
  defaultRole: b.default_role,
  provisioning: b.provisioning,
  enabled: b.enabled,
});
const idParams = z.object({ id: z.string().max(100) });
const manage = { kind: 'tenant', permission: 'tenant:manage', usersOnly: true } as const;

/** Single sign-on (OpenID Connect): a tenant's providers (Settings → Single sign-on) and the sign-in flow. */
export async function ssoRoutes(app: FastifyInstance, deps: SsoRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/sso/providers',
    {
      schema: {
        tags: ['sso'],
        summary: "The store's identity providers, whether it requires single sign-on, and the redirect URI to register",
        response: {
          200: z.object({ providers: z.array(provider), require_sso: z.boolean(), redirect_uri: z.string() }),
          ...errorResponses,
        },
      },
      config: { auth: manage },
    },
    async (request) => {
      const out = await deps.sso.list(tenantContext(request));
      return { providers: out.providers.map(toProvider), require_sso: out.requireSso, redirect_uri: deps.sso.redirectUri };
    },
  );
  r.post(
    '/api/v1/sso/providers',
    {
      schema: { tags: ['sso'], summary: 'Add an identity provider', body: providerBody, response: { 201: provider, ...errorResponses } },
      config: { auth: { ...manage, stepUp: true }, audit: { action: 'sso.provider_create', resourceType: 'sso_provider' } },
    },
    async (request, reply) => {
      const p = await deps.sso.create(tenantContext(request), toInput(request.body));
      request.auditTarget = { resourceId: p.id, details: { issuer: p.issuer, provisioning: p.provisioning } };
      return reply.code(201).send(toProvider(p));
    },
  );
  r.put(
    '/api/v1/sso/providers/:id',
    {
      schema: {
        tags: ['sso'],
        summary: 'Change an identity provider (client_secret omitted keeps the stored one)',
        params: idParams,
        body: providerBody,
        response: { 200: provider, ...errorResponses },
      },
      config: { auth: { ...manage, stepUp: true }, audit: { action: 'sso.provider_update', resourceType: 'sso_provider' } },
    },
    async (request) => {
      const p = await deps.sso.update(tenantContext(request), request.params.id, toInput(request.body));
      request.auditTarget = { resourceId: p.id, details: { issuer: p.issuer, provisioning: p.provisioning, enabled: p.enabled } };
      return toProvider(p);
    },
  );
  r.delete(
    '/api/v1/sso/providers/:id',
    {
      schema: {
        tags: ['sso'],
        summary: 'Remove an identity provider and the identities linked through it',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: { auth: { ...manage, stepUp: true }, audit: { action: 'sso.provider_delete', resourceType: 'sso_provider' } },
    },
    async (request, reply) => {
      await deps.sso.remove(tenantContext(request), request.params.id);
      request.auditTarget = { resourceId: request.params.id };
      return reply.code(204).send(null);
    },
  );
  r.post(
    '/api/v1/sso/providers/:id/test',
    {
      schema: {
        tags: ['sso'],
        summary: "Test connection: discovers the provider's OpenID configuration with the stored settings",
        params: idParams,
        response: {
          200: z.object({
            ok: z.literal(true),
            issuer: z.string(),
            authorization_endpoint: z.string().nullable(),
            token_endpoint: z.string().nullable(),
            jwks_uri: z.string().nullable(),
            supports_pkce_s256: z.boolean(),
          }),
          ...errorResponses,
        },
      },
      config: { auth: manage, rateGroup: 'auth', audit: { action: 'sso.provider_test', resourceType: 'sso_provider' } },
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const c = await deps.sso.test(tenantContext(request), request.params.id);
      return {
        ok: true as const,
        issuer: c.issuer,
        authorization_endpoint: c.authorizationEndpoint,
        token_endpoint: c.tokenEndpoint,
        jwks_uri: c.jwksUri,
        supports_pkce_s256: c.supportsPkceS256,
      };
    },
  );
  r.put(
    '/api/v1/tenant/sso-policy',
    {
      schema: {
        tags: ['sso'],
        summary: "require_sso: members other than owners act in this store only in a session begun with the store's provider",
        body: z.object({ require_sso: z.boolean() }).strict(),
        response: { 200: z.object({ require_sso: z.boolean() }), ...errorResponses },
      },
      config: { auth: { ...manage, stepUp: true }, audit: { action: 'tenant.sso_policy', resourceType: 'tenant' } },
    },
    async (request) => {
      const v = await deps.sso.setRequireSso(tenantContext(request), request.body.require_sso);
      request.auditTarget = { details: { require_sso: v } };
      return { require_sso: v };
    },
  );

  // ---------------- the sign-in flow (public) ----------------
  r.get(
    '/api/v1/auth/sso/providers',
    {
      schema: {
        tags: ['auth'],
        summary: "A store's enabled identity providers, by its slug, for the sign-in page (an unknown store lists none)",
        querystring: z.object({ tenant: z.string().min(1).max(100) }),
        response: { 200: z.object({ providers: z.array(z.object({ id: z.string(), name: z.string() })) }), ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => ({ providers: await deps.sso.publicProviders(request.query.tenant) }),
  );
  r.post(
    '/api/v1/auth/sso/start',
    {
      schema: {
        tags: ['auth'],
        summary: 'Start signing in with a provider: the URL to send the browser to, and a browser key to keep for the callback',
        body: z
          .object({ tenant: z.string().min(1).max(100), provider_id: z.string().min(1).max(100), next: z.string().max(500).optional() })
          .strict(),
        response: {
          200: z.object({ authorization_url: z.string(), browser_key: z.string(), state: z.string(), redirect_uri: z.string() }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const out = await deps.sso.start({ tenant: request.body.tenant, providerId: request.body.provider_id, next: request.body.next });
      return { authorization_url: out.authorizationUrl, browser_key: out.browserKey, state: out.state, redirect_uri: deps.sso.redirectUri };
    },
  );
  const signedIn = (out: Awaited<ReturnType<SsoService['link']>>) =>
    'mfaToken' in out ? { mfa_required: true as const, mfa_token: out.mfaToken, expires_in: MFA_TOKEN_SECONDS } : tokenReply(out);
  const linkRequired = z.object({
    link_required: z.literal(true),
    link_token: z.string(),
    email: z.string(),
    provider_name: z.string(),
    expires_in: z.number(),
  });
  r.post(
    '/api/v1/auth/sso/callback',
    {
      schema: {
        tags: ['auth'],
        summary:
          "Complete signing in: the provider's redirect query, the state and the browser key. Answers tokens, a second-factor step, or link_required",
        body: z
          .object({ state: z.string().min(1).max(200), browser_key: z.string().min(1).max(200), query: z.string().min(1).max(8000) })
          .strict(),
        response: {
          200: z.union([tokenResponse, mfaChallengeResponse, linkRequired]).and(z.object({ next: z.string().nullable().optional() })),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) => {
      const b = request.body;
      const out = await deps.sso.callback({ state: b.state, browserKey: b.browser_key, query: b.query }, meta(request));
      if (out.kind === 'link_required')
        return {
          link_required: true as const,
          link_token: out.linkToken,
          email: out.email,
          provider_name: out.providerName,
          expires_in: 600,
          next: out.next,
        };
      return { ...signedIn(out.out), next: out.next };
    },
  );
  r.post(
    '/api/v1/auth/sso/link',
    {
      schema: {
        tags: ['auth'],
        summary: "Link the provider's identity to the existing account its e-mail names, with that account's password (its consent)",
        body: z.object({ link_token: z.string().min(1).max(4000), password: z.string().min(1).max(1000) }).strict(),
        response: { 200: z.union([tokenResponse, mfaChallengeResponse]), 423: errorResponses[401], ...errorResponses },
      },
      config: { auth: { kind: 'public' }, rateGroup: 'auth' },
    },
    async (request) =>
      signedIn(await deps.sso.link({ linkToken: request.body.link_token, password: request.body.password }, meta(request))),
  );
}
