/**
 * Hardening of imports (issue 22): a bad byte in one row never aborts a file, binary files are refused
 * with a helpful message, uploads have a row cap and a storage quota, and an interrupted run never stays
 * `running`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp, multipartBody as multipart } from '../../../test/helpers.ts';
import { createImportPipeline } from './imports.pipeline.ts';
import { createImportsRepository } from './imports.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function upload(
  kind: 'items' | 'interactions',
  token: string,
  file: Buffer | string,
  fields: Record<string, string> = {},
  fileName?: string,
) {
  const m = multipart(file, fields, fileName);
  return t.request('POST', `/api/v1/upload/${kind}`, {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
}

const count = async (table: 'items' | 'interactions', tenantId: string) =>
  Number(
    (
      await queryRows<{ n: string }>(t.database.db, sql`SELECT count(*)::text AS n FROM ${sql.raw(table)} WHERE tenant_id = ${tenantId}`)
    )[0]!.n,
  );

/** No control character other than tab/newline, and no lone surrogate, in anything we send back. */
const printable = (s: string) =>
  // eslint-disable-next-line no-control-regex
  !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));

describe('H1: one bad byte in one row never aborts an import', () => {
  it('NDJSON with a NUL on row 3 and a lone surrogate on row 10,003: completed, 2 row errors, every other row stored', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['interactions:write']);
    const lines: string[] = [];
    for (let row = 1; row <= 10_005; row++) {
      const rec: Record<string, unknown> = {
        user_id: `u${row % 400}`,
        item_id: `i${row % 70}`,
        type: 'view',
        timestamp: `2024-02-01T00:${String(Math.floor(row / 60) % 60).padStart(2, '0')}:${String(row % 60).padStart(2, '0')}Z`,
        page: `p${row}`,
      };
      lines.push(JSON.stringify(rec));
    }
    lines[2] = lines[2]!.replace('"page":"p3"', '"page":"p\\u0000 3"');
    lines[10_002] = lines[10_002]!.replace('"page":"p10003"', '"page":"p\\ud800 10003"');
    const res = await upload('interactions', key, `${lines.join('\n')}\n`, {}, 'events.ndjson');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', rows_accepted: 10_003, rows_rejected: 2 });
    expect(res.body.validation_errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code])).toEqual([
      [3, 'page', 'UNSAFE_TEXT'],
      [10_003, 'page', 'UNSAFE_TEXT'],
    ]);
    for (const e of res.body.validation_errors) {
      expect(e.value).toBeNull();
      expect(printable(e.error)).toBe(true);
    }
    expect(await count('interactions', tenantId)).toBe(10_003);
    const run = await t.request('GET', `/api/v1/imports/${res.body.import_id}`, { token: key });
    expect(run.body).toMatchObject({ status: 'succeeded', rows_read: 10_005, rows_accepted: 10_003, rows_rejected: 2, error: null });
  });

  it('a CSV with raw NUL bytes in an item cell on rows 3 and 10,003 keeps every other item', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    const rows = Array.from({ length: 10_005 }, (_, i) => `N${i + 2},Name ${i + 2},desc ${i + 2}`);
    rows[1] = 'N3,Name 3,bad\u0000desc';
    rows[10_001] = 'N10003,Na\u0000me,ok';
    const res = await upload('items', key, `item_id,name,description\n${rows.join('\n')}\n`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows_accepted: 10_003, rows_rejected: 2 });
    expect(res.body.validation_errors.map((e: { row: number; field: string }) => [e.row, e.field])).toEqual([
      [3, 'description'],
      [10_003, 'name'],
    ]);
    expect(await count('items', tenantId)).toBe(10_003);
  });

  it('a row the database refuses is reported alone with a code; the rest of its batch is stored', async () => {
    const { tenantId } = await t.createTenant();
    const repo = createImportsRepository();
    const ingest = t.modules.events.ingest;
    // The database refuses one row's bytes (as PostgreSQL does for a value validation let through).
    const refusing = {
      write: async (ctx: { tenantId: string }, events: Parameters<typeof ingest.write>[1], opts: Parameters<typeof ingest.write>[2]) => {
        const list = Array.isArray(events) ? events : [];
        if (list.some((e) => e.row.itemId === 'POISON'))
          throw Object.assign(new Error('Failed query: insert ...'), {
            cause: Object.assign(new Error('invalid byte \u0000'), { code: '22P05' }),
          });
        return ingest.write(ctx, events, opts);
      },
    };
    const pipeline = createImportPipeline({
      db: t.database.db,
      repo,
      catalog: t.modules.catalog,
      ingest: refusing,
      storage: t.storage,
      clock: () => new Date(),
      log: t.app.log,
      maxDecompressedBytes: 1024 ** 3,
    });
    const rows = Array.from(
      { length: 7000 },
      (_, i) =>
        `u${i % 300},${i === 5 || i === 6500 ? 'POISON' : `i${i % 50}`},view,${new Date(Date.UTC(2024, 2, 1) + i * 1000).toISOString()}`,
    );
    const id = newId();
    const key = `uploads/${id}/poison.csv`;
    const stored = await t.storage.put(tenantId, key, Buffer.from(`user_id,item_id,type,timestamp\n${rows.join('\n')}\n`));
    await repo.create(t.database.db, tenantId, {
      id,
      kind: 'interactions',
      mode: 'async',
      fileName: 'poison.csv',
      options: {},
      createdBy: 'test',
    });
    await repo.setStored(t.database.db, tenantId, id, { storageKey: key, fileBytes: stored.bytes });
    const out = await pipeline.process(tenantId, (await repo.get(t.database.db, tenantId, id))!);
    expect(out).toMatchObject({ rowsRead: 7000, rowsAccepted: 6998, rowsRejected: 2 });
    const issues = await repo.issues(t.database.db, tenantId, id, { limit: 10 });
    expect(issues.map((i) => [i.row, i.field, i.code])).toEqual([
      [7, 'row', 'UNSTORABLE_TEXT'],
      [6502, 'row', 'UNSTORABLE_TEXT'],
    ]);
    expect(issues.every((i) => printable(i.reason))).toBe(true);
    expect(await count('interactions', tenantId)).toBe(6998);
    const run = (await repo.get(t.database.db, tenantId, id))!;
    expect(run).toMatchObject({ rowsAccepted: 6998, rowsRejected: 2, checkpointRow: 7001 });
  });
});

