import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp, type AppDeps, type LoupeApp } from '../src/app.ts';
import { loadConfig, type Config } from '../src/platform/config.ts';
import { openDatabase, tenantScopedPglite, type Database } from '../src/platform/database.ts';

/**
 * A database cloned from the run's migrated template (embedded or PostgreSQL, per LOUPE_TEST_DB), empty but for
 * the migrations.
 *
 * PostgreSQL: a new database per call (CREATE DATABASE ... TEMPLATE is fast there), dropped in the background once
 * closed (dropLater); `onStatement` sees every statement its pools send (the *.statements tests count them).
 *
 * Embedded: loading the 44 MB template into a new PGlite costs about 2 s of CPU, so each test process keeps its
 * instances (up to three) and lends each to one holder at a time (the files of a process run one after another:
 * isolate: false; a file that opens a second database while its first is lent gets another instance of the pool).
 * close() revokes the lender's handle (a late query from leaked work fails as on a closed database, and never
 * reaches the next holder's data), empties every table but the migrations table (TRUNCATE ... RESTART IDENTITY,
 * every sequence restarted, session settings reset) and checks the schema is the template's; a holder that
 * changed the schema, or a reset that fails, retires the instance and the next asker loads a fresh one. A file
 * holding more than three at once gets a fresh instance of its own for the fourth.
 */
