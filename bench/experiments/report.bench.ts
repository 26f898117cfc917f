/**
 * bench/experiments (report): GET /api/v1/admin/experiments/:id/report over ~10 million exposure and metric rows on
 * PostgreSQL, the report reading rollups that a scheduled task refreshes in the background (bounded batches), beside
 * main's path (a baseline checkout whose report refreshes the rollups on the request), on the same rows and the same
 * database, alternating. Measured: the task's first build (time until the report says it is fresh), warm report
 * p50/p95 (this checkout, then the baseline, alternating), and rounds after +50k metric events and +5k new units
 * (`BENCH_MORE`, `BENCH_MORE_UNITS`), alternating two kinds: (a) this checkout's report right after the insert (must not
 * wait: p50/p95 of reads while the task catches up) and the task's time to catch up (insert commit to
 * `freshness.pending` false); (b) the baseline's report right after the insert (its refresh on the request). Then
 * the rollup report must equal the raw scan (`?source=raw`, freshness aside). Goal (issue 11): under 2 s.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/loupe_bench BENCH_BASELINE=/work/main npm run bench:experiments-report
 *   BENCH_UNITS=5250000 (default): exposed units, one assignment row each; metric events: clicks for half
 *   of them, add-to-carts for about a third, purchases with revenue for about a fifth (~10.1 million rows in all). Rows
 *   are made with generate_series (set-based, one statement per table). The bench's tenant is deleted at the end
 *   (BENCH_KEEP=1 keeps it: drop the database instead, faster). Without BENCH_BASELINE only this checkout is measured.
 *   Both servers use DATABASE_URL; only this checkout's runs the scheduled tasks (the baseline runs `--no-worker`).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { openDatabase, queryOne } from '../../src/platform/index.ts';
import { BENCH_ADMIN, postJson, startLoupe, stopServer } from '../lib/process.ts';

const url = process.env.DATABASE_URL;
const UNITS = Number(process.env.BENCH_UNITS ?? 5_250_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MORE = Number(process.env.BENCH_MORE ?? 50_000);
const MORE_UNITS = Number(process.env.BENCH_MORE_UNITS ?? 5_000);
const KEEP = process.env.BENCH_KEEP === '1';
const BASELINE = process.env.BENCH_BASELINE;
if (!url) throw new Error('run with DATABASE_URL (PostgreSQL): the goal is about it');

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-exp-report-'));
const env = { RATE_LIMIT_AUTH_PER_MINUTE: '100000000', LOUPE_EXPERIMENTS_REFRESH_EVERY_MS: process.env.BENCH_REFRESH_EVERY_MS ?? '2000' };
const mine = await startLoupe({ dataDir, timeoutMs: 300_000, env, worker: true });
const baseDir = BASELINE ? await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-exp-report-base-')) : undefined;
const baseline = BASELINE && baseDir ? await startLoupe({ dataDir: baseDir, timeoutMs: 300_000, env, root: BASELINE }) : undefined;
const database = await openDatabase({ kind: 'postgres', url });
let tenantId = '';
const load = () => os.loadavg()[0]!.toFixed(1);
try {
  const post = (p: string, body: unknown, token?: string) => postJson(mine.base, p, body, token);
  const db = database.db;
  const admin = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await post('/api/v1/admin/tenants', { name: `Report bench ${Date.now()}` }, admin);
  tenantId = tenant.id as string;
  const email = `owner-${tenantId.slice(0, 8)}@bench.local`;
  await post('/api/v1/admin/users', { email, password: 'Owner-Password-1', tenant_id: tenantId, role: 'owner' }, admin);
  const owner = (await post('/api/v1/auth/login', { email, password: 'Owner-Password-1' })).access_token as string;
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['analytics:read', 'experiments:manage'] }, owner))
    .api_key as string;
  const created = await post('/api/v1/admin/experiments', { name: 'Report bench', variants: [{ key: 'control' }, { key: 'b' }] }, key);
  const e = { id: created.id as string };
  const [control, treatment] = (created.variants as { id: string }[]).map((v) => v.id);
  const t0 = performance.now();
  // Loaded before the start, so the task's first build starts on the whole of it.
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
  const loadS = (performance.now() - t0) / 1000;
  const rows = await queryOne<{ a: number; m: number }>(
    db,
    sql`SELECT (SELECT count(*) FROM experiment_assignments WHERE tenant_id = ${tenantId})::int AS a,
               (SELECT count(*) FROM experiment_metric_events WHERE tenant_id = ${tenantId})::int AS m`,
  );
  console.log(`loaded ${rows?.a} units + ${rows?.m} metric events in ${loadS.toFixed(0)} s (load ${load()})`);

  type Freshness = { source: string; as_of: string | null; pending: boolean; refreshing: boolean };
  // node:http, not fetch: a raw scan over millions of rows may outlast fetch's 300 s headers timeout.
  const get = (base: string, query: string) =>
    new Promise<{ ms: number; body: Record<string, unknown> }>((resolve, reject) => {
      const s0 = performance.now();
      const req = http.get(
        `${base}/api/v1/admin/experiments/${e.id}/report${query}`,
        { headers: { authorization: `Bearer ${key}` } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve({ ms: performance.now() - s0, body: JSON.parse(body) as Record<string, unknown> })
              : reject(new Error(`report answered ${res.statusCode}: ${body.slice(0, 300)}`)),
          );
        },
      );
      req.on('error', reject);
    });
  const fresh = (r: { body: Record<string, unknown> }) => r.body.freshness as Freshness | undefined;
  const pct = (ms: number[], p: number) => {
    const s = [...ms].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
  };
  const fmt = (ms: number[]) =>
    ms.length ? `p50 ${(pct(ms, 50) / 1000).toFixed(3)} s, p95 ${(pct(ms, 95) / 1000).toFixed(3)} s (n=${ms.length})` : 'not measured';
  /** Reads this checkout's report until it says it is fresh: the reads' latencies, and the time from `since`. */
  const untilFresh = async (since: number, limitS: number) => {
    const reads: number[] = [];
    for (;;) {
      const r = await get(mine.base, '');
      reads.push(r.ms);
      if (!fresh(r)?.pending) return { reads, catchUpS: (performance.now() - since) / 1000 };
      if (performance.now() - since > limitS * 1000) return { reads, catchUpS: Number.NaN };
      await new Promise((res) => setTimeout(res, 500));
    }
  };

  await post(`/api/v1/admin/experiments/${e.id}/start`, {}, key);
  const startedAt = performance.now();
  const build = await untilFresh(startedAt, 3600);
  console.log(`  first build by the task: ${build.catchUpS.toFixed(1)} s; reads meanwhile ${fmt(build.reads)} (load ${load()})`);

  const warmMine: number[] = [];
  const warmBase: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    warmMine.push((await get(mine.base, '')).ms);
    if (baseline) warmBase.push((await get(baseline.base, '')).ms);
  }
  console.log(`  warm: this ${fmt(warmMine)}; baseline ${fmt(warmBase)} (load ${load()})`);

  let round = 0;
  const more = async () => {
    round++;
    const run = `${Date.now().toString(36)}:${round}`;
    // Half the events late (occurred hours or days ago), on units spread over the whole experiment.
    await db.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, currency, dedupe_key, occurred_at)
      SELECT ${tenantId}, gen_random_uuid(), 'u:' || ((i::bigint * 104729) % ${UNITS}), 'purchase', 25, 'USD', 'more:' || ${run} || ':' || i,
             now() - ((((i::bigint * 104729) % ${UNITS}) * 7919) % 40320) * interval '1 minute' + CASE WHEN i % 2 = 0 THEN interval '2 hours' ELSE interval '3 minutes' END
      FROM generate_series(1, ${MORE}) i`);
    await db.execute(sql`INSERT INTO experiment_assignments (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
      SELECT ${tenantId}, 'new:' || ${run} || ':' || i, ARRAY[${e.id}::uuid], ARRAY[CASE WHEN i % 2 = 0 THEN ${control}::uuid ELSE ${treatment}::uuid END],
             ARRAY[now() - interval '1 hour'], ARRAY[now()], ARRAY[1]
      FROM generate_series(1, ${MORE_UNITS}) i`);
    return performance.now();
  };
  const afterMine: number[] = [];
  const duringMine: number[] = [];
  const catchUp: number[] = [];
  const afterBase: number[] = [];
  let stalePending = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // (a) this checkout: reads right after the insert, and the task's catch-up.
    const at = await more();
    const first = await get(mine.base, '');
    afterMine.push(first.ms);
    if (fresh(first)?.pending) stalePending++;
    const c = await untilFresh(at, 1800);
    duringMine.push(...c.reads);
    catchUp.push(c.catchUpS);
    console.log(
      `  round ${r + 1}a: this, first read ${(first.ms / 1000).toFixed(3)} s (pending ${fresh(first)?.pending}); task caught up in ${c.catchUpS.toFixed(1)} s (load ${load()})`,
    );
    if (!baseline) continue;
    // (b) main's path: the baseline's report refreshes on the request.
    await more();
    const b = await get(baseline.base, '');
    afterBase.push(b.ms);
    console.log(`  round ${r + 1}b: baseline, first read ${(b.ms / 1000).toFixed(3)} s (load ${load()})`);
    await untilFresh(performance.now(), 1800); // the task's leftovers (it may have raced the baseline) before the next round
  }
  const [rolled, reference] = [(await get(mine.base, '')).body, (await get(mine.base, '?source=raw')).body];
  const { freshness: _a, ...r1 } = rolled;
  const { freshness: _b, ...r2 } = reference;
  const equal = JSON.stringify(r1) === JSON.stringify(r2);

  console.log(
    `\nbench/experiments report — PostgreSQL, ${rows?.a} exposed units + ${rows?.m} metric events = ${((rows?.a ?? 0) + (rows?.m ?? 0)).toLocaleString('en')} rows (loaded in ${loadS.toFixed(0)} s), ${os.cpus().length} cores, loaded (load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
  console.log(`first build by the scheduled task (start to fresh)   ${build.catchUpS.toFixed(1)} s`);
  console.log(`warm report, this (rollups as they are)             ${fmt(warmMine)}`);
  console.log(`warm report, baseline (refresh on read)             ${fmt(warmBase)}`);
  console.log(
    `report right after +${MORE} events/+${MORE_UNITS} units, this     ${fmt(afterMine)} (pending: ${stalePending}/${afterMine.length})`,
  );
  console.log(`report while the task catches up, this              ${fmt(duringMine)}`);
  console.log(`task catch-up after +${MORE}/+${MORE_UNITS} (insert to fresh)      ${catchUp.map((x) => `${x.toFixed(1)} s`).join(', ')}`);
  console.log(`report right after +${MORE}/+${MORE_UNITS}, baseline (refresh)    ${fmt(afterBase)}`);
  console.log(`rollup report equals raw report (freshness aside): ${equal ? 'yes' : 'NO'}`);
  console.log(
    `goal < 2 s (this, warm and after changes): ${[...warmMine, ...afterMine, ...duringMine].every((x) => x < 2000) ? 'MET' : 'NOT MET'} (load ${load()})`,
  );
} finally {
  if (tenantId && !KEEP) {
    await database.db.execute(sql`DELETE FROM experiment_metric_events WHERE tenant_id = ${tenantId}`);
    await database.db.execute(sql`DELETE FROM experiment_assignments WHERE tenant_id = ${tenantId}`);
    for (const table of ['experiment_unit_metrics', 'experiment_metric_rollups', 'experiment_rollup_watermarks'])
      await database.db.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`);
  }
  await database.close();
  if (baseline) await stopServer(baseline.server);
  await stopServer(mine.server);
  await fs.rm(dataDir, { recursive: true, force: true });
  if (baseDir) await fs.rm(baseDir, { recursive: true, force: true });
}
