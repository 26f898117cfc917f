import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mutex, PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { applyRowLevelSecurity, TENANT_ROLE, TENANT_SETTING } from './row-level-security.ts';
import { currentScopeTenant } from './tenant-read-scope.ts';
import { traceStatement } from './tracing.ts';
import { type ReplicaOptions, type ReplicaStatus, watchReplica } from './database.replica.ts';

/** Drizzle over either target; a transaction has the same surface. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/**
 * The unit of work a repository method runs in: the database or an open transaction. Every repository method
 * takes it as its FIRST parameter (then the tenant id); repository factories hold no database handle, and
 * services pass `platform.db` or the transaction they opened.
 */
export type Q = Pick<Db, 'execute'>;

/** A repository's methods with the unit of work fixed to `q` (for read-only views handed to other modules). */
export type BoundQuery<R> = { [K in keyof R]: R[K] extends (q: Q, ...args: infer A) => infer T ? (...args: A) => T : R[K] };

/** Binds every method of `repo` to the unit of work `q` (the first parameter of every repository method). */
export function bindQuery<R extends Record<string, unknown>>(q: Q, repo: R): BoundQuery<R> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(repo)) out[k] = typeof v === 'function' ? (...args: unknown[]) => v(q, ...args) : v;
  return out as BoundQuery<R>;
}
/** Anything that can run a query: the database or an open transaction. */

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /**
   * Reads that may lag the primary by a bounded time (reports): the streaming replica while it keeps up, the primary
   * otherwise; `db` itself without a replica. Never for a read that must see the caller's own latest write.
   */
  readonly reader?: Db;
  /** Where `reader` goes now and why, when a replica is configured. */
  readonly replica?: { status(): ReplicaStatus; onChange(listener: (s: ReplicaStatus) => void): void };
  /** The embedded instance when kind is 'pglite' (tests dump and clone it). */
  readonly pglite: PGlite | undefined;
  close(): Promise<void>;
}

/**
 * How a tenant scope guards the reads it sends outside a transaction (`tenant-read-scope.ts`):
 * - `session` (the default): the connection itself runs as the tenant role with the tenant as a SESSION setting,
 *   re-set only when that connection's tenant changes: no transaction, 0 extra round trips for a repeat tenant, 1
 *   otherwise. PostgreSQL: a second pool whose connections serve scoped reads only; PGlite: the one connection,
 *   put back to the connecting role before any other statement.
 * - `transaction`: each read in its own short transaction as the tenant role with the tenant set (BEGIN + settings,
 *   the read, COMMIT). The earlier design, kept as the reference `bench:rls` measures against.
 */
export type ReadScopeMode = 'session' | 'transaction';

export type DatabaseOptions =
  | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob; readScope?: ReadScopeMode }
  | {
      kind: 'postgres';
      url: string;
      poolSize?: number;
      scopedPoolSize?: number;
      readScope?: ReadScopeMode;
      /** How long a pool waits for a new connection before the query fails (default 5 s). */
      connectTimeoutMs?: number;
      /** A streaming replica for `Database.reader` (platform/database.replica.ts). */
      replica?: Omit<ReplicaOptions, 'connectTimeoutMs'>;
      /** PostgreSQL's JIT compilation for this process's connections (default off: see `jitOff`). */
      jit?: boolean;
      /**
       * Told every statement the pools' connections send (a replica's too), with its bound values, before it is sent (the Citus
       * conformance check records them to EXPLAIN later: test/scale.conformance.int.test.ts). Must not throw.
       */
      onStatement?: StatementObserver;
    };

/** See `DatabaseOptions.onStatement`. */
export type StatementObserver = (text: string, values: readonly unknown[] | undefined) => void;

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Extensions loaded into the embedded database; the server gets them from `CREATE EXTENSION` in migrations. */
const pgliteExtensions = { pg_trgm, unaccent, fuzzystrmatch };

