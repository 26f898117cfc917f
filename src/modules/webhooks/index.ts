/**
 * Outbound webhooks: tenants' endpoints, the outbox other modules publish to (in their own transactions), signed
 * delivery with retries and a log. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, Q } from '../../platform/index.ts';
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
  let timer: NodeJS.Timeout | undefined;
  let retentionTimer: NodeJS.Timeout | undefined;
  const sweep = () =>
    service.sweep().catch((err: unknown) => platform.log.warn({ err }, 'webhook sweep failed; it runs again at the next tick'));
  const purge = () =>
    service
      .purgeExpired()
      .then((r) => {
        if (r.deliveries || r.messages) platform.log.info(r, 'expired webhook deliveries and messages deleted');
      })
      .catch((err: unknown) => platform.log.warn({ err }, 'webhook retention failed; it runs again in an hour'));
  return {
    publisher: {
      publish: (q, tenantId, events) => service.publish(q, tenantId, events),
      dispatch: service.dispatch,
    } satisfies WebhookPublisher,
    /**
     * Sweeps once now (outbox rows a stopped process never dispatched), then every `sweepMs`; deletes what is past
     * retention (LOUPE_WEBHOOKS_RETENTION_DAYS) once now, then hourly.
     */
    startSweeping(): void {
      void sweep();
      timer = setInterval(() => void sweep(), platform.config.webhooks.sweepMs);
      timer.unref();
      void purge();
      retentionTimer = setInterval(() => void purge(), 3_600_000);
      retentionTimer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      if (retentionTimer) clearInterval(retentionTimer);
      timer = undefined;
      retentionTimer = undefined;
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
