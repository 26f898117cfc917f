import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, tenantContext, validation } from '../../platform/index.ts';
import { toCartResponse } from './commerce.mappers.ts';
import * as s from './commerce.schemas.ts';
import type { CartsService } from './carts.service.ts';
import { mismatch, type ShopperAccess } from './shopper.access.ts';

/**
 * Seed 000's cart calls and the rest of the storefront cart API. A merchant's server (secret key, commerce:write)
 * names any shopper; a page (publishable site key, commerce:shop) acts only for its shopper token's shopper.
 */
export async function cartRoutes(app: FastifyInstance, deps: { carts: CartsService; access: ShopperAccess }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'commerce:shop', publishable: true } } as const;
  const ok = { 200: s.cartResponse, ...errorResponses };
  const refOf = deps.access.cartRef;

  r.get(
    '/api/v1/cart',
    {
      schema: {
        tags: ['commerce'],
        summary: "The shopper's cart with prices and availability refreshed, and notices of what changed (seed 000)",
        querystring: s.cartQuery,
        response: ok,
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const ref = await refOf(request, ctx, request.query);
      return toCartResponse(await deps.carts.get(ctx, ref), ref);
    },
  );

  r.get(
    '/api/v1/cart/shipping-options',
    {
      schema: {
        tags: ['commerce'],
        summary: 'The shipping options a storefront can offer, in one currency when asked',
        querystring: s.shippingOptionsQuery,
        response: { 200: s.shippingOptionsResponse, ...errorResponses },
      },
      config,
    },
    async (request) => ({
      data: (await deps.carts.shippingOptions(tenantContext(request), request.query.currency)).map((o) => ({
        id: o.id,
        name: o.name,
        amount: Number(o.amountMinor),
        currency_code: o.currency,
      })),
    }),
  );

  r.post(
    '/api/v1/cart/items',
    {
      schema: {
        tags: ['commerce'],
        summary: "Add units of a catalog item to the shopper's cart, creating the cart when needed (seed 000)",
        body: s.addItemBody,
        response: { 201: s.cartResponse, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const b = request.body;
      const ctx = tenantContext(request);
      const view = await deps.carts.addItem(ctx, await refOf(request, ctx, b), {
        itemId: (b.item_id ?? b.product_id)!,
        quantity: b.quantity,
        currency: b.currency,
      });
      return reply.code(201).send(toCartResponse(view));
    },
  );

  r.patch(
    '/api/v1/cart/items/:line_id',
    {
      schema: { tags: ['commerce'], summary: "Set a cart line's quantity", params: s.lineParams, body: s.updateLineBody, response: ok },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const ref = await refOf(request, ctx, request.body);
      return toCartResponse(await deps.carts.updateLine(ctx, ref, request.params.line_id, request.body.quantity));
    },
  );

  r.delete(
    '/api/v1/cart/items/:line_id',
    {
      schema: { tags: ['commerce'], summary: 'Remove a line from the cart', params: s.lineParams, querystring: s.cartQuery, response: ok },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return toCartResponse(await deps.carts.removeLine(ctx, await refOf(request, ctx, request.query), request.params.line_id));
    },
  );

  r.post(
    '/api/v1/cart/merge',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Sign-in: link the anonymous shopper to the customer (identity) and merge their carts',
        body: s.mergeBody,
        response: ok,
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const claims = await deps.access.claims(request, ctx);
      let userId = b.user_id;
      let anonymousId = b.anonymous_id;
      if (claims) {
        // A page proves both sides: the customer (its token, minted by the merchant's server) and the visitor it was.
        if (claims.kind !== 'customer' || (userId !== undefined && userId !== claims.id)) throw mismatch();
        if (!b.anonymous_token)
          throw validation('ANONYMOUS_TOKEN_REQUIRED', "Send the visitor's anonymous shopper token as anonymous_token.", [
            { field: 'anonymous_token', message: 'is required with a shopper token' },
          ]);
        const visitor = await deps.access.verify(ctx, b.anonymous_token);
        if (visitor.kind !== 'anonymous' || (anonymousId !== undefined && anonymousId !== visitor.id)) throw mismatch();
        userId = claims.id;
        anonymousId = visitor.id;
      }
      if (!userId || !anonymousId)
        throw validation('MERGE_REF_REQUIRED', 'Send anonymous_id and user_id.', [
          ...(userId ? [] : [{ field: 'user_id', message: 'is required' }]),
          ...(anonymousId ? [] : [{ field: 'anonymous_id', message: 'is required' }]),
        ]);
      return toCartResponse(await deps.carts.merge(ctx, anonymousId, userId), { userId });
    },
  );

  r.post(
    '/api/v1/cart/promotions',
    {
      schema: { tags: ['commerce'], summary: 'Apply a promotion code to the cart', body: s.promotionCodeBody, response: ok },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return toCartResponse(await deps.carts.applyCode(ctx, await refOf(request, ctx, request.body), request.body.code));
    },
  );

  r.delete(
    '/api/v1/cart/promotions/:code',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Remove a promotion code from the cart',
        params: s.promotionCodeParams,
        querystring: s.cartQuery,
        response: ok,
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return toCartResponse(await deps.carts.removeCode(ctx, await refOf(request, ctx, request.query), request.params.code));
    },
  );

  r.post(
    '/api/v1/cart/reservation',
    {
      schema: {
        tags: ['commerce'],
        summary: "Checkout start: hold the cart's units for a while (default 15 min) so no other cart buys them; again renews",
        body: s.reserveBody,
        response: { 200: s.reservationResponse, ...errorResponses },
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const held = await deps.carts.reserve(ctx, await refOf(request, ctx, request.body), request.body.ttl_seconds);
      return {
        cart_id: held.cartId,
        expires_at: held.expiresAt.toISOString(),
        items: held.lines.map((l) => ({ item_id: l.itemId, quantity: l.quantity })),
      };
    },
  );

  r.delete(
    '/api/v1/cart/reservation',
    {
      schema: {
        tags: ['commerce'],
        summary: "Checkout abandoned: the cart's held units go back on sale at once",
        querystring: s.cartQuery,
        response: { 200: s.releaseResponse, ...errorResponses },
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return { released: await deps.carts.release(ctx, await refOf(request, ctx, request.query)) };
    },
  );

  r.post(
    '/api/v1/cart/shipping',
    {
      schema: { tags: ['commerce'], summary: 'Choose the shipping option and address', body: s.shippingBody, response: ok },
      config,
    },
    async (request) => {
      const b = request.body;
      const ctx = tenantContext(request);
      return toCartResponse(
        await deps.carts.setShipping(ctx, await refOf(request, ctx, b), {
          optionId: b.shipping_option_id,
          address: b.shipping_address ?? null,
          email: b.email ?? null,
        }),
      );
    },
  );
}
