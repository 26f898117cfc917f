import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, screenshot, settled, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Every page of the dashboard at desktop and phone width, for a store with a little data: each renders its
 * heading with no console error, no 5xx and no sideways scroll of the whole page at 390 px (wide tables scroll
 * inside their own box). Screenshots land in test-artifacts/screenshots (gitignored) as pages-<page>-<width>.png.
 */
const PAGES = [
  '/',
  '/analytics',
  '/analytics/behaviour',
  '/analytics/cohorts',
  '/catalog',
  '/catalog/categories',
  '/import',
  '/data',
  '/customers',
  '/customers/review',
  '/orders',
  '/promotions',
  '/recommendations',
  '/predictions',
  '/pricing',
  '/experiments',
  '/sponsored',
  '/newsfeed',
  '/visibility',
  '/integrations',
  '/install',
  '/billing',
  '/settings',
  '/settings/audit',
];

describe.skipIf(!HAS_CHROMIUM)('every page at desktop and phone width in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Screens Store');
    await t.modules.catalog.upsertItems(owner.tenantId, [
      { itemId: '85123A', name: 'White hanging heart t-light holder', priceMinor: 255n, currency: 'GBP' },
      { itemId: '71053', name: 'White metal lantern', priceMinor: 339n, currency: 'GBP' },
    ]);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  for (const viewport of [
    { width: 1280, height: 860 },
    { width: 390, height: 844 },
  ]) {
    it(`renders each page at ${viewport.width} px`, async () => {
      const w = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { viewport });
      const { page, errors, serverErrors } = w;
      const overflow: string[] = [];
      for (const path of PAGES) {
        await page.goto(`${base}${path}`);
        await page.locator('main h2, main h1').first().waitFor({ timeout: 20_000 });
        // Settled: no loading indicator and no request in flight (not networkidle's fixed 500 ms of silence per page).
        await settled(w);
        const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (sideways > 1) overflow.push(`${path}: ${sideways}px`);
        await screenshot(page, `pages-${path.replace(/\//g, '-').replace(/^-$/, 'home').replace(/^-/, '')}-${viewport.width}`);
      }
      expect(overflow).toEqual([]);
      expect(errors).toEqual([]);
      expect(serverErrors).toEqual([]);
      await page.context().close();
    }, 240_000);
  }
});
