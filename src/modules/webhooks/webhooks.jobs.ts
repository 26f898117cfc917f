import { z } from 'zod';
import type { JobQueue } from '../../platform/index.ts';
import { DELIVER_JOB, type WebhooksService } from './webhooks.service.ts';

/**
 * One delivery job per tenant at a time (woken by publishes, redeliveries, retries and the sweep): it sends at most
 * `maxInFlightPerTenant` deliveries at once, so a tenant whose endpoint hangs holds one worker and that many
 * connections, and the queue's fair claim serves other tenants' jobs on the other workers.
 */
export function registerWebhooksJobs(jobs: JobQueue, service: WebhooksService): void {
  jobs.register({
    type: DELIVER_JOB,
    payload: z.object({}).strict(),
    // HTTP failures are handled (and rescheduled) by the handler itself; these attempts cover database errors.
    maxAttempts: 3,
    maxRunningPerTenant: 1,
    maxQueuedPerTenant: 1000,
    handle: (run) => service.drain(run.tenantId, run.signal),
  });
}
