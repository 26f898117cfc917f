import type { FastifyBaseLogger } from 'fastify';
import { AppError, type Db, type TenantContext, inTenant } from '../../platform/index.ts';
import type { IdentityApi, ProfileActivity, UnitOfWork } from '../identity/index.ts';
import { createBatcher, type Batcher } from './ingest.batcher.ts';
import { eventProblem, type PendingEvent } from './ingest.core.ts';
import type { InteractionsRepository } from './interactions.repository.ts';

export interface IngestOutcome {
  interactionId: string;
  /** False when the event was already stored (a retry, a replayed delivery). */
  created: boolean;
  /** When the stored row was first received: a retry is answered with the first answer. */
  receivedAt: Date;
  /** True when the event is older than the retention horizon: not stored (channels say so; not a duplicate). */
  expired: boolean;
  /** For an expired event: the first instant kept (the platform's or the tenant's retention, the later). */
  keptFrom?: Date;
}

/** The channel an event arrived through (logs, and how it is written: coalesced, direct, or in the caller's transaction). */
export type WriteSource = 'api' | 'segment' | 'tracking' | 'webhook' | 'import' | 'backfill';

/** A bulk load (a file import, a vendor backfill): written directly, and listeners treat its users like an import's. */
const isBulk = (source: WriteSource) => source === 'import' || source === 'backfill';

/** Events whose identities were resolved by `prepare`, ready to be written inside the caller's transaction. */
export interface PreparedEvents {
  readonly prepared: true;
  readonly tenantId: string;
  readonly events: readonly PendingEvent[];
}

export interface WriteOptions {
  source: WriteSource;
  /**
   * The caller's open transaction (a webhook delivery record): the events and their profile aggregates commit
   * with it or not at all. Requires events from `prepare` (identity resolution runs its own transactions,
   * which must not nest inside the caller's).
   */
  within?: UnitOfWork;
  /**
   * With `within`: how the caller runs a callback once its transaction has committed (it collects them and calls
   * them after the commit, never after a rollback). The write's listeners (`onCommitted`) are told through it.
   */
  afterCommit?: (callback: () => void) => void;
}

/**
 * Told, once the write committed, which users have interactions written by it (never for a rolled-back write), and
 * whether it was a bulk load (a file import, a backfill) rather than shoppers acting.
 */
export type CommittedListener = (tenantId: string, userIds: readonly string[], write: AppendedWrite) => void;
/** What a listener learns of a committed write besides its users. */
export interface AppendedWrite {
  /** A bulk load (imports): listeners that react per shopper (style profiles) may leave its users to catch up later. */
  bulk: boolean;
}

export interface IngestServiceDeps {
  db: Pick<Db, 'transaction'>;
  repo: InteractionsRepository;
  identity: Pick<IdentityApi, 'resolveMany' | 'recordActivityWithin'>;
  log: FastifyBaseLogger;
  batching: { maxBatch: number; maxWaitMs: number; maxPending: number; concurrency: number };
  /** Called after each committed write with the users of its newly written rows (caches, style profiles). */
  onCommitted?: CommittedListener;
}

/** The distinct user ids of the rows a write created now (retries and in-batch repeats are not news). */
export function usersWritten(rows: readonly { userId?: string | null | undefined }[], created: readonly boolean[]): string[] {
  const users = new Set<string>();
  rows.forEach((r, i) => {
    if (created[i] && r.userId) users.add(r.userId);
  });
  return [...users];
}

function isRetryable(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}

/**
 * The one write door of events: every channel (API, batch API, Segment, tracking, vendor webhooks, file
 * imports) writes through `write`. It refuses what cannot be stored (unsafe text, amounts out of range),
 * resolves identities, then in ONE transaction inserts the rows (idempotent on their dedupe key) and updates
 * the profile aggregates of the rows written now, so a crash cannot separate them and a retry counts revenue
 * once. API traffic is coalesced by a group-commit batcher that writes each tenant apart and isolates a failing
 * submission, so one tenant's bad write never fails another's.
 */
