/**
 * The warehouse export end to end on the real app and database: files an outside reader (hyparquet) reads back
 * row for row against the source tables, incremental runs that add only new rows, a crashed batch redone without
 * duplicates, a file-system failure that leaves the watermark where it was, and tenants kept apart.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

let t: TestApp;
let A: string;
let B: string;
let exportDir: string;
let ownerA: string;
let writeA: string;
let writeB: string;

interface Manifest {
  tenant_id: string;
  tables: Record<
    string,
    { mode: string; columns: Array<{ name: string }>; files: Array<{ path: string; row_count: number; sha256: string }> }
  >;
}

async function manifestOf(tenantId: string): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(exportDir, `tenant_id=${tenantId}`, 'manifest.json'), 'utf8')) as Manifest;
}

/** Every row of a table's files, as the outside reader returns them, read through the manifest. */
async function readTable(tenantId: string, table: string): Promise<Array<Record<string, unknown>>> {
  const m = await manifestOf(tenantId);
  const out: Array<Record<string, unknown>> = [];
  for (const f of m.tables[table]!.files) {
    const file = await asyncBufferFromFile(path.join(exportDir, `tenant_id=${tenantId}`, f.path));
    const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    expect(rows.length).toBe(f.row_count);
    out.push(...rows);
  }
  return out;
}

async function postEvents(token: string, prefix: string, n: number, day = '2026-03-0') {
  for (let start = 0; start < n; start += 500) {
    const events = Array.from({ length: Math.min(500, n - start) }, (_, k) => {
      const i = start + k;
      return {
        event_id: `${prefix}-${i}`,
        user_id: `${prefix}-u${i % 17}`,
        item_id: `SKU-${i % 23}`,
        interaction_type: i % 10 === 0 ? 'purchase' : 'view',
        timestamp: `${day}${1 + (i % 3)}T${String(i % 24).padStart(2, '0')}:15:00.123Z`,
        context: { page: `/p/${i}`, note: 'naïve ✓' },
        ...(i % 10 === 0 ? { metadata: { order_id: `${prefix}-o${i}`, price: '12.34', currency: 'USD', quantity: 2 } } : {}),
      };
    });
    const r = await t.request('POST', '/api/v1/interactions/batch', { token, body: { events } });
    expect(r.status).toBe(200);
  }
}

/** The tenant's export lease token (0 before its first export). */
async function leaseToken(tenantId: string): Promise<number> {
  const rows = await queryRows<{ token: string }>(
    t.database.db,
    sql`SELECT token::text AS token FROM warehouse_export_leases WHERE tenant_id = ${tenantId}`,
  );
  return Number(rows[0]?.token ?? 0);
}

/** The journal of the batch being written of a tenant's events (null: none). */
async function journalOf(tenantId: string): Promise<{ seq: number; token: number; files: string[] } | null> {
  const rows = await queryRows<{ pending: { seq: number; token: number; files: string[] } | null }>(
    t.database.db,
    sql`SELECT pending FROM warehouse_watermarks WHERE tenant_id = ${tenantId} AND table_name = 'events'`,
  );
  return rows[0]?.pending ?? null;
}