export async function createTestDatabase(opts: { onStatement?: (text: string) => void } = {}): Promise<Database> {
  if (inject('dbTarget') === 'postgres') {
    const base = inject('pgUrl');
    const name = `loupe_t_${inject('runId')}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    const database = await openDatabase({
      kind: 'postgres',
      url: url.toString(),
      poolSize: 5,
      ...(opts.onStatement ? { onStatement: opts.onStatement } : {}),
    });
    return {
      ...database,
      async close() {
        await database.close();
        dropLater(base, name);
      },
    };
  }
  if (process.env.LOUPE_TEST_FRESH_PGLITE === '1') return freshPglite();
  const idle = pool.find((s) => !s.lent);
  if (idle) return lend(idle);
  const database = await freshPglite();
  // Past the pool's size (a file holding several databases at once), the extra one is the file's own.
  if (pool.length >= POOL_SIZE) return database;
  const client = database.pglite!;
  const empty = (await client.query<{ n: number }>(SEEDED_ROWS_SQL)).rows[0]?.n === 0;
  // A migration that seeds rows would lose them to the reset: then every file gets its own instance.
  if (!empty) return database;
  const s: SharedPglite = { database, client, fingerprint: await schemaFingerprint(client), lent: false };
  pool.push(s);
  return lend(s);
}

/**
 * This process's test databases, dropped in the background one after another. DROP DATABASE waits for a checkpoint
 * (PostgreSQL 15 requests one per drop: every dirty buffer of the server flushed and fsynced), 1 to 20 s here, and
 * a file that waited for it held its fork idle: the PostgreSQL pass left a quarter of the CPU unused. A closed
 * database is never opened again (every clone has a new name), so nothing needs it gone before the next file starts;
 * what a process leaves undropped when it ends, test/global-setup.ts drops at the end of the run.
 */
let drops: Promise<void> = Promise.resolve();
function dropLater(base: string, name: string): void {
  drops = drops.then(async () => {
    const admin = new pg.Client({ connectionString: base });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {
      // Left to the run's teardown, which drops every database of the run still there.
    } finally {
      await admin.end().catch(() => undefined);
    }
  });
}

/** Resolves once every database this process closed so far has been dropped (or left to the run's teardown). */
export const testDatabasesDropped = (): Promise<void> => drops;

async function freshPglite(): Promise<Database> {
  const tar = await fs.readFile(inject('pgliteTemplate'));
  return openDatabase({ kind: 'pglite', loadDataDir: new Blob([tar]) });
}

interface SharedPglite {
  database: Database;
  client: PGlite;
  fingerprint: string;
  lent: boolean;
}
/**
 * This process's lendable instances. Most files hold one database; some open a second app or database beside
 * their own for one test (another configuration: rate limits, admin networks, a statement count), one after
 * another. Each such open loaded the template anew (about 2 s of CPU) and threw it away; kept here, the next
 * one is a reset instead. Three: no file holds more than that at once for long; a fourth is the file's own.
 */
const POOL_SIZE = 3;
const pool: SharedPglite[] = [];

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'drizzle') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;

/** How many user tables hold a row (the template's must all be empty for the reset to restore it exactly). */
const SEEDED_ROWS_SQL = `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND ${USER_SCHEMAS}
    AND (xpath('/row/x/text()', query_to_xml(format('SELECT EXISTS (SELECT 1 FROM %I.%I) AS x', n.nspname, c.relname), false, false, '')))[1]::text = 'true'`;

/** Tables, columns (type, default, nullability), indexes, constraints, triggers, functions, sequences, extensions. */
async function schemaFingerprint(client: PGlite): Promise<string> {
  const r = await client.query<{ f: string }>(`SELECT md5(string_agg(x, E'\n' ORDER BY x)) AS f FROM (
      SELECT format('col %s.%s.%s %s %s %s', table_schema, table_name, column_name, data_type, is_nullable, column_default) AS x
        FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
      UNION ALL SELECT format('idx %s', indexdef) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog')
      UNION ALL SELECT format('con %s %s', conrelid::regclass, pg_get_constraintdef(oid)) FROM pg_constraint
        WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
      UNION ALL SELECT format('trg %s %s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL SELECT format('fn %s %s', p.oid::regprocedure, md5(p.prosrc)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${USER_SCHEMAS}
      UNION ALL SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMAS} OR n.nspname = 'drizzle'
      UNION ALL SELECT format('ext %s %s', extname, extversion) FROM pg_extension
      UNION ALL SELECT format('role %s', rolname) FROM pg_roles
      UNION ALL SELECT format('mig %s', count(*)) FROM drizzle.__drizzle_migrations) s`);
  return r.rows[0]!.f;
}

/**
 * Empties every user table and restarts every sequence, as a fresh clone of the template has them. Only the tables
 * holding a row are truncated and only the sequences that moved are restarted: TRUNCATE and ALTER SEQUENCE ... RESTART
 * give each relation (and every index of a table) new files even when it was empty, and a file touches a few tables of
 * the hundred-odd, so truncating them all was most of the reset's cost (about 0.3 s of CPU per file).
 */
const RESET_SQL = `DO $reset$
DECLARE r record; tables text; moved boolean;
BEGIN
  FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND ${USER_SCHEMAS} LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %I.%I)', r.nspname, r.relname) INTO moved;
    IF moved THEN tables := concat_ws(', ', tables, format('%I.%I', r.nspname, r.relname)); END IF;
  END LOOP;
  IF tables IS NOT NULL THEN EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY CASCADE'; END IF;
  FOR r IN SELECT n.nspname, c.relname, s.seqstart FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_sequence s ON s.seqrelid = c.oid WHERE c.relkind = 'S' AND ${USER_SCHEMAS} LOOP
    EXECUTE format('SELECT is_called OR last_value <> %s FROM %I.%I', r.seqstart, r.nspname, r.relname) INTO moved;
    IF moved THEN EXECUTE format('ALTER SEQUENCE %I.%I RESTART', r.nspname, r.relname); END IF;
  END LOOP;
END $reset$;`;

/** The shared instance behind a handle that stops working when closed; closing resets it for the next file. */
function lend(s: SharedPglite): Database {
  s.lent = true;
  let open = true;
  const closedError = () => new Error('PGlite is closed (this test database was closed)');
  const client = new Proxy(s.client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (!open) {
          if (prop === 'close') return Promise.resolve();
          // A synchronous method throws (the read-scope guard asks it after each statement and catches this).
          if (prop === 'isInTransaction') throw closedError();
          return Promise.reject(closedError());
        }
        // The shared instance outlives the file: closing it is the lease's job.
        if (prop === 'close') return Promise.resolve();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  // The lender's handles all go through one read-scope guard (it owns the connection's session settings).
  const guarded = tenantScopedPglite(client);
  const db = drizzlePglite({ client: guarded }) as unknown as Database['db'];
  return {
    kind: 'pglite',
    db,
    pglite: guarded,
    async close() {
      if (!open) return;
      open = false;
      try {
        if (s.client.isInTransaction()) throw new Error('a transaction is still open');
        // RESET first: the read-scope guard may have left the connection as the tenant role.
        await s.client.exec(`RESET ROLE; RESET ALL; ${RESET_SQL} DEALLOCATE ALL; UNLISTEN *;`);
        if ((await schemaFingerprint(s.client)) !== s.fingerprint) throw new Error('the schema changed');
        s.lent = false;
      } catch {
        // Retire it: the next file loads a fresh instance.
        const i = pool.indexOf(s);
        if (i >= 0) pool.splice(i, 1);
        await s.client.close().catch(() => undefined);
      }
    },
  };
}

export const ADMIN = { email: 'admin@loupe.test', password: 'Admin-Password-123!' };

export interface TestApp extends LoupeApp {
  database: Database;
  config: Config;
  dataDir: string;
  /** Requests as JSON with an optional bearer credential; returns status, headers and parsed body. */
  request(
    method: string,
    url: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  adminToken(): Promise<string>;
  /** A tenant with an owner user signed in, and helpers to mint API keys for it. */
  createTenant(
    name?: string,
  ): Promise<{ tenantId: string; ownerToken: string; ownerEmail: string; apiKey(scopes: string[]): Promise<string> }>;
  close(): Promise<void>;
}

/** Builds the real app on a cloned database with generous rate limits (tests of limits override them). */
export async function createTestApp(env: Record<string, string> = {}, deps: Partial<AppDeps> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-test-'));
  const config = loadConfig({
    LOUPE_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    RATE_LIMIT_SERVICES:
      'auth=1000000,inventory=1000000,feed_jobs=1000000,business_profile=1000000,integrations=1000000,observability=1000000',
    LOUPE_JOB_POLL_MS: '50',
    ...env,
  });
  const loupe = await buildApp(config, { database, ...deps });
  await loupe.tenancy.ensurePlatformAdmin(ADMIN.email, ADMIN.password);
  let adminToken: string | undefined;
  let counter = 0;

  const t: TestApp = {
    ...loupe,
    database,
    config,
    dataDir,
    async request(method, url, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const res = await loupe.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(opts.body !== undefined ? { payload: opts.body as string } : {}),
      });
      let body: unknown = res.body;
      try {
        body = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.statusCode, body, headers: res.headers };
    },
    async adminToken() {
      if (!adminToken) {
        const r = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
        if (r.status !== 200) throw new Error(`admin login failed: ${JSON.stringify(r.body)}`);
        adminToken = r.body.access_token as string;
      }
      return adminToken;
    },
    async createTenant(name = `Store ${++counter}`) {
      const admin = await t.adminToken();
      const tenant = await t.request('POST', '/api/v1/admin/tenants', { token: admin, body: { name } });
      if (tenant.status !== 201) throw new Error(`tenant creation failed: ${JSON.stringify(tenant.body)}`);
      const ownerEmail = `owner-${tenant.body.id.slice(-12)}@store.test`;
      const user = await t.request('POST', '/api/v1/admin/users', {
        token: admin,
        body: { email: ownerEmail, password: 'Owner-Password-1', tenant_id: tenant.body.id, role: 'owner' },
      });
      if (user.status !== 201) throw new Error(`user creation failed: ${JSON.stringify(user.body)}`);
      const signIn = async () =>
        (await t.request('POST', '/api/v1/auth/login', { body: { email: ownerEmail, password: 'Owner-Password-1' } })).body
          .access_token as string;
      const ownerToken = await signIn();
      return {
        tenantId: tenant.body.id as string,
        ownerToken,
        ownerEmail,
        async apiKey(scopes: string[]) {
          const body = { name: `key ${++counter}`, scopes };
          let k = await t.request('POST', '/api/v1/api-keys', { token: ownerToken, body });
          // Creating a key is a sensitive action: a file that ran for minutes (a loaded machine) holds a sign-in
          // too old for it. A fresh sign-in is what a person would do.
          if (k.status === 403 && k.body?.error?.code === 'STEP_UP_REQUIRED')
            k = await t.request('POST', '/api/v1/api-keys', { token: await signIn(), body });
          if (k.status !== 201) throw new Error(`api key creation failed: ${JSON.stringify(k.body)}`);
          return k.body.api_key as string;
        },
      };
    },
    async close() {
      await loupe.close();
      await database.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

export { SHARED_DIR, sharedPath } from './shared-data.ts';

/**
 * Asks `probe` every `intervalMs` until `done` holds for its answer, and returns that answer; after `timeoutMs`
 * (60 s by default: room for a loaded machine, never a fixed count of tries) fails naming `what` and the last
 * answer seen. For "poll until the job is done" in tests.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > end) {
      const last = JSON.stringify(value) ?? String(value);
      throw new Error(`${what}: not done within ${timeoutMs / 1000} s; last seen ${last.slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** A multipart/form-data body with text fields and, unless `file` is null, one file part named "file". */
export function multipartBody(file: Buffer | string | null, fields: Record<string, string> = {}, fileName = 'upload.csv') {
  const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file !== null) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    );
    parts.push(Buffer.isBuffer(file) ? file : Buffer.from(file));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
