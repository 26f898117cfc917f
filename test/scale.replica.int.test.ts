/**
 * The read replica (issue 17) on a real streaming replica: a throwaway primary cluster of this file's own and a
 * standby made from it with `pg_basebackup -R` on a second port (test/scale-cluster.ts), never the machine's shared
 * cluster. Reports go to the replica while it keeps up (shown by pausing its replay: the report still answers the
 * replica's older state while the primary has the new row), to the primary once the replica lags past
 * DATABASE_REPLICA_MAX_LAG_MS or goes away, and back to the replica when it has caught up or returned. Writes and
 * the reads of the write paths stay on the primary. Runs on the PostgreSQL pass; skipped with the reason when the
 * binaries are missing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type LoupeApp } from '../src/app.ts';
import { openForCommand } from '../src/cli/shared.ts';
import { loadConfig } from '../src/platform/config.ts';
import { type Database, migrateDatabase, openDatabase } from '../src/platform/database.ts';
import { ADMIN, pollUntil } from './helpers.ts';
import { clusterBinaries, startCluster, startStandby, type TestCluster } from './scale-cluster.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const binaries = onPostgres ? await clusterBinaries(['pg_basebackup']) : { ok: false as const, reason: 'the embedded-database pass' };
if (!binaries.ok) console.log(`scale.replica: skipped (${binaries.reason})`);

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function onServer<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

interface Node {
  loupe: LoupeApp;
  database: Database;
  call(method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; body: any }>;
}

describe.skipIf(!binaries.ok)('reports on a streaming replica made with pg_basebackup', () => {
  let primary: TestCluster;
  let standby: TestCluster;
  /** Tolerates a minute of lag: it keeps reading the replica while replay is paused. */
  let patient: Node;
  /** Tolerates 400 ms: it turns to the primary once the paused replica falls behind. */
  let strict: Node;
  let writeKey: string;
  let readKey: string;

  async function node(maxLagMs: number): Promise<Node> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-replica-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig({
      LOUPE_DATA_DIR: dataDir,
      DATABASE_URL: primary.url,
      DATABASE_POOL_SIZE: '3',
      DATABASE_REPLICA_URL: standby.url,
      DATABASE_REPLICA_MAX_LAG_MS: String(maxLagMs),
      DATABASE_REPLICA_CHECK_MS: '100',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
      RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
    });
    // The command's own opening (as `loupe serve` does), so the replica settings are wired as in production.
    const opened = await openForCommand(config, 'serve', { migrate: false });
    cleanups.push(() => opened.close());
    const loupe = await buildApp(config, { database: opened.database });
    cleanups.push(() => loupe.close());
    return {
      loupe,
      database: opened.database,
      async call(method, url, token, body) {
        const r = await loupe.app.inject({
          method: method as 'GET',
          url,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          ...(body !== undefined ? { payload: body as object } : {}),
        });
        return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
      },
    };
  }

  const sessions = async (n: Node) => {
    const r = await n.call('GET', '/api/v1/analytics/sessions', readKey);
    expect(r.status).toBe(200);
    return r.body.summary.sessions as number;
  };
  const target = (n: Node) => n.database.replica!.status().target;
  const primarySessions = async () =>
    Number((await onServer<{ n: string }>(primary.url, 'SELECT count(*) AS n FROM tracking_sessions'))[0]!.n);

  beforeAll(async () => {
    primary = await startCluster();
    cleanups.push(() => primary.destroy());
    const db = await openDatabase({ kind: 'postgres', url: primary.url, poolSize: 2 });
    try {
      await migrateDatabase(db);
    } finally {
      await db.close();
    }
    standby = await startStandby(primary);
    cleanups.push(() => standby.destroy());
    patient = await node(60_000);
    strict = await node(400);
    await patient.loupe.tenancy.ensurePlatformAdmin(ADMIN.email, ADMIN.password);
    const admin = (await patient.call('POST', '/api/v1/auth/login', undefined, ADMIN)).body.access_token as string;
    const tenant = (await patient.call('POST', '/api/v1/admin/tenants', admin, { name: 'Replica store' })).body;
    const owner = { email: 'owner@replica.test', password: 'Owner-Password-1' };
    expect((await patient.call('POST', '/api/v1/admin/users', admin, { ...owner, tenant_id: tenant.id, role: 'owner' })).status).toBe(201);
    const ownerToken = (await patient.call('POST', '/api/v1/auth/login', undefined, owner)).body.access_token as string;
    const key = async (scopes: string[]) =>
      (await patient.call('POST', '/api/v1/api-keys', ownerToken, { name: scopes.join(' '), scopes })).body.api_key as string;
    writeKey = await key(['interactions:write']);
    readKey = await key(['analytics:read']);
  }, 240_000);

  it('reads reports from the replica while it keeps up, and from the primary once it lags past the bound', {
    timeout: 180_000,
  }, async () => {
    const start = (id: string) =>
      patient.call('POST', '/api/v1/analytics/session/start', writeKey, { session_id: id, device_type: 'desktop' });
    expect((await start('s-1')).status).toBe(201);
    await pollUntil(
      'both nodes read the replica',
      async () => [target(patient), target(strict)],
      (t) => t.every((x) => x === 'replica'),
    );
    await pollUntil(
      'the replica has the first session',
      () => sessions(patient),
      (n) => n === 1,
    );

    await onServer(standby.url, 'SELECT pg_wal_replay_pause()');
    try {
      // The write goes to the primary (the write path never uses the replica): the next write sees it at once.
      expect((await start('s-2')).status).toBe(201);
      expect(await primarySessions()).toBe(2);
      // The patient node still reads the paused replica: its report cannot have the second session yet.
      expect(target(patient)).toBe('replica');
      expect(await sessions(patient)).toBe(1);
      // The strict node's bound is passed: it turns to the primary, whose report has both.
      const status = await pollUntil(
        'the strict node leaves the lagging replica',
        async () => strict.database.replica!.status(),
        (s) => s.target === 'primary',
      );
      expect(status.reason).toMatch(/lags|has not replayed/);
      expect(await sessions(strict)).toBe(2);
    } finally {
      await onServer(standby.url, 'SELECT pg_wal_replay_resume()');
    }
    await pollUntil(
      'the replica caught up',
      () => sessions(patient),
      (n) => n === 2,
    );
    await pollUntil(
      'the strict node reads the replica again',
      async () => target(strict),
      (t) => t === 'replica',
    );
  });

  it('answers reports from the primary while the replica is down, and uses it again once it is back', { timeout: 180_000 }, async () => {
    await standby.stop('immediate');
    // At once, before any check noticed: the read failed on the replica and was repeated on the primary.
    expect(await sessions(strict)).toBe(2);
    await pollUntil(
      'both nodes turned to the primary',
      async () => [target(patient), target(strict)],
      (t) => t.every((x) => x === 'primary'),
    );
    expect(await sessions(patient)).toBe(2);
    await standby.start();
    await pollUntil(
      'both nodes read the replica again',
      async () => [target(patient), target(strict)],
      (t) => t.every((x) => x === 'replica'),
    );
    expect(await sessions(patient)).toBe(2);
  });

  it('a replica URL without DATABASE_URL is a configuration error, named without its value', () => {
    expect(() => loadConfig({ DATABASE_REPLICA_URL: 'postgres://secret@replica/db' })).toThrow(/DATABASE_REPLICA_URL: needs DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_REPLICA_URL: 'postgres://secret@replica/db' })).not.toThrow(/secret/);
  });
});
