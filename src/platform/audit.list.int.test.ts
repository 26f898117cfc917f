import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers.ts';
import { createAuditRepository } from './audit.repository.ts';

/**
 * GET /audit/logs as the audit table: a total of the filter beside each page, whitelisted sorts in offset pages
 * that neither repeat nor skip, hostile cursor/sort/offset refused with 400, another tenant's entries never counted.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
const ACTIONS = ['api_key.create', 'member.invite', 'model.deploy', 'api_key.revoke', 'import.upload', 'model.train', 'api_key.create'];

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Audit A');
  B = await t.createTenant('Audit B');
  // Entries as the audit hook writes them, on a tenant of their own so the counts below are exact.
  const audit = createAuditRepository(t.database.db);
  const entry = (tenantId: string, action: string, outcome: 'success' | 'failure') => ({
    tenantId,
    actorType: outcome === 'success' ? 'user' : 'api_key',
    actorId: null,
    action,
    resourceType: 'test',
    resourceId: null,
    outcome,
    statusCode: outcome === 'success' ? 200 : 403,
    ip: null,
    userAgent: null,
    requestId: null,
    details: null,
  });
  for (const [i, action] of ACTIONS.entries()) await audit.insert(entry(A.tenantId, action, i % 3 === 0 ? 'failure' : 'success'));
  await audit.insert(entry(B.tenantId, 'api_key.create', 'success'));
}, 600_000);
afterAll(async () => {
  await t?.close();
});

const list = (token: string, query: string) => t.request('GET', `/api/v1/audit/logs?resource_type=test&${query}`, { token });
type Entry = { id: string; action: string; outcome: string; actor_type: string; created_at: string };
const N = ACTIONS.length;
const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('GET /api/v1/audit/logs as a sorted, paged table', () => {
  it("answers the filter's total beside a page; the cursor still pages newest first", async () => {
    const first = await list(A.ownerToken, 'limit=3');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.total).toBe(N);
    expect(first.body.data).toHaveLength(3);
    const next = await list(A.ownerToken, `limit=3&cursor=${first.body.next_cursor}`);
    expect(next.body.data.map((r: Entry) => r.id)).not.toContain(first.body.data[0].id);
    expect((await list(A.ownerToken, 'action=api_key.*')).body.total).toBe(3);
    expect((await list(A.ownerToken, 'outcome=failure')).body.total).toBe(3);
  });

  it('walks each sort in offset pages that neither repeat nor skip', async () => {
    const cmp: Record<string, (a: Entry, b: Entry) => number> = {
      action: (a, b) => text(a.action, b.action),
      '-action': (a, b) => text(b.action, a.action),
      outcome: (a, b) => text(a.outcome, b.outcome),
      '-actor_type': (a, b) => text(b.actor_type, a.actor_type),
      created_at: (a, b) => a.created_at.localeCompare(b.created_at),
      '-created_at': (a, b) => b.created_at.localeCompare(a.created_at),
    };
    for (const [sort, order] of Object.entries(cmp)) {
      const seen: Entry[] = [];
      for (let offset = 0; offset < N; offset += 3) {
        const r = await list(A.ownerToken, `sort=${sort}&offset=${offset}&limit=3`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ total: N, next_cursor: null });
        seen.push(...r.body.data);
      }
      expect(new Set(seen.map((r) => r.id)).size, sort).toBe(N);
      for (let i = 1; i < seen.length; i++) expect(order(seen[i - 1]!, seen[i]!), sort).toBeLessThanOrEqual(0);
    }
  });

  it('refuses malformed cursors, unknown sorts and hostile offsets with 400', async () => {
    const { body } = await list(A.ownerToken, 'limit=1');
    for (const q of [
      'cursor=abc',
      "cursor=1'%20OR%20'1'='1",
      'sort=action;DROP',
      'sort=%ED%A0%80',
      'sort=ip',
      'offset=-1',
      'offset=10001',
      'offset=1e400',
      `cursor=${body.data[0].id}&sort=action`,
      `cursor=${body.data[0].id}&offset=0`,
    ]) {
      const r = await list(A.ownerToken, q);
      expect(r.status, q).toBe(400);
    }
  });

  it("answers concurrent pages alike and never lists or counts another tenant's entries", async () => {
    const pages = await Promise.all(Array.from({ length: 4 }, () => list(A.ownerToken, 'sort=action&offset=2&limit=3')));
    expect(new Set(pages.map((p) => p.body.data.map((r: Entry) => r.id).join())).size).toBe(1);
    const b = await list(B.ownerToken, 'sort=-action');
    expect(b.body.total).toBe(1);
    expect(b.body.data.map((r: Entry) => r.action)).toEqual(['api_key.create']);
  });
});
