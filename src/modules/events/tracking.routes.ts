import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, iso, newId, notFound, tenantContext, validation } from '../../platform/index.ts';
import { checkOccurredAt, identityInput, parseUserAgent, pathOf, toMinorUnits, utmFromUrl } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import { overloadResponses } from './interactions.schemas.ts';
import type { PageViewRow, SessionRow, TrackingRepository } from './tracking.repository.ts';
import * as s from './tracking.schemas.ts';

export interface TrackingRouteDeps {
  repo: TrackingRepository;
  ingest: IngestService;
  clock: () => Date;
}

const toSession = (r: SessionRow) => ({
  session_id: r.sessionId,
  user_id: r.userId,
  device_type: r.deviceType,
  browser: r.browser,
  os: r.os,
  utm_source: r.utmSource,
  utm_medium: r.utmMedium,
  utm_campaign: r.utmCampaign,
  pages_viewed: Number(r.pagesViewed),
  cart_adds: Number(r.cartAdds),
  purchases: Number(r.purchases),
  revenue_cents: Number(r.revenueMinor),
  started_at: iso(r.startedAt)!,
  ended_at: iso(r.endedAt),
  duration_seconds: r.durationSeconds == null ? null : Number(r.durationSeconds),
  bounce: r.bounce,
  exit_page_url: r.exitPageUrl,
});
const toPageView = (p: PageViewRow) => ({
  page_view_id: p.pageViewId,
  session_id: p.sessionId,
  started_at: iso(p.startedAt)!,
  ended_at: iso(p.endedAt),
  time_on_page_seconds: p.timeOnPageSeconds == null ? null : Number(p.timeOnPageSeconds),
  scroll_depth_percent: p.scrollDepthPercent == null ? null : Number(p.scrollDepthPercent),
});

/** Cart event types that are also interactions (seed 003's types). */
const CART_INTERACTION: Record<string, string> = { item_added: 'add_to_cart', item_removed: 'remove_from_cart' };

const hashKey = (parts: (string | null | undefined)[]) =>
  `h:${createHash('sha256')
    .update(parts.map((p) => p ?? '').join('\u0000'))
    .digest('base64url')
    .slice(0, 32)}`;

