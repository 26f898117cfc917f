import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/** Promotion rules through the API: buy X get Y, target items, codes of another tenant, hostile bodies. */
let t: TestApp;
let owner: string;
let key: string;
let other: { owner: string; key: string };

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.createTenant('Promo store');
  owner = a.ownerToken;
  key = await a.apiKey(['commerce:write']);
  const b = await t.createTenant('Other promo store');
  other = { owner: b.ownerToken, key: await b.apiKey(['commerce:write']) };
  await t.modules.catalog.upsertItems(a.tenantId, [
    { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', category: 'Home > Lighting' },
    { itemId: 'bulb', name: 'Bulb', priceMinor: 900n, currency: 'USD', category: 'Home > Lighting > Bulbs' },
    { itemId: 'mug', name: 'Mug', priceMinor: 1200n, currency: 'USD', category: 'Kitchen' },
  ]);
  await t.modules.catalog.upsertItems(b.tenantId, [{ itemId: 'mug', name: 'Their mug', priceMinor: 1200n, currency: 'USD' }]);
}, 60_000);
afterAll(async () => t?.close());

const create = (body: unknown, token = owner) => t.request('POST', '/api/v1/promotions', { token, body });
const add = (user: string, item: string, quantity: number, k = key) =>
  t.request('POST', '/api/v1/cart/items', { token: k, body: { user_id: user, item_id: item, quantity } });
const apply = (user: string, code: string, k = key) =>
  t.request('POST', '/api/v1/cart/promotions', { token: k, body: { user_id: user, code } });

