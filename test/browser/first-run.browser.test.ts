import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Issue 20 for a new store: Home's first-run checklist ticks itself from the tenant's data (loading and error
 * states too), and the tenant's currency, locale and time zone set in Settings format the dashboard.
 */
describe.skipIf(!HAS_CHROMIUM)('first-run checklist and regional settings in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  it('starts empty, ticks the catalog and the key as they appear, and links each open step', async () => {
    const owner = await t.createTenant('New Store');
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    const card = page.getByTestId('setup-checklist');
    await card.getByText('0 of 6 done').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('setup-step-import_catalog').getAttribute('data-done')).toBe('false');
    expect(await page.getByTestId('setup-step-import_catalog').getByText('Next').count()).toBe(1);
    expect(await card.getByRole('link', { name: 'Import products' }).getAttribute('href')).toBe('/import?kind=items');
    expect(await card.getByRole('link', { name: 'Connect' }).getAttribute('href')).toBe('/integrations');

    await t.modules.catalog.upsertItems(owner.tenantId, [
      { itemId: '85123A', name: 'White hanging heart', priceMinor: 255n, currency: 'GBP' },
      { itemId: '22633', name: 'Hand warmer', priceMinor: 185n, currency: 'GBP' },
      { itemId: '84879', name: 'Assorted colour bird', priceMinor: 169n, currency: 'GBP' },
    ]);
    await owner.apiKey(['catalog:read']);
    await page.reload();
    await card.getByText('2 of 6 done').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('setup-step-import_catalog').getAttribute('data-done')).toBe('true');
    await page.getByTestId('setup-step-import_catalog').getByText('Done: 3 items').waitFor();
    expect(await page.getByTestId('setup-step-create_api_key').getAttribute('data-done')).toBe('true');
    expect(await page.getByTestId('setup-step-import_orders').getByText('Next').count()).toBe(1);
    await screenshot(page, 'home-checklist-desktop');

    const phone = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { viewport: { width: 390, height: 844 } });
    await phone.page.getByTestId('setup-checklist').getByText('2 of 6 done').waitFor({ timeout: 20_000 });
    await screenshot(phone.page, 'home-checklist-phone');
    expect([...errors, ...phone.errors]).toEqual([]);
    expect([...serverErrors, ...phone.serverErrors]).toEqual([]);
  }, 120_000);

  it('shows a loading state, an error in words, and no card once every step is done', async () => {
    const owner = await t.createTenant('Watched Store');
    const { page } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/v1/onboarding', async (route) => {
      await held;
      await route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error' } }),
      });
    });
    await page.goto(`${base}/`);
    await page.getByTestId('setup-checklist').getByText('Loading your setup').waitFor({ timeout: 20_000 });
    release();
    await page.getByTestId('setup-checklist').getByRole('alert').waitFor({ timeout: 20_000 });

    await page.unroute('**/api/v1/onboarding');
    const all = ['import_catalog', 'import_orders', 'train_model', 'create_api_key', 'connect_store', 'install_snippet'];
    await page.route('**/api/v1/onboarding', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ steps: all.map((key) => ({ key, done: true, count: null })), completed: 6, next: null }),
      }),
    );
    await page.reload();
    await page.getByTestId('kpis').waitFor({ timeout: 20_000 });
    await page.waitForLoadState('networkidle');
    expect(await page.getByTestId('setup-checklist').count()).toBe(0);
  }, 120_000);

  it('sets GBP and en-GB in Settings, and Home shows the store in pounds; a refused value is shown at its field', async () => {
    const owner = await t.createTenant('UK Store');
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.getByTestId('kpis').getByText('$0.00').first().waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('kpis').textContent()).toContain('$0.00');

    await page.goto(`${base}/settings/regional`);
    await page.getByRole('textbox', { name: 'Currency' }).click();
    await page.getByRole('option', { name: 'GBP', exact: true }).click();
    await page.getByRole('textbox', { name: 'Language and region' }).click();
    await page.getByRole('option', { name: 'en-GB', exact: true }).click();
    await page.getByRole('textbox', { name: 'Time zone' }).fill('Europe/Lon');
    await page.getByRole('option', { name: 'Europe/London', exact: true }).click();
    await page.getByTestId('regional-preview').getByText('£1,234.50').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor({ timeout: 20_000 });
    expect((await t.request('GET', '/api/v1/settings/regional', { token: owner.ownerToken })).body).toEqual({
      currency: 'GBP',
      locale: 'en-GB',
      timezone: 'Europe/London',
    });
    await screenshot(page, 'settings-regional');

    await page.goto(`${base}/`);
    await page.getByTestId('kpis').getByText('£0.00').first().waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('kpis').textContent()).not.toContain('$');

    // A value the server refuses is shown beside its field, in words.
    await page.route('**/api/v1/settings/regional', (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({
            status: 400,
            contentType: 'application/json',
            body: JSON.stringify({
              error: {
                code: 'VALIDATION_ERROR',
                message: 'Invalid body',
                details: [{ field: 'currency', message: 'must be an ISO 4217 currency code such as GBP' }],
              },
            }),
          })
        : route.continue(),
    );
    await page.goto(`${base}/settings/regional`);
    await page.getByRole('textbox', { name: 'Currency' }).click();
    await page.getByRole('option', { name: 'EUR', exact: true }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('must be an ISO 4217 currency code such as GBP').waitFor({ timeout: 20_000 });

    // An analyst of the store sees the settings, read-only: no form it cannot submit.
    const analyst = await t.request('POST', '/api/v1/admin/users', {
      token: await t.adminToken(),
      body: { email: 'analyst@uk-store.test', password: 'Analyst-Password-1', tenant_id: owner.tenantId, role: 'analyst' },
    });
    expect(analyst.status).toBe(201);
    const other = await openSignedInPage(browser, base, 'analyst@uk-store.test', 'Analyst-Password-1');
    await other.page.goto(`${base}/settings/regional`);
    await other.page.getByTestId('regional-read-only').waitFor({ timeout: 20_000 });
    expect(await other.page.getByRole('textbox', { name: 'Currency' }).isDisabled()).toBe(true);
    expect(await other.page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(other.errors).toEqual([]);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);
});
