import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { pollUntil } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Settings → Webhooks in chromium: the empty state, adding an endpoint (secret shown once, event-type picker), a test
 * send that a local receiver verifies with that secret, the deliveries table with its status filter, CSV export and
 * redeliver, the statistics chart, and the error state when the API fails. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Webhooks in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let receiver: http.Server;
  let hookUrl: string;
  const received: { headers: Record<string, string>; body: string }[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    server = await startDashboardServer({ env: { LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32' }, jobs: { concurrency: 2 } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Webhooks Store');
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('adds an endpoint, sends a signed test, filters, exports and redelivers', async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { path: '/settings/webhooks' });
    await page.getByText('No webhook endpoints yet').waitFor({ timeout: 20_000 });
    await page.getByText('No delivery attempts yet').waitFor();

    await page.getByLabel('URL').fill(hookUrl);
    await page.getByTestId('event-type-picker').click();
    await page.getByRole('option', { name: 'pricing.*' }).click();
    await page.getByRole('option', { name: 'webhook.test' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = ((await page.getByTestId('new-webhook-secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Done' }).click();
    const endpoints = page.getByTestId('webhook-endpoints-table');
    await endpoints.getByText(hookUrl).waitFor();
    await endpoints.getByText('pricing.*, webhook.test').waitFor();

    await page.getByRole('button', { name: 'Send test' }).click();
    const table = page.getByTestId('webhook-deliveries-table');
    await table.getByText('succeeded').waitFor({ timeout: 30_000 });
    expect(received).toHaveLength(1);
    expect(new Webhook(secret).verify(received[0]!.body, received[0]!.headers)).toMatchObject({ type: 'webhook.test' });

    await page.getByTestId('delivery-status-filter').click();
    await page.getByRole('option', { name: 'failed' }).click();
    await page.getByText('No failed deliveries').waitFor();
    await page.getByTestId('delivery-status-filter').click();
    await page.getByRole('option', { name: 'succeeded' }).click();
    await table.getByText('succeeded').waitFor();

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = fs.readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('id,created_at,endpoint,type,status,attempts,last_status_code,last_latency_ms,last_error');
    expect(csv).toContain('webhook.test,succeeded,1,204');

    await table.getByRole('button', { name: 'Redeliver' }).click();
    await pollUntil(
      'redelivered',
      async () => received.length,
      (n) => n === 2,
    );
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']);
    await page.reload();
    await page.getByTestId('webhook-stats-summary').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await screenshot(page, 'settings-webhooks');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('shows the error state when the API fails', async () => {
    const { page } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.route('**/api/v1/webhooks/deliveries*', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"INTERNAL","message":"boom","request_id":"r1"}}',
      }),
    );
    await page.goto(`${base}/settings/webhooks`);
    await page.getByRole('alert').filter({ hasText: 'boom' }).waitFor({ timeout: 20_000 });
    await page.context().close();
  }, 120_000);
});
