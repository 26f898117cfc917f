import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
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

export function registerWarehouseJobs(
  jobs: JobQueue,
  service: WarehouseService,
  opts: { intervalMinutes: number; clock: () => Date },
): void {
  const scheduleNext = async (tenantId: string) => {
    const runAt = nextSlot(opts.clock(), opts.intervalMinutes);
    await jobs.enqueue(tenantId, EXPORT_JOB, { scheduled: true }, { runAt, dedupeKey: `${EXPORT_JOB}:slot:${runAt.toISOString()}` });
  };
  jobs.register({
    type: EXPORT_JOB,
    payload: exportJobPayload,
    maxAttempts: 3,
    maxRunningPerTenant: 1,
    handle: async (run) => {
      try {
        const out = await service.exportTenant(run.tenantId, {
          ...(run.payload.tables ? { tables: run.payload.tables } : {}),
          signal: run.signal,
          countPending: true,
          onProgress: (p) => void run.progress({ table: p.table, rows_done: p.rowsDone, rows_total: p.rowsTotal, files: p.files }),
        });
        return { until: out.until, tables: out.tables };
      } finally {
        // The schedule goes on whatever this run's outcome (a full disk today may be freed by the next slot).
        await scheduleNext(run.tenantId);
      }
    },
  });
}
