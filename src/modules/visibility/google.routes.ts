import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errorBody, errorResponses, iso, tenantContext } from '../../platform/index.ts';
import { googleStatus } from './google.schemas.ts';
import type { GoogleService } from './google.service.ts';

const ts = (d: Date | string): string => new Date(d).toISOString();
const responses = { ...errorResponses, 503: errorBody };
const linkBody = z
  .object({
    redirect_uri: z.url().max(2000).optional().describe('Where Google sends the browser back (default GOOGLE_OAUTH_REDIRECT_URI)'),
    merchant_id: z
      .string()
      .regex(/^\d{1,20}$/, 'must be a Merchant Center account id (digits)')
      .optional(),
    data_source_id: z
      .string()
      .regex(/^\d{1,20}$/, 'must be a data source id (digits)')
      .optional(),
    feed_label: z
      .string()
      .regex(/^[A-Z0-9_-]{1,20}$/, 'must be a feed label such as US')
      .optional(),
    content_language: z
      .string()
      .regex(/^[a-z]{2}$/, 'must be an ISO 639-1 code such as en')
      .optional(),
  })
  .strict()
  .refine((b) => (b.merchant_id === undefined) === (b.data_source_id === undefined), 'give merchant_id and data_source_id together');
/** The dashboard page a browser returns to after Google's consent screen. */
const VISIBILITY_PAGE = '/visibility';
/** A browser navigation (text/html accepted, JSON not preferred), as opposed to an API client. */
const wantsHtml = (accept: string | undefined): boolean =>
  !!accept && /\btext\/html\b/.test(accept) && !/^\s*application\/json\b/.test(accept);
/** Seed 004's Google OAuth calls, and the connection's status for the dashboard. */
export async function googleRoutes(app: FastifyInstance, deps: { google: GoogleService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.google;
  const manage = (action: string) =>
    ({
      auth: { kind: 'tenant', permission: 'integrations:manage', usersOnly: true },
      audit: { action, resourceType: 'google_link' },
      rateGroup: 'admin',
    }) as const;

  r.post(
    '/google/oauth/link',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Start linking Google: an authorization URL (code flow with PKCE and a single-use state, 10 minutes)',
        body: linkBody,
        response: { 200: z.object({ authorization_url: z.string(), state: z.string(), expires_at: z.string() }), ...responses },
      },
      config: manage('google.oauth.link'),
    },
    async (request) => {
      const b = request.body;
      const out = await svc.link(tenantContext(request), {
        redirectUri: b.redirect_uri,
        merchant:
          b.merchant_id && b.data_source_id
            ? {
                merchantId: b.merchant_id,
                dataSourceId: b.data_source_id,
                feedLabel: b.feed_label ?? 'US',
                contentLanguage: b.content_language ?? 'en',
              }
            : undefined,
      });
      return { authorization_url: out.authorizationUrl, state: out.state, expires_at: ts(out.expiresAt) };
    },
  );

  r.get(
    '/google/oauth/callback',
    {
      schema: {
        tags: ['visibility'],
        summary: "Google's redirect after consent: checks the state, exchanges the code (PKCE), stores the tokens sealed",
        querystring: z
          .object({
            code: z.string().max(2000).optional(),
            state: z.string().max(300).optional(),
            error: z.string().max(200).optional(),
            scope: z.string().max(2000).optional(),
            authuser: z.string().max(20).optional(),
            prompt: z.string().max(50).optional(),
            hd: z.string().max(200).optional(),
            iss: z.string().max(200).optional().describe('The issuer (RFC 9207), as Google adds it'),
          })
          .strict(),
        response: {
          200: z.object({ linked: z.literal(true), scopes: z.string() }),
          303: z.null().describe('Browsers (Accept: text/html) go back to /visibility?google=linked, or ?google=error&reason=CODE'),
          ...responses,
        },
      },
      // Public: the browser arrives from Google without Loupe's credentials; the single-use state names the tenant.
      config: { auth: { kind: 'public' } },
    },
    async (request, reply) => {
      // A browser sent here by Google (a navigation asks for HTML) goes back to the Visibility page with the outcome;
      // API clients keep the JSON answer and its error statuses.
      if (!wantsHtml(request.headers.accept)) {
        const out = await svc.callback(request.query);
        return { linked: true as const, scopes: out.scopes };
      }
      try {
        await svc.callback(request.query);
        return reply.redirect(`${VISIBILITY_PAGE}?google=linked`, 303);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return reply.redirect(`${VISIBILITY_PAGE}?google=error&reason=${encodeURIComponent(err.code)}`, 303);
      }
    },
  );

  r.post(
    '/google/oauth/refresh',
    {
      schema: {
        tags: ['visibility'],
        summary: "Refresh the tenant's Google access token now",
        response: { 200: z.object({ expires_at: z.string() }), ...responses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage' },
        audit: { action: 'google.oauth.refresh', resourceType: 'google_link' },
      },
    },
    async (request) => ({ expires_at: ts((await svc.refresh(tenantContext(request))).expiresAt) }),
  );

  r.delete(
    '/google/oauth/unlink',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Unlink Google: revoke the grant at Google and forget the tokens',
        response: { 200: z.object({ unlinked: z.literal(true), revoked_at_google: z.boolean() }), ...responses },
      },
      config: manage('google.oauth.unlink'),
    },
    async (request) => ({ unlinked: true as const, revoked_at_google: (await svc.unlink(tenantContext(request))).revoked }),
  );

  r.get(
    '/google/oauth/status',
    {
      schema: {
        tags: ['visibility'],
        summary: "The tenant's Google connection: link status, token expiry, Merchant Center target",
        response: { 200: googleStatus, ...responses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => {
      const s = await svc.status(tenantContext(request));
      return {
        configured: s.configured,
        linked: s.account?.status === 'linked',
        status: (s.account?.status ?? 'not_linked') as 'linked' | 'consent_revoked' | 'not_linked',
        google_account: s.account?.googleAccount ?? null,
        scopes: s.account?.scopes ?? null,
        linked_at: iso(s.account?.linkedAt),
        token_expires_at: iso(s.tokenExpiresAt),
        merchant: s.merchant
          ? {
              merchant_id: s.merchant.merchantId,
              data_source_id: s.merchant.dataSourceId,
              feed_label: s.merchant.feedLabel,
              content_language: s.merchant.contentLanguage,
            }
          : null,
      };
    },
  );
}
