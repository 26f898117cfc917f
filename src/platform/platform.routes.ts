import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tenantContext } from './auth.hook.ts';
import { AUDIT_SORTS, type AuditRepository, type AuditRow } from './audit.repository.ts';
import { type Database, pingDatabase } from './database.ts';
import { AppError, notFound } from './errors.ts';
import { isUuid } from './ids.ts';
import type { JobQueue, JobRecord } from './jobs.queue.ts';
import type { Metrics } from './metrics.ts';
import { iso, paginate } from './pagination.ts';
import { errorResponses, jobSchema } from './schemas.ts';

export interface PlatformRouteDeps {
  database: Database;
  metrics: Metrics;
  audit: AuditRepository;
  jobs: JobQueue;
}

/** Offset paging of the audit log stops here: deeper pages scan too much; filters narrow instead. */
const AUDIT_OFFSET_MAX = 10_000;
const auditQuery = z
  .object({
    action: z.string().max(100).optional().describe('exact action, or a prefix ending in * (e.g. api_key.*)'),
    actor_id: z.string().max(100).optional(),
    resource_type: z.string().max(100).optional(),
    resource_id: z.string().max(200).optional(),
    outcome: z.enum(['success', 'failure']).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.uuid().optional().describe('Keyset paging, newest first only (no `sort`, no `offset`)'),
    sort: z.enum(AUDIT_SORTS).optional().describe('A column, `-` first for descending; ties fall back to newest first'),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(AUDIT_OFFSET_MAX)
      .optional()
      .describe(`Rows to skip for page-numbered tables (at most ${AUDIT_OFFSET_MAX}; past that, narrow the filters)`),
  })
  .strict()
  .refine((q) => !(q.cursor && (q.sort || q.offset !== undefined)), {
    message: 'cursor pages newest first: use offset with sort',
    path: ['cursor'],
  });

const auditEntry = z.object({
  id: z.string(),
  tenant_id: z.string(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  action: z.string(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  outcome: z.string(),
  status_code: z.number().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  request_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
});
const auditPage = z.object({
  data: z.array(auditEntry),
  next_cursor: z.string().nullable(),
  total: z.number().int().describe('Entries matching the filters (all pages)'),
});

const toAudit = (r: AuditRow) => ({
  id: r.id,
  tenant_id: r.tenantId,
  actor_type: r.actorType,
  actor_id: r.actorId,
  action: r.action,
  resource_type: r.resourceType,
  resource_id: r.resourceId,
  outcome: r.outcome,
  status_code: r.statusCode,
  ip: r.ip,
  user_agent: r.userAgent,
  request_id: r.requestId,
  details: r.details,
  created_at: iso(r.createdAt)!,
});

export const toJob = (j: JobRecord): z.infer<typeof jobSchema> => ({
  id: j.id,
  type: j.type,
  status: j.status,
  attempts: j.attempts,
  max_attempts: j.maxAttempts,
  progress: j.progress,
  result: j.result,
  error: j.lastError,
  cancel_requested: j.cancelRequested,
  created_at: iso(j.createdAt)!,
  started_at: iso(j.startedAt),
  finished_at: iso(j.finishedAt),
  updated_at: iso(j.updatedAt)!,
});

/** Health, metrics, audit log and job routes: the platform's own HTTP surface. */
export async function platformRoutes(app: FastifyInstance, deps: PlatformRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/health/live', { schema: { hide: true }, config: { auth: { kind: 'public' } } }, async () => ({ status: 'ok' }));
  r.get('/health/ready', { schema: { hide: true }, config: { auth: { kind: 'public' } } }, async (_req, reply) => {
    try {
      await pingDatabase(deps.database);
      return { status: 'ok', database: deps.database.kind };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: deps.database.kind });
    }
  });
  r.get('/metrics', { schema: { hide: true }, config: { auth: { kind: 'public' } } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  const listAudit = async (tenantId: string, q: z.infer<typeof auditQuery>) => {
    const filter = {
      action: q.action,
      actorId: q.actor_id,
      resourceType: q.resource_type,
      resourceId: q.resource_id,
      outcome: q.outcome,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    };
    const [rows, total] = await Promise.all([
      deps.audit.list(tenantId, { ...filter, cursor: q.cursor, sort: q.sort, offset: q.offset, limit: q.limit + 1 }),
      deps.audit.count(tenantId, filter),
    ]);
    const page = paginate(rows.map(toAudit), q.limit, (e) => e.id);
    // Offset pages (a sorted table) move by offset; the cursor is for newest-first keyset paging only.
    const keyset = !q.sort && q.offset === undefined;
    return { ...page, next_cursor: keyset ? page.next_cursor : null, total };
  };

  r.get(
    '/api/v1/audit/logs',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log of the tenant with a total: newest first by cursor, or sorted offset pages',
        querystring: auditQuery,
        response: { 200: auditPage, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'audit:read' } },
    },
    async (request) => listAudit(tenantContext(request).tenantId, request.query),
  );
  r.get(
    '/audit/:tenantId/logs',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log of a tenant (seed 004 path)',
        params: z.object({ tenantId: z.string() }),
        querystring: auditQuery,
        response: { 200: auditPage, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'audit:read' } },
    },
    async (request) => listAudit(tenantContext(request).tenantId, request.query),
  );

  const jobParams = z.object({ id: z.string() });
  r.get(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Background jobs of the tenant',
        querystring: z
          .object({
            type: z.string().max(100).optional(),
            status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
            cursor: z.uuid().optional(),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(jobSchema), next_cursor: z.string().nullable() }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:read' } },
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.jobs.list(tenantContext(request).tenantId, {
        type: q.type,
        status: q.status,
        cursor: q.cursor,
        limit: q.limit + 1,
      });
      return paginate(rows.map(toJob), q.limit, (j) => j.id);
    },
  );
  r.get(
    '/api/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'One job with its live progress',
        params: jobParams,
        response: { 200: jobSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:read' } },
    },
    async (request) => {
      const job = isUuid(request.params.id) ? await deps.jobs.get(tenantContext(request).tenantId, request.params.id) : undefined;
      if (!job) throw notFound('JOB_NOT_FOUND', 'Job');
      return toJob(job);
    },
  );
  r.post(
    '/api/v1/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a queued or running job',
        params: jobParams,
        response: { 200: jobSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:manage' }, audit: { action: 'job.cancel', resourceType: 'job' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const existing = isUuid(request.params.id) ? await deps.jobs.get(ctx.tenantId, request.params.id) : undefined;
      if (!existing) throw notFound('JOB_NOT_FOUND', 'Job');
      if (['succeeded', 'failed', 'cancelled'].includes(existing.status)) {
        throw new AppError('conflict', 'JOB_ALREADY_FINISHED', `The job has already finished (${existing.status}).`);
      }
      const job = await deps.jobs.cancel(ctx.tenantId, existing.id);
      return toJob(job!);
    },
  );
}
