/**
 * bench/scale (issue 17): job throughput with 1 and 2 worker processes on one PostgreSQL, and the fairness
 * scenario: tenant A has 10,000 jobs waiting, then tenant B enqueues 10; how long B's first job waits (the
 * baseline: one poll interval) and whether B's jobs finish while A's are still draining.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:scale
 *
 * Workers are real processes (test/scale-child.ts: the platform job queue with a `scale.sleep` job type whose
 * handler waits BENCH_JOB_MS, standing in for I/O-bound work). Jobs are inserted with one INSERT ... SELECT
 * (the enqueue path's per-tenant cap would refuse 10,000 waiting jobs, and 10,000 round trips would measure the
 * client). A database of its own is created, migrated and dropped. Figures are printed beside the load average:
 * this machine is shared, and the numbers move with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { loadAverage } from '../lib/load.ts';
import { migrateDatabase, openDatabase, queryOne, newId, type Database } from '../../src/platform/index.ts';

const BASE = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
if (!BASE) {
  process.stderr.write('bench:scale needs BENCH_DATABASE_URL (a PostgreSQL server; the embedded database has one process)\n');
  process.exit(2);
}
const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const JOB_MS = Number(process.env.BENCH_JOB_MS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 1000);
const A_JOBS = Number(process.env.BENCH_A_JOBS ?? 10_000);
const B_JOBS = 10;
const CHILD = path.resolve(import.meta.dirname, '../../test/scale-child.ts');

const name = `loupe_bench_scale_${process.pid}`;
const admin = new pg.Client({ connectionString: BASE });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const u = new URL(BASE);
u.pathname = `/${name}`;
const url = u.toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'worker'], {
    env: { ...process.env, DATABASE_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready ') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
  });
}
async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))))),
  );
}
const insertJobs = (db: Database, tenant: string, n: number, ms: number) =>
  db.db.execute(sql`INSERT INTO jobs (tenant_id, id, type, payload) SELECT ${tenant}, gen_random_uuid(), 'scale.sleep',
                    jsonb_build_object('ms', ${ms}::int) FROM generate_series(1, ${n})`);
const count = async (db: Database, tenant: string, status: string) =>
  (await queryOne<{ n: number }>(db.db, sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${tenant} AND status = ${status}`))!.n;

const database = await openDatabase({ kind: 'postgres', url, poolSize: 4 });
try {
  await migrateDatabase(database);
  process.stdout.write(`bench:scale  jobs=${JOBS} job_ms=${JOB_MS} concurrency/worker=${CONCURRENCY} poll_ms=${POLL_MS}\n`);

  // 1. Throughput: 1 worker (the baseline) then 2, the same jobs each time.
  const rates: number[] = [];
  for (const n of [1, 2]) {
    const t0 = performance.now();
    const ws = await Promise.all(
      Array.from({ length: n }, () => worker({ SCALE_POLL_MS: String(POLL_MS), SCALE_CONCURRENCY: String(CONCURRENCY) })),
    );
    // Jobs arrive once every worker is up, so start-up is not in the figure.
    const started = performance.now();
    const tenants = Array.from({ length: 8 }, () => newId());
    for (const t of tenants) await insertJobs(database, t, JOBS / tenants.length, JOB_MS);
    for (;;) {
      const left = (await queryOne<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM jobs WHERE status <> 'succeeded'`))!.n;
      if (left === 0) break;
      await sleep(100);
    }
    const secs = (performance.now() - started) / 1000;
    await stop(ws);
    const twice = (await queryOne<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM jobs WHERE attempts <> 1`))!.n;
    rates.push(JOBS / secs);
    process.stdout.write(
      `  ${n} worker${n > 1 ? 's' : ' '} : ${(JOBS / secs).toFixed(0).padStart(6)} jobs/s  (${secs.toFixed(1)} s; worker start-up ${((started - t0) / 1000).toFixed(1)} s not counted; jobs with attempts<>1: ${twice})  load ${loadAverage()}\n`,
    );
    await database.db.execute(sql`DELETE FROM jobs`);
  }
  process.stdout.write(`  2 workers / 1 worker: ${(rates[1]! / rates[0]!).toFixed(2)}x\n`);

  // 2. Fairness: A's backlog, then B's 10 jobs; two workers; default per-tenant running cap (half the workers).
  const A = newId();
  const B = newId();
  await insertJobs(database, A, A_JOBS, 50);
  const ws = await Promise.all([1, 2].map(() => worker({ SCALE_POLL_MS: String(POLL_MS), SCALE_CONCURRENCY: String(CONCURRENCY) })));
  await sleep(2 * POLL_MS); // A is running on every slot it may have
  await insertJobs(database, B, B_JOBS, 50);
  for (;;) {
    if ((await count(database, B, 'succeeded')) === B_JOBS) break;
    await sleep(20);
  }
  const aLeft = A_JOBS - (await count(database, A, 'succeeded'));
  const w = await queryOne<{ first: number; last: number }>(
    database.db,
    sql`SELECT extract(epoch FROM min(started_at) - min(created_at)) * 1000 AS first,
               extract(epoch FROM max(finished_at) - min(created_at)) * 1000 AS last FROM jobs WHERE tenant_id = ${B}`,
  );
  await stop(ws);
  process.stdout.write(
    `  fairness: A ${A_JOBS} queued, B ${B_JOBS}: B's first job started after ${Number(w!.first).toFixed(0)} ms ` +
      `(baseline: one poll interval = ${POLL_MS} ms); B all done after ${Number(w!.last).toFixed(0)} ms with ${aLeft} of A's jobs still to run  load ${loadAverage()}\n`,
  );
} finally {
  await database.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
