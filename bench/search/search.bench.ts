/**
 * bench/search: autocomplete and full-text search latency on a generated 100k-item catalog, through the real
 * HTTP app (`app.inject`: routing, auth with an API key, rate limits, validation, serialization, SQL).
 *
 *   npm run bench:search                          # embedded database (PGlite, in memory)
 *   DATABASE_URL=postgres://... npm run bench:search
 *
 * Env: BENCH_ITEMS (100000), BENCH_AUTOCOMPLETE (3000 queries), BENCH_SEARCH (1000 queries).
 * Requests are sent one at a time, so each latency is the service time of one request. Beside wall time the
 * table prints this process's CPU time per request: on the embedded database the SQL runs in this process, so
 * it is the figure to compare on a busy machine (wall time there measures the machine's load as much as Loupe).
 * Goals: autocomplete p99 < 10 ms; search with facets p99 < 50 ms (issue 20).
 * Baseline (BASELINE below): main before issue 20's search work, PGlite, from the issue's own run.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { buildApp } from '../../src/app.ts';
import type { ItemUpsert } from '../../src/modules/catalog/index.ts';
import { loadConfig, migrateDatabase, openDatabase } from '../../src/platform/index.ts';

const N_ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const N_AUTO = Number(process.env.BENCH_AUTOCOMPLETE ?? 3000);
const N_SEARCH = Number(process.env.BENCH_SEARCH ?? 1000);
const GOAL_MS = 10;
const SEARCH_GOAL_MS = 50;
/** Named baseline: bench:search on PGlite at 100k items before the one-statement facets (issue 20's figures, ms). */
const BASELINE = {
  name: 'main@9008a8d (issue 20, PGlite, 100k items)',
  search: { p50: 25, p99: 217 },
  typo: { p99: 197 },
  autocomplete: { p99: 4.8 },
};

/** Deterministic PRNG (mulberry32) so every run measures the same catalog and queries. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(42);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;

const BRANDS = [
  'Sony',
  'Bose',
  'Samsung',
  'Apple',
  'Anker',
  'Logitech',
  'Philips',
  'Panasonic',
  'JBL',
  'Sennheiser',
  'Lenovo',
  'Dell',
  'Asus',
  'Acer',
  'Canon',
  'Nikon',
  'Dyson',
  'Bosch',
  'Braun',
  'Nike',
  'Adidas',
  'Puma',
  "Levi's",
  'Ikea',
  'Lego',
  'Hasbro',
  'Garmin',
  'Fitbit',
  'Xiaomi',
  'Huawei',
  'LG',
  'Sharp',
  'Tefal',
  'KitchenAid',
  'Le Creuset',
  'Crème de la Mer',
  'Nespresso',
  'DeLonghi',
  'Tommy Hilfiger',
  'Ralph Lauren',
];
const NOUNS: Record<string, string[]> = {
  'Electronics > Audio > Headphones': ['Headphones', 'Earbuds', 'Headset', 'Earphones'],
  'Electronics > Audio > Speakers': ['Speaker', 'Soundbar', 'Subwoofer'],
  'Electronics > Computers > Laptops': ['Laptop', 'Notebook', 'Chromebook', 'Ultrabook'],
  'Electronics > Computers > Accessories': ['Keyboard', 'Mouse', 'Monitor', 'Webcam', 'Charger', 'Cable', 'Adapter'],
  'Electronics > Phones': ['Smartphone', 'Phone Case', 'Screen Protector'],
  'Electronics > Cameras': ['Camera', 'Lens', 'Tripod'],
  'Home > Kitchen': ['Kettle', 'Toaster', 'Blender', 'Coffee Maker', 'Frying Pan', 'Knife Set', 'Espresso Machine'],
  'Home > Furniture': ['Chair', 'Desk', 'Bookshelf', 'Sofa', 'Lamp'],
  'Apparel > Shoes': ['Sneakers', 'Running Shoes', 'Boots', 'Sandals'],
  'Apparel > Clothing': ['T-Shirt', 'Jacket', 'Hoodie', 'Jeans', 'Sweater', 'Dress'],
  'Sports > Fitness': ['Yoga Mat', 'Dumbbells', 'Fitness Tracker', 'Water Bottle'],
  'Toys & Games': ['Puzzle', 'Board Game', 'Building Set', 'Action Figure'],
};
const ADJ = [
  'Wireless',
  'Portable',
  'Premium',
  'Compact',
  'Professional',
  'Classic',
  'Smart',
  'Ultra',
  'Lightweight',
  'Waterproof',
  'Ergonomic',
  'Vintage',
  'Organic',
  'Noise Cancelling',
  'Stainless',
  'Bluetooth',
  'Gaming',
  'Mini',
  'Deluxe',
  'Eco',
];
const COLORS = ['Black', 'White', 'Silver', 'Blue', 'Red', 'Green', 'Grey', 'Rose Gold', 'Navy', 'Beige'];
const CATS = Object.keys(NOUNS);

function generate(n: number): ItemUpsert[] {
  return Array.from({ length: n }, (_, i) => {
    const category = pick(CATS);
    const noun = pick(NOUNS[category]!);
    const brand = pick(BRANDS);
    const name = `${brand} ${pick(ADJ)} ${noun} ${pick(COLORS)} ${100 + (i % 900)}`;
    return {
      itemId: `SKU-${i}`,
      name,
      brand,
      category,
      description: `${pick(ADJ)} ${noun.toLowerCase()} by ${brand}. ${pick(ADJ)} design in ${pick(COLORS).toLowerCase()}, model ${i}.`,
      tags: [pick(ADJ).toLowerCase(), pick(COLORS).toLowerCase()],
      priceMinor: BigInt(Math.floor(rand() * 100_000) + 199),
      currency: 'USD',
      stock: Math.floor(rand() * 100),
    };
  });
}

/** A typo: drop, double, or swap one inner character. */
function typo(word: string): string {
  if (word.length < 5) return word;
  const i = 1 + Math.floor(rand() * (word.length - 2));
  const k = rand();
  if (k < 0.34) return word.slice(0, i) + word.slice(i + 1);
  if (k < 0.67) return word.slice(0, i) + word[i] + word.slice(i);
  return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
}

