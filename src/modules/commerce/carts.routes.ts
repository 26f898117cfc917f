import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, tenantContext } from '../../platform/index.ts';
import { toCartResponse } from './commerce.mappers.ts';
import * as s from './commerce.schemas.ts';
import type { CartRef, CartsService } from './carts.service.ts';

const refOf = (b: { cart_id?: string | undefined; user_id?: string | undefined; anonymous_id?: string | undefined }): CartRef => ({
  cartId: b.cart_id,
  userId: b.user_id,
  anonymousId: b.anonymous_id,
});

/** Seed 000's cart calls and the rest of the storefront cart API (storefront keys: scope commerce:write). */
export async function cartRoutes(app: FastifyInstance, deps: { carts: CartsService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'commerce:write' } } as const;
  const ok = { 200: s.cartResponse, ...errorResponses };

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
      const ref = refOf(request.query);
      return toCartResponse(await deps.carts.get(tenantContext(request), ref), ref);
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
      const view = await deps.carts.addItem(tenantContext(request), refOf(b), {
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
    async (request) =>
      toCartResponse(
        await deps.carts.updateLine(tenantContext(request), refOf(request.body), request.params.line_id, request.body.quantity),
      ),
  );

  r.delete(
    '/api/v1/cart/items/:line_id',
    {
      schema: { tags: ['commerce'], summary: 'Remove a line from the cart', params: s.lineParams, querystring: s.cartQuery, response: ok },
      config,
    },
    async (request) => toCartResponse(await deps.carts.removeLine(tenantContext(request), refOf(request.query), request.params.line_id)),
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
      const { anonymous_id, user_id } = request.body;
      return toCartResponse(await deps.carts.merge(tenantContext(request), anonymous_id, user_id), { userId: user_id });
    },
  );

  r.post(
    '/api/v1/cart/promotions',
    {
      schema: { tags: ['commerce'], summary: 'Apply a promotion code to the cart', body: s.promotionCodeBody, response: ok },
      config,
    },
    async (request) => toCartResponse(await deps.carts.applyCode(tenantContext(request), refOf(request.body), request.body.code)),
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
    async (request) => toCartResponse(await deps.carts.removeCode(tenantContext(request), refOf(request.query), request.params.code)),
  );

  r.post(
    '/api/v1/cart/shipping',
    {
      schema: { tags: ['commerce'], summary: 'Choose the shipping option and address', body: s.shippingBody, response: ok },
      config,
    },
    async (request) => {
      const b = request.body;
      return toCartResponse(
        await deps.carts.setShipping(tenantContext(request), refOf(b), {
          optionId: b.shipping_option_id,
          address: b.shipping_address ?? null,
          email: b.email ?? null,
        }),
      );
    },
  );
}
