import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/** A tenant's currency, locale and time zone (issue 20: a GBP store sees GBP), kept apart per tenant. */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('UK store');
  B = await t.createTenant('US store');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const get = (token: string) => t.request('GET', '/api/v1/settings/regional', { token });
const patch = (token: string, body: unknown) =>
  t.request('PATCH', '/api/v1/settings/regional', {
    token,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

describe('regional settings', () => {
  it('start at the defaults and keep what the owner sets, canonicalized; B is untouched', async () => {
    expect((await get(A.ownerToken)).body).toEqual({ currency: 'USD', locale: 'en-US', timezone: 'UTC' });
    const r = await patch(A.ownerToken, { currency: 'gbp', locale: 'en-gb', timezone: 'europe/london' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ currency: 'GBP', locale: 'en-GB', timezone: 'Europe/London' });
    expect((await get(A.ownerToken)).body).toEqual({ currency: 'GBP', locale: 'en-GB', timezone: 'Europe/London' });
    // Fields left out stay.
    expect((await patch(A.ownerToken, { locale: 'de-DE' })).body).toEqual({ currency: 'GBP', locale: 'de-DE', timezone: 'Europe/London' });
    expect((await get(B.ownerToken)).body).toEqual({ currency: 'USD', locale: 'en-US', timezone: 'UTC' });
    // Analytics cuts days in the same zone: a report without tz answers in the tenant's.
    const kpis = await t.request('GET', '/api/v1/analytics/kpis?from=2024-01-01&to=2024-01-07', { token: A.ownerToken });
    expect(kpis.status).toBe(200);
    expect(JSON.stringify(kpis.body)).toContain('Europe/London');
  });

  it('refuses malformed, oversized and hostile values with the field named, and changes nothing', async () => {
    const bad: unknown[] = [
      { currency: 'XXXX' },
      { currency: 'ZZZ' },
      { locale: 'not a locale!' },
      { locale: 'x'.repeat(36) },
      { timezone: 'Mars/Olympus_Mons' },
      { timezone: 'Europe/London\u0000' },
      { currency: 'GB\uD800' },
      { currency: 1e308 },
      { unknown_key: 'x' },
      '{"currency": ' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      'not json',
    ];
    for (const body of bad) {
      const r = await patch(A.ownerToken, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    expect((await get(A.ownerToken)).body).toEqual({ currency: 'GBP', locale: 'de-DE', timezone: 'Europe/London' });
  });

  it('lets members read but only a manager change, and never another tenant', async () => {
    expect((await t.request('GET', '/api/v1/settings/regional')).status).toBe(401);
    const readOnly = await A.apiKey(['catalog:read']);
    expect((await patch(readOnly, { currency: 'EUR' })).status).toBe(403);
    // B's owner changes only B (the tenant comes from the credential, never from the body).
    expect((await patch(B.ownerToken, { currency: 'EUR', tenant_id: A.tenantId })).status).toBe(400);
    expect((await patch(B.ownerToken, { currency: 'EUR' })).body.currency).toBe('EUR');
    expect((await get(A.ownerToken)).body.currency).toBe('GBP');
  });

  it('keeps every field under concurrent changes of different fields (settings are merged, not overwritten)', async () => {
    const [a, b, c] = await Promise.all([
      patch(A.ownerToken, { currency: 'JPY' }),
      patch(A.ownerToken, { locale: 'ja-JP' }),
      patch(A.ownerToken, { timezone: 'Asia/Tokyo' }),
    ]);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect((await get(A.ownerToken)).body).toEqual({ currency: 'JPY', locale: 'ja-JP', timezone: 'Asia/Tokyo' });
  });
});