// int8 as text: ids and counters beyond 2^53 must stay exact; numeric stays text for the same reason.
pg.types.setTypeParser(20, (v) => v);

/** Opens the embedded database (a folder, or memory) or a PostgreSQL pool. */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.kind === 'pglite') {
    if (opts.dataDir) await fs.mkdir(opts.dataDir, { recursive: true, mode: 0o700 }); // owner-only, like the data folder
    const client = await PGlite.create({
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
      extensions: pgliteExtensions,
      parsers: { [pgliteTypes.INT8]: (v: string) => v },
    });
    // Every user of the instance (drizzle, dumps, ANALYZE) goes through the guard: see `tenantScopedPglite`.
    const guarded = tenantScopedPglite(client, opts.readScope);
    const db = drizzlePglite({ client: guarded }) as unknown as Db;
    return { kind: 'pglite', db, reader: db, pglite: guarded, close: () => guarded.close() };
  }
  const primary = openPools(opts.url, opts);
  const db = drizzlePg(primary.pool) as unknown as Db;
  if (!opts.replica) return { kind: 'postgres', db, reader: db, pglite: undefined, close: primary.close };
  const replica = openPools(opts.replica.url, { ...opts, poolSize: opts.replica.poolSize ?? opts.poolSize });
  const watch = watchReplica({
    primary: primary.pool,
    replica: replica.pool,
    maxLagMs: opts.replica.maxLagMs,
    checkMs: opts.replica.checkMs,
    isOutage: (err) => databaseOutageSign(err) !== undefined,
  });
  const reader = drizzlePg(watch.router(replica.pool) as never) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    reader,
    replica: { status: watch.status, onChange: watch.onChange },
    pglite: undefined,
    close: async () => {
      watch.stop();
      await Promise.all([primary.close(), replica.close()]);
    },
  };
}

/**
 * One server's pools: the main pool, whose `query` sends reads made inside a tenant scope to a second, smaller pool
 * (`session` mode) or into a tenant transaction (`transaction` mode). Every pool gives up on a new connection after
 * `connectTimeoutMs` (a blackholed host otherwise holds a request until the kernel's TCP timeout, minutes).
 */
function openPools(
  url: string,
  opts: {
    poolSize?: number;
    scopedPoolSize?: number;
    readScope?: ReadScopeMode;
    connectTimeoutMs?: number;
    onStatement?: StatementObserver;
    jit?: boolean;
  },
): { pool: pg.Pool; close(): Promise<void> } {
  const poolSize = opts.poolSize ?? 10;
  const connectionTimeoutMillis = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis });
  const ignoreIdleError = () => {
    /* idle client errors are surfaced on the next query; never crash the process here */
  };
  pool.on('error', ignoreIdleError);
  if (!opts.jit) jitOff(pool);
  if (opts.onStatement) observeStatements(pool, opts.onStatement);
  traceQueries(pool);
  // Named statements only in `session` mode: in `transaction` mode (behind PgBouncer in transaction mode) the next
  // statement may reach another server connection, where the name was never prepared.
  if (opts.readScope !== 'transaction') allowNamedStatements(pool);
  if (opts.readScope === 'transaction') {
    scopePoolQueriesByTransaction(pool);
    return { pool, close: () => pool.end() };
  }
  // Scoped reads only: its connections run as the tenant role and never serve anything else.
  const scopedPool = new pg.Pool({
    connectionString: url,
    max: opts.scopedPoolSize ?? Math.max(2, Math.ceil(poolSize / 2)),
    connectionTimeoutMillis,
  });
  scopedPool.on('error', ignoreIdleError);
  if (!opts.jit) jitOff(scopedPool);
  if (opts.onStatement) observeStatements(scopedPool, opts.onStatement);
  traceQueries(scopedPool);
  allowNamedStatements(scopedPool);
  scopePoolQueriesBySession(pool, scopedPool);
  return { pool, close: async () => void (await Promise.all([pool.end(), scopedPool.end()])) };
}

