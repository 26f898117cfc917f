/**
 * Scale-out (issue 17) with real processes on one PostgreSQL database: the scheduler elected through an advisory
 * lock, job leases after `kill -9`, graceful shutdown that requeues, per-tenant fairness across two workers, and
 * `loupe serve --no-worker` beside `loupe worker`. PostgreSQL only (the embedded database has one process).
 * Small job counts keep it fast; the 10,000-job figures are in bench/scale.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, queryOne, queryRows, type Database } from '../src/platform/database.ts';
import { newId } from '../src/platform/ids.ts';
import { createJobQueue, type JobQueue } from '../src/platform/jobs.queue.ts';
import { freePort, LOUPE_BIN } from './processes.ts';
import { scaleJobs } from './scale-child.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const CHILD = path.resolve(import.meta.dirname, 'scale-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let database: Database;
let url = '';
let dbName = '';
let queue: JobQueue;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!onPostgres) return;
  // A database of its own (cloned from the migrated template) whose URL the child processes are given.
  dbName = `loupe_t_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${inject('pgTemplate')}`);
  await admin.end();
  const u = new URL(inject('pgUrl'));
  u.pathname = `/${dbName}`;
  url = u.toString();
  database = await openDatabase({ kind: 'postgres', url, poolSize: 4 });
  queue = createJobQueue({ db: database.db, logger: pino({ level: 'silent' }), pollMs: 100, tenantLimits: { maxQueued: 100_000 } });
  for (const def of scaleJobs(() => 'test')) queue.register(def);
});

// A failed test must not leave its processes claiming the next test's jobs.
afterEach(async () => {
  const alive = children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.kill('SIGKILL');
  await Promise.all(alive.map((c) => new Promise((r) => c.once('exit', r))));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!onPostgres) return;
  await database?.close();
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

interface Child {
  proc: ChildProcess;
  lines: string[];
  waitFor(pred: (line: string) => boolean, ms?: number): Promise<string>;
  exited(): Promise<number | null>;
}

function start(cmd: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, cmd, {
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const lines: string[] = [];
  let err = '';
  let buf = '';
  proc.stdout!.on('data', (d) => {
    buf += String(d);
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  proc.stderr!.on('data', (d) => (err += String(d)));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    async waitFor(pred, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (proc.exitCode !== null) throw new Error(`child exited (${proc.exitCode}): ${lines.join('\n')}\n${err}`);
        if (Date.now() > end) throw new Error(`timeout; output:\n${lines.join('\n')}\n${err}`);
        await sleep(20);
      }
    },
    exited: () => exit,
  };
}

const child = (role: 'worker' | 'scheduler', env: Record<string, string> = {}) => start(['--import', 'tsx', CHILD, role], env);

const job = (tenantId: string, id: string) =>
  queryOne<{ status: string; attempts: number; lockedBy: string | null; result: { worker: string } | null }>(
    database.db,
    sql`SELECT status, attempts, locked_by AS "lockedBy", result FROM jobs WHERE tenant_id = ${tenantId} AND id = ${id}`,
  );

async function until<T>(fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe.skipIf(!onPostgres)('scheduler elected through a PostgreSQL advisory lock', () => {
  it('two schedulers started at once: one runs the tasks; after kill -9 the other takes over', async () => {
    const lock = `scale-test-${randomBytes(4).toString('hex')}`;
    const a = child('scheduler', { SCALE_LOCK: lock });
    const b = child('scheduler', { SCALE_LOCK: lock });
    await Promise.all([a.waitFor((l) => l === 'ready'), b.waitFor((l) => l === 'ready')]);
    const first = await Promise.race([a.waitFor((l) => l === 'leader').then(() => a), b.waitFor((l) => l === 'leader').then(() => b)]);
    const other = first === a ? b : a;
    await first.waitFor((l) => l === 'tick 3');
    await sleep(400); // several of the follower's checks
    expect(other.lines.filter((l) => l === 'leader' || l.startsWith('tick'))).toEqual([]);

    first.proc.kill('SIGKILL');
    await first.exited();
    const killedAt = Date.now();
    await other.waitFor((l) => l === 'leader', 10_000);
    await other.waitFor((l) => l.startsWith('tick'));
    expect(Date.now() - killedAt).toBeLessThan(5_000);

    // A graceful stop releases the lock at once: a third scheduler is elected.
    const c = child('scheduler', { SCALE_LOCK: lock });
    await c.waitFor((l) => l === 'ready');
    await sleep(300);
    expect(c.lines).not.toContain('leader');
    other.proc.kill('SIGTERM');
    expect(await other.exited()).toBe(0);
    await c.waitFor((l) => l === 'leader', 5_000);
    c.proc.kill('SIGTERM');
    expect(await c.exited()).toBe(0);
  });
});

describe.skipIf(!onPostgres)('jobs across worker processes', () => {
  it('a worker killed with kill -9 mid-job has its job retried by another after the lease, once', async () => {
    const tenant = newId();
    // Both workers run before the claim, so only the lease (not start-up recovery of dead pids) frees the job.
    const workers = [child('worker', { SCALE_LEASE_S: '2' }), child('worker', { SCALE_LEASE_S: '2' })];
    const ids = await Promise.all(workers.map(async (w) => (await w.waitFor((l) => l.startsWith('ready '))).slice(6)));
    const j = await queue.enqueue(tenant, 'scale.sleep', { ms: 300, firstMs: 600_000 });
    const holder = await until(async () => (await job(tenant, j.id))?.lockedBy ?? undefined);
    const k = ids.indexOf(holder);
    expect(k).toBeGreaterThanOrEqual(0);
    const [w1, w2] = [workers[k]!, workers[1 - k]!];
    const id2 = ids[1 - k]!;
    w1.proc.kill('SIGKILL');
    await w1.exited();
    const killedAt = Date.now();
    const claimedAgain = await until(async () => {
      const r = await job(tenant, j.id);
      return r?.lockedBy === id2 ? Date.now() : undefined;
    });
    // Not before the lease ran out (the last heartbeat was at most a third of it before the kill).
    expect(claimedAgain - killedAt).toBeGreaterThan(500);
    const done = await until(async () => {
      const r = await job(tenant, j.id);
      return r?.status === 'succeeded' ? r : undefined;
    });
    expect(done).toMatchObject({ attempts: 2, result: { worker: id2 } });
    w2.proc.kill('SIGTERM');
    expect(await w2.exited()).toBe(0);
  });

  it('SIGTERM requeues the running job without spending an attempt, and the process exits 0', async () => {
    const tenant = newId();
    const w = child('worker');
    const id = (await w.waitFor((l) => l.startsWith('ready '))).slice(6);
    const j = await queue.enqueue(tenant, 'scale.sleep', { ms: 60_000 });
    await until(async () => (await job(tenant, j.id))?.lockedBy === id);
    const t0 = Date.now();
    w.proc.kill('SIGTERM');
    expect(await w.exited()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await job(tenant, j.id)).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null });
    await queue.cancel(tenant, j.id);
  });

  it("fairness: B's first job starts within one poll interval behind A's backlog; B finishes while A drains; none lost or run twice", async () => {
    const A = newId();
    const B = newId();
    const POLL = 200;
    const env = { SCALE_POLL_MS: String(POLL), SCALE_CONCURRENCY: '2', SCALE_MAX_RUNNING: '3' };
    const workers = [child('worker', env), child('worker', env)];
    await Promise.all(workers.map((w) => w.waitFor((l) => l.startsWith('ready '))));
    for (let i = 0; i < 60; i++) await queue.enqueue(A, 'scale.sleep', { ms: 150 });
    await until(
      async () =>
        (await queryOne<{ n: number }>(
          database.db,
          sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${A} AND status = 'running'`,
        ))!.n >= 3,
    );
    const bIds: string[] = [];
    for (let i = 0; i < 5; i++) bIds.push((await queue.enqueue(B, 'scale.sleep', { ms: 20 })).id);
    await until(async () => {
      const r = await queryOne<{ n: number }>(
        database.db,
        sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${B} AND status = 'succeeded'`,
      );
      return r!.n === 5;
    });
    const bWait = await queryOne<{ ms: number }>(
      database.db,
      sql`SELECT extract(epoch FROM min(started_at) - min(created_at)) * 1000 AS ms FROM jobs WHERE tenant_id = ${B}`,
    );
    const aLeft = await queryOne<{ n: number }>(
      database.db,
      sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${A} AND status <> 'succeeded'`,
    );
    // One poll interval, with room for this shared machine's scheduling noise.
    expect(Number(bWait!.ms)).toBeLessThan(POLL + 250);
    expect(aLeft!.n).toBeGreaterThan(0);
    await until(async () => {
      const r = await queryOne<{ n: number }>(
        database.db,
        sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${A} AND status = 'succeeded'`,
      );
      return r!.n === 60;
    }, 30_000);
    const rows = await queryRows<{ attempts: number; worker: string }>(
      database.db,
      sql`SELECT attempts, result->>'worker' AS worker FROM jobs WHERE tenant_id IN (${A}, ${B})`,
    );
    expect(rows).toHaveLength(65);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.worker)).size).toBe(2); // both workers took part
    for (const w of workers) w.proc.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited()))).toEqual([0, 0]);
  });
});

describe.skipIf(!onPostgres)('loupe serve --no-worker beside loupe worker on one PostgreSQL', () => {
  it('both start; only the worker process holds the scheduler lock; both stop gracefully with exit 0', async () => {
    const port = await freePort();
    const env = { LOUPE_DATA_DIR: path.join('/tmp', `loupe-scale-${dbName}`), HOST: '127.0.0.1', LOUPE_SCHEDULER_CHECK_MS: '200' };
    const api = start([LOUPE_BIN, 'serve', '--no-worker', '--port', String(port)], env);
    const worker = start([LOUPE_BIN, 'worker'], env);
    await api.waitFor((l) => l.includes('Job workers:'), 90_000);
    expect(api.lines.find((l) => l.includes('Job workers:'))).toContain('off');
    await worker.waitFor((l) => l.startsWith('Loupe worker '), 90_000);
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    const holders = await until(async () => {
      const r = await queryRows<{ pid: number }>(
        database.db,
        sql`SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'loupe-scheduler' AND a.datname = current_database()`,
      );
      return r.length ? r : undefined;
    });
    expect(holders).toHaveLength(1);
    api.proc.kill('SIGTERM');
    worker.proc.kill('SIGTERM');
    expect(await Promise.all([api.exited(), worker.exited()])).toEqual([0, 0]);
  }, 240_000); // two full `loupe` processes boot (about 10 s each here; minutes on a loaded machine)
});

describe.skipIf(!onPostgres)('loupe citus-plan', () => {
  it('prints a statement for every table of the database and the keys Citus refuses (none)', async () => {
    const cli = start([LOUPE_BIN, 'citus-plan'], { LOUPE_DATA_DIR: path.join('/tmp', `loupe-scale-${dbName}`) });
    expect(await cli.exited()).toBe(0);
    const tables = await queryRows<{ name: string }>(
      database.db,
      sql`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    const planned = cli.lines.filter((l) => /^SELECT (create_|citus_add_local_)/.test(l)).map((l) => /\('([^']+)'/.exec(l)?.[1]);
    expect(planned.sort()).toEqual(tables.map((t) => t.name).sort());
    expect(cli.lines).toContain("SELECT create_distributed_table('jobs', 'tenant_id', colocate_with => 'items');");
    expect(cli.lines).toContain("SELECT citus_add_local_table_to_metadata('sessions');");
    expect(cli.lines).toContain('-- 0 keys Citus refuses until tenant_id is added to them:');
  }, 120_000);
});
