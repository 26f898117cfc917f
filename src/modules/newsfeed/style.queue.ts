/**
 * The style-profile refresh queue: interactions mark their users dirty, ONE worker folds them in, in arrival
 * order. Bounded on purpose: an import of 500,000 order lines marks thousands of users at once, and a refresh
 * per user started at once (several queries each) starved the import itself on the embedded database's single
 * connection. A user marked while queued is not queued twice; beyond `maxQueued` users, new marks are dropped
 * and counted (a dropped user's profile catches up at their next interaction: a refresh folds every interaction
 * not folded yet). A bulk load (an import, a backfill: the write door says so) is not shoppers acting: its users are
 * not queued at all (measured: queuing the 3,000 users of one 150,000-row upload stalled that upload on the embedded
 * database for minutes). Its users go to a per-tenant backlog instead, folded only once the tenant's bulk writes
 * have been quiet for `bulkQuietMs` (the import is over), after every live user, a batch at a time with a pause
 * between batches: a store that imports its order history gets style profiles for those shoppers without the
 * import paying for them. The backlog is memory only and bounded (`maxBacklog`): after a restart, or beyond the
 * bound, a user catches up at their next interaction. The size of a write says nothing: live traffic is coalesced
 * into writes of hundreds of users (an earlier rule, "more than 200 users is bulk", left busy stores' profiles
 * unrefreshed).
 */

export interface StyleRefreshQueueDeps {
  /** Folds the user's new interactions into their style profile; `folded` is how many it found. */
  refresh(tenantId: string, userId: string): Promise<{ folded: number }>;
  /**
   * Folds several users of one tenant at once (a fixed number of statements for all of them). When given, the
   * worker takes every ready user of the head entry's tenant, up to `maxBatch`, in one call instead of one by one.
   */
  refreshMany?(tenantId: string, userIds: readonly string[]): Promise<ReadonlyMap<string, { folded: number }>>;
  /** Most users one `refreshMany` call folds (default 500). */
  maxBatch?: number;
  /**
   * Delays before retrying a user whose refresh found nothing new (default 50, 200, 600 ms: for listeners that
   * fire before the write commits). A listener called after the commit passes `[]`: the rows are visible.
   */
  retryDelaysMs?: readonly number[];
  /** Milliseconds, monotonic (performance.now): only for scheduling retries. */
  now(): number;
  sleep(ms: number): Promise<void>;
  onError(err: unknown, tenantId: string): void;
  onDropped(count: number): void;
  maxQueued?: number;
  /** A bulk load's users wait until the tenant wrote no bulk rows for this long (default 3,000 ms). */
  bulkQuietMs?: number;
  /** Pause after each backlog batch, so live refreshes and other work go first (default 200 ms). */
  bulkPauseMs?: number;
  /** Users held in the backlog across tenants; beyond it a bulk load's users are dropped and counted (default 200,000). */
  maxBacklog?: number;
}

interface Dirty {
  tenantId: string;
  userId: string;
  attempts: number;
  notBefore: number;
}

/**
 * By default a refresh that finds nothing new is retried after these delays: a listener that runs before the
 * write commits marks users whose rows may not be visible yet.
 */
const RETRY_DELAYS_MS = [50, 200, 600];

