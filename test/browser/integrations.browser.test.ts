import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopifyAdminFake, type ShopifyAdminFake } from '../fakes/shopify-admin.fake.ts';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Integrations in chromium (issue 20), one signed-in page: the empty state, connecting Shopify, the topics to
 * subscribe with the webhook URL, a test event through the real endpoint, the backfill from a local Admin API
 * server (progress, counts), rename, pause (the test event then does not arrive), rotate secret, CSV, the
 * backfill card's error state, disconnect. No console errors, no 5xx.
 */
const TOKEN = 'shpat_browser_token_1';
const node = (type: string, n: number, extra: Record<string, unknown>) => ({
  id: `gid://shopify/${type}/${n}`,
  legacyResourceId: String(n),
  ...extra,
});

describe.skipIf(!HAS_CHROMIUM)('Integrations in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let fake: ShopifyAdminFake;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    fake = await startShopifyAdminFake({
      token: TOKEN,
      products: [1, 2].map((n) => node('Product', n, { title: `Lantern ${n}`, variants: { nodes: [{ price: '9.99' }] } })),
      customers: [1, 2, 3].map((n) => node('Customer', n, { email: `c${n}@example.com` })),
      orders: [1, 2, 3, 4].map((n) =>
        node('Order', 100 + n, {
          currencyCode: 'USD',
          processedAt: '2024-05-01T10:00:00Z',
          customer: node('Customer', (n % 3) + 1, { email: `c${(n % 3) + 1}@example.com` }),
          lineItems: {
            nodes: [
              node('LineItem', 900 + n, {
                quantity: 1,
                product: node('Product', 1, {}),
                originalUnitPriceSet: { shopMoney: { amount: '9.99', currencyCode: 'USD' } },
              }),
            ],
          },
        }),
      ),
    });
    server = await startDashboardServer({
      env: { LOUPE_SHOPIFY_ADMIN_URL: fake.url, LOUPE_SHOPIFY_RETRY_BASE_MS: '5' },
      jobs: { concurrency: 1 },
    });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Integrations Store');
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('connects Shopify, lists topics, sends a test event, backfills, renames, pauses, rotates and disconnects', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/integrations`);
    await page.getByText('No connections yet').waitFor({ timeout: 20_000 });

    await page.getByLabel('Shop domain').fill('browser-store.myshopify.com');
    await page.getByLabel('Signing secret').fill('browser-app-secret-1');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByTestId('webhook-url').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Manage Shopify' }).click();

    const panel = page.getByTestId('connection-panel');
    await panel.getByTestId('shopify-topics').getByText('orders/create', { exact: true }).waitFor();
    expect(await panel.getByTestId('shopify-webhook-url').textContent()).toMatch(/\/api\/v1\/webhooks\/shopify\/[0-9a-f-]{36}$/);
    await panel.getByRole('button', { name: 'Send test event' }).click();
    await panel.getByTestId('test-event-result').getByText('Arrived').waitFor();
    await page.getByTestId('deliveries-table').getByText('loupe/test').first().waitFor({ timeout: 15_000 });

    const card = panel.getByTestId('backfill-card');
    await card.getByText('Nothing imported from Shopify yet').waitFor();
    await card.getByLabel('Admin API access token').fill(TOKEN);
    await card.getByRole('button', { name: 'Start backfill' }).click();
    await card.getByTestId('backfill-status').getByText('succeeded').waitFor({ timeout: 30_000 });
    await card.getByTestId('backfill-orders').getByText('4 of 4').waitFor();
    await card.getByTestId('backfill-customers').getByText('3 of 3').waitFor();
    await card.getByTestId('backfill-products').getByText('2 of 2').waitFor();
    await screenshot(page, 'integrations-shopify');

    await panel.getByLabel('Name').fill('Main shop');
    await panel.getByRole('button', { name: 'Rename' }).click();
    await page.getByTestId('integrations-table').getByText('Main shop').waitFor();
    await panel.getByRole('button', { name: 'Pause' }).click();
    await panel.getByTestId('connection-status').getByText('paused').waitFor();
    await panel.getByRole('button', { name: 'Send test event' }).click();
    await panel.getByTestId('test-event-result').getByText('Did not arrive').waitFor();
    await panel.getByRole('button', { name: 'Resume' }).click();
    await panel.getByTestId('connection-status').getByText('active').waitFor();

    await panel.getByLabel('New signing secret').fill('rotated-browser-secret');
    await panel.getByRole('button', { name: 'Rotate secret' }).click();
    await panel.getByText('Secret replaced').waitFor();
    await panel.getByRole('button', { name: 'Send test event' }).click();
    await panel.getByTestId('test-event-result').getByText('Arrived').waitFor();

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).first().click();
    const csv = fs.readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('id,type,name,status,webhook_url,created_at,last_delivery_at');
    expect(csv).toContain('Main shop');

    // The backfill card's error state when its API fails.
    await page.route('**/api/v1/integrations/*/backfill', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"INTERNAL","message":"boom","request_id":"r1"}}',
      }),
    );
    await page.reload();
    await page.getByTestId('backfill-card').getByRole('alert').filter({ hasText: 'boom' }).waitFor({ timeout: 20_000 });
    await page.unroute('**/api/v1/integrations/*/backfill');

    await page.getByRole('button', { name: 'Disconnect Main shop' }).click();
    await page.getByText('No connections yet').waitFor();
    // The only 500s are those this test injected (chromium logs each as a console line).
    expect(errors.filter((e) => !e.includes('status of 500'))).toEqual([]);
    expect(serverErrors.every((e) => e.includes('/backfill'))).toBe(true);
    await page.context().close();
  }, 120_000);
});
