import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, tenantContext } from '../../platform/index.ts';
import * as s from './analytics.schemas.ts';
import type { AnalyticsService } from './analytics.service.ts';
import type { KpisService } from './kpis.service.ts';
import * as b from './behaviour.schemas.ts';
import type { BehaviourService } from './behaviour.service.ts';

/** Seed 000's eight reports under /api/v1/analytics (read-only, `analytics:read`). */
export async function analyticsRoutes(
  app: FastifyInstance,
  deps: { analytics: AnalyticsService; kpis: KpisService; behaviour: BehaviourService },
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'analytics:read' } } as const;
  const a = deps.analytics;

  r.get(
    '/api/v1/analytics/sessions',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Session stats over time: sessions, users, bounce rate, duration, conversion; breakdown; newest sessions',
        querystring: s.sessionsQuery,
        response: { 200: s.sessionsResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.sessions(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/page-views',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Page views over time: views, sessions, time on page, scroll depth; breakdown by page type or session attribute',
        querystring: s.pageViewsQuery,
        response: { 200: s.pageViewsResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.pageViews(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/top-pages',
    {
      schema: {
        tags: ['analytics'],
        summary: 'The most viewed pages (path, else URL), the rest summed as "other"',
        querystring: s.topPagesQuery,
        response: { 200: s.topPagesResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.topPages(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/funnel',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Ordered funnel (default browse, view_product, add_to_cart, view_cart, checkout) by session or by person',
        querystring: s.funnelQuery,
        response: { 200: s.funnelResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.funnel(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/cart',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Cart abandonment over time: carts, converted and abandoned carts, items, revenue',
        querystring: s.cartQuery,
        response: { 200: s.cartResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.cart(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/cart/top-products',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Products most added to carts: adds, removals, adds that converted or were abandoned',
        querystring: s.cartProductsQuery,
        response: { 200: s.cartProductsResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.cartProducts(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/realtime',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Active sessions and events in the last 5 minutes',
        querystring: s.realtimeQuery,
        response: { 200: s.realtimeResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.realtime(tenantContext(request)),
  );
  r.get(
    '/api/v1/analytics/kpis',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Commerce KPIs over time with the previous period: revenue, orders, AOV, conversion, new vs returning, repeat rate',
        querystring: s.kpisQuery,
        response: { 200: s.kpisResponse, ...errorResponses },
      },
      config,
    },
    async (request) => deps.kpis.kpis(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/retention',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Retention: cohorts by first start event, returns per day/week/month ("on" or "on or after"), by person',
        querystring: b.retentionQuery,
        response: { 200: b.retentionResponse, ...errorResponses },
      },
      config,
    },
    async (request) => deps.behaviour.retention(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/paths',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Paths: the most common next or previous pages or events from a chosen one, step by step, per session',
        querystring: b.pathsQuery,
        response: { 200: b.pathsResponse, ...errorResponses },
      },
      config,
    },
    async (request) => deps.behaviour.paths(tenantContext(request), request.query),
  );
  r.get(
    '/api/v1/analytics/session/:sessionId',
    {
      schema: {
        tags: ['analytics'],
        summary: "One session's pages, funnel stages and cart events in order",
        params: s.sessionParams,
        response: { 200: s.sessionTimelineResponse, ...errorResponses },
      },
      config,
    },
    async (request) => a.session(tenantContext(request), request.params.sessionId),
  );
}
