/**
 * The style-profile refresh queue: interactions mark their users dirty, ONE worker folds them in, in arrival
 * order. Bounded on purpose: an import of 500,000 order lines marks thousands of users at once, and a refresh
 * per user started at once (several queries each) starved the import itself on the embedded database's single
 * connection. A user marked while queued is not queued twice; beyond `maxQueued` users, new marks are dropped
 * and counted (a dropped user's profile catches up at their next interaction: a refresh folds every interaction
 * not folded yet). A bulk load (an import, a backfill: the write door says so) is not shoppers acting: its users are
 * not queued at all (measured: queuing the 3,000 users of one 150,000-row upload stalled that upload on the embedded
 * database for minutes), and catch up the same way. The size of a write says nothing: live traffic is coalesced
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
  const start = (): void => {
    worker = drain().finally(() => {
      worker = null;
      if (queue.size) start(); // marked after the loop saw an empty queue
    });
  };

  async function drain(): Promise<void> {
    for (;;) {
      const first = queue.entries().next();
      if (first.done) break;
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
        const refreshing = deps.refreshMany
          ? deps.refreshMany(
              dirty.tenantId,
              batch.map((d) => d.userId),
            )
          : deps.refresh(dirty.tenantId, dirty.userId).then((r) => new Map([[dirty.userId, r]]));
        running = { tenantId: dirty.tenantId, done: refreshing.catch(() => undefined) };
        const results = await refreshing.finally(() => {
          running = null;
        });
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
    /** Marks users whose interactions were just written; a bulk load's users are left to catch up later. */
    mark(tenantId: string, userIds: readonly string[], write: { bulk: boolean } = { bulk: false }): void {
      if (write.bulk) {
        deps.onDropped(userIds.length);
        return;
      }
      for (const userId of userIds) {
        const key = `${tenantId}\u0000${userId}`;
        const queued = queue.get(key);
        if (queued) {
          queued.attempts = 0;
          continue;
        }
        if (queue.size >= maxQueued) {
          dropped++;
          continue;
        }
        queue.set(key, { tenantId, userId, attempts: 0, notBefore: deps.now() });
      }
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
      for (const userId of userIds) queue.delete(`${tenantId}\u0000${userId}`);
    },
    /** Resolves when the queue is empty and nothing is running (tests, shutdown). */
    async settled(): Promise<void> {
      while (worker) await worker;
    },
    /** Users waiting (for metrics and tests). */
    get size(): number {
      return queue.size;
    },
  };
}
