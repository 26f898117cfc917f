import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkToken, startSmtpServer } from '../../../test/fakes/smtp-server.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { type SecretBox, type SecurityEventRepository, queryRows } from '../../platform/index.ts';
import { REGISTRATION_TTL_MS } from './accounts.core.ts';
import { createTenancyModule } from './index.ts';

// Issue 22, M12: open sign-up is verified by an e-mailed link and tells nobody but the inbox whether an address
// has an account. Real e-mails, read from a local SMTP server.
const PUBLIC_URL = 'https://loupe.example.com';
const STRONG = 'amber-lantern-glacier-47';
let now = new Date();
let t: TestApp;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp(
    { LOUPE_REGISTRATION: 'open', LOUPE_SMTP_URL: smtp.url, LOUPE_MAIL_FROM: 'Loupe <mail@loupe.example.com>', PUBLIC_URL },
    { clock: () => now },
  );
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const register = (body: Record<string, unknown>) => t.request('POST', '/api/v1/auth/register', { body });
const verify = (token: string) => t.request('POST', '/api/v1/auth/register/verify', { body: { token } });
const login = (email: string, password: string) => t.request('POST', '/api/v1/auth/login', { body: { email, password } });
const mailsTo = async (address: string, n: number) => {
  await pollUntil(
    `${n} mails to ${address}`,
    async () => smtp.to(address).length,
    (got) => got >= n,
  );
  return smtp.to(address);
};
const userCount = async (email: string) =>
  (await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM users WHERE email = ${email}`))[0]!.n;

describe('verified registration', () => {
  it('answers 202 with one body for a known and an unknown address; only the link creates the account and its tenant', async () => {
    const s = await t.createTenant('Known Shop');
    const unknown = await register({ email: 'New.Owner@Signup.test', password: STRONG, tenant_name: 'Fresh Shop', name: 'Nia' });
    const known = await register({ email: s.ownerEmail, password: STRONG, tenant_name: 'Fresh Shop', name: 'Nia' });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    expect(unknown.body.status).toBe('verification_sent');
    // Seed 004's path without /api/v1 answers the same.
    const alias = await t.request('POST', '/auth/register', { body: { email: 'ghost@signup.test', password: STRONG } });
    expect(alias).toMatchObject({ status: 202, body: unknown.body });

    // Nothing exists yet: no account, no sign-in.
    expect(await userCount('new.owner@signup.test')).toBe(0);
    expect((await login('new.owner@signup.test', STRONG)).status).toBe(401);

    // The known address is told in its own inbox, with no link that creates anything.
    const [warning] = await mailsTo(s.ownerEmail, 1);
    expect(warning!.subject).toBe('You already have a Loupe account');
    expect(warning!.text).toContain(`${PUBLIC_URL}/reset-password`);
    expect(warning!.text).not.toContain('#token=');

    const [mail] = await mailsTo('new.owner@signup.test', 1);
    expect(mail!.text).toContain(`${PUBLIC_URL}/verify-registration#token=reg_`);
    const token = linkToken(mail!);
    // Only the token's hash is stored.
    const stored = await queryRows<{ token_hash: string }>(t.database.db, sql`SELECT token_hash FROM pending_registrations`);
    expect(stored.map((r) => r.token_hash)).not.toContain(token);

    const done = await verify(token);
    expect(done.status).toBe(201);
    expect(done.body.user).toMatchObject({ email: 'new.owner@signup.test', role: 'owner' });
    const tenant = await t.request('GET', '/api/v1/tenant', { token: done.body.access_token });
    expect(tenant.body.name).toBe('Fresh Shop');
    expect((await login('new.owner@signup.test', STRONG)).status).toBe(200);

    // Single use.
    const again = await verify(token);
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('REGISTRATION_TOKEN_USED');
    expect(await userCount('new.owner@signup.test')).toBe(1);
  });

  it('a link expires, and a made-up or truncated token is simply invalid', async () => {
    await register({ email: 'late@signup.test', password: STRONG });
    const token = linkToken((await mailsTo('late@signup.test', 1))[0]!);
    expect((await verify(token.slice(0, -1))).body.error.code).toBe('REGISTRATION_TOKEN_INVALID');
    expect((await verify(`reg_${'A'.repeat(43)}`)).body.error.code).toBe('REGISTRATION_TOKEN_INVALID');
    const saved = now;
    now = new Date(now.getTime() + REGISTRATION_TTL_MS + 1000);
    try {
      const r = await verify(token);
      expect(r.status).toBe(410);
      expect(r.body.error.code).toBe('REGISTRATION_TOKEN_EXPIRED');
    } finally {
      now = saved;
    }
    expect(await userCount('late@signup.test')).toBe(0);
  });

  it('two racing uses of one link, or of two links of one address, create one account', async () => {
    await register({ email: 'race@signup.test', password: STRONG, tenant_name: 'Race Shop' });
    await register({ email: 'race@signup.test', password: STRONG, tenant_name: 'Race Shop' });
    const [m1, m2] = await mailsTo('race@signup.test', 2);
    const tok1 = linkToken(m1!);
    const tok2 = linkToken(m2!);
    const answers = await Promise.all([verify(tok1), verify(tok1), verify(tok2), verify(tok2)]);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status !== 201).every((a) => a.status === 409 || a.status === 410)).toBe(true);
    expect(await userCount('race@signup.test')).toBe(1);
    const tenants = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM tenants WHERE name = 'Race Shop'`);
    expect(tenants[0]!.n).toBe(1);
  });

  it('a link never touches an account made meanwhile, and the password policy applies before anything is sent', async () => {
    await register({ email: 'meanwhile@signup.test', password: STRONG });
    const token = linkToken((await mailsTo('meanwhile@signup.test', 1))[0]!);
    const admin = await t.adminToken();
    expect(
      (
        await t.request('POST', '/api/v1/admin/users', {
          token: admin,
          body: { email: 'meanwhile@signup.test', password: 'Other-Password-99' },
        })
      ).status,
    ).toBe(201);
    const r = await verify(token);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('USER_EMAIL_TAKEN');
    expect((await login('meanwhile@signup.test', STRONG)).status).toBe(401);
    expect((await login('meanwhile@signup.test', 'Other-Password-99')).status).toBe(200);

    const weak = await register({ email: 'weak@signup.test', password: 'password1' });
    expect(weak.status).toBe(400);
  });

  it('sends at most a few mails an hour to one address, still answering 202', async () => {
    for (let i = 0; i < 6; i++) expect((await register({ email: 'flood@signup.test', password: STRONG })).status).toBe(202);
    await mailsTo('flood@signup.test', 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to('flood@signup.test')).toHaveLength(3);
  });
});

describe('open registration needs e-mail', () => {
  it('without a mailer it stays closed, and says why in the log', async () => {
    const o = await createTestApp({ LOUPE_REGISTRATION: 'open' });
    try {
      const r = await o.request('POST', '/api/v1/auth/register', { body: { email: 'x@nomail.test', password: STRONG } });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('REGISTRATION_CLOSED');
      const errors: string[] = [];
      const log = { info() {}, warn() {}, error: (_o: unknown, msg: string) => void errors.push(msg) };
      createTenancyModule({
        db: o.database.db,
        config: { ...o.config, registration: 'open' },
        jwtSecret: 'x'.repeat(48),
        security: { record: async () => {} } as unknown as SecurityEventRepository,
        clock: () => new Date(),
        log,
        secrets: {} as SecretBox,
      });
      expect(errors).toEqual([expect.stringMatching(/LOUPE_REGISTRATION=open needs e-mail \(LOUPE_SMTP_URL\).*stays closed/)]);
    } finally {
      await o.close();
    }
  }, 240_000); // a second app on a loaded machine
});
