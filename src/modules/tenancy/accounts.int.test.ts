import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, linkToken } from '../../../test/fakes/smtp-server.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { INVITATION_RESEND_COOLDOWN_MS, INVITATION_TTL_MS, RESET_TTL_MS } from './accounts.core.ts';

// Members invited by e-mail link and password reset, with the real e-mails read from a local SMTP server.
const PUBLIC_URL = 'https://loupe.example.com';
const STRONG = 'violet-harbour-tractor-91';
let now = new Date();
let t: TestApp;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let a: Awaited<ReturnType<TestApp['createTenant']>>;
let b: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp(
    { LOUPE_SMTP_URL: smtp.url, LOUPE_MAIL_FROM: 'Loupe <mail@loupe.example.com>', PUBLIC_URL },
    { clock: () => now },
  );
  a = await t.createTenant('Alpha Store');
  b = await t.createTenant('Beta Store');
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const invite = (token: string, email: string, role = 'analyst') =>
  t.request('POST', '/api/v1/members/invitations', { token, body: { email, role } });
const lookup = (token: string) => t.request('POST', '/api/v1/auth/invitation-links/lookup', { body: { token } });
const accept = (token: string, password: string, name?: string) =>
  t.request('POST', '/api/v1/auth/invitation-links/accept', { body: { token, password, ...(name ? { name } : {}) } });
const lastMailTo = (address: string) => {
  const all = smtp.to(address);
  return all[all.length - 1]!;
};

