import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * GET /webhooks/deliveries as the deliveries table: a total of the filter beside each page, whitelisted sorts in
 * offset pages that neither repeat nor skip, hostile cursor/sort/offset refused with 400, another tenant's none.
 * No job runs here: the deliveries stay pending, which is all a list needs.
 */
let t: TestApp;
const A = { tenantId: '', token: '' };
const B = { tenantId: '', token: '' };
const N = 7;
let endpointA = '';

beforeAll(async () => {
  t = await createTestApp({ LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32' });
  for (const [who, name] of [
    [A, 'Deliveries A'],
    [B, 'Deliveries B'],
  ] as const) {
    const x = await t.createTenant(name);
    who.tenantId = x.tenantId;
    who.token = x.ownerToken;
    const r = await t.request('POST', '/api/v1/webhooks/endpoints', {
      token: x.ownerToken,
      body: { url: `http://127.0.0.1:9/${name.replace(' ', '-')}`, event_types: ['*'] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    if (who === A) endpointA = r.body.id;
  }
  const publish = (tenantId: string, type: 'pricing.price_alert.triggered' | 'webhook.test', key: string) =>
    t.modules.webhooks.publisher.publish(t.database.db, tenantId, [{ type, payload: { key }, idempotencyKey: key }]);
  for (let i = 0; i < N; i++) await publish(A.tenantId, i % 3 === 0 ? 'webhook.test' : 'pricing.price_alert.triggered', `a-${i}`);
  await publish(B.tenantId, 'webhook.test', 'b-0');
}, 600_000);
afterAll(async () => {
  await t?.close();
});

const list = (who: { token: string }, query: string) => t.request('GET', `/api/v1/webhooks/deliveries?${query}`, { token: who.token });
type Delivery = { id: string; type: string; status: string; attempts: number; created_at: string };

describe('GET /api/v1/webhooks/deliveries as a sorted, paged table', () => {
  it("answers the filter's total beside a page; the cursor still pages newest first", async () => {
    const first = await list(A, 'limit=3');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.total).toBe(N);
    expect(first.body.data).toHaveLength(3);
    const next = await list(A, `limit=3&cursor=${first.body.next_cursor}`);
    expect(next.body.data.map((r: Delivery) => r.id)).not.toContain(first.body.data[0].id);
    expect((await list(A, 'type=webhook.test')).body.total).toBe(3);
    expect((await list(A, `endpoint_id=${endpointA}&status=pending`)).body.total).toBe(N);
    expect((await list(A, 'status=failed')).body).toMatchObject({ data: [], total: 0 });
    expect((await list(A, 'endpoint_id=not-a-uuid')).body).toMatchObject({ data: [], total: 0 });
  });

  it('walks each sort in offset pages that neither repeat nor skip', async () => {
    const cmp: Record<string, (a: Delivery, b: Delivery) => number> = {
      type: (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
      '-type': (a, b) => (a.type > b.type ? -1 : a.type < b.type ? 1 : 0),
      created_at: (a, b) => a.created_at.localeCompare(b.created_at),
      '-created_at': (a, b) => b.created_at.localeCompare(a.created_at),
      status: () => 0,
      '-attempts': (a, b) => b.attempts - a.attempts,
    };
    for (const [sort, order] of Object.entries(cmp)) {
      const seen: Delivery[] = [];
      for (let offset = 0; offset < N; offset += 3) {
        const r = await list(A, `sort=${sort}&offset=${offset}&limit=3`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ total: N, next_cursor: null });
        seen.push(...r.body.data);
      }
      expect(new Set(seen.map((r) => r.id)).size, sort).toBe(N);
      for (let i = 1; i < seen.length; i++) expect(order(seen[i - 1]!, seen[i]!), sort).toBeLessThanOrEqual(0);
    }
  });

  it('refuses malformed cursors, unknown sorts and hostile offsets with 400', async () => {
    const { body } = await list(A, 'limit=1');
    for (const q of [
      'cursor=abc',
      "cursor=1'%20OR%20'1'='1",
      'sort=type;DROP',
      'sort=%ED%A0%80',
      'sort=next_attempt_at',
      'offset=-1',
      'offset=10001',
      'offset=1e400',
      `cursor=${body.data[0].id}&sort=type`,
      `cursor=${body.data[0].id}&offset=0`,
    ]) {
      const r = await list(A, q);
      expect(r.status, q).toBe(400);
    }
  });

  it("answers concurrent pages alike and never lists or counts another tenant's deliveries", async () => {
    const pages = await Promise.all(Array.from({ length: 4 }, () => list(A, 'sort=type&offset=2&limit=3')));
    expect(new Set(pages.map((p) => p.body.data.map((r: Delivery) => r.id).join())).size).toBe(1);
    const b = await list(B, 'sort=-created_at');
    expect(b.body.total).toBe(1);
    expect((await list(B, `endpoint_id=${endpointA}`)).body).toMatchObject({ data: [], total: 0 });
  });
});
