import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import type { ResolveInput } from './index.ts';

/**
 * Customer search with no identifier type (issue 20): `GET /api/v1/profiles?identifier=17850` finds the
 * customer by whichever identifier holds the value (customer id, e-mail, phone, loyalty id, profile id,
 * name) and says what matched; a number of six or more digits is not taken for a phone number.
 */
let t: TestApp;
let tenant: Awaited<ReturnType<TestApp['createTenant']>>;
const ids: Record<string, string> = {};

const ev = (identifiers: [string, string][], traits?: Record<string, unknown>): ResolveInput => ({
  identifiers: identifiers.map(([type, value]) => ({ type, value })),
  channel: 'api',
  occurredAt: new Date('2011-12-01T10:00:00Z'),
  ...(traits ? { traits } : {}),
});

beforeAll(async () => {
  t = await createTestApp();
  tenant = await t.createTenant('Search store');
  const made = await t.modules.identity.resolveMany(tenant.tenantId, [
    ev([['user_id', '17850']]),
    ev([['user_id', '58000123']]),
    ev([['email', 'ann@shop.test']], { name: 'Ann Smith' }),
    ev([['phone', '+44 7700 900123']]),
    ev([['loyalty_id', 'L-555']]),
  ]);
  ['u5', 'u8', 'ann', 'phone', 'loyal'].forEach((k, i) => (ids[k] = made[i]!));
});
afterAll(async () => {
  await t?.close();
});

const search = (value: string, token = tenant.ownerToken) =>
  t.request('GET', `/api/v1/profiles?identifier=${encodeURIComponent(value)}`, { token });

describe('search by any identifier', () => {
  it('finds 17850 by customer id without identifier_type, and says so', async () => {
    const res = await search('17850');
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([ids.u5]);
    expect(res.body.data[0].matched_by).toEqual(['user_id']);
  });

  it('an id of eight digits is a customer id, not a phone number', async () => {
    const res = await search('58000123');
    expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([ids.u8]);
    expect(res.body.data[0].matched_by).toEqual(['user_id']);
  });

  it('e-mail (any case), phone (any format), loyalty id, profile id and name each find their profile', async () => {
    const cases: [string, string, string][] = [
      ['ANN@Shop.test', 'ann', 'email'],
      ['+447700900123', 'phone', 'phone'],
      ['+44 (0)7700 900123'.replace('(0)', ''), 'phone', 'phone'],
      ['L-555', 'loyal', 'loyalty_id'],
      ['smith', 'ann', 'name'],
    ];
    for (const [value, who, by] of cases) {
      const res = await search(value);
      expect(
        res.body.data.map((p: { id: string }) => p.id),
        value,
      ).toEqual([ids[who]]);
      expect(res.body.data[0].matched_by, value).toContain(by);
    }
    const byId = await search(ids.loyal!);
    expect(byId.body.data[0]).toMatchObject({ id: ids.loyal, matched_by: ['profile_id'] });
  });

  it('nothing found is an empty list; hostile and malformed values are refused or find nothing', async () => {
    expect((await search('no-such-person')).body.data).toEqual([]);
    expect((await search('100%')).body.data).toEqual([]);
    expect((await search('_')).body.data).toEqual([]);
    for (const [v, status] of [
      ['   ', 400],
      ['a\u0000b', 400],
      ['9'.repeat(400), 400],
      ['9'.repeat(300), 200],
    ] as const) {
      const res = await search(v);
      expect([v.slice(0, 5), res.status, res.body.error?.code]).toEqual([v.slice(0, 5), status, res.body.error?.code]);
      if (status === 200) expect(res.body.data).toEqual([]);
    }
    // A lone surrogate, as a client would percent-encode it (CESU-8), is no server error.
    const lone = await t.request('GET', '/api/v1/profiles?identifier=%ED%A0%80', { token: tenant.ownerToken });
    expect([200, 400]).toContain(lone.status);
    // A typed search still works as before, and two identifiers at once are refused.
    expect(
      (await t.request('GET', '/api/v1/profiles?identifier_type=user_id&identifier=17850', { token: tenant.ownerToken })).body.data,
    ).toHaveLength(1);
    expect((await t.request('GET', '/api/v1/profiles?identifier=17850&email=a@b.test', { token: tenant.ownerToken })).status).toBe(400);
  });

  it('concurrent searches agree; another tenant finds nothing of this one', async () => {
    const all = await Promise.all(Array.from({ length: 6 }, () => search('17850')));
    expect(new Set(all.map((r) => r.body.data[0]?.id))).toEqual(new Set([ids.u5]));
    const other = await t.createTenant('Other search store');
    for (const v of ['17850', 'ann@shop.test', ids.ann!, 'smith']) expect((await search(v, other.ownerToken)).body.data).toEqual([]);
  });
});