describe('M3: an Excel file, a double gzip or other binary input is refused with a helpful message', () => {
  const xlsx = Buffer.concat([
    Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]),
    Buffer.from('[Content_Types].xml\u0000\u0001\u0002'),
    Buffer.alloc(200, 7),
  ]);
  const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(500, 0)]);
  const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
  const cases: [string, Buffer, string, string][] = [
    ['an xlsx workbook', xlsx, 'book.xlsx', 'IMPORT_EXCEL_FILE'],
    ['a legacy xls workbook', xls, 'book.xls', 'IMPORT_EXCEL_FILE'],
    ['a double gzip', gzipSync(gzipSync(Buffer.from('item_id,name\nA,B\n'))), 'twice.csv.gz', 'IMPORT_DOUBLE_GZIP'],
    ['random bytes', noise, 'data.csv', 'IMPORT_BINARY_FILE'],
    ['an xlsx inside a gzip', gzipSync(xlsx), 'book.xlsx.gz', 'IMPORT_EXCEL_FILE'],
  ];
  for (const mode of ['sync', 'async'] as const) {
    it(`${mode}: 400 with the kind of file named, no run left queued, no binary byte in the message`, async () => {
      const { tenantId, apiKey } = await t.createTenant();
      const key = await apiKey(['catalog:write']);
      for (const [what, file, name, code] of cases) {
        const res = await upload('items', key, file, { mode }, name);
        expect(res.status, what).toBe(400);
        expect(res.body.error.code, what).toBe(code);
        expect(printable(res.body.error.message), what).toBe(true);
        if (code === 'IMPORT_EXCEL_FILE') expect(res.body.error.message).toContain('export the sheet as CSV');
      }
      const runs = await t.request('GET', '/api/v1/imports', { token: key });
      expect(runs.body.data.filter((r: { status: string }) => r.status === 'queued' || r.status === 'running')).toEqual([]);
      const jobs = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${tenantId}`);
      expect(jobs[0]!.n).toBe(0);
      expect(await count('items', tenantId)).toBe(0);
    });
  }
});

describe('M1: a synchronous upload cut off by a crash does not stay running', () => {
  it('is marked interrupted at start with "upload the file again"; async runs are left to their jobs', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    const repo = createImportsRepository();
    const make = async (mode: 'sync' | 'async') => {
      const id = newId();
      await repo.create(t.database.db, tenantId, { id, kind: 'items', mode, fileName: `${mode}.csv`, options: {}, createdBy: 'test' });
      await repo.start(t.database.db, tenantId, id, { compressed: null, format: 'csv', delimiter: ',' });
      // Its last checkpoint is an hour old: the process that ran it died (kill -9) mid-request.
      await t.database.db.execute(
        sql`UPDATE import_runs SET updated_at = now() - interval '1 hour' WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
      return id;
    };
    const sync = await make('sync');
    const async_ = await make('async');
    expect(await t.modules.imports.interruptOrphanedRuns()).toBeGreaterThanOrEqual(1);
    const run = await t.request('GET', `/api/v1/imports/${sync}`, { token: key });
    expect(run.body).toMatchObject({ status: 'interrupted', error: { code: 'IMPORT_INTERRUPTED' } });
    expect(run.body.error.message).toContain('Upload the file again');
    expect((await repo.get(t.database.db, tenantId, async_))!.status).toBe('running');
  });
});

