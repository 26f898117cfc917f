import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AppError,
  type Config,
  type Db,
  type SecretBox,
  conflict,
  errorResponses,
  inTenant,
  isUuid,
  notFound,
  requireStepUp,
  tenantContext,
} from '../../platform/index.ts';
import { toPromotion } from './commerce.mappers.ts';
import * as s from './orders.schemas.ts';
import { type OrdersService, stripeKeyContext } from './orders.service.ts';
import type { PromotionsRepository } from './promotions.repository.ts';
import type { RulesCache } from './rules.cache.ts';
import type { SettingsRepository } from './settings.repository.ts';

export interface AdminRouteDeps {
  db: Db;
  config: Config;
  secrets: SecretBox;
  settings: SettingsRepository;
  promotions: PromotionsRepository;
  /** Cached pricing rules: every change here drops the tenant's entry (other servers see the bumped version). */
  rules: RulesCache;
  orders: OrdersService;
  /** The process clock (the step-up window of a Stripe key change is measured on it). */
  clock: () => Date;
}

const publicBase = (config: Config, request: FastifyRequest) =>
  (config.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');

/** Checkout settings and promotions (the merchant), and the Stripe webhook endpoint (Stripe). */
export async function adminRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = { auth: { kind: 'tenant', permission: 'orders:read' } } as const;
  const manage = (action: string, resourceType: string) =>
    ({ auth: { kind: 'tenant', permission: 'orders:manage' }, audit: { action, resourceType } }) as const;

  const settingsAnswer = async (tenantId: string, request: FastifyRequest) => {
    const st = await deps.settings.get(deps.db, tenantId);
    return {
      tax_rate_bp: st.taxRateBp,
      tax_inclusive: st.taxInclusive,
      shipping_options: st.shippingOptions.map((o) => ({ id: o.id, name: o.name, amount: Number(o.amountMinor), currency: o.currency })),
      stripe_configured: st.stripeSecretKey !== null,
      webhook_configured: st.stripeWebhookSecret !== null,
      reservation_ttl_seconds: st.reservationTtlSeconds,
      webhook_url: `${publicBase(deps.config, request)}/api/v1/commerce/stripe/webhook/${tenantId}`,
    };
  };

  r.get(
    '/api/v1/commerce/settings',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Checkout settings: tax region, shipping options, whether Stripe is set',
        response: { 200: s.settingsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => settingsAnswer(tenantContext(request).tenantId, request),
  );

  r.put(
    '/api/v1/commerce/settings',
    {
      schema: {
        tags: ['commerce'],
        summary:
          'Set checkout settings; Stripe keys are sealed at rest and never shown again (omit them to keep the stored ones); setting them needs a signed-in user with a recent password check (step-up)',
        body: s.settingsBody,
        response: { 200: s.settingsResponse, ...errorResponses },
      },
      config: manage('commerce.settings.update', 'commerce_settings'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      // The Stripe keys decide where payments go and which payment events are believed: setting them is a
      // secret change (like an integration's rotate-secret), for a signed-in user with a recent password check.
      if (b.stripe_secret_key !== undefined || b.stripe_webhook_secret !== undefined) requireStepUp(request, deps.clock());
      const current = await deps.settings.get(deps.db, ctx.tenantId);
      const stored = {
        taxRateBp: b.tax_rate_bp,
        taxInclusive: b.tax_inclusive,
        shippingOptions: b.shipping_options.map((o) => ({ id: o.id, name: o.name, amountMinor: BigInt(o.amount), currency: o.currency })),
        stripeSecretKey: b.stripe_secret_key
          ? deps.secrets.seal(b.stripe_secret_key, stripeKeyContext(ctx.tenantId, 'secret'))
          : current.stripeSecretKey,
        stripeWebhookSecret: b.stripe_webhook_secret
          ? deps.secrets.seal(b.stripe_webhook_secret, stripeKeyContext(ctx.tenantId, 'webhook'))
          : current.stripeWebhookSecret,
        reservationTtlSeconds: b.reservation_ttl_seconds ?? current.reservationTtlSeconds,
      };
      await inTenant(deps.db, ctx.tenantId, (tx) => deps.settings.put(tx, ctx.tenantId, stored));
      deps.rules.invalidate(ctx.tenantId);
      request.auditTarget = { resourceId: ctx.tenantId, details: { changed: Object.keys(b).sort() } };
      return settingsAnswer(ctx.tenantId, request);
    },
  );

  r.get(
    '/api/v1/promotions',
    {
      schema: { tags: ['commerce'], summary: 'Promotions with their usage', response: { 200: s.promotionListResponse, ...errorResponses } },
      config: read,
    },
    async (request) => ({ data: (await deps.promotions.list(deps.db, tenantContext(request).tenantId)).map(toPromotion) }),
  );

  r.post(
    '/api/v1/promotions',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Create a promotion: percentage or fixed, on items, shipping or the order, by code or automatic, with a usage budget',
        body: s.promotionBody,
        response: { 201: s.promotionResponse, ...errorResponses },
      },
      config: manage('promotion.create', 'promotion'),
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const created = await inTenant(deps.db, ctx.tenantId, (tx) =>
        deps.promotions.create(tx, ctx.tenantId, {
          code: b.code ? b.code.toUpperCase() : null,
          automatic: b.automatic,
          type: b.type,
          target: b.target,
          allocation: b.allocation,
          value: BigInt(b.value),
          currency: b.currency ?? null,
          kind: b.kind,
          targetItemIds: b.target_item_ids ? [...new Set(b.target_item_ids)] : null,
          targetCategories: b.target_categories ? [...new Set(b.target_categories)] : null,
          targetSegments: b.target_segments ? [...new Set(b.target_segments)] : null,
          buyItemIds: b.buy_item_ids ? [...new Set(b.buy_item_ids)] : null,
          buyMinQuantity: b.buy_rules_min_quantity ?? null,
          applyToQuantity: b.apply_to_quantity ?? null,
          maxApplications: b.max_applications ?? 1,
          maxQuantity: b.max_quantity ?? null,
          usageLimit: b.usage_limit ?? null,
          budgetMinor: b.budget === undefined ? null : BigInt(b.budget),
          startsAt: b.starts_at ? new Date(b.starts_at) : null,
          endsAt: b.ends_at ? new Date(b.ends_at) : null,
        }),
      );
      deps.rules.invalidate(ctx.tenantId);
      if (!created) throw conflict('PROMOTION_CODE_TAKEN', 'A promotion with this code exists already.');
      request.auditTarget = { resourceId: created.id };
      return reply.code(201).send(toPromotion(created));
    },
  );

  r.post(
    '/api/v1/promotions/:id/deactivate',
    {
      schema: {
        tags: ['commerce'],
        summary: 'Stop a promotion (carts stop applying it at their next read)',
        params: z.object({ id: z.uuid() }).strict(),
        response: { 200: s.promotionResponse, ...errorResponses },
      },
      config: manage('promotion.deactivate', 'promotion'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      const p = await inTenant(deps.db, ctx.tenantId, (tx) => deps.promotions.setActive(tx, ctx.tenantId, request.params.id, false));
      deps.rules.invalidate(ctx.tenantId);
      if (!p) throw notFound('PROMOTION_NOT_FOUND', 'The promotion');
      request.auditTarget = { resourceId: p.id };
      return toPromotion(p);
    },
  );

  // Stripe signs the exact bytes it sends: this scope keeps the raw body.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/commerce/stripe/webhook/:tenant',
      {
        schema: {
          tags: ['commerce'],
          summary: "Stripe webhook endpoint of a tenant's store: signature-verified (Stripe-Signature), each event applied once",
          params: z.object({ tenant: z.string().max(100) }),
          response: { 200: s.webhookAnswer, ...errorResponses },
        },
        config: { auth: { kind: 'public' }, rateGroup: 'webhooks' },
      },
      async (request) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        if (!isUuid(request.params.tenant))
          throw new AppError('validation', 'SIGNATURE_INVALID', 'The Stripe-Signature header does not verify for this endpoint.');
        const out = await deps.orders.receiveWebhook(request.params.tenant, raw, typeof signature === 'string' ? signature : undefined);
        return { received: true, duplicate: out.duplicate };
      },
    );
  });
}