/**
 * `SET jit = off` on each new connection of `pool`, before anything else it runs (registered before the statement
 * observers and tracing, so they never see it). PostgreSQL compiles a statement whose estimated cost passes
 * `jit_above_cost` (100,000), with inlining and optimization past 500,000: the analytics statements (rollup refreshes,
 * funnels, retention) are estimated far above that whatever they really read, because their CTEs and arrays have no
 * statistics, and compiling them costs seconds. bench:analytics, PostgreSQL, load 12-15: the round that closes a
 * report rollup's hour 9.5 s with JIT (136 functions compiled) against 0.3 s without; 50,000 sessions: the 5-step
 * funnel raw 1.8-1.9 s against 1.1-1.2, retention 458-826 ms against 290-392; paths, a sort of a million page views,
 * is the one report JIT helped (6.0-6.4 s against 7.7-8.5). DATABASE_JIT=on gives the server's own setting back.
 * A failed SET (a server without the setting) leaves the connection as it was.
 */
function jitOff(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    client.query('SET jit = off').catch(() => undefined);
  });
}

/**
 * Tells `observer` every statement a connection of `pool` sends, once: every `client.query` of the pool's
 * connections (`pool.query` itself ends in one, callback style), as text or query config, with its values.
 */
function observeStatements(pool: pg.Pool, observer: StatementObserver): void {
  pool.on('connect', (client) => {
    const clientQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const [first, second] = args;
      const config = typeof first === 'object' && first !== null ? (first as { text?: unknown; values?: unknown }) : undefined;
      const text = typeof first === 'string' ? first : config?.text;
      const values = Array.isArray(second) ? second : Array.isArray(config?.values) ? config.values : undefined;
      if (typeof text === 'string') observer(text, values ? [...(values as unknown[])] : undefined);
      return clientQuery(...args);
    };
  });
}

/**
 * A span per statement inside a traced request or job (platform/tracing.ts): `pool.query` (promise style, in the
 * caller's context; wrapped before the tenant-scope routing, so a scoped read is traced once, on its client) and
 * every promise-style `client.query` of the pool's connections (transactions, scoped reads). The pool's own
 * callback-style calls into a client are the traced `pool.query`'s and are left alone.
 */
function traceQueries(pool: pg.Pool): void {
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (...args: unknown[]) =>
    typeof args[args.length - 1] === 'function' ? poolQuery(...args) : traceStatement(args[0], () => poolQuery(...args));
  pool.on('connect', (client) => {
    const clientQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) =>
      typeof args[args.length - 1] === 'function' ? clientQuery(...args) : traceStatement(args[0], () => clientQuery(...args));
  });
}

/**
 * The settings that make a transaction tenant-scoped: the tenant role and the tenant, both for this
 * transaction only (as `inTenant` does). Simple-protocol text (PostgreSQL sends it with BEGIN in one round trip), so the tenant id is inlined; it is
 * a UUID checked by `runInTenantScope`, and checked again here because it is SQL text.
 */
function tenantSettings(tenantId: string): string {
  checkTenantText(tenantId);
  return `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('${TENANT_SETTING}', '${tenantId}', true)`;
}

/**
 * The same for a whole session (`session` mode): the connection becomes the tenant role and keeps the tenant until
 * told otherwise. Two statements in one simple-protocol message: one round trip, one implicit transaction (both
 * take effect, or neither does).
 */
function sessionTenantSettings(tenantId: string): string {
  checkTenantText(tenantId);
  return `SET ROLE ${TENANT_ROLE}; SELECT set_config('${TENANT_SETTING}', '${tenantId}', false)`;
}

/** Back to the connecting role with no tenant (the embedded connection, before any statement that is not a scoped read). */
const SESSION_SYSTEM = `RESET ROLE; RESET ${TENANT_SETTING}`;

function checkTenantText(tenantId: string): void {
  if (!/^[0-9a-f-]{36}$/.test(tenantId)) throw new Error('tenantSettings: the tenant id is not a UUID');
}