describe('upload limits', () => {
  it('a 190 kB gzip expanding to 50 million rows stops at the row cap with a clear error', async () => {
    const { tenantId, apiKey } = await t.createTenant();
    const key = await apiKey(['catalog:write']);
    // The tenant's settings lower the configured cap (LOUPE_IMPORT_MAX_ROWS) for this test.
    await t.database.db.execute(
      sql`UPDATE tenants SET settings = settings || '{"imports": {"max_rows": 3000}}'::jsonb WHERE id = ${tenantId}`,
    );
    const chunk = Buffer.from('1,x\n'.repeat(1_000_000));
    const gz = createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gz.on('data', (b: Buffer) => parts.push(b));
    const ended = new Promise((r) => gz.on('end', r));
    gz.write('item_id,name\n');
    for (let i = 0; i < 50; i++) if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
    gz.end();
    await ended;
    const bomb = Buffer.concat(parts);
    expect(bomb.length).toBeLessThan(250_000);
    const res = await upload('items', key, bomb, {}, 'rows.csv.gz');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('IMPORT_TOO_MANY_ROWS');
    expect(res.body.error.message).toContain('more than 3000 rows');
    const runs = await t.request('GET', '/api/v1/imports', { token: key });
    expect(runs.body.data[0]).toMatchObject({ status: 'failed', error: { code: 'IMPORT_TOO_MANY_ROWS' } });
    expect(runs.body.data[0].rows_read).toBeLessThanOrEqual(3000);
  });

  it("kept uploads stay within the tenant's storage quota: a clear 413, nothing left behind, space freed by deleting a file", async () => {
    const A = await t.createTenant();
    const B = await t.createTenant();
    const keyA = await A.apiKey(['catalog:write', 'interactions:write']);
    const catalogOnly = await A.apiKey(['catalog:write']);
    const keyB = await B.apiKey(['catalog:write']);
    await t.database.db.execute(
      sql`UPDATE tenants SET settings = settings || '{"imports": {"storage_quota_bytes": 5000}}'::jsonb WHERE id = ${A.tenantId}`,
    );
    const file = (n: number) =>
      `item_id,name\n${Array.from({ length: 200 }, (_, i) => `f${n}-${String(i).padStart(3, '0')},x`).join('\n')}\n`;
    const size = Buffer.byteLength(file(1));
    expect(size).toBeGreaterThan(1600);
    expect(size).toBeLessThan(2500); // two fit in 5,000 bytes, three do not
    const objects = async (tenantId: string) =>
      (
        await fs.readdir(path.join(t.dataDir, 'objects', tenantId, 'uploads'), { recursive: true, withFileTypes: true }).catch(() => [])
      ).filter((e) => e.isFile()).length;

    const first = await upload('items', keyA, file(1));
    expect(first.status).toBe(200);
    expect((await upload('items', keyA, file(2))).status).toBe(200);
    let use = await t.request('GET', '/api/v1/imports/storage', { token: keyA });
    expect(use.body).toEqual({ used_bytes: 2 * size, files: 2, quota_bytes: 5000 });
    // the third is refused while it streams: a 413 that says what to do, no import, no file kept
    const refused = await upload('items', keyA, file(3));
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('IMPORT_STORAGE_QUOTA_EXCEEDED');
    expect(refused.body.error.message).toContain('DELETE /api/v1/imports/:id/file');
    expect(await objects(A.tenantId)).toBe(2);
    expect((await t.request('GET', '/api/v1/imports', { token: keyA })).body.data).toHaveLength(2);
    // another tenant's uploads are its own: B is not limited by A's use, and cannot touch A's files
    expect((await upload('items', keyB, file(4))).status).toBe(200);
    expect((await t.request('DELETE', `/api/v1/imports/${first.body.import_id ?? first.body.id}/file`, { token: keyB })).status).toBe(404);
    expect((await t.request('DELETE', '/api/v1/imports/not-a-uuid/file', { token: keyA })).status).toBe(404);

    // deleting a file frees its bytes; the import stays, and can no longer run again
    const firstId = first.body.import_id ?? first.body.id;
    const deleted = await t.request('DELETE', `/api/v1/imports/${firstId}/file`, { token: keyA });
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('succeeded');
    expect(await objects(A.tenantId)).toBe(1);
    expect((await t.request('DELETE', `/api/v1/imports/${firstId}/file`, { token: keyA })).status).toBe(200); // again: nothing to do
    expect((await t.request('POST', `/api/v1/imports/${firstId}/rerun`, { token: keyA, body: {} })).body.error.code).toBe(
      'IMPORT_FILE_GONE',
    );
    use = await t.request('GET', '/api/v1/imports/storage', { token: keyA });
    expect(use.body).toMatchObject({ used_bytes: size, files: 1 });

    // an interactions import's file needs interactions:write to delete
    const events = await upload('interactions', keyA, 'user_id,item_id,event_type,timestamp\nu1,f1-001,view,2026-01-02T03:04:05Z\n');
    expect(events.status, JSON.stringify(events.body)).toBe(200);
    const eventsId = events.body.import_id ?? events.body.id;
    expect((await t.request('DELETE', `/api/v1/imports/${eventsId}/file`, { token: catalogOnly })).status).toBe(403);

    // four racing uploads with room for about one more: the quota holds, each refusal is a 413, no orphan file
    const racing = await Promise.all([5, 6, 7, 8].map((n) => upload('items', keyA, file(n))));
    expect(racing.every((r) => r.status === 200 || (r.status === 413 && r.body.error.code === 'IMPORT_STORAGE_QUOTA_EXCEEDED'))).toBe(true);
    use = await t.request('GET', '/api/v1/imports/storage', { token: keyA });
    expect(use.body.used_bytes).toBeLessThanOrEqual(5000);
    expect(await objects(A.tenantId)).toBe(use.body.files);
  });
});
