/**
 * Retailer feeds by URL on the real app and a local HTTP server, both databases: a store connected to a feed URL is
 * imported by the scheduler's sweep with a conditional GET (200 imports and keeps the validators, 304 writes nothing);
 * 404, 500 (retried), an oversize body, a slow server and redirects beyond the bound or to a private address fail
 * the run and keep the last good prices; URLs that are not http(s) or point to a refused host are refused on save;
 * the URL is sealed and answered without its query; another tenant's stores and sources are not found. Runs retry
 * after PRICING_RUN_RETRY_BASE_MS (100 ms here instead of 2 s), and one test holds the next attempt to that wait.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
let key: string;
let otherKey: string;
let origin: string;
let server: http.Server;
const feed = { body: '', etag: '"v1"', lastModified: 'Sat, 05 Dec 2026 10:00:00 GMT' };
const seen: { path: string; ifNoneMatch: string | null; ifModifiedSince: string | null }[] = [];
const hits = new Map<string, number>();
const hitTimes = new Map<string, number[]>();

const csv = (prices: [string, string][]) =>
  `id,title,price,brand,mpn\n${prices.map(([id, p]) => `${id},Lamp ${id},${p} USD,Lumo,L-${id}`).join('\n')}\n`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    hitTimes.set(path, [...(hitTimes.get(path) ?? []), Date.now()]);
    seen.push({
      path,
      ifNoneMatch: (req.headers['if-none-match'] as string | undefined) ?? null,
      ifModifiedSince: (req.headers['if-modified-since'] as string | undefined) ?? null,
    });
    if (path === '/feed.csv') {
      if (req.headers['if-none-match'] === feed.etag) return res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'text/csv', etag: feed.etag, 'last-modified': feed.lastModified });
      return res.end(feed.body);
    }
    if (path === '/missing.csv') return res.writeHead(404).end('not here');
    if (path === '/broken.csv') return res.writeHead(500).end('oops');
    if (path === '/big.csv') {
      // no content-length: the limit holds on the stream itself
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('id,title,price\n');
      for (let i = 0; i < 2000; i++) res.write(`B${i},Big lamp ${i} ${'x'.repeat(40)},1.00 USD\n`);
      return res.end();
    }
    if (path === '/slow.csv') {
      const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'text/csv' }).end(feed.body), 5000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (path === '/hop') return res.writeHead(302, { location: '/feed.csv' }).end();
    if (path === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (path === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await createTestApp({
    PRICING_FEEDS_ALLOW_PRIVATE: '127.0.0.1/32',
    PRICING_FEED_MAX_BYTES: '20000',
    PRICING_FEED_TIMEOUT_MS: '1500',
    PRICING_RUN_RETRY_BASE_MS: '100',
  });
  key = await (await t.createTenant('Feeds')).apiKey(['catalog:read', 'catalog:write']);
  otherKey = await (await t.createTenant('Other')).apiKey(['catalog:read', 'catalog:write']);
  t.jobs.start({ concurrency: 1 });
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

const api = (method: string, url: string, body?: unknown, k = key) =>
  t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });

type Run = {
  id: string;
  log: { level: string; message: string }[];
  status: string;
  mode: string;
  failure: string | null;
  rows_read: number;
  prices_changed: number;
  offers_created: number;
};
const finished = (runId: string) =>
  pollUntil(
    'feed run',
    async () => (await api('GET', `/api/v1/pricing/feed-runs/${runId}`)).body as Run,
    (r) => r.status === 'succeeded' || r.status === 'failed',
  );

async function newStore(name: string) {
  const s = await api('POST', '/api/v1/pricing/stores', { name, network: 'feed' });
  expect(s.status).toBe(201);
  return s.body.id as string;
}
async function connect(storeId: string, path: string, extra: Record<string, unknown> = {}) {
  const c = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, {
    network: 'feed',
    url: `${origin}${path}`,
    schedule: 'off',
    ...extra,
  });
  expect(c.status, JSON.stringify(c.body)).toBe(200);
  return c.body as { id: string; account: Record<string, unknown>; next_run_at: string | null };
}
async function runNow(sourceId: string, mode: 'full' | 'prices' = 'full') {
  const r = await api('POST', `/api/v1/pricing/sources/${sourceId}/runs${mode === 'prices' ? '?mode=prices' : ''}`);
  expect(r.status).toBe(202);
  return finished(r.body.run_id);
}
async function prices(storeId: string) {
  const r = await api('GET', `/api/v1/pricing/offers?store_id=${storeId}&limit=100`);
  return Object.fromEntries((r.body.data as { external_id: string; price: string }[]).map((o) => [o.external_id, o.price]));
}

describe('retailer feeds by URL', () => {
  let storeId: string;
  let sourceId: string;
  const good = { A: '10.00', B: '20.00', C: '30.00' };

  it('the scheduler imports a feed URL; an unchanged feed answers 304 and writes nothing; a changed one is imported', async () => {
    feed.body = csv(Object.entries(good));
    storeId = await newStore('Lamp shop');
    const src = await connect(storeId, '/feed.csv?key=s3cret', { schedule: 'daily' });
    sourceId = src.id;
    expect(src.account).toEqual({ url: `${origin}/feed.csv`, format: null }); // the query (a key) is never answered
    expect(JSON.stringify(src)).not.toContain('s3cret');
    expect(await t.modules.pricing.queueDueNetworkImports()).toBeGreaterThanOrEqual(1);
    const first = await pollUntil(
      'scheduled feed import',
      async () => (await api('GET', `/api/v1/pricing/sources/${sourceId}`)).body as { last_run: { id: string; status: string } | null },
      (s) => s.last_run?.status === 'succeeded' || s.last_run?.status === 'failed',
    );
    expect(await finished(first.last_run!.id)).toMatchObject({ status: 'succeeded', offers_created: 3 });
    expect(await prices(storeId)).toEqual(good);
    expect(seen.filter((s) => s.path === '/feed.csv').at(-1)).toMatchObject({ ifNoneMatch: null });

    const again = await runNow(sourceId, 'prices');
    expect(again).toMatchObject({ status: 'succeeded', rows_read: 0, prices_changed: 0 });
    expect(seen.filter((s) => s.path === '/feed.csv').at(-1)).toMatchObject({ ifNoneMatch: '"v1"', ifModifiedSince: feed.lastModified });
    expect(await prices(storeId)).toEqual(good);

    feed.body = csv([
      ['A', '9.00'],
      ['B', '20.00'],
      ['C', '30.00'],
    ]);
    feed.etag = '"v2"';
    expect(await runNow(sourceId, 'prices')).toMatchObject({ status: 'succeeded', rows_read: 3, prices_changed: 1 });
    expect((await prices(storeId)).A).toBe('9.00');
    feed.body = csv(Object.entries(good));
    feed.etag = '"v3"';
    expect(await runNow(sourceId)).toMatchObject({ status: 'succeeded', prices_changed: 1 });
  });

  it.each([
    ['/missing.csv', /HTTP 404/, 1],
    ['/broken.csv', /HTTP 500/, 3],
    ['/big.csv', /larger than 20000 bytes/, 1],
    ['/slow.csv', /did not answer within 1500 ms/, 3],
    ['/loop', /redirected more than 3 times/, 4],
    ['/to-metadata', /private, loopback or link-local/, 1],
  ])('%s fails the run and keeps the last good prices', async (path, failure, calls) => {
    hits.delete(path);
    await connect(storeId, path);
    const r = await runNow(sourceId);
    expect(r.status).toBe('failed');
    expect(r.failure).toMatch(failure);
    expect(r.failure).toMatch(/last good prices are kept/);
    expect(hits.get(path)).toBe(calls); // 5xx and timeouts are retried, the rest is not
    expect(await prices(storeId)).toEqual(good);
  });

  it("a failed attempt's next one waits the run backoff (100 ms, then 200 ms, ±20%) that its log states", async () => {
    hitTimes.delete('/broken.csv');
    await connect(storeId, '/broken.csv');
    const r = await runNow(sourceId);
    expect(r.status).toBe('failed');
    const waits = r.log.flatMap((l) => /Retrying in (\d+) ms/.exec(l.message)?.[1] ?? []).map(Number);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(80);
    expect(waits[0]).toBeLessThanOrEqual(120);
    expect(waits[1]).toBeGreaterThanOrEqual(160);
    expect(waits[1]).toBeLessThanOrEqual(240);
    const at = hitTimes.get('/broken.csv')!;
    expect(at).toHaveLength(3);
    // Each fetch came no sooner than the stated wait after the one before (2 ms: the clocks' rounding).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(waits[0]! - 2);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(waits[1]! - 2);
  });

  it('follows a bounded redirect; a reconnect forgets the validators', async () => {
    await connect(storeId, '/hop');
    expect(await runNow(sourceId)).toMatchObject({ status: 'succeeded', rows_read: 3 });
    expect(seen.filter((s) => s.path === '/feed.csv').at(-1)).toMatchObject({ ifNoneMatch: null });
  });

  it("refuses URLs that are not http(s) or point to a refused host, and another tenant's stores and sources", async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/feed.csv', 'not a url', `http://user:pw@127.0.0.1/feed.csv`]) {
      const r = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, { network: 'feed', url, schedule: 'off' });
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe('PRICING_FEED_URL_INVALID');
    }
    for (const url of [
      'http://10.1.2.3/feed.csv',
      'http://169.254.169.254/latest',
      'http://[::1]/feed.csv',
      'http://localhost.invalid/x',
    ]) {
      const r = await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, { network: 'feed', url, schedule: 'off' });
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe('PRICING_FEED_URL_REFUSED');
    }
    expect(
      (
        await api('PUT', `/api/v1/pricing/stores/${storeId}/network`, {
          network: 'feed',
          url: `${origin}/feed.csv`,
          format: 'pdf',
          schedule: 'off',
        })
      ).status,
    ).toBe(400);
    const foreign = await api(
      'PUT',
      `/api/v1/pricing/stores/${storeId}/network`,
      { network: 'feed', url: `${origin}/feed.csv`, schedule: 'off' },
      otherKey,
    );
    expect(foreign.status).toBe(404);
    expect((await api('POST', `/api/v1/pricing/sources/${sourceId}/runs`, undefined, otherKey)).status).toBe(404);
    expect((await api('GET', `/api/v1/pricing/sources/${sourceId}`, undefined, otherKey)).status).toBe(404);
  });
});
