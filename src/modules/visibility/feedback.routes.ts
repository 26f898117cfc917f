import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, notFound, tenantContext } from '../../platform/index.ts';
import { themesOf } from './feedback.core.ts';
import type { FeedbackService } from './feedback.service.ts';
import { toCsv, toPrometheus } from './metrics.core.ts';

const days = z.coerce.number().int().min(1).max(366).default(30);
export const feedbackSummary = z.object({
  responses: z.number(),
  average_rating: z.number().nullable(),
  satisfaction: z.number().nullable(),
  nps: z.number().nullable(),
  nps_responses: z.number(),
  trend: z.array(z.object({ date: z.string(), responses: z.number(), average_rating: z.number(), satisfaction: z.number() })),
  top_themes: z.array(z.object({ theme: z.string(), count: z.number() })),
});
const DASHBOARDS: Record<string, { title: string; metrics: string[] }> = {
  visibility: {
    title: 'Visibility',
    metrics: ['feed_push_success_ratio', 'feed_push_jobs', 'category_mapping_coverage_ratio', 'catalog_items_active'],
  },
  feedback: { title: 'Feedback', metrics: ['feedback_responses', 'feedback_satisfaction_ratio', 'feedback_nps'] },
};

/** Seed 004's feedback and metrics calls. */
export async function feedbackRoutes(app: FastifyInstance, deps: { feedback: FeedbackService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.feedback;

  r.post(
    '/api/feedback',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Leave feedback: a rating (1-5), an optional NPS answer (0-10), a comment and its context',
        body: z
          .object({
            source: z.enum(['merchant', 'shopper']).default('merchant'),
            rating: z.number().int().min(1).max(5),
            nps_score: z.number().int().min(0).max(10).optional(),
            comment: z.string().max(5000).optional(),
            context: z
              .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/), z.string().max(200))
              .refine((o) => Object.keys(o).length <= 20, 'at most 20 context keys')
              .optional(),
          })
          .strict(),
        response: { 201: z.object({ id: z.string(), themes: z.array(z.string()), created_at: z.string() }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'interactions:write' } },
    },
    async (request, reply) => {
      const b = request.body;
      const row = await svc.submit(tenantContext(request), {
        source: b.source,
        rating: b.rating,
        npsScore: b.nps_score ?? null,
        comment: b.comment ?? null,
        context: b.context ?? {},
      });
      return reply.code(201).send({ id: row.id, themes: themesOf(b.comment), created_at: new Date(row.createdAt).toISOString() });
    },
  );

  r.get(
    '/api/feedback/analytics/summary',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Feedback analytics: satisfaction, NPS, daily trend and top themes over the last N days',
        querystring: z.object({ days, source: z.enum(['merchant', 'shopper']).optional() }).strict(),
        response: { 200: feedbackSummary, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const s = await svc.summary(tenantContext(request), request.query);
      return {
        responses: s.responses,
        average_rating: s.averageRating,
        satisfaction: s.satisfaction,
        nps: s.nps,
        nps_responses: s.npsResponses,
        trend: s.trend.map((d) => ({
          date: d.date,
          responses: d.responses,
          average_rating: d.averageRating,
          satisfaction: d.satisfaction,
        })),
        top_themes: s.topThemes,
      };
    },
  );

  r.get(
    '/api/feedback/pilot/kpis',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Pilot KPIs: feedback satisfaction and NPS, feed push success, category mapping coverage, business profile score',
        querystring: z.object({ days, pilot: z.string().max(100).optional() }).strict(),
        response: {
          200: z.object({
            responses: z.number(),
            satisfaction: z.number().nullable(),
            nps: z.number().nullable(),
            feed_push_jobs: z.number(),
            feed_push_success_rate: z.number().nullable(),
            category_mapping_coverage: z.number().nullable(),
            business_profile_score: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const k = await svc.pilotKpis(tenantContext(request), request.query);
      return {
        responses: k.responses,
        satisfaction: k.satisfaction,
        nps: k.nps,
        feed_push_jobs: k.feedPushJobs,
        feed_push_success_rate: k.feedPushSuccessRate,
        category_mapping_coverage: k.categoryMappingCoverage,
        business_profile_score: k.businessProfileScore,
      };
    },
  );

  r.post(
    '/metrics/export',
    {
      schema: {
        tags: ['visibility'],
        summary: "Export the tenant's operational metrics as CSV or Prometheus text",
        body: z.object({ format: z.enum(['csv', 'prometheus']).default('csv'), days }).strict(),
        response: { 200: z.string(), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const samples = await svc.metrics(ctx, request.body.days);
      if (request.body.format === 'prometheus')
        return reply.type('text/plain; version=0.0.4; charset=utf-8').send(toPrometheus(samples, ctx.tenantId));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="loupe-metrics.csv"')
        .send(toCsv(samples));
    },
  );

  r.get(
    '/metrics/dashboard/:dashboardId',
    {
      schema: {
        tags: ['visibility'],
        summary: 'A named metrics dashboard (visibility, feedback): its metrics with current values',
        params: z.object({ dashboardId: z.string().max(100) }).strict(),
        querystring: z.object({ days }).strict(),
        response: {
          200: z.object({
            id: z.string(),
            title: z.string(),
            metrics: z.array(
              z.object({ name: z.string(), help: z.string(), value: z.number().nullable(), labels: z.record(z.string(), z.string()) }),
            ),
          }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const d = Object.hasOwn(DASHBOARDS, request.params.dashboardId) ? DASHBOARDS[request.params.dashboardId] : undefined;
      if (!d) throw notFound('METRICS_DASHBOARD_NOT_FOUND', 'The dashboard');
      const samples = await svc.metrics(tenantContext(request), request.query.days);
      return {
        id: request.params.dashboardId,
        title: d.title,
        metrics: samples
          .filter((s) => d.metrics.includes(s.name))
          .map((s) => ({ name: s.name, help: s.help, value: s.value, labels: s.labels ?? {} })),
      };
    },
  );
}
