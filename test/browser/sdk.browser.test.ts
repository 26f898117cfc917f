import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/index.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { seedTenant, waitJob } from '../recs-fixtures.ts';
import { HAS_CHROMIUM, openPage, openSignedInPage, ROOT, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Issue 15: the SDK in chromium, on a real store page served by this test from its own origin (another port:
 * real CORS), talking to the real server with a publishable key.
 */
declare global {
  interface Window {
    Loupe: {
      track(event: string, props?: Record<string, unknown>): void;
      flush(): Promise<void>;
      stats(): { queued: number; bytes: number; dropped: number };
      init(o: Record<string, unknown>): unknown;
    };
  }
}

describe.skipIf(!HAS_CHROMIUM)('the SDK in chromium', () => {
  let server: DashboardServer | undefined;
  let t: TestApp;
  let api: string;
  let store: http.Server;
  let shop: string;
  let browser: Browser;
  let A: Awaited<ReturnType<TestApp['createTenant']>>;
  let pk: string;
  let deadHost: string;
  let sdkJs: string;
  /** The install page's script-tag snippet, pasted as is into the store's page by the last test. */
  let installed = '';

  const page = (body: string, head = '') =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>${head}</head><body><h1>Shop</h1>${body}</body></html>`;

  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'sdk', 'build.mjs')], { cwd: ROOT });
    sdkJs = fs.readFileSync(path.join(ROOT, 'sdk', 'dist', 'loupe.js'), 'utf8');
    server = await startDashboardServer({ jobs: { concurrency: 1 } });
    ({ t, base: api, browser } = server);
    A = await t.createTenant('SDK store');

    store = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/loupe.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdkJs);
        return;
      }
      const tag = `<script src="/loupe.js" data-key="${pk}" data-host="${api}" data-page="false"></script>`;
      let html: string;
      if (url.pathname === '/installed') html = page(installed);
      else if (url.searchParams.has('bare')) html = page('<script src="/loupe.js"></script>');
      else if (url.searchParams.has('widget'))
        html = page(
          `<div style="height:2400px">Scroll down</div><loupe-recommendations user="U0" count="4" heading="Recommended for you"></loupe-recommendations>${tag}`,
        );
      else html = page(tag);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((r) => store.listen(0, '127.0.0.1', () => r()));
    const s = store.address();
    shop = `http://127.0.0.1:${typeof s === 'object' && s ? s.port : 0}`;
    const created = await t.request('POST', '/api/v1/api-keys', {
      token: A.ownerToken,
      body: { name: 'storefront', kind: 'publishable', allowed_origins: [shop] },
    });
    expect(created.status).toBe(201);
    pk = created.body.api_key;

    // A port nobody listens on: "the server is down".
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const p = probe.address();
    deadHost = `http://127.0.0.1:${typeof p === 'object' && p ? p.port : 0}`;
    await new Promise<void>((r) => probe.close(() => r()));
  }, 240_000);

  afterAll(async () => {
    await new Promise<void>((r) => (store ? store.close(() => r()) : r()));
    await server?.close();
  });

  const rows = (type: string) =>
    queryRows<{ eventId: string | null; itemId: string | null; recommendationId: string | null }>(
      t.database.db,
      sql`SELECT dedupe_key AS "eventId", item_id AS "itemId", recommendation_id AS "recommendationId"
          FROM interactions WHERE tenant_id = ${A.tenantId} AND type = ${type}`,
    );
  const until = async (what: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> =>
    void (await pollUntil('the SDK to deliver', what, (done) => done, { timeoutMs, intervalMs: 250 }));
  const track = (p: Page, from: number, to: number) =>
    p.evaluate(
      ([a, b]) => {
        for (let i = a!; i < b!; i++) window.Loupe.track('Sdk Test', { n: i });
      },
      [from, to],
    );
  const drained = (p: Page) => until(async () => (await p.evaluate(() => window.Loupe.stats().queued)) === 0);

  it('delivers 1,000 events exactly once through an offline period, a reload mid-batch and a pagehide', async () => {
    const { page: p, errors } = await openPage(browser);
    await p.goto(`${shop}/`);
    await track(p, 0, 300);
    await p.context().setOffline(true);
    await track(p, 300, 600);
    await p.waitForTimeout(1500);
    expect((await p.evaluate(() => window.Loupe.stats())).queued).toBeGreaterThan(0);
    await p.context().setOffline(false);
    await track(p, 600, 800);
    await p.reload(); // batches in flight and queued: the beacon and the next page both send them
    await drained(p);
    await track(p, 800, 995);
    await drained(p);
    await track(p, 995, 1000); // fewer than a batch, before the 5 s timer: only the pagehide beacon sends these
    await p.goto('about:blank');
    await until(async () => (await rows('sdk_test')).length >= 1000);
    await new Promise((r) => setTimeout(r, 1500)); // nothing more arrives late
    const got = await rows('sdk_test');
    expect(got.length).toBe(1000);
    expect(new Set(got.map((r) => r.eventId)).size).toBe(1000);
    expect(errors.filter((e) => !/net::ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
    await p.context().close();
  }, 180_000);

  it('keeps the offline queue under its cap while the server is down, and never throws into the page', async () => {
    const { page: p, errors } = await openPage(browser);
    await p.goto(`${shop}/?bare=1`);
    await p.evaluate(
      ([host, key]) => window.Loupe.init({ host, writeKey: key, page: false, maxQueueEvents: 200, maxQueueBytes: 50_000 }),
      [deadHost, pk],
    );
    for (let round = 0; round < 6; round++) await track(p, round * 500, (round + 1) * 500);
    const s = await p.evaluate(() => ({ stats: window.Loupe.stats(), stored: localStorage.getItem('loupe.queue')?.length ?? 0 }));
    expect(s.stats.queued).toBeLessThanOrEqual(200);
    expect(s.stats.bytes).toBeLessThanOrEqual(50_000);
    expect(s.stored).toBeLessThanOrEqual(51_000);
    expect(s.stats.dropped).toBeGreaterThanOrEqual(2800);
    // A storage already full of the page's own data: still no exception.
    const threw = await p.evaluate(() => {
      try {
        for (let i = 0; i < 10_000; i++) localStorage.setItem(`filler-${i}`, 'x'.repeat(100_000));
      } catch {
        /* the page's own quota error */
      }
      try {
        for (let i = 0; i < 100; i++) window.Loupe.track('After Full', { i });
        return false;
      } catch {
        return true;
      }
    });
    expect(threw).toBe(false);
    expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    await p.context().close();
  }, 120_000);

  it('with consent required, stores and sends nothing until a category is granted', async () => {
    const sentBefore = (await rows('sdk_test')).length;
    const { page: p, errors } = await openPage(browser);
    await p.goto(`${shop}/?bare=1`);
    await p.evaluate(([host, key]) => window.Loupe.init({ host, writeKey: key, requireConsent: true }), [api, pk]);
    await track(p, 0, 3);
    await p.evaluate(() => window.Loupe.flush());
    const before = await p.evaluate(() => ({ keys: Object.keys(localStorage), cookie: document.cookie }));
    expect(before.keys.filter((k) => k.startsWith('loupe'))).toEqual([]);
    expect(before.cookie).not.toContain('loupe_aid');
    await p.evaluate(() => (window.Loupe as unknown as { consent: { grant(c: string[]): void } }).consent.grant(['analytics']));
    await p.evaluate(() => window.Loupe.track('Consented Event', {}));
    await p.evaluate(() => window.Loupe.flush());
    await until(async () => (await rows('consented_event')).length === 1, 20_000);
    expect(await rows('sdk_test')).toHaveLength(sentBefore); // the three before consent never left the page
    expect(await p.evaluate(() => document.cookie)).toContain('loupe_aid');
    expect(errors).toEqual([]);
    await p.context().close();
  }, 120_000);

  it('keeps the anonymous id in a first-party cookie and local storage, a session across reloads until 30 minutes idle, and the UTM campaign', async () => {
    const { page: p, errors } = await openPage(browser);
    await p.goto(`${shop}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
    await p.evaluate(() => window.Loupe.track('Identity Test', { step: 1 }));
    await p.evaluate(() => window.Loupe.flush());
    const stored = await p.evaluate(() => ({
      cookie: /(?:^|; )loupe_aid=([^;]*)/.exec(document.cookie)?.[1],
      local: localStorage.getItem('loupe.aid'),
      session: JSON.parse(localStorage.getItem('loupe.session') ?? '{}') as { id?: string },
    }));
    expect(stored.cookie).toBeTruthy();
    expect(stored.local).toBe(decodeURIComponent(stored.cookie!));
    // A reload without the campaign in the URL: same person, same session, the campaign still counted.
    await p.goto(`${shop}/`);
    await p.evaluate(() => window.Loupe.track('Identity Test', { step: 2 }));
    await p.evaluate(() => window.Loupe.flush());
    // 31 minutes idle: the next event starts a new session (the person stays the same).
    await p.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('loupe.session')!) as { at: number };
      s.at -= 31 * 60 * 1000;
      localStorage.setItem('loupe.session', JSON.stringify(s));
    });
    await p.evaluate(() => window.Loupe.track('Identity Test', { step: 3 }));
    await p.evaluate(() => window.Loupe.flush());
    const got = () =>
      queryRows<{ anonymousId: string; sessionId: string | null; context: { campaign?: Record<string, string> } | null }>(
        t.database.db,
        sql`SELECT anonymous_id AS "anonymousId", session_id AS "sessionId", context FROM interactions
            WHERE tenant_id = ${A.tenantId} AND type = 'identity_test' ORDER BY occurred_at`,
      );
    await until(async () => (await got()).length === 3, 20_000);
    const [one, two, three] = await got();
    expect(new Set([one!.anonymousId, two!.anonymousId, three!.anonymousId])).toEqual(new Set([stored.local]));
    expect(one!.sessionId).toBe(stored.session.id);
    expect(two!.sessionId).toBe(one!.sessionId);
    expect(three!.sessionId).toBeTruthy();
    expect(three!.sessionId).not.toBe(one!.sessionId);
    expect(one!.context?.campaign).toEqual({ source: 'newsletter', medium: 'email', name: 'spring' });
    expect(two!.context?.campaign).toEqual({ source: 'newsletter', medium: 'email', name: 'spring' });
    expect(three!.context?.campaign).toBeUndefined(); // a new session starts without the old campaign
    expect(errors).toEqual([]);
    await p.context().close();
  }, 120_000);

  it('renders the widget, records impressions only once cards are visible, attributes clicks, works with the keyboard', async () => {
    // The recs fixtures' catalog and history, and a trained model serving U0.
    await seedTenant(t, A.tenantId);
    const sk = await A.apiKey(['models:manage', 'recommendations:read']);
    const train = await t.request('POST', '/api/v1/train', { token: sk, body: { model_type: 'item_knn' } });
    expect(train.status, JSON.stringify(train.body)).toBe(202);
    expect((await waitJob(t, sk, train.body.job_id)).status).toBe('completed');

    const { page: p, errors } = await openPage(browser, { viewport: { width: 1000, height: 700 } });
    await p.goto(`${shop}/?widget=1`);
    const cards = p.locator('loupe-recommendations a[part="card"]');
    await cards.first().waitFor({ state: 'attached', timeout: 30_000 });
    const n = await cards.count();
    expect(n).toBeGreaterThan(0);
    expect(await p.locator('loupe-recommendations').getByRole('list').count()).toBe(1);
    await p.waitForTimeout(800);
    await p.evaluate(() => window.Loupe.flush());
    await p.waitForTimeout(500);
    expect(await rows('recommendations_shown')).toHaveLength(0); // below the fold: no impression

    await p.locator('loupe-recommendations').scrollIntoViewIfNeeded();
    await p.waitForTimeout(500);
    await p.evaluate(() => window.Loupe.flush());
    await until(async () => (await rows('recommendations_shown')).length >= n, 20_000);
    const shown = await rows('recommendations_shown');
    expect(shown).toHaveLength(n);
    const recId = shown[0]!.recommendationId;
    expect(recId).toBeTruthy();
    expect(shown.every((r) => r.recommendationId === recId)).toBe(true);

    // Keyboard: Tab reaches the first card, then the second; Enter follows it and the click is attributed.
    await p.keyboard.press('Tab');
    const focused = () =>
      p.evaluate(() => (document.querySelector('loupe-recommendations')!.shadowRoot!.activeElement as HTMLElement | null)?.dataset.itemId);
    const first = await focused();
    expect(first).toBeTruthy();
    await p.keyboard.press('Tab');
    const second = await focused();
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    await Promise.all([p.waitForURL(/\/products\//), p.keyboard.press('Enter')]);
    await until(async () => (await rows('click')).length >= 1, 20_000);
    const clicks = await rows('click');
    expect(clicks).toEqual([{ eventId: expect.any(String), itemId: second, recommendationId: recId }]);
    // The fixtures' image host (cdn.test) does not exist: the browser's own line for each image is not the SDK's.
    expect(errors.filter((e) => !/ERR_NAME_NOT_RESOLVED/.test(e))).toEqual([]);
    await p.context().close();
  }, 240_000);

  it('"Install on your site": site keys are created, edited and rotated, the snippet works pasted as is, events show up live', async () => {
    const C = await t.createTenant('Fresh store');
    const w = await openSignedInPage(browser, api, C.ownerEmail, 'Owner-Password-1', { path: '/install' });
    const p = w.page;
    await p.getByText('Create a site key first').waitFor();

    await p.goto(`${api}/settings/site-keys`);
    await p.getByText('No site keys yet').waitFor();
    await p.getByLabel('Allowed sites').fill('https://old-shop.test');
    await p.getByLabel('Carts and checkout').check();
    await p.getByRole('button', { name: 'Create site key' }).click();
    const key = (await p.getByTestId('new-site-key').textContent())!.trim();
    expect(key).toMatch(/^pk_live_/);
    const listed = await t.request('GET', '/api/v1/api-keys', { token: C.ownerToken });
    expect(listed.body.data.find((k: { publishable_key: string }) => k.publishable_key === key).scopes).toContain('commerce:shop');
    await p.getByRole('button', { name: 'Done' }).click();
    await p.getByRole('button', { name: 'Edit the sites of Storefront' }).click();
    await p.getByLabel('Allowed sites of Storefront').fill(`https://old-shop.test\n${shop}`);
    await p.getByRole('button', { name: 'Save sites' }).click();
    await p.getByTestId('site-keys-table').getByText(shop, { exact: false }).waitFor();

    await p.goto(`${api}/install`);
    const snippet = p.getByTestId('snippet-script');
    await snippet.waitFor();
    installed = (await snippet.textContent())!;
    expect(installed).toContain(key);
    expect(installed).toContain(`${api}/sdk/loupe.js`);
    await p.getByTestId('arrivals-waiting').waitFor();
    await screenshot(p, 'install-on-your-site');

    // The store pastes the snippet: its page view reaches Loupe, and the install page sees it arrive.
    const store = await openPage(browser);
    await store.page.goto(`${shop}/installed`);
    await p.getByTestId('arrivals-count').waitFor({ timeout: 30_000 });
    expect(await p.getByTestId('arrivals-table').getByText('page_view').count()).toBeGreaterThan(0);
    expect(store.errors.filter((e) => !/ERR_NAME_NOT_RESOLVED|status of 4\d\d/.test(e))).toEqual([]);
    await store.page.context().close();

    // Rotation: a new key is shown; the old one is marked as expiring.
    await p.goto(`${api}/settings/site-keys`);
    await p.getByRole('button', { name: 'Rotate Storefront' }).first().click();
    const rotated = (await p.getByTestId('new-site-key').textContent())!.trim();
    expect(rotated).toMatch(/^pk_live_/);
    expect(rotated).not.toBe(key);
    await p.getByRole('button', { name: 'Done' }).click();
    await p
      .getByTestId('site-keys-table')
      .getByText(/expires/)
      .waitFor();
    expect(w.errors).toEqual([]);
    await p.context().close();
  }, 240_000);
});
