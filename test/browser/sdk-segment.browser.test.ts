import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/index.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openPage, ROOT, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Issue 15: the stock Segment browser SDK (`@segment/analytics-next`, the npm package as published, bundled
 * unchanged) on a store page served by this test from its own origin, pointed at Loupe with nothing but
 * `cdnURL` and a publishable key as the write key. It loads its settings from Loupe
 * (`/v1/projects/:writeKey/settings`), then posts identify, page and track to Loupe's `/v1/i`, `/v1/p`,
 * `/v1/t`; Loupe stores them, and they resolve to the same profile as the Loupe SDK's own calls for that user.
 */
declare global {
  interface Window {
    SegmentAnalytics: typeof import('@segment/analytics-next');
    seg: import('@segment/analytics-next').AnalyticsBrowser;
  }
}

interface Row {
  type: string;
  itemId: string | null;
  userId: string | null;
  anonymousId: string | null;
  profileId: string | null;
}

describe.skipIf(!HAS_CHROMIUM)('@segment/analytics-next pointed at Loupe', () => {
  let server: DashboardServer | undefined;
  let t: TestApp;
  let api: string;
  let shop: string;
  let store: http.Server;
  let browser: Browser;
  let A: Awaited<ReturnType<TestApp['createTenant']>>;
  let B: Awaited<ReturnType<TestApp['createTenant']>>;
  let pk: string;
  let pkB: string;
  let segmentJs: string;
  let loupeJs: string;

  const html = (body: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Segment shop</title></head><body><h1>Shop</h1>${body}</body></html>`;

  beforeAll(async () => {
    // The published package, bundled as is for a script tag (what a store's bundler does with it).
    const out = await build({
      stdin: { contents: "export { AnalyticsBrowser } from '@segment/analytics-next';", resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      format: 'iife',
      globalName: 'SegmentAnalytics',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    segmentJs = out.outputFiles[0]!.text;
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'sdk', 'build.mjs')], { cwd: ROOT });
    loupeJs = fs.readFileSync(path.join(ROOT, 'sdk', 'dist', 'loupe.js'), 'utf8');

    server = await startDashboardServer();
    ({ t, base: api, browser } = server);
    A = await t.createTenant('Segment store');
    B = await t.createTenant('Other store');

    store = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const js = url.pathname === '/segment.js' ? segmentJs : url.pathname === '/loupe.js' ? loupeJs : undefined;
      if (js !== undefined) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
        return;
      }
      const key = url.searchParams.get('key') ?? pk;
      const body =
        url.pathname === '/loupe'
          ? `<script src="/loupe.js" data-key="${key}" data-host="${api}" data-page="false"></script>`
          : `<script src="/segment.js"></script><script>window.seg = SegmentAnalytics.AnalyticsBrowser.load({ writeKey: ${JSON.stringify(key)}, cdnURL: ${JSON.stringify(api)} });</script>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html(body));
    });
    await new Promise<void>((r) => store.listen(0, '127.0.0.1', () => r()));
    const s = store.address();
    shop = `http://127.0.0.1:${typeof s === 'object' && s ? s.port : 0}`;
    for (const [tenant, set] of [
      [A, (k: string) => (pk = k)],
      [B, (k: string) => (pkB = k)],
    ] as const) {
      const created = await t.request('POST', '/api/v1/api-keys', {
        token: tenant.ownerToken,
        body: { name: 'storefront', kind: 'publishable', allowed_origins: [shop] },
      });
      expect(created.status).toBe(201);
      set(created.body.api_key);
    }
  }, 240_000);

  afterAll(async () => {
    await new Promise<void>((r) => (store ? store.close(() => r()) : r()));
    await server?.close();
  });

  const rows = (tenantId: string) =>
    queryRows<Row>(
      t.database.db,
      sql`SELECT type, item_id AS "itemId", user_id AS "userId", anonymous_id AS "anonymousId", profile_id AS "profileId"
          FROM interactions WHERE tenant_id = ${tenantId} ORDER BY received_at`,
    );

  it('delivers identify, page and track that Loupe accepts, resolved to the profile of the Loupe SDK calls of the same user', async () => {
    // The Loupe SDK first, in its own browser profile: the shopper signs in on one device ...
    const loupe = await openPage(browser);
    await loupe.page.goto(`${shop}/loupe`);
    const loupeAnon = await loupe.page.evaluate(async () => {
      const L = (window as unknown as { Loupe: Record<string, (...a: unknown[]) => unknown> }).Loupe;
      L.identify!('shopper-42', { email: 'shopper42@example.com' });
      L.track!('Product Viewed', { product_id: 'sku-loupe' });
      await L.flush!();
      return (window as unknown as { Loupe: { anonymousId: string } }).Loupe.anonymousId;
    });
    expect(loupe.errors).toEqual([]);

    // ... and on another, the store's existing Segment code, unchanged but for its cdnURL and write key.
    const seg = await openPage(browser);
    const answers: { url: string; status: number }[] = [];
    seg.page.on('response', (r) => {
      if (!r.url().startsWith(shop)) answers.push({ url: r.url().replace(api, ''), status: r.status() });
    });
    const requested: string[] = [];
    seg.page.on('request', (r) => void requested.push(new URL(r.url()).origin));
    await seg.page.goto(`${shop}/segment`);
    const segAnon = await seg.page.evaluate(async () => {
      const a = window.seg;
      await a.identify('shopper-42', { email: 'shopper42@example.com', name: 'Ada' });
      await a.page('Home');
      await a.track('Product Viewed', { product_id: 'sku-segment', price: 12.5, currency: 'eur' });
      const [analytics] = await a;
      return analytics.user().anonymousId();
    });
    expect(segAnon).toBeTruthy();
    expect(segAnon).not.toBe(loupeAnon);

    await pollUntil(
      'both SDKs to deliver',
      () => rows(A.tenantId),
      (r) => r.length >= 3,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Everything went to Loupe (nothing to Segment's hosts), and Loupe accepted every call.
    expect(new Set(requested.filter((o) => o !== shop))).toEqual(new Set([api]));
    const byPath = Object.fromEntries(answers.map((a) => [new URL(a.url, api).pathname, a.status]));
    expect(byPath).toMatchObject({ [`/v1/projects/${pk}/settings`]: 200, '/v1/i': 200, '/v1/p': 200, '/v1/t': 200 });
    expect(seg.errors).toEqual([]);

    const got = await rows(A.tenantId);
    const fromSegment = got.filter((r) => r.anonymousId === segAnon);
    expect(fromSegment.map((r) => [r.type, r.itemId, r.userId]).sort()).toEqual([
      ['page_view', null, 'shopper-42'],
      ['view', 'sku-segment', 'shopper-42'],
    ]);
    const fromLoupe = got.filter((r) => r.anonymousId === loupeAnon);
    expect(fromLoupe.map((r) => [r.type, r.itemId])).toEqual([['view', 'sku-loupe']]);
    const profileIds = new Set([...fromSegment, ...fromLoupe].map((r) => r.profileId));
    expect(profileIds.size).toBe(1);
    expect([...profileIds][0]).toBeTruthy();

    // The profile holds both devices' anonymous ids, the user id and the e-mail of the identify calls.
    const profile = await t.request('GET', '/api/v1/profiles/lookup?user_id=shopper-42', { token: A.ownerToken });
    expect(profile.status).toBe(200);
    expect(profile.body.id).toBe([...profileIds][0]);
    const ids = (profile.body.identifier_list as { type: string; value: string }[]).map((i) => `${i.type}:${i.value}`);
    expect(ids).toEqual(
      expect.arrayContaining([`anonymous_id:${segAnon}`, `anonymous_id:${loupeAnon}`, 'user_id:shopper-42', 'email:shopper42@example.com']),
    );
    // The other tenant saw none of it.
    expect(await rows(B.tenantId)).toEqual([]);
    await loupe.page.context().close();
    await seg.page.context().close();
  }, 120_000);

  it('refuses the settings and the calls for an origin not on the key, a secret key, and an unknown key', async () => {
    const settings = (key: string, origin: string) =>
      t.request('GET', `/v1/projects/${key}/settings`, { headers: { origin } }).then((r) => r.status);
    expect(await settings(pk, shop)).toBe(200);
    expect(await settings(pk, 'https://elsewhere.test')).toBe(403);
    expect(await settings('pk_live_unknown', shop)).toBe(401);
    const sk = await A.apiKey(['interactions:write']);
    expect(await settings(sk, shop)).toBe(401); // a secret key is never read from a URL

    // A page on another origin, with the Segment SDK: its settings request is refused, nothing is stored.
    const before = (await rows(A.tenantId)).length;
    const other = http.createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          html(
            `<script>${segmentJs}</script><script>window.seg = SegmentAnalytics.AnalyticsBrowser.load({ writeKey: ${JSON.stringify(pk)}, cdnURL: ${JSON.stringify(api)} }); window.seg.track('Stolen Key').catch(() => {});</script>`,
          ),
        ),
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const o = other.address();
    const p = await openPage(browser);
    const refused: number[] = [];
    p.page.on('requestfailed', () => refused.push(0));
    await p.page.goto(`http://127.0.0.1:${typeof o === 'object' && o ? o.port : 0}/`);
    await p.page.waitForTimeout(1500);
    expect((await rows(A.tenantId)).length).toBe(before);
    expect(refused.length).toBeGreaterThan(0); // the browser blocked the answer without CORS headers
    await p.page.context().close();
    await new Promise<void>((r) => other.close(() => r()));

    // Tenant B's key on the same page delivers to B only.
    const q = await openPage(browser);
    await q.page.goto(`${shop}/segment?key=${pkB}`);
    await q.page.evaluate(async () => void (await window.seg.track('Product Viewed', { product_id: 'sku-b' })));
    await pollUntil(
      'B to receive',
      () => rows(B.tenantId),
      (r) => r.length === 1,
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect((await rows(A.tenantId)).length).toBe(before);
    await q.page.context().close();
  }, 120_000);
});
