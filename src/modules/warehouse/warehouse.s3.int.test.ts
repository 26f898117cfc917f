/**
 * The warehouse export to the S3 object store (LOUPE_S3_BUCKET set) against a local S3-protocol server (s3rver)
 * behind a proxy that can go down: files an outside reader (hyparquet) reads back row for row, nothing in the local
 * export folder, a crashed batch (journal and half its files in the bucket) redone without duplicates, an outage that
 * fails clearly and leaves the watermark where it was, a stale lease taken over, and tenants kept apart.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { parquetReadObjects } from 'hyparquet';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

const BUCKET = 'loupe-export';
let s3rver: S3rver;
let dir: string;
let proxy: http.Server;
let down = false;
let t: TestApp;
let A: string;
let B: string;
let writeA: string;

async function getObject(tenantId: string, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await t.storage.get(tenantId, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Manifest {
  tenant_id: string;
  tables: Record<string, { files: Array<{ path: string; row_count: number; sha256: string }> }>;
}
const manifestOf = async (tenantId: string) =>
  JSON.parse((await getObject(tenantId, `warehouse/tenant_id=${tenantId}/manifest.json`)).toString('utf8')) as Manifest;

/** Every exported event id of a tenant, read through its manifest with an outside reader. */
async function exportedEventIds(tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const f of (await manifestOf(tenantId)).tables.events!.files) {
    const buf = await getObject(tenantId, `warehouse/tenant_id=${tenantId}/${f.path}`);
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    const rows = (await parquetReadObjects({ file })) as Array<{ id: string }>;
    expect(rows.length).toBe(f.row_count);
    ids.push(...rows.map((r) => r.id));
  }
  return ids.sort();
}

const sourceIds = async (tenantId: string) =>
  (
    await queryRows<{ id: string }>(t.database.db, sql`SELECT id::text AS id FROM interactions WHERE tenant_id = ${tenantId} ORDER BY id`)
  ).map((r) => r.id);

