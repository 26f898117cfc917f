/**
 * bench/pricing-import: retailer feed imports through the real HTTP upload and job queue, with the learned
 * matcher in the import. Store "Left" gets the left records of Abt-Buy and Walmart-Amazon (all splits, distinct);
 * store "Right" then gets a 10,000-offer feed: the distinct right records, padded with renamed copies (another
 * listing id, a suffix on the title). Prints rows/s of the first import, of the 10,000-offer import (the one the
 * matcher works in: its offers are scored against the first store's through blocking keys), and of a re-import of
 * the same feed (idempotent: nothing to match), with the groups, model matches and queued pairs, and peak RSS.
 *
 *   npm run bench:pricing-import                 # embedded database (PGlite, in a temporary data folder)
 *   DATABASE_URL=postgres://... npm run bench:pricing-import
 *   ROWS=2000 npm run bench:pricing-import       # a smaller second feed
 *   SQL_TOP=1 npm run bench:pricing-import       # also the slowest single statements (embedded database)
 *
 * During the matched import it measures the event loop (perf_hooks.monitorEventLoopDelay: max and p99 delay) and
 * probes GET /health/live over HTTP every 50 ms (max and p99 answer time): a stall shows in both.
 *
 * Skips when ../shared/datasets is absent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readPairs } from '../../src/modules/pricing/index.ts';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';

const root = path.resolve(import.meta.dirname, '../..');
const DIR = path.resolve(root, '../shared/datasets/product-matching');
if (!fs.existsSync(DIR)) {
  process.stdout.write(`bench:pricing-import skipped: ${DIR} not found.\n`);
  process.exit(0);
}
const ROWS = Number(process.env.ROWS ?? 10_000);

type Rec = { title: string; brand: string | null; model: string | null; price: number | null };
const left = new Map<string, Rec>();
const right = new Map<string, Rec>();
for (const ds of ['abt-buy', 'walmart-amazon'])
  for (const split of ['train', 'valid', 'test'])
    for (const p of readPairs(path.join(DIR, ds, `${split}.txt.gz`))) {
      left.set(JSON.stringify(p.left), p.left);
      right.set(JSON.stringify(p.right), p.right);
    }
const toOffer = (r: Rec, id: string, k: number) => ({
  id,
  title: r.title.slice(0, 300) || `untitled ${id}`,
  brand: r.brand,
  mpn: r.model,
  // Records without a price get a stable one (the feed requires a price).
  price: `${(r.price && r.price > 0 ? r.price : 10 + (k % 90)).toFixed(2)} USD`,
});
const leftFeed = [...left.values()].map((r, k) => toOffer(r, `L${k}`, k));
const rightRecs = [...right.values()];
const rightFeed = Array.from({ length: ROWS }, (_, k) => {
  const r = rightRecs[k % rightRecs.length]!;
  return toOffer(k < rightRecs.length ? r : { ...r, title: `${r.title} (${Math.floor(k / rightRecs.length)} pack)` }, `R${k}`, k);
});

// The run's own database (PostgreSQL: created and dropped on the server DATABASE_URL names) and data folder.
const scratch = await scratchDatabase('pricing');
const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
const { loupe, database, close } = await startBenchServer(scratch, { admin, env: { LOG_LEVEL: 'warn' }, poolSize: 10 });
const address = await loupe.app.listen({ port: 0, host: '127.0.0.1' });
loupe.jobs.start({ concurrency: 1 });

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);
// The event loop's delay while the matched import runs (perf_hooks histogram, reset before it).
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
// The slowest single statements (embedded database: a statement runs on this thread, so it is a stall).
const sqlTimes: { ms: number; text: string }[] = [];
if (process.env.SQL_TOP && database.pglite) {
  const pg = database.pglite as unknown as Record<'query' | 'exec', (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['query', 'exec'] as const) {
    const orig = pg[m].bind(pg);
    pg[m] = async (...a: unknown[]) => {
      const t = performance.now();
      try {
        return await orig(...a);
      } finally {
        sqlTimes.push({ ms: performance.now() - t, text: String(a[0]).replace(/\s+/g, ' ').slice(0, 140) });
      }
    };
  }
}
/**
 * GET /health/live every 50 ms until stopped: each answer's time, and the longest gap between two answers beyond
 * the 50 ms pause (a stall that falls in the pause delays the next request instead of the answer).
 */