/**
 * Whether a statement only reads: the scope covers reads (writes belong in `inTenant`'s transactions, and shared
 * writers such as the served-log or exposure batchers write several tenants' rows from whichever request flushed).
 * A `WITH` naming INSERT, UPDATE, DELETE or MERGE anywhere (even `FOR UPDATE` or inside a literal) counts as a
 * write and runs as before: a misjudged statement loses the guard, never its rows.
 */
export function isReadStatement(text: string): boolean {
  if (/^\s*(?:\(\s*)*(?:SELECT|TABLE|VALUES)\b/i.test(text)) return true;
  return /^\s*WITH\b/i.test(text) && !/\b(?:INSERT|UPDATE|DELETE|MERGE)\b/i.test(text);
}

/** The tenant a `pool.query` call is to be scoped to, or undefined when it runs as before. */
function scopeOf(args: unknown[]): string | undefined {
  const tenantId = currentScopeTenant();
  if (tenantId === undefined) return undefined;
  // A callback-style call is not drizzle's nor ours: left as it was.
  const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | undefined)?.text;
  if (typeof args[args.length - 1] === 'function' || typeof text !== 'string' || !isReadStatement(text)) return undefined;
  return tenantId;
}

/**
 * Row-level security for the reads a request runs outside a transaction, on PostgreSQL (`session` mode): inside a
 * tenant scope, `pool.query` sends a read to `scopedPool` instead, whose connections run as the tenant role with the
 * tenant as a session setting. Each connection remembers the tenant it was last set to (`tenantOf`, in this process):
 * a repeat tenant costs no round trip, another tenant one (role and tenant in one message, before the read). The
 * remembered tenant is written only once the settings statement succeeded, and forgotten before it is sent, so a
 * connection whose settings failed is never taken for set (it is destroyed, not pooled). A read that fails with an
 * ordinary SQL error leaves the settings as they were (they were committed by an earlier implicit transaction and
 * a read outside a transaction cannot open one), so the connection goes back to the pool; any other failure (a lost
 * connection, a FATAL) destroys it. Connections of `scopedPool` serve nothing else, so the tenant role never reaches
 * system work, drizzle's transactions (`pool.connect` of the main pool) or unscoped reads.
 */
function scopePoolQueriesBySession(pool: pg.Pool, scopedPool: pg.Pool): void {
  const tenantOf = new WeakMap<pg.PoolClient, string>();
  const scoped = async (tenantId: string, args: unknown[]) => {
    const client = await scopedPool.connect();
    let broken: Error | undefined;
    try {
      if (tenantOf.get(client) !== tenantId) {
        tenantOf.delete(client);
        try {
          await client.query(sessionTenantSettings(tenantId));
        } catch (err) {
          broken = asError(err);
          throw err;
        }
        tenantOf.set(client, tenantId);
      }
      try {
        return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        if (!(err instanceof pg.DatabaseError && err.severity === 'ERROR')) broken = asError(err);
        throw err;
      }
    } finally {
      client.release(broken);
    }
  };
  routeScopedReads(pool, scoped);
}

