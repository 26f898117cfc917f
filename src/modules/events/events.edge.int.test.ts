import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

/**
 * M4 (issue 22): a stray byte, a deep value or an impossible amount is the sender's fault: 400 with a code and
 * the JSON path, never 500, and nothing stored. Every string leaf and key of a valid body of each collection
 * endpoint is tried in turn.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let key: string;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Edge store');
  key = await A.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const postRaw = (url: string, payload: string) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload });
const count = async () =>
  Number(
    (await queryRows<{ n: string }>(t.database.db, sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${A.tenantId}`))[0]!
      .n,
  );

const VALID: Record<string, object> = {
  '/api/v1/interactions': {
    event_id: 'ev-1',
    user_id: 'u-1',
    anonymous_id: 'anon-1',
    session_id: 's-1',
    item_id: 'item-1',
    interaction_type: 'purchase',
    timestamp: '2026-01-01T10:00:00Z',
    recommendation_id: 'rec-1',
    identifiers: { email: 'a@b.example' },
    context: { source: 'web', page: 'home' },
    metadata: { order_id: 'o-1', price: '9.99', currency: 'EUR', recommendation_id: 'rec-2', note: 'x' },
  },
  '/api/v1/interactions/batch': { events: [{ user_id: 'u-1', item_id: 'i-1', interaction_type: 'view', metadata: { tag: 'x' } }] },
  '/v1/track': {
    userId: 'u-1',
    anonymousId: 'a-1',
    event: 'Product Viewed',
    messageId: 'm-1',
    properties: { product_id: 'p-1' },
    context: { ip: 'x' },
  },
  '/v1/identify': { userId: 'u-1', traits: { email: 'a@b.example', name: 'Ann' } },
  '/v1/batch': {
    batch: [{ type: 'track', userId: 'u-1', event: 'Order Completed', properties: { order_id: 'o-1' } }],
    sentAt: '2026-01-01T10:00:00Z',
  },
  '/api/v1/analytics/session/start': {
    session_id: 's-1',
    user_id: 'u-1',
    anonymous_id: 'a-1',
    browser: 'Firefox',
    os: 'Linux',
    user_agent: 'Mozilla/5.0',
    locale: 'en-GB',
    utm_source: 'news',
    utm: { campaign: 'spring' },
    referrer: 'https://ref.example/',
    landing_url: 'https://shop.example/?utm_medium=mail',
    metadata: { k: 'v' },
  },
  '/api/v1/analytics/page-view': {
    session_id: 's-1',
    page_view_id: 'pv-1',
    user_id: 'u-1',
    page_url: 'https://shop.example/p/1',
    page_type: 'product',
    page_title: 'Product',
    product_id: 'p-1',
    referrer: 'https://shop.example/',
  },
  '/api/v1/analytics/funnel': {
    session_id: 's-1',
    stage: 'checkout',
    event_id: 'f-1',
    user_id: 'u-1',
    product_id: 'p-1',
    metadata: { k: 'v' },
  },
  '/api/v1/analytics/cart-event': {
    session_id: 's-1',
    type: 'item_added',
    event_id: 'c-1',
    user_id: 'u-1',
    anonymous_id: 'a-1',
    product_id: 'p-1',
    cart_item_id: 'ci-1',
    price: '5.00',
    currency: 'EUR',
    metadata: { k: 'v' },
  },
};

/** Every string leaf and every object key of `v`, as a function that returns a copy with that one spot spoiled. */
function spoilers(v: unknown, bad: string): { path: string; make: () => unknown }[] {
  const out: { path: string; make: () => unknown }[] = [];
  const walk = (node: unknown, path: string, set: (x: unknown) => unknown) => {
    if (typeof node === 'string') out.push({ path, make: () => set(`${node}${bad}ZQX`) });
    else if (Array.isArray(node)) node.forEach((c, i) => walk(c, `${path}[${i}]`, (x) => set(node.map((y, j) => (j === i ? x : y)))));
    else if (node && typeof node === 'object') {
      for (const [k, c] of Object.entries(node)) {
        walk(c, `${path}.${k}`, (x) => set({ ...node, [k]: x }));
        out.push({
          path: `${path}.<key ${k}>`,
          make: () => set(Object.fromEntries(Object.entries(node).map(([kk, vv]) => [kk === k ? `${k}${bad}` : kk, vv]))),
        });
      }
    }
  };
  walk(v, '$', (x) => x);
  return out;
}

