import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, sharedPath, type TestApp } from '../helpers.ts';
import {
  forgeAccessToken,
  HAS_CHROMIUM,
  openPage,
  openSignedInPage,
  screenshot,
  signIn,
  type WatchedPage,
  startDashboardServer,
  type DashboardServer,
} from './harness.ts';

/**
 * The dashboard in a real browser against the real server (embedded database): sign-in, tenant
 * switching, API keys, every page rendering without console errors, and the data flows whose APIs exist.
 * Skipped, with a printed reason, on a machine without chromium.
 */
const SHOPIFY_ORDER = sharedPath('fixtures/shopify/orders_create.json');
const JWT_SECRET = 'browser-tests-signing-secret-0123456789abcdef0123456789';

describe.skipIf(!HAS_CHROMIUM)('dashboard in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;

  /** Whether the server has a route (a module may not have landed yet): ROUTE_NOT_FOUND means no. */
  async function hasRoute(method: string, url: string): Promise<boolean> {
    const r = await t.request(method, url, { token: owner.ownerToken, body: method === 'GET' ? undefined : {} });
    return !(r.status === 404 && r.body?.error?.code === 'ROUTE_NOT_FOUND');
  }

  /**
   * A page signed in as the owner (through the API: the sign-in form is the first test's subject), opened at `path`.
   */
  async function ownerPage(path = '/', viewport?: { width: number; height: number }): Promise<WatchedPage> {
    return openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', { path, ...(viewport ? { viewport } : {}) });
  }

  beforeAll(async () => {
    server = await startDashboardServer({ env: { LOUPE_JWT_SECRET: JWT_SECRET }, jobs: { concurrency: 1 } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Acme Store');
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it('signs in, shows Home with its KPI area, and signs out', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/settings/api-keys`);
    // Not signed in: sent to sign-in, and back to the deep link afterwards.
    await page.waitForURL(/\/sign-in\?next=/);
    await page.getByLabel('E-mail').fill(owner.ownerEmail);
    await page.getByLabel('Password').fill('wrong-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/.+/);
    await page.getByLabel('Password').fill('Owner-Password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/settings/api-keys`);
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByTestId('kpis').waitFor();
    expect(await page.getByRole('heading', { name: 'Acme Store' }).isVisible()).toBe(true);
    await screenshot(page, 'home');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    // Signing out cleared the refresh cookie.
    expect(await refreshCookie(page)).toBeUndefined();
    // The session is over: reloading a page asks to sign in again.
    await page.goto(`${base}/settings`);
    await page.waitForURL(/\/sign-in/);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  /** The session's refresh cookie as the browser holds it (the test reads it; the page's scripts cannot). */
  async function refreshCookie(page: WatchedPage['page']) {
    const all = await page.context().cookies(`${base}/api/v1/auth/refresh`);
    return all.find((c) => c.name === 'loupe_refresh');
  }

  it('refreshes an expired access token (rotating the refresh token) and asks for the password on STEP_UP_REQUIRED', async () => {
    // Signed in through the form: the cookie it checks is the one the real sign-in sets.
    const { page, errors } = await openPage(browser);
    await signIn(page, base, owner.ownerEmail, 'Owner-Password-1');
    const before = await refreshCookie(page);
    // The refresh token is an HttpOnly, SameSite=Strict cookie of the refresh path: not in storage, not in document.cookie.
    expect(before).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/refresh' });
    expect(before?.value).toMatch(/^rt_/);
    const visible = await page.evaluate(() => `${document.cookie} ${JSON.stringify({ ...localStorage })}`);
    expect(visible).not.toContain('rt_');
    // An access token that expired an hour ago: the page still loads, through one refresh.
    await forgeAccessToken(page, JWT_SECRET, { issuedSecondsAgo: 2 * 3600, authSecondsAgo: 2 * 3600 });
    await page.goto(`${base}/settings/members`);
    await page.getByRole('cell', { name: owner.ownerEmail }).waitFor();
    const after = await refreshCookie(page);
    expect(after?.value).toMatch(/^rt_/);
    expect(after?.value).not.toBe(before?.value);

    // A valid token whose password check is an hour old: creating a key needs a step-up.
    await forgeAccessToken(page, JWT_SECRET, { issuedSecondsAgo: 0, authSecondsAgo: 3600 });
    await page.goto(`${base}/settings/api-keys`);
    await page.getByLabel('Name').fill('Needs step-up');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' });
    await dialog.waitFor();
    await screenshot(page, 'step-up-prompt');
    await dialog.getByLabel('Password').fill('not-my-password');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').waitFor();
    await dialog.getByLabel('Password').fill('Owner-Password-1');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.getByTestId('new-api-key').waitFor();
    await page.getByRole('button', { name: 'I have stored it' }).click();

    // The refresh token is used elsewhere and rotated on past it (so this is no longer the grace-window race):
    // reuse ends the session and the dashboard signs out, saying so.
    const current = await refreshCookie(page);
    const stolen = await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: current!.value } });
    expect(stolen.status).toBe(200);
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: stolen.body.refresh_token } })).status).toBe(200);
    await forgeAccessToken(page, JWT_SECRET, { issuedSecondsAgo: 2 * 3600, authSecondsAgo: 2 * 3600 });
    await page.goto(`${base}/settings/members`);
    await page.waitForURL(/\/sign-in/, { timeout: 15_000 });
    await page.getByText('You were signed out').waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('creates an API key whose secret is shown once, and revokes it', async () => {
    const { page, errors } = await ownerPage('/settings/api-keys');
    await page.getByLabel('Name').fill('Storefront widget');
    await page.getByLabel('catalog:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretEl = page.getByTestId('new-api-key');
    await secretEl.waitFor();
    const secret = (await secretEl.textContent())!.trim();
    expect(secret).toMatch(/^sk_/);
    await screenshot(page, 'settings-api-key-created');
    // The key works against the API with the scopes chosen.
    expect((await t.request('GET', '/api/v1/tenant', { token: secret })).status).toBe(200);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const table = page.getByTestId('api-keys-table');
    await table.getByText('Storefront widget').waitFor();
    // Each key shows who created it.
    await table
      .getByRole('row', { name: /Storefront widget/ })
      .getByText(owner.ownerEmail)
      .waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await table.getByText('Storefront widget').waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('button', { name: 'Revoke Storefront widget' }).click();
    // Revoked keys leave the list, and come back, marked, with "Show revoked keys" (kept in the URL).
    await table.getByText('Storefront widget').waitFor({ state: 'detached' });
    await page.getByLabel('Show revoked keys').click();
    await page.waitForURL(/revoked=1/);
    await page.getByTestId('api-keys-table').getByText('revoked').waitFor();
    expect((await t.request('GET', '/api/v1/tenant', { token: secret })).status).toBe(401);
    await screenshot(page, 'settings-api-keys');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('adds a member, filters the audit log from the URL, and switches tenants', async () => {
    const { page, errors } = await ownerPage('/settings/members');
    await page.getByLabel('E-mail').fill('analyst@acme.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    // No e-mail configured here: the link is shown to pass on.
    await page.getByTestId('invitation-link').getByText('/accept-invite#token=').waitFor();
    await page.getByTestId('invitations-table').getByText('analyst@acme.test').waitFor();
    await screenshot(page, 'settings-members');
    // Bookmarkable filters: the URL carries them and the table obeys.
    await page.goto(`${base}/settings/audit?action=member.invite_email`);
    const audit = page.getByTestId('audit-table');
    await audit.getByText('member.invite_email').first().waitFor();
    expect(await audit.getByText('api_key.create').count()).toBe(0);
    expect(await page.getByRole('textbox', { name: 'Action' }).inputValue()).toBe('member.invite_email');
    await screenshot(page, 'settings-audit');
    await page.goto(`${base}/settings/rate-limits`);
    await page
      .getByText(/requests per minute/i)
      .first()
      .waitFor();
    expect(errors).toEqual([]);
    await page.context().close();

    // The platform admin belongs to two tenants: the switcher changes what the pages show.
    const a = await t.request('POST', '/api/v1/admin/users', {
      token: await t.adminToken(),
      body: { email: 'multi@loupe.test', password: 'Multi-Password-1', tenant_id: owner.tenantId, role: 'admin' },
    });
    expect(a.status).toBe(201);
    const other = await t.request('POST', '/api/v1/admin/tenants', { token: await t.adminToken(), body: { name: 'Second Shop' } });
    const m = await t.request('POST', '/api/v1/members', {
      token: owner.ownerToken,
      headers: { 'x-tenant-id': owner.tenantId },
      body: { email: 'multi@loupe.test', role: 'viewer' },
    });
    expect(m.status).toBe(201);
    const adminTok = await t.adminToken();
    const m2 = await t.request('POST', '/api/v1/admin/users', {
      token: adminTok,
      body: { email: 'owner2@second.test', password: 'Owner-Password-2', tenant_id: other.body.id, role: 'owner' },
    });
    expect(m2.status).toBe(201);
    const login2 = await t.request('POST', '/api/v1/auth/login', { body: { email: 'owner2@second.test', password: 'Owner-Password-2' } });
    const add2 = await t.request('POST', '/api/v1/members', {
      token: login2.body.access_token,
      body: { email: 'multi@loupe.test', role: 'analyst' },
    });
    expect(add2.status).toBe(201);
    expect(add2.body.status).toBe('invited'); // an existing account joins only once it accepts
    const w = await openSignedInPage(browser, base, 'multi@loupe.test', 'Multi-Password-1');
    const invitations = w.page.getByTestId('invitations');
    await invitations.getByText('Invitation to Second Shop').waitFor();
    await screenshot(w.page, 'invitation-pending');
    await w.page.getByRole('button', { name: 'Accept the invitation to Second Shop' }).click();
    await invitations.waitFor({ state: 'detached' });
    const switcher = w.page.getByTestId('tenant-switcher');
    await switcher.click();
    await w.page.getByRole('option', { name: /Second Shop/ }).click();
    await w.page.getByRole('heading', { name: 'Second Shop' }).waitFor();
    await w.page.reload();
    await w.page.getByRole('heading', { name: 'Second Shop' }).waitFor();
    expect(w.errors).toEqual([]);
    await w.page.context().close();
  });

  it('removes a member, handing the API keys they created to another member', async () => {
    const added = await t.request('POST', '/api/v1/members', {
      token: owner.ownerToken,
      body: { email: 'leaver@acme.test', role: 'admin', password: 'Leaver-Password-1' },
    });
    expect(added.status).toBe(201);
    const leaver = await t.request('POST', '/api/v1/auth/login', { body: { email: 'leaver@acme.test', password: 'Leaver-Password-1' } });
    const key = await t.request('POST', '/api/v1/api-keys', {
      token: leaver.body.access_token,
      body: { name: 'Leaver feed', scopes: ['catalog:read'] },
    });
    expect(key.status).toBe(201);
    const { page, errors } = await ownerPage('/settings/api-keys');
    await page
      .getByTestId('api-keys-table')
      .getByRole('row', { name: /Leaver feed/ })
      .getByText('leaver@acme.test')
      .waitFor();
    await page.goto(`${base}/settings/members`);
    await page.getByRole('button', { name: 'Remove leaver@acme.test' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove leaver@acme.test?' });
    await dialog.waitFor();
    await dialog.getByLabel('Their API keys').click();
    await page.getByRole('option', { name: `Hand them to ${owner.ownerEmail}` }).click();
    await screenshot(page, 'settings-member-remove');
    await dialog.getByRole('button', { name: 'Remove member' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'leaver@acme.test', exact: true }).waitFor({ state: 'detached' });
    // The key keeps working, now in the owner's name.
    expect((await t.request('GET', '/api/v1/tenant', { token: key.body.api_key })).status).toBe(200);
    await page.goto(`${base}/settings/api-keys`);
    await page
      .getByTestId('api-keys-table')
      .getByRole('row', { name: /Leaver feed/ })
      .getByText(owner.ownerEmail)
      .waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lets the platform admin create a tenant and a user', async () => {
    const { page, errors } = await openSignedInPage(browser, base, ADMIN.email, ADMIN.password);
    await page.getByRole('link', { name: 'Platform admin' }).click();
    await page.getByLabel('New tenant name').fill('Gamma Goods');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByTestId('tenants-table').getByText('Gamma Goods').waitFor();
    await screenshot(page, 'admin-tenants');
    await page.goto(`${base}/admin/tenants?q=gamma`);
    await page.getByTestId('tenants-table').getByText('Gamma Goods').waitFor();
    expect(await page.getByTestId('tenants-table').getByText('Acme Store').count()).toBe(0);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByLabel('E-mail').fill('new.person@gamma.test');
    await page.getByLabel(/^Password/).fill('Person-Password-1');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('cell', { name: 'new.person@gamma.test' }).waitFor();
    await screenshot(page, 'admin-users');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  const PAGES: { path: string; name: string; heading: string; feature?: RegExp }[] = [
    { path: '/', name: 'home', heading: 'Acme Store' },
    { path: '/catalog', name: 'catalog', heading: 'Catalog' },
    { path: '/catalog/categories', name: 'catalog-categories', heading: 'Catalog' },
    { path: '/import', name: 'import', heading: 'Import' },
    { path: '/customers', name: 'customers', heading: 'Customers' },
    { path: '/customers/review', name: 'customers-review', heading: 'Customers' },
    { path: '/recommendations', name: 'recommendations', heading: 'Recommendations' },
    { path: '/integrations', name: 'integrations', heading: 'Integrations' },
    { path: '/settings/api-keys', name: 'settings', heading: 'Settings' },
  ];
  // One signed-in page walks them all (a context and a sign-in per page was most of each page's time); each page's
  // checks are the same as when each was its own test, and a failure names the page.
  it(`renders ${PAGES.map((p) => p.path).join(', ')} without console errors`, async () => {
    const { page, errors, serverErrors } = await ownerPage('/');
    for (const p of PAGES) {
      await page.goto(`${base}${p.path}`);
      await page.getByRole('heading', { name: p.heading, level: 2 }).waitFor();
      // Wait until no loading indicator is left: the page settled on data, an empty state or an error.
      // (the toasts' live region is a permanent role="status" container: not a loading indicator)
      await page.waitForFunction(() => !document.querySelector('[role="status"]:not([data-testid="toasts"])'), undefined, {
        timeout: 15_000,
      });
      // No error on any page; the one expected alert is Integrations' warning that stores cannot reach a loopback address.
      expect(await page.locator('[role="alert"]:not([data-testid="public-url-warning"])').count(), p.path).toBe(0);
      if (p.path === '/integrations') await page.getByTestId('public-url-warning').waitFor();
      await screenshot(page, `page-${p.name}`);
      expect(errors, p.path).toEqual([]);
      expect(serverErrors, p.path).toEqual([]);
    }
    await page.context().close();
  }, 180_000);

  it('works on a phone-sized screen with the navigation behind a menu button', async () => {
    const { page, errors } = await ownerPage('/', { width: 390, height: 844 });
    await page.getByRole('button', { name: 'Open navigation' }).waitFor();
    const nav = page.getByRole('link', { name: 'Customers' });
    // The collapsed navigation is moved off-screen.
    const off = await nav.boundingBox();
    expect(off === null || off.x + off.width <= 0).toBe(true);
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await nav.click();
    await page.getByRole('heading', { name: 'Customers', level: 2 }).waitFor();
    await page.goto(`${base}/`);
    await page.getByTestId('kpis').waitFor();
    await screenshot(page, 'phone-home');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('previews, maps and uploads a CSV, then shows the import finishing', async () => {
    const { page, errors } = await ownerPage('/import?kind=items');
    const csv =
      'sku;title;price;category\nA-1;Brass lamp;49.90;Lighting\nA-2;"Oak desk; large";399;Furniture\nA-3;Bad price;abc;Furniture\n';
    await page.getByLabel('File to import').setInputFiles({ name: 'items.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const preview = page.getByTestId('import-preview');
    await preview.getByText('Oak desk; large').waitFor();
    expect(await preview.locator('tbody tr').count()).toBe(3);
    // Map the columns whose names Loupe does not know.
    await page.getByRole('textbox', { name: 'Loupe field for column sku' }).click();
    await page.getByRole('option', { name: 'item_id', exact: true }).click();
    await page.getByRole('textbox', { name: 'Loupe field for column title' }).click();
    await page.getByRole('option', { name: 'name', exact: true }).click();
    await screenshot(page, 'import-preview');
    await page.getByRole('button', { name: 'Upload items.csv' }).click();
    if (await hasRoute('POST', '/api/v1/upload/items')) {
      const done = page.locator(
        '[data-testid="import-result"], [data-testid="import-progress"][data-status="succeeded"], [data-testid="import-progress"][data-status="completed"]',
      );
      await done.first().waitFor({ timeout: 30_000 });
      await page.getByText(/Accepted: 2/).waitFor();
      await page.getByText(/Rejected: 1/).waitFor();
    } else {
      await page.getByText('File imports are not set up yet').waitFor();
      console.warn('[browser tests] /api/v1/upload/items is not on this server yet: checked the empty state instead of a finished import.');
    }
    await screenshot(page, 'import-done');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('saves a column mapping under a name and picks it for the next file of another layout', async () => {
    const { page, errors, serverErrors } = await ownerPage('/import?kind=items');
    const field = (column: string) => page.getByRole('textbox', { name: `Loupe field for column ${column}` });
    const choose = async (column: string, option: string) => {
      await field(column).click();
      await page.getByRole('option', { name: option, exact: true }).click();
      await expect.poll(() => field(column).inputValue()).toBe(option);
    };
    const sheet = Buffer.from('Artikel;Bezeichnung;Preis\nS-1;Lampe;12.50\n');
    await page.getByLabel('File to import').setInputFiles({ name: 'supplier.csv', mimeType: 'text/csv', buffer: sheet });
    await expect.poll(() => field('Artikel').inputValue(), { timeout: 20_000 }).toBe('keep as attribute');
    await choose('Artikel', 'item_id');
    await choose('Bezeichnung', 'name');
    await choose('Preis', 'price');
    await page.getByLabel('Save this mapping as').fill('Supplier feed');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await expect.poll(() => page.getByRole('textbox', { name: 'Saved mapping' }).inputValue(), { timeout: 20_000 }).toBe('Supplier feed');
    // The same name again is refused next to the field, in words.
    await page.getByLabel('Save this mapping as').fill('Supplier feed');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page
      .getByText(/exists already/)
      .first()
      .waitFor({ timeout: 20_000 });

    // Next week's file has the columns in another order (a layout never imported): it starts from the defaults, and
    // picking the saved mapping maps it.
    await page.goto(`${base}/import?kind=items`);
    const next = Buffer.from('Preis;Artikel;Bezeichnung\n9.00;S-2;Tisch\n');
    await page.getByLabel('File to import').setInputFiles({ name: 'supplier-2.csv', mimeType: 'text/csv', buffer: next });
    await expect.poll(() => field('Artikel').inputValue(), { timeout: 20_000 }).toBe('keep as attribute');
    await page.getByRole('textbox', { name: 'Saved mapping' }).click();
    await page.getByRole('option', { name: 'Supplier feed' }).click();
    await expect.poll(() => field('Artikel').inputValue(), { timeout: 20_000 }).toBe('item_id');
    expect(await field('Bezeichnung').inputValue()).toBe('name');
    expect(await field('Preis').inputValue()).toBe('price');
    await screenshot(page, 'import-saved-mapping-picked');
    await page.getByRole('button', { name: 'Upload supplier-2.csv' }).click();
    const done = page.locator('[data-testid="import-progress"][data-outcome="complete"]');
    await done.waitFor({ timeout: 30_000 });
    await done.getByText('Accepted: 1').waitFor();
    expect((await t.request('GET', '/api/v1/items/S-2', { token: owner.ownerToken })).body).toMatchObject({ name: 'Tisch' });
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();
  });

  it('finds a customer by e-mail and opens the profile', async () => {
    const key = await owner.apiKey(['interactions:write', 'catalog:write']);
    const ev = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: {
        user_id: 'cust-42',
        item_id: 'A-1',
        interaction_type: 'purchase',
        identifiers: { email: 'jane@example.com' },
        metadata: { price: 49.9, order_id: 'o-1' },
      },
    });
    expect([200, 201, 202]).toContain(ev.status);
    const { page, errors } = await ownerPage('/customers');
    if (await hasRoute('GET', '/api/v1/profiles')) {
      await page.getByLabel('Find a customer').fill('jane@example.com');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/q=jane%40example\.com/);
      const table = page.getByTestId('profiles-table');
      await table.locator('tbody tr').first().waitFor({ timeout: 15_000 });
      await table.locator('tbody tr a').first().click();
      await page.getByTestId('identifiers').getByText('jane@example.com').waitFor();
      await screenshot(page, 'customer-profile');
    } else {
      await page.getByText('Customer profiles are not set up yet').waitFor();
      console.warn('[browser tests] /api/v1/profiles is not on this server yet: checked the empty state instead of a profile.');
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it.skipIf(!SHOPIFY_ORDER)('connects Shopify, shows the webhook URL and secret once, and lists a signed delivery', async () => {
    const { page, errors } = await ownerPage('/integrations');
    await page.getByLabel('Shop domain').fill('acme-store.myshopify.com');
    await page.getByLabel('Signing secret').fill('shpss_browser_test_secret_123');
    await page.getByRole('button', { name: 'Create connection' }).click();
    const url = (await page.getByTestId('webhook-url').textContent())!.trim();
    expect(url).toMatch(/\/api\/v1\/webhooks\/shopify\/[0-9a-f-]{36}$/);
    expect((await page.getByTestId('webhook-secret').textContent())!.trim()).toBe('shpss_browser_test_secret_123');
    await screenshot(page, 'integrations-created');
    await page.getByRole('button', { name: 'Done' }).click();
    await page
      .getByTestId('integrations-table')
      .getByText('acme-store', { exact: false })
      .or(page.getByTestId('integrations-table').getByText('Shopify'))
      .first()
      .waitFor();
    expect(await page.content()).not.toContain('shpss_browser_test_secret_123');

    // The vendor sends an order, signed with the secret, to the URL the page showed.
    const body = fs.readFileSync(SHOPIFY_ORDER!);
    const hmac = createHmac('sha256', 'shpss_browser_test_secret_123').update(body).digest('base64');
    const res = await fetch(url.replace(/^https?:\/\/[^/]+/, base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-hmac-sha256': hmac,
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': 'wh-browser-1',
        'x-shopify-shop-domain': 'acme-store.myshopify.com',
      },
      body,
    });
    expect(res.status).toBe(200);
    await page
      .getByRole('button', { name: /^Deliveries of/ })
      .first()
      .click();
    await page.waitForURL(/connection=/);
    await page.getByTestId('deliveries-table').getByText('orders/create').waitFor();
    await page
      .getByTestId('deliveries-table')
      .getByText(/processed/)
      .waitFor();
    await screenshot(page, 'integrations-deliveries');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('trains a model with live progress, then shows it in service and recommends', async () => {
    if (await hasRoute('POST', '/api/v1/train')) {
      // A small shop: 8 items, 24 customers who viewed and bought some of them.
      const key = await owner.apiKey(['interactions:write', 'catalog:write']);
      const items = Array.from({ length: 8 }, (_, i) => ({
        item_id: `P-${i}`,
        name: `Product ${i}`,
        category: i < 4 ? 'Lamps' : 'Desks',
        price: 10 + i,
      }));
      expect((await t.request('POST', '/api/v1/items/bulk', { token: key, body: items })).status).toBeLessThan(300);
      const events = [];
      for (let u = 0; u < 24; u++) {
        for (let k = 0; k < 4; k++)
          events.push({
            user_id: `u-${u}`,
            item_id: `P-${(u + k * (1 + (u % 3))) % 8}`,
            interaction_type: k === 0 ? 'purchase' : 'view',
            timestamp: new Date(Date.now() - (u * 4 + k) * 60_000).toISOString(),
          });
      }
      expect((await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } })).status).toBeLessThan(300);
    }
    const { page, errors } = await ownerPage('/recommendations');
    await page.getByRole('button', { name: 'Start training' }).click();
    // "Deploy when done" is on: the page says what deploying means and asks first ("Train and deploy", or "Train and
    // start the N % canary" when an earlier test's import already retrained a live version).
    await page
      .getByRole('dialog')
      .getByRole('button', { name: /^Train and (deploy|start the \d+ % canary)$/ })
      .click();
    if (await hasRoute('POST', '/api/v1/train')) {
      await page.waitForURL(/job=/);
      const progress = page.getByTestId('training-progress');
      await progress.waitFor();
      await page.locator('[data-testid="training-progress"][data-status="completed"]').waitFor({ timeout: 90_000 });
      await page.getByTestId('final-metrics').waitFor();
      await page.getByTestId('versions-table').getByText('live', { exact: true }).waitFor({ timeout: 15_000 });
      await screenshot(page, 'recommendations-trained');
      await page.getByLabel('Recommendations for user').fill('u-3');
      await page.getByRole('button', { name: 'Recommend' }).click();
      await page.waitForURL(/user=u-3/);
      const recs = page.getByTestId('recs-table');
      await recs.waitFor({ timeout: 15_000 });
      expect(await recs.locator('tbody tr').count()).toBeGreaterThan(0);
      await page.getByLabel('Items similar to').fill('P-1');
      await page.getByRole('button', { name: 'Find similar' }).click();
      await page
        .getByTestId('similar-table')
        .or(page.getByText('No recommendation for this one yet.'))
        .first()
        .waitFor({ timeout: 15_000 });
      await screenshot(page, 'recommendations-try-it');
      // Home now names the model in service.
      await page.getByRole('link', { name: 'Home' }).click();
      await page
        .getByText(/deployed/)
        .first()
        .waitFor();
      await screenshot(page, 'home-with-model');
    } else {
      await page.getByText('Recommendations are not set up yet').first().waitFor();
      console.warn('[browser tests] /api/v1/train is not on this server yet: checked the empty state instead of a trained model.');
    }
    expect(errors).toEqual([]);
    await page.context().close();
  }, 180_000);
});
