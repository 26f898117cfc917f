import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, errorResponses, iso, isUuid, tenantContext } from '../../platform/index.ts';
import type { FeedJobEventRow, FeedJobRow } from './feeds.repository.ts';
import type { FeedPushService } from './feeds.push.service.ts';
import { feedItemIssues, feedJob, feedJobList } from './feeds.schemas.ts';

const ts = (d: Date | string): string => new Date(d).toISOString();
const NIL = '00000000-0000-0000-0000-000000000000';
const idOf = (id: string) => (isUuid(id) ? id : NIL);

const toJob = (j: FeedJobRow, events: FeedJobEventRow[]): z.infer<typeof feedJob> => ({
  id: j.id,
  status: j.status,
  trigger: j.trigger,
  attempts: j.attempts,
  max_attempts: j.maxAttempts,
  summary: j.summary,
  last_error: j.lastError,
  created_at: ts(j.createdAt),
  updated_at: ts(j.updatedAt),
  started_at: iso(j.startedAt),
  finished_at: iso(j.finishedAt),
  history: events
    .filter((e) => e.jobId === j.id)
    .map((e) => ({
      from_status: e.fromStatus,
      to_status: e.toStatus,
      reason: e.reason,
      actor_type: e.actorType,
      actor_id: e.actorId,
      created_at: ts(e.createdAt),
    })),
});

/** Seed 004's feed push calls and feed jobs. */
export async function feedPushRoutes(app: FastifyInstance, deps: { push: FeedPushService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.push;
  const pushRoute = (url: string, trigger: 'api' | 'google', summary: string, params?: z.ZodType) =>
    r.post(
      url,
      {
        schema: {
          tags: ['visibility'],
          summary,
          ...(params ? { params } : {}),
          response: { 202: feedJob, ...errorResponses },
        },
        config: {
          auth: { kind: 'tenant', permission: 'catalog:write' },
          audit: { action: 'feed.push', resourceType: 'feed_push_job' },
          ...(trigger === 'google' ? { rateGroup: 'admin' as const } : {}),
        },
      },
      async (request, reply) => {
        const ctx = tenantContext(request);
        const job = await svc.push(ctx, trigger);
        request.auditTarget = { resourceId: job.id };
        return reply.code(202).send(toJob(job, await svc.events(ctx, [job.id])));
      },
    );
  pushRoute(
    '/api/v1/tenants/:tenantId/feed/push',
    'api',
    'Queue a push of the catalog to Google Merchant Center (only changed items are written)',
    z.object({ tenantId: z.string().max(100) }).strict(),
  );
  pushRoute('/google/feeds/push', 'google', "Queue a push of the caller's catalog to Google Merchant Center");

  r.get(
    '/api/feed-jobs',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Feed push jobs, newest first, with their status history',
        querystring: z
          .object({
            status: z.enum(['queued', 'processing', 'success', 'failed', 'retried']).optional(),
            cursor: z.string().max(100).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          })
          .strict(),
        response: { 200: feedJobList, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const q = request.query;
      const rows = await svc.list(ctx, { status: q.status, before: q.cursor ? idOf(q.cursor) : undefined, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      const events = await svc.events(
        ctx,
        page.map((j) => j.id),
      );
      return { data: page.map((j) => toJob(j, events)), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },
  );

  r.get(
    '/api/feed-jobs/:id',
    {
      schema: {
        tags: ['visibility'],
        summary: 'One feed push job with its status history',
        params: z.object({ id: z.string().max(100) }).strict(),
        response: { 200: feedJob, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const job = await svc.get(ctx, idOf(request.params.id));
      return toJob(job, await svc.events(ctx, [job.id]));
    },
  );

  r.patch(
    '/api/feed-jobs/:id/status',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Retry a failed feed job (status retried) or give up on a waiting one (status failed)',
        params: z.object({ id: z.string().max(100) }).strict(),
        body: z.object({ status: z.enum(['retried', 'failed']), reason: z.string().max(500).optional() }).strict(),
        response: { 200: feedJob, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:manage' }, audit: { action: 'feed.job.status', resourceType: 'feed_push_job' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const job = await svc.setStatus(ctx, idOf(request.params.id), request.body.status, request.body.reason ?? null);
      request.auditTarget = { resourceId: job.id, details: { status: job.status } };
      return toJob(job, await svc.events(ctx, [job.id]));
    },
  );

  r.get(
    '/api/feed-jobs/items/issues',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Items with issues from the precheck or from Google, newest first (optionally of one job)',
        querystring: z
          .object({ job_id: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) })
          .strict(),
        response: { 200: feedItemIssues, 503: errorBody, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:read' } },
    },
    async (request) => {
      const rows = await svc.itemIssues(tenantContext(request), {
        jobId: request.query.job_id ? idOf(request.query.job_id) : undefined,
        limit: request.query.limit,
      });
      return {
        data: rows.map((x) => ({
          item_id: x.itemId,
          status: x.status,
          issues: x.issues,
          last_job_id: x.lastJobId,
          updated_at: ts(x.updatedAt),
        })),
      };
    },
  );
}
