import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { systemContext, type TenantContext } from './access.ts';
import { type Db, queryOne, queryRows } from './database.ts';
import { AppError } from './errors.ts';
import { newId } from './ids.ts';
import { PLATFORM_TENANT_ID } from './platform.tables.ts';
import { outsideTenantScope, runInTenantScope } from './tenant-read-scope.ts';
import type { Tracer } from '@opentelemetry/api';
import { currentTraceparent, traceJob } from './tracing.ts';

/**
 * A durable job queue in PostgreSQL that works the same on the embedded database and on a server.
 * Claiming uses `FOR UPDATE SKIP LOCKED` (on PGlite's single session that degrades to plain serialization,
 * which is correct there too). Leases expire: a job whose worker died is picked up again. Retries back off
 * exponentially. Handlers report progress and observe cancellation through an AbortSignal.
 */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  tenantId: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  progress: Record<string, unknown> | null;
  result: unknown;
  lastError: string | null;
  cancelRequested: boolean;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** A claimed job: the record and the `traceparent` it was enqueued under (its run's span joins that trace). */
type ClaimedJob = JobRecord & { traceparent: string | null };

export interface JobRun<P> {
  readonly id: string;
  readonly tenantId: string;
  readonly payload: P;
  readonly attempt: number;
  readonly ctx: TenantContext;
  /** Aborted when the job is cancelled or the worker shuts down. */
  readonly signal: AbortSignal;
  /**
   * Merges `progress` into the job's progress, written at most every 250 ms unless `force`. An unforced call never
   * waits for the database (the write runs behind it, one at a time), so a handler may report progress inside its
   * own transaction: on the embedded database every statement outside that transaction waits for it to end.
   * A forced call waits for its write; never force inside a transaction.
   */
  progress(progress: Record<string, unknown>, force?: boolean): Promise<void>;
}

export interface JobDefinition<P> {
  readonly type: string;
  readonly payload: z.ZodType<P>;
  readonly maxAttempts?: number;
  /** First step of the retry backoff in ms (default 2000): see retryDelayMs. */
  readonly retryBaseMs?: number;
  /** Jobs of this type one tenant may have waiting; beyond it enqueue is refused (default: the queue's). */
  readonly maxQueuedPerTenant?: number;
  /** Jobs of this type one tenant may have running at once (default: the queue's). */
  readonly maxRunningPerTenant?: number;
  /**
   * Returns the job's result (stored as JSON). Throw to fail the attempt; it is retried with backoff. Runs in its
   * job's tenant scope (`runInTenantScope`): every read it sends outside a transaction sees that tenant's rows only,
   * as a request's do; work a handler shares across tenants leaves the scope with `outsideTenantScope`.
   */
  handle(run: JobRun<P>): Promise<unknown>;
  /**
   * Told after a failed attempt was queued again: its error's message and the wait before the next attempt (a run's
   * log shows them to an operator). Runs in the job's tenant scope; its own failure is logged, never the job's.
   */
  onRetry?(
    job: { tenantId: string; id: string; payload: P; attempt: number; maxAttempts: number },
    error: string,
    delayMs: number,
  ): Promise<void>;
}

/** Thrown by a handler to fail at once, without retries (bad input will not get better). */
export class PermanentJobError extends Error {}

export interface EnqueueOptions {
  runAt?: Date;
  priority?: number;
  maxAttempts?: number;
  /**
   * While a job with this key is queued or running for the tenant, enqueue returns it instead of a new one; a unique
   * index on live jobs' keys makes this hold across processes enqueueing at once.
   */
  dedupeKey?: string;
}

/**
 * Time in the queue is the database's and the host's wall clock, never the injected `platform.clock`: leases,
 * claims and run times are compared with the database's now() across processes, so a test that moves the
 * application's clock must not move when jobs become due.
 */
export interface JobQueueDeps {
  db: Db;
  logger: Logger;
  pollMs: number;
  onJobFinished?: (type: string, status: JobStatus, seconds: number) => void;
  /**
   * Per-tenant limits for each job type, so one tenant cannot fill the queue or every worker:
   * `maxQueued` waiting jobs (default 50), `maxRunning` running jobs (default: half the workers, at least 1).
   */
  tenantLimits?: { maxQueued?: number | undefined; maxRunning?: number | undefined };
  /**
   * True when this process is the only one using the database (the embedded PGlite): every job found
   * running at start belongs to a process that died, and is recovered at once instead of after its lease.
   */
  exclusiveDatabase?: boolean;
  /**
   * How long stop() waits for aborted handlers to record their outcome (default 30 s). A handler that ignores its
   * signal past it is left running: stop() returns, and its lease expires (or the next start recovers it).
   */
  stopGraceMs?: number;
  /**
   * How long a claimed job stays with its worker without a heartbeat (default 60 s): a worker killed with
   * `kill -9` on another host has its job claimed again by another worker this long after its last heartbeat.
   * Heartbeats renew it every third of it (at most every 5 s).
   */
  leaseSeconds?: number;
  /** OpenTelemetry: each run of a handler is a span (platform/tracing.ts); undefined when tracing is off. */
  tracer?: Tracer;
}

/** The message a job interrupted by its process's death carries (recs shows such a run as `interrupted`). */
export const INTERRUPTED_PREFIX = 'interrupted:';
const DEFAULT_MAX_QUEUED = 50;

/**
 * Whether the worker that holds a lease is a dead process of this host: worker ids are `host:pid:random`;
 * the same host and pid with another suffix is an earlier life of this process, and a pid that no longer
 * exists is dead. Another host, or a live pid, is left to its lease.
 */
export function leaseOwnerIsDead(lockedBy: string, self: { workerId: string; host: string; pid: number }): boolean {
  const parts = lockedBy.split(':');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join(':');
  if (host !== self.host || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === self.pid) return lockedBy !== self.workerId;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const SELECT = sql`id, tenant_id AS "tenantId", type, status, payload, attempts, max_attempts AS "maxAttempts", progress, result,
  last_error AS "lastError", cancel_requested AS "cancelRequested", run_at AS "runAt", created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt", updated_at AS "updatedAt"`;

const DEFAULT_LEASE_SECONDS = 60;
const DEFAULT_RETRY_BASE_MS = 2000;
/**
 * Workers polling at once rank the same due jobs first; each picks this many times its free slots and locks what
 * the others have not (SKIP LOCKED), in rank order, so a second worker claims the next jobs instead of nothing.
 * Any subset of the picked jobs keeps within the per-tenant caps, which the ranking already applied.
 */
const CLAIM_OVERPICK = 4;
const isShutdown = (signal: AbortSignal): boolean => signal.aborted && (signal.reason as Error | undefined)?.message === 'shutdown';

/**
 * Backoff before attempt n+1 after n failed attempts: `baseMs`, twice it, four times ... (2 s, 4 s, 8 s by default)
 * capped at 10 minutes, ±20% jitter; `random` in [0, 1).
 */
export function retryDelayMs(attempts: number, random: number, baseMs = DEFAULT_RETRY_BASE_MS): number {
  const base = Math.min(600_000, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}

/** Whether every promise settled within `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The scope a job's handler runs in: its tenant's (row-level security on its reads, as for a request), or none for
 * a job of the platform (the nil tenant: work of no tenant, across tenants).
 */
function inJobScope<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
  return tenantId === PLATFORM_TENANT_ID ? outsideTenantScope(fn) : runInTenantScope(tenantId, fn);
}

export function createJobQueue(deps: JobQueueDeps) {
  const { db, logger } = deps;
  const definitions = new Map<string, JobDefinition<unknown>>();
  const workerId = `${hostname()}:${process.pid}:${newId().slice(-6)}`;
  const running = new Map<string, AbortController>();
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let concurrency = 0;
  let types: string[] = [];
  let maxRunningDefault = 1;
  const maxQueuedDefault = deps.tenantLimits?.maxQueued ?? DEFAULT_MAX_QUEUED;
  let polling = false;
  let repoll = false;
  let idle: Promise<void> = Promise.resolve();
  const inFlight = new Set<Promise<void>>();
  const LEASE_SECONDS = deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const heartbeatMs = Math.min(5000, Math.round((LEASE_SECONDS * 1000) / 3));

  async function get(tenantId: string, id: string): Promise<JobRecord | undefined> {
    return queryOne<JobRecord>(db, sql`SELECT ${SELECT} FROM jobs WHERE tenant_id = ${tenantId} AND id = ${id}`);
  }

  /**
   * Claims up to `limit` due jobs, fairly across tenants: a tenant never runs more than its per-type cap
   * at once (counting live leases, and the jobs of this very claim by their rank within the tenant and
   * type), and the tenants with the fewest running jobs go first, so one tenant's six long trainings do
   * not make another tenant's one-second job wait. Within a tenant: priority, then age.
   */
  async function claim(limit: number): Promise<ClaimedJob[]> {
    const caps = types.map((ty) => definitions.get(ty)?.maxRunningPerTenant ?? maxRunningDefault);
    return queryRows<ClaimedJob>(
      db,
      sql`WITH caps AS (SELECT * FROM unnest(${sql.param(types)}::text[], ${sql.param(caps)}::int[]) AS c(type, cap)),
          live AS (SELECT tenant_id, type, count(*)::int AS n FROM jobs WHERE status = 'running' AND locked_until >= now() GROUP BY tenant_id, type),
          tenant_live AS (SELECT tenant_id, sum(n)::int AS n FROM live GROUP BY tenant_id),
          due AS (
            SELECT j.tenant_id, j.id, j.priority, j.run_at, caps.cap,
                   coalesce(l.n, 0) + row_number() OVER (PARTITION BY j.tenant_id, j.type ORDER BY j.priority DESC, j.run_at, j.id) AS type_slot,
                   coalesce(tl.n, 0) + row_number() OVER (PARTITION BY j.tenant_id ORDER BY j.priority DESC, j.run_at, j.id) AS tenant_slot
            FROM jobs j JOIN caps ON caps.type = j.type
            LEFT JOIN live l ON l.tenant_id = j.tenant_id AND l.type = j.type
            LEFT JOIN tenant_live tl ON tl.tenant_id = j.tenant_id
            WHERE ((j.status = 'queued' AND j.run_at <= now()) OR (j.status = 'running' AND j.locked_until < now())) AND j.cancel_requested = false),
          picked AS (SELECT tenant_id, id, tenant_slot, priority, run_at FROM due WHERE type_slot <= cap
                     ORDER BY tenant_slot, priority DESC, run_at, id LIMIT ${limit * CLAIM_OVERPICK})
          UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ${workerId},
                 locked_until = now() + make_interval(secs => ${LEASE_SECONDS}), started_at = coalesce(started_at, now()), updated_at = now()
          WHERE (tenant_id, id) IN (
            SELECT j.tenant_id, j.id FROM jobs j JOIN picked p ON p.tenant_id = j.tenant_id AND p.id = j.id
            WHERE ((j.status = 'queued' AND j.run_at <= now()) OR (j.status = 'running' AND j.locked_until < now())) AND j.cancel_requested = false
            ORDER BY p.tenant_slot, p.priority DESC, p.run_at, p.id
            LIMIT ${limit}
            FOR UPDATE OF j SKIP LOCKED)
          RETURNING ${SELECT}, traceparent`,
    );
  }

  /**
   * Jobs left `running` by a process that died: retried at once when they have attempts left, otherwise
   * failed as interrupted, instead of showing `running` until their lease expires. On the embedded
   * database every running job at start is such a job (one process only); on a server, those whose lease
   * holder is a dead process of this host (leaseOwnerIsDead).
   */
  async function recoverInterrupted(): Promise<number> {
    const held = await queryRows<{ tenantId: string; id: string; lockedBy: string | null }>(
      db,
      sql`SELECT tenant_id AS "tenantId", id, locked_by AS "lockedBy" FROM jobs WHERE status = 'running' AND locked_by IS DISTINCT FROM ${workerId}`,
    );
    const self = { workerId, host: hostname(), pid: process.pid };
    const dead = held.filter((j) => deps.exclusiveDatabase || (j.lockedBy !== null && leaseOwnerIsDead(j.lockedBy, self)));
    for (const j of dead) {
      await db.execute(sql`
        UPDATE jobs SET locked_by = NULL, locked_until = NULL, updated_at = now(),
               status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
               run_at = CASE WHEN attempts < max_attempts THEN now() ELSE run_at END,
               finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
               last_error = ${`${INTERRUPTED_PREFIX} the process running this job stopped`}
        WHERE tenant_id = ${j.tenantId} AND id = ${j.id} AND status = 'running' AND locked_by IS NOT DISTINCT FROM ${j.lockedBy}`);
    }
    if (dead.length) logger.warn({ jobs: dead.length }, 'jobs interrupted by a stopped process were recovered');
    return dead.length;
  }

  async function finish(job: JobRecord, status: JobStatus, fields: { result?: unknown; error?: string; runAt?: Date }): Promise<void> {
    await db.execute(sql`
      UPDATE jobs SET status = ${status}, locked_by = NULL, locked_until = NULL, updated_at = now(),
             result = coalesce(${fields.result === undefined ? null : JSON.stringify(fields.result)}::jsonb, result),
             last_error = coalesce(${fields.error ?? null}, last_error),
             run_at = coalesce(${fields.runAt?.toISOString() ?? null}::timestamptz, run_at),
             finished_at = CASE WHEN ${status} IN ('succeeded', 'failed', 'cancelled') THEN now() ELSE NULL END
      WHERE tenant_id = ${job.tenantId} AND id = ${job.id} AND locked_by = ${workerId}`);
  }

  /** A job interrupted by this worker's shutdown goes back to the queue without spending an attempt. */
  async function requeueAfterShutdown(job: JobRecord): Promise<void> {
    await db.execute(sql`UPDATE jobs SET status = 'queued', attempts = greatest(0, attempts - 1), locked_by = NULL, locked_until = NULL, updated_at = now()
                         WHERE tenant_id = ${job.tenantId} AND id = ${job.id} AND locked_by = ${workerId}`);
  }

  async function execute(job: ClaimedJob): Promise<void> {
    const def = definitions.get(job.type);
    const started = performance.now();
    const controller = new AbortController();
    running.set(job.id, controller);
    let lastWrite = 0;
    let pending: Record<string, unknown> = {};
    // Progress writes run one after another behind the handler; `writing` settles when the last one has.
    let writing: Promise<void> = Promise.resolve();
    const writeProgress = async (): Promise<void> => {
      const row = await queryOne<{ cancel: boolean }>(
        db,
        sql`UPDATE jobs SET progress = coalesce(progress, '{}'::jsonb) || ${JSON.stringify(pending)}::jsonb, updated_at = now()
            WHERE tenant_id = ${job.tenantId} AND id = ${job.id} RETURNING cancel_requested AS cancel`,
      );
      if (row?.cancel) controller.abort(new Error('cancelled'));
    };
    const heartbeat = setInterval(() => {
      void queryOne<{ cancel: boolean }>(
        db,
        sql`UPDATE jobs SET locked_until = now() + make_interval(secs => ${LEASE_SECONDS}), updated_at = now()
            WHERE tenant_id = ${job.tenantId} AND id = ${job.id} AND locked_by = ${workerId} RETURNING cancel_requested AS cancel`,
      )
        .then((r) => {
          if (!r || r.cancel) controller.abort(new Error('cancelled'));
        })
        .catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'job heartbeat failed'));
    }, heartbeatMs);
    heartbeat.unref();
    let status: JobStatus = 'succeeded';
    try {
      if (!def) throw new PermanentJobError(`no handler registered for job type ${job.type}`);
      const parsed = def.payload.safeParse(job.payload);
      if (!parsed.success) throw new PermanentJobError(`invalid payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
      const run: JobRun<unknown> = {
        id: job.id,
        tenantId: job.tenantId,
        payload: parsed.data,
        attempt: job.attempts,
        ctx: systemContext(job.tenantId, `job:${job.type}`, job.id),
        signal: controller.signal,
        async progress(p, force = false) {
          pending = { ...pending, ...p };
          const now = performance.now();
          if (!force && now - lastWrite < 250) return;
          lastWrite = now;
          // Each write sends everything merged so far (the merge in SQL makes a repeat harmless).
          const write = writing.then(writeProgress);
          writing = write.catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'job progress write failed'));
          if (force) await write;
        },
      };
      const result = await traceJob(deps.tracer, job, () => inJobScope(job.tenantId, () => def.handle(run)));
      await writing;
      if (Object.keys(pending).length) await run.progress({}, true);
      if (isShutdown(controller.signal)) {
        status = 'queued';
        await requeueAfterShutdown(job);
      } else if (controller.signal.aborted) {
        status = 'cancelled';
        await finish(job, 'cancelled', { error: 'cancelled' });
      } else {
        await finish(job, 'succeeded', { result: result ?? null });
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (isShutdown(controller.signal)) {
        status = 'queued';
        await requeueAfterShutdown(job).catch(() => undefined);
      } else if (controller.signal.aborted) {
        status = 'cancelled';
        await finish(job, 'cancelled', { error: 'cancelled' }).catch(() => undefined);
      } else if (err instanceof PermanentJobError || job.attempts >= job.maxAttempts) {
        status = 'failed';
        logger.warn({ jobId: job.id, type: job.type, attempt: job.attempts, err: message }, 'job failed');
        await finish(job, 'failed', { error: message.slice(0, 2000) }).catch(() => undefined);
      } else {
        status = 'queued';
        const delay = retryDelayMs(job.attempts, Math.random(), def?.retryBaseMs);
        logger.info({ jobId: job.id, type: job.type, attempt: job.attempts, retryInMs: delay }, 'job attempt failed; retrying');
        await finish(job, 'queued', { error: message.slice(0, 2000), runAt: new Date(Date.now() + delay) }).catch(() => undefined);
        const parsed = def?.onRetry ? def.payload.safeParse(job.payload) : null;
        if (def?.onRetry && parsed?.success) {
          const told = { tenantId: job.tenantId, id: job.id, payload: parsed.data, attempt: job.attempts, maxAttempts: job.maxAttempts };
          await inJobScope(job.tenantId, () => def.onRetry!(told, message, delay)).catch((e: unknown) =>
            logger.warn({ err: e, jobId: job.id }, 'job retry hook failed'),
          );
        }
      }
    } finally {
      await writing;
      clearInterval(heartbeat);
      running.delete(job.id);
      deps.onJobFinished?.(job.type, status, (performance.now() - started) / 1000);
    }
  }

  async function poll(): Promise<void> {
    if (stopped) return;
    if (polling) {
      repoll = true;
      return;
    }
    polling = true;
    try {
      do {
        repoll = false;
        const free = concurrency - running.size;
        if (free <= 0 || !types.length) break;
        let claimed: ClaimedJob[] = [];
        try {
          claimed = await claim(free);
        } catch (err) {
          logger.error({ err }, 'job claim failed');
          break;
        }
        for (const job of claimed) {
          const p = execute(job).finally(() => {
            inFlight.delete(p);
            void poll();
          });
          inFlight.add(p);
        }
        if (claimed.length === free) repoll = true;
      } while (repoll && !stopped);
    } finally {
      polling = false;
    }
  }

  return {
    workerId,
    register<P>(def: JobDefinition<P>): void {
      if (definitions.has(def.type)) throw new Error(`job type ${def.type} registered twice`);
      definitions.set(def.type, def as JobDefinition<unknown>);
    },

    registeredTypes(): string[] {
      return [...definitions.keys()];
    },

    async enqueue<P>(tenantId: string, type: string, payload: P, opts: EnqueueOptions = {}): Promise<JobRecord> {
      const def = definitions.get(type);
      if (!def) throw new Error(`unknown job type ${type}`);
      const parsed = def.payload.safeParse(payload);
      if (!parsed.success) throw new AppError('validation', 'JOB_PAYLOAD_INVALID', `Invalid payload for ${type}.`);
      const dedupeKey = opts.dedupeKey ?? null;
      const traceparent = currentTraceparent() ?? null;
      const live = () =>
        queryOne<JobRecord>(
          db,
          sql`SELECT ${SELECT} FROM jobs WHERE tenant_id = ${tenantId} AND type = ${type} AND dedupe_key = ${dedupeKey}
              AND status IN ('queued', 'running') LIMIT 1`,
        );
      const maxQueued = def.maxQueuedPerTenant ?? maxQueuedDefault;
      let row: JobRecord | undefined;
      for (let round = 1; ; round++) {
        if (dedupeKey !== null) {
          const existing = await live();
          if (existing) return existing;
        }
        // The cap is checked in the INSERT itself, so it holds for concurrent enqueues on one session. ON CONFLICT
        // (jobs_live_dedupe_idx): of two processes booking one key at once, one inserts and the other finds its job at
        // the next look. No row and no live job means the queue is full, or the key's job finished in between.
        row = await queryOne<JobRecord>(
          db,
          sql`INSERT INTO jobs (tenant_id, id, type, payload, priority, max_attempts, run_at, dedupe_key, traceparent)
              SELECT ${tenantId}, ${newId()}, ${type}, ${JSON.stringify(parsed.data)}::jsonb, ${opts.priority ?? 0},
                     ${opts.maxAttempts ?? def.maxAttempts ?? 3}, ${(opts.runAt ?? new Date()).toISOString()}, ${dedupeKey},
                     ${traceparent}
              WHERE (SELECT count(*) FROM jobs WHERE tenant_id = ${tenantId} AND type = ${type} AND status = 'queued') < ${maxQueued}
              ON CONFLICT (tenant_id, type, dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
              RETURNING ${SELECT}`,
        );
        if (row || dedupeKey === null || round === 3) break;
      }
      if (!row) {
        throw new AppError(
          'rate_limited',
          'JOB_QUEUE_FULL',
          `This tenant already has ${maxQueued} ${type} jobs waiting, the most allowed: wait for some to finish or cancel them, then try again.`,
          { retryAfterSeconds: 30 },
        );
      }
      // The claim and the handlers it starts serve every tenant: never in the scope of the request that enqueued.
      if (!stopped && types.includes(type)) setImmediate(() => void outsideTenantScope(() => poll()));
      return row;
    },

    get,

    async list(
      tenantId: string,
      f: { type?: string | undefined; status?: JobStatus | undefined; cursor?: string | undefined; limit: number },
    ): Promise<JobRecord[]> {
      const conds = [sql`tenant_id = ${tenantId}`];
      if (f.type) conds.push(sql`type = ${f.type}`);
      if (f.status) conds.push(sql`status = ${f.status}`);
      if (f.cursor) conds.push(sql`id < ${f.cursor}`);
      return queryRows<JobRecord>(
        db,
        sql`SELECT ${SELECT} FROM jobs WHERE ${sql.join(conds, sql` AND `)} ORDER BY id DESC LIMIT ${f.limit}`,
      );
    },

    /** Queued jobs are cancelled at once; running ones are asked to stop (their signal aborts). */
    async cancel(tenantId: string, id: string): Promise<JobRecord | undefined> {
      const row = await queryOne<JobRecord>(
        db,
        sql`UPDATE jobs SET cancel_requested = true, updated_at = now(),
                   status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                   finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${SELECT}`,
      );
      running.get(id)?.abort(new Error('cancelled'));
      return row;
    },

    /** Starts polling for jobs of the given types (default: every registered type). */
    start(opts: { concurrency: number; types?: string[] }): void {
      stopped = false;
      concurrency = opts.concurrency;
      maxRunningDefault = deps.tenantLimits?.maxRunning ?? Math.max(1, Math.floor(concurrency / 2));
      types = opts.types ?? [...definitions.keys()];
      // Jobs a dead process left running are recovered once, before the first claim.
      const ready = recoverInterrupted().catch((err: unknown) => logger.error({ err }, 'recovering interrupted jobs failed'));
      const loop = (): void => {
        if (stopped) return;
        idle = ready.then(() => poll());
        timer = setTimeout(loop, deps.pollMs);
        timer.unref();
      };
      outsideTenantScope(loop);
    },

    /**
     * Stops claiming, aborts running handlers and waits for them to record their outcome, at most `stopGraceMs`:
     * a handler that ignores its signal must not hold its process's shutdown forever.
     */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      const grace = deps.stopGraceMs ?? 30_000;
      await settledWithin([idle], grace);
      for (const c of running.values()) c.abort(new Error('shutdown'));
      if (!(await settledWithin([...inFlight], grace))) {
        logger.warn(
          { jobs: [...running.keys()], graceMs: grace },
          'jobs still running after the shutdown grace period were left to their leases',
        );
      }
    },

    /** Waits until no job of this process is running (tests). */
    async drain(): Promise<void> {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
export type JobQueue = ReturnType<typeof createJobQueue>;
