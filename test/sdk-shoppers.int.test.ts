import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../sdk/src/client.ts';
import { createTestApp, type TestApp } from './helpers.ts';

/**
 * The SDK's shopper calls (brand follows, favorites, stated preferences, style profile) and the newsfeed against
 * the real server over real HTTP: idempotent follows and favorites, bad input as error values, a publishable
 * key refused, and one tenant's client never seeing or changing another's shoppers.
 */
describe('SDK shopper preferences against a real server', () => {
  let t: TestApp;
  let a: Client;
  let b: Client;
  let pub: Client;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    const host = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const A = await t.createTenant('Shopper store A');
    const B = await t.createTenant('Shopper store B');
    const scopes = ['recommendations:read', 'interactions:write', 'profiles:read', 'profiles:write'];
    a = createClient({ apiKey: await A.apiKey(scopes), host, sleep: async () => {} });
    b = createClient({ apiKey: await B.apiKey(scopes), host, sleep: async () => {} });
    pub = createClient({ apiKey: await A.apiKey(['recommendations:read']), host, sleep: async () => {} });
    const items = Array.from({ length: 12 }, (_, k) => ({
      item_id: `sku-${k}`,
      name: `Item ${k}`,
      brand: k < 6 ? 'Acme' : 'Birch',
      category: ['Shoes', 'Bags', 'Hats'][k % 3],
      price: `${20 + k}.00`,
      currency: 'USD',
    }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: items })).body.inserted).toBe(12);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('follows and unfollows brands, idempotently', async () => {
    expect(await a.shoppers.follow('ann', 'Acme')).toEqual({ ok: true, data: { changed: true } });
    expect(await a.shoppers.follow('ann', 'Acme')).toEqual({ ok: true, data: { changed: false } });
    expect(await a.shoppers.follow('ann', 'Birch')).toEqual({ ok: true, data: { changed: true } });
    const p = await a.shoppers.preferences('ann');
    expect(p.ok && p.data.follows.map((f) => f.brand_id).sort()).toEqual(['Acme', 'Birch']);
    expect(await a.shoppers.unfollow('ann', 'Birch')).toEqual({ ok: true, data: { changed: true } });
    expect(await a.shoppers.unfollow('ann', 'Birch')).toEqual({ ok: true, data: { changed: false } });
    const after = await a.shoppers.preferences('ann');
    expect(after.ok && after.data.follows.map((f) => f.brand_id)).toEqual(['Acme']);
    // A brand id with a slash and spaces travels escaped.
    expect(await a.shoppers.follow('ann', 'Dolce & Co/Outlet')).toEqual({ ok: true, data: { changed: true } });
    expect(await a.shoppers.unfollow('ann', 'Dolce & Co/Outlet')).toEqual({ ok: true, data: { changed: true } });
  });

  it('favorites and unfavorites items; the feed leaves favorites out of discovery modules', async () => {
    expect(await a.shoppers.favorite('ann', 'sku-1')).toEqual({ ok: true, data: { changed: true } });
    expect(await a.shoppers.favorite('ann', 'sku-1')).toEqual({ ok: true, data: { changed: false } });
    expect(await a.shoppers.favorite('ann', 'sku-2')).toEqual({ ok: true, data: { changed: true } });
    expect(await a.shoppers.unfavorite('ann', 'sku-2')).toEqual({ ok: true, data: { changed: true } });
    const p = await a.shoppers.preferences('ann');
    expect(p.ok && p.data.favorites.map((f) => f.item_id)).toEqual(['sku-1']);
    const feed = await a.newsfeed({ user_id: 'ann', preview: 'true' });
    expect(feed.ok).toBe(true);
    if (!feed.ok) return;
    expect(feed.data.items.length).toBeGreaterThan(0);
    const fromBrands = feed.data.modules.find((m) => m.type === 'new_from_brands');
    expect(fromBrands?.item_ids.length).toBeGreaterThan(0);
    expect(feed.data.modules.filter((m) => m.type !== 'price_drops').flatMap((m) => m.item_ids)).not.toContain('sku-1');
  });

  it('replaces stated preferences; bad input is an error value and changes nothing', async () => {
    const set = await a.shoppers.setPreferences('ann', {
      styles: ['minimal'],
      categories: ['Shoes'],
      price_min: '20.00',
      price_max: '80.00',
      currency: 'USD',
    });
    expect(set).toEqual({ ok: true, data: { changed: true } });
    const bad = await a.shoppers.setPreferences('ann', { price_min: '90.00', price_max: '10.00', currency: 'USD' });
    expect(bad).toMatchObject({ ok: false, error: { status: 400 } });
    const huge = await a.shoppers.setPreferences('ann', { styles: Array.from({ length: 500 }, (_, k) => `s${k}`) });
    expect(huge).toMatchObject({ ok: false, error: { status: 400 } });
    const p = await a.shoppers.preferences('ann');
    expect(p.ok && p.data.preferences).toMatchObject({
      styles: ['minimal'],
      categories: ['Shoes'],
      price_min: '20.00',
      price_max: '80.00',
    });
    expect(await a.shoppers.follow('ann', '')).toMatchObject({ ok: false, error: { status: 400 } });
  });

  it('reads the style profile learned from interactions', async () => {
    expect((await a.interactions.track({ user_id: 'bob', item_id: 'sku-3', interaction_type: 'add_to_cart' })).ok).toBe(true);
    await t.modules.newsfeed.settled();
    let sp = await a.shoppers.styleProfile('bob');
    for (let k = 0; k < 40 && !(sp.ok && sp.data.profile); k++) {
      await new Promise((res) => setTimeout(res, 50));
      sp = await a.shoppers.styleProfile('bob');
    }
    expect(sp.ok && sp.data.profile?.category_layers).toHaveProperty('shoes');
    expect(sp.ok && sp.data.profile?.commerce_intent).toHaveProperty('buy');
    expect(await a.shoppers.styleProfile('nobody')).toEqual({ ok: true, data: { user_id: 'nobody', profile: null, snapshots: [] } });
  });

  it("keeps tenants apart, and a publishable (serving) key cannot read or change a shopper's preferences", async () => {
    const other = await b.shoppers.preferences('ann');
    expect(other.ok && other.data).toMatchObject({ follows: [], favorites: [], preferences: { styles: [] } });
    expect(await b.shoppers.unfollow('ann', 'Acme')).toEqual({ ok: true, data: { changed: false } });
    const still = await a.shoppers.preferences('ann');
    expect(still.ok && still.data.follows.map((f) => f.brand_id)).toEqual(['Acme']);
    expect(await pub.shoppers.follow('ann', 'Birch')).toMatchObject({ ok: false, error: { status: 403 } });
    expect(await pub.shoppers.preferences('ann')).toMatchObject({ ok: false, error: { status: 403 } });
  });
});
