import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';

/**
 * Price alerts end to end: a shopper watches a product, feed imports move its best price, each alert fires once
 * per change (no flapping) into its history, and another tenant can neither see nor touch them.
 */
let t: TestApp;
let key: string;
let otherKey: string;
let ownerA: string;
let ownerB: string;
/** Loupe's outbound webhooks as a local receiver got them (path, headers, raw body). */
const received: { path: string; headers: Record<string, string>; body: string }[] = [];
let receiver: http.Server;
let receiverUrl: string;
let storeId: string;
let productId: string;
const EAN = '4006381333931';

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await createTestApp({ LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32' });
  const a = await t.createTenant('Alerts A');
  const b = await t.createTenant('Alerts B');
  ownerA = a.ownerToken;
  ownerB = b.ownerToken;
  key = await a.apiKey(['catalog:read', 'catalog:write']);
  otherKey = await b.apiKey(['catalog:read', 'catalog:write']);
  t.jobs.start({ concurrency: 1 });
  storeId = (await api('POST', '/api/v1/pricing/stores', { name: 'Outlet' })).body.id;
  await importPrice('60.00');
  productId = (await api('GET', '/api/v1/pricing/offers?q=P1')).body.data[0].match_group_id;
}, 240_000);
afterAll(async () => {
  await t?.close();
  await new Promise((r) => receiver?.close(r));
}, 120_000);

function api(method: string, url: string, body?: unknown, k = key) {
  return t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });
}

