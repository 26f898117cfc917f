import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

// Without LOUPE_SMTP_URL: nothing is e-mailed; the inviter gets the link to pass on, reset answers say so.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('accounts without e-mail configured', () => {
  it('an invitation answers its link to copy, and the link works; a reset request says e-mail is off', async () => {
    const a = await t.createTenant('No Mail Store');
    const r = await t.request('POST', '/api/v1/members/invitations', {
      token: a.ownerToken,
      body: { email: 'copy@example.com', role: 'viewer' },
    });
    expect(r.status).toBe(201);
    expect(r.body.delivery).toBe('not_configured');
    expect(r.body.link).toMatch(/^http:\/\/localhost:\d+\/accept-invite#token=inv_[A-Za-z0-9]{43}$/);
    const list = await t.request('GET', '/api/v1/members/invitations', { token: a.ownerToken });
    expect(list.body.email_configured).toBe(false);
    const token = r.body.link.split('#token=')[1];
    const ok = await t.request('POST', '/api/v1/auth/invitation-links/accept', { body: { token, password: 'violet-harbour-tractor-91' } });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ tenant_id: a.tenantId, role: 'viewer' });

    const reset = await t.request('POST', '/api/v1/auth/password-reset', { body: { email: 'copy@example.com' } });
    expect(reset.status).toBe(202);
    expect(reset.body).toEqual({ email_configured: false });
  });
});
