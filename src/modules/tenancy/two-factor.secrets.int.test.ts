import { sql } from 'drizzle-orm';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { buildApp, type LoupeApp } from '../../app.ts';
import { loadConfig } from '../../platform/config.ts';
import { createSecretBox, keyFromText } from '../../platform/secret-box.ts';
import { queryOne } from '../../platform/index.ts';

// TOTP secrets at rest across a key rotation: sealed under key A, the server restarted with B and previous A.
const KEY_A = 'd4'.repeat(32);
const KEY_B = 'e5'.repeat(32);
const PASSWORD = 'Owner-Password-1';
let now = new Date(Math.floor(Date.now() / 30_000) * 30_000 + 1000);
let t: TestApp;
const extra: LoupeApp[] = [];
beforeAll(async () => {
  t = await createTestApp({ LOUPE_SECRETS_KEY: KEY_A }, { clock: () => now });
});
afterAll(async () => {
  for (const a of extra) await a.close();
  await t?.close();
});

const codeNow = (secret: string) => authenticator.clone({ epoch: now.getTime() }).generate(secret);
const stored = async (email: string) =>
  (await queryOne<{ v: string }>(t.database.db, sql`SELECT totp_secret AS v FROM users WHERE email = ${email}`))!.v;
const keyId = (k: string) => createSecretBox(keyFromText(k)).keyId;
async function call(app: LoupeApp, url: string, body: unknown) {
  const r = await app.app.inject({ method: 'POST', url, payload: body as object });
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
}

describe('two-factor secrets across a key rotation', () => {
  it('re-seals a secret sealed with the previous key at start, and sign-in with a code still works', async () => {
    const o = await t.createTenant('Rotated Store');
    const e = await t.request('POST', '/api/v1/auth/2fa/enrol', { token: o.ownerToken });
    expect(
      (await t.request('POST', '/api/v1/auth/2fa/confirm', { token: o.ownerToken, body: { code: codeNow(e.body.secret) } })).status,
    ).toBe(200);
    const before = await stored(o.ownerEmail);
    expect(before.startsWith(`enc:v1:${keyId(KEY_A)}:`)).toBe(true);
    expect(before).not.toContain(e.body.secret);

    const app = await buildApp(
      loadConfig({
        LOUPE_DATA_DIR: t.dataDir,
        LOG_LEVEL: 'silent',
        RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
        RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
        LOUPE_SECRETS_KEY: KEY_B,
        LOUPE_SECRETS_KEY_PREVIOUS: KEY_A,
      }),
      { database: t.database, clock: () => now },
    );
    extra.push(app);
    const after = await stored(o.ownerEmail);
    expect(after.startsWith(`enc:v1:${keyId(KEY_B)}:`)).toBe(true);
    expect(after).not.toContain(e.body.secret);

    now = new Date(now.getTime() + 30_000); // the confirming code's step is used
    const first = await call(app, '/api/v1/auth/login', { email: o.ownerEmail, password: PASSWORD });
    expect(first.body.mfa_required).toBe(true);
    const done = await call(app, '/api/v1/auth/2fa/verify', { mfa_token: first.body.mfa_token, code: codeNow(e.body.secret) });
    expect(done.status).toBe(200);
    expect(done.body.access_token).toBeTypeOf('string');
  });
});
