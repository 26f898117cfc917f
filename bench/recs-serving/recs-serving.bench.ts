/**
 * bench/recs-serving: a tenant the size of Yelp2018 (38,048 items, 31,668 users, 1.24M interactions) on the
 * real app listening on a port, a trained model, then `/recommendations` and `/recommendations/similar` under
 * 50 concurrent clients (autocannon), next to a bare Fastify hello-world measured in the same run.
 *
 *   npm run bench:recs-serving                       # embedded database (PGlite, in memory)
 *   DATABASE_URL=postgres://... npm run bench:recs-serving
 *
 * Env: BENCH_SECONDS (10 per scenario), BENCH_MODEL (item_knn), BENCH_USERS (all; a prefix of the users for a
 * quicker, smaller run: loading 1.24M interactions into PGlite takes minutes). Goals: p99 < 25 ms (recommendations),
 * p99 < 5 ms (similar). Skips with a message when ../shared/datasets/yelp2018 is absent.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { NewInteraction } from '../../src/modules/events/index.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { migrateDatabase, openDatabase } from '../../src/platform/database.ts';
import { freePort } from '../lib/process.ts';

const DATA = path.resolve(import.meta.dirname, '../../../shared/datasets/yelp2018/train.txt.gz');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MODEL = process.env.BENCH_MODEL ?? 'item_knn';
const CONNECTIONS = 50;

if (!existsSync(DATA)) {
  console.log(`bench:recs-serving skipped: ${DATA} not found (the shared datasets folder sits beside the checkout).`);
  process.exit(0);
}

const lines = gunzipSync(await fs.readFile(DATA)).toString('utf8').split('\n').filter(Boolean);
const users: { id: string; items: string[] }[] = lines.slice(0, Number(process.env.BENCH_USERS ?? lines.length)).map((l) => {
  const [u, ...items] = l.trim().split(/\s+/);
  return { id: `U${u}`, items: items.map((i) => `I${i}`) };
});
const itemSet = new Set(users.flatMap((u) => u.items));
console.log(`dataset: ${users.length} users, ${itemSet.size} items, ${users.reduce((s, u) => s + u.items.length, 0)} interactions`);

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-recs-'));
const config = loadConfig({
  LOUPE_DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
  LOUPE_JOB_POLL_MS: '100',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
const database = await openDatabase(process.env.DATABASE_URL ? { kind: 'postgres', url: process.env.DATABASE_URL, poolSize: 10 } : { kind: 'pglite' });
await migrateDatabase(database);
const loupe = await buildApp(config, { database });
await loupe.tenancy.ensurePlatformAdmin('admin@bench.test', 'Bench-Password-123!');
const call = async (method: string, url: string, body?: unknown, token?: string) => {
  const r = await loupe.app.inject({ method: method as 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body ? { payload: body as object } : {}) });
  return { status: r.statusCode, body: JSON.parse(r.body || '{}') };
};
const admin = (await call('POST', '/api/v1/auth/login', { email: 'admin@bench.test', password: 'Bench-Password-123!' })).body.access_token as string;
const tenant = (await call('POST', '/api/v1/admin/tenants', { name: 'Yelp-size store' }, admin)).body;
await call('POST', '/api/v1/admin/users', { email: 'owner@bench.test', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' }, admin);
const owner = (await call('POST', '/api/v1/auth/login', { email: 'owner@bench.test', password: 'Owner-Password-1' })).body.access_token as string;
const apiKey = (await call('POST', '/api/v1/api-keys', { name: 'bench', scopes: ['recommendations:read', 'models:manage'] }, owner)).body.api_key as string;

let t = performance.now();
const ids = [...itemSet];
for (let s = 0; s < ids.length; s += 10_000) {
  await loupe.modules.catalog.upsertItems(
    tenant.id,
    ids.slice(s, s + 10_000).map((id, k) => ({ itemId: id, name: `Business ${id}`, category: `Category ${(s + k) % 40}`, priceMinor: BigInt(500 + ((s + k) % 200) * 100), currency: 'USD' })),
  );
}
const base = Date.parse('2018-01-01T00:00:00Z');
let batch: NewInteraction[] = [];
let n = 0;
for (const u of users) {
  u.items.forEach((item, k) => batch.push({ userId: u.id, itemId: item, type: 'view', source: 'bench', occurredAt: new Date(base + k * 60_000) }));
  if (batch.length >= 20_000) {
    await loupe.modules.events.interactions.appendMany(tenant.id, batch);
    n += batch.length;
    batch = [];
  }
}
await loupe.modules.events.interactions.appendMany(tenant.id, batch);
n += batch.length;
console.log(`loaded ${ids.length} items and ${n} interactions in ${((performance.now() - t) / 1000).toFixed(1)} s`);

t = performance.now();
loupe.jobs.start({ concurrency: 1 });
const job = (await call('POST', '/api/v1/train', { model_type: MODEL }, apiKey)).body;
let progress;
for (;;) {
  progress = (await call('GET', `/api/v1/training/${job.job_id}/progress`, undefined, apiKey)).body;
  if (['completed', 'failed', 'cancelled'].includes(progress.status)) break;
  await new Promise((r) => setTimeout(r, 1000));
}
if (progress.status !== 'completed') throw new Error(`training ${progress.status}: ${progress.error}`);
console.log(`trained ${MODEL} (${progress.model_version}) in ${((performance.now() - t) / 1000).toFixed(1)} s; offline ${JSON.stringify(progress.final_metrics)}`);
await loupe.jobs.stop();

const port = await loupe.app.listen({ port: await freePort(), host: '127.0.0.1' });
const hello = Fastify({ logger: false });
hello.get('/', async () => ({ hello: 'world' }));
const helloUrl = await hello.listen({ port: await freePort(), host: '127.0.0.1' });

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
async function run(title: string, url: string, body?: () => string) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    ...(body
      ? { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] }
      : {}),
  });
  const ok = result['2xx'];
  const row = { scenario: title, 'req/s': Math.round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99, ok, errors: result.non2xx + result.errors };
  console.log(JSON.stringify(row));
  return row;
}

const helloRow = await run('fastify hello-world', helloUrl);
const recRow = await run('/recommendations', `${port}/api/v1/recommendations`, () => JSON.stringify({ user_id: users[Math.floor(rand() * users.length)]!.id, count: 10 }));
const simRow = await run('/recommendations/similar', `${port}/api/v1/recommendations/similar`, () => JSON.stringify({ item_id: ids[Math.floor(rand() * ids.length)], count: 10 }));

console.log('\nscenario                   req/s    p50 ms  p99 ms  goal');
for (const [r, goal] of [
  [helloRow, '-'],
  [recRow, 'p99 < 25 ms'],
  [simRow, 'p99 < 5 ms'],
] as const) {
  console.log(`${r.scenario.padEnd(26)} ${String(r['req/s']).padStart(7)}  ${String(r.p50_ms).padStart(6)}  ${String(r.p99_ms).padStart(6)}  ${goal}`);
}
console.log(`throughput ratio vs hello-world: recommendations ${(recRow['req/s'] / helloRow['req/s']).toFixed(3)}, similar ${(simRow['req/s'] / helloRow['req/s']).toFixed(3)}`);
console.log(`goals: recommendations p99 ${recRow.p99_ms <= 25 ? 'met' : 'NOT met'}; similar p99 ${simRow.p99_ms <= 5 ? 'met' : 'NOT met'}`);

await hello.close();
await loupe.close();
await database.close();
await fs.rm(dataDir, { recursive: true, force: true });
