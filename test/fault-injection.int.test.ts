import fs from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { killLiveProcesses } from './children.ts';
import { api, createTenantOver, migratedDataDir, type ServerProcess, startServe, withStoppedDatabase } from './processes.ts';

/**
 * Fault injection (issue 22, "Done when"): a real `loupe serve` on the embedded database is killed with
 * SIGKILL while event batches (with event ids), a synchronous upload, an asynchronous upload and a training
 * job are all in flight; it is restarted, the client resends what it was not sure of, and then rows,
 * profile aggregates and jobs must be exact: no loss, no duplicates, nothing left `running`.
 * The crash is the process's, so this runs on the PGlite pass only.
 */
const onPostgresPass = process.env.LOUPE_TEST_DB === 'postgres';
// After the describe's own stop(): ends a server a timed-out test or hook left running.
afterAll(killLiveProcesses);
if (onPostgresPass) console.log('fault-injection: skipped on the PostgreSQL pass (it kills an embedded-database server)');

const ROWS = 30_000;
const SYNC_ROWS = 40_000;
const BATCH = 100;
/**
 * Rows per committed import batch on this file's server (LOUPE_IMPORT_BATCH_ROWS, 5000 by default): each upload
 * spans tens of batches, and the status requests below get the single embedded connection between two of them,
 * so both imports are seen running, and the kill lands between commits, whatever the machine's speed. With
 * 5000-row batches the synchronous file needed 150,000 rows, imported twice, to stay in flight long enough on a
 * quiet machine.
 */
const SERVER_ENV = { LOUPE_IMPORT_BATCH_ROWS: '1000' };

function csv(prefix: string, rows = ROWS): string {
  const base = Date.parse('2026-10-01T00:00:00Z');
  const lines = ['user_id,item_id,type,timestamp'];
  for (let i = 0; i < rows; i++) lines.push(`${prefix}-${i % 3000},sku-${i % 83},view,${new Date(base + i * 1000).toISOString()}`);
  return `${lines.join('\n')}\n`;
}

