import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { signHmacSha256Base64 } from './connectors/signatures.core.ts';

/**
 * C2 (issue 22): one tenant's bad bytes never fail another tenant's writes, and a client is told exactly what
 * was stored. Vendor payloads with a NUL are scrubbed, not refused (see scrubVendorEvents).
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Honest store');
  B = await t.createTenant('Noisy store');
  keyA = await A.apiKey(['interactions:write']);
  keyB = await B.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const count = async (tenantId: string) =>
  Number(
    (await queryRows<{ n: string }>(t.database.db, sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${tenantId}`))[0]!.n,
  );

const postRaw = (key: string, url: string, payload: string) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload });

describe('tenant isolation of the write path under bad bytes (C2)', () => {
  it("tenant B sending NULs in a loop never fails tenant A's concurrent batches; A's stored rows equal what A was told", async () => {
    const before = await count(A.tenantId);
    let stop = false;
    const noise = (async () => {
      const answers: number[] = [];
      for (let i = 0; !stop; i++) {
        // NUL as JSON escapes, a lone surrogate, and a NUL in a Segment message: all refused at the edge.
        const bodies = [
          JSON.stringify({ events: [{ user_id: `b\u0000${i}`, item_id: 'x', interaction_type: 'view' }] }),
          JSON.stringify({ events: [{ user_id: `b${i}`, item_id: 'x', interaction_type: 'view', metadata: { t: '\ud800' } }] }),
        ];
        for (const b of bodies) answers.push((await postRaw(keyB, '/api/v1/interactions/batch', b)).statusCode);
        answers.push((await postRaw(keyB, '/v1/track', JSON.stringify({ userId: `b${i}`, event: 'X\u0000' }))).statusCode);
      }
      return answers;
    })();
    let told = 0;
    const statuses: number[] = [];
    const sendA = async (w: number) => {
      for (let i = 0; i < 12; i++) {
        const events = Array.from({ length: 25 }, (_, k) => ({
          user_id: `a-${w}-${k % 5}`,
          item_id: `i-${i}-${k}`,
          interaction_type: 'view',
          timestamp: new Date(Date.UTC(2026, 0, 1, 0, w, i, k)).toISOString(),
        }));
        const res = await postRaw(keyA, '/api/v1/interactions/batch', JSON.stringify({ events }));
        statuses.push(res.statusCode);
        if (res.statusCode === 200) told += res.json().accepted;
      }
    };
    await Promise.all([0, 1, 2, 3].map(sendA));
    stop = true;
    const bAnswers = await noise;
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(told).toBe(4 * 12 * 25);
    expect(await count(A.tenantId)).toBe(before + told);
    expect(bAnswers.length).toBeGreaterThan(0);
    expect(bAnswers.every((s) => s === 400)).toBe(true);
    expect(await count(B.tenantId)).toBe(0);
  });
});

describe('a NUL inside a signed vendor payload', () => {
  it('is stripped (the order is kept, the delivery processed once), never a 500 or a refused delivery', async () => {
    const secret = 'shpss_nul_secret';
    const c = await t.request('POST', '/api/v1/integrations', {
      token: A.ownerToken,
      body: { type: 'shopify', name: 'NUL shop', settings: { shop_domain: 'nul.myshopify.com' }, secret },
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const raw = JSON.stringify({
      id: 4242,
      currency: 'EUR',
      email: 'buyer@nul.example',
      customer: { id: 77, email: 'buyer@nul.example', first_name: 'An\u0000n' },
      line_items: [{ id: 1, product_id: 31, quantity: 1, price: '12.50', title: 'Board\u0000 \ud800X' }],
    });
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/webhooks/shopify/${c.body.id}`,
        payload: raw,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-hmac-sha256': signHmacSha256Base64(secret, raw),
          'x-shopify-webhook-id': 'nul-1',
        },
      });
    const first = await send();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ status: 'processed', events_written: 1 });
    expect((await send()).json()).toMatchObject({ status: 'duplicate' });
    const rows = await queryRows<{ orderId: string; priceMinor: string }>(
      t.database.db,
      sql`SELECT order_id AS "orderId", price_minor::text AS "priceMinor" FROM interactions WHERE tenant_id = ${A.tenantId} AND order_id = '4242'`,
    );
    expect(rows).toEqual([{ orderId: '4242', priceMinor: '1250' }]);
  });
});
