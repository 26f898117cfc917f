/**
 * bench/commerce: cart operations under 50 clients (goal p99 < 20 ms) and checkout completions per second
 * (cart lock, stock, order, a Stripe PaymentIntent authorized and captured against the local Stripe-protocol
 * server, purchases into events), beside Loupe's own GET /api/v1/whoami (the hook stack, no database) measured
 * in the same run as the baseline.
 *
 *   npm run bench:commerce                       # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:commerce
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startStripeServer } from '../../test/fakes/stripe-server.ts';
import { BENCH_ADMIN, postJson, startLoupe, stopServer } from '../lib/process.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COMPLETIONS = Number(process.env.BENCH_COMPLETIONS ?? 200);
const ITEMS = 50;

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(name: string, opts: autocannon.Options): Promise<Row> {
  await autocannon({ ...opts, connections: CONNECTIONS, duration: 2 });
  const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: DURATION });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx };
}

const stripe = await startStripeServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-commerce-'));
const { server, base } = await startLoupe({ dataDir, env: { STRIPE_API_URL: stripe.url }, timeoutMs: 180_000 });
const rows: Row[] = [];
let completionsPerSecond = 0;
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
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  // 50 shoppers with a 3-line cart each.
  for (let u = 0; u < CONNECTIONS; u++)
    for (let i = 0; i < 3; i++) await post('/api/v1/cart/items', { user_id: `u${u}`, item_id: `sku-${(u + i) % ITEMS}`, quantity: 1 }, key);

  rows.push(await load('baseline: GET /api/v1/whoami (auth stack, no database)', { url: `${base}/api/v1/whoami`, headers }));
  let n = 0;
  rows.push(
    await load('GET /api/v1/cart (refresh from catalog, promotions, totals)', {
      url: base,
      headers,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/cart?user_id=u${n++ % CONNECTIONS}` }) }],
    }),
  );
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

  // Completions: one-line carts of distinct shoppers, completed 20 at a time.
  const carts: string[] = [];
  for (let i = 0; i < COMPLETIONS; i++)
    carts.push((await post('/api/v1/cart/items', { user_id: `buyer${i}`, item_id: `sku-${i % ITEMS}`, quantity: 1 }, key)).id as string);
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
  completionsPerSecond = carts.length / ((performance.now() - started) / 1000);
  if (failed) console.log(`${failed} completions failed`);
} finally {
  await stopServer(server);
  await stripe.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/commerce — ${CONNECTIONS} clients, ${DURATION} s per endpoint, ${os.cpus().length} cores, ${db}, load ${os.loadavg()[0]!.toFixed(2)}\n`,
);
console.log('endpoint'.padEnd(62), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'non-2xx'.padStart(8));
for (const r of rows)
  console.log(
    r.name.padEnd(62),
    r.rps.toFixed(0).padStart(8),
    String(r.p50).padStart(8),
    String(r.p99).padStart(8),
    String(r.non2xx).padStart(8),
  );
const base0 = rows[0]!;
for (const r of rows.slice(1))
  console.log(
    `${r.name}: ${((r.rps / base0.rps) * 100).toFixed(0)}% of the baseline's req/s; p99 goal < 20 ms: ${r.p99 < 20 ? 'met' : 'NOT met'}`,
  );
console.log(`checkout completions: ${completionsPerSecond.toFixed(1)}/s (${COMPLETIONS} carts, 20 at a time, Stripe on loopback)`);
