import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { startStripeServer, type StripeTestServer } from '../../../test/fakes/stripe-server.ts';

/**
 * The storefront's site key (pk_live_, commerce:shop) with signed shopper tokens: a page acts only for the
 * shopper its token names; a merchant's server (sk_live_, commerce:write) mints customer tokens and keeps
 * acting for any shopper, as in seed 000.
 */
const SHOP = 'https://shop-a.test';
let t: TestApp;
let stripe: StripeTestServer;
let offsetMs = 0;
let A: { tenantId: string; ownerToken: string; secret: string; site: string };
let B: { tenantId: string; site: string; secret: string };

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url }, { clock: () => new Date(Date.now() + offsetMs) });
  const site = async (ownerToken: string) => {
    const r = await t.request('POST', '/api/v1/api-keys', {
      token: ownerToken,
      body: { name: 'store page', kind: 'publishable', scopes: ['catalog:read', 'commerce:shop'], allowed_origins: [SHOP] },
    });
    expect(r.status).toBe(201);
    return r.body.api_key as string;
  };
  const a = await t.createTenant('Token store');
  A = { tenantId: a.tenantId, ownerToken: a.ownerToken, secret: await a.apiKey(['commerce:write']), site: await site(a.ownerToken) };
  const b = await t.createTenant('Other token store');
  B = { tenantId: b.tenantId, site: await site(b.ownerToken), secret: await b.apiKey(['commerce:write']) };
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: a.ownerToken,
    body: {
      tax_rate_bp: 0,
      tax_inclusive: false,
      shipping_options: [{ id: 'std', name: 'Standard', amount: 500, currency: 'USD' }],
      stripe_secret_key: 'sk_test_tokens',
    },
  });
  expect(s.status).toBe(200);
  for (const tenantId of [A.tenantId, B.tenantId])
    await t.modules.catalog.upsertItems(tenantId, [
      { itemId: 'tee', name: 'Tee', priceMinor: 2000n, currency: 'USD', stock: 50 },
      { itemId: 'mug', name: 'Mug', priceMinor: 1000n, currency: 'USD' },
    ]);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

/** A call from the store's page: the site key, the page's Origin, the shopper's token. */
const page = (method: string, url: string, shopperToken: string | undefined, body?: unknown, site = A.site) =>
  t.request(method, url, {
    token: site,
    body,
    headers: { origin: SHOP, ...(shopperToken !== undefined ? { 'x-shopper-token': shopperToken } : {}) },
  });
const mint = async (body: unknown, key = A.secret) => {
  const r = await t.request('POST', '/api/v1/commerce/shopper-tokens', { token: key, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token as string;
};
const anonymous = async (site = A.site) => {
  const r = await page('POST', '/api/v1/commerce/shopper-tokens', undefined, {}, site);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { token: string; shopper_id: string; shopper_type: string };
};

describe('minting shopper tokens', () => {
  it('a page gets an anonymous token bound to a fresh id; only a server mints customer tokens', async () => {
    const one = await anonymous();
    const two = await anonymous();
    expect(one.shopper_type).toBe('anonymous');
    expect(one.shopper_id).not.toBe(two.shopper_id);
    for (const body of [{ customer_id: 'alice' }, { ttl_seconds: 600 }]) {
      const r = await page('POST', '/api/v1/commerce/shopper-tokens', undefined, body);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('SHOPPER_TOKEN_CUSTOMER_FORBIDDEN');
    }
    const server = await t.request('POST', '/api/v1/commerce/shopper-tokens', { token: A.secret, body: { customer_id: 'alice' } });
    expect(server.body).toMatchObject({ shopper_type: 'customer', shopper_id: 'alice' });
    expect(Date.parse(server.body.expires_at) - Date.now()).toBeLessThanOrEqual(3600_000 + 5_000);
  });

  it('refuses malformed, oversized and hostile bodies', async () => {
    const bad: unknown[] = [
      { customer_id: '' },
      { customer_id: 'x'.repeat(201) },
      { customer_id: 'a\u0000b' },
      { customer_id: 'a\ud800b' },
      { customer_id: 'a', ttl_seconds: 1e300 },
      { customer_id: 'a', ttl_seconds: 86_401 },
      { customer_id: 'a', ttl_seconds: 59 },
      { customer_id: 'a', extra: true },
      { customer_id: JSON.parse('['.repeat(200) + ']'.repeat(200)) },
    ];
    for (const body of bad) {
      const r = await t.request('POST', '/api/v1/commerce/shopper-tokens', { token: A.secret, body });
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    const raw = await t.app.inject({
      method: 'POST',
      url: '/api/v1/commerce/shopper-tokens',
      headers: { authorization: `Bearer ${A.secret}`, 'content-type': 'application/json' },
      payload: '{"customer_id":"a","customer_id":"b"}',
    });
    // A duplicated key is read as JSON reads it (the last wins): the token names exactly one shopper.
    expect([201, 400]).toContain(raw.statusCode);
    if (raw.statusCode === 201) expect(JSON.parse(raw.body).shopper_id).toBe('b');
  });

  it('mints concurrently without collisions', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => anonymous()));
    expect(new Set(all.map((a) => a.shopper_id)).size).toBe(20);
  });
});

