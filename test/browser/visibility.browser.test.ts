import { createServer } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, type TestApp } from '../helpers.ts';
import { fakeGoogleEnv, startFakeGoogle, type FakeGoogle } from '../fakes/google.fake.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

/** The Visibility page against the real server and the local Google fakes: real data created through the API. */
describe.skipIf(!HAS_CHROMIUM)('visibility page in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let g: FakeGoogle;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    g = await startFakeGoogle();
    // Google sends the browser back to this server's callback: the port is chosen before the server starts.
    const port = await freePort();
    server = await startDashboardServer({
      env: { ...fakeGoogleEnv(g), GOOGLE_OAUTH_REDIRECT_URI: `http://127.0.0.1:${port}/google/oauth/callback` },
      jobs: { concurrency: 1 },
      port,
    });
    ({ t, base, browser } = server);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await g?.close();
  });

  it('shows the Google link, precheck issues by rule, a push job and the profile score', async () => {
    const owner = await t.createTenant('Visible Store');
    const token = owner.ownerToken;
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/visibility',
    });
    // Link Google from the page: Google's consent screen (the fake's /authorize), then back to Visibility
    const card = page.getByTestId('google-card');
    await card.getByLabel('Merchant Center id').fill('42');
    await card.getByLabel('Data source id').fill('7');
    await card.getByRole('button', { name: 'Link Google' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${g.url}/authorize`), { timeout: 20_000 });
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${base}/visibility`), { timeout: 20_000 });
    await card.getByTestId('google-link-outcome').getByText('Google is linked.').waitFor({ timeout: 20_000 });
    await card.getByText('Merchant Center 42, data source 7').waitFor({ timeout: 20_000 });
    expect(new URL(page.url()).search).toBe('');
    expect(g.tokenRequests).toContainEqual({ grant: 'authorization_code', ok: true });
    const items = ['GOOD', 'BADGTIN'].map((id) => ({
      item_id: id,
      name: `Product ${id}`,
      description: 'A product.',
      url: `https://shop.example.com/p/${id}`,
      image_url: `https://cdn.example.com/${id}.jpg`,
      price: '10.00',
      currency: 'USD',
      brand: 'Acme',
      gtin: id === 'GOOD' ? '4006381333931' : '4006381333932',
    }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token, headers: { 'x-tenant-id': owner.tenantId }, body: items })).status).toBe(
      200,
    );
    expect((await t.request('POST', `/api/v1/tenants/${owner.tenantId}/feed/push`, { token })).status).toBe(202);
    await t.request('POST', '/tenant/profile', {
      token,
      body: {
        name: 'Visible Store',
        phone: 'nope',
        categories: ['Shoe store'],
        address: { line1: '5 Avenue Anatole France', city: 'Paris', postal_code: '75007', country: 'FR' },
      },
    });

    await page.reload();
    await page.getByTestId('google-card').getByText('linked').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('precheck-table').getByText('gtin_check_digit').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('precheck-summary').textContent()).resolves.toMatch(/2 items: 1 ready/);
    await page
      .getByTestId('jobs-table')
      .getByText(/success|processing|queued/)
      .first()
      .waitFor({ timeout: 20_000 });
    // per-item issues of the push: the item the precheck refused, with its rule's message
    await page.getByTestId('push-issues-table').getByText('BADGTIN').first().waitFor({ timeout: 30_000 });
    // a push Google refuses (410) fails without retries; Retry on the page runs it again once Google answers
    await pollUntil(
      'first push finished',
      () => t.request('GET', '/api/feed-jobs', { token }),
      (r) => r.body.data.every((j: { status: string }) => j.status === 'success' || j.status === 'failed'),
    );
    const more = [{ ...items[0], item_id: 'NEWER', gtin: '4006381333931' }];
    expect((await t.request('POST', '/api/v1/items/bulk', { token, headers: { 'x-tenant-id': owner.tenantId }, body: more })).status).toBe(
      200,
    );
    g.gone = true;
    const failing = (await t.request('POST', `/api/v1/tenants/${owner.tenantId}/feed/push`, { token })).body.id as string;
    await pollUntil(
      'push failed on 410',
      () => t.request('GET', `/api/feed-jobs/${failing}`, { token }),
      (r) => r.body.status === 'failed',
    );
    g.gone = false;
    const jobs = page.getByTestId('jobs-table');
    await jobs.getByRole('button', { name: 'Retry' }).first().click({ timeout: 20_000 });
    await jobs.getByText(/failed → retried → processing → success/).waitFor({ timeout: 30_000 });
    await page.getByTestId('profile-score').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('profile-fixes').textContent()).resolves.toMatch(/phone/);
    // the address as the geocoder placed it, with a map link
    await page
      .getByTestId('profile-location')
      .getByText(/On the map: 5 Avenue Anatole France.*\(exact\)/)
      .waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('profile-location').getByRole('link', { name: 'open the map' }).getAttribute('href')).toContain(
      'mlat=48.8584',
    );
    await screenshot(page, 'visibility');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 120_000);
  it('says in plain words when consent is refused on Google, and stays unlinked', async () => {
    const owner = await t.createTenant('Shy Store');
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/visibility',
    });
    const card = page.getByTestId('google-card');
    await card.getByRole('button', { name: 'Link Google' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${g.url}/authorize`), { timeout: 20_000 });
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${base}/visibility`), { timeout: 20_000 });
    await card
      .getByTestId('google-link-outcome')
      .getByText(/access was not granted/)
      .waitFor({ timeout: 20_000 });
    await card.getByText('not linked').first().waitFor({ timeout: 20_000 });
    await card.getByRole('button', { name: 'Link Google' }).waitFor({ timeout: 20_000 });
    expect((await t.request('GET', '/google/oauth/status', { token: owner.ownerToken })).body.linked).toBe(false);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 60_000);
  it('edits a valid business profile and sees its insights', async () => {
    const owner = await t.createTenant('Insight Store');
    const token = owner.ownerToken;
    const linkR = await t.request('POST', '/google/oauth/link', { token, body: {} });
    const grant = await g.authorize(linkR.body.authorization_url);
    expect((await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(grant.state)}`)).status).toBe(200);
    expect(
      (
        await t.request('POST', '/tenant/profile', {
          token,
          body: {
            name: 'Insight Store',
            phone: 'not a phone',
            website: 'https://insight.example.com',
            categories: ['Shoe store'],
            time_zone: 'America/New_York',
            address: { line1: '20 W 34th St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' },
            regular_hours: [{ day: 'monday', open: '09:00', close: '18:00' }],
          },
        })
      ).status,
    ).toBe(201);

    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: '/visibility',
    });
    // the editor: the invalid phone is a fix; a valid one clears it, and the profile is saved
    const profile = page.getByTestId('profile-card');
    await page.getByTestId('profile-fixes').getByText('phone').first().waitFor({ timeout: 20_000 });
    await profile.getByLabel('Phone').fill('+1 415 555 2671');
    await page.waitForFunction(() => !document.querySelector('[data-testid="profile-fixes"]')?.textContent?.includes('phone'), undefined, {
      timeout: 20_000,
    });
    await profile.getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(async () => (await t.request('GET', '/tenant/profile', { token })).body.phone, { timeout: 20_000 })
      .toBe('+14155552671');

    // pick the Business Profile location, sync the profile to it, see the insights
    const card = page.getByTestId('gbp-card');
    await card.getByLabel('Business Profile location').click();
    await page.getByRole('option', { name: /Old Title/ }).click();
    await card.getByRole('button', { name: 'Use this location' }).click();
    await card.getByRole('button', { name: 'Sync profile to Google' }).click();
    await page
      .getByTestId('gbp-sync-status')
      .getByText(/synced|unchanged/)
      .waitFor({ timeout: 20_000 });
    expect(
      (g.business.locations.get('locations/555')!.location as { phoneNumbers: { primaryPhone: string } }).phoneNumbers.primaryPhone,
    ).toBe('+14155552671');
    await page.getByTestId('gbp-impressions-chart').locator('canvas').first().waitFor({ timeout: 30_000 });
    await page.getByTestId('gbp-actions-chart').locator('canvas').first().waitFor({ timeout: 20_000 });
    const insights = (await t.request('GET', '/google/business/insights', { token })).body;
    await expect(page.getByTestId('gbp-totals').textContent()).resolves.toContain(`${insights.totals.website_clicks} website clicks`);
    await screenshot(page, 'visibility-insights');
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 150_000);
});
