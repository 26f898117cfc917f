/**
 * Outbound webhooks: a tenant's endpoints (URL, subscribed event types, signing secrets sealed at rest, rotation
 * with a grace period), the outbox that producers write in their own transactions, and delivery: one job per
 * attempt, Standard Webhooks signatures, retries with backoff and jitter, a log of every attempt, auto-disable
 * after days of failures, redelivery and test sends.
 */
import {
  AppError,
  SecretUnreadableError,
  type JobQueue,
  type PlatformServices,
  type Q,
  type TenantContext,
  isUuid,
  newId,
  notFound,
  parseNetworks,
  type PrivatePolicy,
  resolveTarget,
  validation,
  inTenant,
} from '../../platform/index.ts';
import {
  checkUrlShape,
  type EventType,
  matchesAny,
  messageIdHeader,
  newSecret,
  nextDelayMs,
  patternProblem,
  shouldDisable,
  signatureHeader,
} from './webhooks.core.ts';
import {
  type DeliveryFilter,
  type DeliveryRow,
  type DeliveryStatus,
  type EndpointSecrets,
  type MessageRow,
  webhooksRepository as repo,
} from './webhooks.repository.ts';
import type { DeliverySort } from './webhooks.schemas.ts';
import { type SendResult, sendWebhook } from './webhooks.sender.ts';

export const DELIVER_JOB = 'webhooks.deliver';

/** An event for the outbox: its type, its `data` object and a key that makes publishing it twice a no-op. */
export interface OutboundEvent {
  type: EventType;
  payload: Record<string, unknown>;
  /** Unique per tenant: the same key publishes nothing a second time (e.g. `price_alert_event:<id>`). */
  idempotencyKey: string;
}

/** What a publish wrote: pass it to dispatch() once the transaction committed. */
export interface Published {
  tenantId: string;
  messages: number;
  deliveryIds: string[];
}

const sealContext = (tenantId: string, id: string, which: 'current' | 'previous') => `webhook:${which}:${tenantId}:${id}`;

