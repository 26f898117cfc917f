/**
 * With LOUPE_INTERACTIONS_RETENTION_MONTHS set, an event older than the horizon is not stored: every channel says
 * why (a named field and the date kept from), never "duplicate" or a silent success.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, multipartBody, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { monthStart } from './interaction-partitions.core.ts';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let key: string;
const OLD = '2019-03-02T10:00:00Z';
const recent = () => monthStart(new Date(), -1).toISOString();
const horizonDay = () => monthStart(new Date(), -12).toISOString().slice(0, 10);

beforeAll(async () => {
  t = await createTestApp({ LOUPE_INTERACTIONS_RETENTION_MONTHS: '12' });
  A = await t.createTenant('Retention store');
  key = await A.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const stored = async (userId: string) =>
  (
    await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${A.tenantId} AND user_id = ${userId}`,
    )
  )[0]!.n;

describe('events older than the retention period', () => {
  it('POST /interactions refuses one with a named field and the first day kept', async () => {
    const res = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: 'ret-1', item_id: 'P1', interaction_type: 'view', timestamp: OLD },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { field: 'timestamp', message: expect.stringContaining(`events before ${horizonDay()} are not kept`) },
    ]);
    expect(await stored('ret-1')).toBe(0);
  });

  it('the batch answers it rejected, apart from the events it stores and the duplicates', async () => {
    const events = [
      { user_id: 'ret-2', item_id: 'P1', interaction_type: 'view', timestamp: OLD, event_id: 'old-1' },
      { user_id: 'ret-2', item_id: 'P1', interaction_type: 'view', timestamp: recent(), event_id: 'new-1' },
    ];
    const first = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 1 });
    expect(first.body.results[0]).toEqual({
      index: 0,
      status: 'rejected',
      errors: [{ field: 'timestamp', message: expect.stringContaining('older than the retention period') }],
    });
    const again = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 });
    expect(await stored('ret-2')).toBe(1);
  });

  it('a file import reports each such row as a row error, not as a duplicate', async () => {
    const csv = `user_id,item_id,interaction_type,timestamp\nret-3,P1,view,${OLD}\nret-3,P2,view,${recent()}\nret-3,P2,view,${recent()}\n`;
    const m = multipartBody(csv, {}, 'events.csv');
    const res = await t.request('POST', '/api/v1/upload/interactions', {
      token: key,
      body: m.body as unknown as string,
      headers: { 'content-type': m.contentType },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows_accepted: 2, rows_rejected: 1 });
    expect(res.body.validation_errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code])).toEqual([
      [2, 'timestamp', 'OUTSIDE_RETENTION'],
    ]);
    expect(await stored('ret-3')).toBe(1);
  });
});
