import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, type Config, errorBody, errorResponses, tenantContext } from '../../platform/index.ts';
import type { Plan } from './billing.plans.core.ts';
import * as s from './billing.schemas.ts';
import type { BillingService } from './billing.service.ts';

const publicBase = (config: Config, r: FastifyRequest) => (config.publicUrl ?? `${r.protocol}://${r.host}`).replace(/\/+$/, '');

/** Seed 004's Stripe calls, and the tenant's billing status for the dashboard. */
export async function billingRoutes(app: FastifyInstance, deps: { billing: BillingService; config: Config }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.billing;
  const toPlan = (p: Plan, purchasable: Set<string>) => ({
    id: p.id,
    name: p.name,
    monthly_price: p.monthly_price_minor,
    currency: p.currency,
    purchasable: purchasable.has(p.id),
    limits: p.limits,
  });

  r.get(
    '/api/v1/billing',
    {
      schema: {
        tags: ['billing'],
        summary: "The tenant's plan, subscription and usage this month against the plan's limits, and the plans on offer",
        response: { 200: s.billingStatus, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => {
      const st = await svc.status(tenantContext(request));
      const sub = st.subscription;
      return {
        billing_enabled: st.enabled,
        plan: toPlan(st.plan, st.purchasable),
        period: st.period,
        subscription: sub
          ? {
              plan: sub.plan,
              status: sub.status,
              cancel_at_period_end: sub.cancelAtPeriodEnd,
              current_period_end: sub.currentPeriodEnd ? new Date(sub.currentPeriodEnd).toISOString() : null,
              last_payment_error: sub.lastPaymentError,
              updated_at: new Date(sub.updatedAt).toISOString(),
            }
          : null,
        usage: st.usage,
        plans: svc.plans.map((p) => toPlan(p, st.purchasable)),
      };
    },
  );

  r.post(
    '/stripe/checkout',
    {
      schema: {
        tags: ['billing'],
        summary: 'Start paying for a plan: a Stripe Checkout Session (subscription mode); the plan changes when Stripe confirms payment',
        body: s.checkoutBody,
        response: { 200: s.checkoutResponse, ...errorResponses, 503: errorBody },
      },
      config: {
        auth: { kind: 'tenant', permission: 'tenant:manage', usersOnly: true },
        audit: { action: 'billing.checkout', resourceType: 'billing_subscription' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const base = publicBase(deps.config, request);
      const b = request.body;
      for (const [field, url] of [
        ['success_url', b.success_url],
        ['cancel_url', b.cancel_url],
      ] as const) {
        if (url !== undefined && new URL(url).origin !== new URL(base).origin)
          throw new AppError('validation', 'REDIRECT_NOT_ALLOWED', `${field} must be a page of this server (${new URL(base).origin}).`, {
            details: [{ field, message: 'must be on this server' }],
          });
      }
      const out = await svc.checkout(ctx, {
        plan: b.plan,
        successUrl: b.success_url ?? `${base}/billing?checkout=success`,
        cancelUrl: b.cancel_url ?? `${base}/billing?checkout=cancelled`,
      });
      request.auditTarget = { resourceId: ctx.tenantId, details: { plan: b.plan, session: out.id } };
      return { id: out.id, url: out.url, plan: b.plan, expires_at: out.expiresAt.toISOString() };
    },
  );

  r.patch(
    '/api/v1/billing/subscription',
    {
      schema: {
        tags: ['billing'],
        summary:
          'Move the running subscription to another paid plan (Stripe prorates); the plan applies when Stripe confirms it through the webhook',
        body: s.changePlanBody,
        response: { 202: s.changePlanResponse, ...errorResponses, 503: errorBody },
      },
      config: {
        auth: { kind: 'tenant', permission: 'tenant:manage', usersOnly: true },
        audit: { action: 'billing.plan.change', resourceType: 'billing_subscription' },
      },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const out = await svc.changePlan(ctx, request.body.plan);
      request.auditTarget = { resourceId: ctx.tenantId, details: { plan: out.plan } };
      return reply.code(202).send({ plan: out.plan, subscription_status: out.subscriptionStatus, pending: true as const });
    },
  );

  // Stripe signs the exact bytes it sends: this scope keeps the raw body.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/stripe/webhook',
      {
        schema: {
          tags: ['billing'],
          summary:
            "Stripe's webhook for Loupe's plans: signature-verified (Stripe-Signature), each event applied once, an older event never undoes a newer one",
          response: { 200: s.webhookAnswer, ...errorResponses, 503: errorBody },
        },
        config: { auth: { kind: 'public' }, rateGroup: 'webhooks' },
      },
      async (request) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        const out = await svc.receiveWebhook(raw, typeof signature === 'string' ? signature : undefined);
        return { received: true as const, duplicate: out.duplicate };
      },
    );
  });
}