describe('unsafe text is refused at the edge with 400 (M4, C2a)', () => {
  for (const [url, body] of Object.entries(VALID)) {
    it(`${url}: a NUL or a lone surrogate in any string or key is a 400 naming its path; nothing is stored`, async () => {
      const before = await count();
      for (const [bad, reason] of [
        ['\u0000', 'NUL'],
        ['\ud800', 'surrogate'],
      ] as const) {
        for (const s of spoilers(body, bad)) {
          const res = await postRaw(url, JSON.stringify(s.make()));
          expect({ at: `${reason} ${s.path}`, status: res.statusCode }).toEqual({ at: `${reason} ${s.path}`, status: 400 });
          const err = res.json().error;
          expect(err.code).toBe('UNSAFE_TEXT');
          expect(res.body).not.toContain('\u0000');
          expect(res.body).not.toContain('ZQX');
        }
      }
      expect(await count()).toBe(before);
    });
  }

  it('names the path of the bad value and never echoes it', async () => {
    const res = await postRaw(
      '/api/v1/interactions',
      JSON.stringify({ user_id: 'u', interaction_type: 'view', metadata: { tags: ['ok', 'b\u0000d'] } }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'UNSAFE_TEXT', details: [{ field: '$.metadata.tags[1]' }] });
  });

  it('JSON nested 5,000 deep in attributes or metadata is a 400, not a stack overflow', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    for (const [url, payload] of [
      ['/api/v1/interactions', `{"user_id":"u","interaction_type":"view","metadata":${deep}}`],
      ['/api/v1/interactions', `{"user_id":"u","interaction_type":"view","context":${deep}}`],
      ['/v1/identify', `{"userId":"u","traits":${deep}}`],
      ['/api/v1/analytics/funnel', `{"session_id":"s","stage":"browse","metadata":${deep}}`],
    ] as const) {
      const res = await postRaw(url, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('JSON_TOO_DEEP');
    }
  });

  it('malformed JSON and prototype poisoning stay 400s', async () => {
    expect((await postRaw('/api/v1/interactions', '{"user_id":')).statusCode).toBe(400);
    const proto = await postRaw('/api/v1/interactions', '{"user_id":"u","interaction_type":"view","__proto__":{"x":1}}');
    expect(proto.statusCode).toBe(400);
    const ctor = await postRaw(
      '/api/v1/interactions',
      '{"user_id":"u","interaction_type":"view","metadata":{"constructor":{"prototype":{"x":1}}}}',
    );
    expect(ctor.statusCode).toBe(400);
    // The words alone are fine.
    const words = await postRaw(
      '/api/v1/interactions',
      '{"user_id":"u","interaction_type":"view","metadata":{"note":"__proto__ constructor"}}',
    );
    expect(words.statusCode).toBe(201);
  });
});

describe('amounts are range-checked, never frozen or overflowed (M4, revenue beyond 64 bits)', () => {
  it('metadata.price 1e17, a price beyond int64 and a huge quantity x price are 400s; nothing stored', async () => {
    const before = await count();
    for (const price of [1e17, '99999999999999999999', 1e300, '123456789012345.99']) {
      const res = await postRaw(
        '/api/v1/interactions',
        JSON.stringify({
          user_id: 'u-big',
          item_id: 'i',
          interaction_type: 'purchase',
          metadata: { price, currency: 'KWD', quantity: 100000 },
        }),
      );
      expect({ price, status: res.statusCode }).toEqual({ price, status: 400 });
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    const batch = await postRaw(
      '/api/v1/interactions/batch',
      JSON.stringify({ events: [{ user_id: 'u-big', item_id: 'i', interaction_type: 'purchase', metadata: { price: 1e17 } }] }),
    );
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({ accepted: 0, rejected: 1, results: [{ status: 'rejected' }] });
    const cart = await postRaw(
      '/api/v1/analytics/cart-event',
      JSON.stringify({ session_id: 's-big', type: 'item_added', user_id: 'u-big', price: 1e17, quantity: 1000 }),
    );
    expect(cart.statusCode).toBe(400);
    const track = await postRaw(
      '/v1/track',
      JSON.stringify({ userId: 'u-big', event: 'Order Completed', properties: { revenue: 1e300, order_id: 'o' } }),
    );
    expect(track.statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('a large but storable amount is kept exactly', async () => {
    const res = await postRaw(
      '/api/v1/interactions',
      JSON.stringify({
        user_id: 'u-rich',
        item_id: 'yacht',
        interaction_type: 'purchase',
        metadata: { price: '9999999999.99', currency: 'USD' },
      }),
    );
    expect(res.statusCode).toBe(201);
    const [row] = await queryRows<{ p: string }>(
      t.database.db,
      sql`SELECT price_minor::text AS p FROM interactions WHERE tenant_id = ${A.tenantId} AND user_id = 'u-rich'`,
    );
    expect(row!.p).toBe('999999999999');
  });
});
