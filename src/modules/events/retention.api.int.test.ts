/**
 * With LOUPE_INTERACTIONS_RETENTION_MONTHS set, an event older than the horizon is not stored: every channel says
 * why (a named field and the date kept from), never "duplicate" or a silent success. A tenant's own retention
 * (PUT /settings/retention) is stricter for that tenant only: refused writes, a purge of stored rows with their
 * keys, and with archive only the rows the Parquet export has written.
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
  t = await createTestApp({ LOUPE_INTERACTIONS_RETENTION_MONTHS: '12', LOUPE_EXPORT_SETTLE_SECONDS: '0' });
  A = await t.createTenant('Retention store');
  key = await A.apiKey(['interactions:write']);
});
afterAll(async () => {
  await t?.close();
});

const stored = async (userId: string, tenantId = A.tenantId) =>
  (
    await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
    )
  )[0]!.n;
const keysOf = async (tenantId: string) =>
  (await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM interaction_keys WHERE tenant_id = ${tenantId}`))[0]!.n;
/** Three months back: inside the platform's 12, outside a tenant's 1. */
const threeMonthsAgo = (i: number) => new Date(monthStart(new Date(), -3).getTime() + i * 60_000).toISOString();
const oldEvents = (user: string, from: number, n: number) =>
  Array.from({ length: n }, (_, k) => ({
    user_id: user,
    item_id: `P${k}`,
    interaction_type: 'view',
    timestamp: threeMonthsAgo(from + k),
    event_id: `${user}-${from + k}`,
  }));
async function tenantWithOldEvents(name: string, user: string, n: number) {
  const tenant = await t.createTenant(name);
  const k = await tenant.apiKey(['interactions:write']);
  const r = await t.request('POST', '/api/v1/interactions/batch', { token: k, body: { events: oldEvents(user, 0, n) } });
  expect(r.body).toMatchObject({ accepted: n });
  return { tenant, key: k };
}
const setRetention = (tenant: { ownerToken: string }, body: unknown) =>
  t.request('PUT', '/api/v1/settings/retention', { token: tenant.ownerToken, body: body as Record<string, unknown> });

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

describe("a tenant's own retention", () => {
  it('refuses bad settings with named fields, and a purge before any setting', async () => {
    for (const body of [
      { months: 0 },
      { months: 1201 },
      { months: 1.5 },
      { months: '3' },
      { months: 1e300 },
      { months: 3, archive: 'yes' },
      { months: 3, extra: '\u0000' },
      {},
    ]) {
      const r = await setRetention(A, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(['VALIDATION_ERROR', 'UNSAFE_TEXT']).toContain(r.body.error.code);
    }
    const purge = await t.request('POST', '/api/v1/settings/retention/purge', { token: A.ownerToken });
    expect(purge.status).toBe(409);
    expect(purge.body.error.code).toBe('RETENTION_NOT_SET');
    const key = await A.apiKey(['interactions:write']);
    expect((await t.request('PUT', '/api/v1/settings/retention', { token: key, body: { months: 3 } })).status).toBe(403);
  });

  it('without archive: refuses older events for that tenant only, purges its stored rows and their keys', async () => {
    const b = await tenantWithOldEvents('Short memory', 'ret-b', 30);
    const c = await tenantWithOldEvents('Long memory', 'ret-c', 30);
    const set = await setRetention(b.tenant, { months: 1, archive: false });
    expect(set.status).toBe(200);
    const keptFrom = monthStart(new Date(), -1);
    expect(set.body).toMatchObject({
      months: 1,
      archive: false,
      platform_months: 12,
      kept_from: keptFrom.toISOString(),
      past_retention: { rows: 30, awaiting_archive: 0, capped: false },
    });
    // The write refuses what the purge would delete; the other tenant still takes the same timestamps.
    const late = { user_id: 'ret-b', item_id: 'P1', interaction_type: 'view', timestamp: threeMonthsAgo(99) };
    const refused = await t.request('POST', '/api/v1/interactions', { token: b.key, body: late });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].message).toContain(`events before ${keptFrom.toISOString().slice(0, 10)} are not kept`);
    expect((await t.request('POST', '/api/v1/interactions', { token: c.key, body: { ...late, user_id: 'ret-c' } })).status).toBe(201);

    // Two purges at once delete each row once.
    const [p1, p2] = await Promise.all([
      t.request('POST', '/api/v1/settings/retention/purge', { token: b.tenant.ownerToken }),
      t.request('POST', '/api/v1/settings/retention/purge', { token: b.tenant.ownerToken }),
    ]);
    expect([p1.status, p2.status]).toEqual([200, 200]);
    expect(p1.body.deleted + p2.body.deleted).toBe(30);
    expect(await stored('ret-b', b.tenant.tenantId)).toBe(0);
    expect(await keysOf(b.tenant.tenantId)).toBe(0);
    expect(await stored('ret-c', c.tenant.tenantId)).toBe(31);
    expect(await keysOf(c.tenant.tenantId)).toBe(31);
    const after = await t.request('GET', '/api/v1/settings/retention', { token: b.tenant.ownerToken });
    expect(after.body).toMatchObject({ past_retention: { rows: 0 }, purged_rows: 30, last_purge_at: expect.any(String) });
    // Another tenant's setting is its own.
    expect((await t.request('GET', '/api/v1/settings/retention', { token: c.tenant.ownerToken })).body).toMatchObject({
      months: null,
      past_retention: { rows: 0 },
    });
    // Back to keeping everything (up to the platform's): the old timestamps are taken again.
    expect((await setRetention(b.tenant, { months: null })).body).toMatchObject({ months: null, kept_from: expect.any(String) });
    expect((await t.request('POST', '/api/v1/interactions', { token: b.key, body: late })).status).toBe(201);
  });

  it('with archive: deletes only what the Parquet export has written; the hourly task does the same', async () => {
    const d = await tenantWithOldEvents('Archiving store', 'ret-d', 20);
    await t.modules.warehouse.exportTenant(d.tenant.tenantId, { tables: ['events'] });
    // Written after the export: past the retention too, but not archived yet.
    const more = await t.request('POST', '/api/v1/interactions/batch', { token: d.key, body: { events: oldEvents('ret-d', 100, 5) } });
    expect(more.body).toMatchObject({ accepted: 5 });
    const set = await setRetention(d.tenant, { months: 1 });
    expect(set.body).toMatchObject({ archive: true, past_retention: { rows: 25, awaiting_archive: 5 } });

    const task = t.scheduledTasks.find((x) => x.name === 'events.tenant-retention')!;
    await task.run();
    expect(await stored('ret-d', d.tenant.tenantId)).toBe(5);
    expect(await keysOf(d.tenant.tenantId)).toBe(5);
    const purge = await t.request('POST', '/api/v1/settings/retention/purge', { token: d.tenant.ownerToken });
    expect(purge.body).toEqual({ deleted: 0, awaiting_archive: 5, done: true });

    await t.modules.warehouse.exportTenant(d.tenant.tenantId, { tables: ['events'] });
    const last = await t.request('POST', '/api/v1/settings/retention/purge', { token: d.tenant.ownerToken });
    expect(last.body).toEqual({ deleted: 5, awaiting_archive: 0, done: true });
    expect(await stored('ret-d', d.tenant.tenantId)).toBe(0);
  });
});
