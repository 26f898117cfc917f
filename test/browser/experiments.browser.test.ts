import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Experiments pages in chromium against the real server: an experiment created and fed through the API shows
 * in the list with its status, its results page shows the decision, the lift chart, the sample warning and how fresh
 * the numbers are (with "Update now");
 * a new experiment is created through the form. No console errors.
 */
describe.skipIf(!HAS_CHROMIUM)('experiments pages in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let expId: string;
  let banditId: string;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Muse');
    const key = await owner.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        name: 'Model v2 vs v1',
        primary_metric: 'add_to_cart',
        minimum_sample_size: 500,
        variants: [
          { key: 'model_v1', config: { model_version: 'v1' } },
          { key: 'model_v2', config: { model_version: 'v2' } },
        ],
      },
    });
    expId = e.body.id;
    await t.request('POST', `/api/v1/admin/experiments/${expId}/start`, { token: key });
    for (let i = 0; i < 60; i++) {
      const a = await t.request('POST', '/api/v1/experiments/assign', { token: key, body: { user_id: `s${i}` } });
      if (i % (a.body.assignments[0].variant_key === 'model_v2' ? 2 : 5) === 0)
        await t.request('POST', '/api/v1/experiments/track-add-to-cart', { token: key, body: { user_id: `s${i}`, event_id: `atc${i}` } });
    }
    // A bandit without burn-in: its first update (what the scheduled job runs) moves traffic to the arm users click.
    const b = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        name: 'Hero banner bandit',
        type: 'bandit',
        bandit: { burn_in_hours: 0 },
        primary_metric: 'click',
        variants: [{ key: 'plain' }, { key: 'bold' }],
      },
    });
    banditId = b.body.id;
    await t.request('POST', `/api/v1/admin/experiments/${banditId}/start`, { token: key });
    for (let i = 0; i < 220; i++) {
      const a = await t.request('POST', '/api/v1/experiments/assign', {
        token: key,
        body: { user_id: `h${i}`, experiments: ['hero_banner_bandit'] },
      });
      if (i % (a.body.assignments[0].variant_key === 'bold' ? 2 : 10) === 0)
        await t.request('POST', '/api/v1/experiments/track-click', { token: key, body: { user_id: `h${i}`, event_id: `hc${i}` } });
    }
    await t.modules.experiments.updateBandit(owner.tenantId, banditId);
    // What the scheduled task does in the background: reports read the rollups it leaves.
    await t.modules.experiments.refreshRollups();
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('lists experiments with status, shows results with the interval chart and plain-words warnings, creates one', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/experiments',
    });
    const table = page.getByTestId('experiments-table');
    await table.getByRole('cell', { name: 'Model v2 vs v1', exact: true }).waitFor();
    // both running: this experiment and the bandit
    await expect(table.getByText('running', { exact: true }).count()).resolves.toBe(2);
    await screenshot(page, 'experiments-list');
    await table.getByRole('cell', { name: 'Model v2 vs v1', exact: true }).click();
    await page.waitForURL(new RegExp(`/experiments/${expId}$`));
    await page.getByTestId('decision').waitFor();
    await expect(page.getByTestId('decision').textContent()).resolves.toMatch(/Keep it running/);
    await expect(page.getByTestId('warning').first().textContent()).resolves.toMatch(/fewer than 500 users/);
    await page.getByRole('img', { name: /Relative lift of each variant on add_to_cart/ }).waitFor();
    // The numbers say how fresh they are (the rollups were refreshed after seeding), and can be brought up to now.
    const freshness = page.getByTestId('freshness');
    await freshness.getByText(/Numbers as of .*: up to date\./).waitFor();
    const updated = page.waitForResponse((res) => res.url().includes(`/experiments/${expId}/report?refresh=true`));
    await freshness.getByRole('button', { name: 'Update now' }).click();
    expect((await updated).status()).toBe(200);
    await freshness.getByText(/up to date\./).waitFor();
    await screenshot(page, 'experiments-results');

    await page.goto(`${base}/experiments`);
    await page.getByLabel('Name').fill('Trending first');
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('running', { exact: true }).waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);

  it("sets the metrics' connector sources in the create form (refusing a bad channel name in plain words)", async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/experiments',
    });
    await page.getByLabel('Name').fill('Checkout copy');
    const sources = page.getByRole('textbox', { name: 'Count events from connectors (optional)' });
    await sources.fill('Shop!fy');
    await sources.press('Enter');
    // Escape closes the suggestions, which would cover the button.
    await sources.press('Escape');
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.getByRole('alert').filter({ hasText: '"shop!fy" is not a channel name' }).waitFor();
    await sources.press('Backspace');
    await sources.fill('shopify');
    await sources.press('Enter');
    await sources.press('Escape');
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    const id = /\/experiments\/([0-9a-f-]{36})$/.exec(page.url())?.[1] as string;
    const created = await t.request('GET', `/api/v1/admin/experiments/${id}`, { token: owner.ownerToken });
    expect(created.status).toBe(200);
    expect(created.body.metrics.map((m: { name: string; sources: string[] | null }) => [m.name, m.sources])).toEqual([
      ['add_to_cart', ['shopify']],
      ['click', ['shopify']],
      ['purchase', ['shopify']],
      ['revenue', ['shopify']],
    ]);
    await expect(page.getByTestId('metric-add_to_cart').getByTestId('metric-sources-badge').textContent()).resolves.toBe('from shopify');
    await screenshot(page, 'experiments-sources');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);

  it("charts a bandit's weights over time with its periods table", async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: `/experiments/${banditId}`,
    });
    const card = page.getByTestId('bandit-weights');
    await card.getByRole('img', { name: 'Bandit weight of each variant per period' }).waitFor();
    const rows = card.getByTestId('bandit-periods').locator('tbody tr');
    await expect(rows.count()).resolves.toBe(2);
    await expect(rows.nth(0).textContent()).resolves.toMatch(/50\.0 %.*burn-in/);
    await expect(rows.nth(1).textContent()).resolves.toMatch(/updated/);
    await expect(card.textContent()).resolves.toMatch(/checked against each period's weights/);
    // period-weighted effects of the primary metric (the new period has no users yet: 1 of 2 periods used)
    const weighted = card.getByTestId('bandit-period-weighted');
    await expect(weighted.textContent()).resolves.toMatch(/click: effects weighted by period.*1 of 2 periods/);
    await expect(weighted.getByTestId('bandit-weighted-effects').locator('tbody tr').first().textContent()).resolves.toMatch(
      /^bold\d[\d.]* %/,
    );
    // the burn-in's users counted against the burn-in's 50/50, so no false mismatch
    await expect(page.getByText(/sample ratio mismatch/i).count()).resolves.toBe(0);
    await screenshot(page, 'experiments-bandit');

    // a bandit created through the form: its page says what happens before it starts
    await page.goto(`${base}/experiments`);
    await page.getByLabel('Name').fill('Banner bandit');
    await page.getByRole('textbox', { name: 'Kind' }).click();
    await page.getByRole('option', { name: 'Bandit (weights follow the primary metric)' }).click();
    await page.getByRole('button', { name: 'Create experiment' }).click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    await expect(page.getByTestId('bandit-weights').textContent()).resolves.toMatch(/Start the experiment: the bandit begins/);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);
});