export function createStyleRefreshQueue(deps: StyleRefreshQueueDeps) {
  const maxQueued = deps.maxQueued ?? 10_000;
  const maxBatch = deps.maxBatch ?? 500;
  const retryDelays = deps.retryDelaysMs ?? RETRY_DELAYS_MS;
  const queue = new Map<string, Dirty>();
  let worker: Promise<void> | null = null;
  let dropped = 0;
  /** Tenants with an erasure under way: their refreshes wait until it ends (a refresh could write about the person). */
  const holds = new Map<string, number>();
  /** The refresh running now, so an erasure can wait for it. */
  let running: { tenantId: string; done: Promise<unknown> } | null = null;
  const HELD_RETRY_MS = 50;
  const bulkQuietMs = deps.bulkQuietMs ?? 3_000;
  const bulkPauseMs = deps.bulkPauseMs ?? 200;
  const maxBacklog = deps.maxBacklog ?? 200_000;
  /** A bulk load's users per tenant (in arrival order), and when the tenant's last bulk write was marked. */
  const backlog = new Map<string, { users: Set<string>; lastBulkAt: number }>();
  let backlogSize = 0;
  /** The longest the worker naps while it waits for a tenant's bulk writes to go quiet (live marks are seen after it). */
  const BACKLOG_NAP_MS = 100;

  /** The next backlog batch whose tenant is quiet and not held, or how long until one may be (undefined: none left). */
  function nextBacklog(): { tenantId: string; userIds: string[] } | { waitMs: number } | undefined {
    let waitMs: number | undefined;
    const now = deps.now();
    for (const [tenantId, b] of backlog) {
      const ready = b.lastBulkAt + bulkQuietMs - now;
      if (ready > 0 || holds.has(tenantId)) {
        waitMs = Math.min(waitMs ?? Number.POSITIVE_INFINITY, Math.max(ready, HELD_RETRY_MS));
        continue;
      }
      const userIds: string[] = [];
      for (const u of b.users) {
        if (userIds.length >= maxBatch) break;
        userIds.push(u);
      }
      for (const u of userIds) b.users.delete(u);
      backlogSize -= userIds.length;
      if (!b.users.size) backlog.delete(tenantId);
      return { tenantId, userIds };
    }
    return waitMs === undefined ? undefined : { waitMs };
  }

  async function refreshBatch(tenantId: string, userIds: string[]): Promise<ReadonlyMap<string, { folded: number }>> {
    const refreshing = deps.refreshMany
      ? deps.refreshMany(tenantId, userIds)
      : (async () => {
          const out = new Map<string, { folded: number }>();
          for (const u of userIds) out.set(u, await deps.refresh(tenantId, u));
          return out;
        })();
    running = { tenantId, done: refreshing.catch(() => undefined) };
    return refreshing.finally(() => {
      running = null;
    });
  }
  const start = (): void => {
    worker = drain().finally(() => {
      worker = null;
      if (queue.size || backlogSize) start(); // marked after the loop saw an empty queue
    });
  };

  async function drain(): Promise<void> {
    for (;;) {
      const first = queue.entries().next();
      if (first.done) {
        // Live users first; then a bulk load's users, once their tenant's import has gone quiet.
        const next = nextBacklog();
        if (next === undefined) break;
        if ('waitMs' in next) {
          await deps.sleep(Math.min(next.waitMs, BACKLOG_NAP_MS));
          continue;
        }
        try {
          await refreshBatch(next.tenantId, next.userIds);
        } catch (err) {
          deps.onError(err, next.tenantId);
        }
        await deps.sleep(bulkPauseMs);
        continue;
      }
      const [key, dirty] = first.value;
      const wait = dirty.notBefore - deps.now();
      // Head-of-line wait of at most the longest retry delay; every entry behind it was marked later.
      if (wait > 0) await deps.sleep(wait);
      if (queue.get(key) !== dirty) continue; // re-marked while we waited: its fresh entry is further back
      queue.delete(key);
      if (holds.has(dirty.tenantId)) {
        // An erasure of this tenant is running: try again after it (to the back of the queue).
        queue.set(key, { ...dirty, notBefore: deps.now() + HELD_RETRY_MS });
        continue;
      }
      const batch = [dirty];
      if (deps.refreshMany) {
        // Every other ready user of this tenant, in arrival order, joins the head entry's refresh.
        const t = deps.now();
        for (const [k, d] of queue) {
          if (batch.length >= maxBatch) break;
          if (d.tenantId !== dirty.tenantId || d.notBefore > t) continue;
          queue.delete(k);
          batch.push(d);
        }
      }
      try {
        const results = await refreshBatch(
          dirty.tenantId,
          batch.map((d) => d.userId),
        );
        for (const d of batch) {
          const k = `${d.tenantId}\u0000${d.userId}`;
          const folded = results.get(d.userId)?.folded ?? 0;
          if (folded === 0 && d.attempts < retryDelays.length && !queue.has(k)) {
            queue.set(k, { ...d, attempts: d.attempts + 1, notBefore: deps.now() + retryDelays[d.attempts]! });
          }
        }
      } catch (err) {
        deps.onError(err, dirty.tenantId);
      }
    }
    if (dropped) {
      deps.onDropped(dropped);
      dropped = 0;
    }
  }

  return {
    /** Marks users whose interactions were just written; a bulk load's users wait in the backlog (see above). */
    mark(tenantId: string, userIds: readonly string[], write: { bulk: boolean } = { bulk: false }): void {
      if (write.bulk) {
        const b = backlog.get(tenantId) ?? { users: new Set<string>(), lastBulkAt: 0 };
        backlog.set(tenantId, b);
        b.lastBulkAt = deps.now();
        let over = 0;
        for (const userId of userIds) {
          if (b.users.has(userId) || queue.has(`${tenantId}\u0000${userId}`)) continue;
          if (backlogSize >= maxBacklog) {
            over++;
            continue;
          }
          b.users.add(userId);
          backlogSize++;
        }
        if (!b.users.size) backlog.delete(tenantId);
        if (over) deps.onDropped(over);
        if (backlogSize && !worker) start();
        return;
      }
      const waiting = backlog.get(tenantId);
      for (const userId of userIds) {
        const key = `${tenantId}\u0000${userId}`;
        const queued = queue.get(key);
        if (queued) queued.attempts = 0;
        else if (queue.size >= maxQueued) {
          dropped++;
          continue;
        } else queue.set(key, { tenantId, userId, attempts: 0, notBefore: deps.now() });
        // Its live refresh folds everything not folded yet, the bulk load's rows included.
        if (waiting?.users.delete(userId)) backlogSize--;
      }
      if (waiting && !waiting.users.size) backlog.delete(tenantId);
      if (queue.size && !worker) start();
    },
    /**
     * Before an erasure in this tenant: no refresh of the tenant starts until the release is called, and the one
     * running (which may have read the person's interactions already) has finished when this resolves.
     */
    async hold(tenantId: string): Promise<() => void> {
      holds.set(tenantId, (holds.get(tenantId) ?? 0) + 1);
      if (running?.tenantId === tenantId) await running.done;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (holds.get(tenantId) ?? 1) - 1;
        if (n > 0) holds.set(tenantId, n);
        else holds.delete(tenantId);
      };
    },
    /** Drops these users' pending refreshes (they were erased: nothing is left to fold). */
    forget(tenantId: string, userIds: readonly string[]): void {
      const waiting = backlog.get(tenantId);
      for (const userId of userIds) {
        queue.delete(`${tenantId}\u0000${userId}`);
        if (waiting?.users.delete(userId)) backlogSize--;
      }
      if (waiting && !waiting.users.size) backlog.delete(tenantId);
    },
    /** Shutdown: the backlog is given up (its users catch up at their next interaction); live refreshes still settle. */
    dropBacklog(): number {
      const n = backlogSize;
      backlog.clear();
      backlogSize = 0;
      return n;
    },
    /** Resolves when the queue and the backlog are empty and nothing is running (tests). */
    async settled(): Promise<void> {
      while (worker) await worker;
    },
    /** Users waiting (for metrics and tests). */
    get size(): number {
      return queue.size;
    },
    /** A bulk load's users waiting for their tenant's import to go quiet (for metrics and tests). */
    get backlog(): number {
      return backlogSize;
    },
  };
}