async function postEvents(token: string, prefix: string, n: number) {
  const events = Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-${i}`,
    user_id: `${prefix}-u${i % 7}`,
    item_id: `SKU-${i % 11}`,
    interaction_type: 'view',
    timestamp: `2026-03-0${1 + (i % 3)}T10:15:00.123Z`,
  }));
  const r = await t.request('POST', '/api/v1/interactions/batch', { token, body: { events } });
  expect(r.status).toBe(200);
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? 'no code',
  );

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-s3-export-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = (await s3rver.run()) as AddressInfo;
  proxy = http.createServer((req, res) => {
    if (down) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t = await createTestApp({
    LOUPE_EXPORT_SETTLE_SECONDS: '0',
    LOUPE_S3_BUCKET: BUCKET,
    LOUPE_S3_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    LOUPE_S3_ACCESS_KEY_ID: 'S3RVER',
    LOUPE_S3_SECRET_ACCESS_KEY: 'S3RVER',
    LOUPE_S3_PREFIX: 'loupe/',
  });
  const a = await t.createTenant('S3 export A');
  const b = await t.createTenant('S3 export B');
  A = a.tenantId;
  B = b.tenantId;
  writeA = await a.apiKey(['interactions:write']);
  await postEvents(writeA, 'a', 300);
  await postEvents(await b.apiKey(['interactions:write']), 'b', 40);
}, 120_000);

afterAll(async () => {
  await t?.close();
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await s3rver?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('warehouse export to S3', () => {
  it('writes Parquet objects an outside reader reads back row for row, nothing in the local folder', async () => {
    const out = await t.modules.warehouse.exportTenant(A, { tables: ['events'], batchRows: 120 });
    expect(out.tables[0]).toMatchObject({ table: 'events', rows: 300, batches: 3 });
    expect(await exportedEventIds(A)).toEqual(await sourceIds(A));
    const m = await manifestOf(A);
    expect(m.tenant_id).toBe(A);
    // Objects live under the prefix, in the tenant's area, Hive-style partitions.
    const stored = await fs.readdir(path.join(dir, BUCKET, 'loupe', A, 'warehouse', `tenant_id=${A}`, 'events'));
    expect(stored.sort()).toEqual(['date=2026-03-01', 'date=2026-03-02', 'date=2026-03-03']);
    // The lease is released (its row stays, expired, for the next token); no journal is left; the local export
    // folder was never used.
    const lease = await queryRows<{ free: boolean }>(
      t.database.db,
      sql`SELECT expires_at <= now() AS free FROM warehouse_export_leases WHERE tenant_id = ${A}`,
    );
    expect(lease).toEqual([{ free: true }]);
    expect(await t.storage.exists(A, `warehouse/tenant_id=${A}/events/_pending.json`)).toBe(false);
    await expect(fs.access(path.join(t.config.warehouse.exportDir, `tenant_id=${A}`))).rejects.toThrow();
  });

  it('redoes a batch cut off after its journal and part of its files: no duplicate, nothing skipped', async () => {
    await postEvents(writeA, 'a2', 30);
    const seq = 4;
    const partial = `events/date=2026-02-28/part-${String(seq).padStart(8, '0')}.parquet`;
    // What a killed exporter leaves: the batch's journal and one half-finished file under the batch's name.
    await t.storage.put(
      A,
      `warehouse/tenant_id=${A}/events/_pending.json`,
      Buffer.from(JSON.stringify({ seq, files: [`tenant_id=${A}/${partial}`] })),
    );
    await t.storage.put(A, `warehouse/tenant_id=${A}/${partial}`, Buffer.from('not parquet'));
    const out = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(out.tables[0]).toMatchObject({ rows: 30, batches: 1 });
    const ids = await exportedEventIds(A);
    expect(ids).toEqual(await sourceIds(A));
    expect(new Set(ids).size).toBe(330);
    // The cut-off batch's stray file (a partition the redone batch does not write) is gone, and so is its journal.
    expect(await t.storage.exists(A, `warehouse/tenant_id=${A}/${partial}`)).toBe(false);
    expect(await t.storage.exists(A, `warehouse/tenant_id=${A}/events/_pending.json`)).toBe(false);
  });

  it('fails clearly when the store is down and leaves the watermark where it was; the next run catches up', async () => {
    await postEvents(writeA, 'a3', 20);
    const before = await manifestOf(A);
    down = true;
    try {
      expect(await code(t.modules.warehouse.exportTenant(A, { tables: ['events'] }))).toBe('OBJECT_STORE_UNAVAILABLE');
    } finally {
      down = false;
    }
    const wm = await queryRows<{ rows: string }>(
      t.database.db,
      sql`SELECT rows_exported::text AS rows FROM warehouse_watermarks WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    expect(wm[0]?.rows).toBe('330');
    expect(await manifestOf(A)).toEqual(before);
    await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(await exportedEventIds(A)).toEqual(await sourceIds(A));
  }, 60_000);

  it('takes over a lapsed lease of a killed exporter, with a larger fencing token', async () => {
    await t.database.db.execute(
      sql`UPDATE warehouse_export_leases SET owner = ${'00000000-0000-7000-8000-00000000dead'}, token = 41, expires_at = now() - interval '1 second'
           WHERE tenant_id = ${A}`,
    );
    await postEvents(writeA, 'a4', 5);
    const out = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(out.tables[0]).toMatchObject({ rows: 5 });
    const lease = await queryRows<{ token: string; free: boolean }>(
      t.database.db,
      sql`SELECT token::text AS token, expires_at <= now() AS free FROM warehouse_export_leases WHERE tenant_id = ${A}`,
    );
    expect(lease).toEqual([{ token: '42', free: true }]);
  });

  it('lets one of two racing exporters hold the lease at a time: every row once, tokens one per run', async () => {
    await postEvents(writeA, 'a5', 25);
    const before = Number(
      (
        await queryRows<{ token: string }>(
          t.database.db,
          sql`SELECT token::text AS token FROM warehouse_export_leases WHERE tenant_id = ${A}`,
        )
      )[0]!.token,
    );
    const runs = await Promise.all([0, 1, 2, 3].map(() => t.modules.warehouse.exportTenant(A, { tables: ['events'], batchRows: 10 })));
    // One exported the 25 rows; the others, each after it released, found nothing new.
    expect(runs.map((r) => r.tables[0]!.rows).sort((x, y) => x - y)).toEqual([0, 0, 0, 25]);
    const ids = await exportedEventIds(A);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(await sourceIds(A));
    const after = Number(
      (
        await queryRows<{ token: string }>(
          t.database.db,
          sql`SELECT token::text AS token FROM warehouse_export_leases WHERE tenant_id = ${A}`,
        )
      )[0]!.token,
    );
    expect(after - before).toBe(4);
  });

  it('fences off an exporter whose lease was taken over: its next batch is refused, the taker finishes', async () => {
    await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    await postEvents(writeA, 'a6', 30);
    const rowsBefore = (await sourceIds(A)).length - 30;
    let takenOver: Promise<unknown> | null = null;
    const first = t.modules.warehouse.exportTenant(A, {
      tables: ['events'],
      batchRows: 10,
      onProgress: (p) => {
        if (p.rowsDone === 10 && !takenOver) {
          // What a second exporter does after this one paused past its lease: a takeover (new owner, token + 1).
          // (Started now, before the exporter's next statement: drizzle's query runs when awaited or then'd.)
          takenOver = t.database.db
            .execute(
              sql`UPDATE warehouse_export_leases SET owner = ${'00000000-0000-7000-8000-0000000000aa'}, token = token + 1,
                       expires_at = now() + interval '1 minute' WHERE tenant_id = ${A}`,
            )
            .then(() => undefined);
        }
      },
    });
    expect(await code(first)).toBe('WAREHOUSE_EXPORT_RUNNING');
    expect(takenOver).not.toBeNull();
    const wm = await queryRows<{ rows: string }>(
      t.database.db,
      sql`SELECT rows_exported::text AS rows FROM warehouse_watermarks WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    expect(Number(wm[0]!.rows)).toBe(rowsBefore + 10);
    // The taker's lease ends; the next run exports the rest once.
    await t.database.db.execute(sql`UPDATE warehouse_export_leases SET expires_at = now() - interval '1 second' WHERE tenant_id = ${A}`);
    const out = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(out.tables[0]).toMatchObject({ rows: 20 });
    const ids = await exportedEventIds(A);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(await sourceIds(A));
  });

  it("keeps tenants apart: B's objects hold only B's rows, in B's area", async () => {
    await t.modules.warehouse.exportTenant(B, { tables: ['events'] });
    const ids = await exportedEventIds(B);
    expect(ids).toEqual(await sourceIds(B));
    expect(ids.length).toBe(40);
    expect(await t.storage.exists(B, `warehouse/tenant_id=${A}/manifest.json`)).toBe(false);
  });
});
