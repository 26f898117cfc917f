import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import type { MartsService } from './marts.service.ts';
import type { QualityService } from './quality.service.ts';
import type { WarehouseService } from './warehouse.service.ts';
import { EXPORT_TABLES } from './warehouse.types.ts';

/** One tenant's incremental export (every table, or those named). */
export const EXPORT_JOB = 'warehouse.export';

export const exportJobPayload = z
  .object({
    tables: z.array(z.enum(EXPORT_TABLES)).min(1).max(EXPORT_TABLES.length).optional(),
    scheduled: z.boolean().optional(),
  })
  .strict();

/**
 * The next scheduled slot after `now`: the next multiple of the interval since the epoch, so every run of a
 * tenant (manual or scheduled) asks for the same slot and the dedupe key keeps one scheduled run per slot.
 */
export function nextSlot(now: Date, intervalMinutes: number): Date {
  const step = intervalMinutes * 60_000;
  return new Date((Math.floor(now.getTime() / step) + 1) * step);
}

/**
 * Registers the export job. It does not book its own next run (a chain a crash between the run and the booking
 * would break, and one per process that ran it): `bookScheduledExports`, a task of the elected scheduler, does.
 */
export function registerWarehouseJobs(jobs: JobQueue, service: WarehouseService): void {
  jobs.register({
    type: EXPORT_JOB,
    payload: exportJobPayload,
    maxAttempts: 3,
    maxRunningPerTenant: 1,
    handle: async (run) => {
      const out = await service.exportTenant(run.tenantId, {
        ...(run.payload.tables ? { tables: run.payload.tables } : {}),
        signal: run.signal,
        countPending: true,
        onProgress: (p) => void run.progress({ table: p.table, rows_done: p.rowsDone, rows_total: p.rowsTotal, files: p.files }),
      });
      return { until: out.until, tables: out.tables };
    },
  });
}

/**
 * Books the next scheduled export of every tenant that has exported at least once (the schedule starts with a
 * tenant's first run): one job per tenant per slot, however many processes book it (the slot is in the dedupe key).
 * Run by the platform scheduler every interval and when a process becomes the scheduler; returns the tenants booked.
 */
export const bookScheduledExports = (jobs: JobQueue, tenantIds: readonly string[], opts: { intervalMinutes: number; now: Date }) =>
  bookSlot(jobs, tenantIds, EXPORT_JOB, { scheduled: true }, opts);

/** One job of `type` per tenant for the next slot of the interval; the slot in the dedupe key makes a second booking a no-op. */
async function bookSlot(
  jobs: JobQueue,
  tenantIds: readonly string[],
  type: string,
  payload: Record<string, unknown>,
  opts: { intervalMinutes: number; now: Date },
): Promise<number> {
  const runAt = nextSlot(opts.now, opts.intervalMinutes);
  for (const tenantId of tenantIds)
    await jobs.enqueue(tenantId, type, payload, { runAt, dedupeKey: `${type}:slot:${runAt.toISOString()}` });
  return tenantIds.length;
}

/** One tenant's mart refresh followed by its data-quality run. */
export const MARTS_JOB = 'warehouse.marts';

export const martsJobPayload = z.object({ trigger: z.enum(['import', 'schedule', 'manual']) }).strict();

/** Registers the marts job: refresh, then run the expectations (they read the fresh marts). */
export function registerMartsJobs(jobs: JobQueue, deps: { marts: MartsService; quality: QualityService }): void {
  jobs.register({
    type: MARTS_JOB,
    payload: martsJobPayload,
    maxAttempts: 3,
    maxRunningPerTenant: 1,
    handle: async (run) => {
      await run.progress({ step: 'refresh' }, true);
      // A scheduled run refreshes only when the owners' rows changed (or the day did), and then, like the run after
      // an import, rewrites only the changed customers; a manual run rebuilds everything. The checks run either way
      // (freshness moves with the clock).
      const refreshed =
        run.payload.trigger === 'schedule'
          ? await deps.marts.refreshIfChanged(run.tenantId)
          : run.payload.trigger === 'import'
            ? await deps.marts.refreshIncremental(run.tenantId)
            : await deps.marts.refresh(run.tenantId);
      await run.progress({ step: 'quality', rows: refreshed?.rowCounts ?? null }, true);
      const checked = await deps.quality.run(run.tenantId, run.payload.trigger);
      return {
        refresh_id: refreshed?.id ?? null,
        skipped: refreshed === null,
        mode: refreshed?.mode ?? null,
        changed_customers: refreshed?.changedCustomers ?? null,
        rows: refreshed?.rowCounts ?? null,
        duration_ms: refreshed?.durationMs ?? null,
        quality_run_id: checked.runId,
        failed_checks: checked.results.filter((r) => r.status === 'fail').map((r) => r.name),
      };
    },
  });
}

/**
 * Books the next scheduled marts run of every tenant whose marts were ever refreshed (the schedule starts with a
 * tenant's first refresh or import): one job per tenant per slot, whatever the number of processes booking it (the
 * slot is in the dedupe key). Run by the platform scheduler every interval and when a process becomes the scheduler;
 * returns the tenants booked.
 */
export const bookScheduledMarts = (jobs: JobQueue, tenantIds: readonly string[], opts: { intervalMinutes: number; now: Date }) =>
  bookSlot(jobs, tenantIds, MARTS_JOB, { trigger: 'schedule' }, opts);
