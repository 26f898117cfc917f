/**
 * bench/newsfeed: GET /api/v1/newsfeed at 50 concurrent clients, every request a different shopper of a tenant
 * with BENCH_ITEMS active items (100,000 by default, uploaded through the bulk API), one active sponsored campaign
 * (so positions 3 and 8 run the auction and reserve budget on every page) and the price enrichment query on every
 * page, beside a bare Fastify hello-world measured in the same run. Goal (issue 19): p99 under 50 ms.
 *
 *   npm run bench:newsfeed                          # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:newsfeed   # on a database of the run's own (bench/lib/scratch.ts)
 *   BENCH_BASELINE=/work/main npm run bench:newsfeed     # that checkout measured too, in alternating rounds
 *
 * Env: BENCH_ITEMS (100000), BENCH_SECONDS (10, after 2 s of warm-up), BENCH_CONNECTIONS (50),
 * BENCH_CPU_PROFILE=file.cpuprofile (a V8 profile of the server during the measured feed window, bench/lib/cpu-profile.mjs).
 * In the closed loop of 50 clients, each waits 50 / throughput on average (Little's law): a p99 under 50 ms needs over
 * 1,000 pages/s, so it measures the CPU per page (the server's and PostgreSQL's, on the same cores) as much as any queue.
 * BENCH_ROUNDS (1 per tree): with BENCH_BASELINE, the trees take turns on the same data (baseline first).
 * BENCH_VARIANT_ENV='NAME=value,...' (e.g. DATABASE_POOL_SIZE=30): this tree is measured a second time per round with
 * that environment (a setting tried side by side); BENCH_VARIANT_SOCKET=/var/run/postgresql makes that variant reach
 * the run's database over the Unix socket in that folder instead of TCP (PostgreSQL only).
 * Each server also reports its event-loop delay (p50/p99/max) and stalls over 20 ms during the measured window
 * (bench/recs-serving/loop-monitor.mjs): a loop that is free while latency grows means the requests queue elsewhere.
 * The server's CPU milliseconds per page are printed too (steadier than latency on a shared machine), and the SQL
 * statements per page by kind with their mean wait (bench/lib/sql-census.mjs, both databases), counted over
 * 20 pages served one at a time before the load.
 * On PostgreSQL the run's database is ANALYZEd after the upload (BENCH_NO_ANALYZE=1: not), and the load's window
 * is sampled in pg_stat_activity (bench/lib/pg-activity.ts): which statements PostgreSQL's backends were busy on, their CPU.
 * Not measured here: store offers in pricing (the tenant has none, so the enrichment query runs but finds no
 * group). The Yelp2018 rules-vs-NDCG@20 comparison is bench:newsfeed-yelp (yelp-rules.bench.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { BENCH_ADMIN, freePort, postJson, processCpuMs, startLoupe, startServer, stopServer } from '../lib/process.ts';
import { scratchDatabase } from '../lib/scratch.ts';
import { type ActivityReport, formatActivity, sampleActivity } from '../lib/pg-activity.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const root = path.resolve(import.meta.dirname, '../..');
const profileFile = process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE) : undefined;
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const VARIANT_ENV_PAIRS: Record<string, string> | undefined = process.env.BENCH_VARIANT_ENV
  ? Object.fromEntries(process.env.BENCH_VARIANT_ENV.split(',').map((kv) => kv.split('=', 2) as [string, string]))
  : undefined;
/** BENCH_VARIANT_SOCKET=/var/run/postgresql: the variant reaches the run's database over that Unix socket, not TCP. */
const VARIANT_SOCKET = process.env.BENCH_VARIANT_SOCKET;
/** Pages served one at a time before the load, for the SQL census and the latency of a page alone. */
const SEQUENTIAL = 20;

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  cpuMs: number;
  /** PostgreSQL's CPU per page (all its processes on this machine), ms; 0 on PGlite. */
  pgCpuMs: number;
  load: string;
  /** Requests completed in the measured window. */
  total: number;
}

