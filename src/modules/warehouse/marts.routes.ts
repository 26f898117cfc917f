import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, type JobQueue, jobSchema, requirePermission, tenantContext, toJob } from '../../platform/index.ts';
import { MART_SPECS } from './marts.core.ts';
import * as s from './marts.schemas.ts';
import type { MartRun } from './marts.repository.ts';
import type { MartsService } from './marts.service.ts';
import { EXPECTATIONS } from './quality.core.ts';
import type { QualityService } from './quality.service.ts';
import { MARTS_JOB } from './warehouse.jobs.ts';

const refreshOf = (r: MartRun | null) =>
  r ? { id: r.id, as_of: iso(r.asOf)!, duration_ms: r.durationMs, refreshed_at: iso(r.createdAt)! } : null;

/** The marts (list, pages, CSV, a refresh now) and the data-quality results. */
export async function martsRoutes(
  app: FastifyInstance,
  deps: { marts: MartsService; quality: QualityService; jobs: JobQueue },
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/warehouse/marts',
    {
      schema: {
        tags: ['warehouse'],
        summary:
          'The marts (fact_orders, dim_products, dim_customers, rfm_analysis, cohort_analysis): documented columns, rows, last refresh',
        response: { 200: s.martsListResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const out = await deps.marts.list(tenantContext(request));
      return {
        last_refresh: refreshOf(out.lastRun),
        marts: out.marts.map((m) => ({
          name: m.name,
          description: m.spec.description,
          key: [...m.spec.key],
          rows: m.rows,
          columns: [...m.spec.columns],
        })),
      };
    },
  );

  r.get(
    '/api/v1/warehouse/marts/:name',
    {
      schema: {
        tags: ['warehouse'],
        summary: "A mart's rows in key order, by pages (`cursor`), or as CSV (`format=csv`)",
        params: s.martParams,
        querystring: s.martQuery,
        response: { 200: z.union([s.martPageResponse, z.string()]), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const { name } = request.params;
      const { limit, cursor, format } = request.query;
      if (format === 'csv') {
        const out = await deps.marts.csv(ctx, name, { cursor });
        if (out.truncated && out.nextCursor) reply.header('x-next-cursor', out.nextCursor);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.csv"`)
          .header('x-row-count', String(out.rows))
          .send(out.body);
      }
      const page = await deps.marts.page(ctx, name, { limit, cursor });
      return {
        name,
        last_refresh: refreshOf(page.lastRun),
        columns: [...MART_SPECS[name].columns],
        data: page.data as Array<Record<string, string | number | boolean | null | string[]>>,
        next_cursor: page.nextCursor,
      };
    },
  );

  r.post(
    '/api/v1/warehouse/marts/refresh',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'Refresh the marts now, then run the data-quality checks (a job: follow it at /api/v1/jobs/:id)',
        response: { 202: jobSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:manage' }, audit: { action: 'warehouse.marts_refresh', resourceType: 'job' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      requirePermission(ctx, 'jobs:manage');
      const job = await deps.jobs.enqueue(ctx.tenantId, MARTS_JOB, { trigger: 'manual' }, { dedupeKey: `${MARTS_JOB}:now` });
      request.auditTarget = { resourceId: job.id };
      return reply.code(202).send(toJob(job));
    },
  );

  r.get(
    '/api/v1/warehouse/quality',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'Data-quality results: the latest run (or `run_id`) with failing checks first, recent runs, the expectations',
        querystring: s.qualityQuery,
        response: { 200: s.qualityResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const [latest, history] = await Promise.all([
        deps.quality.latest(ctx, request.query.run_id),
        request.query.history ? deps.quality.history(ctx, request.query.history) : Promise.resolve([]),
      ]);
      return {
        latest: latest && {
          run_id: latest.runId,
          ran_at: iso(latest.ranAt)!,
          trigger: latest.trigger,
          results: latest.results.map((x) => ({
            check: x.name,
            table: x.table,
            kind: x.kind,
            status: x.status,
            observed: x.observed,
            threshold: x.threshold,
            examples: x.examples,
            message: x.message,
          })),
        },
        history: history.map((h) => ({
          run_id: h.runId,
          ran_at: iso(h.ranAt)!,
          trigger: h.trigger,
          passed: h.passed,
          failed: h.failed,
          skipped: h.skipped,
        })),
        expectations: EXPECTATIONS.map((x) => ({
          check: x.name,
          table: x.table,
          kind: x.kind,
          description: x.description,
          threshold: x.threshold,
        })),
      };
    },
  );
}
