import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../../../sdk/src/node.ts';
import { buildApp } from '../../app.ts';
import { queryOne } from '../../platform/index.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { sendWebhook } from './webhooks.sender.ts';

/**
 * Outbound webhooks end to end against a local receiver: signatures checked with the standardwebhooks package and
 * the SDK's helper, retries after 500s, redirects and timeouts, tenant isolation (deliveries and in-flight caps),
 * hostile input, redelivery and concurrent publishes, a price alert's webhook, and an outbox row written before a
 * "crash" delivered once by a queue restarted on the same database.
 */

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}
const received: Received[] = [];
const hung: http.ServerResponse[] = [];
const failFirst = new Map<string, number>();
let receiver: http.Server;
let base = '';
let t: TestApp;
let clockOffsetMs = 0;
const A = { tenantId: '', token: '' };
const B = { tenantId: '', token: '' };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      if (path.startsWith('/hang')) return void hung.push(res);
      if (path.startsWith('/redirect')) return void res.writeHead(302, { location: `${base}/redirected` }).end();
      if (path.startsWith('/fail')) return void res.writeHead(500).end('x'.repeat(5000));
      const left = failFirst.get(path) ?? 0;
      if (left > 0) {
        failFirst.set(path, left - 1);
        return void res.writeHead(503).end('busy');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await createTestApp(
    {
      LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32',
      LOUPE_WEBHOOKS_RETRY_SCHEDULE: '0,0',
      LOUPE_WEBHOOKS_MAX_IN_FLIGHT: '2',
      LOUPE_WEBHOOKS_TIMEOUT_MS: '30000',
    },
    { clock: () => new Date(Date.now() + clockOffsetMs) },
  );
  for (const [who, name] of [
    [A, 'Hooks A'],
    [B, 'Hooks B'],
  ] as const) {
    const x = await t.createTenant(name);
    who.tenantId = x.tenantId;
    who.token = x.ownerToken;
  }
  t.jobs.start({ concurrency: 4 });
}, 240_000);

afterAll(async () => {
  for (const res of hung.splice(0)) res.end();
  await t?.close();
  await new Promise((r) => receiver?.close(r));
}, 120_000);

const api = (who: { token: string }, method: string, url: string, body?: unknown) =>
  t.request(method, url, { token: who.token, ...(body !== undefined ? { body } : {}) });

async function endpoint(who: { token: string }, path: string, eventTypes = ['*']) {
  const r = await api(who, 'POST', '/api/v1/webhooks/endpoints', { url: `${base}${path}`, event_types: eventTypes, description: path });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; secret: string };
}
const at = (path: string) => received.filter((r) => r.path === path);
const delivery = async (who: { token: string }, id: string) => (await api(who, 'GET', `/api/v1/webhooks/deliveries/${id}`)).body;
const settled = (who: { token: string }, id: string) =>
  pollUntil(
    `delivery ${id} settled`,
    () => delivery(who, id),
    (d) => d.status === 'succeeded' || d.status === 'failed',
  );

async function publish(tenantId: string, events: { type: 'pricing.price_alert.triggered' | 'webhook.test'; key: string }[]) {
  const wh = t.modules.webhooks.publisher;
  const out = await wh.publish(
    t.database.db,
    tenantId,
    events.map((e) => ({ type: e.type, payload: { key: e.key }, idempotencyKey: e.key })),
  );
  await wh.dispatch(out);
  return out;
}