/**
 * CPU milliseconds used so far by every PostgreSQL server process on this machine (Linux /proc; 0 elsewhere or on
 * PGlite, which runs inside the Loupe process): with the server's own CPU it says which side a page's time is spent on.
 */
async function postgresCpuMs(): Promise<number> {
  if (!process.env.DATABASE_URL) return 0;
  let total = 0;
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'postgres') continue;
    const ms = await processCpuMs(Number(pid));
    if (Number.isFinite(ms)) total += ms;
  }
  return total;
}

/** Loads `url` (2 s of warm-up first); with `measured`, the server's CPU per request over the measured window. */
async function load(
  url: string,
  opts: Partial<autocannon.Options> = {},
  measured?: { pid: number | undefined; onWarm?: () => Promise<void>; databaseUrl?: string | undefined },
) {
  await autocannon({ url, connections: CONNECTIONS, duration: 2, ...opts });
  await measured?.onWarm?.();
  const c0 = await processCpuMs(measured?.pid);
  const p0 = await postgresCpuMs();
  const sampler = await sampleActivity(measured?.databaseUrl);
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...opts });
  const activity = await sampler.stop();
  const cpuMs = ((await processCpuMs(measured?.pid)) - c0) / Math.max(1, r.requests.total);
  // PostgreSQL backends that exit during the window (none expected: pooled connections) would lower this figure
  const pgCpuMs = ((await postgresCpuMs()) - p0) / Math.max(1, r.requests.total);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    cpuMs,
    pgCpuMs,
    load,
    total: r.requests.total,
    activity,
  };
}

const barePort = await freePort();
const bare = await startServer(
  'node',
  ['--import', 'tsx', path.join(root, 'bench/http/bare-server.ts'), String(barePort)],
  {},
  `http://127.0.0.1:${barePort}/`,
);
let baseline: Figures;
try {
  baseline = await load(`http://127.0.0.1:${barePort}/`);
} finally {
  await stopServer(bare);
}

const scratch = await scratchDatabase('newsfeed');
const censusFile = path.join(scratch.dataDir, 'sql-census.json');
const loopFile = path.join(scratch.dataDir, 'loop.json');
const env = { ...scratch.env, RATE_LIMIT_AUTH_PER_MINUTE: '100000000' };
const socketUrl = (() => {
  if (!VARIANT_SOCKET || !scratch.databaseUrl) return undefined;
  const u = new URL(scratch.databaseUrl);
  u.searchParams.set('host', VARIANT_SOCKET);
  return u.toString();
})();
const VARIANT_ENV: Record<string, string> | undefined =
  VARIANT_ENV_PAIRS || socketUrl ? { ...VARIANT_ENV_PAIRS, ...(socketUrl ? { DATABASE_URL: socketUrl } : {}) } : undefined;
const variantLabel = [process.env.BENCH_VARIANT_ENV, socketUrl ? `socket ${VARIANT_SOCKET}` : undefined].filter(Boolean).join(', ');

/** A Loupe server of checkout `tree` on the run's data, with the SQL census (and, for this tree, the CPU profile). */
function serve(tree: string, extraEnv: Record<string, string> = {}) {
  const profiled = profileFile !== undefined && tree === root && Object.keys(extraEnv).length === 0;
  return startLoupe({
    root: tree,
    dataDir: scratch.dataDir,
    timeoutMs: 600_000,
    env: {
      ...env,
      LOUPE_SQL_CENSUS_FILE: censusFile,
      LOUPE_SQL_CENSUS_ROOT: tree,
      BENCH_LOOP_FILE: loopFile,
      ...extraEnv,
      ...(profiled ? { LOUPE_CPU_PROFILE_FILE: profileFile } : {}),
    },
    nodeArgs: [
      '--import',
      path.join(root, 'bench/lib/sql-census.mjs'),
      '--import',
      path.join(root, 'bench/recs-serving/loop-monitor.mjs'),
      ...(profiled ? ['--import', path.join(root, 'bench/lib/cpu-profile.mjs')] : []),
    ],
  });
}