/** Sends `pool.query` calls made inside a tenant scope (reads: see `scopeOf`) to `scoped`, the rest as before. */
function routeScopedReads(pool: pg.Pool, scoped: (tenantId: string, args: unknown[]) => Promise<unknown>): void {
  const plain = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    const tenantId = scopeOf(args);
    return tenantId === undefined ? plain(...args) : scoped(tenantId, args);
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * `transaction` mode on PostgreSQL: inside a tenant scope `pool.query` takes a connection and runs a read between
 * the tenant BEGIN and COMMIT (two extra round trips). A connection whose ROLLBACK fails is destroyed, not pooled.
 */
function scopePoolQueriesByTransaction(pool: pg.Pool): void {
  const scoped = async (tenantId: string, args: unknown[]) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN; ${tenantSettings(tenantId)}`);
      const res = await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      await client.query('COMMIT');
      return res;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = asError(e);
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
  routeScopedReads(pool, scoped);
}

/** The PGlite methods that send statements: each runs as the connecting role (after the guard's reset). */
const PGLITE_SYSTEM_METHODS = new Set<PropertyKey>([
  'sql',
  'exec',
  'transaction',
  'describeQuery',
  'execProtocol',
  'execProtocolRaw',
  'execProtocolStream',
  'listen',
  'unlisten',
  'dumpDataDir',
  'clone',
  'refreshArrayTypes',
  'runExclusive',
  'close',
]);

/**
 * The same guard for the embedded database, which has one connection, so the guard owns its session state.
 *
 * `session` mode (default): a read inside a tenant scope runs on the connection as the tenant role with the tenant
 * as a session setting, set only when the connection's tenant changes (`SET ROLE` + `set_config`, one call); every
 * other statement (an unscoped read, a write, a transaction, a dump, ANALYZE, anything sent through the instance)
 * first puts the connection back to the connecting role with no tenant (`RESET`, one call, only when a tenant is
 * set). A mutex of the guard's own spans "settings + statement", so nothing slips between the two; what the
 * connection is set to is written only after its statement succeeded (and is "unknown", forcing a reset or re-set,
 * while one is in flight or after one failed, or whenever the instance is left inside a transaction block). The
 * returned proxy is the ONLY handle to use: anything sent to the raw instance behind the guard's back would find
 * the tenant role still set (openDatabase hands out the proxy as `Database.pglite` too).
 *
 * `transaction` mode: each scoped read runs in a PGlite transaction opened as the tenant role for the scope's tenant,
 * as `inTenant` does for writes; statements outside a scope go to the instance as they are.
 */
export function tenantScopedPglite(client: PGlite, mode: ReadScopeMode = 'session'): PGlite {
  if (mode === 'transaction') return scopePgliteByTransaction(client);
  const lock = new Mutex();
  /** The connection's tenant: a tenant id, null for the connecting role with no tenant, undefined for unknown. */
  let session: string | null | undefined;
  const settle = () => {
    try {
      if (client.isInTransaction()) session = undefined; // a transaction block may yet roll the settings back
    } catch {
      session = undefined; // closed
    }
  };
  const asSystem = <T>(fn: () => Promise<T>): Promise<T> =>
    lock.runExclusive(async () => {
      if (session !== null) {
        session = undefined;
        await client.exec(SESSION_SYSTEM);
        session = null;
      }
      try {
        return await fn();
      } finally {
        settle();
      }
    });
  const scopedRead = (tenantId: string, run: () => Promise<unknown>) =>
    lock.runExclusive(async () => {
      if (session !== tenantId) {
        session = undefined;
        await client.exec(sessionTenantSettings(tenantId));
        session = tenantId;
      }
      try {
        return await run();
      } finally {
        settle();
      }
    });
  const query = ((text: string, params?: unknown[], options?: unknown) => {
    const tenantId = currentScopeTenant();
    const run = () => client.query(text, params, options as never);
    return traceStatement(text, () => (tenantId === undefined || !isReadStatement(text) ? asSystem(run) : scopedRead(tenantId, run)));
  }) as PGlite['query'];
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') return query;
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      return PGLITE_SYSTEM_METHODS.has(prop) ? (...args: unknown[]) => asSystem(async () => fn(...args)) : fn;
    },
  });
}

function scopePgliteByTransaction(client: PGlite): PGlite {
  const query: PGlite['query'] = (text, params, options) => {
    const tenantId = currentScopeTenant();
    if (tenantId === undefined || !isReadStatement(text)) return client.query(text, params, options);
    return client.transaction(async (tx) => {
      await tx.exec(tenantSettings(tenantId));
      return tx.query(text, params, options);
    });
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') return query;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Statistics target of the embedded database's periodic ANALYZE: 300 x 10 rows sampled a table (see below). */
const ANALYZE_TARGET_EMBEDDED = 10;

/**
 * The embedded database runs no autovacuum, so the planner would keep the statistics of an empty database
 * while tables grow to millions of rows (identifier lookups and locks then scan whole tenants). Refreshes
 * them soon after start and then every `everyMs`. A server has autovacuum: nothing to do.
 *
 * The embedded database executes on the thread that serves requests, so a database-wide ANALYZE held every
 * request for as long as all tables took. Instead, each round analyzes only the tables that changed size since
 * their last statistics (or never had any), one statement per table with a turn of the event loop between
 * them: a request waits for one table's sample at worst, and nothing at all while tables keep their size.
 * The sample is ANALYZE_TARGET_EMBEDDED's 3,000 rows a table, not the default 30,000: at 30,000 one table held every
 * request for 120-170 ms (a Yelp-size recs tenant, recs_served, interactions: six such stalls in the first round,
 * 30 s after start, and recs_served again every 5 minutes while serving logs its responses); at 3,000 those tables took
 * 2-3x less CPU (45-70 ms: part of the cost does not shrink with the sample), a 300,000-row recs_served 6-9x less.
 * Row counts are extrapolated from the sampled pages as before (299,952 for 300,000 rows); what is coarser is the
 * value distributions (10 most common values and 10 histogram buckets a column), ample for what the planner chooses
 * here (an index or not, by tenant). Returns a function that stops the refresh.
 */
export function keepStatisticsFresh(
  database: Database,
  log: { warn(obj: unknown, msg: string): void },
  opts: { everyMs?: number; firstAfterMs?: number; statisticsTarget?: number } = {},
): () => void {
  const client = database.pglite;
  if (database.kind !== 'pglite' || !client) return () => undefined;
  const target = Math.max(1, Math.min(10_000, Math.floor(opts.statisticsTarget ?? ANALYZE_TARGET_EMBEDDED)));
  let stopped = false;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      // relpages is what the last ANALYZE saw; the file size is what is there now (a stat call, no scan).
      const stale = await client.query<{ name: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            AND pg_relation_size(c.oid) > 0
            AND (c.reltuples < 0 OR abs(pg_relation_size(c.oid) / current_setting('block_size')::int - c.relpages) > greatest(8, c.relpages * 0.2))
          ORDER BY pg_relation_size(c.oid) DESC`,
      );
      for (const { name } of stale.rows) {
        if (stopped) break;
        await new Promise<void>((r) => setImmediate(r));
        await client.exec(`SET default_statistics_target = ${target}; ANALYZE ${name}; RESET default_statistics_target`);
      }
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'ANALYZE of the embedded database failed');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), opts.firstAfterMs ?? 30_000);
  const timer = setInterval(() => void run(), opts.everyMs ?? 5 * 60_000);
  first.unref();
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}

