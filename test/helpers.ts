import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp, type AppDeps, type LoupeApp } from '../src/app.ts';
import { loadConfig, type Config } from '../src/platform/config.ts';
import { openDatabase, type Database } from '../src/platform/database.ts';

/** A fresh database cloned from the run's migrated template (embedded or PostgreSQL, per LOUPE_TEST_DB). */
export async function createTestDatabase(): Promise<Database> {
  if (inject('dbTarget') === 'postgres') {
    const base = inject('pgUrl');
    const name = `loupe_t_${inject('runId')}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 5 });
    return {
      ...database,
      async close() {
        await database.close();
        const a = new pg.Client({ connectionString: base });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  }
  const tar = await fs.readFile(inject('pgliteTemplate'));
  return openDatabase({ kind: 'pglite', loadDataDir: new Blob([tar]) });
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
      const login = await t.request('POST', '/api/v1/auth/login', { body: { email: ownerEmail, password: 'Owner-Password-1' } });
      const ownerToken = login.body.access_token as string;
      return {
        tenantId: tenant.body.id as string,
        ownerToken,
        ownerEmail,
        async apiKey(scopes: string[]) {
          const k = await t.request('POST', '/api/v1/api-keys', { token: ownerToken, body: { name: `key ${++counter}`, scopes } });
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