/** One feed page, read to the end; anything but 200 throws. */
async function page(url: string): Promise<void> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  if (!r.ok) throw new Error(`GET /newsfeed: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}

/** Whether a first page was served while recs still loads the tenant's catalog (its cursor carries `w`). */
async function warming(url: string): Promise<boolean> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  if (!r.ok) throw new Error(`GET /newsfeed: ${r.status} ${await r.text()}`);
  const cursor = ((await r.json()) as { next_cursor: string | null }).next_cursor;
  return cursor !== null && (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { w?: number }).w === 1;
}

/** The census so far by kind (SIGUSR2 writes it and zeroes it). */
async function census(pid: number | undefined): Promise<Record<string, { count: number; ms: number }>> {
  await fs.rm(censusFile, { force: true });
  await fs.rm(loopFile, { force: true });
  if (pid !== undefined) process.kill(pid, 'SIGUSR2');
  // a server still busy with the last requests answers the signal when its event loop gets to it
  for (let i = 0; i < 600; i++) {
    try {
      return (JSON.parse(await fs.readFile(censusFile, 'utf8')) as { kinds: Record<string, { count: number; ms: number }> }).kinds;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('the SQL census did not answer');
}

/** The loop monitor's figures of the window since the previous signal, as one line. */
async function readLoop(): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = JSON.parse(await fs.readFile(loopFile, 'utf8')) as {
        loopDelayMs: { p50: number; p99: number; max: number };
        stallsOver20ms: { count: number; maxMs: number; byGc: number };
        gc: Record<string, { totalMs: number }>;
        seconds: number;
      };
      const gcMs = Object.values(r.gc).reduce((a, g) => a + g.totalMs, 0);
      return `event-loop delay p50 ${r.loopDelayMs.p50} ms, p99 ${r.loopDelayMs.p99} ms, max ${r.loopDelayMs.max} ms; stalls > 20 ms ${r.stallsOver20ms.count} (max ${r.stallsOver20ms.maxMs} ms, ${r.stallsOver20ms.byGc} by GC); GC ${gcMs.toFixed(0)} ms in ${r.seconds.toFixed(1)} s`;
    } catch {
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return 'loop monitor: no figures';
}

let uploadSeconds = 0;
let firstAfterUploadMs = 0;
let key = '';
const runs: {
  label: string;
  loop: string;
  tree: string;
  feed: Figures;
  coldMs: number;
  warmMs: number;
  singleMs: number;
  sqlPerPage: number;
  kinds: [string, number, number][];
  loadedKinds: string;
  activity: ActivityReport | undefined;
}[] = [];
try {
  const { server, base } = await serve(root);
  try {
    const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
    const adminToken = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
    const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Fashion' }, adminToken);
    await post(
      '/api/v1/admin/users',
      { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
      adminToken,
    );
    const owner = (await post('/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' })).access_token as string;
    key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['recommendations:read', 'interactions:write'] }, owner))
      .api_key as string;
    const CATS = ['Shoes', 'Bags', 'Dresses', 'Jackets', 'Hats', 'Belts', 'Scarves', 'Coats', 'Skirts', 'Shirts'];
    const started = performance.now();
    for (let k = 0; k < ITEMS; k += 1000) {
      const chunk = Array.from({ length: Math.min(1000, ITEMS - k) }, (_, j) => {
        const n = k + j;
        return {
          item_id: `sku-${n}`,
          name: `Item ${n}`,
          category: CATS[n % CATS.length],
          brand: `Brand ${Math.floor(n / 7) % 300}`,
          price: `${10 + (n % 500)}.00`,
          currency: 'USD',
          attributes: { style: n % 3 ? 'minimal' : 'boho' },
        };
      });
      await post('/api/v1/items/bulk', chunk, owner);
    }
    uploadSeconds = (performance.now() - started) / 1000;
    const c = await post(
      '/api/v1/sponsored/campaigns',
      {
        brand_id: 'Brand 1',
        name: 'Always on',
        currency: 'USD',
        budget_amount: '1000000.00',
        budget_type: 'lifetime',
        start_date: new Date(Date.now() - 3_600_000).toISOString(),
        pricing_model: 'cpc',
        bid_amount: '0.50',
        pacing: 'asap',
        creative: { headline: 'Brand 1' },
        promoted_item_ids: ['sku-7', 'sku-8', 'sku-9'],
      },
      owner,
    );
    await post(`/api/v1/sponsored/campaigns/${c.id}/approve`, {}, owner);
    await post(`/api/v1/sponsored/campaigns/${c.id}/activate`, {}, owner);
    // The first page in the process that wrote the catalog: serving applies every item the upload announced.
    const t0 = performance.now();
    await page(`${base}/api/v1/newsfeed?user_id=first-after-upload`);
    firstAfterUploadMs = performance.now() - t0;
  } finally {
    await stopServer(server);
  }
  // The planner's statistics as autovacuum leaves them a minute or so after an upload (on a loaded machine it came
  // later than the measurement: with none, the catalog's newest-items read sorted all 100k items, 350 ms, and the
  // old change marker took a bitmap scan over them). Both trees measured on the same statistics.
  // BENCH_NO_ANALYZE=1 measures the state right after the upload instead.
  if (scratch.databaseUrl && !process.env.BENCH_NO_ANALYZE) {
    const c = new pg.Client({ connectionString: scratch.databaseUrl });
    await c.connect();
    try {
      await c.query('ANALYZE');
    } finally {
      await c.end();
    }
  }
  // The trees take turns on the same data, each in a server of its own (baseline first, a variant last).
  const arms: { tree: string; label: string; tag: string; env: Record<string, string> }[] = [
    ...(BASELINE ? [{ tree: BASELINE, label: `(${path.basename(BASELINE)})`, tag: 'b', env: {} }] : []),
    { tree: root, label: '(this tree)', tag: 'a', env: {} },
    ...(VARIANT_ENV ? [{ tree: root, label: `(this tree, ${variantLabel})`, tag: 'v', env: VARIANT_ENV }] : []),
  ];
  for (let round = 0; round < ROUNDS; round++)
    for (const arm of arms) {
      const { tree } = arm;
      const { server, base } = await serve(tree, arm.env);
      try {
        // The statements of one page, counted on pages served one at a time before the load (under load, pages
        // still in flight at either end of the window blur the count; after it, the server is still finishing
        // the pages autocannon gave up on): each a new shopper, like the load's, after a few to warm the caches.
        const tag = `${arm.tag}${round}`;
        const t0 = performance.now();
        await page(`${base}/api/v1/newsfeed?user_id=cold-${tag}`);
        const coldMs = performance.now() - t0; // a fresh process: serving loads the catalog
        // The first pages are served from the catalog's bounded reads while recs loads the catalog in the background
        // (their cursors say `w`): measured once that load is done.
        let warmMs = 0;
        for (let i = 0; i < 1200 && (await warming(`${base}/api/v1/newsfeed?user_id=warming-${tag}-${i}`)); i++) {
          await new Promise((r) => setTimeout(r, 100));
          warmMs = performance.now() - t0;
        }
        for (let i = 0; i < 3; i++) await page(`${base}/api/v1/newsfeed?user_id=warm-${tag}-${i}`);
        await census(server.pid);
        const started = performance.now();
        for (let i = 0; i < SEQUENTIAL; i++) {
          await page(`${base}/api/v1/newsfeed?user_id=single-${tag}-${i}`);
        }
        const singleMs = (performance.now() - started) / SEQUENTIAL;
        const kinds = Object.entries(await census(server.pid))
          .filter(([k]) => k !== '(pool wait)')
          .map(([k, v]) => [k, v.count / SEQUENTIAL, v.ms / Math.max(1, v.count)] as [string, number, number]);
        const feed = await load(
          `${base}/api/v1/newsfeed?user_id=shopper-${tag}-[<id>]`,
          { headers: { authorization: `Bearer ${key}` }, idReplacement: true },
          {
            pid: server.pid,
            databaseUrl: scratch.databaseUrl,
            onWarm: async () => {
              await census(server.pid); // zeroes the tally and the loop figures (and starts this tree's profile)
            },
          },
        );
        // the window's census (the loop monitor writes its figures beside it): waits for a pooled connection under load
        const underLoad = await census(server.pid);
        const pool = underLoad['(pool wait)'];
        const poolWait = pool
          ? `; pooled-connection waits ${(pool.count / Math.max(1, feed.total)).toFixed(1)}/page, mean ${(pool.ms / pool.count).toFixed(1)} ms`
          : '';
        const loop = (await readLoop()) + poolWait;
        // the statements of the loaded window by kind: per page, and how long each waited for its answer
        const loadedKinds = Object.entries(underLoad)
          .filter(([k]) => k !== '(pool wait)')
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 8)
          .map(([k, v]) => `${k} ${(v.count / Math.max(1, feed.total)).toFixed(2)} (${(v.ms / Math.max(1, v.count)).toFixed(1)} ms)`)
          .join(', ');
        kinds.sort((a, b) => b[1] - a[1]);
        runs.push({
          label: arm.label,
          tree,
          feed,
          coldMs,
          warmMs,
          singleMs,
          sqlPerPage: kinds.reduce((a, [, n]) => a + n, 0),
          kinds,
          loop,
          loadedKinds,
          activity: feed.activity,
        });
      } finally {
        await stopServer(server);
      }
    }
} finally {
  await scratch.cleanup();
}

const db = scratch.databaseUrl ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/newsfeed — ${ITEMS.toLocaleString()} items (uploaded in ${uploadSeconds.toFixed(0)} s), ${CONNECTIONS} connections, ${DURATION} s, ${os.cpus().length} cores, ${db}`,
);
console.log(
  `bare hello-world                 ${baseline.rps.toFixed(0).padStart(7)} req/s  p50 ${baseline.p50.toFixed(1)} ms  p99 ${baseline.p99.toFixed(1)} ms  load ${baseline.load}`,
);
console.log(`first page after the upload, in the process that wrote the catalog (this tree): ${firstAfterUploadMs.toFixed(0)} ms`);
for (const { label, feed, coldMs, warmMs, singleMs, sqlPerPage, kinds, loop, loadedKinds, activity } of runs) {
  const name = `GET /newsfeed ${label}`.padEnd(32);
  console.log(
    `${name} ${feed.rps.toFixed(0).padStart(7)} req/s  p50 ${feed.p50.toFixed(1)} ms  p99 ${feed.p99.toFixed(1)} ms  non-2xx ${feed.non2xx}  errors ${feed.errors}  timeouts ${feed.timeouts}  server CPU ${feed.cpuMs.toFixed(2)} ms/page${feed.pgCpuMs ? `  PostgreSQL CPU ${feed.pgCpuMs.toFixed(2)} ms/page` : ''}  load ${feed.load}`,
  );
  console.log(
    `  first page of a fresh process ${coldMs.toFixed(0)} ms${warmMs ? ` (recs' catalog loaded in the background by ${warmMs.toFixed(0)} ms)` : ''}; one page at a time: ${singleMs.toFixed(1)} ms, SQL ${sqlPerPage.toFixed(1)}/page: ${kinds.map(([k, n, ms]) => `${k} ${n.toFixed(2)} (${ms.toFixed(1)} ms)`).join(', ')}`,
  );
  console.log(`  under load: ${loop}`);
  console.log(`  SQL under load per page (mean wait), by total wait: ${loadedKinds}`);
  if (activity) console.log(formatActivity(activity, feed.total));
}
const feed = runs.filter((r) => r.label === '(this tree)').at(-1)!.feed;
// No completed request means no measurement (every request outlived the run), never a met goal.
const verdict =
  feed.rps === 0
    ? 'NOT MEASURED (no request completed: the machine is overloaded, run again when idle)'
    : feed.p99 < 50
      ? 'MET'
      : 'NOT MET';
if (profileFile) console.log(`server CPU profile of the measured window: ${profileFile} (node bench/lib/cpu-profile-summary.mjs)`);
console.log(`p99 goal < 50 ms: ${verdict} (bare server p99 on this machine now: ${baseline.p99.toFixed(1)} ms)`);
