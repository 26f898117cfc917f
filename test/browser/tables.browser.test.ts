import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * The merchant's tables in chromium against the real server: orders and customers show "1–50 of N", page with
 * next/previous, sort on the server by a header click (aria-sort says how), and export every row of the current
 * filter, not only the page shown. Another tenant's rows never appear. No console errors, no 5xx.
 */
describe.skipIf(!HAS_CHROMIUM)('paged, sorted tables in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  const ORDERS = 62;
  const PROFILES = 53;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Tables Store');
    const other = await t.createTenant('Other Tables Store');
    // Orders come from checkouts; rows written as the commerce module stores them stand in for them here.
    for (const [tenantId, n, tag] of [
      [owner.tenantId, ORDERS, 'a'],
      [other.tenantId, 5, 'b'],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const total = ((i * 7919) % 97) * 100 + 100;
        const hex = String(i).padStart(12, '0');
        await t.database.db.execute(sql`INSERT INTO orders (tenant_id, id, cart_id, user_id, email, currency, status, subtotal_minor,
            discount_total_minor, tax_total_minor, shipping_total_minor, total_minor, paid_minor, created_at)
          VALUES (${tenantId}, ${`0190c000-0000-7000-8${tag === 'a' ? 1 : 2}00-${hex}`}, ${`0190c000-0000-7000-9${tag === 'a' ? 1 : 2}00-${hex}`},
            ${`${tag}-cust-${i}`}, ${`${tag}shopper${i}@tables.test`}, 'GBP', ${i % 3 ? 'paid' : 'fulfilled'}, ${total}, 0, 0, 0,
            ${total}, ${total}, ${new Date(Date.UTC(2011, 0, 1, i)).toISOString()}::timestamptz)`);
      }
      await t.modules.identity.resolveMany(
        tenantId,
        Array.from({ length: tag === 'a' ? PROFILES : 4 }, (_, i) => ({
          identifiers: [{ type: 'email', value: `${tag}person${i}@tables.test` }],
          channel: 'api',
          occurredAt: new Date(Date.UTC(2011, 1, 1, i)),
        })),
      );
    }
    await t.database.db.execute(
      sql`UPDATE profiles SET total_orders = 9 WHERE tenant_id = ${owner.tenantId} AND id = (SELECT min(id::text)::uuid FROM profiles WHERE tenant_id = ${owner.tenantId})`,
    );
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  const range = (page: Page, testId: string) => page.getByTestId(`${testId}-range`).textContent();
  const waitRange = (page: Page, testId: string, text: string) =>
    page.waitForFunction(([id, want]) => document.querySelector(`[data-testid="${id}-range"]`)?.textContent === want, [testId, text] as const);

  it('pages, sorts and exports the orders of the current filter', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { path: '/orders' });
    await page.getByTestId('orders-table').waitFor();
    expect(await range(page, 'orders-table')).toBe(`1–50 of ${ORDERS}`);
    expect(await page.locator('[data-testid="orders-table"] tbody tr').count()).toBe(50);
    expect(await page.getByTestId('orders-table').textContent()).not.toContain('bshopper');

    await page.getByRole('button', { name: 'Next' }).click();
    await waitRange(page, 'orders-table', `51–${ORDERS} of ${ORDERS}`);
    expect(await page.locator('[data-testid="orders-table"] tbody tr').count()).toBe(ORDERS - 50);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await waitRange(page, 'orders-table', `1–50 of ${ORDERS}`);

    // Sorting is the server's: the first row of "Total ↑" is the smallest total of all 62, not of the page.
    await page.getByRole('button', { name: 'Sort by Total' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="orders-table"] th[aria-sort="ascending"]') !== null);
    await page.waitForFunction(() => document.querySelector('[data-testid="orders-table"] tbody tr td:nth-child(5)')?.textContent === '£1.00');
    expect(page.url()).toContain('sort=total');
    await page.getByRole('button', { name: 'Sort by Total' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="orders-table"] th[aria-sort="descending"]') !== null);
    await page.waitForFunction(() => document.querySelector('[data-testid="orders-table"] tbody tr td:nth-child(5)')?.textContent === '£97.00');

    // The export holds every order of the filter (fulfilled: every third), across pages.
    await page.getByLabel('Status').click();
    await page.getByRole('option', { name: 'fulfilled' }).click();
    const fulfilled = Math.ceil(ORDERS / 3);
    await waitRange(page, 'orders-table', `1–${fulfilled} of ${fulfilled}`);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file!, 'utf8').trim().split(/\r?\n/);
    expect(lines).toHaveLength(fulfilled + 1);
    expect(lines.slice(1).every((l) => l.includes('fulfilled'))).toBe(true);
    await screenshot(page, 'tables-orders');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it('pages, sorts and exports every customer, at desktop and phone width', async () => {
    for (const viewport of [
      { width: 1280, height: 860 },
      { width: 390, height: 844 },
    ]) {
      const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
        path: '/customers',
        viewport,
      });
      await page.getByTestId('profiles-table').waitFor();
      expect(await range(page, 'profiles-table')).toBe(`1–50 of ${PROFILES}`);
      await page.getByRole('button', { name: 'Sort by Orders' }).click();
      await page.getByRole('button', { name: 'Sort by Orders' }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid="profiles-table"] th[aria-sort="descending"]') !== null);
      await page.waitForFunction(() => document.querySelector('[data-testid="profiles-table"] tbody tr td:nth-child(3)')?.textContent === '9');
      await page.getByRole('button', { name: 'Next' }).click();
      await waitRange(page, 'profiles-table', `51–${PROFILES} of ${PROFILES}`);
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const text = fs.readFileSync((await (await download).path())!, 'utf8');
      expect(text.trim().split(/\r?\n/)).toHaveLength(PROFILES + 1);
      expect(text).not.toContain('bperson');
      await screenshot(page, `tables-customers-${viewport.width}`);
      expect(errors).toEqual([]);
      expect(serverErrors).toEqual([]);
      await page.context().close();
    }
  });
});
