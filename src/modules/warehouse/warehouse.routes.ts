import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, iso, type JobQueue, jobSchema, requirePermission, tenantContext, toJob } from '../../platform/index.ts';
import { EXPORT_JOB } from './warehouse.jobs.ts';
import * as s from './warehouse.schemas.ts';
import type { WarehouseService } from './warehouse.service.ts';

/** The warehouse export: status (watermarks, recent files), a run now (a job), the manifest. */
export async function warehouseRoutes(
  app: FastifyInstance,
  deps: { service: WarehouseService; jobs: JobQueue; intervalMinutes: number },
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/warehouse/exports',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'Export status: per table the watermark, rows exported and last error; the most recent Parquet files',
        response: { 200: s.exportStatusResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const st = await deps.service.status(ctx);
      return {
        interval_minutes: deps.intervalMinutes,
        watermarks: st.watermarks.map((w) => ({
          table: w.table,
          key_ts: w.keyTs,
          key_id: w.keyId,
          batches: w.batches,
          rows_exported: w.rowsExported,
          last_error: w.lastError,
          last_run_at: iso(w.lastRunAt),
        })),
        files: st.files.map((f) => ({
          table: f.table,
          seq: f.seq,
          partition_date: f.partitionDate,
          path: f.path,
          row_count: f.rowCount,
          bytes: f.bytes,
          sha256: f.sha256,
          created_at: iso(f.createdAt)!,
        })),
      };
    },
  );

  r.post(
    '/api/v1/warehouse/exports',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'Export new rows now (a job: follow it at /api/v1/jobs/:id); the schedule then runs every LOUPE_EXPORT_INTERVAL_MINUTES',
        body: s.startExportBody,
        response: { 202: jobSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'jobs:manage' }, audit: { action: 'warehouse.export', resourceType: 'job' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      requirePermission(ctx, 'jobs:manage');
      const tables = request.body?.tables;
      const job = await deps.jobs.enqueue(ctx.tenantId, EXPORT_JOB, tables ? { tables } : {}, { dedupeKey: `${EXPORT_JOB}:now` });
      request.auditTarget = { resourceId: job.id };
      return reply.code(202).send(toJob(job));
    },
  );

  r.get(
    '/api/v1/warehouse/manifest',
    {
      schema: {
        tags: ['warehouse'],
        summary: "The tenant's warehouse manifest: per table its load mode, documented columns, watermark and committed files",
        response: { 200: s.manifestResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => deps.service.manifest(tenantContext(request)) as never,
  );
}
