import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * GET /profiles as the customers table: a total of what matches, whitelisted sorts in offset pages that neither
 * repeat nor skip, hostile sort/offset input refused, and no other tenant's profile in a page or a total.
 */
let t: TestApp;
let A: { tenantId: string; ownerToken: string };
let B: { tenantId: string; ownerToken: string };
const N = 14;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Customers table A');
  B = await t.createTenant('Customers table B');
  for (const [tenant, count, tag] of [
    [A, N, 'a'],
    [B, 3, 'b'],
  ] as const) {
    const ids = await t.modules.identity.resolveMany(
      tenant.tenantId,
      Array.from({ length: count }, (_, i) => ({
        identifiers: [{ type: 'email', value: `buyer${String(i).padStart(2, '0')}@${tag}.test` }],
        channel: 'api',
        occurredAt: new Date(Date.UTC(2011, 0, 1 + ((i * 5) % N))),
      })),
    );
    // Aggregates come from orders and events; spread them here so that each sort differs from id order.
    for (const [i, id] of ids.entries())
      await t.database.db.execute(sql`UPDATE profiles SET total_orders = ${(i * 7) % 5}, revenue_minor = ${((i * 7919) % 97) * 100},
          profile_strength = ${(i * 3) % 11} WHERE tenant_id = ${tenant.tenantId} AND id = ${id}`);
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const list = (token: string, query: string) => t.request('GET', `/api/v1/profiles?${query}`, { token });
type Row = { id: string; total_orders: number; lifetime_value_minor: string; profile_strength: number; last_seen_at: string };

describe('GET /api/v1/profiles as a sorted, paged table', () => {
  it('answers the total of all matches beside one page', async () => {
    const first = await list(A.ownerToken, 'limit=5');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(N);
    expect(first.body.data).toHaveLength(5);
    expect(first.body.next_cursor).not.toBeNull();
    const found = await list(A.ownerToken, 'identifier=buyer03@a.test');
    expect(found.body.total).toBe(1);
    const none = await list(A.ownerToken, 'email=nobody@a.test');
    expect(none.body).toMatchObject({ data: [], total: 0 });
  });

  it('walks every sort in offset pages that neither repeat nor skip, in the sort order', async () => {
    const cmp: Record<string, (a: Row, b: Row) => number> = {
      total_orders: (a, b) => a.total_orders - b.total_orders,
      '-total_orders': (a, b) => b.total_orders - a.total_orders,
      lifetime_value: (a, b) => Number(a.lifetime_value_minor) - Number(b.lifetime_value_minor),
      '-lifetime_value': (a, b) => Number(b.lifetime_value_minor) - Number(a.lifetime_value_minor),
      profile_strength: (a, b) => a.profile_strength - b.profile_strength,
      '-last_seen_at': (a, b) => b.last_seen_at.localeCompare(a.last_seen_at),
    };
    for (const [sort, order] of Object.entries(cmp)) {
      const seen: Row[] = [];
      for (let offset = 0; offset < N; offset += 5) {
        const r = await list(A.ownerToken, `sort=${sort}&offset=${offset}&limit=5`);
        expect(r.status).toBe(200);
        expect(r.body.total).toBe(N);
        expect(r.body.next_cursor).toBeNull();
        seen.push(...r.body.data);
      }
      expect(new Set(seen.map((p) => p.id)).size).toBe(N);
      for (let i = 1; i < seen.length; i++) expect(order(seen[i - 1]!, seen[i]!), sort).toBeLessThanOrEqual(0);
    }
  });

  it('refuses sorts outside the whitelist and hostile offsets with 400', async () => {
    const { body } = await list(A.ownerToken, 'limit=1');
    for (const q of [
      'sort=revenue_minor',
      'sort=id%3BDROP%20TABLE%20profiles',
      'sort=%00',
      'sort=%ED%A0%80',
      'offset=-1',
      'offset=10001',
      'offset=1e400',
      'offset=99999999999999999999999',
      'offset=0.5',
      `cursor=${body.data[0].id}&sort=total_orders`,
      `cursor=${body.data[0].id}&offset=5`,
    ]) {
      const r = await list(A.ownerToken, q);
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body)).not.toContain('DROP');
    }
    const deep = await list(A.ownerToken, 'sort=-total_orders&offset=10000');
    expect(deep.status).toBe(200);
    expect(deep.body).toMatchObject({ data: [], total: N });
  });

  it('answers the same page to concurrent requests', async () => {
    const pages = await Promise.all(Array.from({ length: 5 }, () => list(A.ownerToken, 'sort=-lifetime_value&offset=3&limit=4')));
    expect(new Set(pages.map((p) => p.body.data.map((r: Row) => r.id).join())).size).toBe(1);
    expect(pages[0]!.body.data).toHaveLength(4);
  });

  it("never shows or counts another tenant's profiles", async () => {
    const b = await list(B.ownerToken, 'sort=-total_orders&limit=100');
    expect(b.body.total).toBe(3);
    const other = await list(B.ownerToken, 'identifier=buyer03@a.test&sort=total_orders');
    expect(other.body).toMatchObject({ data: [], total: 0 });
    const own = await list(A.ownerToken, 'email=buyer01@b.test&offset=0');
    expect(own.body).toMatchObject({ data: [], total: 0 });
  });
});
