import { authenticator } from 'otplib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkToken, startSmtpServer } from '../fakes/smtp-server.ts';
import { pollUntil, type TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, openPage, openSignedInPage, screenshot, startDashboardServer, type DashboardServer } from './harness.ts';

/**
 * Issue 20: a member invited by e-mail link joins by choosing a password, and a forgotten password is reset
 * from the sign-in page; the e-mails are the real ones, read from a local SMTP server.
 */
describe.skipIf(!HAS_CHROMIUM)('invitations by e-mail and password reset in chromium', () => {
  let server: DashboardServer;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  // The server's clock runs with real time plus an offset the TOTP test moves a step ahead (a code works once).
  let offsetMs = 0;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startDashboardServer({ env: { LOUPE_SMTP_URL: smtp.url }, deps: { clock: () => new Date(Date.now() + offsetMs) } });
    ({ t, base, browser } = server);
    owner = await t.createTenant('Lantern Shop');
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const mailTo = (to: string, subject: string) =>
    pollUntil(
      `an e-mail "${subject}" to ${to}`,
      async () => smtp.to(to).filter((m) => m.subject === subject),
      (l) => l.length > 0,
    );

  it('the owner invites an address; the invitee opens the e-mailed link, chooses a password and lands in the store', async () => {
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/settings/members`);
    await page.getByText('No open invitations').waitFor();
    await page.getByLabel('E-mail').fill('new.hire@lantern.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation e-mailed to new.hire@lantern.test').waitFor();
    await page.getByTestId('invitations-table').getByText('new.hire@lantern.test').waitFor();
    await screenshot(page, 'settings-invitations');
    await page.context().close();

    const [mail] = await mailTo('new.hire@lantern.test', 'Join Lantern Shop on Loupe');
    expect(mail!.text).toContain('/accept-invite#token=');
    const token = linkToken(mail!);
    const invitee = await openPage(browser);
    await invitee.page.goto(`${base}/accept-invite#token=${token}`);
    await invitee.page.getByRole('heading', { name: 'Join Lantern Shop' }).waitFor();
    await invitee.page.getByLabel('Choose a password').fill('password');
    await invitee.page.getByLabel('Repeat the password').fill('password');
    await invitee.page.getByRole('button', { name: 'Create account and join' }).click();
    await invitee.page
      .getByRole('alert')
      .getByText(/too weak/)
      .waitFor();
    await invitee.page.getByLabel('Choose a password').fill('amber-orchard-bicycle-17');
    await invitee.page.getByLabel('Repeat the password').fill('amber-orchard-bicycle-17');
    await screenshot(invitee.page, 'accept-invite');
    await invitee.page.getByRole('button', { name: 'Create account and join' }).click();
    await invitee.page.getByRole('button', { name: 'Sign out' }).waitFor();
    const members = await t.request('GET', '/api/v1/members', { token: owner.ownerToken });
    expect(members.body.data.find((m: { email: string }) => m.email === 'new.hire@lantern.test')).toMatchObject({ role: 'analyst' });

    // The same link again: a clear message, not a form.
    const again = await openPage(browser);
    await again.page.goto(`${base}/accept-invite#token=${token}`);
    await again.page.getByText('This link was already used').waitFor();
    for (const w of [invitee, again]) expect([...w.errors, ...w.serverErrors]).toEqual([]);
    expect([...errors, ...serverErrors]).toEqual([]);
    await invitee.page.context().close();
    await again.page.context().close();
  });

  it('a forgotten password is reset from the sign-in page through the e-mailed link', async () => {
    let { page, errors, serverErrors } = await openPage(browser);
    await page.goto(`${base}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('E-mail').fill(owner.ownerEmail);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText('Check your e-mail').waitFor();
    const [mail] = await mailTo(owner.ownerEmail, 'Reset your Loupe password');
    expect([...errors, ...serverErrors]).toEqual([]);
    await page.context().close();
    // The link opens in a new tab, as from a mail client.
    ({ page, errors, serverErrors } = await openPage(browser));
    await page.goto(`${base}/reset-password#token=${linkToken(mail!)}`);
    await page.getByLabel(/^New password/).fill('walnut-signal-harbor-58');
    await page.getByLabel('Repeat the new password').fill('walnut-signal-harbor-58');
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await page.getByText('Your password is changed').waitFor();
    await screenshot(page, 'reset-password-done');
    await page.getByRole('link', { name: 'Sign in with the new password' }).click();
    await page.getByLabel('E-mail').fill(owner.ownerEmail);
    await page.getByLabel('Password').fill('walnut-signal-harbor-58');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect([...errors, ...serverErrors]).toEqual([]);
    await page.context().close();
  });

  it('turns on two-factor sign-in in Settings → Security, then signs in with the code of the app', async () => {
    const o = await t.createTenant('Second Step Shop');
    const codeAt = (secret: string) => authenticator.clone({ epoch: Date.now() + offsetMs }).generate(secret);
    const { page, errors, serverErrors } = await openSignedInPage(browser, base, o.ownerEmail, 'Owner-Password-1');
    await page.goto(`${base}/settings/security`);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    await page.getByLabel('Code from the app').fill(codeAt(secret));
    await screenshot(page, 'settings-security-enrol');
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    const codes = (await page.getByTestId('recovery-codes').textContent())!;
    expect(codes.match(/[a-z2-9]{5}-[a-z2-9]{5}/g)).toHaveLength(10);
    await page.getByText(/10 recovery codes left/).waitFor();
    // A controlled switch: it turns once the server saved the rule.
    await page.getByLabel('Require two-factor sign-in for members').click({ force: true });
    await pollUntil(
      'the store rule saved',
      async () => (await t.request('GET', '/api/v1/tenant', { token: o.ownerToken })).body.settings?.require_2fa,
      (v) => v === true,
    );
    await screenshot(page, 'settings-security-on');
    await page.getByRole('button', { name: 'Sign out' }).click();

    offsetMs += 30_000; // the next time step: the confirming code cannot be replayed
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('E-mail').fill(o.ownerEmail);
    await page.getByLabel('Password').fill('Owner-Password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    await page.getByLabel('Authentication code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page
      .getByRole('alert')
      .getByText(/code is not right/)
      .waitFor();
    await page.getByLabel('Authentication code').fill(codeAt(secret));
    await screenshot(page, 'sign-in-second-step');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect([...errors, ...serverErrors]).toEqual([]);
    await page.context().close();
  });
});
