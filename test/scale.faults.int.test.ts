/**
 * Scale-out faults (issue 17) on PostgreSQL:
 * - a migration run by two processes at once (the advisory lock serializes them);
 * - the database restarting under load: requests answer 503 (fast, with Retry-After) while it is down and succeed
 *   again once it is back, without restarting Loupe. The server is a throwaway cluster of this file's own
 *   (test/scale-cluster.ts), never the machine's shared one.
 * - Redis going away: rate limits fall back to per-process limits, requests keep being answered, and the outage is
 *   logged once. A throwaway redis-server of this file's own.
 * Runs on the PostgreSQL pass; skipped with the reason when the binaries are missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp, type LoupeApp } from '../src/app.ts';
import { loadConfig } from '../src/platform/config.ts';
import { sql } from 'drizzle-orm';
import {
  type Database,
  databaseAnswers,
  databaseOutageSign,
  MIGRATIONS_DIR,
  migrateDatabase,
  openDatabase,
  queryOne,
} from '../src/platform/database.ts';
import { ADMIN, createTestApp, type TestApp } from './helpers.ts';
import { clusterBinaries, freePort, startCluster, type TestCluster } from './scale-cluster.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const binaries = onPostgres ? await clusterBinaries() : { ok: false as const, reason: 'the embedded-database pass' };
if (!binaries.ok) console.log(`scale.faults: database restart test skipped (${binaries.reason})`);
const hasRedis =
  onPostgres &&
  (() => {
    try {
      execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!hasRedis)
  console.log(`scale.faults: Redis outage test skipped (${onPostgres ? 'no redis-server on PATH' : 'the embedded-database pass'})`);

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

interface Answer {
  at: number;
  ms: number;
  status: number;
  code: string | undefined;
  retryAfter: unknown;
}

describe.skipIf(!binaries.ok)('a PostgreSQL server of its own: migrations at once, restarts under load', () => {
  let cluster: TestCluster;
  let database: Database;

  it('two processes migrating a fresh database at once: one applies the migrations, the other waits and finds them', async () => {
    cluster = await startCluster();
    cleanups.push(() => cluster.destroy());
    database = await openDatabase({ kind: 'postgres', url: cluster.url, poolSize: 4 });
    cleanups.push(() => database.close());
    const other = await openDatabase({ kind: 'postgres', url: cluster.url, poolSize: 2 });
    try {
      await Promise.all([migrateDatabase(database), migrateDatabase(other)]);
    } finally {
      await other.close();
    }
    const journal = JSON.parse(await fs.readFile(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
    const applied = await queryOne<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
    expect(applied?.n).toBe(journal.entries.length);
  });

  it('answers 503 fast while PostgreSQL is down and recovers without a restart of Loupe', async () => {
    expect(database).toBeDefined();
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-dbfault-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig({
      LOUPE_DATA_DIR: dataDir,
      DATABASE_URL: cluster.url,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    });
    const loupe: LoupeApp = await buildApp(config, { database });
    cleanups.push(() => loupe.close());
    await loupe.tenancy.ensurePlatformAdmin(ADMIN.email, ADMIN.password);
    const login = await loupe.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN });
    const token = login.json().access_token as string;

    // Load: four clients listing tenants back to back (a database read on every request).
    const answers: Answer[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const t0 = Date.now();
        const r = await loupe.app.inject({ method: 'GET', url: '/api/v1/admin/tenants', headers: { authorization: `Bearer ${token}` } });
        const body = r.headers['content-type']?.toString().includes('json') ? r.json() : undefined;
        answers.push({ at: t0, ms: Date.now() - t0, status: r.statusCode, code: body?.error?.code, retryAfter: r.headers['retry-after'] });
        await sleep(10);
      }
    };
    const clients = [client(), client(), client(), client()];
    try {
      await sleep(500);
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((a) => a.status === 200)).toBe(true);

      // A socket error of another outbound call (a webhook, S3, Google) while the database answers is not an outage.
      const elsewhere = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
      expect(databaseOutageSign(elsewhere)).toBe('socket');
      expect(await databaseAnswers(database)).toBe(true);

      await cluster.stop('immediate');
      const down = Date.now();
      await sleep(1500);
      expect(await databaseAnswers(database)).toBe(false);
      const ready = await loupe.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      const whileDown = answers.filter((a) => a.at >= down);
      expect(whileDown.length).toBeGreaterThan(4);
      for (const a of whileDown) {
        expect(a.status).toBe(503);
        expect(a.code).toBe('DATABASE_UNAVAILABLE');
        expect(Number(a.retryAfter)).toBeGreaterThan(0);
        expect(a.ms).toBeLessThan(3000); // fail fast, no hanging request
      }

      await cluster.start();
      const up = Date.now();
      const end = up + 15_000;
      while (!answers.some((a) => a.at >= up && a.status === 200) && Date.now() < end) await sleep(50);
      const firstOk = answers.find((a) => a.at >= up && a.status === 200);
      expect(firstOk).toBeDefined();
      await sleep(500);
      const settled = answers.filter((a) => a.at > firstOk!.at + firstOk!.ms);
      expect(settled.length).toBeGreaterThan(4);
      expect(settled.every((a) => a.status === 200)).toBe(true);
      expect((await loupe.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
      // Nothing ever answered an unexplained 500.
      expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    } finally {
      running = false;
      await Promise.all(clients);
    }
  });
});

describe.skipIf(!hasRedis)('Redis going away', () => {
  it('rate limits fall back per process, requests are answered, and the outage is logged once', async () => {
    const port = await freePort();
    const startRedis = (): ChildProcess =>
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let redis = startRedis();
    cleanups.push(async () => redis.kill('SIGKILL'));
    await sleep(300);
    const t: TestApp = await createTestApp({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      RATE_LIMIT_TENANT_PER_MINUTE: '5',
      RATE_LIMIT_TENANT_BURST: '0',
    });
    cleanups.push(() => t.close());
    const warn = vi.spyOn(t.app.log, 'warn');
    const c = await t.createTenant('Redis outage');
    const key = await c.apiKey(['catalog:read']);
    const get = () => t.request('GET', '/api/v1/tenant', { token: key });

    // The limit is shared through Redis: 5 a minute (set-up requests may have spent some), then 429.
    const before: number[] = [];
    while (before.at(-1) !== 429 && before.length < 10) before.push((await get()).status);
    expect(before.at(-1)).toBe(429);

    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    await sleep(300);
    // Per-process limits now (the insurance limiter, a fresh window): answered fast, and still limited.
    const during: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = Date.now();
      during.push((await get()).status);
      expect(Date.now() - t0).toBeLessThan(3000);
    }
    expect(during[0]).toBe(200); // a fresh per-process window: the outage refuses nothing by itself
    expect(during.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(during.at(-1)).toBe(429);
    await sleep(1500); // reconnect attempts keep failing meanwhile
    const outage = warn.mock.calls.filter((args) => String(args[1] ?? args[0]).includes('Redis is unavailable'));
    expect(outage).toHaveLength(1);

    // Redis back: the client reconnects, the recovery is logged, and a second outage is logged again (once).
    redis = startRedis();
    const back = Date.now() + 15_000;
    while (!warn.mock.calls.some((args) => String(args[1] ?? args[0]).includes('Redis is back')) && Date.now() < back) await sleep(100);
    expect(warn.mock.calls.some((args) => String(args[1] ?? args[0]).includes('Redis is back'))).toBe(true);
  });
});