/** Applies the one migration folder to either target, then row-level security on every tenant table. Idempotent. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as never, { migrationsFolder: MIGRATIONS_DIR });
    await applyRowLevelSecurity(database.db);
  } else {
    // Serialize concurrent migrators (several replicas starting at once).
    await database.db.execute(sql`SELECT pg_advisory_lock(727274)`);
    try {
      await migratePg(database.db as never, { migrationsFolder: MIGRATIONS_DIR });
      await applyRowLevelSecurity(database.db);
    } finally {
      await database.db.execute(sql`SELECT pg_advisory_unlock(727274)`);
    }
  }
}

const dialect = new PgDialect();

interface RawClient {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Pools (and their connections) whose statements may be sent as named prepared statements (`queryRows`'s `prepare`).
 * The embedded database, a replica router and `transaction` read scope send every statement unnamed.
 */
const NAMEABLE = new WeakSet<object>();
function allowNamedStatements(pool: pg.Pool): void {
  NAMEABLE.add(pool);
  pool.on('connect', (client) => NAMEABLE.add(client));
}

/** A prepared statement's name per statement text (a hash: the same text, the same name on every connection). */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    // bounded: only statements of a fixed text are prepared, but a runaway caller must not grow it forever
    if (statementNames.size >= 1000) statementNames.clear();
    name = `loupe_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Runs a raw SQL statement (drizzle's `sql` template: values are always bound parameters) and returns its
 * rows, the same on both targets. It compiles the statement once and hands it straight to the driver of
 * the database or open transaction (PGlite, a pg Pool or a transaction's client): drizzle's own `execute`
 * costs about a millisecond more per statement on PGlite, and returns timestamps as text. Here
 * timestamps come back as Date and int8 as exact text.
 */
export async function queryRows<T>(q: Pick<Db, 'execute'>, query: SQL, opts: QueryOptions = {}): Promise<T[]> {
  const client = (q as unknown as { session?: { client?: RawClient } }).session?.client;
  if (!client) {
    const res = (await q.execute(query)) as unknown as { rows: T[] };
    return res.rows;
  }
  const compiled = dialect.sqlToQuery(query);
  if (opts.prepare && NAMEABLE.has(client)) {
    const res = await (client as unknown as pg.ClientBase).query({
      name: statementName(compiled.sql),
      text: compiled.sql,
      values: compiled.params,
    });
    return res.rows as T[];
  }
  const res = await client.query(compiled.sql, compiled.params);
  return res.rows as T[];
}

export interface QueryOptions {
  /**
   * Send it as a named prepared statement on PostgreSQL (parsed and planned once per connection, then only bound and
   * run; the server may keep a generic plan): for hot statements whose text never varies (values only in
   * parameters; a text built with a varying number of parameters would prepare a statement per shape). A statement
   * of many small subqueries spends most of its server time planning (the feed's per-shopper read: 0.4 ms planning,
   * 0.1 ms running). Ignored on the embedded database and in `transaction` read scope.
   */
  prepare?: boolean;
}

/** First row or undefined. */
export async function queryOne<T>(q: Pick<Db, 'execute'>, query: SQL, opts: QueryOptions = {}): Promise<T | undefined> {
  const rows = await queryRows<T>(q, query, opts);
  return rows[0];
}

/** Binds a JavaScript array as ONE array parameter (for `unnest($1::text[])` bulk SQL). */
export function arrayParam(values: readonly unknown[]): SQL {
  return sql`${sql.param(values)}`;
}

export async function pingDatabase(database: Database): Promise<void> {
  await database.db.execute(sql`SELECT 1`);
}

/** Socket errors: from the database's pool, or from any other outbound call (told apart by `databaseAnswers`). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** PostgreSQL SQLSTATEs that mean the server cannot serve now (not a fault of the statement). */
const UNAVAILABLE_SQLSTATES = new Set([
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
]);
/** node-postgres's own words for a lost or unobtainable connection. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/;

/**
 * How an error (or one of its causes: drizzle wraps the driver's) relates to the database server being down:
 * `down` when PostgreSQL or its driver says so (shutdown SQLSTATEs, a terminated connection), `socket` for a socket
 * error, which a database outage and any other outbound call both raise, undefined otherwise.
 */
export function databaseOutageSign(err: unknown): 'down' | 'socket' | undefined {
  let sign: 'socket' | undefined;
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_SQLSTATES.has(code)) return 'down';
    if (UNAVAILABLE_MESSAGE.test(e.message)) return 'down';
    if (typeof code === 'string' && SOCKET_CODES.has(code)) sign = 'socket';
    if (e instanceof AggregateError && e.errors.some((x) => databaseOutageSign(x) !== undefined)) sign = 'socket';
    e = e.cause;
  }
  return sign;
}

/** Whether the database answers a `SELECT 1` within `ms` (used to tell a database outage from another socket error). */
export async function databaseAnswers(database: Database, ms = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      pingDatabase(database).then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
