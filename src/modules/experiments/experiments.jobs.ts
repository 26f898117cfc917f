import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import type { BanditService } from './bandit.service.ts';

/** The bandit weights update of one experiment; each run schedules the next period's. */
export const BANDIT_UPDATE_JOB = 'experiments.bandit_update';

export function registerExperimentsJobs(
  jobs: JobQueue,
  bandits: BanditService,
): { scheduleBandit(tenantId: string, experimentId: string): Promise<void> } {
  /** One queued update per bandit and period (the dedupe key names the period). */
  async function scheduleBandit(tenantId: string, experimentId: string): Promise<void> {
    const next = await bandits.nextRun(tenantId, experimentId);
    if (!next) return;
    await jobs.enqueue(
      tenantId,
      BANDIT_UPDATE_JOB,
      { experiment_id: experimentId, period: next.period },
      { runAt: next.at, dedupeKey: `${BANDIT_UPDATE_JOB}:${experimentId}:${next.period}` },
    );
  }
  jobs.register({
    type: BANDIT_UPDATE_JOB,
    payload: z.object({ experiment_id: z.string().uuid(), period: z.number().int().min(0) }).strict(),
    maxAttempts: 5,
    handle: async (run) => {
      const out = await bandits.update(run.tenantId, run.payload.experiment_id);
      // Due a little early (the queue runs on the database's clock, periods on the application's): retried with
      // backoff, since queueing the same period again would return this very job.
      if (out && out.period < run.payload.period) throw new Error(`bandit period ${run.payload.period} has not begun yet`);
      // A stopped or archived bandit ends its chain of updates; a running one queues the next period's.
      if (out) await scheduleBandit(run.tenantId, run.payload.experiment_id);
      return out ? { period: out.period, written: out.written, message: out.message } : { skipped: 'not a running bandit' };
    },
  });
  return { scheduleBandit };
}
