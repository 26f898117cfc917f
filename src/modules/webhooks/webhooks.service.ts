/**
 * Outbound webhooks: a tenant's endpoints (URL, subscribed event types, signing secrets sealed at rest, rotation
 * with a grace period), the outbox that producers write in their own transactions, and delivery: one job per
 * attempt, Standard Webhooks signatures, retries with backoff and jitter, a log of every attempt, auto-disable
 * after days of failures, redelivery and test sends.
 */
import {
  AppError,
  type JobQueue,
  type PlatformServices,
  type Q,
  type TenantContext,
  isUuid,
  newId,
  notFound,
  parseNetworks,
  validation,
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
import { type DeliveryStatus, type EndpointSecrets, webhooksRepository as repo } from './webhooks.repository.ts';
import { type PrivatePolicy, resolveTarget, type SendResult, sendWebhook } from './webhooks.sender.ts';

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

  /** Enqueues the attempt job of each delivery; a full queue is left to the sweep. */
  async function enqueue(tenantId: string, items: readonly { id: string; attempt: number; runAt?: Date | undefined }[]) {
    for (const d of items) {
      try {
        await jobs.enqueue(tenantId, DELIVER_JOB, { delivery_id: d.id }, { dedupeKey: `${d.id}:${d.attempt}`, runAt: d.runAt });
      } catch (err) {
        if (err instanceof AppError && err.code === 'JOB_QUEUE_FULL') return;
        throw err;
      }
    }
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
      if (!(isUuid(id) && (await db.transaction((tx) => repo.deleteEndpoint(tx, ctx.tenantId, id)))))
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
      await enqueue(
        published.tenantId,
        published.deliveryIds.map((id) => ({ id, attempt: 1 })),
      ).catch((err: unknown) => log.warn({ err }, 'webhook dispatch failed; the sweep will retry'));
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
      f: {
        endpointId?: string | undefined;
        status?: DeliveryStatus | undefined;
        type?: string | undefined;
        cursor?: string | undefined;
        limit: number;
      },
    ) {
      if (f.cursor !== undefined && !isUuid(f.cursor))
        throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
      if (f.endpointId !== undefined && !isUuid(f.endpointId)) return Promise.resolve([]);
      return repo.listDeliveries(db, ctx.tenantId, { ...f, before: f.cursor });
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
      if (requeued) await enqueue(ctx.tenantId, [{ id, attempt: requeued.attempts + 1 }]);
      return (await repo.delivery(db, ctx.tenantId, id))!;
    },

    stats: (ctx: TenantContext, days: number, endpointId?: string) =>
      endpointId !== undefined && !isUuid(endpointId) ? Promise.resolve([]) : repo.stats(db, ctx.tenantId, days, endpointId),

    /**
     * One attempt of one delivery (the job's handler): claims it, signs and sends the message, logs the attempt,
     * then marks it succeeded, failed for good, or due again after the backoff (and enqueues that attempt).
     */
    async deliver(tenantId: string, deliveryId: string): Promise<{ outcome: string }> {
      const d = await repo.claim(db, tenantId, deliveryId);
      if (!d) return { outcome: 'not_due' };
      const e = await repo.endpoint(db, tenantId, d.endpointId);
      const m = await repo.message(db, tenantId, d.messageId);
      let result: SendResult;
      if (!e || !m) result = { ok: false, statusCode: null, latencyMs: 0, error: 'endpoint or message deleted', responseBody: null };
      else if (!e.enabled) result = { ok: false, statusCode: null, latencyMs: 0, error: 'endpoint disabled', responseBody: null };
      else {
        const now = clock();
        const signing = [secrets.open(e.secret, sealContext(tenantId, e.id, 'current'))];
        if (e.previousSecret && e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date())
          signing.push(secrets.open(e.previousSecret, sealContext(tenantId, e.id, 'previous')));
        const body = JSON.stringify({ type: m.type, timestamp: new Date(m.createdAt).toISOString(), data: m.payload });
        const id = messageIdHeader(m.id);
        const ts = Math.floor(now.getTime() / 1000);
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
      await repo.recordAttempt(db, tenantId, { deliveryId, endpointId: d.endpointId, attempt: d.attempts, ...result });
      const final = !e || !m || !e.enabled;
      const retryInMs = result.ok || final ? null : nextDelayMs(d.attempts, cfg.retryScheduleSeconds, Math.random());
      const status: DeliveryStatus = result.ok ? 'succeeded' : retryInMs === null ? 'failed' : 'pending';
      const next = await repo.finish(db, tenantId, deliveryId, {
        status,
        retryInMs,
        statusCode: result.statusCode,
        error: result.error,
        latencyMs: result.latencyMs,
      });
      if (e && e.enabled) {
        const disable = !result.ok && shouldDisable(e.failingSince, clock(), cfg.disableAfterDays);
        await repo.endpointOutcome(db, tenantId, e.id, {
          ok: result.ok,
          disableReason: disable
            ? `Disabled automatically: every delivery failed for ${cfg.disableAfterDays} days (last error: ${result.error ?? 'unknown'}).`
            : null,
        });
      }
      if (status === 'pending' && next?.nextAttemptAt)
        await enqueue(tenantId, [{ id: deliveryId, attempt: d.attempts + 1, runAt: next.nextAttemptAt }]);
      return { outcome: status };
    },

    /** Re-enqueues due deliveries that have no job (outbox rows written before a crash, jobs refused by a full queue). */
    async sweep(limit = 500): Promise<number> {
      const due = await repo.due(db, limit);
      for (const d of due) await enqueue(d.tenantId, [{ id: d.id, attempt: d.attempts + 1 }]);
      return due.length;
    },
  };
  return service;
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;