describe('a site key acts only for its shopper token', () => {
  it('needs a shopper token on cart, checkout and order history calls', async () => {
    for (const [method, url, body] of [
      ['GET', '/api/v1/cart', undefined],
      ['POST', '/api/v1/cart/items', { item_id: 'tee' }],
      ['GET', '/api/v1/cart/orders', undefined],
      ['POST', '/api/v1/cart/complete', { cart_id: '00000000-0000-7000-8000-000000000000', payment_method: 'pm_card_visa' }],
    ] as const) {
      const r = await page(method, url, undefined, body);
      expect(r.status, url).toBe(401);
      expect(r.body.error.code).toBe('SHOPPER_TOKEN_REQUIRED');
    }
    // Shipping options name no shopper: open to the page as they are.
    expect((await page('GET', '/api/v1/cart/shipping-options', undefined)).status).toBe(200);
  });

  it("shopper A with her token cannot read or change shopper B's cart or orders", async () => {
    const alice = await mint({ customer_id: 'alice' });
    const bob = await mint({ customer_id: 'bob' });
    const aliceCart = await page('POST', '/api/v1/cart/items', alice, { item_id: 'tee', quantity: 1 });
    expect(aliceCart.status).toBe(201);
    expect(aliceCart.body.user_id).toBe('alice');
    const bobCart = await page('POST', '/api/v1/cart/items', bob, { item_id: 'mug', quantity: 2 });
    expect(bobCart.status).toBe(201);
    const bobLine = bobCart.body.items[0].id as string;

    // Her own cart by token alone, and by its id.
    expect((await page('GET', '/api/v1/cart', alice)).body.id).toBe(aliceCart.body.id);
    expect((await page('GET', `/api/v1/cart?cart_id=${aliceCart.body.id}`, alice)).body.id).toBe(aliceCart.body.id);

    // Naming Bob is refused; his cart by id answers like an unknown cart.
    const named = await page('GET', '/api/v1/cart?user_id=bob', alice);
    expect(named.status).toBe(403);
    expect(named.body.error.code).toBe('SHOPPER_MISMATCH');
    expect((await page('POST', '/api/v1/cart/items', alice, { user_id: 'bob', item_id: 'tee' })).status).toBe(403);
    expect((await page('GET', '/api/v1/cart?anonymous_id=anyone', alice)).status).toBe(403);
    for (const [method, url, body] of [
      ['GET', `/api/v1/cart?cart_id=${bobCart.body.id}`, undefined],
      ['POST', '/api/v1/cart/items', { cart_id: bobCart.body.id, item_id: 'tee' }],
      ['PATCH', `/api/v1/cart/items/${bobLine}`, { cart_id: bobCart.body.id, quantity: 9 }],
      ['DELETE', `/api/v1/cart/items/${bobLine}?cart_id=${bobCart.body.id}`, undefined],
      ['POST', '/api/v1/cart/shipping', { cart_id: bobCart.body.id, shipping_option_id: 'std' }],
      ['POST', '/api/v1/cart/complete', { cart_id: bobCart.body.id, payment_method: 'pm_card_visa' }],
    ] as const) {
      const r = await page(method, url, alice, body);
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.body.error.code).toBe('CART_NOT_FOUND');
    }
    // Bob's cart is untouched.
    const bobNow = await t.request('GET', '/api/v1/cart?user_id=bob', { token: A.secret });
    expect(bobNow.body.items.map((i: { item_id: string; quantity: number }) => [i.item_id, i.quantity])).toEqual([['mug', 2]]);
    expect(bobNow.body.shipping_method).toBeNull();

    // Order history: her own (none yet), never Bob's by name.
    expect((await page('GET', '/api/v1/cart/orders', alice)).body.data).toEqual([]);
    expect((await page('GET', '/api/v1/cart/orders?user_id=bob', alice)).status).toBe(403);
  });

  it('a shopper checks out her own cart with a site key; her history shows it, not to others', async () => {
    const carol = await mint({ customer_id: 'carol' });
    const cart = await page('POST', '/api/v1/cart/items', carol, { item_id: 'tee', quantity: 1 });
    await page('POST', '/api/v1/cart/shipping', carol, { cart_id: cart.body.id, shipping_option_id: 'std' });
    const done = await t.request('POST', '/api/v1/cart/complete', {
      token: A.site,
      body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
      headers: { origin: SHOP, 'x-shopper-token': carol, 'idempotency-key': 'carol-1' },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body.order.status).toBe('paid');
    const mine = await page('GET', '/api/v1/cart/orders', carol);
    expect(mine.body.data.map((o: { id: string }) => o.id)).toEqual([done.body.order.id]);
    // Another shopper reusing Carol's Idempotency-Key gets no replay of her order.
    const dave = await mint({ customer_id: 'dave' });
    const replay = await t.request('POST', '/api/v1/cart/complete', {
      token: A.site,
      body: { cart_id: cart.body.id, payment_method: 'pm_card_visa' },
      headers: { origin: SHOP, 'x-shopper-token': dave, 'idempotency-key': 'carol-1' },
    });
    expect(replay.status).toBe(404);
    expect((await page('GET', '/api/v1/cart/orders', dave)).body.data).toEqual([]);
  });

  it('an anonymous visitor keeps a cart; sign-in merges it only with both tokens', async () => {
    const visitor = await anonymous();
    const stranger = await anonymous();
    const added = await page('POST', '/api/v1/cart/items', visitor.token, { item_id: 'mug', quantity: 1 });
    expect(added.body.anonymous_id).toBe(visitor.shopper_id);
    expect((await page('GET', '/api/v1/cart', stranger.token)).body.id).toBeNull();
    expect((await page('GET', `/api/v1/cart?cart_id=${added.body.id}`, stranger.token)).status).toBe(404);

    const erin = await mint({ customer_id: 'erin' });
    // Without proof of the visitor, or with the visitor's token in the customer's place: refused.
    expect((await page('POST', '/api/v1/cart/merge', erin, { anonymous_id: visitor.shopper_id })).status).toBe(400);
    expect((await page('POST', '/api/v1/cart/merge', visitor.token, { anonymous_token: visitor.token })).status).toBe(403);
    expect((await page('POST', '/api/v1/cart/merge', erin, { anonymous_token: erin })).status).toBe(403);
    expect((await page('POST', '/api/v1/cart/merge', erin, { user_id: 'frank', anonymous_token: visitor.token })).status).toBe(403);
    const merged = await page('POST', '/api/v1/cart/merge', erin, { anonymous_token: visitor.token });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ id: added.body.id, user_id: 'erin' });
    // The visitor's token no longer reaches the adopted cart.
    expect((await page('GET', `/api/v1/cart?cart_id=${added.body.id}`, visitor.token)).status).toBe(404);
  });

  it('concurrent adds by one shopper land in one cart', async () => {
    const gina = await mint({ customer_id: 'gina' });
    const rs = await Promise.all(Array.from({ length: 8 }, () => page('POST', '/api/v1/cart/items', gina, { item_id: 'tee' })));
    expect(rs.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    const cart = await page('GET', '/api/v1/cart', gina);
    expect(cart.body.items[0].quantity).toBe(rs.filter((r) => r.status === 201).length);
  });
});