export function createWebhooksService({ platform }: { platform: PlatformServices }) {
  const { db, config, clock, secrets, log } = platform;
  const jobs: JobQueue = platform.jobs;
  const cfg = config.webhooks;
  const policy: PrivatePolicy = typeof cfg.allowPrivate === 'string' ? parseNetworks(cfg.allowPrivate) : cfg.allowPrivate;

  async function checkUrl(text: string, field = 'url'): Promise<string> {
    const shape = checkUrlShape(text);
    if (!shape.ok) throw validation('WEBHOOK_URL_INVALID', `The URL ${shape.reason}.`, [{ field, message: shape.reason }]);
    const target = await resolveTarget(shape.url, policy);
    if (!target.ok) throw validation('WEBHOOK_URL_REFUSED', `The URL's host ${target.reason}.`, [{ field, message: target.reason }]);
    return shape.url.toString();
  }

  function checkPatterns(patterns: readonly string[]): string[] {
    const problems = patterns.flatMap((p, i) => {
      const reason = patternProblem(p);
      return reason ? [{ field: `event_types.${i}`, message: reason }] : [];
    });
    if (problems.length) throw validation('WEBHOOK_EVENT_TYPES_INVALID', 'Some event types are not ones Loupe sends.', problems);
    return [...new Set(patterns)];
  }

  const getEndpoint = async (ctx: TenantContext, id: string): Promise<EndpointSecrets> => {
    const e = isUuid(id) ? await repo.endpoint(db, ctx.tenantId, id) : undefined;
    if (!e) throw notFound('WEBHOOK_ENDPOINT_NOT_FOUND', 'The webhook endpoint');
    return e;
  };

  /**
   * Wakes the tenant's delivery job: now, unless a job due now is already queued (a running one does not count: it
   * may be past its last look, and what is published while it ends must not wait for the sweep), or at `runAt` (the
   * next retry, one queued job per second of it). Two wake-ups racing may queue two jobs: the second finds nothing.
   * A full queue is left to the sweep.
   */
  async function wake(tenantId: string, runAt?: Date): Promise<void> {
    try {
      if (runAt) {
        const at = new Date(Math.ceil(runAt.getTime() / 1000) * 1000);
        await jobs.enqueue(tenantId, DELIVER_JOB, {}, { dedupeKey: `at:${at.toISOString()}`, runAt: at });
        return;
      }
      const queued = await jobs.list(tenantId, { type: DELIVER_JOB, status: 'queued', limit: 10 });
      if (queued.some((j) => new Date(j.runAt).getTime() <= Date.now())) return;
      await jobs.enqueue(tenantId, DELIVER_JOB, {});
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'JOB_QUEUE_FULL')) throw err;
    }
  }

  /** One attempt of one claimed delivery: signs and sends it, logs the attempt, then finishes or reschedules it. */
  async function attempt(
    tenantId: string,
    d: DeliveryRow,
    e: EndpointSecrets | undefined,
    m: MessageRow | undefined,
  ): Promise<DeliveryStatus> {
    let result: SendResult;
    if (!e || !m) result = { ok: false, statusCode: null, latencyMs: 0, error: 'endpoint or message deleted', responseBody: null };
    else if (!e.enabled) result = { ok: false, statusCode: null, latencyMs: 0, error: 'endpoint disabled', responseBody: null };
    else {
      const signing = [secrets.open(e.secret, sealContext(tenantId, e.id, 'current'))];
      if (e.previousSecret && e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date())
        signing.push(secrets.open(e.previousSecret, sealContext(tenantId, e.id, 'previous')));
      const body = JSON.stringify({ type: m.type, timestamp: new Date(m.createdAt).toISOString(), data: m.payload });
      const id = messageIdHeader(m.id);
      const ts = Math.floor(clock().getTime() / 1000);
      result = await sendWebhook(
        new URL(e.url),
        {
          'content-type': 'application/json',
          'user-agent': 'Loupe-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signatureHeader(signing, id, ts, body),
        },
        body,
        { timeoutMs: cfg.timeoutMs, policy },
      );
    }
    await repo.recordAttempt(db, tenantId, { deliveryId: d.id, endpointId: d.endpointId, attempt: d.attempts, ...result });
    const final = !e || !m || !e.enabled;
    const retryInMs = result.ok || final ? null : nextDelayMs(d.attempts, cfg.retryScheduleSeconds, Math.random());
    const status: DeliveryStatus = result.ok ? 'succeeded' : retryInMs === null ? 'failed' : 'pending';
    await repo.finish(db, tenantId, d.id, {
      status,
      retryInMs,
      statusCode: result.statusCode,
      error: result.error,
      latencyMs: result.latencyMs,
    });
    // a success on an endpoint that was not failing changes nothing
    if (e?.enabled && !(result.ok && e.failingSince === null)) {
      const disable = !result.ok && shouldDisable(e.failingSince, clock(), cfg.disableAfterDays);
      await repo.endpointOutcome(db, tenantId, e.id, {
        ok: result.ok,
        disableReason: disable
          ? `Disabled automatically: every delivery failed for ${cfg.disableAfterDays} days (last error: ${result.error ?? 'unknown'}).`
          : null,
      });
    }
    return status;
  }

  const service = {
    async createEndpoint(ctx: TenantContext, b: { url: string; description: string; eventTypes: string[] }) {
      const url = await checkUrl(b.url);
      const eventTypes = checkPatterns(b.eventTypes);
      const id = newId();
      const secret = newSecret();
      const row = await repo.insertEndpoint(db, ctx.tenantId, {
        id,
        url,
        description: b.description,
        eventTypes,
        secret: secrets.seal(secret, sealContext(ctx.tenantId, id, 'current')),
      });
      if (!row) throw new AppError('conflict', 'WEBHOOK_ENDPOINT_EXISTS', 'An endpoint with this URL exists already.');
      return { ...row, secret };
    },

    listEndpoints: (ctx: TenantContext) => repo.listEndpoints(db, ctx.tenantId),

    async endpoint(ctx: TenantContext, id: string) {
      const { secret: _s, previousSecret: _p, ...row } = await getEndpoint(ctx, id);
      return row;
    },

    async updateEndpoint(
      ctx: TenantContext,
      id: string,
      b: { url?: string | undefined; description?: string | undefined; eventTypes?: string[] | undefined; enabled?: boolean | undefined },
    ) {
      await getEndpoint(ctx, id);
      const row = await repo.updateEndpoint(db, ctx.tenantId, id, {
        ...b,
        url: b.url === undefined ? undefined : await checkUrl(b.url),
        eventTypes: b.eventTypes === undefined ? undefined : checkPatterns(b.eventTypes),
      });
      if (row === null) throw new AppError('conflict', 'WEBHOOK_ENDPOINT_EXISTS', 'An endpoint with this URL exists already.');
      if (!row) throw notFound('WEBHOOK_ENDPOINT_NOT_FOUND', 'The webhook endpoint');
      return row;
    },

    async deleteEndpoint(ctx: TenantContext, id: string): Promise<void> {
      if (!(isUuid(id) && (await inTenant(db, ctx.tenantId, (tx) => repo.deleteEndpoint(tx, ctx.tenantId, id)))))
        throw notFound('WEBHOOK_ENDPOINT_NOT_FOUND', 'The webhook endpoint');
    },

    /** A new secret, shown once; the old one keeps signing (as a second signature) for `graceSeconds`. */
    async rotateSecret(ctx: TenantContext, id: string, graceSeconds: number) {
      const e = await getEndpoint(ctx, id);
      const old = secrets.open(e.secret, sealContext(ctx.tenantId, id, 'current'));
      const secret = newSecret();
      const row = await repo.rotateSecret(db, ctx.tenantId, id, {
        secret: secrets.seal(secret, sealContext(ctx.tenantId, id, 'current')),
        previousSecret: secrets.seal(old, sealContext(ctx.tenantId, id, 'previous')),
        graceSeconds,
      });
      if (!row) throw notFound('WEBHOOK_ENDPOINT_NOT_FOUND', 'The webhook endpoint');
      return { ...row, secret };
    },

    /**
     * Writes events to the outbox with `q` — pass the producer's transaction, so an event exists exactly when the
     * write that caused it committed — and one delivery per matching enabled endpoint. An idempotency key seen
     * before publishes nothing. Call dispatch() with the result after the commit (the sweep covers a crash between).
     */
    async publish(q: Q, tenantId: string, events: readonly OutboundEvent[], only?: { endpointId: string }): Promise<Published> {
      if (!events.length) return { tenantId, messages: 0, deliveryIds: [] };
      const endpoints = (await repo.enabledEndpoints(q, tenantId)).filter((e) => !only || e.id === only.endpointId);
      const messages = await repo.insertMessages(q, tenantId, events);
      const pairs = messages.flatMap((m) =>
        endpoints.filter((e) => only || matchesAny(m.type, e.eventTypes)).map((e) => ({ messageId: m.id, endpointId: e.id, type: m.type })),
      );
      const deliveries = await repo.insertDeliveries(q, tenantId, pairs);
      return { tenantId, messages: messages.length, deliveryIds: deliveries.map((d) => d.id) };
    },

    /** Starts delivering what a committed publish wrote. Never throws (the sweep retries what it could not enqueue). */
    async dispatch(published: Published): Promise<void> {
      if (!published.deliveryIds.length) return;
      await wake(published.tenantId).catch((err: unknown) => log.warn({ err }, 'webhook dispatch failed; the sweep will retry'));
    },

    /** Sends a `webhook.test` event to one endpoint (even a disabled one is refused: enable it first). */
    async sendTest(ctx: TenantContext, id: string) {
      const e = await getEndpoint(ctx, id);
      if (!e.enabled)
        throw new AppError('conflict', 'WEBHOOK_ENDPOINT_DISABLED', 'The endpoint is disabled: enable it before sending a test.');
      const published = await service.publish(
        db,
        ctx.tenantId,
        [
          {
            type: 'webhook.test',
            payload: { endpoint_id: id, message: 'This is a test event from Loupe.' },
            idempotencyKey: `test:${newId()}`,
          },
        ],
        { endpointId: id },
      );
      await service.dispatch(published);
      return repo.delivery(db, ctx.tenantId, published.deliveryIds[0]!);
    },

    listDeliveries(
      ctx: TenantContext,
      f: DeliveryFilter & { cursor?: string | undefined; sort?: DeliverySort | undefined; offset?: number | undefined; limit: number },
    ) {
      if (f.cursor !== undefined && !isUuid(f.cursor))
        throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
      if (f.endpointId !== undefined && !isUuid(f.endpointId)) return Promise.resolve([]);
      return repo.listDeliveries(db, ctx.tenantId, { ...f, before: f.cursor });
    },

    /** How many deliveries match the filter (a paged table's total); an endpoint id that is no uuid matches none. */
    async countDeliveries(ctx: TenantContext, f: DeliveryFilter): Promise<number> {
      if (f.endpointId !== undefined && !isUuid(f.endpointId)) return 0;
      return repo.countDeliveries(db, ctx.tenantId, f);
    },

    async delivery(ctx: TenantContext, id: string) {
      const d = isUuid(id) ? await repo.delivery(db, ctx.tenantId, id) : undefined;
      if (!d) throw notFound('WEBHOOK_DELIVERY_NOT_FOUND', 'The delivery');
      return { ...d, log: await repo.attempts(db, ctx.tenantId, id) };
    },

    /**
     * Sends a finished delivery again (same webhook-id, so a receiver that saw it can tell). A delivery already
     * pending or sending is left as it is: redelivering twice, or twice at once, makes one more attempt.
     */
    async redeliver(ctx: TenantContext, id: string) {
      const d = isUuid(id) ? await repo.delivery(db, ctx.tenantId, id) : undefined;
      if (!d) throw notFound('WEBHOOK_DELIVERY_NOT_FOUND', 'The delivery');
      const requeued = await repo.requeue(db, ctx.tenantId, id);
      if (requeued) await wake(ctx.tenantId);
      return (await repo.delivery(db, ctx.tenantId, id))!;
    },

    stats: (ctx: TenantContext, days: number, endpointId?: string) =>
      endpointId !== undefined && !isUuid(endpointId) ? Promise.resolve([]) : repo.stats(db, ctx.tenantId, days, endpointId),

    /**
     * The delivery job of one tenant: attempts its due deliveries, at most `maxInFlightPerTenant` at once, until none
     * is due (retries due at once included), then wakes itself for the next retry. Stops between batches on abort.
     */
    async drain(tenantId: string, signal: AbortSignal): Promise<{ attempted: number; succeeded: number }> {
      let attempted = 0;
      let succeeded = 0;
      while (!signal.aborted) {
        const batch = await repo.claimDue(db, tenantId, cfg.maxInFlightPerTenant);
        if (!batch.length) break;
        const endpoints = new Map(
          (await repo.endpointsIn(db, tenantId, [...new Set(batch.map((d) => d.endpointId))])).map((e) => [e.id, e]),
        );
        const messages = new Map(
          (
            await repo.messagesIn(
              db,
              tenantId,
              batch.map((d) => d.messageId),
            )
          ).map((m) => [m.id, m]),
        );
        const outcomes = await Promise.all(batch.map((d) => attempt(tenantId, d, endpoints.get(d.endpointId), messages.get(d.messageId))));
        attempted += batch.length;
        succeeded += outcomes.filter((o) => o === 'succeeded').length;
      }
      const next = await repo.nextDue(db, tenantId);
      if (next) await wake(tenantId, next);
      return { attempted, succeeded };
    },

    /** Start-up step: re-seals endpoint secrets sealed with a previous key (or none). Counts those no key opens. */
    async resealSecrets(): Promise<{ resealed: number; unreadable: number }> {
      let resealed = 0;
      let unreadable = 0;
      for (const e of await repo.allSecrets(db)) {
        if (!secrets.needsReseal(e.secret) && !(e.previousSecret && secrets.needsReseal(e.previousSecret))) continue;
        try {
          const current = sealContext(e.tenantId, e.id, 'current');
          const previous = sealContext(e.tenantId, e.id, 'previous');
          await repo.updateSecrets(db, e.tenantId, e.id, {
            secret: secrets.seal(secrets.open(e.secret, current), current),
            previousSecret: e.previousSecret ? secrets.seal(secrets.open(e.previousSecret, previous), previous) : null,
          });
          resealed++;
        } catch (err) {
          if (!(err instanceof SecretUnreadableError)) throw err;
          unreadable++;
        }
      }
      return { resealed, unreadable };
    },

    /**
     * Retention: deletes deliveries finished more than `retentionDays` ago (by the clock) with their attempts, then
     * messages as old that no delivery refers to any more, `batch` rows per statement so no statement holds many
     * locks. A message with an unfinished delivery is never deleted. An event's idempotency key is remembered as
     * long as its message is kept.
     */
    async purgeExpired(batch = 1000): Promise<{ deliveries: number; attempts: number; messages: number }> {
      const before = new Date(clock().getTime() - cfg.retentionDays * 86_400_000);
      const total = { deliveries: 0, attempts: 0, messages: 0 };
      for (;;) {
        const r = await repo.purgeDeliveries(db, before, batch);
        total.deliveries += r.deliveries;
        total.attempts += r.attempts;
        if (r.deliveries < batch) break;
      }
      for (;;) {
        const n = await repo.purgeMessages(db, before, batch);
        total.messages += n;
        if (n < batch) break;
      }
      return total;
    },

    /** Wakes the delivery job of every tenant with due deliveries (outbox rows a stopped process never dispatched). */
    async sweep(limit = 1000): Promise<number> {
      const tenants = await repo.tenantsWithDue(db, limit);
      for (const tenantId of tenants) await wake(tenantId);
      return tenants.length;
    },
  };
  return service;
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;
