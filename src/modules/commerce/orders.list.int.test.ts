import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * GET /orders as a merchant's table: a total of what matches, whitelisted sorts with offset pages that neither
 * repeat nor skip a row, hostile sort/offset input refused, and no other tenant's order in any page or total.
 */
let t: TestApp;
let A: { tenantId: string; ownerToken: string };
let B: { tenantId: string; ownerToken: string };
const N = 23;

/** Order i of a tenant: ids time-ordered like the service's, totals and statuses spread so sorts differ from id order. */
const orderId = (tenant: number, i: number) => `0190b000-0000-7000-8${tenant}00-${String(i).padStart(12, '0')}`;
const cartId = (tenant: number, i: number) => `0190b000-0000-7000-9${tenant}00-${String(i).padStart(12, '0')}`;
const STATUSES = ['paid', 'pending', 'fulfilled', 'refunded'];

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Orders table A');
  B = await t.createTenant('Orders table B');
  // Orders come from checkouts; rows written as the commerce module stores them stand in for them here.
  for (const [n, tenant] of [
    [1, A],
    [2, B],
  ] as const) {
    const count = n === 1 ? N : 3;
    for (let i = 0; i < count; i++) {
      const total = ((i * 7919) % 97) * 100 + 1;
      await t.database.db.execute(sql`INSERT INTO orders (tenant_id, id, cart_id, user_id, email, currency, status, subtotal_minor,
          discount_total_minor, tax_total_minor, shipping_total_minor, total_minor, paid_minor, created_at)
        VALUES (${tenant.tenantId}, ${orderId(n, i)}, ${cartId(n, i)}, ${`${n === 1 ? 'a' : 'b'}-user-${i % 5}`},
          ${`shopper${String(i).padStart(2, '0')}@${n === 1 ? 'a' : 'b'}.test`}, 'GBP', ${STATUSES[i % 4]}, ${total}, 0, 0, 0, ${total}, ${total},
          ${new Date(Date.UTC(2011, 0, 1 + ((i * 5) % N))).toISOString()}::timestamptz)`);
    }
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const list = (token: string, query: string) => t.request('GET', `/api/v1/orders?${query}`, { token });
type Row = { id: string; total: number; status: string; created_at: string; email: string };

describe('GET /api/v1/orders as a sorted, paged table', () => {
  it('answers the total of all matches beside one page, for keyset and offset pages', async () => {
    const first = await list(A.ownerToken, 'limit=10');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(N);
    expect(first.body.data).toHaveLength(10);
    expect(first.body.next_cursor).toBe(first.body.data[9].id);
    const filtered = await list(A.ownerToken, 'status=paid&limit=2');
    expect(filtered.body.total).toBe(Math.ceil(N / 4));
    expect(filtered.body.data.every((o: Row) => o.status === 'paid')).toBe(true);
  });

  it('walks every sort in offset pages that neither repeat nor skip, in the sort order', async () => {
    const cmp: Record<string, (a: Row, b: Row) => number> = {
      total: (a, b) => a.total - b.total,
      '-total': (a, b) => b.total - a.total,
      created_at: (a, b) => a.created_at.localeCompare(b.created_at),
      '-created_at': (a, b) => b.created_at.localeCompare(a.created_at),
      status: (a, b) => a.status.localeCompare(b.status),
      email: (a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0),
    };
    for (const [sort, order] of Object.entries(cmp)) {
      const seen: Row[] = [];
      for (let offset = 0; offset < N; offset += 10) {
        const r = await list(A.ownerToken, `sort=${sort}&offset=${offset}&limit=10`);
        expect(r.status).toBe(200);
        expect(r.body.total).toBe(N);
        expect(r.body.next_cursor).toBeNull();
        seen.push(...r.body.data);
      }
      expect(new Set(seen.map((o) => o.id)).size).toBe(N);
      for (let i = 1; i < seen.length; i++) expect(order(seen[i - 1]!, seen[i]!)).toBeLessThanOrEqual(0);
    }
  });

  it('refuses sorts outside the whitelist and hostile offsets with 400, naming no value', async () => {
    for (const q of [
      'sort=id;DROP TABLE orders',
      'sort=total_minor',
      'sort=%00',
      'sort=%ED%A0%80',
      'sort=total,-status',
      'offset=-1',
      'offset=10001',
      'offset=1e400',
      'offset=99999999999999999999999',
      'offset=1.5',
      'offset=abc',
      `cursor=${orderId(1, 3)}&sort=total`,
      `cursor=${orderId(1, 3)}&offset=10`,
    ]) {
      const r = await list(A.ownerToken, q);
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body)).not.toContain('DROP');
    }
    const deep = await list(A.ownerToken, 'sort=-total&offset=10000');
    expect(deep.status).toBe(200);
    expect(deep.body.data).toEqual([]);
    expect(deep.body.total).toBe(N);
  });

  it('answers the same page to repeated and concurrent requests', async () => {
    const pages = await Promise.all(Array.from({ length: 6 }, () => list(A.ownerToken, 'sort=status&offset=5&limit=7')));
    const ids = pages.map((p) => p.body.data.map((o: Row) => o.id).join());
    expect(new Set(ids).size).toBe(1);
    expect(pages[0]!.body.data).toHaveLength(7);
  });

  it("never shows or counts another tenant's orders, whatever the sort, search or offset", async () => {
    const b = await list(B.ownerToken, 'sort=-total&limit=100');
    expect(b.body.total).toBe(3);
    expect(b.body.data.every((o: Row) => o.id.includes('-8200-'))).toBe(true);
    const searchOther = await list(B.ownerToken, 'q=a.test&sort=email');
    expect(searchOther.body.total).toBe(0);
    expect(searchOther.body.data).toEqual([]);
    const searchOwn = await list(A.ownerToken, 'q=b.test&offset=0');
    expect(searchOwn.body.total).toBe(0);
  });
});
