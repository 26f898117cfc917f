/**
 * bench/commerce: cart operations under 50 clients (goal p99 < 20 ms) and checkout completions per second
 * (cart lock, stock, order, a Stripe PaymentIntent authorized and captured against the local Stripe-protocol
 * server, purchases into events), beside Loupe's own GET /api/v1/whoami (the hook stack, no database) measured
 * in the same run as the baseline.
 *
 * Each row also prints the server's CPU milliseconds per request (meaningful on a loaded machine, where latency
 * measures the neighbours too), the load average when it was measured, and on PostgreSQL the SQL statements per
 * request by kind (bench/lib/sql-census.mjs preloaded into the server). Runs on a database of its own
 * (bench/lib/scratch.ts), dropped at the end.
 *
 *   npm run bench:commerce                       # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:commerce
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:commerce   # the server's V8 CPU profile, written when it stops
 *   BENCH_ONLY=get,add                            # only some phases (baseline, get, add, complete)
 *
 * At 50 clients in a closed loop, mean latency is 50 / throughput (Little's law): a p99 under 20 ms needs well over
 * 2,500 req/s, so the p99 there measures the machine's CPU per request as much as any queue.
 * On PostgreSQL the measured window is also sampled in pg_stat_activity (bench/lib/pg-activity.ts): this
 * database's backend CPU per request and the statements its backends were busy on.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startStripeServer } from '../../test/fakes/stripe-server.ts';
import { loadAverage } from '../lib/load.ts';
import { BENCH_ADMIN, postJson, processCpuMs, startLoupe, stopServer } from '../lib/process.ts';
import { scratchDatabase } from '../lib/scratch.ts';
import { type ActivityReport, formatActivity, sampleActivity } from '../lib/pg-activity.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COMPLETIONS = Number(process.env.BENCH_COMPLETIONS ?? 200);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'baseline,get,add,complete').split(','));
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const ITEMS = 50;

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** answers by status code, and errors/timeouts (what the non-2xx were) */
  statuses: string;
  cpuMsPerRequest: number;
  load: string;
  /** SQL statements per request by kind (PostgreSQL only). */
  sql: { perRequest: number; kinds: [string, number][] } | null;
  /** PostgreSQL's side of the window (PostgreSQL only). */
  activity: ActivityReport | undefined;
  total: number;
}

const stripe = await startStripeServer();
const scratch = await scratchDatabase('commerce');
const censusFile = scratch.databaseUrl ? path.join(scratch.dataDir, 'sql-census.json') : undefined;
const { server, base } = await startLoupe({
  dataDir: scratch.dataDir,
  env: { STRIPE_API_URL: stripe.url, ...scratch.env, ...(censusFile ? { LOUPE_SQL_CENSUS_FILE: censusFile } : {}) },
  nodeArgs: [
    ...(censusFile ? ['--import', path.resolve(import.meta.dirname, '../lib/sql-census.mjs')] : []),
    ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
  ],
  timeoutMs: 600_000, // migrations of a fresh database take minutes on a loaded machine
}).catch(async (err: unknown) => {
  await scratch.cleanup();
  await stripe.close();
  throw err;
});

/** The census so far (SIGUSR2 writes it and zeroes it); null on the embedded database. */
async function census(): Promise<Record<string, { count: number }> | null> {
  if (!censusFile) return null;
  await fs.rm(censusFile, { force: true });
  server.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    try {
      return (JSON.parse(await fs.readFile(censusFile, 'utf8')) as { kinds: Record<string, { count: number }> }).kinds;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('the SQL census did not answer');
}

function perRequest(kinds: Record<string, { count: number }> | null, requests: number): Row['sql'] {
  if (!kinds) return null;
  const all = Object.entries(kinds).map(([k, v]) => [k, v.count / Math.max(1, requests)] as [string, number]);
  all.sort((a, b) => b[1] - a[1]);
  return { perRequest: all.reduce((s, [, n]) => s + n, 0), kinds: all };
}

async function load(name: string, opts: autocannon.Options): Promise<Row> {
  await autocannon({ ...opts, connections: CONNECTIONS, duration: 2 });
  await census(); // zero after the warm-up
  const cpu0 = await processCpuMs(server.pid);
  const sampler = await sampleActivity(scratch.databaseUrl);
  const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: DURATION });
  const cpu = (await processCpuMs(server.pid)) - cpu0;
  const activity = await sampler.stop();
  const total = r.requests.total;
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx + r.errors + r.timeouts,
    statuses: [
      ...Object.entries((r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(
        ([code, v]) => `${code}: ${v.count}`,
      ),
      `errors: ${r.errors}`,
      `timeouts: ${r.timeouts}`,
    ].join(', '),
    cpuMsPerRequest: cpu / Math.max(1, total),
    load: loadAverage(),
    sql: perRequest(await census(), total),
    activity,
    total,
  };
}

