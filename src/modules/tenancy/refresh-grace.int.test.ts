import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createTestApp, type TestApp } from '../../../test/helpers.ts';
import { REFRESH_REUSE_GRACE_SECONDS } from './auth.core.ts';

// A movable clock: the grace window is about seconds passing between two uses of one refresh token.
let now = new Date();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { clock: () => now });
});
afterAll(async () => t?.close());

const refresh = (token: string) => t.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: token } });

describe('refresh token grace window', () => {
  it('two racing refreshes with the same token both get a valid pair and the session lives on', async () => {
    const a = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
    const [x, y] = await Promise.all([refresh(a.body.refresh_token), refresh(a.body.refresh_token)]);
    expect([x.status, y.status]).toEqual([200, 200]);
    expect(x.body.refresh_token).not.toBe(y.body.refresh_token);
    for (const r of [x, y]) expect((await t.request('GET', '/api/v1/auth/session', { token: r.body.access_token })).status).toBe(200);
    // Each new refresh token rotates once more; the family is intact.
    expect((await refresh(x.body.refresh_token)).status).toBe(200);
  });

  it('a second use inside the window answers a valid pair; outside it, reuse still revokes the family', async () => {
    const a = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
    const first = await refresh(a.body.refresh_token);
    expect(first.status).toBe(200);
    now = new Date(now.getTime() + (REFRESH_REUSE_GRACE_SECONDS - 5) * 1000);
    const inGrace = await refresh(a.body.refresh_token);
    expect(inGrace.status).toBe(200);

    now = new Date(now.getTime() + 10 * 1000); // now past the window since the first use
    const reuse = await refresh(a.body.refresh_token);
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    expect((await refresh(first.body.refresh_token)).status).toBe(401);
    expect((await refresh(inGrace.body.refresh_token)).status).toBe(401);
    const s = await t.request('GET', '/api/v1/auth/session', { token: inGrace.body.access_token });
    expect(s.body.error.code).toBe('SESSION_ENDED');
  });

  it('hostile input: garbage, NUL bytes and huge tokens are refused without ending anything', async () => {
    const a = await t.request('POST', '/api/v1/auth/login', { body: ADMIN });
    for (const bad of ['rt_\u0000', `rt_${'x'.repeat(5000)}`, 'rt_\ud800', 'nope']) {
      const r = await refresh(bad);
      expect(r.status === 400 || r.status === 401).toBe(true);
    }
    expect((await refresh(a.body.refresh_token)).status).toBe(200);
  });
});
