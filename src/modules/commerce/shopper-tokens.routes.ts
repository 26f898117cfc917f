import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, errorResponses, newId, tenantContext } from '../../platform/index.ts';
import * as s from './commerce.schemas.ts';
import { ANONYMOUS_TOKEN_SECONDS, CUSTOMER_TOKEN_SECONDS, type ShopperTokens } from './shopper-tokens.ts';

/**
 * `POST /api/v1/commerce/shopper-tokens`: a merchant's server (secret key, commerce:write) mints a short-lived
 * token for a signed-in customer; a page (site key, commerce:shop) gets a token for a fresh anonymous visitor.
 */
export async function shopperTokenRoutes(app: FastifyInstance, deps: { tokens: ShopperTokens; clock: () => Date }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/commerce/shopper-tokens',
    {
      schema: {
        tags: ['commerce'],
        summary:
          "A signed shopper token for a page's cart and checkout calls: a customer's (servers, commerce:write) or a fresh anonymous visitor's",
        body: s.shopperTokenBody,
        response: { 201: s.shopperTokenResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'commerce:shop', publishable: true } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const trusted = ctx.permissions.has('commerce:write');
      if (!trusted && (b.customer_id !== undefined || b.ttl_seconds !== undefined))
        throw new AppError(
          'forbidden',
          'SHOPPER_TOKEN_CUSTOMER_FORBIDDEN',
          "Only the store's server (a secret key with commerce:write) mints customer tokens: a site key gets anonymous ones.",
        );
      const shopper =
        b.customer_id !== undefined
          ? { kind: 'customer' as const, id: b.customer_id }
          : { kind: 'anonymous' as const, id: `anon_${newId()}` };
      const ttl = shopper.kind === 'customer' ? (b.ttl_seconds ?? CUSTOMER_TOKEN_SECONDS) : ANONYMOUS_TOKEN_SECONDS;
      const now = Math.floor(deps.clock().getTime() / 1000);
      const token = await deps.tokens.sign(ctx.tenantId, shopper, ttl, now);
      return reply.code(201).send({
        token,
        shopper_type: shopper.kind,
        shopper_id: shopper.id,
        expires_at: new Date((now + ttl) * 1000).toISOString(),
      });
    },
  );
}