export function createIngestService(deps: IngestServiceDeps) {
  /** Events a channel already checked through `problemOf` and found storable: `write` does not check them again. */
  const checked = new WeakSet<PendingEvent>();

  /**
   * Why `event` cannot be stored (null when it can). A channel that answers per event calls this once per event;
   * the write then skips its own check of those events (one validation pass). Check the event unchanged.
   */
  function problemOf(event: PendingEvent) {
    const p = eventProblem(event);
    if (!p) checked.add(event);
    return p;
  }

  function check(events: readonly PendingEvent[]): void {
    const details = [];
    for (let i = 0; i < events.length && details.length < 20; i++) {
      if (checked.has(events[i]!)) continue;
      const p = eventProblem(events[i]!);
      if (p) details.push({ index: i, field: p.field, message: p.message });
    }
    if (details.length)
      throw new AppError(
        'validation',
        'EVENT_INVALID',
        `The event${events.length > 1 ? `s at ${details.map((d) => d.index).join(', ')}` : ''} cannot be stored: ${details[0]!.field} ${details[0]!.message}.`,
        { details },
      );
  }

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

  /** Inserts the rows and updates the aggregates of those written now, inside `tx`. */
  async function writeWithin(tx: UnitOfWork, tenantId: string, events: readonly PendingEvent[]): Promise<IngestOutcome[]> {
    const res = await deps.repo.appendManyDetailed(
      tx,
      tenantId,
      events.map((e) => e.row),
    );
    const out = res.ids.map((interactionId, i) => ({
      interactionId,
      created: res.created[i]!,
      receivedAt: res.receivedAt[i]!,
      expired: res.expired[i]!,
      ...(res.expired[i] && res.keptFrom ? { keptFrom: res.keptFrom } : {}),
    }));
    const activity: ProfileActivity[] = [];
    events.forEach((e, i) => {
      // Never for retries (created is false), so revenue is counted once.
      if (!out[i]!.created || !e.row.profileId) return;
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
    if (activity.length) await deps.identity.recordActivityWithin(tx, tenantId, activity);
    return out;
  }

  /** Tells the listener, after the commit, which users got new rows. A listener's failure never fails the write. */
  function notify(tenantId: string, events: readonly PendingEvent[], out: readonly IngestOutcome[], bulk: boolean): void {
    if (!deps.onCommitted) return;
    const users = usersWritten(
      events.map((e) => e.row),
      out.map((o) => o.created),
    );
    if (!users.length) return;
    try {
      deps.onCommitted(tenantId, users, { bulk });
    } catch (err) {
      deps.log.error({ err, tenantId }, 'an interactions listener failed (the write is committed)');
    }
  }

  /** Resolves, then writes in one transaction of its own (retried whole on a deadlock: nothing of it committed). */
  async function commit(tenantId: string, events: readonly PendingEvent[], bulk: boolean): Promise<IngestOutcome[]> {
    if (!events.length) return [];
    await resolve(tenantId, events);
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await inTenant(deps.db, tenantId, (tx) => writeWithin(tx, tenantId, events));
        notify(tenantId, events, out, bulk); // committed: inTenant resolved
        return out;
      } catch (err) {
        if (!isRetryable(err) || attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  const batcher: Batcher<{ tenantId: string; event: PendingEvent }, IngestOutcome> = createBatcher({
    ...deps.batching,
    // One tenant per flush, one flush per tenant at a time: big batches, and a tenant's failure is its own.
    laneOf: (items) => items[0]!.tenantId,
    flush: (items) =>
      commit(
        items[0]!.tenantId,
        items.map((i) => i.event),
        false,
      ),
  });

  /** Validates and resolves identities ahead of a `write` inside the caller's transaction. */
  async function prepare(ctx: Pick<TenantContext, 'tenantId'>, events: readonly PendingEvent[]): Promise<PreparedEvents> {
    check(events);
    await resolve(ctx.tenantId, events);
    return { prepared: true, tenantId: ctx.tenantId, events };
  }

  /**
   * THE write door. Stores `inputs` durably and answers one outcome per input, in order, once they committed.
   * Throws 400 EVENT_INVALID (nothing written) when an input cannot be stored; 503 INGEST_OVERLOADED when the
   * batcher is saturated. Through `within`, writes inside the caller's transaction (see WriteOptions).
   */
  async function write(
    ctx: Pick<TenantContext, 'tenantId'>,
    inputs: readonly PendingEvent[] | PreparedEvents,
    opts: WriteOptions,
  ): Promise<IngestOutcome[]> {
    if ('prepared' in inputs) {
      if (inputs.tenantId !== ctx.tenantId) throw new Error('prepared events belong to another tenant');
      if (!opts.within) return commit(ctx.tenantId, inputs.events, isBulk(opts.source));
      if (!opts.afterCommit) throw new Error('events.write within a transaction needs afterCommit (listeners run after the commit)');
      const out = await writeWithin(opts.within, ctx.tenantId, inputs.events);
      const events = inputs.events;
      opts.afterCommit(() => notify(ctx.tenantId, events, out, isBulk(opts.source)));
      return out;
    }
    if (opts.within) throw new Error('events.write within a transaction needs events from prepare()');
    if (!inputs.length) return [];
    check(inputs);
    // Files arrive in large batches already, one run at a time: written directly. Live traffic is coalesced.
    if (isBulk(opts.source)) return commit(ctx.tenantId, inputs, true);
    return batcher.submit(inputs.map((event) => ({ tenantId: ctx.tenantId, event })));
  }

  return {
    write,
    prepare,
    problemOf,
    pending: () => batcher.pending(),
    drain: () => batcher.drain(),
  };
}
export type IngestService = ReturnType<typeof createIngestService>;
