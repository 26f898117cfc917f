import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import { overloadResponses } from './interactions.schemas.ts';
import type { PageViewRow, SessionRow } from './tracking.repository.ts';
import * as s from './tracking.schemas.ts';
import type { TrackingService } from './tracking.service.ts';

export interface TrackingRouteDeps {
  tracking: TrackingService;
  /** The trusted proxy's country header (config `trustedCountryHeader`); undefined: no header is read. */
  countryHeader?: string | undefined;
}

const toSession = (r: SessionRow) => ({
  session_id: r.sessionId,
  user_id: r.userId,
  device_type: r.deviceType,
  browser: r.browser,
  os: r.os,
  country: r.country,
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

/** Seed 000's tracking calls: sessions, page views (time on page, scroll depth), funnel stages and cart events. */
export async function trackingRoutes(app: FastifyInstance, deps: TrackingRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'interactions:write', publishable: true }, rateGroup: 'ingest' } as const;
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
      const proxied = deps.countryHeader ? request.headers[deps.countryHeader] : undefined;
      const row = await deps.tracking.startSession(tenantContext(request), request.body, request.headers['user-agent'], {
        country: typeof proxied === 'string' ? proxied : undefined,
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
    async (request) => toSession(await deps.tracking.endSession(tenantContext(request), request.body)),
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
    async (request, reply) => reply.code(201).send(toPageView(await deps.tracking.pageView(tenantContext(request), request.body))),
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
    async (request) => toPageView(await deps.tracking.endPageView(tenantContext(request), request.body)),
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
      const id = await deps.tracking.funnel(tenantContext(request), request.body);
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
      const out = await deps.tracking.cartEvent(tenantContext(request), request.body);
      return reply.code(201).send({ status: 'tracked' as const, cart_event_id: out.cartEventId, interaction_id: out.interactionId });
    },
  );
}
