/**
 * The shown-items log: what the feed served each shopper (the "not shown within N days" rule), written in
 * batches off the request path. The rule only reads items shown BEFORE the scroll session began, so a row is
 * not needed before the page leaves: rows wait in memory for at most `flushMs` (or until `maxRows` wait) and are
 * written in one set-based statement per tenant. Until written, `pendingFor` gives a shopper's waiting items to
 * the feed's read in this process (a shopper's next session sees them at once). `flush()` resolves once every
 * row recorded before it is written (tests, erasure); `forget` drops an erased shopper's waiting rows.
 *
 * Durability, decided: NOT durable, on purpose. A process killed (kill -9, OOM, power) loses the rows of its last
 * `flushMs` window (and any backlog of a lagging database, at most `maxPending` rows); a graceful stop flushes
 * (app.ts `close`). The cost is that those shoppers may see those items again before N days: the rows are display
 * history the server keeps for itself, not a write a client sent and was told was accepted, so nothing promised is
 * lost; paging within a scroll session never depends on them (the cursor lays pages out from page 0), and a repeated
 * item in a later session is a small ranking defect, not a wrong answer. Durable rows would need a write before each
 * page leaves (one more statement and a commit wait per page, on the home screen) or a local journal per process
 * (another moving part to replay and to erase from); neither is worth a repeat after a crash.
 */
export interface ShownRow {
  userId: string;
  itemId: string;
  at: Date;
}

export interface ShownLogDeps {
  write(tenantId: string, rows: readonly ShownRow[]): Promise<void>;
  log: { error(obj: unknown, msg: string): void };
  /** Longest wait before a row is written (default 100 ms). */
  flushMs?: number;
  /** Rows waiting that trigger a write at once (default 2,000). */
  maxRows?: number;
  /** Rows held at most while writes lag; beyond that new rows are dropped (the rule then may repeat them). */
  maxPending?: number;
}

export function createShownLog(deps: ShownLogDeps) {
  const flushMs = deps.flushMs ?? 100;
  const maxRows = deps.maxRows ?? 2000;
  const maxPending = deps.maxPending ?? 200_000;
  /** tenant -> user -> item -> latest time shown (waiting) */
  let waiting = new Map<string, Map<string, Map<string, Date>>>();
  /** Batches handed to a write that has not finished (still readable). */
  const writing = new Set<Map<string, Map<string, Map<string, Date>>>>();
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  async function write(batch: Map<string, Map<string, Map<string, Date>>>, n: number): Promise<void> {
    try {
      for (const [tenantId, users] of batch) {
        const rows: ShownRow[] = [];
        for (const [userId, items] of users) for (const [itemId, at] of items) rows.push({ userId, itemId, at });
        if (rows.length === 0) continue;
        try {
          await deps.write(tenantId, rows);
        } catch (err) {
          // Losing rows only lets the feed show those items again within N days.
          deps.log.error({ err, tenantId, rows: rows.length }, 'newsfeed shown items could not be written');
        }
      }
    } finally {
      writing.delete(batch);
      count -= n;
    }
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (waiting.size > 0) {
      const batch = waiting;
      waiting = new Map();
      writing.add(batch);
      let n = 0;
      for (const users of batch.values()) for (const items of users.values()) n += items.size;
      chain = chain.then(() => write(batch, n));
    }
    return chain;
  }

  return {
    record(tenantId: string, userId: string, itemIds: readonly string[], at: Date): void {
      if (itemIds.length === 0 || count >= maxPending) return;
      let users = waiting.get(tenantId);
      if (!users) waiting.set(tenantId, (users = new Map()));
      let items = users.get(userId);
      if (!items) users.set(userId, (items = new Map()));
      for (const id of itemIds) {
        if (!items.has(id)) count++;
        items.set(id, at);
      }
      if (count >= maxRows) void flush();
      else if (!timer) timer = setTimeout(() => void flush(), flushMs).unref();
    },
    /** The shopper's items recorded but not yet written, with when they were shown. */
    pendingFor(tenantId: string, userId: string): Map<string, Date> {
      const out = new Map<string, Date>();
      for (const batch of [...writing, waiting])
        for (const [id, at] of batch.get(tenantId)?.get(userId) ?? []) if (!(out.get(id)! >= at)) out.set(id, at);
      return out;
    },
    /** Drops the waiting rows of erased shoppers (call after `flush` has written what was already handed over). */
    forget(tenantId: string, userIds: readonly string[]): void {
      const users = waiting.get(tenantId);
      if (!users) return;
      for (const u of userIds) {
        count -= users.get(u)?.size ?? 0;
        users.delete(u);
      }
    },
    flush,
  };
}
export type ShownLog = ReturnType<typeof createShownLog>;
