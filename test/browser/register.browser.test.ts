import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkToken, startSmtpServer } from '../fakes/smtp-server.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Issue 22, M12: with LOUPE_REGISTRATION=open a visitor signs up from the sign-in page, is told to check their
 * e-mail, and the e-mailed link creates the account and its store and signs them in. A spent link says so.
 */
describe.skipIf(!HAS_CHROMIUM)('verified sign-up in chromium', () => {
  let server: DashboardServer;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startDashboardServer({ env: { LOUPE_SMTP_URL: smtp.url, LOUPE_REGISTRATION: 'open' } });
    ({ t, base, browser } = server);
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('sign up, check your e-mail, follow the link, land in the new store; the link works once', async () => {
    const { page, errors, serverErrors } = await openPage(browser);
    await page.goto(`${base}/sign-in`);
    await page.getByRole('link', { name: 'New here? Create an account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.getByLabel('E-mail').fill('founder@signup.test');
    await page.getByLabel('Store name').fill('Founder Goods');
    await page.getByLabel('Choose a password').fill('copper-meadow-falcon-28');
    await page.getByLabel('Repeat the password').fill('copper-meadow-falcon-28');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    await screenshot(page, 'register-check-email');
    expect(
      await t.request('POST', '/api/v1/auth/login', { body: { email: 'founder@signup.test', password: 'copper-meadow-falcon-28' } }),
    ).toMatchObject({ status: 401 });

    const [mail] = await pollUntil(
      'the sign-up e-mail',
      async () => smtp.to('founder@signup.test'),
      (l) => l.length > 0,
    );
    const token = linkToken(mail!);
    await page.goto(`${base}/verify-registration#token=${token}`);
    await page.waitForURL(`${base}/`);
    await page.getByText('Founder Goods').first().waitFor();
    expect(errors).toEqual([]);
    expect(serverErrors).toEqual([]);
    await page.context().close();

    const again = await openPage(browser);
    await again.page.goto(`${base}/verify-registration#token=${token}`);
    await again.page.getByRole('heading', { name: 'This sign-up link cannot be used' }).waitFor();
    await again.page.getByText('This link was already used').waitFor();
    await again.page.context().close();
  });
});
