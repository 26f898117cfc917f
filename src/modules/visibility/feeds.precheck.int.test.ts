import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { VALID_FIXTURES, VALID_ITEM, VIOLATION_FIXTURES } from './feeds.precheck.fixtures.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const precheck = (tenantId: string) => `/api/v1/tenants/${tenantId}/feed/precheck`;

describe('POST /api/v1/tenants/:tenantId/feed/precheck', () => {
  it('checks posted items with the full taxonomy: the fixture suite agrees 100% over HTTP', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const fixtures = [...VALID_FIXTURES, ...VIOLATION_FIXTURES];
    const items = fixtures.flatMap((f) => f.items);
    const r = await t.request('POST', precheck(tenantId), { token, body: { items, status: 'all', limit: 5000 } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.source).toBe('request');
    expect(r.body.target_country).toBe('US');
    let at = 0;
    for (const f of fixtures)
      for (const _ of f.items)
        expect(r.body.items[at++].issues.map((i: { rule: string }) => i.rule).sort(), f.name).toEqual([...f.expect].sort());
    // Filter by rule, paged.
    const byRule = await t.request('POST', precheck(tenantId), { token, body: { items, rule: 'item_group_id_required', limit: 1 } });
    expect(byRule.body.matched).toBe(2);
    expect(byRule.body.items).toHaveLength(1);
    expect(byRule.body.next_offset).toBe(1);
  });

  it("prechecks the tenant's catalog through its mapping rules and its aligned Google category", async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const inv = `/api/v1/tenants/${tenantId}/inventory`;
    const base = {
      name: 'Trail Runner',
      description: 'A light trail running shoe.',
      url: 'https://shop.example.com/p/tr',
      image_url: 'https://cdn.example.com/tr.jpg',
      price: '89.00',
      currency: 'USD',
      gtin: '4006381333931',
      category: 'Shoes',
      attributes: { manufacturer: 'Peak', colour: 'Red' },
    };
    expect((await t.request('POST', inv, { token, body: { ...base, item_id: 'TR-1' } })).status).toBe(201);
    expect(
      (await t.request('POST', inv, { token, body: { ...base, item_id: 'TR-2', name: 'Trail Runner Pro', gtin: '4006381333932' } })).status,
    ).toBe(201);
    const first = await t.request('POST', precheck(tenantId), { token, body: {} });
    expect(first.status).toBe(200);
    expect(first.body.source).toBe('catalog');
    expect(first.body.summary.items).toBe(2);
    expect(first.body.summary.by_rule).toEqual({ brand_required: 2, gtin_check_digit: 1 });

    // Mapping: brand from the manufacturer attribute; color fixed for the Shoes category only.
    const settings = await t.request('PUT', `/api/v1/tenants/${tenantId}/feed/settings`, {
      token,
      body: {
        target_country: 'US',
        content_language: 'en',
        mapping_rules: [
          { attribute: 'brand', source: 'attributes.manufacturer' },
          { attribute: 'color', source: 'attributes.colour', categories: { mode: 'only', paths: ['Shoes'] } },
        ],
      },
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    const second = await t.request('POST', precheck(tenantId), { token, body: {} });
    expect(second.body.summary.by_rule).toEqual({ gtin_check_digit: 1 });
    expect(second.body.items.map((i: { id: string }) => i.id)).toEqual(['TR-2']);

    // The catalog category aligned to Google's "Apparel & Accessories > Shoes" (187) makes it apparel in the US.
    const cats = await t.request('GET', `/api/v1/tenants/${tenantId}/categories`, { token });
    const shoes = cats.body.data.find((c: { path: string }) => c.path === 'Shoes');
    const align = await t.request('POST', `/api/v1/tenants/${tenantId}/categories/${shoes.id}/align`, {
      token,
      body: { google_category_id: 187 },
    });
    expect(align.status).toBe(200);
    const third = await t.request('POST', precheck(tenantId), { token, body: { rule: 'apparel_attribute_required' } });
    expect(third.body.matched).toBe(2);
    expect(third.body.items[0].issues.find((i: { rule: string }) => i.rule === 'apparel_attribute_required').message).toMatch(
      /gender, age_group, size/,
    );
  });

  it('a price in a currency the target country does not use, for a country given in the call', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const r = await t.request('POST', precheck(tenantId), { token, body: { target_country: 'gb', items: [VALID_ITEM] } });
    expect(r.body.target_country).toBe('GB');
    expect(r.body.items[0].issues.map((i: { rule: string }) => i.rule)).toEqual(['price_currency_country']);
  });

  it('refuses malformed, oversized and hostile bodies with 400', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const bad = [
      { items: Array.from({ length: 10_001 }, () => ({ id: 'x' })) },
      { items: [{ id: 'a\u0000b' }] },
      { items: [{ 'Bad Key': 'x' }] },
      { target_country: 'XX' },
      { rule: 'no_such_rule' },
      { items: [VALID_ITEM], extra: true },
      { limit: 1e9 },
    ];
    for (const body of bad) {
      const r = await t.request('POST', precheck(tenantId), { token, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const surrogate = await t.app.inject({
      method: 'POST',
      url: precheck(tenantId),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"items":[{"id":"\\ud800"}]}',
    });
    expect(surrogate.statusCode).toBe(400);
    const huge = await t.request('POST', precheck(tenantId), { token, body: { items: [{ ...VALID_ITEM, price: 1e308 }] } });
    expect(huge.status).toBe(200);
    expect(huge.body.items[0].issues.map((i: { rule: string }) => i.rule)).toEqual(['price_invalid']);
  });

  it("another tenant's id answers 404 like an unknown one, for users and API keys; settings too", async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const unknown = await t.request('POST', precheck('00000000-0000-4000-8000-000000000000'), { token: b.ownerToken, body: {} });
    const cross = await t.request('POST', precheck(a.tenantId), { token: b.ownerToken, body: {} });
    expect(cross.status).toBe(404);
    expect(cross.body.error.code).toBe(unknown.body.error.code);
    const key = await b.apiKey(['catalog:read']);
    expect((await t.request('POST', precheck(a.tenantId), { token: key, body: {} })).status).toBe(404);
    expect((await t.request('GET', `/api/v1/tenants/${a.tenantId}/feed/settings`, { token: b.ownerToken })).status).toBe(404);
    const put = await t.request('PUT', `/api/v1/tenants/${a.tenantId}/feed/settings`, {
      token: b.ownerToken,
      body: { target_country: 'DE', content_language: 'de', mapping_rules: [] },
    });
    expect(put.status).toBe(404);
    expect((await t.request('GET', `/api/v1/tenants/${a.tenantId}/feed/settings`, { token: a.ownerToken })).body.target_country).toBe('US');
    // A read-only key cannot change settings.
    const own = await t.request('PUT', `/api/v1/tenants/${b.tenantId}/feed/settings`, {
      token: key,
      body: { target_country: 'DE', content_language: 'de', mapping_rules: [] },
    });
    expect(own.status).toBe(403);
  });
});