const rows: Row[] = [];
let completions: { perSecond: number; cpuMs: number; load: string; sql: Row['sql']; failed: number } | undefined;
try {
  const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
  const admin = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await post('/api/v1/admin/tenants', { name: 'Commerce Bench' }, admin);
  await post(
    '/api/v1/admin/users',
    { email: 'owner@commerce.bench', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
    admin,
  );
  const owner = (await post('/api/v1/auth/login', { email: 'owner@commerce.bench', password: 'Owner-Password-1' })).access_token as string;
  const key = (await post('/api/v1/api-keys', { name: 'shop', scopes: ['commerce:write', 'catalog:write'] }, owner)).api_key as string;
  const put = await fetch(`${base}/api/v1/commerce/settings`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tax_rate_bp: 2000, tax_inclusive: true, shipping_options: [], stripe_secret_key: 'sk_test_bench' }),
  });
  if (!put.ok) throw new Error(`settings: ${put.status} ${await put.text()}`);
  for (let i = 0; i < ITEMS; i++)
    await post(
      `/api/v1/tenants/${tenant.id}/inventory`,
      { item_id: `sku-${i}`, name: `Item ${i}`, price: '19.99', currency: 'EUR', stock: 1_000_000 },
      key,
    );
  // An automatic 10% promotion: every cart read prices one (the common storefront case).
  await post('/api/v1/promotions', { automatic: true, type: 'percentage', target: 'items', allocation: 'each', value: 1000 }, owner);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  // 50 shoppers with a 3-line cart each.
  for (let u = 0; u < CONNECTIONS; u++)
    for (let i = 0; i < 3; i++) await post('/api/v1/cart/items', { user_id: `u${u}`, item_id: `sku-${(u + i) % ITEMS}`, quantity: 1 }, key);

  if (ONLY.has('baseline'))
    rows.push(await load('baseline: GET /api/v1/whoami (auth stack, no database)', { url: `${base}/api/v1/whoami`, headers }));
  let n = 0;
  if (ONLY.has('get'))
    rows.push(
      await load('GET /api/v1/cart (refresh from catalog, promotions, totals)', {
        url: base,
        headers,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/cart?user_id=u${n++ % CONNECTIONS}` }) }],
      }),
    );
  if (ONLY.has('add'))
    rows.push(
      await load('POST /api/v1/cart/items (add a unit, priced cart back)', {
        url: base,
        headers,
        requests: [
          {
            method: 'POST',
            path: '/api/v1/cart/items',
            setupRequest: (req) => {
              const i = n++;
              // 50 items x 50 shoppers: a line reaches the 9,999-unit cap only after ~25M adds.
              return { ...req, body: JSON.stringify({ user_id: `add${i % CONNECTIONS}`, item_id: `sku-${(i * 7) % ITEMS}`, quantity: 1 }) };
            },
          },
        ],
      }),
    );

  if (ONLY.has('complete')) {
    // Completions: one-line carts of distinct shoppers, completed 20 at a time.
    const carts: string[] = [];
    for (let i = 0; i < COMPLETIONS; i++)
      carts.push((await post('/api/v1/cart/items', { user_id: `buyer${i}`, item_id: `sku-${i % ITEMS}`, quantity: 1 }, key)).id as string);
    await census();
    const cpu0 = await processCpuMs(server.pid);
    const started = performance.now();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < carts.length) {
          const id = carts[next++]!;
          const r = await fetch(`${base}/api/v1/cart/complete`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ cart_id: id, payment_method: 'pm_card_visa' }),
          });
          await r.arrayBuffer();
          if (r.status !== 201) failed++;
        }
      }),
    );
    completions = {
      perSecond: carts.length / ((performance.now() - started) / 1000),
      cpuMs: ((await processCpuMs(server.pid)) - cpu0) / carts.length,
      load: loadAverage(),
      sql: perRequest(await census(), carts.length),
      failed,
    };
  }
} finally {
  await stopServer(server);
  await stripe.close();
  await scratch.cleanup();
}

const db = scratch.databaseUrl ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `
bench/commerce — ${CONNECTIONS} clients in a closed loop, ${DURATION} s per endpoint, ${os.cpus().length} cores, ${db}`,
);
console.log("(a shared machine: latencies include the neighbours; CPU ms per request is the server's own cost)\n");
console.log(
  'endpoint'.padEnd(62),
  'req/s'.padStart(8),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'non-2xx'.padStart(8),
  'cpu ms/req'.padStart(11),
  'SQL/req'.padStart(8),
  '  load (1 5 15 min)',
);
for (const r of rows)
  console.log(
    r.name.padEnd(62),
    r.rps.toFixed(0).padStart(8),
    String(r.p50).padStart(8),
    String(r.p99).padStart(8),
    String(r.non2xx).padStart(8),
    r.cpuMsPerRequest.toFixed(2).padStart(11),
    (r.sql ? r.sql.perRequest.toFixed(1) : '-').padStart(8),
    ` ${r.load}`,
  );
const base0 = rows.find((r) => r.name.startsWith('baseline'));
for (const r of rows.filter((x) => x !== base0)) {
  console.log(
    `${r.name}: ${base0 ? `${((r.rps / base0.rps) * 100).toFixed(0)}% of the baseline's req/s; ` : ''}p99 goal < 20 ms: ${r.rps === 0 ? 'NOT MEASURED (no request completed)' : r.p99 < 20 ? 'met' : 'NOT met'}`,
  );
  console.log(`  answers: ${r.statuses}`);
  if (r.sql) console.log(`  SQL per request: ${r.sql.kinds.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  if (r.activity) console.log(formatActivity(r.activity, r.total, 5));
}
if (completions) {
  console.log(
    `checkout completions: ${completions.perSecond.toFixed(1)}/s (${COMPLETIONS} carts, 20 at a time, Stripe on loopback), ` +
      `${completions.cpuMs.toFixed(1)} cpu ms each, load ${completions.load}${completions.failed ? `, ${completions.failed} FAILED` : ''}`,
  );
  if (completions.sql)
    console.log(
      `  SQL per completion: ${completions.sql.perRequest.toFixed(1)} (${completions.sql.kinds.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`,
    );
}
if (PROFILE_DIR) console.log(`server CPU profile (.cpuprofile) in ${PROFILE_DIR}`);
