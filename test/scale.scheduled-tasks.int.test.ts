/**
 * The webhooks module's sweep and retention run on the elected scheduler (issue 17), not as timers in every process:
 * two app instances on one PostgreSQL database, each with the scheduler `loupe serve` / `loupe worker` start
 * (src/cli/shared.ts), run them in one process only; when that one stops, the other takes over. PostgreSQL only: the
 * embedded database has one process, which is always the scheduler.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp, type LoupeApp } from '../src/app.ts';
import { startScheduler } from '../src/cli/shared.ts';
import { webhooksRepository } from '../src/modules/webhooks/webhooks.repository.ts';
import { type Config, loadConfig } from '../src/platform/config.ts';
import { type Database, openDatabase } from '../src/platform/database.ts';
import type { Scheduler } from '../src/platform/scheduler.ts';

const onPostgres = inject('dbTarget') === 'postgres';
if (!onPostgres) console.log('scale.scheduled-tasks: skipped on the embedded database (one process there is always the scheduler)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WEBHOOK_TASKS = ['webhooks.sweep', 'webhooks.purge-expired'];

let dbName = '';
let dataDir = '';
let config: Config;
const databases: Database[] = [];
const apps: LoupeApp[] = [];
const schedulers: Scheduler[] = [];
/** Runs of each scheduled task, by app index. */
const runs: { app: number; task: string }[] = [];

beforeAll(async () => {
  if (!onPostgres) return;
  dbName = `loupe_t_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${inject('pgTemplate')}`);
  await admin.end();
  const u = new URL(inject('pgUrl'));
  u.pathname = `/${dbName}`;
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-sched-'));
  config = loadConfig({
    LOUPE_DATA_DIR: dataDir,
    DATABASE_URL: u.toString(),
    LOG_LEVEL: 'silent',
    LOUPE_WEBHOOKS_SWEEP_MS: '100',
    LOUPE_SCHEDULER_CHECK_MS: '100',
  });
  for (let i = 0; i < 2; i++) {
    const database = await openDatabase({ kind: 'postgres', url: u.toString(), poolSize: 3 });
    databases.push(database);
    apps.push(await buildApp(config, { database }));
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  for (const s of schedulers) await s.stop();
  for (const a of apps) await a.close();
  for (const d of databases) await d.close();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  if (!onPostgres) return;
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

describe.skipIf(!onPostgres)('the webhooks sweep and retention run once per cluster', () => {
  it('two app instances: only the scheduler sweeps and purges; after it stops the other takes over', async () => {
    const due = vi.spyOn(webhooksRepository, 'tenantsWithDue');
    const purged = vi.spyOn(webhooksRepository, 'purgeDeliveries');
    // Building the apps started no timer: nothing has swept yet.
    await sleep(400);
    expect(due).not.toHaveBeenCalled();
    expect(purged).not.toHaveBeenCalled();

    for (const [i, loupe] of apps.entries()) {
      const names = loupe.scheduledTasks.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(WEBHOOK_TASKS));
      const tasks = loupe.scheduledTasks.map((t) => ({
        ...t,
        run: () => {
          runs.push({ app: i, task: t.name });
          return t.run();
        },
      }));
      schedulers.push(startScheduler(config, { app: loupe.app, scheduledTasks: tasks }));
    }
    await sleep(1500);
    const leader = schedulers.findIndex((s) => s.isLeader());
    expect(leader).toBeGreaterThanOrEqual(0);
    expect(schedulers.filter((s) => s.isLeader())).toHaveLength(1);
    const sweeps = runs.filter((r) => r.task === 'webhooks.sweep');
    expect(sweeps.length).toBeGreaterThanOrEqual(3); // every 100 ms, in one process
    expect(new Set(sweeps.map((r) => r.app))).toEqual(new Set([leader]));
    expect(runs.filter((r) => r.task === 'webhooks.purge-expired')).toEqual([{ app: leader, task: 'webhooks.purge-expired' }]);
    // Every database sweep came from a scheduled run: no per-process timer sweeps beside them.
    expect(due.mock.calls.length).toBeLessThanOrEqual(sweeps.length);
    expect(due.mock.calls.length).toBeGreaterThanOrEqual(sweeps.length - 1);
    expect(purged).toHaveBeenCalledTimes(1);

    // The scheduler stops (shutdown): the other instance is elected and runs both tasks.
    // Counted before stop() is awaited: the lock is released before stop() returns (the lock's connection closes
    // after), so the other instance may be elected, and run its first tasks, before the await resolves. The stopped
    // one runs nothing once stop() is called (runTask checks `stopped`).
    const before = runs.length;
    await schedulers[leader]!.stop();
    const other = 1 - leader;
    const end = Date.now() + 10_000;
    // Both tasks on the new leader (its first purge may come a check after its first sweep), then a little longer.
    const ranOnOther = (task: string) => runs.slice(before).some((r) => r.app === other && r.task === task);
    while (!(ranOnOther('webhooks.sweep') && ranOnOther('webhooks.purge-expired')) && Date.now() < end) await sleep(50);
    await sleep(300);
    const after = runs.slice(before);
    expect(after.filter((r) => r.task === 'webhooks.sweep').length).toBeGreaterThanOrEqual(2);
    expect(new Set(after.map((r) => r.app))).toEqual(new Set([other]));
    expect(after.filter((r) => r.task === 'webhooks.purge-expired')).toHaveLength(1);
  });
});
