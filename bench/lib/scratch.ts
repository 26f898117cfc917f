/**
 * The throwaway database every bench runs on, and the in-process app benches prepare their data through.
 *
 * Embedded (default): a temporary data folder whose `db/` is the PGlite database. With DATABASE_URL: the same
 * folder (uploads, objects) plus a database of the run's own, created on that server and dropped at the end, so
 * figures never depend on what an earlier run or a test left in the database DATABASE_URL names.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp, type LoupeApp } from '../../src/app.ts';
import { loadConfig, migrateDatabase, openDatabase, type Config, type Database } from '../../src/platform/index.ts';

export interface ScratchDatabase {
  /** The run's data folder (LOUPE_DATA_DIR). */
  dataDir: string;
  /** The run's own database on the server DATABASE_URL names; undefined on the embedded database. */
  databaseUrl: string | undefined;
  /** What a Loupe process needs to use it: LOUPE_DATA_DIR, and DATABASE_URL on PostgreSQL. */
  env: Record<string, string>;
  /** Drops the database (PostgreSQL) and removes the data folder. Safe to call more than once. */
  cleanup(): Promise<void>;
}

async function onServer(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

/** A fresh data folder and, with DATABASE_URL, a fresh database named after `label` (letters, digits, `_`). */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  if (!/^[a-z0-9_]+$/.test(label)) throw new Error(`scratchDatabase: label ${label} must be lower-case letters, digits or _`);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `loupe-bench-${label}-`));
  let databaseUrl: string | undefined;
  const name = `loupe_bench_${label}_${Date.now().toString(36)}${process.pid.toString(36)}`;
  if (process.env.DATABASE_URL) {
    try {
      await onServer(`CREATE DATABASE ${name}`);
    } catch (err) {
      await fs.rm(dataDir, { recursive: true, force: true });
      throw err;
    }
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  let cleaned = false;
  return {
    dataDir,
    databaseUrl,
    env: { LOUPE_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      if (databaseUrl) await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BenchServer {
  loupe: LoupeApp;
  database: Database;
  config: Config;
  /** A request through `app.inject` (no socket); answers the parsed JSON body, throws on a status >= 400. */
  call(method: string, url: string, body?: unknown, token?: string): Promise<any>;
  /** Stops the app and closes the database (the scratch stays: a Loupe process may open it next). */
  close(): Promise<void>;
}

/**
 * Loupe built in this process on the scratch database: migrated, with `admin` as platform admin, rate limits far
 * above any bench's load (the limiter still runs), logs silent. `env` adds to or overrides the configuration.
 * Does not listen: call `loupe.app.listen()` to serve over HTTP.
 */
export async function startBenchServer(
  scratch: ScratchDatabase,
  opts: { admin: { email: string; password: string }; env?: Record<string, string>; poolSize?: number },
): Promise<BenchServer> {
  const config = loadConfig({
    ...scratch.env,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    ...opts.env,
  });
  const database = await openDatabase(
    config.database.kind === 'pglite'
      ? { kind: 'pglite', dataDir: config.database.dataDir }
      : { kind: 'postgres', url: config.database.url, poolSize: opts.poolSize ?? 4 },
  );
  await migrateDatabase(database);
  const loupe = await buildApp(config, { database });
  await loupe.tenancy.ensurePlatformAdmin(opts.admin.email, opts.admin.password);
  return {
    loupe,
    database,
    config,
    async call(method, url, body, token) {
      const r = await loupe.app.inject({
        method: method as 'GET',
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body ? { payload: body as object } : {}),
      });
      if (r.statusCode >= 400) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
      return JSON.parse(r.body || '{}');
    },
    async close() {
      await loupe.close();
      await database.close();
    },
  };
}
