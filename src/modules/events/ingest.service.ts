import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../platform/index.ts';
import type { IdentityApi, ProfileActivity } from '../identity/index.ts';
import { createBatcher, type Batcher } from './ingest.batcher.ts';
import type { PendingEvent } from './ingest.core.ts';
import type { InteractionsRepository } from './interactions.repository.ts';

export interface IngestOutcome {
  interactionId: string;
  /** False when the event was already stored (a retry, a replayed delivery). */
  created: boolean;
  /** When the stored row was first received: a retry is answered with the first answer. */
  receivedAt: Date;
}

export interface IngestServiceDeps {
  repo: InteractionsRepository;
  identity: Pick<IdentityApi, 'resolveMany' | 'recordActivity'>;
  log: FastifyBaseLogger;
  batching: { maxBatch: number; maxWaitMs: number; maxPending: number; concurrency: number };
}

/**
 * The one write path of events: identity resolution per batch, one set-based idempotent insert, then the
 * profile aggregates of the rows written now. `track` coalesces concurrent requests through the batcher;
 * the `resolve`/`append`/`afterCommit` steps let webhooks write inside their own delivery transaction.
 */
export function createIngestService(deps: IngestServiceDeps) {
  /** Sets profile ids on the rows (in place). Identity being unavailable never loses an event: rows stay unresolved. */
  async function resolve(tenantId: string, events: readonly PendingEvent[]): Promise<void> {
    const idx: number[] = [];
    const inputs = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.identity && !e.row.profileId) {
        idx.push(i);
        inputs.push(e.identity);
      }
    }
    if (!inputs.length) return;
    try {
      const profiles = await deps.identity.resolveMany(tenantId, inputs);
      idx.forEach((i, k) => {
        const p = profiles[k];
        if (p) events[i]!.row.profileId = p;
      });
    } catch (err) {
      deps.log.error({ err, tenantId, events: inputs.length }, 'identity resolution failed; events stored without a profile');
    }
  }

  async function append(tenantId: string, events: readonly PendingEvent[], q?: Pick<Db, 'execute'>): Promise<IngestOutcome[]> {
    const res = await deps.repo.appendManyDetailed(
      tenantId,
      events.map((e) => e.row),
      q,
    );
    return res.ids.map((interactionId, i) => ({ interactionId, created: res.created[i]!, receivedAt: res.receivedAt[i]! }));
  }

  /** Profile aggregates for rows written now (never for retries, so revenue is counted once). */
  async function afterCommit(tenantId: string, events: readonly PendingEvent[], outcomes: readonly IngestOutcome[]): Promise<void> {
    const activity: ProfileActivity[] = [];
    events.forEach((e, i) => {
      if (!outcomes[i]?.created || !e.row.profileId) return;
      activity.push({
        profileId: e.row.profileId,
        type: e.row.type,
        revenueMinor: e.revenueMinor ?? null,
        currency: e.row.currency ?? null,
        orderId: e.row.orderId ?? null,
        channel: e.identity?.channel ?? e.row.source,
        occurredAt: e.row.occurredAt,
      });
    });
    if (!activity.length) return;
    try {
      await deps.identity.recordActivity(tenantId, activity);
    } catch (err) {
      deps.log.error({ err, tenantId, activities: activity.length }, 'profile aggregates update failed');
    }
  }

  async function writeNow(tenantId: string, events: readonly PendingEvent[]): Promise<IngestOutcome[]> {
    if (!events.length) return [];
    await resolve(tenantId, events);
    const out = await append(tenantId, events);
    await afterCommit(tenantId, events, out);
    return out;
  }

  const batcher: Batcher<{ tenantId: string; event: PendingEvent }, IngestOutcome> = createBatcher({
    ...deps.batching,
    // One flush per tenant at a time: big batches, no two flushes of a tenant waiting on each other's locks.
    laneOf: (items) => items[0]!.tenantId,
    async flush(items) {
      // One resolution call and one insert per tenant present in the flush.
      const byTenant = new Map<string, number[]>();
      items.forEach((it, i) => {
        const l = byTenant.get(it.tenantId);
        if (l) l.push(i);
        else byTenant.set(it.tenantId, [i]);
      });
      const out: IngestOutcome[] = new Array(items.length);
      for (const [tenantId, idx] of byTenant) {
        const res = await writeNow(
          tenantId,
          idx.map((i) => items[i]!.event),
        );
        idx.forEach((i, k) => (out[i] = res[k]!));
      }
      return out;
    },
  });

  return {
    /** Stores events durably through the batcher; resolves after their commit. Throws 503 INGEST_OVERLOADED when saturated. */
    track: (tenantId: string, events: PendingEvent[]): Promise<IngestOutcome[]> =>
      batcher.submit(events.map((event) => ({ tenantId, event }))),
    writeNow,
    resolve,
    append,
    afterCommit,
    pending: () => batcher.pending(),
    drain: () => batcher.drain(),
  };
}
export type IngestService = ReturnType<typeof createIngestService>;