describe('forged, expired and foreign tokens', () => {
  it('a forged token is 401 SHOPPER_TOKEN_INVALID', async () => {
    const real = await mint({ customer_id: 'alice' });
    const [h, p] = real.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const swapped = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url')}.${real.split('.')[2]}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    const otherKey = await new SignJWT({ typ: 'shopper', knd: 'customer', tid: A.tenantId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('loupe')
      .setAudience('loupe-shopper')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not the server secret'));
    for (const token of [swapped, none, otherKey, 'garbage', 'a.b.c', 'x'.repeat(5000), '\u00e9t\u00e9']) {
      const r = await page('GET', '/api/v1/cart', token);
      expect(r.status, token.slice(0, 40)).toBe(401);
      expect(r.body.error.code).toBe('SHOPPER_TOKEN_INVALID');
    }
    // A dashboard access token is not a shopper token either.
    const r = await page('GET', '/api/v1/cart', A.ownerToken);
    expect(r.body.error.code).toBe('SHOPPER_TOKEN_INVALID');
  });

  it('an expired token is 401 SHOPPER_TOKEN_EXPIRED', async () => {
    const short = await mint({ customer_id: 'alice', ttl_seconds: 60 });
    expect((await page('GET', '/api/v1/cart', short)).status).toBe(200);
    offsetMs = 61_000;
    try {
      const r = await page('GET', '/api/v1/cart', short);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('SHOPPER_TOKEN_EXPIRED');
    } finally {
      offsetMs = 0;
    }
  });

  it("a token from tenant A is useless on tenant B, with B's site key or B's secret key", async () => {
    const alice = await mint({ customer_id: 'alice' });
    const onB = await page('GET', '/api/v1/cart', alice, undefined, B.site);
    expect(onB.status).toBe(401);
    expect(onB.body.error.code).toBe('SHOPPER_TOKEN_INVALID');
    const viaSecret = await t.request('GET', '/api/v1/cart', { token: B.secret, headers: { 'x-shopper-token': alice } });
    expect(viaSecret.status).toBe(401);
    // And B's own shoppers never see A's carts.
    const bAlice = await mint({ customer_id: 'alice' }, B.secret);
    expect((await page('GET', '/api/v1/cart', bAlice, undefined, B.site)).body.id).toBeNull();
  });
});

