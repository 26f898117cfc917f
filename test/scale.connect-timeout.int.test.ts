/**
 * A blackholed database host (issue 17): the host stops answering (its connections are gone, new ones are accepted
 * by nothing that ever speaks). Without a connect timeout node-postgres waits for the server's first byte forever
 * and every request hangs; with DATABASE_CONNECT_TIMEOUT_MS the pool gives up and the request answers 503
 * DATABASE_UNAVAILABLE, and requests succeed again once the host is back, without restarting Loupe. The host is a
 * TCP relay of this file's own in front of a database cloned from the test template. PostgreSQL pass only (the
 * embedded database has no connection to lose).
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { openForCommand } from '../src/cli/shared.ts';
import { loadConfig } from '../src/platform/config.ts';
import { ADMIN, pollUntil } from './helpers.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A relay to `target` that can turn into a black hole: every open connection cut, new ones held without a byte. */
async function relay(target: URL): Promise<{ port: number; blackhole(): void; restore(): void; close(): Promise<void> }> {
  let silent = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (silent) return; // accepted, never answered
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole() {
      silent = true;
      for (const s of open) s.destroy();
    },
    restore() {
      silent = false;
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!onPostgres)('a database host that stops answering', () => {
  it('answers 503 DATABASE_UNAVAILABLE instead of hanging, and recovers once the host is back', { timeout: 120_000 }, async () => {
    const base = new URL(inject('pgUrl'));
    const name = `loupe_t_${inject('runId')}_blackhole`;
    const admin = new pg.Client({ connectionString: base.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
    await admin.end();
    cleanups.push(async () => {
      const a = new pg.Client({ connectionString: base.toString() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    });
    const host = await relay(base);
    cleanups.push(() => host.close());
    const url = new URL(base.toString());
    url.hostname = '127.0.0.1';
    url.port = String(host.port);
    url.pathname = `/${name}`;
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-blackhole-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig({
      LOUPE_DATA_DIR: dataDir,
      DATABASE_URL: url.toString(),
      DATABASE_POOL_SIZE: '2',
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    });
    expect(config.database.kind === 'postgres' && config.database.connectTimeoutMs).toBe(500);
    const opened = await openForCommand(config, 'serve', { migrate: false });
    cleanups.push(() => opened.close());
    const loupe = await buildApp(config, { database: opened.database });
    cleanups.push(() => loupe.close());
    await loupe.tenancy.ensurePlatformAdmin(ADMIN.email, ADMIN.password);
    const token = (await loupe.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN })).json().access_token as string;
    const list = () => loupe.app.inject({ method: 'GET', url: '/api/v1/admin/tenants', headers: { authorization: `Bearer ${token}` } });
    expect((await list()).statusCode).toBe(200);

    host.blackhole();
    // Every pooled connection is gone; a new one is accepted and never answered. The answer comes (a hang would
    // fail this test by its timeout) and says the database is unavailable.
    for (let i = 0; i < 3; i++) {
      const r = await list();
      expect(r.statusCode).toBe(503);
      expect(r.json().error.code).toBe('DATABASE_UNAVAILABLE');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await loupe.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);

    host.restore();
    await pollUntil(
      'requests succeed again',
      async () => (await list()).statusCode,
      (s) => s === 200,
    );
  });
});
