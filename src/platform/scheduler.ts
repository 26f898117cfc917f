import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Periodic work that must run once across the cluster (clean-ups, retention), whatever the number of API and
 * worker processes. The processes that may schedule all compete for one PostgreSQL session-level advisory lock;
 * the holder runs the tasks, the others retry every `checkMs`. The lock belongs to a dedicated connection, so a
 * holder killed with `kill -9` loses it when the server sees its socket close, and a follower takes over at its
 * next check. Tasks must be idempotent: between a leader losing its connection and noticing it (at most
 * `checkMs`), a follower may already run.
 */
export interface ScheduledTask {
  readonly name: string;
  readonly everyMs: number;
  /** Runs at once when this process becomes the scheduler (default false: first run after `everyMs`). */
  readonly runOnElection?: boolean;
  run(): Promise<unknown>;
}

/** A cluster-wide lock held by one session: its holder is the scheduler. */
export interface LeaderLock {
  /** Takes the lock if it is free (true when this process holds it, also when it held it already). */
  tryAcquire(): Promise<boolean>;
  /** Whether the session holding the lock still answers; false (and the lock dropped) after a lost connection. */
  alive(): Promise<boolean>;
  release(): Promise<void>;
}

export const SCHEDULER_LOCK_NAME = 'loupe:scheduler';

/**
 * The lock on a PostgreSQL server: `pg_try_advisory_lock` on a connection of its own (never a pooled one: a
 * session lock taken on a pool client would be held by whichever request borrows that client next).
 */
export function postgresLeaderLock(url: string, name: string = SCHEDULER_LOCK_NAME): LeaderLock {
  let client: pg.Client | undefined;
  let held = false;
  const drop = (): void => {
    const c = client;
    client = undefined;
    held = false;
    c?.end().catch(() => undefined);
  };
  return {
    async tryAcquire() {
      if (held && client) return true;
      if (!client) {
        const c = new pg.Client({ connectionString: url, application_name: 'loupe-scheduler' });
        c.on('error', drop); // a lost connection: the server has released the lock already
        try {
          await c.connect();
        } catch (err) {
          c.end().catch(() => undefined);
          throw err;
        }
        client = c;
      }
      try {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [name]);
        held = r.rows[0]?.ok === true;
      } catch (err) {
        drop();
        throw err;
      }
      return held;
    },
    async alive() {
      if (!client || !held) return false;
      try {
        await client.query('SELECT 1');
        return true;
      } catch {
        drop();
        return false;
      }
    },
    async release() {
      const c = client;
      client = undefined;
      if (!c) return;
      try {
        if (held) await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]);
      } catch {
        // closing the session below releases it anyway
      } finally {
        held = false;
        await c.end().catch(() => undefined);
      }
    },
  };
}

/** The embedded database has one process (the data-folder lock guarantees it): that process is the scheduler. */
export function exclusiveLeaderLock(): LeaderLock {
  return { tryAcquire: async () => true, alive: async () => true, release: async () => undefined };
}

export interface SchedulerDeps {
  lock: LeaderLock;
  tasks: readonly ScheduledTask[];
  logger: Pick<Logger, 'info' | 'warn'>;
  /** How often a follower tries the lock and a leader checks its session (default 5 s). */
  checkMs?: number;
  /** Told when this process becomes the scheduler or stops being it (logs, tests). */
  onChange?: (leader: boolean) => void;
}

export interface Scheduler {
  start(): void;
  /** Stops the tasks, waits for the ones running, and releases the lock (a follower takes over at its next check). */
  stop(): Promise<void>;
  isLeader(): boolean;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const checkMs = deps.checkMs ?? 5_000;
  let leader = false;
  let stopped = true;
  let checkTimer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  let lockErrorLogged = false;
  const taskTimers: NodeJS.Timeout[] = [];
  const runningTasks = new Set<Promise<void>>();
  const busy = new Set<string>();

  const runTask = (task: ScheduledTask): void => {
    // A run still going when the next is due is not doubled.
    if (!leader || stopped || busy.has(task.name)) return;
    busy.add(task.name);
    const p = task
      .run()
      .then(
        () => undefined,
        (err: unknown) =>
          deps.logger.warn({ task: task.name, err: err instanceof Error ? err.message : String(err) }, 'scheduled task failed'),
      )
      .finally(() => {
        busy.delete(task.name);
        runningTasks.delete(p);
      });
    runningTasks.add(p);
  };

  const becomeLeader = (): void => {
    leader = true;
    deps.logger.info({ tasks: deps.tasks.map((t) => t.name) }, 'this process runs the scheduled tasks');
    deps.onChange?.(true);
    for (const task of deps.tasks) {
      const timer = setInterval(() => runTask(task), task.everyMs);
      timer.unref();
      taskTimers.push(timer);
      if (task.runOnElection) runTask(task);
    }
  };

  const stepDown = (): void => {
    leader = false;
    for (const t of taskTimers.splice(0)) clearInterval(t);
    deps.onChange?.(false);
  };

  const check = async (): Promise<void> => {
    try {
      if (leader) {
        if (!(await deps.lock.alive())) {
          deps.logger.warn({}, 'the scheduler lock was lost (database connection closed); another process may take over');
          stepDown();
        }
      } else if (await deps.lock.tryAcquire()) {
        if (stopped) await deps.lock.release();
        else becomeLeader();
      }
      lockErrorLogged = false;
    } catch (err) {
      if (!lockErrorLogged) {
        deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'the scheduler lock could not be checked; retrying');
        lockErrorLogged = true;
      }
    }
  };

  const loop = (): void => {
    if (stopped) return;
    checking = check().finally(() => {
      if (stopped) return;
      checkTimer = setTimeout(loop, checkMs);
      checkTimer.unref();
    });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      if (checkTimer) clearTimeout(checkTimer);
      await checking;
      if (leader) stepDown();
      await Promise.allSettled([...runningTasks]);
      await deps.lock.release();
    },
    isLeader: () => leader,
  };
}
