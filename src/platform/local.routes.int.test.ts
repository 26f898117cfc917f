import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers.ts';
import { queryRows } from './database.ts';
import { LOCAL_SECRET_HEADER } from './local.routes.ts';

/** The local control routes `loupe import` and `loupe backup` use beside a running server (issue 22, C1). */
const SECRET = 'local-secret-for-tests-0123456789abcdefghijk';
let t: TestApp;
let tenantId: string;
beforeAll(async () => {
  t = await createTestApp({}, { localSecret: SECRET });
  tenantId = (await t.createTenant()).tenantId;
});
afterAll(async () => {
  await t.close();
});

const csv = 'user_id,item_id,type,timestamp\nu1,i1,view,2026-11-01T10:00:00Z\nu2,i2,purchase,2026-11-01T11:00:00Z\n';
const importUrl = (tenant: string) => `/internal/local/imports/interactions?tenant=${tenant}&file_name=local.csv`;

describe('local control routes', () => {
  test('answer like an unknown route without the secret, with a wrong one, or from another address', async () => {
    const cases = [
      { headers: {}, remoteAddress: '127.0.0.1' },
      { headers: { [LOCAL_SECRET_HEADER]: `${SECRET}x` }, remoteAddress: '127.0.0.1' },
      { headers: { [LOCAL_SECRET_HEADER]: SECRET }, remoteAddress: '10.1.2.3' },
      { headers: { [LOCAL_SECRET_HEADER]: SECRET, 'x-forwarded-for': '127.0.0.1' }, remoteAddress: '203.0.113.9' },
    ];
    for (const c of cases) {
      for (const url of [importUrl(tenantId), '/internal/local/backup']) {
        const res = await t.app.inject({
          method: 'POST',
          url,
          remoteAddress: c.remoteAddress,
          headers: { ...c.headers, 'content-type': 'application/octet-stream' },
          payload: csv,
        });
        expect(res.statusCode, `${url} ${JSON.stringify(c)}`).toBe(404);
        expect(res.json().error.code).toBe('ROUTE_NOT_FOUND');
      }
    }
  });

  test('import a file for a tenant from loopback with the secret, streaming progress and the summary', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: importUrl(tenantId),
      remoteAddress: '127.0.0.1',
      headers: { [LOCAL_SECRET_HEADER]: SECRET, 'content-type': 'application/octet-stream' },
      payload: csv,
    });
    expect(res.statusCode).toBe(200);
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: 'done', rows_accepted: 2, rows_rejected: 0 });
    const rows = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND user_id IN ('u1', 'u2')`,
    );
    expect(rows[0]!.n).toBe(2);
  });

  test('an unknown tenant is a plain 404 before anything is read', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: importUrl('no-such-store'),
      remoteAddress: '::1',
      headers: { [LOCAL_SECRET_HEADER]: SECRET, 'content-type': 'application/octet-stream' },
      payload: csv,
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('TENANT_NOT_FOUND');
  });

  test('are absent when the app was built without a local secret', async () => {
    const plain = await createTestApp();
    try {
      const res = await plain.app.inject({
        method: 'POST',
        url: '/internal/local/backup',
        remoteAddress: '127.0.0.1',
        headers: { [LOCAL_SECRET_HEADER]: SECRET },
      });
      expect(res.statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