describe('servers keep seed 000 semantics', () => {
  it('a secret key with commerce:write names any shopper without a token; a token it sends binds it', async () => {
    const r = await t.request('GET', '/api/v1/cart?user_id=bob', { token: A.secret });
    expect(r.status).toBe(200);
    expect(r.body.user_id).toBe('bob');
    const alice = await mint({ customer_id: 'alice' });
    const bound = await t.request('GET', '/api/v1/cart?user_id=bob', { token: A.secret, headers: { 'x-shopper-token': alice } });
    expect(bound.status).toBe(403);
  });

  it('a secret key with only commerce:shop is bound like a page', async () => {
    const r = await t.request('POST', '/api/v1/api-keys', { token: A.ownerToken, body: { name: 'shop only', scopes: ['commerce:shop'] } });
    const shopOnly = r.body.api_key as string;
    const g = await t.request('GET', '/api/v1/cart?user_id=bob', { token: shopOnly });
    expect(g.status).toBe(401);
    expect(g.body.error.code).toBe('SHOPPER_TOKEN_REQUIRED');
    const m = await t.request('POST', '/api/v1/commerce/shopper-tokens', { token: shopOnly, body: { customer_id: 'bob' } });
    expect(m.status).toBe(403);
  });

  it("a page served by Loupe itself (same-origin GET: no Origin, Sec-Fetch-Site) counts as the server's origin", async () => {
    const own = await t.request('POST', '/api/v1/api-keys', {
      token: A.ownerToken,
      body: { name: 'own page', kind: 'publishable', scopes: ['catalog:read'], allowed_origins: ['http://localhost'] },
    });
    const get = (key: string, site: string) =>
      t.request('GET', '/api/v1/items/tee', { token: key, headers: { host: 'localhost', 'sec-fetch-site': site } });
    expect((await get(own.body.api_key, 'same-origin')).status).toBe(200);
    // Not on the key's origins, or not a same-origin fetch: refused as before.
    expect((await get(A.site, 'same-origin')).body.error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect((await get(own.body.api_key, 'cross-site')).body.error.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('a site key still refuses the merchant routes', async () => {
    const r = await page('GET', '/api/v1/orders', undefined);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('PUBLISHABLE_KEY_NOT_ALLOWED');
  });
});