/** Seed 000's tracking calls: sessions, page views (time on page, scroll depth), funnel stages and cart events. */
export async function trackingRoutes(app: FastifyInstance, deps: TrackingRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'interactions:write' }, rateGroup: 'ingest' } as const;
  const when = (field: string, value: string | undefined, now: Date): Date => {
    if (!value) return now;
    const at = new Date(value);
    const problem = checkOccurredAt(at, now);
    if (problem) throw validation('VALIDATION_ERROR', `The request body is invalid: ${field}.`, [{ field, message: problem }]);
    return at;
  };

  r.post(
    '/api/v1/analytics/session/start',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Start a session: device, browser, UTM parameters, referrer (seed 000)',
        body: s.sessionStartBody,
        response: { 201: s.sessionResponse, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const now = deps.clock();
      const ua = parseUserAgent(b.user_agent ?? request.headers['user-agent']);
      const fromUrl = utmFromUrl(b.landing_url);
      const row = await deps.repo.startSession(ctx.tenantId, {
        sessionId: b.session_id ?? newId(),
        userId: b.user_id ?? null,
        anonymousId: b.anonymous_id ?? null,
        deviceType: b.device_type ?? ua.deviceType,
        browser: b.browser ?? ua.browser,
        os: b.os ?? ua.os,
        userAgent: (b.user_agent ?? request.headers['user-agent'] ?? null)?.slice(0, 1000) ?? null,
        locale: b.locale ?? null,
        utm: {
          source: b.utm_source ?? b.utm?.source ?? fromUrl.source,
          medium: b.utm_medium ?? b.utm?.medium ?? fromUrl.medium,
          campaign: b.utm_campaign ?? b.utm?.campaign ?? fromUrl.campaign,
          term: b.utm_term ?? b.utm?.term ?? fromUrl.term,
          content: b.utm_content ?? b.utm?.content ?? fromUrl.content,
        },
        referrer: b.referrer ?? null,
        landingUrl: b.landing_url ?? null,
        startedAt: when('started_at', b.started_at, now),
        metadata: b.metadata ?? null,
      });
      return reply.code(201).send(toSession(row));
    },
  );

  r.post(
    '/api/v1/analytics/session/end',
    {
      schema: {
        tags: ['analytics'],
        summary: 'End a session: duration, bounce, exit page (seed 000)',
        body: s.sessionEndBody,
        response: { 200: s.sessionResponse, ...errorResponses },
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const row = await deps.repo.endSession(
        ctx.tenantId,
        request.body.session_id,
        when('ended_at', request.body.ended_at, deps.clock()),
        request.body.exit_page_url ?? null,
      );
      if (!row) throw notFound('SESSION_NOT_FOUND', 'Session');
      return toSession(row);
    },
  );

  r.post(
    '/api/v1/analytics/page-view',
    {
      schema: {
        tags: ['analytics'],
        summary: 'A page view starts (seed 000); idempotent on page_view_id',
        body: s.pageViewBody,
        response: { 201: s.pageViewResponse, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const at = when('viewed_at', b.viewed_at, deps.clock());
      // Events may arrive before session/start (or without it): the session is created bare and filled in later.
      await deps.repo.ensureSession(ctx.tenantId, b.session_id, at, b.user_id ?? null);
      const pageViewId = b.page_view_id ?? newId();
      await deps.repo.pageView(ctx.tenantId, {
        pageViewId,
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        pageUrl: b.page_url,
        pagePath: pathOf(b.page_url),
        pageType: b.page_type ?? b.type ?? null,
        pageTitle: b.page_title ?? null,
        productId: b.product_id ?? null,
        referrer: b.referrer ?? null,
        startedAt: at,
      });
      return reply.code(201).send(toPageView((await deps.repo.getPageView(ctx.tenantId, pageViewId))!));
    },
  );

  r.post(
    '/api/v1/analytics/page-view/end',
    {
      schema: {
        tags: ['analytics'],
        summary: 'A page view ends: time on page and scroll depth (seed 000)',
        body: s.pageViewEndBody,
        response: { 200: s.pageViewResponse, ...errorResponses },
      },
      config,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const row = await deps.repo.endPageView(
        ctx.tenantId,
        b.page_view_id,
        when('ended_at', b.ended_at, deps.clock()),
        b.time_on_page_seconds ?? null,
        b.scroll_depth_percent == null ? null : Math.round(b.scroll_depth_percent),
      );
      if (!row) throw notFound('PAGE_VIEW_NOT_FOUND', 'Page view');
      return toPageView(row);
    },
  );

  r.post(
    '/api/v1/analytics/funnel',
    {
      schema: {
        tags: ['analytics'],
        summary: 'A funnel stage reached (browse, view_product, add_to_cart, view_cart, checkout ...)',
        body: s.funnelBody,
        response: { 201: s.funnelResponse, ...errorResponses },
      },
      config,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const at = when('reached_at', b.reached_at, deps.clock());
      await deps.repo.ensureSession(ctx.tenantId, b.session_id, at, b.user_id ?? null);
      const id = await deps.repo.funnel(ctx.tenantId, {
        dedupeKey: b.event_id ? `e:${b.event_id}` : hashKey([b.session_id, b.stage, b.product_id, at.toISOString()]),
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        stage: b.stage,
        productId: b.product_id ?? null,
        metadata: b.metadata ?? null,
        reachedAt: at,
      });
      return reply.code(201).send({ status: 'tracked' as const, funnel_event_id: id });
    },
  );

  r.post(
    '/api/v1/analytics/cart-event',
    {
      schema: {
        tags: ['analytics'],
        summary: 'A cart event (item_added, item_removed, converted ...); adds and removals are also interactions',
        body: s.cartEventBody,
        response: { 201: s.cartEventResponse, ...errorResponses, ...overloadResponses },
      },
      config,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const at = when('occurred_at', b.occurred_at, deps.clock());
      const currency = b.currency?.toUpperCase() ?? null;
      const unitMinor = b.price != null ? toMinorUnits(b.price, currency) : null;
      const valueMinor = b.value_cents != null ? BigInt(b.value_cents) : unitMinor != null ? unitMinor * BigInt(b.quantity ?? 1) : null;
      const dedupeKey = b.event_id ? `e:${b.event_id}` : hashKey([b.session_id, b.type, b.product_id, b.cart_item_id, at.toISOString()]);
      await deps.repo.ensureSession(ctx.tenantId, b.session_id, at, b.user_id ?? null);
      let interactionId: string | null = null;
      const type = CART_INTERACTION[b.type];
      if (type && (b.user_id || b.anonymous_id)) {
        const ids = [
          b.user_id ? { type: 'user_id', value: b.user_id } : null,
          b.anonymous_id ? { type: 'anonymous_id', value: b.anonymous_id } : null,
        ];
        const [out] = await deps.ingest.track(ctx.tenantId, [
          {
            row: {
              eventId: `cart:${dedupeKey}`,
              userId: b.user_id ?? null,
              anonymousId: b.anonymous_id ?? null,
              itemId: b.product_id ?? null,
              type,
              quantity: b.quantity ?? null,
              priceMinor: unitMinor,
              currency,
              sessionId: b.session_id,
              source: 'web',
              metadata: b.cart_item_id ? { cart_item_id: b.cart_item_id } : null,
              occurredAt: at,
            },
            identity: identityInput(ids, 'web', at),
          },
        ]);
        interactionId = out!.interactionId;
      }
      const id = await deps.repo.cartEvent(ctx.tenantId, {
        dedupeKey,
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        eventType: b.type,
        productId: b.product_id ?? null,
        cartItemId: b.cart_item_id ?? null,
        quantity: b.quantity ?? null,
        valueMinor,
        currency,
        interactionId,
        metadata: b.metadata ?? null,
        occurredAt: at,
      });
      return reply.code(201).send({ status: 'tracked' as const, cart_event_id: id, interaction_id: interactionId });
    },
  );
}
