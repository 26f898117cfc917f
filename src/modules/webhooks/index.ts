/**
 * Outbound webhooks: tenants' endpoints, the outbox other modules publish to (in their own transactions), signed
 * delivery with retries and a log. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, Q, ScheduledTask } from '../../platform/index.ts';
import { registerWebhooksJobs } from './webhooks.jobs.ts';
import { webhooksRepository } from './webhooks.repository.ts';
import { webhooksRoutes } from './webhooks.routes.ts';
import { createWebhooksService, type OutboundEvent, type Published } from './webhooks.service.ts';

export type { OutboundEvent, Published } from './webhooks.service.ts';

/**
 * The port producers receive (wired in src/app.ts): `publish` writes to the outbox with the caller's transaction,
 * `dispatch` starts delivery after the commit.
 */
export interface WebhookPublisher {
  publish(q: Q, tenantId: string, events: readonly OutboundEvent[]): Promise<Published>;
  dispatch(published: Published): Promise<void>;
}

export function createWebhooksModule(platform: PlatformServices) {
  const service = createWebhooksService({ platform });
  registerWebhooksJobs(platform.jobs, service);
  const purge = () =>
    service.purgeExpired().then((r) => {
      if (r.deliveries || r.messages) platform.log.info(r, 'expired webhook deliveries and messages deleted');
      return r;
    });
  return {
    publisher: {
      publish: (q, tenantId, events) => service.publish(q, tenantId, events),
      dispatch: service.dispatch,
    } satisfies WebhookPublisher,
    /**
     * The module's periodic work, run once per cluster by the platform scheduler (src/cli/shared.ts), never by every
     * process: the sweep that wakes the delivery job of tenants with due deliveries (outbox rows a stopped process
     * never dispatched) every LOUPE_WEBHOOKS_SWEEP_MS, and retention (LOUPE_WEBHOOKS_RETENTION_DAYS) hourly; both
     * also when a process becomes the scheduler. Idempotent: a second sweep finds the jobs queued (or books nothing
     * new), a second purge deletes nothing.
     */
    scheduledTasks(): ScheduledTask[] {
      return [
        { name: 'webhooks.sweep', everyMs: platform.config.webhooks.sweepMs, runOnElection: true, run: () => service.sweep() },
        { name: 'webhooks.purge-expired', everyMs: 3_600_000, runOnElection: true, run: purge },
      ];
    },
    sweep: () => service.sweep(),
    /** Deletes finished deliveries, their attempts and messages older than the retention period (see the service). */
    purgeExpired: (batch?: number) => service.purgeExpired(batch),
    /** Erasure step (identity.onErasure): the person's ids are blanked out of kept messages and response bodies. */
    erasePerson: (q: Q, tenantId: string, ids: readonly string[]) => webhooksRepository.eraseMentions(q, tenantId, ids),
    /** Start-up step: seals endpoint secrets still under a previous key with the current one. */
    async resealSecrets(): Promise<void> {
      const r = await service.resealSecrets();
      if (r.resealed) platform.log.info({ resealed: r.resealed }, 'webhook endpoint secrets sealed with the current key');
      if (r.unreadable)
        platform.log.error(
          { unreadable: r.unreadable },
          'webhook endpoint secrets that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or rotate those endpoints’ secrets',
        );
    },
    async routes(app: FastifyInstance): Promise<void> {
      await webhooksRoutes(app, service);
    },
  };
}
