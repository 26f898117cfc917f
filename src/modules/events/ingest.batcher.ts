import { AppError, outsideTenantScope } from '../../platform/index.ts';

export interface BatcherOptions<I, O> {
  /** Flush as soon as this many items wait (a submission is never split, so a flush may hold one larger submission). */
  maxBatch: number;
  /** Flush items that waited this long even when the batch is not full. */
  maxWaitMs: number;
  /** Items queued plus in flight past which new submissions are refused (503 with Retry-After). */
  maxPending: number;
  /** Flushes running at once (1 on the single-connection embedded database). */
  concurrency: number;
  /**
   * The lane of a submission (e.g. its tenant). At most one flush per lane runs at a time, so one tenant's
   * events are written in big batches one after the other instead of small ones contending for the same
   * identity locks, while other tenants' flushes run beside them. Default: one lane per submission.
   */
  laneOf?: (items: I[]) => string;
  /**
   * Writes items durably and returns one result per item, in order; called with the items of one lane. It must be
   * all or nothing (one transaction): when it rejects, the batcher retries each of the flush's submissions alone,
   * so only the submission that fails on its own is answered with the failure.
   */
  flush(items: I[]): Promise<O[]>;
}

export interface Batcher<I, O> {
  /** Queues a submission; resolves once its flush has committed, with its items' results in order. */
  submit(items: I[]): Promise<O[]>;
  /** Items queued or being written. */
  pending(): number;
  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void>;
}

interface Submission<I, O> {
  items: I[];
  lane: string | undefined;
  resolve(out: O[]): void;
  reject(err: unknown): void;
}

/**
 * A small in-process group-commit batcher: concurrent requests are coalesced into one set-based write;
 * each request awaits its own commit, so a 2xx still means "durable". Bounded: past `maxPending` it refuses
 * new work instead of queueing without limit; what it accepted is either committed or reported failed to
 * its caller, never silently dropped.
 */
export function createBatcher<I, O>(opts: BatcherOptions<I, O>): Batcher<I, O> {
  const queue: Submission<I, O>[] = [];
  let queued = 0;
  let inflight = 0;
  let running = 0;
  let due = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idleWaiters: (() => void)[] = [];

  const busy = new Set<string>(); // lanes with a flush running

  const pump = (): void => {
    while (running < opts.concurrency && queue.length > 0 && (due || queued >= opts.maxBatch)) {
      // In queue order, skipping lanes that are being written (their turn comes when that flush ends).
      const take: Submission<I, O>[] = [];
      const lanes = new Set<string>();
      let n = 0;
      for (let k = 0; k < queue.length; ) {
        const s = queue[k]!;
        if (s.lane !== undefined && busy.has(s.lane)) {
          k++;
          continue;
        }
        if (take.length > 0 && n + s.items.length > opts.maxBatch) break;
        queue.splice(k, 1);
        take.push(s);
        if (s.lane !== undefined) lanes.add(s.lane);
        n += s.items.length;
      }
      if (!take.length) break;
      for (const l of lanes) busy.add(l);
      queued -= n;
      inflight += n;
      running++;
      // A flush is shared work (other submitters' rows, other tenants' lanes): it leaves the scope of whichever
      // request happened to start it (row-level security of reads, platform/tenant-read-scope.ts).
      void outsideTenantScope(() => run(take, n, lanes));
    }
    if (queue.length === 0) due = false;
    else if (!due && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        due = true;
        pump();
      }, opts.maxWaitMs);
      timer.unref?.();
    }
    if (queue.length === 0 && running === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  };

  /** Writes one group; resolves or rejects each of its submissions. */
  const settle = async (group: Submission<I, O>[]): Promise<void> => {
    try {
      const out = await opts.flush(group.flatMap((s) => s.items));
      let k = 0;
      for (const s of group) {
        s.resolve(out.slice(k, k + s.items.length));
        k += s.items.length;
      }
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      // Isolation: a failed flush wrote nothing (one transaction), so each submission is tried again alone;
      // only the one that fails on its own is answered with the failure.
      for (const s of group) await settle([s]);
    }
  };

  const run = async (take: Submission<I, O>[], n: number, lanes: Set<string>): Promise<void> => {
    try {
      // One flush per lane present (e.g. per tenant): a lane's failure never touches another lane's writes.
      const groups = new Map<string | undefined, Submission<I, O>[]>();
      for (const s of take) {
        const g = groups.get(s.lane);
        if (g) g.push(s);
        else groups.set(s.lane, [s]);
      }
      for (const group of groups.values()) await settle(group);
    } finally {
      running--;
      inflight -= n;
      for (const l of lanes) busy.delete(l);
      // Whatever queued during this flush has already waited: write it now.
      due = true;
      pump();
    }
  };

  return {
    submit(items) {
      if (!items.length) return Promise.resolve([]);
      if (queued + inflight + items.length > opts.maxPending) {
        return Promise.reject(
          new AppError(
            'unavailable',
            'INGEST_OVERLOADED',
            'Loupe is receiving more events than it can write right now. Nothing of this request was stored; retry after the delay.',
            {
              retryAfterSeconds: 1,
            },
          ),
        );
      }
      return new Promise<O[]>((resolve, reject) => {
        queue.push({ items, lane: opts.laneOf?.(items), resolve, reject });
        queued += items.length;
        pump();
      });
    },
    pending: () => queued + inflight,
    drain: () => (queue.length === 0 && running === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
  };
}