describe('endpoints and signatures', () => {
  it('creates an endpoint with a secret shown once and signs a test event the standardwebhooks verifier accepts', async () => {
    const ep = await endpoint(A, '/a1', ['pricing.*']);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const listed = await api(A, 'GET', '/api/v1/webhooks/endpoints');
    expect(JSON.stringify(listed.body)).not.toContain(ep.secret);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toContain(ep.id);

    const sent = await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`);
    expect(sent.status).toBe(202);
    const d = await settled(A, sent.body.id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1, last_status_code: 200 });
    expect(d.log).toMatchObject([{ attempt: 1, ok: true, status_code: 200, response_body: 'ok' }]);
    const [req] = at('/a1');
    const payload = new Webhook(ep.secret).verify(req!.body, req!.headers) as { type: string; data: { endpoint_id: string } };
    expect(payload).toMatchObject({ type: 'webhook.test', data: { endpoint_id: ep.id } });
    expect(req!.headers['webhook-id']).toBe(`msg_${sent.body.message_id.replace(/-/g, '')}`);
    // the SDK's helper agrees, and refuses a tampered body, another secret and an old delivery
    await expect(verifyWebhook(ep.secret, req!.headers, req!.body)).resolves.toMatchObject({ type: 'webhook.test' });
    await expect(verifyWebhook(ep.secret, req!.headers, req!.body.replace('test', 'tost'))).rejects.toMatchObject({
      code: 'no_matching_signature',
    });
    const other = (await endpoint(A, '/a-other')).secret;
    await expect(verifyWebhook(other, req!.headers, req!.body)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(ep.secret, req!.headers, req!.body, { now: new Date(Date.now() + 600_000) })).rejects.toMatchObject({
      code: 'timestamp_out_of_tolerance',
    });
    await expect(verifyWebhook(ep.secret, {}, req!.body)).rejects.toMatchObject({ code: 'missing_header' });
  });

  it('rotation: both secrets sign during the grace period, only the new one after a rotation without grace', async () => {
    const ep = await endpoint(A, '/rotate');
    const rotated = await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { grace_hours: 1 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    await settled(A, (await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`)).body.id);
    const req = at('/rotate').at(-1)!;
    expect(req.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    new Webhook(ep.secret).verify(req.body, req.headers);
    new Webhook(rotated.body.secret).verify(req.body, req.headers);

    const again = await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { grace_hours: 0 });
    await settled(A, (await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`)).body.id);
    const last = at('/rotate').at(-1)!;
    new Webhook(again.body.secret).verify(last.body, last.headers);
    expect(() => new Webhook(rotated.body.secret).verify(last.body, last.headers)).toThrow();
  });

  it('refuses hostile, malformed, oversized and duplicated input', async () => {
    const create = (body: unknown) => api(A, 'POST', '/api/v1/webhooks/endpoints', body);
    for (const url of [
      'file:///etc/passwd',
      'ftp://example.com/x',
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/',
      'http://0.0.0.0/',
      'http://192.168.1.20/',
      'http://[::ffff:10.0.0.1]/',
      'http://user:pw@127.0.0.1/',
      'not a url',
      `https://example.com/${'a'.repeat(2100)}`,
      'http://127.0.0.1\u0000.evil.test/',
      'http://\ud800.test/',
    ]) {
      const r = await create({ url, event_types: ['*'] });
      expect([400, 422], url).toContain(r.status);
    }
    const ok = { url: `${base}/dup`, event_types: ['*'] };
    for (const body of [
      { ...ok, event_types: [] },
      { ...ok, event_types: ['nope.*'] },
      { ...ok, event_types: ['pricing.*.x'] },
      { ...ok, event_types: Array.from({ length: 51 }, () => '*') },
      { ...ok, description: 'x'.repeat(501) },
      { ...ok, description: 'bad \ud800' },
      { ...ok, extra: 1 },
    ]) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    expect(
      (
        await t.request('POST', '/api/v1/webhooks/endpoints', {
          token: A.token,
          body: deep,
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
    const ep = await endpoint(A, '/dup');
    expect((await create(ok)).status).toBe(409);
    const huge = await t.request('POST', `/api/v1/webhooks/endpoints/${ep.id}/rotate-secret`, {
      token: A.token,
      body: '{"grace_hours": 1e400}',
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBe(400);
    // duplicated event types collapse; concurrent creates of one URL: exactly one wins
    const results = await Promise.all(Array.from({ length: 5 }, () => create({ url: `${base}/race`, event_types: ['*', '*'] })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect(results.find((r) => r.status === 201)!.body.event_types).toEqual(['*']);
    expect((await api(A, 'GET', '/api/v1/webhooks/deliveries?cursor=zzz')).status).toBe(400);
    expect((await api(A, 'GET', '/api/v1/webhooks/deliveries?limit=100000')).status).toBe(400);
  });
});

describe('tenants', () => {
  it("tenant B never sees, changes or receives tenant A's endpoints and events", async () => {
    const a = await endpoint(A, '/iso-a');
    const b = await endpoint(B, '/iso-b');
    for (const [method, url, body] of [
      ['GET', `/api/v1/webhooks/endpoints/${a.id}`],
      ['PATCH', `/api/v1/webhooks/endpoints/${a.id}`, { enabled: false }],
      ['POST', `/api/v1/webhooks/endpoints/${a.id}/test`],
      ['POST', `/api/v1/webhooks/endpoints/${a.id}/rotate-secret`, {}],
      ['DELETE', `/api/v1/webhooks/endpoints/${a.id}`],
    ] as const)
      expect((await api(B, method, url, body)).status, `${method} ${url}`).toBe(404);
    expect((await api(B, 'GET', '/api/v1/webhooks/endpoints')).body.data.map((e: { id: string }) => e.id)).toEqual([b.id]);

    const pubB = await publish(B.tenantId, [{ type: 'pricing.price_alert.triggered', key: 'iso-b-1' }]);
    expect(pubB.deliveryIds).toHaveLength(1);
    await settled(B, pubB.deliveryIds[0]!);
    expect(at('/iso-b')).toHaveLength(1);
    expect(at('/iso-a')).toHaveLength(0);
    expect((await api(A, 'GET', `/api/v1/webhooks/deliveries/${pubB.deliveryIds[0]}`)).status).toBe(404);
    expect((await api(A, 'POST', `/api/v1/webhooks/deliveries/${pubB.deliveryIds[0]}/redeliver`)).status).toBe(404);
    const listA = await api(A, 'GET', `/api/v1/webhooks/deliveries?endpoint_id=${b.id}`);
    expect(listA.body.data).toEqual([]);
    expect((await api(A, 'GET', `/api/v1/webhooks/endpoints/${a.id}`)).body.enabled).toBe(true);
  });

  it("one tenant's hanging endpoint holds at most its in-flight cap and never delays another tenant", async () => {
    const x = await t.createTenant('Hooks slow');
    const y = await t.createTenant('Hooks fast');
    await endpoint({ token: x.ownerToken }, '/hang');
    await endpoint({ token: y.ownerToken }, '/fast');
    await publish(
      x.tenantId,
      Array.from({ length: 6 }, (_, i) => ({ type: 'pricing.price_alert.triggered' as const, key: `hang-${i}` })),
    );
    await pollUntil(
      'two hanging requests',
      async () => hung.length,
      (n) => n >= 2,
    );
    const fast = await publish(y.tenantId, [{ type: 'pricing.price_alert.triggered', key: 'fast-1' }]);
    await settled({ token: y.ownerToken }, fast.deliveryIds[0]!);
    // tenant y was served while x's endpoint still held its two requests and the rest of x's waited
    expect(hung.length).toBe(2);
    expect(at('/hang')).toHaveLength(2);
    const waiting = await api({ token: x.ownerToken }, 'GET', '/api/v1/webhooks/deliveries?status=pending');
    expect(waiting.body.data.length).toBe(4);
    const release = setInterval(() => {
      for (const res of hung.splice(0)) res.writeHead(200).end('late');
    }, 20);
    try {
      await pollUntil(
        'x delivered',
        async () => (await api({ token: x.ownerToken }, 'GET', '/api/v1/webhooks/deliveries?status=succeeded')).body.data.length,
        (n) => n === 6,
      );
    } finally {
      clearInterval(release);
    }
  });
});

describe('delivery', () => {
  it('retries after 5xx with backoff, the same webhook-id on every attempt, until it succeeds', async () => {
    await endpoint(A, '/flaky', ['pricing.price_alert.triggered']);
    failFirst.set('/flaky', 2);
    const pub = await publish(A.tenantId, [{ type: 'pricing.price_alert.triggered', key: 'flaky-1' }]);
    const all = await Promise.all(pub.deliveryIds.map((d) => settled(A, d)));
    const d = all.find((x) => x.log.some((l: { status_code: number }) => l.status_code === 503))!;
    expect(d).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(d.log.map((l: { status_code: number }) => l.status_code)).toEqual([503, 503, 200]);
    const reqs = at('/flaky');
    expect(reqs).toHaveLength(3);
    expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('counts a redirect as a failure without following it, and keeps 1 kB of an error body', async () => {
    const r = await endpoint(A, '/redirect', ['webhook.test']);
    const f = await endpoint(A, '/fail', ['webhook.test']);
    const dr = await settled(A, (await api(A, 'POST', `/api/v1/webhooks/endpoints/${r.id}/test`)).body.id);
    expect(dr).toMatchObject({ status: 'failed', attempts: 3, last_status_code: 302, last_error: 'redirect (302) not followed' });
    expect(at('/redirected')).toHaveLength(0);
    const df = await settled(A, (await api(A, 'POST', `/api/v1/webhooks/endpoints/${f.id}/test`)).body.id);
    expect(df.status).toBe('failed');
    expect(df.log[0].response_body).toHaveLength(1024);
    const list = await api(A, 'GET', `/api/v1/webhooks/deliveries?endpoint_id=${f.id}&status=failed&type=webhook.test`);
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([df.id]);
  });

  it('abandons an attempt after the timeout', async () => {
    const r = await sendWebhook(new URL(`${base}/hang-timeout`), {}, '{}', { timeoutMs: 200, policy: true });
    expect(r).toMatchObject({ ok: false, statusCode: null, error: 'timed out after 200 ms' });
    const refused = await sendWebhook(new URL('http://10.1.2.3/'), {}, '{}', { timeoutMs: 200, policy: false });
    expect(refused.error).toMatch(/private/);
  });

  it('redelivers once however often and concurrently it is asked, with the same webhook-id', async () => {
    const ep = await endpoint(A, '/redeliver', ['webhook.test']);
    const first = await settled(A, (await api(A, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`)).body.id);
    const asks = await Promise.all(Array.from({ length: 4 }, () => api(A, 'POST', `/api/v1/webhooks/deliveries/${first.id}/redeliver`)));
    expect(asks.map((x) => x.status)).toEqual([202, 202, 202, 202]);
    const d = await settled(A, first.id);
    await pollUntil(
      'queue idle',
      async () => (await t.jobs.list(A.tenantId, { type: 'webhooks.deliver', status: 'queued', limit: 5 })).length,
      (n) => n === 0,
    );
    expect(d.attempts).toBe(2);
    const reqs = at('/redeliver');
    expect(reqs).toHaveLength(2);
    expect(reqs[0]!.headers['webhook-id']).toBe(reqs[1]!.headers['webhook-id']);
  });

  it('concurrent publishes with repeated idempotency keys deliver each event once', async () => {
    await endpoint(B, '/concurrent', ['pricing.*']);
    const before = at('/concurrent').length;
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publish(B.tenantId, [{ type: 'pricing.price_alert.triggered', key: `c-${i % 10}` }])),
    );
    expect(outs.reduce((n, o) => n + o.messages, 0)).toBe(10);
    const ids = outs.flatMap((o) => o.deliveryIds);
    for (const id of ids) await settled(B, id);
    const got = at('/concurrent').slice(before);
    expect(new Set(got.map((r) => JSON.parse(r.body).data.key))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `c-${i}`)));
    expect(got).toHaveLength(10);
  });

  it('disables an endpoint failing for the configured days, with its reason; enabling clears it', async () => {
    const c = await t.createTenant('Hooks dying');
    const who = { token: c.ownerToken };
    const ep = await endpoint(who, '/fail-days', ['webhook.test']);
    clockOffsetMs = 6 * 86_400_000;
    try {
      const d = await settled(who, (await api(who, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`)).body.id);
      expect(d.status).toBe('failed');
    } finally {
      clockOffsetMs = 0;
    }
    const e = (await api(who, 'GET', `/api/v1/webhooks/endpoints/${ep.id}`)).body;
    expect(e.enabled).toBe(false);
    expect(e.disabled_reason).toMatch(/failed for 5 days/);
    expect((await api(who, 'POST', `/api/v1/webhooks/endpoints/${ep.id}/test`)).status).toBe(409);
    const on = await api(who, 'PATCH', `/api/v1/webhooks/endpoints/${ep.id}`, { enabled: true });
    expect(on.body).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
    const stats = await api(who, 'GET', '/api/v1/webhooks/stats?days=30');
    expect(stats.body.data.reduce((n: number, s: { attempts: number }) => n + s.attempts, 0)).toBeGreaterThanOrEqual(2);
    expect(stats.body.data[0].success_rate).toBe(0);
  });
});

describe('producers and the outbox', () => {
  it('a price alert firing sends pricing.price_alert.triggered once per change', async () => {
    const c = await t.createTenant('Hooks pricing');
    const key = await c.apiKey(['catalog:read', 'catalog:write']);
    await endpoint({ token: c.ownerToken }, '/alerts', ['pricing.*']);
    const storeId = (await t.request('POST', '/api/v1/pricing/stores', { token: key, body: { name: 'Outlet' } })).body.id;
    const importPrice = async (price: string) => {
      const boundary = '----loupehooks';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="feed.csv"\r\nContent-Type: text/csv\r\n\r\n`),
        Buffer.from(`id,title,gtin,price\nP1,Stapler,4006381333931,${price} USD\n`),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
        token: key,
        body: body as unknown as string,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(up.status).toBe(202);
      await pollUntil(
        'feed import',
        async () => (await t.request('GET', up.body.status_url, { token: key })).body.status,
        (s) => s === 'succeeded',
      );
    };
    await importPrice('60.00');
    const productId = (await t.request('GET', '/api/v1/pricing/offers?q=P1', { token: key })).body.data[0].match_group_id;
    const alert = await t.request('POST', '/api/v1/pricing/alerts', {
      token: key,
      body: { user_id: 'shopper-1', product_id: productId, kind: 'target_price', target_price: '50.00' },
    });
    expect(alert.status).toBe(201);
    await importPrice('45.00');
    const deliveries = await pollUntil(
      'alert webhook delivered',
      async () =>
        (await api({ token: c.ownerToken }, 'GET', '/api/v1/webhooks/deliveries?status=succeeded')).body.data as { type: string }[],
      (d) => d.length === 1,
    );
    expect(deliveries[0]!.type).toBe('pricing.price_alert.triggered');
    const body = JSON.parse(at('/alerts')[0]!.body);
    expect(body.data).toMatchObject({ alert_id: alert.body.id, user_id: 'shopper-1', price: '45.00', threshold: '50.00', currency: 'USD' });
    await importPrice('44.00'); // still below the target: no new firing, no new webhook
    const all = await api({ token: c.ownerToken }, 'GET', '/api/v1/webhooks/deliveries');
    expect(all.body.data).toHaveLength(1);
  });

  it('predictions publish segment entries on change only: not on the first run, not on a rescore that moves nothing', async () => {
    const c = await t.createTenant('Hooks predictions');
    const who = { token: c.ownerToken };
    await endpoint(who, '/predictions', ['predictions.*']);
    const now = Date.now();
    const day = 86_400_000;
    const ids = await t.modules.identity.resolveMany(
      c.tenantId,
      Array.from({ length: 8 }, (_, i) => ({
        identifiers: [{ type: 'user_id' as const, value: `p${i}` }],
        channel: 'api' as const,
        occurredAt: new Date(now - 400 * day),
      })),
    );
    const buy = (profileId: string, daysAgo: number[], minor: bigint, tag: string) =>
      daysAgo.map((d, k) => ({
        profileId,
        type: 'purchase' as const,
        revenueMinor: minor,
        currency: 'EUR',
        orderId: `${tag}-${k}`,
        channel: 'api' as const,
        occurredAt: new Date(now - d * day),
      }));
    await t.modules.identity.recordActivity(
      c.tenantId,
      ids.flatMap((id, i) =>
        buy(
          id!,
          Array.from({ length: 1 + (i % 4) }, (_, k) => 20 + i * 40 + k * 7),
          BigInt(1000 + i * 900),
          `o${i}`,
        ),
      ),
    );
    const train = () =>
      t.modules.predictions.train(c.tenantId, { jobId: null, signal: new AbortController().signal, progress: async () => {} });
    const segmentEvents = async () =>
      (await api(who, 'GET', '/api/v1/webhooks/deliveries?type=predictions.segment.entered&limit=500')).body.data as { id: string }[];
    await train();
    expect(await segmentEvents()).toEqual([]);
    // the customer who lapsed longest comes back with many recent, large orders: a new segment
    await t.modules.identity.recordActivity(c.tenantId, buy(ids[7]!, [1, 2, 3, 4, 5, 6], 90_000n, 'back'));
    await train();
    const entered = await segmentEvents();
    expect(entered.length).toBeGreaterThanOrEqual(1);
    for (const d of entered) await settled(who, d.id);
    const bodies = at('/predictions').map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.data.profile_id)).toContain(ids[7]);
    expect(bodies.find((b) => b.data.profile_id === ids[7]).data.previous_segment).not.toBe(
      bodies.find((b) => b.data.profile_id === ids[7]).data.segment,
    );
    await train();
    expect((await segmentEvents()).length).toBe(entered.length);
  });

  it('an outbox row written before a crash is delivered exactly once by a queue restarted on the same database', async () => {
    const c = await t.createTenant('Hooks crash');
    const { secret } = await endpoint({ token: c.ownerToken }, '/crash', ['pricing.*']);
    // "crash": no worker, no sweep, and the producer's transaction commits but nothing dispatches it
    await t.jobs.stop();
    const published = await t.database.db.transaction((tx) =>
      t.modules.webhooks.publisher.publish(tx, c.tenantId, [
        { type: 'pricing.price_alert.triggered', payload: { n: 1 }, idempotencyKey: 'crash-1' },
      ]),
    );
    expect(published.deliveryIds).toHaveLength(1);
    // the restart also rotates the installation's secrets key: the endpoint's secret is re-sealed at start
    const oldKey = fs.readFileSync(path.join(t.dataDir, 'secrets.key'), 'utf8').trim();
    const restarted = await buildApp({ ...t.config, secretsKey: { current: 'b'.repeat(64), previous: oldKey } }, { database: t.database });
    try {
      restarted.jobs.start({ concurrency: 2 });
      // The restarted process's scheduler sweeps when elected (the webhooks.sweep task); a second sweep finds nothing new.
      const sweep = restarted.scheduledTasks.find((x) => x.name === 'webhooks.sweep')!;
      await sweep.run();
      await settled({ token: c.ownerToken }, published.deliveryIds[0]!);
      await sweep.run();
      await pollUntil(
        'no queued delivery jobs',
        async () => (await restarted.jobs.list(c.tenantId, { type: 'webhooks.deliver', status: 'queued', limit: 5 })).length,
        (n) => n === 0,
      );
      await restarted.jobs.drain();
      expect(at('/crash')).toHaveLength(1);
      const req = at('/crash')[0]!;
      expect(new Webhook(secret).verify(req.body, req.headers)).toMatchObject({ data: { n: 1 } });
      const newKeyId = createHash('sha256')
        .update(Buffer.from('b'.repeat(64), 'hex'))
        .digest('hex')
        .slice(0, 8);
      const stored = await queryOne<{ secret: string }>(
        t.database.db,
        sql`SELECT secret FROM webhook_endpoints WHERE tenant_id = ${c.tenantId}`,
      );
      expect(stored!.secret.startsWith(`enc:v1:${newKeyId}:`)).toBe(true);
      expect((await delivery({ token: c.ownerToken }, published.deliveryIds[0]!)).attempts).toBe(1);
    } finally {
      await restarted.close();
    }
  });
});
