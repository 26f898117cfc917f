import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { type TenantContext, errorResponses, tenantContext } from '../../platform/index.ts';
import * as s from './analytics.schemas.ts';
import type { AnalyticsService } from './analytics.service.ts';
import type { KpisService } from './kpis.service.ts';
import type { ItemSalesService } from './item-sales.service.ts';
import * as b from './behaviour.schemas.ts';
import type { BehaviourService } from './behaviour.service.ts';

/** Seed 000's eight reports under /api/v1/analytics (read-only, `analytics:read`). */
export async function analyticsRoutes(
  app: FastifyInstance,
  deps: { analytics: AnalyticsService; kpis: KpisService; behaviour: BehaviourService; itemSales: ItemSalesService },
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'analytics:read' } } as const;
  const a = deps.analytics;

  /** One read-only report: GET /api/v1/analytics<path>, its query and response schemas (OpenAPI), `analytics:read`. */
  const report = <Q extends z.ZodType, R extends z.ZodType>(
    path: string,
    summary: string,
    querystring: Q,
    response: R,
    handler: (ctx: TenantContext, q: z.infer<Q>) => Promise<z.infer<R>>,
  ) =>
    r.get(
      `/api/v1/analytics${path}`,
      { schema: { tags: ['analytics'], summary, querystring, response: { 200: response, ...errorResponses } }, config },
      // The type provider cannot resolve a generic schema's reply type; `handler`'s signature checks each report's.
      (async (request: FastifyRequest) => handler(tenantContext(request), request.query as z.infer<Q>)) as never,
    );

  report(
    '/sessions',
    'Session stats over time: sessions, users, bounce rate, duration, conversion; breakdown; newest sessions',
    s.sessionsQuery,
    s.sessionsResponse,
    (ctx, q) => a.sessions(ctx, q),
  );
  report(
    '/page-views',
    'Page views over time: views, sessions, time on page, scroll depth; breakdown by page type or session attribute',
    s.pageViewsQuery,
    s.pageViewsResponse,
    (ctx, q) => a.pageViews(ctx, q),
  );
  report(
    '/top-pages',
    'The most viewed pages (path, else URL), the rest summed as "other"',
    s.topPagesQuery,
    s.topPagesResponse,
    (ctx, q) => a.topPages(ctx, q),
  );
  report(
    '/funnel',
    'Funnel (default browse, view_product, add_to_cart, view_cart, checkout) by session or person: ordered, strict or any order, exclusions, breakdown',
    s.funnelQuery,
    s.funnelResponse,
    (ctx, q) => a.funnel(ctx, q),
  );
  report(
    '/cart',
    'Cart abandonment over time: carts, converted and abandoned carts, items, revenue',
    s.cartQuery,
    s.cartResponse,
    (ctx, q) => a.cart(ctx, q),
  );
  report(
    '/cart/top-products',
    'Products most added to carts: adds, removals, adds that converted or were abandoned',
    s.cartProductsQuery,
    s.cartProductsResponse,
    (ctx, q) => a.cartProducts(ctx, q),
  );
  report('/realtime', 'Active sessions and events in the last 5 minutes', s.realtimeQuery, s.realtimeResponse, (ctx) => a.realtime(ctx));
  report(
    '/kpis',
    'Commerce KPIs over time with the previous period: revenue, orders, AOV, conversion, new vs returning, repeat rate',
    s.kpisQuery,
    s.kpisResponse,
    (ctx, q) => deps.kpis.kpis(ctx, q),
  );
  report(
    '/retention',
    'Retention: cohorts by first start event, returns per day/week/month ("on" or "on or after"), by person',
    b.retentionQuery,
    b.retentionResponse,
    (ctx, q) => deps.behaviour.retention(ctx, q),
  );
  report(
    '/paths',
    'Paths: the most common next or previous pages or events from a chosen one, step by step, per session',
    b.pathsQuery,
    b.pathsResponse,
    (ctx, q) => deps.behaviour.paths(ctx, q),
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
  r.get(
    '/api/v1/analytics/items/:itemId/sales',
    {
      schema: {
        tags: ['analytics'],
        summary: "One item's sales over the period: units, revenue, refunds, orders, buyers and views, with a series",
        params: s.itemSalesParams,
        querystring: s.itemSalesQuery,
        response: { 200: s.itemSalesResponse, ...errorResponses },
      },
      config,
    },
    async (request) => deps.itemSales.itemSales(tenantContext(request), request.params.itemId, request.query),
  );
}
