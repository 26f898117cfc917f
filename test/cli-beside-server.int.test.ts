import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  api,
  createTenantOver,
  migratedDataDir,
  runCli,
  type ServerProcess,
  startServe,
  tempDataDir,
  withStoppedDatabase,
} from './processes.ts';
import { killLiveProcesses } from './children.ts';
import { pollUntil } from './helpers.ts';

/**
 * Issue 22, C1 and backups, with real processes: the README's `loupe import` run beside a running
 * `loupe serve` on the embedded database, commands that cannot go through the server refused, and a backup
 * taken under write load restored with every row acknowledged before it started.
 * The embedded database is the subject, so this runs on the PGlite pass only.
 */
const onPostgresPass = process.env.LOUPE_TEST_DB === 'postgres';
/** The write load rests at least this long after each batch of 50 events (~500 events/s at most). */
const LOAD_PACE_MS = 100;
// After the describe's own stop(): ends a server or command a timed-out test or hook left running.
afterAll(killLiveProcesses);
if (onPostgresPass) console.log('cli-beside-server: skipped on the PostgreSQL pass (it tests the embedded data folder)');

describe.skipIf(onPostgresPass)('the command line beside a running server (embedded database)', () => {
  let dataDir: string;
  let restoredDir: string;
  let server: ServerProcess | undefined;
  let tenant: Awaited<ReturnType<typeof createTenantOver>>;
  const acked = new Set<string>(); // event ids the server answered "tracked" or "duplicate" for
  const ackedAt: number[] = []; // when each acknowledgement arrived (ms)
  let ackedBeforeBackup: string[] = [];
  let importId = '';

  /**
   * Sends batches of 50 events with event ids until `stop()`, resting after each as long as it took and at least
   * LOAD_PACE_MS (a steady load that keeps the server at most half busy, on any machine); records every acknowledged
   * id and when its batch was answered. What the tests need from the load is writes acknowledged before, during and
   * after the command beside it, which they assert. A batch every 25 ms saturated the embedded server whenever a batch
   * took longer than that (78-110 ms of server CPU each on a loaded machine): the backup then got what the writes
   * left of its one thread (91 s for a 6.5 MB archive, 238 batches written meanwhile) and the table it dumps grew
   * by thousands of rows a second.
   */
  function writeLoad(prefix: string) {
    let running = true;
    let n = 0;
    const base = server!.base;
    const done = (async () => {
      while (running) {
        const sent = Date.now();
        const ids = Array.from({ length: 50 }, () => `${prefix}-${n++}`);
        const r = await api(base, 'POST', '/api/v1/interactions/batch', {
          token: tenant.apiKey,
          body: {
            events: ids.map((event_id, i) => ({ event_id, user_id: `live-${i % 7}`, item_id: `sku-${i % 11}`, interaction_type: 'view' })),
          },
        }).catch(() => undefined);
        if (r?.status === 200) {
          const at = Date.now();
          for (const x of r.body.results as { index: number; status: string }[])
            if (x.status !== 'rejected') {
              acked.add(ids[x.index]!);
              ackedAt.push(at);
            }
        }
        // At most half the server's time: rest as long as the batch took (a loaded machine serves it slower), and at least LOAD_PACE_MS.
        const took = Date.now() - sent;
        await new Promise((r) => setTimeout(r, Math.max(LOAD_PACE_MS, took)));
      }
    })();
    return async () => {
      running = false;
      await done;
    };
  }

  beforeAll(async () => {
    // Already migrated: the first migration is not this file's subject (it costs a fresh folder 3.5 s of CPU).
    dataDir = await migratedDataDir();
    restoredDir = await tempDataDir();
    server = await startServe(dataDir);
    tenant = await createTenantOver(server.base, 'sarahs-electronics');
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(restoredDir, { recursive: true, force: true });
  });

  test('`loupe import` beside the server goes through it: every row accepted, live events too', async () => {
    const file = path.join(dataDir, '..', `pos-export-${process.pid}.csv`);
    const lines = ['customer_id,sku,date'];
    for (let i = 0; i < 3000; i++)
      lines.push(`pos-${i % 300},sku-${i % 97},2026-11-${String(1 + (i % 28)).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`);
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    const stopLoad = writeLoad('during-import');
    const out = await runCli(dataDir, [
      'import',
      'interactions',
      file,
      '--tenant',
      tenant.slug,
      '--source',
      'pos',
      '--map',
      'customer_id=user_id',
      '--map',
      'sku=item_id',
      '--map',
      'date=timestamp',
      '--map',
      'const:purchase=type',
    ]);
    await stopLoad();
    await fs.rm(file, { force: true });
    expect(out.stderr + out.stdout).toMatch(/through the server/);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/3000 accepted, 0 rejected/);
    importId = /Import ([0-9a-f-]{36})/.exec(out.stdout)![1]!;
    expect((await api(server!.base, 'GET', '/health/ready')).status).toBe(200);
    expect(acked.size).toBeGreaterThan(0);
  }, 240_000);

  test('commands that cannot go through the server refuse, naming it', async () => {
    // Side by side: each is refused before it loads the database code (test/cli-refusals.test.ts), about a second of CPU.
    const [migrate, admin, restore] = await Promise.all([
      runCli(dataDir, ['migrate']),
      runCli(dataDir, ['admin', 'create', '--email', 'x@y.test']),
      runCli(dataDir, ['restore', path.join(dataDir, 'loupe.lock.json')]),
    ]);
    for (const [what, out] of [
      ['migrate', migrate],
      ['admin create', admin],
    ] as const) {
      expect(out.code, what).toBe(1);
      expect(out.stderr).toMatch(
        new RegExp(`a Loupe server \\(pid ${server!.child.pid}, port ${server!.port}\\) is using .*: stop it first`),
      );
    }
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(/a Loupe server \(pid \d+, port \d+\) is using/);
  }, 240_000);

  test('`loupe backup` under write load, restored, holds every row acknowledged before it started', async () => {
    const stopLoad = writeLoad('during-backup');
    // Load running: some of this load's batches acknowledged before the backup starts.
    const ackedBefore = acked.size;
    await pollUntil(
      'write load acknowledged',
      async () => acked.size,
      (n) => n >= ackedBefore + 200,
      { intervalMs: 20 },
    );
    ackedBeforeBackup = [...acked];
    const backupFile = path.join(restoredDir, '..', `loupe-${process.pid}.backup`);
    const backupStarted = Date.now();
    const out = await runCli(dataDir, ['backup', backupFile]);
    const backupEnded = Date.now();
    // The load really ran beside the backup: writes were acknowledged while it was being taken.
    expect(ackedAt.filter((t) => t > backupStarted && t < backupEnded).length).toBeGreaterThan(0);
    // Writes after the snapshot, which it need not hold: the load keeps going until a few more batches are answered.
    const ackedAfter = acked.size;
    await pollUntil(
      'write load after the backup',
      async () => acked.size,
      (n) => n >= ackedAfter + 100,
      { intervalMs: 20 },
    );
    await stopLoad();
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/through the running server/);
    expect((await fs.stat(backupFile)).mode & 0o777).toBe(0o600);
    expect((await api(server!.base, 'GET', '/health/ready')).status).toBe(200);

    // Nothing to restore over without --force.
    const refused = await runCli(path.join(restoredDir, 'sub'), ['restore', backupFile]);
    expect(refused.code, refused.stderr).toBe(0);
    const again = await runCli(path.join(restoredDir, 'sub'), ['restore', backupFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds an installation.*--force/);

    const restoredRoot = path.join(restoredDir, 'sub');
    await fs.rm(backupFile, { force: true });
    expect((await fs.stat(restoredRoot)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(restoredRoot, 'secrets.key'))).mode & 0o777).toBe(0o600);
    const found = await withStoppedDatabase(restoredRoot, async (q) => {
      const keys = await q<{ k: string }>(
        sql`SELECT dedupe_key AS k FROM interactions WHERE tenant_id = ${tenant.tenantId} AND dedupe_key LIKE 'e:%'`,
      );
      const pos = await q<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenant.tenantId} AND source = 'pos'`,
      );
      return { keys: new Set(keys.map((r) => r.k.slice(2))), pos: pos[0]!.n };
    });
    expect(found.pos).toBe(3000);
    const missing = ackedBeforeBackup.filter((id) => !found.keys.has(id));
    expect(missing).toEqual([]);
    expect(ackedBeforeBackup.length).toBeGreaterThan(0);
  }, 240_000);

  test('after a restart every accepted row is still there, and the server starts again', async () => {
    await server!.stop();
    server = undefined;
    const rows = await withStoppedDatabase(dataDir, async (q) => {
      const keys = await q<{ k: string }>(
        sql`SELECT dedupe_key AS k FROM interactions WHERE tenant_id = ${tenant.tenantId} AND dedupe_key LIKE 'e:%'`,
      );
      const pos = await q<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenant.tenantId} AND source = 'pos'`,
      );
      const run = await q<{ status: string }>(
        sql`SELECT status FROM import_runs WHERE tenant_id = ${tenant.tenantId} AND id = ${importId}`,
      );
      return { keys: new Set(keys.map((r) => r.k.slice(2))), pos: pos[0]!.n, status: run[0]?.status };
    });
    expect(rows.pos).toBe(3000);
    expect(rows.status).toBe('succeeded');
    expect([...acked].filter((id) => !rows.keys.has(id))).toEqual([]);
    server = await startServe(dataDir);
    expect((await api(server.base, 'GET', '/health/ready')).status).toBe(200);
  }, 240_000);
});
