/**
 * The read replica (issue 17): reads that may lag the primary by a bounded time (reports) go to a streaming replica
 * while it keeps up, and to the primary otherwise.
 *
 * How far behind the replica is, is measured by WAL position, not by `pg_last_xact_replay_timestamp()`: that is the
 * commit time of the last replayed transaction, which grows old on an idle primary although the replica is
 * current, and a heartbeat row would need a writer. Instead every check first samples the primary's
 * `pg_current_wal_lsn()` (time t, position p), then reads the replica's `pg_last_wal_replay_lsn()` (r). The replica
 * holds everything the primary had at the latest sampled time whose position is <= r, so its staleness is at most
 * `now - that time`, idle or busy. A replica that cannot be shown to be fresh (no sample old enough, an error, a
 * check that does not answer within the bound, a server that is not a standby) sends the reads to the primary.
 */
import pg from 'pg';

export interface ReplicaOptions {
  url: string;
  /** Reads go to the replica only while its staleness plus one check interval is within this bound. */
  maxLagMs: number;
  checkMs: number;
  poolSize?: number;
  connectTimeoutMs?: number;
}

export interface ReplicaStatus {
  /** Where reads that may lag go now. */
  readonly target: 'replica' | 'primary';
  /** Why, in words (for logs and /health). */
  readonly reason: string;
  /** The replica's staleness at the last check (ms), null when unknown. */
  readonly lagMs: number | null;
}

/** A WAL position `X/Y` (hex) as bytes. BigInt: positions pass 2^53. */
function lsnBytes(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/**
 * Pure: the replica's staleness (ms) from the primary's sampled positions (ascending by time) and the replica's
 * replay position: `nowMs` minus the time of the latest sample the replica has replayed; null when it has replayed
 * none of them (staleness unknown, at least `nowMs - samples[0].atMs`).
 */
function replicaStaleness(samples: readonly { atMs: number; lsn: bigint }[], replayed: bigint, nowMs: number): number | null {
  for (let i = samples.length - 1; i >= 0; i--) if (samples[i]!.lsn <= replayed) return Math.max(0, nowMs - samples[i]!.atMs);
  return null;
}

type QueryFn = (...args: unknown[]) => Promise<unknown>;

/**
 * What drizzle is given for reads that may lag: `query` and `connect` go to the replica's pool while the replica
 * keeps up, to the primary's otherwise. drizzle takes an object whose class name holds "Pool" for a pool (its
 * transactions then `connect()`). A read sent to the replica that fails because the replica went away is sent once
 * more to the primary (a read outside a transaction can be repeated) and the replica is not used again until a
 * check finds it fresh.
 */
class ReplicaRouterPool {
  constructor(
    private readonly route: () => { replica: boolean },
    private readonly replica: pg.Pool,
    private readonly primary: pg.Pool,
    private readonly onReplicaLost: (err: unknown) => boolean,
  ) {}

  query(...args: unknown[]): Promise<unknown> {
    const primary = this.primary.query as unknown as QueryFn;
    if (!this.route().replica) return primary.apply(this.primary, args);
    return (this.replica.query as unknown as QueryFn).apply(this.replica, args).catch((err: unknown) => {
      if (!this.onReplicaLost(err)) throw err;
      return primary.apply(this.primary, args);
    });
  }

  connect(): Promise<pg.PoolClient> {
    return this.route().replica ? this.replica.connect() : this.primary.connect();
  }
}

/**
 * Watches the replica against the primary every `checkMs` and says where lagging reads go. `isOutage` tells an error
 * that means the replica is unreachable (then reads fall back at once). Call `stop` before closing the pools.
 */
export function watchReplica(opts: {
  primary: pg.Pool;
  replica: pg.Pool;
  maxLagMs: number;
  checkMs: number;
  isOutage: (err: unknown) => boolean;
}): {
  status(): ReplicaStatus;
  onChange(listener: (s: ReplicaStatus) => void): void;
  router: (replicaPool: pg.Pool) => ReplicaRouterPool;
  stop(): void;
} {
  const samples: { atMs: number; lsn: bigint }[] = [];
  let status: ReplicaStatus = { target: 'primary', reason: 'not checked yet', lagMs: null };
  const listeners: ((s: ReplicaStatus) => void)[] = [];
  const set = (next: ReplicaStatus) => {
    const changed = next.target !== status.target;
    status = next;
    if (changed) for (const l of listeners) l(next);
  };
  let stopped = false;
  let running = false;
  const within = <T>(p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${opts.maxLagMs} ms`)), opts.maxLagMs);
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };
  const check = async () => {
    if (running || stopped) return;
    running = true;
    try {
      let primaryLsn: bigint;
      try {
        const p = await within(opts.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'));
        primaryLsn = lsnBytes(p.rows[0]!.lsn);
      } catch {
        // Without the primary's position the replica's freshness is unknown; the primary's own outage is the error
        // handler's (503), not this watch's.
        set({ target: 'primary', reason: 'the primary did not give its WAL position', lagMs: null });
        return;
      }
      const atMs = performance.now();
      samples.push({ atMs, lsn: primaryLsn });
      while (samples.length > 1 && samples[1]!.atMs < atMs - opts.maxLagMs - 2 * opts.checkMs) samples.shift();
      let r: { standby: boolean; lsn: string | null };
      try {
        const res = await within(
          opts.replica.query<{ standby: boolean; lsn: string | null }>(
            'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn',
          ),
        );
        r = res.rows[0]!;
      } catch (err) {
        set({ target: 'primary', reason: `the replica did not answer: ${err instanceof Error ? err.message : String(err)}`, lagMs: null });
        return;
      }
      if (!r.standby || r.lsn === null) {
        set({ target: 'primary', reason: 'DATABASE_REPLICA_URL is not a streaming standby (not in recovery)', lagMs: null });
        return;
      }
      const lag = replicaStaleness(samples, lsnBytes(r.lsn), performance.now());
      if (lag === null) set({ target: 'primary', reason: 'the replica has not replayed the oldest sampled position', lagMs: null });
      else if (lag + opts.checkMs > opts.maxLagMs) set({ target: 'primary', reason: `the replica lags ${Math.round(lag)} ms`, lagMs: lag });
      else set({ target: 'replica', reason: 'the replica keeps up', lagMs: lag });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), opts.checkMs);
  timer.unref();
  void check();
  return {
    status: () => status,
    onChange: (l) => void listeners.push(l),
    router: (replicaPool) =>
      new ReplicaRouterPool(
        () => ({ replica: status.target === 'replica' }),
        replicaPool,
        opts.primary,
        (err) => {
          if (!opts.isOutage(err)) return false;
          set({
            target: 'primary',
            reason: `a read on the replica failed: ${err instanceof Error ? err.message : String(err)}`,
            lagMs: null,
          });
          return true;
        },
      ),
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
