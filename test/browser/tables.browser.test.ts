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
  let viewerId: string;

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
        Array.from({ length: tag === 'a' ? PROFILES - 1 : 4 }, (_, i) => ({
          identifiers: [{ type: 'email', value: `${tag}person${i}@tables.test` }],
          channel: 'api',
          occurredAt: new Date(Date.UTC(2011, 1, 1, i)),
        })),
      );
    }
    // A customer who viewed a product: the timeline names it (one batched catalog call), not "item lamp-1".
    await t.modules.catalog.upsertItems(owner.tenantId, [
      { itemId: 'lamp-1', name: 'Brass desk lamp', priceMinor: 4500n, currency: 'GBP' },
    ]);
    const [viewer] = await t.modules.identity.resolveMany(owner.tenantId, [
      { identifiers: [{ type: 'user_id', value: 'viewer-1' }], channel: 'api', occurredAt: new Date(Date.UTC(2011, 2, 1)) },
    ]);
    viewerId = viewer!;
    await t.modules.events.interactions.appendMany(owner.tenantId, [
      {
        profileId: viewerId,
        userId: 'viewer-1',
        anonymousId: null,
        itemId: 'lamp-1',
        type: 'view',
        orderId: null,
        priceMinor: null,
        currency: null,
        source: 'api',
        occurredAt: new Date(Date.UTC(2011, 2, 1)),
      },
    ]);
    // An audited action by the owner: the audit log names the person and the key, not their ids.
    const catalogKey = await owner.apiKey(['catalog:write']);
    // Three item files, 0, 2 and 1 rows rejected: the import history sorts them on the server.
    for (const [file, bad] of [
      ['first.csv', 0],
      ['second.csv', 2],
      ['third.csv', 1],
    ] as const) {
      const lines = [
        'item_id,name,price,currency',
        `ok-${file},Lamp,2.00,GBP`,
        ...Array.from({ length: bad }, (_, i) => `bad-${i},Lamp,x,GBP`),
      ];
      const boundary = `----loupe${file.length}${bad}`;
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file}"\r\nContent-Type: text/csv\r\n\r\n`),
        Buffer.from(lines.join('\n')),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const r = await t.request('POST', '/api/v1/upload/items', {
        token: catalogKey,
        body: body as unknown as string,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(r.status).toBeLessThan(300);
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
    page.waitForFunction(([id, want]) => document.querySelector(`[data-testid="${id}-range"]`)?.textContent === want, [
      testId,
      text,
    ] as const);
  /** Clicks a sort header twice, waiting for ascending in between: a second click made before the first one's
   * render would read the old sort and ask for ascending again. */
  const sortDescending = async (page: Page, testId: string, label: string) => {
    const header = (direction: string) =>
      page.waitForFunction(([id, dir]) => document.querySelector(`[data-testid="${id}"] th[aria-sort="${dir}"]`) !== null, [
        testId,
        direction,
      ] as const);
    await page.getByRole('button', { name: `Sort by ${label}` }).click();
    await header('ascending');
    await page.getByRole('button', { name: `Sort by ${label}` }).click();
    await header('descending');
  };

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
    await page.waitForFunction(
      () => document.querySelector('[data-testid="orders-table"] tbody tr td:nth-child(5)')?.textContent === '£1.00',
    );
    expect(page.url()).toContain('sort=total');
    await page.getByRole('button', { name: 'Sort by Total' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="orders-table"] th[aria-sort="descending"]') !== null);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="orders-table"] tbody tr td:nth-child(5)')?.textContent === '£97.00',
    );

    // The export holds every order of the filter (fulfilled: every third), across pages.
    await page.getByRole('textbox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'fulfilled' }).click();
    const fulfilled = Math.ceil(ORDERS / 3);
    await waitRange(page, 'orders-table', `1–${fulfilled} of ${fulfilled}`);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file!, 'utf8').trim().split(/\r?\n/);
    expect(lines).toHaveLength(fulfilled + 1);
    expect(lines.slice(1).every((l) => l.includes('fulfilled'))).toBe(true);
    // Amounts in pounds as exact decimals (the order of £1.00 is 100 minor units): total, paid, refunded.
    expect(lines[0]).toBe('id,created_at,status,customer,email,currency,total,paid,refunded');
    expect(lines).toContainEqual(expect.stringMatching(/,fulfilled,a-cust-0,ashopper0@tables\.test,GBP,1\.00,1\.00,0\.00$/));
    expect(lines.slice(1).every((l) => /,GBP,\d+\.\d\d,\d+\.\d\d,\d+\.\d\d$/.test(l))).toBe(true);
    await screenshot(page, 'tables-orders');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it('names products in a customer timeline and people and keys in the audit log; sorts and exports the import history', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: `/customers/${viewerId}`,
    });
    await page.getByTestId('profile-timeline').getByText('Brass desk lamp').waitFor();
    expect(await page.getByTestId('profile-timeline').textContent()).not.toContain('item lamp-1');
    await page.goto(`${base}/settings/audit?action=api_key.create`);
    await page.getByTestId('audit-actor').first().getByText(owner.ownerEmail).waitFor();
    await page.getByTestId('audit-table').getByText('key “').first().waitFor();
    await screenshot(page, 'tables-audit-names');

    await page.goto(`${base}/import`);
    await page.getByTestId('imports-table').waitFor();
    expect(await range(page, 'imports-table')).toBe('1–3 of 3');
    await sortDescending(page, 'imports-table', 'Rejected');
    await page.waitForFunction(() => document.querySelector('[data-testid="imports-table"] tbody tr td')?.textContent === 'second.csv');
    const exported = page.waitForEvent('download');
    await page.getByTestId('recent-imports').getByRole('button', { name: 'Export CSV' }).click();
    const csv = fs
      .readFileSync((await (await exported).path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    expect(csv[0]).toBe('File,Holds,Started,Result,Accepted,Rejected');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['second.csv', 'third.csv', 'first.csv']);
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
      await sortDescending(page, 'profiles-table', 'Orders');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="profiles-table"] tbody tr td:nth-child(3)')?.textContent === '9',
      );
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
