import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import { DELIVER_JOB, type WebhooksService } from './webhooks.service.ts';

/**
 * One job per attempt of one delivery. The per-tenant running cap is the tenant's in-flight limit: a tenant whose
 * endpoint hangs holds at most that many workers, and the queue's fair claim serves other tenants first.
 */
export function registerWebhooksJobs(jobs: JobQueue, service: WebhooksService, limits: { maxInFlightPerTenant: number }): void {
  jobs.register({
    type: DELIVER_JOB,
    payload: z.object({ delivery_id: z.string().uuid() }).strict(),
    // HTTP failures are handled (and rescheduled) by the handler itself; these attempts cover database errors.
    maxAttempts: 3,
    maxRunningPerTenant: limits.maxInFlightPerTenant,
    maxQueuedPerTenant: 10_000,
    handle: (run) => service.deliver(run.tenantId, run.payload.delivery_id),
  });
}
