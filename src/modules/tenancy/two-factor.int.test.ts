import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

// Two-factor sign-in (TOTP) end to end, with a movable clock: codes are made as an authenticator app would.
// Near the real time (access tokens are checked against it), at the start of a 30 s step.
let now = new Date(Math.floor(Date.now() / 30_000) * 30_000 + 1000);
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { clock: () => now });
});
afterAll(async () => t?.close());

const PASSWORD = 'Owner-Password-1';
const codeNow = (secret: string, at = now) => authenticator.clone({ epoch: at.getTime() }).generate(secret);
const nextStep = () => {
  now = new Date(now.getTime() + 30_000);
};
const login = (email: string, password = PASSWORD) => t.request('POST', '/api/v1/auth/login', { body: { email, password } });
const verify = (body: Record<string, unknown>) => t.request('POST', '/api/v1/auth/2fa/verify', { body });

/** Signs in, enrols and confirms; returns the secret, the recovery codes and a token of the tenant's owner. */
async function enrolledOwner(name: string) {
  const o = await t.createTenant(name);
  const e = await t.request('POST', '/api/v1/auth/2fa/enrol', { token: o.ownerToken });
  expect(e.status).toBe(200);
  const c = await t.request('POST', '/api/v1/auth/2fa/confirm', { token: o.ownerToken, body: { code: codeNow(e.body.secret) } });
  expect(c.status).toBe(200);
  nextStep();
  return { ...o, secret: e.body.secret as string, recovery: c.body.recovery_codes as string[] };
}

