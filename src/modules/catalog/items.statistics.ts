/**
 * Fresh planner statistics for `items` after bulk writes.
 *
 * Right after an upload of many items the table has no statistics (PostgreSQL's autovacuum comes a minute or more
 * later on a loaded machine; the embedded database refreshes every few minutes): the newest-items read of serving
 * then sorted all 100k items of a tenant (350 ms a page in bench:newsfeed) instead of walking its index. So once
 * `threshold` rows were written since the last ANALYZE, one `ANALYZE items` runs when the writes have been quiet for
 * `quietMs` (an upload in many chunks is analyzed once, at its end), and at the latest `maxDelayMs` after the
 * threshold was crossed (a stream that never pauses still gets statistics). Off the request path; one at a time.
 */
export interface ItemsStatisticsDeps {
  /** Runs `ANALYZE items`. */
  analyze(): Promise<void>;
  log: { warn(obj: unknown, msg: string): void };
  /** Rows written (inserted or updated) since the last ANALYZE that call for a new one (default 1,000). */
  threshold?: number;
  /** Quiet time after the last write before the ANALYZE (default 1 s). */
  quietMs?: number;
  /** Longest wait after the threshold was crossed (default 10 s). */
  maxDelayMs?: number;
}

export function createItemsStatistics(deps: ItemsStatisticsDeps) {
  const threshold = deps.threshold ?? 1000;
  const quietMs = deps.quietMs ?? 1000;
  const maxDelayMs = deps.maxDelayMs ?? 10_000;
  let pending = 0;
  /** When the threshold was crossed (ms), while an ANALYZE is due. */
  let dueSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  function run(): Promise<void> {
    timer = undefined;
    if (running) return running.then(() => (pending >= threshold && !stopped ? run() : undefined));
    pending = 0;
    dueSince = undefined;
    running = deps
      .analyze()
      .catch((err: unknown) => deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'ANALYZE items failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (timer) clearTimeout(timer);
    const now = Date.now();
    dueSince ??= now;
    const wait = Math.max(0, Math.min(quietMs, dueSince + maxDelayMs - now));
    timer = setTimeout(() => void run(), wait);
    timer.unref();
  }

  return {
    /** Told after every committed upsert: `rows` items inserted or updated. */
    written(rows: number): void {
      if (stopped || rows <= 0) return;
      pending += rows;
      if (pending >= threshold) schedule();
    },
    /** Resolves once a due ANALYZE (scheduled or running) is done: now rather than after the quiet time. */
    async settle(): Promise<void> {
      if (timer) {
        clearTimeout(timer);
        await run();
      } else await running;
    },
    /** No further ANALYZE (shutdown); one running is awaited. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
