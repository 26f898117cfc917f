import net from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalOidcProvider, startLocalOidcProvider } from '../fakes/oidc.fake.ts';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openPage, screenshot, signIn, startDashboardServer, type DashboardServer } from './harness.ts';

/** A free loopback port: the redirect URI registered at the provider must name the dashboard's address before it starts. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Issue 20: single sign-on with OpenID Connect. The owner adds the store's provider in Settings → Single sign-on and
 * tests the connection; an invited teammate signs in through the local provider (oidc-provider) from the
 * "Sign in with …" button, with real redirects in chromium.
 */
describe.skipIf(!HAS_CHROMIUM)('single sign-on in chromium', () => {
  let server: DashboardServer;
  let idp: LocalOidcProvider;
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startLocalOidcProvider({ redirectUris: [`${base}/sso/callback`] });
    server = await startDashboardServer({ env: { PUBLIC_URL: base }, port });
    ({ t, browser } = server);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it('the owner configures and tests a provider; an invited teammate signs in with it', async () => {
    const owner = await t.createTenant('Acme Lamps');
    const slug = (await t.request('GET', `/api/v1/admin/tenants/${owner.tenantId}`, { token: await t.adminToken() })).body.slug as string;
    const { page, errors, serverErrors } = await openPage(browser);
    await signIn(page, base, owner.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/settings/sso`);
    await page.getByText('No identity provider yet').waitFor();
    await expect(page.getByTestId('sso-redirect-uri').textContent()).resolves.toBe(`${base}/sso/callback`);
    await page.getByRole('button', { name: 'Add a provider' }).click();
    await page.getByLabel('Name on the sign-in button').fill('Acme Login');
    await page.getByLabel('Issuer URL').fill('http://example.com');
    await page.getByLabel('Client ID').fill(idp.clientId);
    await page.getByLabel('Client secret').fill(idp.clientSecret);
    await page.getByLabel('Allowed e-mail domains').fill('acme.test');
    await page.getByRole('button', { name: 'Save provider' }).click();
    // The error is next to the field, in plain words; fixing it saves.
    await page.getByText('must use https').waitFor();
    await page.getByLabel('Issuer URL').fill(idp.issuer);
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByTestId('sso-providers').getByText('Acme Login').waitFor();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('sso-test-result').getByText(`Connected: ${idp.issuer} (PKCE supported)`).waitFor();
    await screenshot(page, 'settings-sso');
    const inv = await t.request('POST', '/api/v1/members/invitations', {
      token: owner.ownerToken,
      body: { email: 'jo@acme.test', role: 'analyst' },
    });
    expect(inv.status).toBeLessThan(300);
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();

    idp.signInAs('jo-at-acme', { email: 'jo@acme.test', email_verified: true, name: 'Jo' });
    const jo = await openPage(browser);
    await jo.page.goto(`${base}/sign-in?store=${slug}`);
    await jo.page.getByRole('button', { name: 'Sign in with Acme Login' }).click();
    await jo.page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 30_000 });
    expect(new URL(jo.page.url()).pathname).not.toBe('/sso/callback');
    await screenshot(jo.page, 'sso-signed-in');
    const session = await t.request('POST', '/api/v1/auth/login', { body: { email: 'jo@acme.test', password: 'x' } });
    expect(session.status).toBe(401); // an SSO account has no password anyone knows
    expect(jo.errors).toEqual([]);
    expect(jo.serverErrors).toEqual([]);
    await jo.page.context().close();
  }, 240_000);

  it('a callback with a forged state shows a plain error and a way back', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/sso/callback?code=abc&state=forged`);
    await page.getByText('Single sign-on did not complete').waitFor();
    await page.getByText('This sign-in attempt is not valid any more').waitFor();
    await page.getByRole('link', { name: 'Back to sign-in' }).waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