describe('two-factor sign-in (TOTP)', () => {
  it('enrols with an otpauth URI and QR code, confirms with a first code, and then sign-in takes a second step', async () => {
    const o = await t.createTenant('Totp Store');
    const e = await t.request('POST', '/api/v1/auth/2fa/enrol', { token: o.ownerToken });
    expect(e.body.otpauth_uri).toBe(
      `otpauth://totp/Loupe:${encodeURIComponent(o.ownerEmail)}?secret=${e.body.secret}&period=30&digits=6&algorithm=SHA1&issuer=Loupe`,
    );
    expect(e.body.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    // Until confirmed, sign-in is unchanged.
    expect((await login(o.ownerEmail)).body.access_token).toBeTypeOf('string');
    const wrong = await t.request('POST', '/api/v1/auth/2fa/confirm', { token: o.ownerToken, body: { code: '000000' } });
    expect(wrong.status).toBe(401);
    const ok = await t.request('POST', '/api/v1/auth/2fa/confirm', { token: o.ownerToken, body: { code: codeNow(e.body.secret) } });
    expect(ok.body.recovery_codes).toHaveLength(10);
    expect((await t.request('GET', '/api/v1/auth/2fa', { token: o.ownerToken })).body).toMatchObject({
      enabled: true,
      recovery_codes_left: 10,
    });
    expect((await t.request('POST', '/api/v1/auth/2fa/enrol', { token: o.ownerToken })).body.error.code).toBe('TWO_FACTOR_ALREADY_ENABLED');

    nextStep();
    const first = await login(o.ownerEmail);
    expect(first.body).toMatchObject({ mfa_required: true, expires_in: 300 });
    expect(first.body.access_token).toBeUndefined();
    const code = codeNow(e.body.secret);
    const done = await verify({ mfa_token: first.body.mfa_token, code });
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ email: o.ownerEmail, tenant_id: o.tenantId });
    expect((await t.request('GET', '/api/v1/auth/session', { token: done.body.access_token })).body.user.two_factor_enabled).toBe(true);
    // The same code again (replay) is refused; the next step's code works.
    expect((await verify({ mfa_token: first.body.mfa_token, code })).status).toBe(401);
    nextStep();
    expect((await verify({ mfa_token: first.body.mfa_token, code: codeNow(e.body.secret) })).status).toBe(200);
  });

  it('a recovery code works once, in any case and spacing; two racing uses of one code: exactly one wins', async () => {
    const o = await enrolledOwner('Recovery Store');
    const challenge = (await login(o.ownerEmail)).body.mfa_token;
    const typed = o.recovery[0]!.toUpperCase().replace('-', ' ');
    expect((await verify({ mfa_token: challenge, recovery_code: typed })).status).toBe(200);
    expect((await verify({ mfa_token: challenge, recovery_code: o.recovery[0] })).status).toBe(401);
    expect(
      (
        await t.request('GET', '/api/v1/auth/2fa', {
          token: (await verify({ mfa_token: challenge, recovery_code: o.recovery[1] })).body.access_token,
        })
      ).body.recovery_codes_left,
    ).toBe(8);
    nextStep();
    const code = codeNow(o.secret);
    const rs = await Promise.all([0, 1, 2].map(() => verify({ mfa_token: challenge, code })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 401, 401]);
  });

  it('five wrong codes lock the second step for that account and address, even for the right code', async () => {
    const o = await enrolledOwner('Brute Store');
    const challenge = (await login(o.ownerEmail)).body.mfa_token;
    for (let i = 0; i < 5; i++) expect((await verify({ mfa_token: challenge, code: String(100000 + i) })).status).toBe(401);
    const locked = await verify({ mfa_token: challenge, code: codeNow(o.secret) });
    expect(locked.status).toBe(423);
    expect(locked.body.error.code).toBe('TWO_FACTOR_LOCKED');
    now = new Date(now.getTime() + 16 * 60_000);
    const again = (await login(o.ownerEmail)).body.mfa_token;
    expect((await verify({ mfa_token: again, code: codeNow(o.secret) })).status).toBe(200);
  });

  it('step-up asks for the code when two-factor sign-in is on', async () => {
    const o = await enrolledOwner('Stepup Store');
    const s = await verify({ mfa_token: (await login(o.ownerEmail)).body.mfa_token, code: codeNow(o.secret) });
    now = new Date(now.getTime() + 10 * 60_000); // past the step-up window
    const pw = await t.request('POST', '/api/v1/auth/step-up', { token: s.body.access_token, body: { password: PASSWORD } });
    expect(pw.body.error.code).toBe('TWO_FACTOR_CODE_REQUIRED');
    const up = await t.request('POST', '/api/v1/auth/step-up', { token: s.body.access_token, body: { code: codeNow(o.secret) } });
    expect(up.status).toBe(200);
    expect((await t.request('POST', '/api/v1/auth/2fa/recovery-codes', { token: up.body.access_token })).body.recovery_codes).toHaveLength(
      10,
    );
  });

  it('a tenant can require it: members without are refused there (and only there) until they enrol', async () => {
    const a = await enrolledOwner('Strict Store');
    const b = await t.createTenant('Relaxed Store');
    const ownerA = (await verify({ mfa_token: (await login(a.ownerEmail)).body.mfa_token, code: codeNow(a.secret) })).body.access_token;
    // An owner without two-factor sign-in cannot lock themself out.
    expect((await t.request('PUT', '/api/v1/tenant/security', { token: b.ownerToken, body: { require_2fa: true } })).body.error.code).toBe(
      'TWO_FACTOR_SELF_REQUIRED',
    );
    expect((await t.request('PUT', '/api/v1/tenant/security', { token: ownerA, body: { require_2fa: true } })).status).toBe(200);
    // B's owner becomes an analyst of A too.
    const inv = await t.request('POST', '/api/v1/members/invitations', { token: ownerA, body: { email: b.ownerEmail, role: 'analyst' } });
    const token = inv.body.link.split('#token=')[1];
    expect((await t.request('POST', '/api/v1/auth/invitation-links/accept', { body: { token, password: PASSWORD } })).status).toBe(200);
    const member = (await login(b.ownerEmail)).body.access_token;
    const refused = await t.request('GET', '/api/v1/tenant', { token: member, headers: { 'x-tenant-id': a.tenantId } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('TWO_FACTOR_REQUIRED');
    // Their own tenant B does not require it.
    expect((await t.request('GET', '/api/v1/tenant', { token: member, headers: { 'x-tenant-id': b.tenantId } })).status).toBe(200);
    const e = await t.request('POST', '/api/v1/auth/2fa/enrol', { token: member });
    await t.request('POST', '/api/v1/auth/2fa/confirm', { token: member, body: { code: codeNow(e.body.secret) } });
    expect((await t.request('GET', '/api/v1/tenant', { token: member, headers: { 'x-tenant-id': a.tenantId } })).status).toBe(200);
  });

  it('hostile and malformed input is refused without a 500; an access token is not a step token', async () => {
    const o = await t.createTenant('Hostile Store');
    for (const body of [
      { mfa_token: 'x', code: '123456' },
      { mfa_token: o.ownerToken, code: '123456' },
      { mfa_token: 'a\u0000b', code: '123456' },
      { mfa_token: 'x'.repeat(5000), code: '1' },
      { mfa_token: 'x', code: '\ud800' },
      { mfa_token: 'x', code: 1e300 },
      { mfa_token: 'x' },
    ]) {
      const r = await verify(body);
      expect([400, 401], JSON.stringify(body).slice(0, 80)).toContain(r.status);
    }
    for (const code of ['', 'abcdef', '1'.repeat(21), '12345\u0000']) {
      const r = await t.request('POST', '/api/v1/auth/2fa/confirm', { token: o.ownerToken, body: { code } });
      expect([400, 401, 409]).toContain(r.status);
    }
  });
});
