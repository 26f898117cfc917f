import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import type { PredictionsService } from './predictions.service.ts';

/** The training job: every predictions model of one tenant, then every profile rescored. */
export const TRAIN_JOB = 'predictions.train';

export function registerPredictionsJobs(jobs: JobQueue, service: PredictionsService): void {
  jobs.register({
    type: TRAIN_JOB,
    payload: z.object({}).strict(),
    maxAttempts: 2,
    maxRunningPerTenant: 1,
    handle: (run) => service.train(run.tenantId, { jobId: run.id, signal: run.signal, progress: (p) => run.progress(p) }),
  });
}
