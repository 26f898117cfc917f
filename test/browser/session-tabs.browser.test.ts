import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../src/modules/tenancy/tokens.ts';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, signIn, startDashboardServer, type DashboardServer } from './harness.ts';

const JWT_SECRET = 'session-tabs-browser-secret-0123456789abcdef0123456789';

/**
 * Two tabs of one browser past the access token's expiry (issue 20): they must share one refresh instead
 * of both rotating the same refresh token, and a session that really ended lands on sign-in with a message
 * and a next= link that does not nest itself.
 */
describe.skipIf(!HAS_CHROMIUM)('two tabs and session expiry in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let now = new Date();

  beforeAll(async () => {
    server = await startDashboardServer({ env: { LOUPE_JWT_SECRET: JWT_SECRET }, deps: { clock: () => now } });
    ({ t, base, browser } = server);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  /** Replaces the stored access token by one that expired an hour ago (same user and session). */
  async function expireAccessToken(page: Page): Promise<void> {
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('loupe.session')!) as { accessToken: string });
    const claims = JSON.parse(Buffer.from(stored.accessToken.split('.')[1]!, 'base64url').toString()) as {
      sub: string;
      sid: string;
      adm: boolean;
      auth_time: number;
    };
    const issued = Math.floor(Date.now() / 1000) - 3600;
    const token = await createTokenSigner(JWT_SECRET).sign({ ...claims, auth_time: issued }, issued - 1);
    await page.evaluate((tok) => {
      const s = JSON.parse(localStorage.getItem('loupe.session')!);
      localStorage.setItem('loupe.session', JSON.stringify({ ...s, accessToken: tok }));
    }, token);
  }

  function watch(context: BrowserContext) {
    const errors: string[] = [];
    const refreshes: number[] = [];
    const watchPage = (page: Page) => {
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()))
          errors.push(msg.text());
      });
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    };
    context.on('page', watchPage);
    context.on('response', (res) => {
      if (res.url().endsWith('/api/v1/auth/refresh') && res.request().method() === 'POST') refreshes.push(res.status());
      if (res.status() >= 500) errors.push(`${res.status()} ${res.url()}`);
    });
    return { errors, refreshes };
  }

  it('two tabs past expiry share one refresh and stay signed in; an ended session says so and keeps next= flat', async () => {
    const owner = await t.createTenant('Two Tabs Shop');
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const { errors, refreshes } = watch(context);
    const one = await context.newPage();
    await signIn(one, base, owner.ownerEmail, 'Owner-Password-1');
    const two = await context.newPage();
    await two.goto(`${base}/catalog`);
    await two.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 20_000 });

    // Both tabs load at once with an expired access token: they share the refresh through a Web Lock, and both keep
    // working. Chromium propagates localStorage between renderer processes asynchronously, so the second tab can
    // occasionally miss the first one's fresh pair and refresh once itself: the server's grace window for the
    // immediately previous refresh token answers it 200 too (never a revoked session).
    await expireAccessToken(one);
    await Promise.all([one.goto(`${base}/recommendations`), two.goto(`${base}/catalog`)]);
    for (const page of [one, two]) await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 20_000 });
    await one.getByRole('heading', { name: 'Recommendations' }).first().waitFor({ timeout: 20_000 });
    await two.getByRole('heading', { name: 'Catalog' }).first().waitFor({ timeout: 20_000 });
    // Count the refreshes once both tabs have no request in flight (not after a fixed sleep).
    await Promise.all([one.waitForLoadState('networkidle'), two.waitForLoadState('networkidle')]);
    expect(refreshes.length).toBeGreaterThanOrEqual(1);
    expect(refreshes.length).toBeLessThanOrEqual(2);
    expect(refreshes.every((status) => status === 200)).toBe(true);
    expect(one.url()).toBe(`${base}/recommendations`);
    expect(two.url()).toBe(`${base}/catalog`);

    // A month later the session itself has expired: the tab lands on sign-in saying so, next= is flat.
    now = new Date(now.getTime() + 31 * 24 * 3600 * 1000);
    await expireAccessToken(one);
    await one.goto(`${base}/catalog?q=lamp`);
    await one.waitForURL(/\/sign-in/, { timeout: 20_000 });
    await one.getByText('Your session expired').waitFor();
    expect(new URL(one.url()).search).toBe(`?next=${encodeURIComponent('/catalog?q=lamp')}`);
    // The other tab follows through storage, without nesting its own next= either.
    await two.waitForURL(/\/sign-in/, { timeout: 20_000 });
    expect(new URL(two.url()).searchParams.get('next')).toBe('/catalog');
    await two.reload();
    expect(new URL(two.url()).searchParams.get('next')).toBe('/catalog');
    await screenshot(one, 'sign-in-session-expired');

    now = new Date();
    await one.getByLabel('E-mail').fill(owner.ownerEmail);
    await one.getByLabel('Password').fill('Owner-Password-1');
    await one.getByRole('button', { name: 'Sign in' }).click();
    await one.waitForURL(`${base}/catalog?q=lamp`, { timeout: 20_000 });
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
