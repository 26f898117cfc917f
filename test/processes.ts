import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { inject } from 'vitest';
import { migrateDatabase, openDatabase, queryRows } from '../src/platform/database.ts';
import { exited, spawnTracked } from './children.ts';

/**
 * Real `loupe` processes for tests of what only processes show: the data-folder lock, a CLI beside a running
 * server, backups, and `kill -9`. Each server runs `node bin/loupe.mjs serve` on a free loopback port with
 * its own temporary LOUPE_DATA_DIR (the embedded database).
 */
export const LOUPE_BIN = path.resolve(import.meta.dirname, '../bin/loupe.mjs');
export const PROCESS_ADMIN = { email: 'admin@loupe.test', password: 'Admin-Password-123!' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export const tempDataDir = (): Promise<string> => fs.mkdtemp(path.join(os.tmpdir(), 'loupe-proc-'));

/** Where this run keeps its migrated embedded database folder (removed by test/global-setup.ts at the end). */
const migratedTemplateDir = (runId: string): string => path.join(os.tmpdir(), `loupe-proc-template-${runId}`);

/**
 * A temporary data folder whose embedded database (`db/`) is already migrated: a copy of one folder migrated
 * once per run. A server booted on a fresh folder spends about 3.5 s of CPU applying every migration from
 * scratch; on this copy its start-up migration finds nothing to do. For tests whose subject is not the first
 * migration (the first boot on an empty folder stays covered by warehouse.kill.int.test.ts, which starts on tempDataDir()).
 */
export async function migratedDataDir(): Promise<string> {
  const template = await migratedTemplate();
  const dir = await tempDataDir();
  await fs.cp(template, path.join(dir, 'db'), { recursive: true });
  return dir;
}

let templateReady: Promise<string> | undefined;
function migratedTemplate(): Promise<string> {
  templateReady ??= (async () => {
    const target = migratedTemplateDir(inject('runId'));
    if (
      await fs.stat(target).then(
        () => true,
        () => false,
      )
    )
      return target;
    // Built aside and renamed into place: another test process may build it at the same time; one rename wins.
    const building = `${target}.${process.pid}.part`;
    const database = await openDatabase({ kind: 'pglite', dataDir: building });
    try {
      await migrateDatabase(database);
    } finally {
      await database.close();
    }
    try {
      await fs.rename(building, target);
    } catch {
      await fs.rm(building, { recursive: true, force: true }); // the other process's copy won
    }
    return target;
  })();
  return templateReady;
}

function envFor(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOUPE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    LOUPE_ADMIN_EMAIL: PROCESS_ADMIN.email,
    LOUPE_ADMIN_PASSWORD: PROCESS_ADMIN.password,
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    LOUPE_JOB_POLL_MS: '100',
    ...extra,
  };
  delete env.DATABASE_URL; // these tests are about the embedded database
  return env;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  base: string;
  output(): string;
  /** SIGKILL, no chance to clean up; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after 20 s. */
  stop(): Promise<void>;
}

/** Starts `loupe serve` and resolves once it answers /health/live. */
export async function startServe(dataDir: string, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnTracked(process.execPath, [LOUPE_BIN, 'serve', '--port', String(port)], {
    env: envFor(dataDir, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const base = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    child,
    port,
    base,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.kill('SIGTERM');
      await exited(child);
      clearTimeout(t);
    },
  };
  const end = Date.now() + (opts.timeoutMs ?? 120_000);
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`loupe serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    try {
      if ((await fetch(`${base}/health/live`)).ok) return server;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`loupe serve did not answer within the time limit:\n${output}`);
}

/** Runs a `loupe` command to its end. */
export function runCli(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnTracked(process.execPath, [LOUPE_BIN, ...args], { env: envFor(dataDir, env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += String(d)));
    child.stderr!.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function api(
  base: string,
  method: string,
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.headers ?? {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** A tenant with an owner and an API key holding every scope these tests need. */
export async function createTenantOver(
  base: string,
  slug: string,
): Promise<{ tenantId: string; slug: string; apiKey: string; ownerToken: string }> {
  const admin = await api(base, 'POST', '/api/v1/auth/login', { body: PROCESS_ADMIN });
  if (admin.status !== 200) throw new Error(`admin login: ${JSON.stringify(admin.body)}`);
  const tenant = await api(base, 'POST', '/api/v1/admin/tenants', { token: admin.body.access_token, body: { name: slug, slug } });
  if (tenant.status !== 201) throw new Error(`tenant: ${JSON.stringify(tenant.body)}`);
  const email = `owner@${slug}.test`;
  const user = await api(base, 'POST', '/api/v1/admin/users', {
    token: admin.body.access_token,
    body: { email, password: 'Owner-Password-1', tenant_id: tenant.body.id, role: 'owner' },
  });
  if (user.status !== 201) throw new Error(`user: ${JSON.stringify(user.body)}`);
  const login = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password: 'Owner-Password-1' } });
  const ownerToken = login.body.access_token as string;
  const key = await api(base, 'POST', '/api/v1/api-keys', {
    token: ownerToken,
    body: {
      name: 'test',
      scopes: ['interactions:write', 'catalog:read', 'catalog:write', 'models:manage', 'recommendations:read', 'admin'],
    },
  });
  if (key.status !== 201) throw new Error(`api key: ${JSON.stringify(key.body)}`);
  return { tenantId: tenant.body.id as string, slug, apiKey: key.body.api_key as string, ownerToken };
}

/** Runs queries on a stopped installation's database (opens the folder directly: no server may hold it). */
export async function withStoppedDatabase<T>(
  dataDir: string,
  fn: (q: <R>(query: ReturnType<typeof sql>) => Promise<R[]>) => Promise<T>,
): Promise<T> {
  const database = await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'db') });
  try {
    return await fn((query) => queryRows(database.db, query));
  } finally {
    await database.close();
  }
}