beforeAll(async () => {
  t = await createTestApp({ LOUPE_EXPORT_SETTLE_SECONDS: '0' });
  exportDir = t.config.warehouse.exportDir;
  const a = await t.createTenant('Export A');
  const b = await t.createTenant('Export B');
  A = a.tenantId;
  B = b.tenantId;
  ownerA = a.ownerToken;
  writeA = await a.apiKey(['interactions:write', 'catalog:write']);
  writeB = await b.apiKey(['interactions:write']);
  await postEvents(writeA, 'a', 1200);
  await postEvents(writeB, 'b', 300);
  for (let i = 0; i < 5; i++) {
    const r = await t.request('POST', '/api/v1/items', {
      token: writeA,
      body: { item_id: `SKU-${i}`, name: `Item ${i}`, price: `${i + 1}.99`, currency: 'EUR', tags: ['x', `t${i}`] },
    });
    expect(r.status).toBe(201);
  }
  // Orders come from checkouts; two rows written as the commerce module stores them stand in for them here.
  await t.database.db.execute(sql`INSERT INTO orders (tenant_id, id, cart_id, user_id, currency, status, subtotal_minor, discount_total_minor,
      tax_total_minor, shipping_total_minor, total_minor, paid_minor)
    VALUES (${A}, '0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-0000000000c1', 'a-u1', 'USD', 'paid', 9007199254740993, 0, 0, 0, 9007199254740993, 9007199254740993),
           (${B}, '0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-0000000000c2', 'b-u1', 'USD', 'paid', 500, 0, 0, 0, 500, 500)`);
  await t.database.db.execute(sql`INSERT INTO order_items (tenant_id, order_id, id, item_id, name, quantity, unit_price_minor, subtotal_minor,
      discount_total_minor, tax_total_minor, total_minor)
    VALUES (${A}, '0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-0000000000a1', 'SKU-1', 'Item 1', 1, 9007199254740993, 9007199254740993, 0, 0, 9007199254740993)`);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('warehouse export', () => {
  it('writes Parquet files that an outside reader reads back row for row, with a manifest and only the tenant rows', async () => {
    const out = await t.modules.warehouse.exportTenant(A, { batchRows: 400 });
    expect(out.tables.find((x) => x.table === 'events')).toMatchObject({ rows: 1200, batches: 3 });

    const source = await queryRows<Record<string, any>>(
      t.database.db,
      sql`SELECT id::text AS id, type, user_id, item_id, occurred_at, price_minor::text AS price_minor, quantity, order_id, context
            FROM interactions WHERE tenant_id = ${A} ORDER BY id`,
    );
    expect(source.length).toBe(1200);
    const rows = await readTable(A, 'events');
    expect(rows.length).toBe(1200);
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    expect(byId.size).toBe(1200); // no duplicate
    for (const s of source) {
      const r = byId.get(s.id)!;
      expect(r, s.id).toBeDefined();
      expect(r.type).toBe(s.type);
      expect(r.user_id).toBe(s.user_id);
      expect(r.item_id).toBe(s.item_id);
      expect(r.order_id ?? null).toBe(s.order_id);
      expect(r.quantity ?? null).toBe(s.quantity);
      expect(r.price_minor ?? null).toBe(s.price_minor === null ? null : BigInt(s.price_minor));
      expect(new Date(r.occurred_at as Date).getTime()).toBe(new Date(s.occurred_at).getTime());
      const ctx = typeof r.context === 'string' ? JSON.parse(r.context) : r.context;
      expect(ctx).toEqual(s.context);
    }

    // Partitioned by tenant and the event's UTC date: each file holds only its date.
    const m = await manifestOf(A);
    expect(m.tenant_id).toBe(A);
    for (const f of m.tables.events!.files) {
      const date = /date=(\d{4}-\d{2}-\d{2})\//.exec(f.path)![1]!;
      const inFile = (await parquetReadObjects({
        file: await asyncBufferFromFile(path.join(exportDir, `tenant_id=${A}`, f.path)),
        columns: ['occurred_at'],
      })) as Array<{ occurred_at: Date }>;
      for (const r of inFile) expect(new Date(r.occurred_at).toISOString().slice(0, 10)).toBe(date);
    }
    // Another tenant's rows are never in this tenant's folder.
    expect(rows.every((r) => String(r.id) !== '' && String(r.user_id).startsWith('a-'))).toBe(true);
    const dirs = await fs.readdir(exportDir);
    expect(dirs).toEqual([`tenant_id=${A}`]);

    // Money beyond 2^53 stays exact; lines ride along as JSON.
    const orders = await readTable(A, 'orders');
    expect(orders.length).toBe(1);
    expect(orders[0]!.total_minor).toBe(9007199254740993n);
    const lines = typeof orders[0]!.lines === 'string' ? JSON.parse(orders[0]!.lines as string) : orders[0]!.lines;
    expect(lines).toEqual([expect.objectContaining({ item_id: 'SKU-1', total_minor: '9007199254740993' })]);
    const items = await readTable(A, 'items');
    expect(items.map((i) => i.item_id).sort()).toEqual(['SKU-0', 'SKU-1', 'SKU-2', 'SKU-3', 'SKU-4']);
    expect(items.find((i) => i.item_id === 'SKU-2')!.price_minor).toBe(399n);
    const profiles = await readTable(A, 'profiles');
    const profileCount = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${A}`);
    expect(profiles.length).toBe(profileCount[0]!.n);
  });

  it('exports only new rows on the next run, and a changed row as a new version', async () => {
    const before = (await readTable(A, 'events')).length;
    const again = await t.modules.warehouse.exportTenant(A);
    expect(again.tables.reduce((n, x) => n + x.rows, 0)).toBe(0);
    await postEvents(writeA, 'late', 50, '2026-02-1');
    const r = await t.request('PUT', '/api/v1/items/SKU-3', { token: writeA, body: { name: 'Item 3 renamed' } });
    expect(r.status).toBe(200);
    // On PostgreSQL the horizon stops before any open transaction in the database (other test files share it), so a
    // run may leave the newest rows to the next one: run until both arrive, counting what each run adds.
    const added = { events: 0, items: 0 };
    await pollUntil(
      'the late events and the renamed item exported',
      async () => {
        const next = await t.modules.warehouse.exportTenant(A);
        for (const x of next.tables) if (x.table === 'events' || x.table === 'items') added[x.table] += x.rows;
        return { ...added };
      },
      (a) => a.events >= 50 && a.items >= 1,
      { intervalMs: 200 },
    );
    expect(added).toEqual({ events: 50, items: 1 });
    const rows = await readTable(A, 'events');
    expect(rows.length).toBe(before + 50);
    expect(new Set(rows.map((x) => x.id)).size).toBe(before + 50);
    const items = await readTable(A, 'items');
    const sku3 = items
      .filter((i) => i.item_id === 'SKU-3')
      .sort((x, y) => +new Date(x.updated_at as Date) - +new Date(y.updated_at as Date));
    expect(sku3.map((i) => i.name)).toEqual(['Item 3', 'Item 3 renamed']);
  });

  it('redoes a batch a killed process left half-written, without duplicates or gaps', async () => {
    await postEvents(writeA, 'crash', 30, '2026-01-1');
    const status = await t.request('GET', '/api/v1/warehouse/exports', { token: ownerA });
    const wm = status.body.watermarks.find((w: { table: string }) => w.table === 'events');
    const seq = wm.batches + 1;
    // What a process killed after writing one of the batch's files (and a stray temp file) leaves behind.
    const rel = `tenant_id=${A}/events/date=2026-01-11/part-${String(seq).padStart(8, '0')}.parquet`;
    const orphan = `tenant_id=${A}/events/date=1999-01-01/part-${String(seq).padStart(8, '0')}.parquet`;
    for (const f of [rel, orphan]) {
      await fs.mkdir(path.dirname(path.join(exportDir, f)), { recursive: true });
      await fs.writeFile(path.join(exportDir, f), 'half a file');
    }
    // Its journal, on the watermark row (where an exporter records it under the lease's lock).
    await t.database.db.execute(
      sql`UPDATE warehouse_watermarks SET pending = ${JSON.stringify({ seq, token: 1, files: [rel, orphan] })}::jsonb
           WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    const out = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(out.tables[0]!.rows).toBe(30);
    await expect(fs.access(path.join(exportDir, orphan))).rejects.toThrow();
    expect(await journalOf(A)).toBeNull();
    const rows = await readTable(A, 'events');
    const count = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${A}`);
    expect(rows.length).toBe(count[0]!.n);
    expect(new Set(rows.map((x) => x.id)).size).toBe(count[0]!.n);
  });

  it('reports a write failure clearly and leaves the watermark where it was', async () => {
    await postEvents(writeB, 'b2', 10, '2026-03-2');
    // A file where the table's folder should be: unwritable even for root.
    await fs.mkdir(path.join(exportDir, `tenant_id=${B}`), { recursive: true });
    await fs.writeFile(path.join(exportDir, `tenant_id=${B}`, 'events'), 'not a folder');
    await expect(t.modules.warehouse.exportTenant(B)).rejects.toMatchObject({ code: 'WAREHOUSE_WRITE_FAILED' });
    await expect(t.modules.warehouse.exportTenant(B)).rejects.toThrow(
      /tenant_id=.*\/events\/.*(a part of the path|exists and is not a folder)/,
    );
    const st = await queryRows<{ batches: number; key_id: string | null; last_error: string }>(
      t.database.db,
      sql`SELECT batches, key_id, last_error FROM warehouse_watermarks WHERE tenant_id = ${B} AND table_name = 'events'`,
    );
    expect(st).toEqual([{ batches: 0, key_id: null, last_error: expect.stringMatching(/Could not write the export/) }]);
    await fs.rm(path.join(exportDir, `tenant_id=${B}`, 'events'));
    const ok = await t.modules.warehouse.exportTenant(B);
    expect(ok.tables.find((x) => x.table === 'events')!.rows).toBe(310);
    expect((await readTable(B, 'events')).every((r) => String(r.user_id).startsWith('b'))).toBe(true);
  });

  it('a full disk fails the write with ENOSPC, removes the temporary file and keeps the watermark', async () => {
    await postEvents(writeA, 'full', 5, '2026-04-0');
    const st = await queryRows<{ batches: number }>(
      t.database.db,
      sql`SELECT batches FROM warehouse_watermarks WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    const seq = st[0]!.batches + 1;
    // The next run's fencing token (the lease row's token + 1; it is in the file's name).
    const token = (await leaseToken(A)) + 1;
    const dir = path.join(exportDir, `tenant_id=${A}/events/date=2026-04-01`);
    await fs.mkdir(dir, { recursive: true });
    // The batch's temporary file is a link to /dev/full: every write to it fails with ENOSPC, as on a full disk.
    const tmp = path.join(dir, `.part-${String(seq).padStart(8, '0')}-${String(token).padStart(6, '0')}.parquet.tmp`);
    await fs.symlink('/dev/full', tmp);
    await expect(t.modules.warehouse.exportTenant(A, { tables: ['events'] })).rejects.toThrow(/no space left on the device \(ENOSPC\)/);
    const after = await queryRows<{ batches: number; last_error: string }>(
      t.database.db,
      sql`SELECT batches, last_error FROM warehouse_watermarks WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    expect(after[0]!.batches).toBe(seq - 1);
    expect(after[0]!.last_error).toMatch(/ENOSPC/);
    await expect(fs.lstat(tmp)).rejects.toThrow();
    const ok = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(ok.tables[0]!.rows).toBe(5);
  });

  it("a writer fenced off between its lease check and its write cannot overwrite the taker's file of the same batch", async () => {
    await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    await postEvents(writeA, 'fence', 20, '2026-05-0');
    let paused!: (rel: string) => void;
    const pausedAt = new Promise<string>((r) => {
      paused = r;
    });
    let resume!: () => void;
    const gate = new Promise<void>((r) => {
      resume = r;
    });
    // The first exporter passes its lease check, then stops before writing its first file.
    const first = t.modules.warehouse.exportTenant(A, {
      tables: ['events'],
      beforeFileWrite: async (rel) => {
        paused(rel);
        await gate;
      },
    });
    const firstRel = await pausedAt;
    // Meanwhile its lease is lost (another owner, token + 1, lapsed at once), more rows arrive for the same dates,
    // and a second exporter takes the lease over and commits the same batch (same sequence number and dates).
    await t.database.db.execute(
      sql`UPDATE warehouse_export_leases SET owner = ${'00000000-0000-7000-8000-0000000000bb'}, token = token + 1,
               expires_at = now() - interval '1 second' WHERE tenant_id = ${A}`,
    );
    await postEvents(writeA, 'fence2', 10, '2026-05-0');
    const second = await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    expect(second.tables[0]!.rows).toBe(30);
    // The paused writer resumes: it writes its file and is refused at commit.
    resume();
    expect(
      await first.then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      ),
    ).toBe('WAREHOUSE_EXPORT_RUNNING');
    // Its file had its own name (the fenced token) and is gone; the taker's files are intact and hold every row once.
    await expect(fs.access(path.join(exportDir, firstRel))).rejects.toThrow();
    const m = await manifestOf(A);
    expect(m.tables.events!.files.some((f) => `tenant_id=${A}/${f.path}` === firstRel)).toBe(false);
    for (const f of m.tables.events!.files) {
      const bytes = await fs.readFile(path.join(exportDir, `tenant_id=${A}`, f.path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    const rows = await readTable(A, 'events');
    const count = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${A}`);
    expect(rows.length).toBe(count[0]!.n);
    expect(new Set(rows.map((x) => x.id)).size).toBe(count[0]!.n);
  });

  it('a journal left in the folder by an exporter of before the upgrade is still honoured', async () => {
    await postEvents(writeA, 'legacy', 5, '2026-06-0');
    const st = await queryRows<{ batches: number }>(
      t.database.db,
      sql`SELECT batches FROM warehouse_watermarks WHERE tenant_id = ${A} AND table_name = 'events'`,
    );
    const orphan = `tenant_id=${A}/events/date=1999-02-02/part-${String(st[0]!.batches + 1).padStart(8, '0')}.parquet`;
    await fs.mkdir(path.dirname(path.join(exportDir, orphan)), { recursive: true });
    await fs.writeFile(path.join(exportDir, orphan), 'half a file');
    const legacy = path.join(exportDir, `tenant_id=${A}/events/_pending.json`);
    await fs.writeFile(legacy, JSON.stringify({ seq: st[0]!.batches + 1, files: [orphan] }));
    expect((await t.modules.warehouse.exportTenant(A, { tables: ['events'] })).tables[0]!.rows).toBe(5);
    await expect(fs.access(path.join(exportDir, orphan))).rejects.toThrow();
    await expect(fs.access(legacy)).rejects.toThrow();
  });

  it("a writer fenced off between its lease check and its journal cannot overwrite the taker's journal", async () => {
    await t.modules.warehouse.exportTenant(A, { tables: ['events'] });
    await postEvents(writeA, 'journal', 12, '2026-07-0');
    const gate = () => {
      let open!: () => void;
      let reached!: () => void;
      const at = new Promise<void>((r) => {
        reached = r;
      });
      const opened = new Promise<void>((r) => {
        open = r;
      });
      return {
        at,
        open,
        hook: async () => {
          reached();
          await opened;
        },
      };
    };
    // The first exporter passes its lease check, then stops before recording its journal.
    const g1 = gate();
    const first = t.modules.warehouse.exportTenant(A, { tables: ['events'], beforeJournal: g1.hook });
    await g1.at;
    // Its lease lapses; a second exporter takes it over, records its journal and stops before its first file.
    await t.database.db.execute(
      sql`UPDATE warehouse_export_leases SET owner = ${'00000000-0000-7000-8000-0000000000cc'}, token = token + 1,
               expires_at = now() - interval '1 second' WHERE tenant_id = ${A}`,
    );
    const g2 = gate();
    const second = t.modules.warehouse.exportTenant(A, { tables: ['events'], beforeFileWrite: g2.hook });
    await g2.at;
    const taker = await journalOf(A);
    expect(taker).toMatchObject({ token: await leaseToken(A) });
    // The fenced writer resumes: refused before it records anything or writes a file.
    g1.open();
    expect(
      await first.then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      ),
    ).toBe('WAREHOUSE_EXPORT_RUNNING');
    expect(await journalOf(A)).toEqual(taker);
    g2.open();
    expect((await second).tables[0]!.rows).toBe(12);
    expect(await journalOf(A)).toBeNull();
    const rows = await readTable(A, 'events');
    const count = await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${A}`);
    expect(new Set(rows.map((x) => x.id)).size).toBe(count[0]!.n);
    expect(rows.length).toBe(count[0]!.n);
  });

  it('runs as a job from the API, lists status per tenant only, and serves the manifest', async () => {
    const a = await t.request('POST', '/api/v1/warehouse/exports', { token: ownerA, body: {} });
    expect(a.status).toBe(202);
    t.jobs.start({ concurrency: 1, types: ['warehouse.export'] });
    const job = await pollUntil(
      'export job',
      async () => (await t.request('GET', `/api/v1/jobs/${a.body.id}`, { token: ownerA })).body,
      (j) => j.status === 'succeeded' || j.status === 'failed',
    );
    expect(job.status).toBe('succeeded');
    const st = await t.request('GET', '/api/v1/warehouse/exports', { token: ownerA });
    expect(st.status).toBe(200);
    expect(st.body.files.every((f: { path: string }) => f.path.startsWith(`tenant_id=${A}/`))).toBe(true);
    const m = await t.request('GET', '/api/v1/warehouse/manifest', { token: ownerA });
    expect(m.status).toBe(200);
    expect(m.body.tenant_id).toBe(A);
    expect(Object.keys(m.body.tables)).toEqual(['events', 'profiles', 'orders', 'items']);
    // The job does not chain itself: nothing is queued until the elected scheduler's task books the next slot, once
    // per tenant that exported however often it runs (twice here, as a new scheduler after a takeover would).
    const queuedOf = async (tenantId: string) =>
      (
        await queryRows<{ n: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS n FROM jobs WHERE tenant_id = ${tenantId} AND type = 'warehouse.export' AND status = 'queued' AND run_at > now()`,
        )
      )[0]!.n;
    expect(await queuedOf(A)).toBe(0);
    const task = t.scheduledTasks.find((x) => x.name === 'warehouse.book-exports');
    expect(task?.runOnElection).toBe(true);
    await task!.run();
    await task!.run();
    expect(await queuedOf(A)).toBe(1);
  });
});
