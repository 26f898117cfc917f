import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * A successful mutating action says so in one toast, announced politely (role="status") and dismissed by its
 * button or Escape; a read that runs as a mutation says nothing. The audit log is a server-sorted, paged table
 * ("1–N of M", a header click sorts on the server and aria-sort says how). No console errors, no 5xx.
 */
describe.skipIf(!HAS_CHROMIUM)('success toasts and the sorted audit table in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Toast Store');
  }, 600_000);
  afterAll(async () => {
    await server?.close();
  });

  it('creating a key shows one success toast that Escape dismisses; the audit log then sorts on the server', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/settings/api-keys',
    });
    const region = page.getByRole('status').filter({ has: page.getByTestId('toast') });
    await page.getByLabel('Name').fill('Storefront');
    await page.getByRole('checkbox', { name: 'catalog:read' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('new-api-key').waitFor();
    await region.getByText('API key created').waitFor();
    expect(await page.getByTestId('toast').count()).toBe(1);
    await page.keyboard.press('Escape');
    await page.getByTestId('toast').waitFor({ state: 'detached' });

    // A second key, then its toast closed by its button.
    await page.getByLabel('Name').fill('Backend');
    await page.getByRole('checkbox', { name: 'catalog:read' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('toast').getByText('API key created').waitFor();
    await page.getByTestId('toast').getByRole('button', { name: 'Dismiss' }).click();
    await page.getByTestId('toast').waitFor({ state: 'detached' });

    await page.goto(`${base}/settings/audit`);
    const range = page.getByTestId('audit-table-range');
    await range.filter({ hasText: /^1–\d+ of \d+$/ }).waitFor();
    const total = Number(/of (\d+)/.exec((await range.textContent()) ?? '')![1]);
    expect(total).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Sort by Action' }).click();
    await page.waitForURL(/sort=action/);
    await page.locator('th[aria-sort="ascending"]').getByText('Action').waitFor();
    const actions = async () => page.getByTestId('audit-table').locator('tbody tr td:nth-child(2)').allTextContents();
    await expect
      .poll(async () => {
        const a = await actions();
        return a.length > 0 && a.every((x, i) => i === 0 || a[i - 1]! <= x);
      })
      .toBe(true);
    await page.getByRole('button', { name: 'Sort by Action' }).click();
    await page.waitForURL(/sort=-action/);
    await page.locator('th[aria-sort="descending"]').getByText('Action').waitFor();
    await expect
      .poll(async () => {
        const a = await actions();
        return a.length > 0 && a.every((x, i) => i === 0 || a[i - 1]! >= x);
      })
      .toBe(true);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 300_000);
});
