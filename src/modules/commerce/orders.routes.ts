import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Idempotency, errorResponses, idempotencyKeyOf, paginate, tenantContext, validation } from '../../platform/index.ts';
import { toOrderDetail, toOrderSummary } from './commerce.mappers.ts';
import * as s from './orders.schemas.ts';
import type { OrdersService } from './orders.service.ts';
import { mismatch, shopperOf, type ShopperAccess } from './shopper.access.ts';

export interface OrderRouteDeps {
  orders: OrdersService;
  idempotency: Idempotency;
  access: ShopperAccess;
}

/**
 * Checkout and order history (a merchant's server with commerce:write for any shopper; a page's site key with
 * commerce:shop for its shopper token's shopper) and the merchant's orders (orders:read / orders:manage).
 */
export async function orderRoutes(app: FastifyInstance, deps: OrderRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const storefront = { auth: { kind: 'tenant', permission: 'commerce:shop', publishable: true } } as const;
  const read = { auth: { kind: 'tenant', permission: 'orders:read' } } as const;
  const manage = (action: string, sensitive = false) =>
    ({
      auth: { kind: 'tenant', permission: 'orders:manage', ...(sensitive ? { stepUp: true, usersOnly: true } : {}) },
      audit: { action, resourceType: 'order' },
    }) as const;

  r.post(
    '/api/v1/cart/complete',
    {
      schema: {
        tags: ['commerce'],
        summary:
          'Complete the cart: one order per cart however many times it is called, paid through Stripe (Idempotency-Key: the first answer is replayed)',
        body: s.completeBody,
        response: { 200: s.completeResponse, 201: s.completeResponse, ...errorResponses },
      },
      config: storefront,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const claims = await deps.access.claims(request, ctx);
      const owner = claims ? shopperOf(claims) : null;
      const answer = await deps.idempotency.run(
        ctx.tenantId,
        idempotencyKeyOf(request),
        // A shopper's keys are their own: another shopper reusing one is a different request, never a replay of theirs.
        claims ? `POST /api/v1/cart/complete ${claims.kind}:${claims.id}` : 'POST /api/v1/cart/complete',
        request.body,
        async () => {
          const { order, created } = await deps.orders.complete(ctx, request.body.cart_id, request.body.payment_method, owner);
          return { status: created ? 201 : 200, body: { type: 'order' as const, created, order: toOrderSummary(order) } };
        },
      );
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(answer.status as 200).send(answer.body as never);
    },
  );

  r.get(
    '/api/v1/cart/orders',
    {
      schema: {
        tags: ['commerce'],
        summary: "A shopper's order history, newest first (storefront)",
        querystring: s.shopperOrdersQuery,
        response: { 200: s.orderListResponse, ...errorResponses },
      },
      config: storefront,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const claims = await deps.access.claims(request, ctx);
      const userId = request.query.user_id;
      if (claims && userId !== undefined && (claims.kind !== 'customer' || claims.id !== userId)) throw mismatch();
      if (!claims && userId === undefined)
        throw validation('CART_REF_REQUIRED', "Name the shopper: send user_id (or the shopper's token).", [
          { field: 'user_id', message: 'is required' },
        ]);
      const rows = await deps.orders.list(ctx, claims ? shopperOf(claims) : { userId }, { limit: request.query.limit });
      return { data: rows.map(toOrderSummary), next_cursor: null };
    },
  );

  r.get(
    '/api/v1/orders',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Orders with filters (status, customer, text, dates), a total, and cursor (newest first) or sorted offset pages',
        querystring: s.orderListQuery,
        response: { 200: s.orderListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const ctx = tenantContext(request);
      const filters = {
        status: q.status,
        userId: q.user_id,
        search: q.q,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
      };
      const [rows, total] = await Promise.all([
        deps.orders.list(ctx, filters, { after: q.cursor, sort: q.sort, offset: q.offset, limit: q.limit + 1 }),
        deps.orders.count(ctx, filters),
      ]);
      // Offset pages (a sorted table) move by offset; the cursor is for newest-first keyset paging only.
      const page = paginate(rows, q.limit, (o) => o.id);
      const keyset = !q.sort && q.offset === undefined;
      return {
        data: page.data.map(toOrderSummary),
        next_cursor: keyset ? page.next_cursor : null,
        total,
      };
    },
  );

  r.get(
    '/api/v1/orders/:id',
    {
      schema: {
        tags: ['commerce'],
        summary: 'An order with its lines and timeline (placed, payment, fulfilment, refunds)',
        params: s.orderParams,
        response: { 200: s.orderDetail, ...errorResponses },
      },
      config: read,
    },
    async (request) => toOrderDetail(await deps.orders.get(tenantContext(request), request.params.id)),
  );

  r.post(
    '/api/v1/orders/:id/refunds',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Refund part or all of a paid order through Stripe (step-up; never more than was paid)',
        params: s.orderParams,
        body: s.refundBody,
        response: { 200: s.orderDetail, ...errorResponses },
      },
      config: manage('order.refund', true),
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id, details: { amount: request.body.amount ?? 'rest' } };
      const answer = await deps.idempotency.run(
        ctx.tenantId,
        idempotencyKeyOf(request),
        `POST /api/v1/orders/${request.params.id}/refunds`,
        request.body,
        async () => {
          const b = request.body;
          await deps.orders.refund(ctx, request.params.id, b.amount === undefined ? undefined : BigInt(b.amount), b.reason);
          return { status: 200, body: toOrderDetail(await deps.orders.get(ctx, request.params.id)) };
        },
      );
      return reply.code(answer.status as 200).send(answer.body as never);
    },
  );

  r.post(
    '/api/v1/orders/:id/returns',
    {
      schema: {
        tags: ['commerce'],
        summary:
          'Return units of a paid order: refunds their share of what was paid plus the original shipping when due, less a return label the customer pays; restocks them, records the return (step-up)',
        params: s.orderParams,
        body: s.returnBody,
        response: { 200: s.orderDetail, ...errorResponses },
      },
      config: manage('order.return', true),
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      request.auditTarget = { resourceId: request.params.id, details: { items: b.items.length, restock: b.restock } };
      const answer = await deps.idempotency.run(
        ctx.tenantId,
        idempotencyKeyOf(request),
        `POST /api/v1/orders/${request.params.id}/returns`,
        b,
        async () => {
          await deps.orders.returnItems(
            ctx,
            request.params.id,
            b.items.map((i) => ({ itemId: i.item_id, quantity: i.quantity, reason: i.reason, restock: i.restock })),
            {
              restock: b.restock,
              reason: b.reason,
              refundShipping: b.refund_shipping,
              label: b.return_shipping ? { amount: BigInt(b.return_shipping.amount), paidBy: b.return_shipping.paid_by } : null,
            },
          );
          return { status: 200, body: toOrderDetail(await deps.orders.get(ctx, request.params.id)) };
        },
      );
      return reply.code(answer.status as 200).send(answer.body as never);
    },
  );

  r.post(
    '/api/v1/orders/:id/cancel',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Cancel a pending or paid (unfulfilled) order: a paid one is refunded in full; stock comes back (step-up)',
        params: s.orderParams,
        response: { 200: s.orderDetail, ...errorResponses },
      },
      config: manage('order.cancel', true),
    },
    async (request) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id };
      await deps.orders.cancel(ctx, request.params.id);
      return toOrderDetail(await deps.orders.get(ctx, request.params.id));
    },
  );

  r.post(
    '/api/v1/orders/:id/fulfil',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Mark a paid order fulfilled (shipped)',
        params: s.orderParams,
        response: { 200: s.orderDetail, ...errorResponses },
      },
      config: manage('order.fulfil'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id };
      await deps.orders.fulfil(ctx, request.params.id);
      return toOrderDetail(await deps.orders.get(ctx, request.params.id));
    },
  );
}
