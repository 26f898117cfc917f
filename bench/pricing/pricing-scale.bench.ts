/**
 * bench/pricing-scale: pricing reads at aggregator scale (issue 13): BENCH_GROUPS products (100,000) sold by
 * BENCH_STORES stores (20), BENCH_OFFERS_PER_GROUP offers each (10: 1,000,000 offers), with two price-history rows
 * per offer (2,000,000: a price 40 days ago and the current one), seeded in set-based SQL on a PostgreSQL database
 * of the run's own (bench/lib/scratch.ts). Then, against `loupe serve` in its own process, at BENCH_CONNECTIONS (50):
 *
 * - GET /api/v1/products/:id: the best price recomputed on read (every offer of the group, Omnibus 30-day low from
 *   the history, the price range); goal (issue 13): p99 under 15 ms at 50 clients with 1 million offers;
 * - GET /api/v1/products/:id/price-history?days=365: the chart series per store and for the best price.
 *
 * Each prints req/s, p50/p99, the server's CPU per request and the load average (a loaded machine measures its
 * neighbours too: compare CPU per request, and rerun quietly before claiming the goal).
 *
 *   DATABASE_URL=postgres://... npm run bench:pricing-scale
 *   BENCH_GROUPS=10000 DATABASE_URL=... npm run bench:pricing-scale    # a tenth of the size
 *
 * PostgreSQL only: a million-offer seed is not what the embedded database is for (it skips).
 */
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { BENCH_ADMIN, postJson, processCpuMs, startLoupe, stopServer } from '../lib/process.ts';
import { scratchDatabase } from '../lib/scratch.ts';

