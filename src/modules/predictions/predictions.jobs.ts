import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import type { PredictionsService } from './predictions.service.ts';

/** The training job: every predictions model of one tenant, then every profile rescored. */
export const TRAIN_JOB = 'predictions.train';
/** The nightly refresh of one tenant: rescore everyone, or retrain on drift or age (see the service's `nightly`). */
export const NIGHTLY_JOB = 'predictions.nightly';
/** Hour of the day (UTC) of the nightly refresh. */
const NIGHTLY_HOUR_UTC = 2;

/** The next nightly run after `now`, at NIGHTLY_HOUR_UTC. */
export function nextNightly(now: Date): Date {
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), NIGHTLY_HOUR_UTC));
  return at > now ? at : new Date(at.getTime() + 86_400_000);
}

export function registerPredictionsJobs(jobs: JobQueue, service: PredictionsService, clock: () => Date): void {
  // one queued nightly run per tenant and night: the key carries the night's date
  const scheduleNightly = async (tenantId: string) => {
    const runAt = nextNightly(clock());
    await jobs.enqueue(tenantId, NIGHTLY_JOB, {}, { runAt, dedupeKey: `${NIGHTLY_JOB}:${runAt.toISOString().slice(0, 10)}` });
  };
  jobs.register({
    type: TRAIN_JOB,
    payload: z.object({}).strict(),
    maxAttempts: 2,
    maxRunningPerTenant: 1,
    handle: async (run) => {
      const out = await service.train(run.tenantId, { jobId: run.id, signal: run.signal, progress: (p) => run.progress(p) });
      await scheduleNightly(run.tenantId);
      return out;
    },
  });
  jobs.register({
    type: NIGHTLY_JOB,
    payload: z.object({}).strict(),
    maxAttempts: 2,
    maxRunningPerTenant: 1,
    handle: async (run) => {
      const out = await service.nightly(run.tenantId, { jobId: run.id, signal: run.signal, progress: (p) => run.progress(p) });
      if (out.action !== 'none') await scheduleNightly(run.tenantId);
      return out;
    },
  });
}
