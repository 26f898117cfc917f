import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * GET /imports as the history table: a total, whitelisted sorts in offset pages that neither repeat nor skip,
 * hostile cursor/sort/offset refused with 400 (a malformed cursor was a database error), another tenant's none.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
const N = 7;

function multipart(file: string, fileName: string) {
  const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), Buffer.from(file), Buffer.from(`\r\n--${boundary}--\r\n`)]), boundary };
}
const upload = async (token: string, fileName: string, bad: number) => {
  const rows = ['item_id,name,price,currency', `ok-${fileName},Lamp,2.00,GBP`];
  for (let i = 0; i < bad; i++) rows.push(`bad-${i},Lamp,not-a-price,GBP`);
  const m = multipart(rows.join('\n'), fileName);
  const r = await t.request('POST', '/api/v1/upload/items', {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': `multipart/form-data; boundary=${m.boundary}` },
  });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
};

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Import history A');
  B = await t.createTenant('Import history B');
  const keyA = await A.apiKey(['catalog:write']);
  const keyB = await B.apiKey(['catalog:write']);
  for (let i = 0; i < N; i++) await upload(keyA, `file-${String.fromCharCode(97 + ((i * 3) % N))}.csv`, (i * 5) % N);
  await upload(keyB, 'other-tenant.csv', 1);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

const list = (token: string, query: string) => t.request('GET', `/api/v1/imports?${query}`, { token });
type Run = { id: string; file_name: string; rows_rejected: number; created_at: string };

describe('GET /api/v1/imports as a sorted, paged table', () => {
  it('answers the total beside a page; the cursor still pages newest first', async () => {
    const first = await list(A.ownerToken, 'limit=3');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(N);
    expect(first.body.data).toHaveLength(3);
    const next = await list(A.ownerToken, `limit=3&cursor=${first.body.next_cursor}`);
    expect(next.body.data.map((r: Run) => r.id)).not.toContain(first.body.data[0].id);
  });

  it('walks each sort in offset pages that neither repeat nor skip', async () => {
    const cmp: Record<string, (a: Run, b: Run) => number> = {
      rows_rejected: (a, b) => a.rows_rejected - b.rows_rejected,
      '-rows_rejected': (a, b) => b.rows_rejected - a.rows_rejected,
      file_name: (a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0),
      '-created_at': (a, b) => b.created_at.localeCompare(a.created_at),
    };
    for (const [sort, order] of Object.entries(cmp)) {
      const seen: Run[] = [];
      for (let offset = 0; offset < N; offset += 3) {
        const r = await list(A.ownerToken, `sort=${sort}&offset=${offset}&limit=3`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ total: N, next_cursor: null });
        seen.push(...r.body.data);
      }
      expect(new Set(seen.map((r) => r.id)).size).toBe(N);
      for (let i = 1; i < seen.length; i++) expect(order(seen[i - 1]!, seen[i]!), sort).toBeLessThanOrEqual(0);
    }
  });

  it('refuses malformed cursors, unknown sorts and hostile offsets with 400', async () => {
    const { body } = await list(A.ownerToken, 'limit=1');
    for (const q of [
      'cursor=abc',
      'cursor=%00',
      "cursor=1'%20OR%20'1'='1",
      'sort=rows_rejected;DROP',
      'sort=%ED%A0%80',
      'offset=-1',
      'offset=10001',
      'offset=1e400',
      `cursor=${body.data[0].id}&sort=file_name`,
    ]) {
      const r = await list(A.ownerToken, q);
      expect(r.status, q).toBe(400);
    }
  });

  it("answers concurrent pages alike and never lists another tenant's import", async () => {
    const pages = await Promise.all(Array.from({ length: 4 }, () => list(A.ownerToken, 'sort=file_name&offset=2&limit=3')));
    expect(new Set(pages.map((p) => p.body.data.map((r: Run) => r.id).join())).size).toBe(1);
    const all = await list(A.ownerToken, 'limit=200');
    expect(all.body.data.map((r: Run) => r.file_name)).not.toContain('other-tenant.csv');
    const b = await list(B.ownerToken, 'sort=-rows_rejected');
    expect(b.body.total).toBe(1);
  });
});