if (!process.env.DATABASE_URL) {
  process.stdout.write('bench:pricing-scale skipped: set DATABASE_URL (PostgreSQL only).\n');
  process.exit(0);
}
const GROUPS = Number(process.env.BENCH_GROUPS ?? 100_000);
const STORES = Number(process.env.BENCH_STORES ?? 20);
const PER_GROUP = Number(process.env.BENCH_OFFERS_PER_GROUP ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const scratch = await scratchDatabase('pricing_scale');
const { server, base } = await startLoupe({ dataDir: scratch.dataDir, env: scratch.env, timeoutMs: 300_000 }).catch(
  async (err: unknown) => {
    await scratch.cleanup();
    throw err;
  },
);
const rows: string[] = [];
try {
  const adminToken = (await postJson(base, '/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await postJson(base, '/api/v1/admin/tenants', { name: 'Pricing scale' }, adminToken);
  await postJson(
    base,
    '/api/v1/admin/users',
    { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
    adminToken,
  );
  const owner = (await postJson(base, '/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' }))
    .access_token as string;
  const key = (await postJson(base, '/api/v1/api-keys', { name: 'bench', scopes: ['catalog:read'] }, owner)).api_key as string;

  // Set-based seed (the bench's own database, as its owner): ids derived from the numbers, so requests can name them.
  const db = new pg.Client({ connectionString: scratch.databaseUrl });
  await db.connect();
  const seeded = performance.now();
  try {
    const t = tenant.id as string;
    await db.query(
      `INSERT INTO pricing_stores (tenant_id, id, name, network)
       SELECT $1, md5('s' || s)::uuid, 'Store ' || s, 'feed' FROM generate_series(1, $2::int) s`,
      [t, STORES],
    );
    await db.query(
      `INSERT INTO pricing_match_groups (tenant_id, id, canonical_name, gtin, catalog_item_id)
       SELECT $1, md5('g' || g)::uuid, 'Product ' || g, lpad(g::text, 14, '0'), 'sku-' || g FROM generate_series(1, $2::int) g`,
      [t, GROUPS],
    );
    // In slices of 10,000 groups: one statement per slice keeps each transaction's memory bounded.
    for (let from = 1; from <= GROUPS; from += 10_000) {
      const to = Math.min(GROUPS, from + 9_999);
      await db.query(
        `INSERT INTO pricing_offers (tenant_id, id, store_id, external_id, title, gtin, price_minor, currency, availability,
                                     match_group_id, match_method, price_updated_at)
         SELECT $1, md5('o' || g || '-' || k)::uuid, md5('s' || ((g + k) % $4::int + 1))::uuid, 'o-' || g || '-' || k,
                'Product ' || g, lpad(g::text, 14, '0'), 1000 + (g * 31 + k * 17) % 5000, 'USD',
                CASE WHEN k % 9 = 0 THEN 'out_of_stock' ELSE 'in_stock' END, md5('g' || g)::uuid, 'gtin', now() - interval '1 day'
         FROM generate_series($2::int, $3::int) g, generate_series(1, $5::int) k`,
        [t, from, to, STORES, PER_GROUP],
      );
      await db.query(
        `INSERT INTO pricing_price_history (tenant_id, offer_id, observed_at, price_minor, currency, availability)
         SELECT $1, md5('o' || g || '-' || k)::uuid, now() - (d || ' days')::interval,
                1000 + (g * 31 + k * 17) % 5000 + CASE WHEN d = 40 THEN 200 ELSE 0 END, 'USD', 'in_stock'
         FROM generate_series($2::int, $3::int) g, generate_series(1, $4::int) k, (VALUES (40), (1)) v(d)`,
        [t, from, to, PER_GROUP],
      );
    }
    await db.query('ANALYZE pricing_offers, pricing_price_history, pricing_match_groups, pricing_stores');
  } finally {
    await db.end();
  }
  const seedSeconds = (performance.now() - seeded) / 1000;
  process.stdout.write(
    `seeded ${GROUPS.toLocaleString()} products, ${(GROUPS * PER_GROUP).toLocaleString()} offers, ${(GROUPS * PER_GROUP * 2).toLocaleString()} history rows in ${seedSeconds.toFixed(0)} s\n`,
  );
  // Group ids as the seed derived them (md5 of 'g' || n as a uuid), computed here the same way.
  const { createHash } = await import('node:crypto');
  const groupId = (n: number) => {
    const h = createHash('md5').update(`g${n}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const probe = await fetch(`${base}/api/v1/products/${groupId(1)}`, { headers: { authorization: `Bearer ${key}` } });
  if (!probe.ok) throw new Error(`GET /products/:id: ${probe.status} ${await probe.text()}`);

  let n = 0;
  const measure = async (label: string, path: (g: string) => string) => {
    const opts = {
      url: base,
      connections: CONNECTIONS,
      headers: { authorization: `Bearer ${key}` },
      requests: [{ method: 'GET' as const, setupRequest: (req: object) => ({ ...req, path: path(groupId(((n++ * 7919) % GROUPS) + 1)) }) }],
    };
    await autocannon({ ...opts, duration: 2 });
    const c0 = await processCpuMs(server.pid);
    const r = await autocannon({ ...opts, duration: DURATION });
    const cpu = ((await processCpuMs(server.pid)) - c0) / Math.max(1, r.requests.total);
    const statuses = Object.entries((r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {})
      .map(([code, v]) => `${code}: ${v.count}`)
      .join(', ');
    rows.push(
      `${label.padEnd(44)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50.toFixed(1)} ms  p99 ${r.latency.p99.toFixed(1)} ms  non-2xx ${r.non2xx} (${statuses})  errors ${r.errors}  server CPU ${cpu.toFixed(2)} ms/request  load ${load()}`,
    );
  };
  await measure('GET /products/:id (best price on read)', (g) => `/api/v1/products/${g}`);
  await measure('GET /products/:id/price-history?days=365', (g) => `/api/v1/products/${g}/price-history?days=365`);
} finally {
  await stopServer(server);
  await scratch.cleanup();
}
process.stdout.write(
  `\nbench/pricing-scale: ${GROUPS.toLocaleString()} products x ${PER_GROUP} offers, ${STORES} stores, ${CONNECTIONS} connections, ${DURATION} s, ${os.cpus().length} cores, PostgreSQL\n${rows.join('\n')}\n`,
);
