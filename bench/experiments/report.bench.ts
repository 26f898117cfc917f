/**
 * bench/experiments (report): GET /api/v1/admin/experiments/:id/report over millions of exposure and metric
 * rows, side by side on the same rows: `?source=raw` (a scan of the experiment's assignments joined to the metric
 * events per request), the rollups' first build (the first report of a never-built experiment), warm rollup reads
 * (refresh from the watermark + a few hundred rollup rows), and a read after 1% more events (half of them late,
 * occurred days ago) and 0.1% new units; then the rollup report must equal the raw one. Beside them the floor of
 * any raw-scan report: `count(*)` of the experiment's exposures and of the tenant's metric events. Goal (issue 11):
 * under 2 s over 10 million rows on PostgreSQL.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/loupe_bench npm run bench:experiments-report
 *   BENCH_UNITS=5000000 (default on PostgreSQL; 200,000 on PGlite): exposed units, one assignment row each;
 *   metric events: clicks for half of them, add-to-carts for a third, purchases with revenue for a fifth
 *   (~9.6 million rows in all at the default). Rows are made with generate_series (set-based, one statement
 *   per table); the bench's tenant is deleted at the end.
 *   BENCH_KEEP=1 keeps the tenant's rows and prints a BENCH_REUSE value; BENCH_REUSE=<tenant>:<experiment>:<key>
 *   measures again on those rows (no load; its rollups go on from where the last run left them, so the first
 *   build is skipped) — to EXPLAIN the statements on a large database and re-measure a change without a reload.
 *   Pass the loading run's BENCH_UNITS with it: the extra events go to units 'u:0'..'u:<BENCH_UNITS - 1>' (with the
 *   default 5,000,000 over 2M loaded units, most of the 1% lands on units that were never exposed).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase, queryOne } from '../../src/platform/index.ts';
import { BENCH_ADMIN, postJson, startLoupe, stopServer } from '../lib/process.ts';

const url = process.env.DATABASE_URL;
const UNITS = Number(process.env.BENCH_UNITS ?? (url ? 5_000_000 : 200_000));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KEEP = process.env.BENCH_KEEP === '1';
const REUSE = process.env.BENCH_REUSE?.split(':');

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-exp-report-'));
const { server, base } = await startLoupe({ dataDir, timeoutMs: 300_000, env: { RATE_LIMIT_AUTH_PER_MINUTE: '100000000' } });
const database = url ? await openDatabase({ kind: 'postgres', url }) : undefined;
let tenantId = '';
try {
  const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
  if (!database)
    throw new Error('PGlite: the server holds the embedded database; run with DATABASE_URL (PostgreSQL), the goal is about it');
  const db = database.db;
  let e: { id: string };
  let key: string;
  let loadS = 0;
  if (REUSE) {
    [tenantId, e, key] = [REUSE[0]!, { id: REUSE[1]! }, REUSE[2]!];
  } else {
    const admin = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
    const tenant = await post('/api/v1/admin/tenants', { name: `Report bench ${Date.now()}` }, admin);
    tenantId = tenant.id as string;
    const email = `owner-${tenantId.slice(0, 8)}@bench.local`;
    await post('/api/v1/admin/users', { email, password: 'Owner-Password-1', tenant_id: tenantId, role: 'owner' }, admin);
    const owner = (await post('/api/v1/auth/login', { email, password: 'Owner-Password-1' })).access_token as string;
    key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['analytics:read', 'experiments:manage'] }, owner)).api_key as string;
    const created = await post('/api/v1/admin/experiments', { name: 'Report bench', variants: [{ key: 'control' }, { key: 'b' }] }, key);
    e = { id: created.id as string };
    await post(`/api/v1/admin/experiments/${e.id}/start`, {}, key);
    const [control, treatment] = (created.variants as { id: string }[]).map((v) => v.id);
    const t0 = performance.now();
    // Unit i: variant by parity; exposed at a pseudo-random minute of the last 4 weeks; events within the 72 h window.
    await db.execute(sql`INSERT INTO experiment_assignments (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
    SELECT ${tenantId}, 'u:' || i, ARRAY[${e.id}::uuid], ARRAY[CASE WHEN i % 2 = 0 THEN ${control}::uuid ELSE ${treatment}::uuid END],
           ARRAY[now() - ((i::bigint * 7919) % 40320) * interval '1 minute'], ARRAY[now()], ARRAY[1]
    FROM generate_series(0, ${UNITS - 1}) i`);
    await db.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, currency, dedupe_key, occurred_at)
    SELECT ${tenantId}, gen_random_uuid(), 'u:' || i, k.event, CASE WHEN k.event = 'purchase' THEN 10 + (i % 90) ELSE 1 END,
           CASE WHEN k.event = 'purchase' THEN 'USD' END, k.event || ':' || i,
           now() - ((i::bigint * 7919) % 40320) * interval '1 minute' + interval '1 hour'
    FROM generate_series(0, ${UNITS - 1}) i
    CROSS JOIN LATERAL (VALUES ('click', 2), ('add_to_cart', 3 + (i % 7 = 0)::int), ('purchase', 5 + (i % 2))) AS k(event, every)
    WHERE i % k.every = 0`);
    await db.execute(sql`ANALYZE experiment_assignments, experiment_metric_events`);
    loadS = (performance.now() - t0) / 1000;
    if (KEEP) console.log(`BENCH_REUSE=${tenantId}:${e.id}:${key}`);
  }
  const rows = await queryOne<{ a: number; m: number }>(
    db,
    sql`SELECT (SELECT count(*) FROM experiment_assignments WHERE tenant_id = ${tenantId})::int AS a,
               (SELECT count(*) FROM experiment_metric_events WHERE tenant_id = ${tenantId})::int AS m`,
  );
  const time1 = async (fn: () => Promise<unknown>) => {
    const s = performance.now();
    await fn();
    return [performance.now() - s];
  };
  const time = async (fn: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      await fn();
      ms.push(performance.now() - s);
    }
    return ms;
  };
  // node:http, not fetch: a first rollup build over millions of rows outlasts fetch's 300 s headers timeout.
  const get = (source: 'raw' | 'rollup') =>
    new Promise<unknown>((resolve, reject) => {
      const req = http.get(
        `${base}/api/v1/admin/experiments/${e.id}/report?source=${source}`,
        { headers: { authorization: `Bearer ${key}` } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(body))
              : reject(new Error(`report answered ${res.statusCode}: ${body.slice(0, 300)}`)),
          );
        },
      );
      req.on('error', reject);
    });
  const progress = (what: string, ms: number[]) =>
    console.log(`  ${what}: ${ms.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ')} (load ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(`loaded in ${loadS.toFixed(0)} s`);
  // Reused rows: the raw scan was timed by the run that loaded them (it is still run once, for the equality check).
  const raw = REUSE ? [] : await time(() => get('raw'));
  progress('raw', raw);
  // Reused rows: the rollups exist, so this "first build" is one more warm read.
  const firstBuild = await time1(() => get('rollup'));
  progress('first build', firstBuild);
  const warm = await time(() => get('rollup'));
  progress('warm', warm);
  // 1% more metric events (half occurred days ago: late) and 0.1% new units, then a read that refreshes them in.
  const more = Math.round(UNITS / 100);
  const run = Date.now().toString(36); // new dedupe keys and unit ids on every run (BENCH_REUSE runs again)
  await db.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, currency, dedupe_key, occurred_at)
    SELECT ${tenantId}, gen_random_uuid(), 'u:' || ((i::bigint * 104729) % ${UNITS}), 'purchase', 25, 'USD', 'more:' || ${run} || ':' || i,
           now() - ((((i::bigint * 104729) % ${UNITS}) * 7919) % 40320) * interval '1 minute' + CASE WHEN i % 2 = 0 THEN interval '2 hours' ELSE interval '3 minutes' END
    FROM generate_series(1, ${more}) i`);
  await db.execute(sql`INSERT INTO experiment_assignments (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
    SELECT ${tenantId}, 'new:' || ${run} || ':' || i, ARRAY[${e.id}::uuid], ARRAY[(SELECT id FROM experiment_variants
             WHERE tenant_id = ${tenantId} AND experiment_id = ${e.id} AND position = i % 2)],
           ARRAY[now() - interval '1 hour'], ARRAY[now()], ARRAY[1]
    FROM generate_series(1, ${Math.round(UNITS / 1000)}) i`);
  const afterChange = await time1(() => get('rollup'));
  const [rolled, reference] = [await get('rollup'), await get('raw')];
  const equal = JSON.stringify(rolled) === JSON.stringify(reference);
  const floor = await time(() =>
    queryOne(
      db,
      sql`SELECT (SELECT count(*) FROM experiment_assignments WHERE tenant_id = ${tenantId} AND experiment_ids @> ARRAY[${e.id}::uuid])
               + (SELECT count(*) FROM experiment_metric_events WHERE tenant_id = ${tenantId}) AS n`,
    ),
  );
  const fmt = (ms: number[]) => ms.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ');
  console.log(
    `\nbench/experiments report — PostgreSQL, ${rows?.a} exposed units + ${rows?.m} metric events = ${((rows?.a ?? 0) + (rows?.m ?? 0)).toLocaleString('en')} rows (loaded in ${loadS.toFixed(0)} s), ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`report, raw scan (?source=raw)                  ${fmt(raw)}`);
  console.log(`report, rollups' first build${REUSE ? ' (reused: warm)' : '                '}  ${fmt(firstBuild)}`);
  console.log(`report, rollups warm (refresh + read)         ${fmt(warm)}`);
  console.log(
    `report after +${more.toLocaleString('en')} events, +${Math.round(UNITS / 1000).toLocaleString('en')} units  ${fmt(afterChange)}`,
  );
  console.log(`floor: count(*) of the same rows              ${fmt(floor)}`);
  console.log(`rollup report equals raw report: ${equal ? 'yes' : 'NO'}`);
  console.log(
    `goal < 2 s (warm and after changes): ${[...warm, ...afterChange].every((x) => x < 2000) ? 'MET' : 'NOT MET'} (load ${os.loadavg()[0]!.toFixed(1)})`,
  );
} finally {
  if (database && tenantId && !KEEP && !REUSE) {
    await database.db.execute(sql`DELETE FROM experiment_metric_events WHERE tenant_id = ${tenantId}`);
    await database.db.execute(sql`DELETE FROM experiment_assignments WHERE tenant_id = ${tenantId}`);
    for (const table of ['experiment_unit_metrics', 'experiment_metric_rollups', 'experiment_rollup_watermarks'])
      await database.db.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`);
  }
  await database?.close();
  await stopServer(server);
  await fs.rm(dataDir, { recursive: true, force: true });
}