async function upload(base: string, key: string, name: string, body: string, mode: 'sync' | 'async') {
  const form = new FormData();
  form.set('mode', mode);
  form.set('file', new Blob([body], { type: 'text/csv' }), name);
  const res = await fetch(`${base}/api/v1/upload/interactions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe.skipIf(onPostgresPass)('kill -9 during writes (embedded database)', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let tenant: Awaited<ReturnType<typeof createTenantOver>>;

  beforeAll(async () => {
    dataDir = await migratedDataDir(); // already migrated: the first migration is not the subject here
    server = await startServe(dataDir, { env: SERVER_ENV });
    tenant = await createTenantOver(server.base, 'crash-store');
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('rows, profile aggregates and jobs are exact after a crash and a resend', async () => {
    let batchNo = 0;
    const batches: unknown[][] = [];
    const newBatch = () => {
      const b = batchNo++;
      const events = Array.from({ length: BATCH }, (_, i) => {
        const n = b * BATCH + i;
        return {
          event_id: `ev-${n}`,
          user_id: `live-${n % 40}`,
          item_id: `sku-${n % 83}`,
          interaction_type: n % 5 === 0 ? 'purchase' : 'view',
          ...(n % 5 === 0 ? { metadata: { order_id: `o-${n}`, price: '9.99', currency: 'USD', quantity: 1 } } : {}),
        };
      });
      batches.push(events);
      return events;
    };
    const send = (base: string, events: unknown[]) =>
      api(base, 'POST', '/api/v1/interactions/batch', { token: tenant.apiKey, body: { events } });

    // Data for training, acknowledged before anything is in flight.
    for (let i = 0; i < 10; i++) expect((await send(server!.base, newBatch())).status).toBe(200);

    const train = await api(server!.base, 'POST', '/api/v1/train', { token: tenant.apiKey, body: { model_type: 'auto' } });
    expect(train.status, JSON.stringify(train.body)).toBe(202);
    const trainJob = train.body.job_id as string;
    const asyncUpload = await upload(server!.base, tenant.apiKey, 'async.csv', csv('asy'), 'async');
    expect(asyncUpload.status, JSON.stringify(asyncUpload.body)).toBe(202);

    // In flight at the kill: two clients sending batches, and a synchronous upload.
    let killed = false;
    const clients = [0, 1].map(async () => {
      while (!killed) await send(server!.base, newBatch()).catch(() => undefined);
    });
    // 40 batches of 1000 rows (SERVER_ENV): still running when the loop below looks.
    const syncFile = csv('syn', SYNC_ROWS);
    const syncUpload = upload(server!.base, tenant.apiKey, 'sync.csv', syncFile, 'sync').catch((err: unknown) => err);
    // Kill once both imports are running (bounded: kill anyway after 60 s).
    let syncDone = false;
    void syncUpload.then(() => (syncDone = true));
    const until = Date.now() + 60_000;
    let inFlight = { sync: false, async: false };
    let syncRunStatus = 'uploading'; // the sync upload's run at the last look (none yet while its body is sent)
    for (;;) {
      const job = await api(server!.base, 'GET', `/api/v1/jobs/${asyncUpload.body.job_id}`, { token: tenant.apiKey });
      const runs = await api(server!.base, 'GET', '/api/v1/imports?kind=interactions', { token: tenant.apiKey });
      const syncRun = (runs.body?.data ?? []).find((r: { file_name: string }) => r.file_name === 'sync.csv');
      syncRunStatus = syncRun?.status ?? 'uploading';
      inFlight = {
        // In flight: not yet answered (still uploading, or importing: its run is then `running`).
        sync: !syncDone && (syncRun === undefined || syncRun.status === 'running'),
        async: job.body?.status === 'running',
      };
      if ((inFlight.sync && inFlight.async) || syncDone || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    killed = true;
    await server!.kill9();
    await Promise.all(clients);
    const syncAnswer = await syncUpload;
    console.log(
      `fault-injection: killed with ${batches.length} batches sent, in flight: ${JSON.stringify(inFlight)}, sync run: ${syncRunStatus}, sync answer: ${syncAnswer instanceof Error ? syncAnswer.message : JSON.stringify(syncAnswer).slice(0, 300)}`,
    );
    expect(inFlight.sync || inFlight.async).toBe(true);

    server = await startServe(dataDir, { env: SERVER_ENV });

    // The client resends every batch it sent (it cannot know which ones committed) and the upload.
    for (const events of batches) {
      const r = await send(server.base, events);
      expect(r.status).toBe(200);
      expect(r.body.accepted + r.body.duplicates).toBe(BATCH);
    }
    const again = await upload(server.base, tenant.apiKey, 'sync.csv', syncFile, 'sync');
    expect(again.status, JSON.stringify(again.body)).toBe(200);

    // Jobs end: the crashed async import resumes, the training job finishes or fails (no job stays running).
    const deadline = Date.now() + 150_000;
    for (;;) {
      const jobs = await Promise.all(
        [asyncUpload.body.job_id as string, trainJob].map((id) => api(server!.base, 'GET', `/api/v1/jobs/${id}`, { token: tenant.apiKey })),
      );
      if (jobs.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.body.status))) break;
      if (Date.now() > deadline) throw new Error(`jobs still unfinished: ${JSON.stringify(jobs.map((j) => j.body.status))}`);
      await new Promise((r) => setTimeout(r, 500));
    }

    await server.stop();
    server = undefined;
    const t = tenant.tenantId;
    const found = await withStoppedDatabase(dataDir, async (q) => ({
      events: (
        await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${t} AND dedupe_key LIKE 'e:ev-%'`)
      )[0]!.n,
      sync: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${t} AND user_id LIKE 'syn-%'`))[0]!
        .n,
      async: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${t} AND user_id LIKE 'asy-%'`))[0]!
        .n,
      runs: await q<{ id: string; status: string; fileName: string }>(
        sql`SELECT id, status, file_name AS "fileName" FROM import_runs WHERE tenant_id = ${t} ORDER BY created_at`,
      ),
      jobs: await q<{ type: string; status: string; due: boolean }>(
        sql`SELECT type, status, run_at <= now() AS due FROM jobs WHERE tenant_id = ${t}`,
      ),
      // Profiles whose event count differs from the events that point at them.
      wrongCounts: await q<{ id: string; eventCount: number; actual: number }>(
        sql`SELECT p.id, p.event_count AS "eventCount", count(i.id)::int AS actual
            FROM profiles p LEFT JOIN interactions i ON i.tenant_id = p.tenant_id AND i.profile_id = p.id
            WHERE p.tenant_id = ${t} AND p.status = 'active'
            GROUP BY p.id, p.event_count HAVING p.event_count <> count(i.id)`,
      ),
    }));

    // Rows: every event exactly once, every row of both files exactly once.
    expect(found.events).toBe(batches.length * BATCH);
    expect(found.sync).toBe(SYNC_ROWS);
    expect(found.async).toBe(ROWS);
    // Jobs: none left running after the restart; none due and still queued (periodic jobs, the recs maintenance and
    // the marts' next scheduled refresh, may be queued for later).
    expect(found.jobs.filter((j) => j.status === 'running')).toEqual([]);
    expect(found.jobs.filter((j) => j.status === 'queued' && j.due && j.type !== 'recs.maintenance')).toEqual([]);
    expect(found.runs.find((r) => r.fileName === 'async.csv')?.status).toBe('succeeded');
    expect(found.runs.filter((r) => r.fileName === 'sync.csv').at(-1)?.status).toBe('succeeded');
    // No upload run stays `running` or `queued` after the restart: a synchronous upload cut by the crash is
    // swept at start as `interrupted` (issue 22, M1).
    expect(found.runs.filter((r) => r.status === 'running' || r.status === 'queued')).toEqual([]);
    // Profile aggregates: each profile's event count equals its events, since they commit with the insert
    // (issue 22, M2).
    expect(found.wrongCounts).toEqual([]);
  }, 420_000);
});