function healthProbe() {
  const times: number[] = [];
  let maxGap = 0;
  let on = true;
  const done = (async () => {
    let lastAnswer = performance.now();
    while (on) {
      const t = performance.now();
      await fetch(`${address}/health/live`).then((r) => r.text());
      const end = performance.now();
      times.push(end - t);
      maxGap = Math.max(maxGap, end - lastAnswer - 50);
      lastAnswer = end;
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  return {
    async stop() {
      on = false;
      await done;
      const s = [...times].sort((a, b) => a - b);
      return { n: s.length, p99: s[Math.floor(s.length * 0.99)] ?? 0, max: s.at(-1) ?? 0, maxGap };
    },
  };
}

async function api(method: string, url: string, token: string | undefined, body?: unknown, retry = 3): Promise<any> {
  const r = await fetch(`${address}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  }).catch((err: unknown) => {
    // A kept-alive socket the server closed while the client waited: retry the (idempotent) poll.
    if (retry > 0 && method === 'GET') return null;
    throw err;
  });
  if (!r) return api(method, url, token, body, retry - 1);
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

let ownerToken = '';
async function importFeed(key: string, storeId: string, offers: unknown[]): Promise<{ secs: number; run: any; job: any }> {
  const form = new FormData();
  form.set('file', new Blob([JSON.stringify(offers)], { type: 'application/json' }), 'feed.json');
  const t0 = performance.now();
  const r = await fetch(`${address}/api/v1/pricing/stores/${storeId}/feeds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const up = await r.json();
  if (r.status !== 202) throw new Error(`upload: ${r.status} ${JSON.stringify(up)}`);
  for (;;) {
    const run = await api('GET', up.status_url, key);
    if (run.status === 'succeeded' || run.status === 'failed') {
      const secs = (performance.now() - t0) / 1000;
      if (run.status === 'failed') throw new Error(`import failed: ${run.failure}`);
      const job = await api('GET', `/api/v1/jobs/${up.job_id}`, ownerToken).catch(() => null);
      return { secs, run, job };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

try {
  const adminToken = (await api('POST', '/api/v1/auth/login', undefined, admin)).access_token as string;
  const tenant = await api('POST', '/api/v1/admin/tenants', adminToken, { name: `Pricing bench ${Date.now()}` });
  const email = `owner-${tenant.id.slice(-12)}@bench.local`;
  await api('POST', '/api/v1/admin/users', adminToken, { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' });
  const owner = (await api('POST', '/api/v1/auth/login', undefined, { email, password: 'Owner-Password-1' })).access_token as string;
  ownerToken = owner;
  const key = (await api('POST', '/api/v1/api-keys', owner, { name: 'bench', scopes: ['catalog:read', 'catalog:write'] }))
    .api_key as string;
  const storeL = (await api('POST', '/api/v1/pricing/stores', key, { name: 'Left' })).id as string;
  const storeR = (await api('POST', '/api/v1/pricing/stores', key, { name: 'Right' })).id as string;
  process.stdout.write(`database ${database.kind}; feeds: Left ${leftFeed.length} offers, Right ${rightFeed.length} offers\n`);

  const line = (label: string, n: number, r: { secs: number; job: any }) => {
    const res = r.job?.result ?? {};
    process.stdout.write(
      `${label.padEnd(28)} ${String(n).padStart(6)} rows in ${r.secs.toFixed(2).padStart(7)} s = ${String(Math.round(n / r.secs)).padStart(6)} rows/s` +
        ` (created ${res.offers_created ?? '?'}, by model ${res.matched_by_model ?? '-'}, queued ${res.queued_for_review ?? '-'})\n`,
    );
  };
  line('import Left', leftFeed.length, await importFeed(key, storeL, leftFeed));
  loopDelay.reset();
  sqlTimes.length = 0;
  const probe = healthProbe();
  line('import Right (matched)', rightFeed.length, await importFeed(key, storeR, rightFeed));
  const lag = { max: loopDelay.max / 1e6, p99: loopDelay.percentile(99) / 1e6 };
  const health = await probe.stop();
  const slowest = [...sqlTimes].sort((a, b) => b.ms - a.ms).slice(0, 8);
  line('re-import Right (same)', rightFeed.length, await importFeed(key, storeR, rightFeed));
  const groups = await api('GET', '/api/v1/pricing/groups?limit=1', key);
  const reviews = await api('GET', '/api/v1/pricing/reviews?status=pending&limit=200', key);
  process.stdout.write(
    `pending review pairs (first page): ${reviews.data.length}; groups listed: ${groups.data.length ? 'yes' : 'no'}\n` +
      `matched import: event-loop delay max ${lag.max.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms; ` +
      `GET /health/live (${health.n} probes) max ${health.max.toFixed(0)} ms, p99 ${health.p99.toFixed(0)} ms, longest gap between answers ${health.maxGap.toFixed(0)} ms\n` +
      slowest.map((q) => `  statement ${q.ms.toFixed(0).padStart(6)} ms  ${q.text}\n`).join('') +
      `peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB; load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  );
} finally {
  clearInterval(sampler);
  loopDelay.disable();
  await close();
  await scratch.cleanup();
}