const WORDS = [
  ...new Set([...BRANDS, ...Object.values(NOUNS).flat(), ...ADJ].flatMap((w) => w.split(' ')).filter((w) => /^[A-Za-z]{3,}$/.test(w))),
];
function autocompleteQueries(n: number): string[] {
  return Array.from({ length: n }, () => {
    const w = pick(WORDS).toLowerCase();
    return w.slice(0, 1 + Math.floor(rand() * Math.min(8, w.length)));
  });
}
function searchQueries(n: number): string[] {
  return Array.from({ length: n }, () => {
    const r = rand();
    const a = pick(WORDS).toLowerCase();
    if (r < 0.5) return a;
    if (r < 0.8) return `${pick(ADJ).toLowerCase()} ${pick(Object.values(NOUNS).flat()).toLowerCase()}`;
    return typo(a);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
function summarize(name: string, ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return {
    name,
    n: s.length,
    p50: pct(s, 50),
    p90: pct(s, 90),
    p99: pct(s, 99),
    max: s[s.length - 1]!,
    mean: s.reduce((x, y) => x + y, 0) / s.length,
  };
}

const target = process.env.DATABASE_URL ? 'postgres' : 'pglite';
const database = await openDatabase(process.env.DATABASE_URL ? { kind: 'postgres', url: process.env.DATABASE_URL } : { kind: 'pglite' });
await migrateDatabase(database);
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-search-'));
const config = loadConfig({
  LOUPE_DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '100000',
});
const loupe = await buildApp(config, { database });
try {
  const admin = { email: 'bench-search@loupe.local', password: 'Bench-Password-123' };
  await loupe.tenancy.ensurePlatformAdmin(admin.email, admin.password);
  const call = async (method: 'GET' | 'POST', url: string, token?: string, body?: unknown) => {
    const r = await loupe.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body ? { payload: body as object } : {}),
    });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json() as Record<string, any>;
  };
  const adminToken = (await call('POST', '/api/v1/auth/login', undefined, admin)).access_token as string;
  const tenant = await call('POST', '/api/v1/admin/tenants', adminToken, { name: `Search bench ${Date.now()}` });
  const email = `owner-${Date.now()}@bench.local`;
  await call('POST', '/api/v1/admin/users', adminToken, { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' });
  const owner = (await call('POST', '/api/v1/auth/login', undefined, { email, password: 'Owner-Password-1' })).access_token as string;
  const apiKey = (await call('POST', '/api/v1/api-keys', owner, { name: 'bench', scopes: ['catalog:read'] })).api_key as string;

  console.log(`bench/search on ${target}: generating ${N_ITEMS} items ...`);
  const items = generate(N_ITEMS);
  const started = performance.now();
  for (let i = 0; i < items.length; i += 10_000) await loupe.modules.catalog.upsertItems(tenant.id, items.slice(i, i + 10_000));
  const loadMs = performance.now() - started;
  await database.db.execute(sql`ANALYZE items`);
  await database.db.execute(sql`ANALYZE categories`);
  console.log(
    `loaded ${N_ITEMS} items in ${(loadMs / 1000).toFixed(1)} s (${Math.round(N_ITEMS / (loadMs / 1000))} rows/s through catalog.upsertItems)`,
  );

  const run = async (name: string, urls: string[]) => {
    for (const u of urls.slice(0, 50)) await call('GET', u, apiKey); // warm-up
    const ms: number[] = [];
    const cpu: number[] = [];
    let hits = 0;
    for (const u of urls) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const body = await call('GET', u, apiKey);
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if ((body.suggestions ?? body.data).length > 0) hits++;
    }
    const cpuSorted = [...cpu].sort((a, b) => a - b);
    return { ...summarize(name, ms), cpuP50: pct(cpuSorted, 50), cpuP99: pct(cpuSorted, 99), hitRate: hits / urls.length };
  };
  const auto = await run(
    'autocomplete',
    autocompleteQueries(N_AUTO).map((q) => `/api/v1/items/autocomplete?q=${encodeURIComponent(q)}`),
  );
  const searchQs = searchQueries(N_SEARCH);
  const search = await run(
    'search (+facets)',
    searchQs.map((q) => `/api/v1/items/search?q=${encodeURIComponent(q)}`),
  );
  const typoQs = searchQs.filter((q) => !WORDS.some((w) => w.toLowerCase() === q) && !q.includes(' '));
  const typos = await run(
    'search, typo queries only',
    typoQs.map((q) => `/api/v1/items/search?q=${encodeURIComponent(q)}`),
  );

  console.log('');
  console.log(`load average at the end: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
  console.log(`| ${target} | queries | p50 ms | p90 ms | p99 ms | max ms | mean ms | CPU p50 ms | CPU p99 ms | with results |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of [auto, search, typos]) {
    console.log(
      `| ${r.name} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${r.mean.toFixed(2)} | ${r.cpuP50.toFixed(2)} | ${r.cpuP99.toFixed(2)} | ${(r.hitRate * 100).toFixed(0)}% |`,
    );
  }
  console.log('');
  console.log(
    `baseline ${BASELINE.name}: search p50 ${BASELINE.search.p50} ms, p99 ${BASELINE.search.p99} ms; typo p99 ${BASELINE.typo.p99} ms; autocomplete p99 ${BASELINE.autocomplete.p99} ms`,
  );
  console.log(
    `search p99 ${search.p99.toFixed(2)} ms (${(search.p99 / BASELINE.search.p99).toFixed(2)}x the baseline's) vs goal < ${SEARCH_GOAL_MS} ms: ${search.p99 < SEARCH_GOAL_MS ? 'MET' : 'NOT MET'}; typo p99 ${typos.p99.toFixed(2)} ms (${(typos.p99 / BASELINE.typo.p99).toFixed(2)}x)`,
  );
  console.log('');
  console.log(
    `autocomplete p99 ${auto.p99.toFixed(2)} ms vs goal < ${GOAL_MS} ms: ${(auto.p99 / GOAL_MS).toFixed(2)}x of the budget (${auto.p99 < GOAL_MS ? 'MET' : 'NOT MET'})`,
  );
} finally {
  await loupe.close();
  await database.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