async function importPrice(price: string, row = { id: 'P1', gtin: EAN, availability: 'in stock' }, store = storeId) {
  const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="feed.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(`id,title,gtin,price,availability\n${row.id},Stapler ${row.id},${row.gtin},${price} USD,${row.availability}\n`),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const up = await t.request('POST', `/api/v1/pricing/stores/${store}/feeds`, {
    token: key,
    body: body as unknown as string,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  expect(up.status).toBe(202);
  for (let i = 0; i < 600; i++) {
    const run = await api('GET', up.body.status_url);
    if (run.body.status === 'succeeded') return;
    if (run.body.status === 'failed') throw new Error(run.body.failure);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('feed import did not finish');
}

const P2 = { id: 'P2', gtin: '5901234123457', availability: 'in stock' };

const events = async (user: string, k = key) =>
  (await api('GET', `/api/v1/pricing/alert-events?user_id=${user}`, undefined, k)).body.data as {
    kind: string;
    price: string;
    threshold: string;
  }[];

describe('price alerts', () => {
  it('an obvious price error (90% below the median) is not the best price: it fires no alert, as the page does not advertise it', async () => {
    const gtin = '036000291452';
    const stores: string[] = [];
    for (const name of ['Err A', 'Err B', 'Err C']) stores.push((await api('POST', '/api/v1/pricing/stores', { name })).body.id);
    for (const [k, s] of stores.entries()) await importPrice('100.00', { id: `E${k}`, gtin, availability: 'in stock' }, s);
    const group = (await api('GET', '/api/v1/pricing/offers?q=E0')).body.data[0].match_group_id;
    expect((await api('GET', '/api/v1/pricing/offers?q=E2')).body.data[0].match_group_id).toBe(group);
    const a = await api('POST', '/api/v1/pricing/alerts', { user_id: 'u9', product_id: group, kind: 'target_price', target_price: '50' });
    expect(a.status).toBe(201);
    await importPrice('5.00', { id: 'E2', gtin, availability: 'in stock' }, stores[2]);
    const page = (await api('GET', `/api/v1/products/${group}`)).body.pricing;
    expect(page.best_offer.price_minor).toBe('10000');
    expect([...page.other_offers, page.best_offer].find((o: { price_minor: string }) => o.price_minor === '500').price_error).toBe(true);
    expect(await events('u9')).toEqual([]);
    // the store corrects its price to a real drop below the target: that fires, once
    await importPrice('45.00', { id: 'E2', gtin, availability: 'in stock' }, stores[2]);
    expect(await events('u9')).toMatchObject([{ kind: 'target_price', price: '45.00', threshold: '50.00' }]);
  });

  it('fire once per change: a target when reached (again only after rising above it), any drop on each new low', async () => {
    const target = await api('POST', '/api/v1/pricing/alerts', {
      user_id: 'u1',
      product_id: productId,
      kind: 'target_price',
      target_price: '50',
    });
    expect(target.status).toBe(201);
    expect(target.body).toMatchObject({
      user_id: 'u1',
      product_id: productId,
      kind: 'target_price',
      target_price: '50.00',
      currency: 'USD',
      armed: true,
    });
    const drop = await api('POST', '/api/v1/pricing/alerts', { user_id: 'u1', product_id: productId, kind: 'any_drop' });
    expect(drop.body).toMatchObject({ kind: 'any_drop', lowest_seen_price: '60.00' });

    await importPrice('55.00');
    expect(await events('u1')).toMatchObject([{ kind: 'any_drop', price: '55.00', threshold: '60.00' }]);
    await importPrice('49.00');
    await importPrice('49.00'); // the same price again: nothing
    const e = await events('u1');
    expect(e).toHaveLength(3);
    expect(
      e
        .slice(0, 2)
        .map((x) => x.kind)
        .sort(),
    ).toEqual(['any_drop', 'target_price']);
    await importPrice('52.00');
    await importPrice('49.50'); // crosses the target again; not a new low
    const all = await events('u1');
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({ kind: 'target_price', price: '49.50', threshold: '50.00' });
    const listed = (await api('GET', '/api/v1/pricing/alerts?user_id=u1')).body.data;
    expect(listed.find((a: { kind: string }) => a.kind === 'any_drop')).toMatchObject({ lowest_seen_price: '49.00' });
    expect(listed.find((a: { kind: string }) => a.kind === 'target_price')).toMatchObject({ armed: false });
  });

  it("another tenant cannot watch, list, read the history of or delete this tenant's alerts", async () => {
    expect((await api('POST', '/api/v1/pricing/alerts', { user_id: 'u1', product_id: productId, kind: 'any_drop' }, otherKey)).status).toBe(
      404,
    );
    expect((await api('GET', '/api/v1/pricing/alerts', undefined, otherKey)).body.data).toEqual([]);
    expect(await events('u1', otherKey)).toEqual([]);
    const mine = (await api('GET', '/api/v1/pricing/alerts?user_id=u1')).body.data[0];
    expect((await api('DELETE', `/api/v1/pricing/alerts/${mine.id}`, undefined, otherKey)).status).toBe(404);
    expect((await api('GET', '/api/v1/pricing/alerts?user_id=u1')).body.data).toHaveLength(2);
  });

  it('refuses bad input with a clear 4xx and keeps nothing of it', async () => {
    const base = { user_id: 'u2', product_id: productId, kind: 'target_price' };
    for (const body of [
      { ...base, target_price: 'abc' },
      { ...base, target_price: '-5' },
      { ...base, target_price: '0' },
      { ...base, target_price: '1e400' },
      { ...base, target_price: '9'.repeat(39) },
      { ...base, target_price: '1.234' },
      base,
      { ...base, kind: 'any_drop', target_price: '5' },
      { ...base, user_id: 'a\u0000b', target_price: '5' },
      { ...base, user_id: 'a\ud800b', target_price: '5' },
      { ...base, kind: 'sometime', target_price: '5' },
      { ...base, target_price: '5', extra: 1 },
      { ...base, target_price: '5', currency: 'usd' },
    ])
      expect((await api('POST', '/api/v1/pricing/alerts', body)).status, JSON.stringify(body)).toBe(400);
    for (const id of ['not-a-uuid', '00000000-0000-0000-0000-000000000000', 'x'.repeat(300)])
      expect((await api('POST', '/api/v1/pricing/alerts', { ...base, product_id: id, target_price: '5' })).status).toBeGreaterThanOrEqual(
        400,
      );
    expect((await api('GET', '/api/v1/pricing/alerts?user_id=u2')).body.data).toEqual([]);
    // The same watch twice: 409, one alert kept.
    expect((await api('POST', '/api/v1/pricing/alerts', { ...base, target_price: '5' })).status).toBe(201);
    const again = await Promise.all([1, 2, 3].map(() => api('POST', '/api/v1/pricing/alerts', { ...base, target_price: '6' })));
    expect(again.map((r) => r.status)).toEqual([409, 409, 409]);
    expect((await api('GET', '/api/v1/pricing/alerts?user_id=u2')).body.data).toHaveLength(1);
    expect((await api('GET', '/api/v1/pricing/alerts?cursor=zzz')).status).toBe(400);
    expect((await api('DELETE', '/api/v1/pricing/alerts/not-a-uuid')).status).toBe(404);
  });
  it('percent_drop, lowest_in_days and back_in_stock each fire once and only once across repeated imports', async () => {
    await importPrice('100.00', P2);
    const product = (await api('GET', '/api/v1/pricing/offers?q=P2')).body.data[0].match_group_id;
    const watch = (body: object) => api('POST', '/api/v1/pricing/alerts', { user_id: 'u3', product_id: product, ...body });
    const pct = await watch({ kind: 'percent_drop', drop_percent: 10 });
    expect(pct.status).toBe(201);
    expect(pct.body).toMatchObject({ kind: 'percent_drop', drop_percent: 10, days: null, reference_price: '100.00', currency: 'USD' });
    expect((await watch({ kind: 'lowest_in_days', days: 30 })).body).toMatchObject({ kind: 'lowest_in_days', days: 30 });
    expect((await watch({ kind: 'back_in_stock' })).body).toMatchObject({ kind: 'back_in_stock', armed: false });
    const kinds = async () => (await events('u3')).map((e) => `${e.kind}@${e.price}<${e.threshold}`).sort();

    await importPrice('95.00', P2); // 5%: not a 10% drop; below 100, the only price of the last 30 days
    expect(await kinds()).toEqual(['lowest_in_days@95.00<100.00']);
    await importPrice('95.00', P2); // the same import again: nothing
    await importPrice('90.00', P2); // 10% off 100 exactly; 90 < 95 is a new 30-day low
    expect(await kinds()).toEqual(['lowest_in_days@90.00<95.00', 'lowest_in_days@95.00<100.00', 'percent_drop@90.00<100.00']);
    await importPrice('90.00', P2);
    await importPrice('90.00', { ...P2, availability: 'out of stock' }); // arms back_in_stock, changes no price rule
    await importPrice('92.00', P2); // back in stock; 92 is not below 90 (in effect in the window), nor 10% off 90
    await importPrice('92.00', P2);
    const all = await events('u3');
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({ kind: 'back_in_stock', price: '92.00', threshold: null });
    const listed = (await api('GET', '/api/v1/pricing/alerts?user_id=u3')).body.data as { kind: string }[];
    expect(listed.find((a) => a.kind === 'percent_drop')).toMatchObject({ reference_price: '90.00' });
    expect(listed.find((a) => a.kind === 'back_in_stock')).toMatchObject({ armed: false });
    // Another tenant cannot watch this product with the new kinds.
    expect(
      (await api('POST', '/api/v1/pricing/alerts', { user_id: 'u3', product_id: product, kind: 'back_in_stock' }, otherKey)).status,
    ).toBe(404);
  });

  it('refuses a missing, misplaced or out-of-range parameter of the new kinds with 400 naming the field', async () => {
    const base = { user_id: 'u4', product_id: productId };
    const cases: [object, string][] = [
      [{ kind: 'percent_drop' }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: 0 }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: 100 }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: 12.5 }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: 2 ** 63 }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: '10' }, 'drop_percent'],
      [{ kind: 'percent_drop', drop_percent: 10, days: 5 }, 'days'],
      [{ kind: 'lowest_in_days' }, 'days'],
      [{ kind: 'lowest_in_days', days: 0 }, 'days'],
      [{ kind: 'lowest_in_days', days: 366 }, 'days'],
      [{ kind: 'lowest_in_days', days: 1e300 }, 'days'],
      [{ kind: 'lowest_in_days', days: 7, target_price: '5' }, 'target_price'],
      [{ kind: 'back_in_stock', drop_percent: 5 }, 'drop_percent'],
      [{ kind: 'target_price', target_price: '5', days: 3 }, 'days'],
    ];
    for (const [body, field] of cases) {
      const r = await api('POST', '/api/v1/pricing/alerts', { ...base, ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(
        (r.body.error.details as { field: string }[]).map((d) => d.field).some((f) => f.includes(field)),
        JSON.stringify(r.body),
      ).toBe(true);
    }
    expect((await api('GET', '/api/v1/pricing/alerts?user_id=u4')).body.data).toEqual([]);
    // The same new-kind watch at once: one alert, the rest 409.
    const same = await Promise.all(
      [1, 2, 3].map(() => api('POST', '/api/v1/pricing/alerts', { ...base, kind: 'lowest_in_days', days: 7 })),
    );
    expect(same.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });
  it("each firing reaches the tenant's webhook once, signed (standardwebhooks verifies it); another tenant's endpoint hears nothing", async () => {
    const hook = (owner: string, path: string, types: string[]) =>
      t.request('POST', '/api/v1/webhooks/endpoints', { token: owner, body: { url: `${receiverUrl}${path}`, event_types: types } });
    const endpoint = await hook(ownerA, '/alerts-a', ['pricing.price_alert.*']);
    expect(endpoint.status).toBe(201);
    expect((await hook(ownerB, '/alerts-b', ['*'])).status).toBe(201);
    const P3 = { id: 'P3', gtin: '9780201379624', availability: 'in stock' };
    await importPrice('80.00', P3);
    const group = (await api('GET', '/api/v1/pricing/offers?q=P3')).body.data[0].match_group_id as string;
    const alert = await api('POST', '/api/v1/pricing/alerts', {
      user_id: 'hooked',
      product_id: group,
      kind: 'target_price',
      target_price: '70',
    });
    expect(alert.status).toBe(201);

    await importPrice('65.00', P3);
    const [fired] = await pollUntil(
      'the alert webhook',
      async () => received.filter((r) => r.path === '/alerts-a'),
      (r) => r.length >= 1,
    );
    const payload = new Webhook(endpoint.body.secret).verify(fired!.body, fired!.headers) as {
      type: string;
      data: Record<string, unknown>;
    };
    expect(payload).toMatchObject({
      type: 'pricing.price_alert.triggered',
      data: { alert_id: alert.body.id, user_id: 'hooked', product_id: group, kind: 'target_price', price: '65.00', threshold: '70.00' },
    });
    expect((await events('hooked'))[0]).toMatchObject({ id: payload.data.id });
    // the same price again fires nothing, so nothing more is sent; tenant B's catch-all endpoint heard nothing
    await importPrice('65.00', P3);
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((r) => r.path === '/alerts-a')).toHaveLength(1);
    expect(received.filter((r) => r.path === '/alerts-b')).toHaveLength(0);
  });
});