describe('members invited by e-mail link', () => {
  it('an address with no account gets the e-mail, sets a password (policy applies) and joins with the role; the link works once', async () => {
    const r = await invite(a.ownerToken, 'New.Person@Example.com');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      delivery: 'sent',
      link: null,
      invitation: { email: 'new.person@example.com', role: 'analyst', sent_count: 1 },
    });
    const mail = lastMailTo('new.person@example.com');
    expect(mail.subject).toBe('Join Alpha Store on Loupe');
    expect(mail.raw).toContain('mail@loupe.example.com');
    expect(mail.text).toContain(`${PUBLIC_URL}/accept-invite#token=inv_`);
    const token = linkToken(mail);

    const p = await lookup(token);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ tenant_name: 'Alpha Store', email: 'new.person@example.com', role: 'analyst', account_exists: false });

    const weak = await accept(token, 'password1');
    expect(weak.status).toBe(400);
    expect(JSON.stringify(weak.body)).toContain('too weak');

    const ok = await accept(token, STRONG, 'New Person');
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ email: 'new.person@example.com', tenant_id: a.tenantId, role: 'analyst' });
    const who = await t.request('GET', '/api/v1/whoami', { token: ok.body.access_token });
    expect(who.body).toMatchObject({ tenant_id: a.tenantId, role: 'analyst' });

    const again = await accept(token, STRONG);
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('INVITATION_TOKEN_USED');
    expect((await lookup(token)).body.error.code).toBe('INVITATION_TOKEN_USED');
    const list = await t.request('GET', '/api/v1/members/invitations', { token: a.ownerToken });
    expect(list.body.data.map((i: { email: string }) => i.email)).not.toContain('new.person@example.com');
    // Inviting an active member is a clear conflict.
    expect((await invite(a.ownerToken, 'new.person@example.com')).body.error.code).toBe('ALREADY_MEMBER');
  });

  it('duplicated and concurrent invitations of one address are one invitation; only the newest link works; resend and withdraw', async () => {
    // Concurrent invitations of one address: one is sent, the others wait for the cooldown (no inbox flood).
    const rs = await Promise.all([1, 2, 3].map(() => invite(a.ownerToken, 'dup@example.com', 'viewer')));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 429, 429]);
    expect(rs.find((r) => r.status === 429)!.body.error.code).toBe('INVITATION_RESEND_TOO_SOON');
    expect(Number(rs.find((r) => r.status === 429)!.headers['retry-after'])).toBeGreaterThan(0);
    const first = smtp.to('dup@example.com').map(linkToken);
    expect(first).toHaveLength(1);
    // After the cooldown, inviting again refreshes the same invitation with a new link (the old one stops working).
    const saved0 = now;
    now = new Date(now.getTime() + INVITATION_RESEND_COOLDOWN_MS);
    const again = await invite(a.ownerToken, 'dup@example.com', 'viewer');
    expect(again.status).toBe(201);
    expect(again.body.invitation.id).toBe(rs.find((r) => r.status === 201)!.body.invitation.id);
    const list = await t.request('GET', '/api/v1/members/invitations', { token: a.ownerToken });
    const mine = list.body.data.filter((i: { email: string }) => i.email === 'dup@example.com');
    expect(mine).toHaveLength(1);
    expect(mine[0].sent_count).toBe(2);
    expect(list.body.email_configured).toBe(true);
    const tokens = smtp.to('dup@example.com').map(linkToken);
    expect(tokens).toHaveLength(2);
    const working = await Promise.all(tokens.map(async (tk) => (await lookup(tk)).status));
    expect(working).toEqual([404, 200]);

    const id = mine[0].id as string;
    const resend = () => t.request('POST', `/api/v1/members/invitations/${id}/resend`, { token: a.ownerToken });
    // Just sent: a resend waits for the cooldown (429, Retry-After), and replaces no link meanwhile.
    const tooSoon = await resend();
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body.error.code).toBe('INVITATION_RESEND_TOO_SOON');
    expect(Number(tooSoon.headers['retry-after'])).toBe(INVITATION_RESEND_COOLDOWN_MS / 1000);
    expect(smtp.to('dup@example.com')).toHaveLength(2);
    const saved = now;
    now = new Date(now.getTime() + INVITATION_RESEND_COOLDOWN_MS);
    let fresh: string;
    try {
      // Concurrent resends after the cooldown: exactly one sends a new link.
      const rs = await Promise.all([resend(), resend(), resend()]);
      expect(rs.map((r) => r.status).sort()).toEqual([200, 429, 429]);
      expect(rs.find((r) => r.status === 200)!.body.invitation.sent_count).toBe(3);
      expect(smtp.to('dup@example.com')).toHaveLength(3);
      expect((await resend()).status).toBe(429);
      fresh = linkToken(lastMailTo('dup@example.com'));
    } finally {
      now = saved;
    }
    for (const old of tokens) expect((await lookup(old)).body.error.code).toBe('INVITATION_TOKEN_INVALID');
    expect((await lookup(fresh)).status).toBe(200);

    expect((await t.request('DELETE', `/api/v1/members/invitations/${id}`, { token: a.ownerToken })).status).toBe(204);
    const gone = await accept(fresh, STRONG);
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('INVITATION_TOKEN_WITHDRAWN');
    expect((await t.request('DELETE', `/api/v1/members/invitations/${id}`, { token: a.ownerToken })).status).toBe(404);
    now = saved0;
  });

  it('an expired link is a clear error; resending revives the invitation', async () => {
    const r = await invite(a.ownerToken, 'late@example.com');
    const token = linkToken(lastMailTo('late@example.com'));
    const saved = now;
    now = new Date(now.getTime() + INVITATION_TTL_MS + 1000);
    try {
      const expired = await accept(token, STRONG);
      expect(expired.status).toBe(410);
      expect(expired.body.error.code).toBe('INVITATION_TOKEN_EXPIRED');
      const list = await t.request('GET', '/api/v1/members/invitations', { token: a.ownerToken });
      expect(list.body.data.find((i: { id: string }) => i.id === r.body.invitation.id).expired).toBe(true);
    } finally {
      now = new Date(saved.getTime() + INVITATION_RESEND_COOLDOWN_MS); // (resending needs a recent sign-in: step-up)
    }
    expect((await t.request('POST', `/api/v1/members/invitations/${r.body.invitation.id}/resend`, { token: a.ownerToken })).status).toBe(
      200,
    );
    expect((await accept(linkToken(lastMailTo('late@example.com')), STRONG)).status).toBe(200);
    now = saved;
  });

  it('an existing account accepts with its own password, never by setting a new one', async () => {
    await invite(b.ownerToken, a.ownerEmail, 'admin');
    const token = linkToken(lastMailTo(a.ownerEmail));
    expect((await lookup(token)).body).toMatchObject({ tenant_name: 'Beta Store', account_exists: true, role: 'admin' });
    const wrong = await accept(token, STRONG);
    expect(wrong.status).toBe(401);
    expect((await accept(token, 'Owner-Password-1')).status).toBe(200);
    const members = await t.request('GET', '/api/v1/members', { token: b.ownerToken });
    expect(members.body.data.find((m: { email: string }) => m.email === a.ownerEmail)).toMatchObject({
      role: 'admin',
      membership_status: 'active',
    });
  });

  it('wrong passwords entered through an invitation link count toward the sign-in lockout of that account and address', async () => {
    const c = await t.createTenant('Gamma Store');
    await invite(a.ownerToken, c.ownerEmail);
    const token = linkToken(lastMailTo(c.ownerEmail));
    for (let i = 0; i < 5; i++) expect((await accept(token, `wrong-password-${i}`)).status).toBe(401);
    const locked = await accept(token, 'Owner-Password-1');
    expect(locked.status).toBe(423);
    expect(locked.body.error.code).toBe('ACCOUNT_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // The same lock as sign-in: password sign-in from this address is paused too.
    const login = await t.request('POST', '/api/v1/auth/login', { body: { email: c.ownerEmail, password: 'Owner-Password-1' } });
    expect(login.status).toBe(423);
    const saved = now;
    now = new Date(now.getTime() + 16 * 60_000);
    try {
      expect((await accept(token, 'Owner-Password-1')).status).toBe(200);
    } finally {
      now = saved;
    }
  });

  it('a refused resend replaces no link: an admin cannot resend an owner invitation, and its link keeps working', async () => {
    await invite(a.ownerToken, 'helper-admin@example.com', 'admin');
    const admin = (await accept(linkToken(lastMailTo('helper-admin@example.com')), STRONG)).body.access_token as string;
    const r = await invite(a.ownerToken, 'co-owner@example.com', 'owner');
    const link = linkToken(lastMailTo('co-owner@example.com'));
    const saved = now;
    now = new Date(now.getTime() + INVITATION_RESEND_COOLDOWN_MS);
    try {
      const refused = await t.request('POST', `/api/v1/members/invitations/${r.body.invitation.id}/resend`, { token: admin });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('OWNER_REQUIRED');
      expect((await lookup(link)).status).toBe(200);
    } finally {
      now = saved;
    }
  });

  it('two racing accepts of one link: exactly one joins', async () => {
    await invite(a.ownerToken, 'race@example.com');
    const token = linkToken(lastMailTo('race@example.com'));
    const rs = await Promise.all([accept(token, STRONG), accept(token, STRONG), accept(token, STRONG)]);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of rs.filter((x) => x.status !== 200)) expect([409, 410]).toContain(r.status);
  });

  it("tenant B never sees, resends or withdraws tenant A's invitations", async () => {
    const r = await invite(a.ownerToken, 'private@example.com');
    const id = r.body.invitation.id as string;
    const listB = await t.request('GET', '/api/v1/members/invitations', { token: b.ownerToken });
    expect(listB.body.data.map((i: { id: string }) => i.id)).not.toContain(id);
    expect((await t.request('POST', `/api/v1/members/invitations/${id}/resend`, { token: b.ownerToken })).status).toBe(404);
    expect((await t.request('DELETE', `/api/v1/members/invitations/${id}`, { token: b.ownerToken })).status).toBe(404);
    expect((await lookup(linkToken(lastMailTo('private@example.com')))).status).toBe(200);
    // An analyst of A cannot invite at all.
    const analyst = await accept(linkToken(lastMailTo('private@example.com')), STRONG);
    expect((await invite(analyst.body.access_token, 'x@example.com')).status).toBe(403);
  });

  it('malformed, oversized and hostile input is refused cleanly', async () => {
    for (const body of [
      { email: 'not-an-email', role: 'analyst' },
      { email: 'a@example.com', role: 'emperor' },
      { email: `${'a'.repeat(300)}@example.com`, role: 'analyst' },
      { email: 'a\u0000@example.com', role: 'analyst' },
      { email: 'a@example.com', role: 'analyst', extra: 1 },
      { email: 1e308, role: 'analyst' },
    ]) {
      const r = await t.request('POST', '/api/v1/members/invitations', { token: a.ownerToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    for (const token of ['inv_\u0000', `inv_${'x'.repeat(43)}\ud800`, 'x'.repeat(5000), 'inv_' + 'A'.repeat(43), '']) {
      const r = await lookup(token);
      expect([400, 404]).toContain(r.status);
      const s = await accept(token, STRONG);
      expect([400, 404]).toContain(s.status);
    }
    let deep: unknown = 'x';
    for (let i = 0; i < 500; i++) deep = { token: deep };
    expect((await t.request('POST', '/api/v1/auth/invitation-links/lookup', { body: deep })).status).toBe(400);
    expect((await t.request('POST', '/api/v1/members/invitations/not-a-uuid/resend', { token: a.ownerToken })).status).toBe(404);
  });
});

describe('password reset', () => {
  let email: string;
  beforeAll(async () => {
    email = a.ownerEmail;
  });

  it('always 202 with the same body; only a real account gets the e-mail, and at most three an hour', async () => {
    const before = smtp.messages.length;
    const unknown = await t.request('POST', '/api/v1/auth/password-reset', { body: { email: 'nobody@example.com' } });
    const known = await t.request('POST', '/api/v1/auth/password-reset', { body: { email: email.toUpperCase() } });
    expect([unknown.status, known.status]).toEqual([202, 202]);
    expect(unknown.body).toEqual(known.body);
    await pollUntil(
      'the reset e-mail',
      async () => smtp.to(email).filter((m) => m.subject === 'Reset your Loupe password').length,
      (n) => n >= 1,
    );
    expect(smtp.to('nobody@example.com')).toHaveLength(0);
    for (let i = 0; i < 4; i++) await t.request('POST', '/api/v1/auth/password-reset', { body: { email } });
    await pollUntil(
      'all e-mails',
      async () => smtp.messages.length,
      (n) => n >= before + 3,
    );
    // One more round trip so a wrongly sent fourth message would have arrived too.
    await t.request('POST', '/api/v1/auth/password-reset', { body: { email: 'nobody@example.com' } });
    expect(smtp.to(email).filter((m) => m.subject === 'Reset your Loupe password')).toHaveLength(3);
  });

  it('the link sets a new password once, ends every session, and expires after an hour', async () => {
    const mails = smtp.to(email).filter((m) => m.subject === 'Reset your Loupe password');
    const token = linkToken(mails[mails.length - 1]!);
    expect(mails[0]!.text).toContain(`${PUBLIC_URL}/reset-password#token=pwr_`);
    const session = await t.request('POST', '/api/v1/auth/login', { body: { email, password: 'Owner-Password-1' } });

    const weak = await t.request('POST', '/api/v1/auth/password-reset/confirm', { body: { token, password: 'qwertyuiop' } });
    expect(weak.status).toBe(400);
    const newPassword = 'copper-lantern-meadow-42';
    const ok = await t.request('POST', '/api/v1/auth/password-reset/confirm', { body: { token, password: newPassword } });
    expect(ok.status).toBe(204);
    expect((await t.request('GET', '/api/v1/auth/session', { token: session.body.access_token })).status).toBe(401);
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: session.body.refresh_token } })).status).toBe(401);
    expect((await t.request('POST', '/api/v1/auth/login', { body: { email, password: 'Owner-Password-1' } })).status).toBe(401);
    expect((await t.request('POST', '/api/v1/auth/login', { body: { email, password: newPassword } })).status).toBe(200);

    const reused = await t.request('POST', '/api/v1/auth/password-reset/confirm', { body: { token, password: STRONG } });
    expect(reused.status).toBe(410);
    expect(reused.body.error.code).toBe('RESET_TOKEN_USED');
    // The other links sent before the reset stopped working with it.
    const earlier = await t.request('POST', '/api/v1/auth/password-reset/confirm', {
      body: { token: linkToken(mails[0]!), password: STRONG },
    });
    expect(earlier.status).toBe(410);

    const link = await t.request('POST', `/api/v1/admin/users/${session.body.user.id}/password-reset-link`, {
      token: await t.adminToken(),
    });
    expect(link.status).toBe(201);
    now = new Date(now.getTime() + RESET_TTL_MS + 1000);
    const expired = await t.request('POST', '/api/v1/auth/password-reset/confirm', {
      body: { token: decodeURIComponent(link.body.link.split('#token=')[1]), password: STRONG },
    });
    expect(expired.body.error.code).toBe('RESET_TOKEN_EXPIRED');
  });

  it('two racing confirms of one link: exactly one wins; hostile input never reaches a 500', async () => {
    const admin = await t.adminToken();
    const racer = await t.request('POST', '/api/v1/admin/users', { token: admin, body: { email: 'racer@example.com', password: STRONG } });
    const link = await t.request('POST', `/api/v1/admin/users/${racer.body.id}/password-reset-link`, { token: admin });
    const token = decodeURIComponent(link.body.link.split('#token=')[1]);
    const rs = await Promise.all(
      [0, 1, 2].map(() =>
        t.request('POST', '/api/v1/auth/password-reset/confirm', { body: { token, password: 'maple-quarry-lantern-66' } }),
      ),
    );
    expect(rs.map((r) => r.status).sort()).toEqual([204, 410, 410]);
    for (const body of [
      { email: 'a\u0000b' },
      { email: '\ud800@example.com' },
      { email: 'x'.repeat(100_000) },
      { email: 1e300 },
      { token: 'pwr_\u0000', password: STRONG },
    ]) {
      const url = 'token' in body ? '/api/v1/auth/password-reset/confirm' : '/api/v1/auth/password-reset';
      const r = await t.request('POST', url, { body });
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBeLessThan(500);
    }
    // A tenant owner cannot make reset links (platform administrators only).
    expect((await t.request('POST', `/api/v1/admin/users/${racer.body.id}/password-reset-link`, { token: b.ownerToken })).status).toBe(403);
  });
});

describe('the platform administrator opening a tenant', () => {
  it("is recorded once in that tenant's audit log (and only there)", async () => {
    const admin = await t.adminToken();
    const c = await t.createTenant('Visited Store');
    for (let i = 0; i < 3; i++) {
      const r = await t.request('GET', '/api/v1/tenant', { token: admin, headers: { 'x-tenant-id': c.tenantId } });
      expect(r.status).toBe(200);
    }
    const entries = await pollUntil(
      'the audit entry',
      async () => (await t.request('GET', '/api/v1/audit/logs?action=platform_admin.open_tenant', { token: c.ownerToken })).body.data,
      (d: unknown[]) => d.length > 0,
    );
    const me = await t.request('GET', '/api/v1/auth/session', { token: admin });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'platform_admin.open_tenant', actor_id: me.body.user.id });
    const other = await t.request('GET', '/api/v1/audit/logs?action=platform_admin.open_tenant', { token: b.ownerToken });
    expect(other.body.data).toHaveLength(0);
  });
});
