import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Feature flags page in chromium against the real server: a flag made through the API shows with its rules in
 * plain words and its evaluations chart; a client key is created; a new flag with a targeted rollout is created
 * through the form and lands in the SDK payload; a flag is archived. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('feature flags page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Muse');
    const key = await owner.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'new_checkout',
        value_type: 'boolean',
        default_value: false,
        rules: [{ type: 'rollout', coverage: 0.25, value: true, condition: { country: 'FR' } }],
      },
    });
    const client = (await t.request('POST', '/api/v1/admin/flags/client-keys', { token: key, body: {} })).body.client_key;
    await t.request('POST', `/api/features/${client}/exposures`, {
      body: {
        exposures: [
          { feature_key: 'new_checkout', value: true },
          { feature_key: 'new_checkout', value: false },
        ],
      },
    });
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('lists flags with their rules, shows evaluations, creates a client key and a flag, archives one', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/experiments',
    });
    await page.getByRole('link', { name: 'Feature flags' }).click();
    await page.waitForURL(/\/experiments\/flags$/);
    const table = page.getByTestId('flags-table');
    await table.getByRole('cell', { name: 'new_checkout', exact: true }).waitFor();
    await expect(table.getByText('{"country":"FR"} 25 % of users → true').count()).resolves.toBe(1);
    await table.getByRole('cell', { name: 'new_checkout', exact: true }).click();
    await page.getByRole('img', { name: 'Evaluations of new_checkout per day and value' }).waitFor();
    await screenshot(page, 'flags');

    await page.getByRole('button', { name: 'Create client key' }).click();
    await page.getByTestId('client-keys').waitFor();

    await page.getByLabel('Flag key').fill('button_color');
    await page.getByRole('textbox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'string' }).click();
    await page.getByLabel('Default value').fill('blue');
    await page.getByLabel('Targeting (optional)').fill('{"plan": "pro"}');
    await page.getByLabel('Value for them').fill('green');
    await page.getByRole('button', { name: 'Create flag' }).click();
    await table.getByRole('cell', { name: 'button_color', exact: true }).waitFor();
    await expect(table.getByText('{"plan":"pro"} → "green"').count()).resolves.toBe(1);

    // A mistake is explained, not sent.
    await page.getByLabel('Flag key').fill('broken');
    await page.getByRole('textbox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'number' }).click();
    await page.getByLabel('Default value').fill('many');
    await page.getByRole('button', { name: 'Create flag' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/Write a number/);

    await table.getByRole('cell', { name: 'new_checkout', exact: true }).click();
    await page.getByTestId('flag-detail').getByRole('button', { name: 'Archive' }).click();
    await page.getByTestId('flag-detail').getByRole('button', { name: 'Serve again' }).waitFor();
    await expect(table.getByText('archived', { exact: true }).count()).resolves.toBe(1);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);
});
