import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { SAMPLE_PROFILE } from './profile.fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const PROFILE = SAMPLE_PROFILE;

describe('/tenant/profile (seed 004)', () => {
  it('creates, reads, patches and validates; phones stored in E.164', async () => {
    const a = await t.createTenant();
    const token = a.ownerToken;
    expect((await t.request('GET', '/tenant/profile', { token })).status).toBe(404);
    const c = await t.request('POST', '/tenant/profile', { token, body: PROFILE });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body).toMatchObject({ phone: '+14155552671', address: { country: 'US', postal_code: '94105' } });
    expect((await t.request('POST', '/tenant/profile', { token, body: PROFILE })).body.error.code).toBe('BUSINESS_PROFILE_EXISTS');
    expect((await t.request('GET', '/tenant/profile/validation', { token })).body).toEqual({ score: 100, fixes: [] });

    const p = await t.request('PATCH', '/tenant/profile', {
      token,
      body: { phone: 'not a phone', regular_hours: [{ day: 'monday', open: '18:00', close: '09:00' }], address: { line2: 'Suite 2' } },
    });
    expect(p.status).toBe(200);
    expect(p.body.address).toMatchObject({ line1: '1 Market St', line2: 'Suite 2' });
    const v = await t.request('GET', '/tenant/profile/validation', { token });
    expect(v.body.score).toBe(70);
    expect(v.body.fixes.map((f: { field: string }) => f.field)).toEqual(['phone', 'regular_hours.monday']);
    // Live validation of a draft saves nothing.
    const draft = await t.request('POST', '/tenant/profile/validation', { token, body: { ...PROFILE, time_zone: 'Nowhere/Land' } });
    expect(draft.body.fixes.map((f: { field: string }) => f.field)).toEqual(['time_zone']);
    expect((await t.request('GET', '/tenant/profile', { token })).body.phone).toBe('not a phone');
  });

  it('refuses hostile and malformed bodies; another tenant sees and changes nothing', async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    await t.request('POST', '/tenant/profile', { token: a.ownerToken, body: PROFILE });
    for (const body of [
      { ...PROFILE, name: 'x\u0000' },
      { ...PROFILE, extra: 1 },
      { ...PROFILE, regular_hours: [{ day: 'funday', open: '09:00', close: '10:00' }] },
      {},
    ])
      expect((await t.request('POST', '/tenant/profile', { token: b.ownerToken, body })).status).toBe(400);
    expect((await t.request('GET', '/tenant/profile', { token: b.ownerToken })).status).toBe(404);
    const cross = await t.request('GET', '/tenant/profile', { token: b.ownerToken, headers: { 'x-tenant-id': a.tenantId } });
    expect(cross.status).toBe(404);
    expect(
      (
        await t.request('PATCH', '/tenant/profile', {
          token: b.ownerToken,
          headers: { 'x-tenant-id': a.tenantId },
          body: { name: 'Hijack' },
        })
      ).status,
    ).toBe(404);
    expect((await t.request('GET', '/tenant/profile', { token: a.ownerToken })).body.name).toBe('Trail Shoes Co');
    const key = await b.apiKey(['catalog:read']);
    expect((await t.request('PATCH', '/tenant/profile', { token: key, body: { name: 'x' } })).status).toBe(403);
  });
});