describe('promotion rules', () => {
  it('a category rule discounts only items in (or under) the category, read when the cart is', async () => {
    const p = await create({ code: 'LIGHT10', type: 'percentage', target: 'items', value: 1000, target_categories: ['home > LIGHTING'] });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect(p.body.target_categories).toEqual(['home > LIGHTING']);
    await add('cat-1', 'lamp', 1);
    await add('cat-1', 'bulb', 1);
    await add('cat-1', 'mug', 1);
    const r = await apply('cat-1', 'LIGHT10');
    // 10% of the lamp (5000) and the bulb (900), nothing off the mug.
    expect(r.body.discount_total).toBe(590);
    const byItem = Object.fromEntries(r.body.items.map((i: any) => [i.item_id, i.totals.discount_total]));
    expect(byItem).toEqual({ lamp: 500, bulb: 90, mug: 0 });
    for (const bad of [{ target_categories: [] }, { target_categories: [''] }, { target_categories: ['x'.repeat(301)] }]) {
      const b = await create({
        code: `BAD${Math.random().toString(36).slice(2, 8)}`,
        type: 'percentage',
        target: 'items',
        value: 1,
        ...bad,
      });
      expect(b.status, JSON.stringify(bad)).toBe(400);
    }
    const ship = await create({ code: 'SHIPCAT', type: 'percentage', target: 'shipping', value: 1, target_categories: ['Kitchen'] });
    expect(ship.status).toBe(400);
  });

  it('buy a lamp, get two bulbs at half price: the cart shows the discount on the bulbs', async () => {
    const p = await create({
      code: 'LAMPBULBS',
      kind: 'buyget',
      type: 'percentage',
      target: 'items',
      value: 5000,
      buy_item_ids: ['lamp'],
      buy_rules_min_quantity: 1,
      target_item_ids: ['bulb'],
      apply_to_quantity: 2,
    });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({
      kind: 'buyget',
      buy_item_ids: ['lamp'],
      target_item_ids: ['bulb'],
      apply_to_quantity: 2,
      usage_count: 0,
    });
    await add('ann', 'bulb', 3);
    let cart = (await apply('ann', 'LAMPBULBS')).body;
    expect(cart.discount_total).toBe(0); // no lamp yet
    cart = (await add('ann', 'lamp', 1)).body;
    expect(cart.discount_total).toBe(900);
    expect(cart.items.find((l: any) => l.item_id === 'bulb').totals.discount_total).toBe(900);
    expect(cart.items.find((l: any) => l.item_id === 'lamp').totals.discount_total).toBe(0);
    expect(cart.total).toBe(5000 + 2700 - 900);
  });

  it('an automatic buy 2 get 1 free on mugs applies by itself', async () => {
    expect(
      (
        await create({
          automatic: true,
          kind: 'buyget',
          type: 'percentage',
          target: 'items',
          value: 10000,
          buy_item_ids: ['mug'],
          buy_rules_min_quantity: 2,
          target_item_ids: ['mug'],
          apply_to_quantity: 1,
        })
      ).status,
    ).toBe(201);
    expect((await add('ben', 'mug', 2)).body.discount_total).toBe(0);
    expect((await add('ben', 'mug', 1)).body.discount_total).toBe(1200);
  });

  it('a percentage with target items discounts only those lines', async () => {
    expect((await create({ code: 'LAMP10', type: 'percentage', target: 'items', value: 1000, target_item_ids: ['lamp'] })).status).toBe(
      201,
    );
    await add('cat', 'lamp', 1);
    await add('cat', 'bulb', 1);
    const cart = (await apply('cat', 'lamp10')).body;
    expect(cart.items.find((l: any) => l.item_id === 'lamp').totals.discount_total).toBe(500);
    expect(cart.items.find((l: any) => l.item_id === 'bulb').totals.discount_total).toBe(0);
  });

  it("allocation once: half off the cheapest unit in the cart, as Medusa's once with max_quantity 1", async () => {
    // A store of its own: the automatic promotions made above would discount these carts too.
    const s = await t.createTenant('Once store');
    const k = await s.apiKey(['commerce:write']);
    await t.modules.catalog.upsertItems(s.tenantId, [
      { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD' },
      { itemId: 'bulb', name: 'Bulb', priceMinor: 900n, currency: 'USD' },
      { itemId: 'mug', name: 'Mug', priceMinor: 1200n, currency: 'USD' },
    ]);
    const create = (body: Record<string, unknown>) => t.request('POST', '/api/v1/promotions', { token: s.ownerToken, body });
    const add = (user: string, item: string, quantity: number) =>
      t.request('POST', '/api/v1/cart/items', { token: k, body: { user_id: user, item_id: item, quantity } });
    const apply = (user: string, code: string) => t.request('POST', '/api/v1/cart/promotions', { token: k, body: { user_id: user, code } });
    const p = await create({ code: 'CHEAPEST', type: 'percentage', target: 'items', value: 5000, allocation: 'once', max_quantity: 1 });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect(p.body).toMatchObject({ allocation: 'once', max_quantity: 1 });
    await add('eve', 'lamp', 2);
    await add('eve', 'mug', 3);
    await add('eve', 'bulb', 2);
    const cart = (await apply('eve', 'cheapest')).body;
    // One bulb (9.00) at half price; the lamps and mugs untouched.
    expect(cart.discount_total).toBe(450);
    const byItem = Object.fromEntries(cart.items.map((i: any) => [i.item_id, i.totals.discount_total]));
    expect(byItem).toEqual({ lamp: 0, mug: 0, bulb: 450 });
    // Fixed 1.00 off each of the 3 cheapest units: two bulbs, then one mug.
    expect(
      (await create({ code: 'THREE', type: 'fixed', currency: 'USD', target: 'items', value: 100, allocation: 'once', max_quantity: 3 }))
        .status,
    ).toBe(201);
    await add('fay', 'mug', 3);
    await add('fay', 'bulb', 2);
    const three = (await apply('fay', 'THREE')).body;
    expect(Object.fromEntries(three.items.map((i: any) => [i.item_id, i.totals.discount_total]))).toEqual({ mug: 100, bulb: 200 });
    // each with max_quantity: 10% off at most 1 unit of every line.
    expect(
      (await create({ code: 'ONEEACH', type: 'percentage', target: 'items', value: 1000, allocation: 'each', max_quantity: 1 })).status,
    ).toBe(201);
    await add('gil', 'mug', 3);
    await add('gil', 'lamp', 2);
    const each = (await apply('gil', 'ONEEACH')).body;
    expect(Object.fromEntries(each.items.map((i: any) => [i.item_id, i.totals.discount_total]))).toEqual({ mug: 120, lamp: 500 });
    for (const bad of [
      { allocation: 'once' }, // no max_quantity
      { allocation: 'once', max_quantity: 0 },
      { allocation: 'once', max_quantity: 1.5 },
      { allocation: 'across', max_quantity: 2 },
      { allocation: 'once', max_quantity: 1, target: 'order' },
      { allocation: 'sometimes', max_quantity: 1 },
    ]) {
      const r = await create({
        code: `ONCE${Math.random().toString(36).slice(2, 8)}`,
        type: 'percentage',
        target: 'items',
        value: 100,
        ...bad,
      });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
  });

  it("another tenant's code answers like an unknown one, and its promotions are not listed", async () => {
    expect((await create({ code: 'THEIRS', type: 'percentage', target: 'items', value: 5000 }, other.owner)).status).toBe(201);
    await add('dan', 'lamp', 1);
    const r = await apply('dan', 'THEIRS');
    expect(r.status).toBe(404);
    const list = await t.request('GET', '/api/v1/promotions', { token: owner });
    expect(list.body.data.map((p: any) => p.code)).not.toContain('THEIRS');
    expect((await t.request('GET', '/api/v1/promotions', { token: other.owner })).body.data.map((p: any) => p.code)).toEqual(['THEIRS']);
  });

  it('refuses incoherent and hostile promotion bodies with a 400 naming the field, creating nothing', async () => {
    const before = (await t.request('GET', '/api/v1/promotions', { token: owner })).body.data.length;
    const bad = [
      { code: 'BG1', kind: 'buyget', type: 'percentage', target: 'items', value: 10000 }, // no quantities
      {
        code: 'BG2',
        kind: 'buyget',
        type: 'fixed',
        currency: 'USD',
        target: 'items',
        value: 100,
        buy_rules_min_quantity: 1,
        apply_to_quantity: 1,
      },
      { code: 'BG3', type: 'percentage', target: 'items', value: 100, buy_rules_min_quantity: 1 }, // buy rule on a standard promotion
      { code: 'BG4', type: 'percentage', target: 'shipping', value: 100, target_item_ids: ['lamp'] },
      { code: 'BG5', type: 'percentage', target: 'items', value: 100, target_item_ids: ['la\u0000mp'] },
      { code: 'BG6', type: 'percentage', target: 'items', value: 100, target_item_ids: [] },
      { code: 'BG7', kind: 'buyget', type: 'percentage', target: 'items', value: 100, buy_rules_min_quantity: 1e9, apply_to_quantity: 1 },
      { code: 'BG8', type: 'percentage', target: 'items', value: 100, target_item_ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) },
    ];
    for (const body of bad) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      // NUL bytes are stopped by the JSON edge (UNSAFE_TEXT) before the schema sees them.
      expect(['VALIDATION_ERROR', 'UNSAFE_TEXT']).toContain(r.body.error.code);
    }
    expect((await t.request('GET', '/api/v1/promotions', { token: owner })).body.data.length).toBe(before);
  });
});
