import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, newId } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { createImportPipeline } from './imports.pipeline.ts';
import { createImportsRepository } from './imports.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('a crash mid-import', () => {
  it('keeps every committed batch, and the resumed run finishes without loss or double counting', async () => {
    const { tenantId } = await t.createTenant();
    const repo = createImportsRepository();
    const real = t.modules.events.interactions;
    const ingest = t.modules.events.ingest;
    let calls = 0;
    let crash = true;
    const flaky: Pick<typeof ingest, 'write'> = {
      write: async (ctx, events, opts) => {
        calls++;
        if (crash && calls === 2) throw new Error('simulated crash while writing batch 2');
        return ingest.write(ctx, events, opts);
      },
    };
    const pipeline = createImportPipeline({
      db: t.database.db,
      repo,
      catalog: t.modules.catalog,
      ingest: flaky,
      storage: t.storage,
      clock: () => new Date(),
      log: t.app.log,
      maxDecompressedBytes: 1024 ** 3,
    });
    const lines = Array.from(
      { length: 12_000 },
      (_, i) =>
        `u${i % 500},i${i % 90},view,2024-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
    );
    const id = newId();
    const key = `uploads/${id}/crash.csv`;
    const stored = await t.storage.put(tenantId, key, Buffer.from(`user_id,item_id,type,timestamp\n${lines.join('\n')}\n`));
    await repo.create(t.database.db, tenantId, {
      id,
      kind: 'interactions',
      mode: 'async',
      fileName: 'crash.csv',
      options: {},
      createdBy: 'test',
    });
    await repo.setStored(t.database.db, tenantId, id, { storageKey: key, fileBytes: stored.bytes });

    await expect(pipeline.process(tenantId, (await repo.get(t.database.db, tenantId, id))!)).rejects.toThrow('simulated crash');
    const afterCrash = (await repo.get(t.database.db, tenantId, id))!;
    expect(afterCrash.checkpointRow).toBe(5001); // header is line 1; the first 5,000 rows are committed
    expect(afterCrash.rowsAccepted).toBe(5000);
    expect(await real.count(tenantId)).toBe(5000);

    crash = false;
    const out = await pipeline.process(tenantId, (await repo.get(t.database.db, tenantId, id))!);
    expect(out).toMatchObject({ rowsRead: 12_000, rowsAccepted: 12_000, rowsRejected: 0, rowsDuplicate: 0, checkpointRow: 12_001 });
    expect(await real.count(tenantId)).toBe(12_000);
  });

  it('commits in batches of LOUPE_IMPORT_BATCH_ROWS rows when it is set (the crash test lowers it)', async () => {
    expect(loadConfig({}).imports.batchRows).toBe(5000);
    const { batchRows } = loadConfig({ LOUPE_IMPORT_BATCH_ROWS: '1000' }).imports;
    expect(batchRows).toBe(1000);
    expect(() => loadConfig({ LOUPE_IMPORT_BATCH_ROWS: '0' })).toThrow(/LOUPE_IMPORT_BATCH_ROWS/);
    const { tenantId } = await t.createTenant();
    const repo = createImportsRepository();
    const ingest = t.modules.events.ingest;
    let calls = 0;
    const crashing: Pick<typeof ingest, 'write'> = {
      write: async (ctx, events, opts) => {
        if (++calls === 3) throw new Error('simulated crash while writing batch 3');
        return ingest.write(ctx, events, opts);
      },
    };
    const pipeline = createImportPipeline({
      db: t.database.db,
      repo,
      catalog: t.modules.catalog,
      ingest: crashing,
      storage: t.storage,
      clock: () => new Date(),
      log: t.app.log,
      maxDecompressedBytes: 1024 ** 3,
      batchRows,
    });
    const lines = Array.from(
      { length: 3500 },
      (_, i) => `b${i % 50},i${i % 30},view,${new Date(Date.UTC(2024, 0, 2) + i * 1000).toISOString()}`,
    );
    const id = newId();
    const key = `uploads/${id}/small-batches.csv`;
    const stored = await t.storage.put(tenantId, key, Buffer.from(`user_id,item_id,type,timestamp\n${lines.join('\n')}\n`));
    await repo.create(t.database.db, tenantId, {
      id,
      kind: 'interactions',
      mode: 'async',
      fileName: 'small-batches.csv',
      options: {},
      createdBy: 'test',
    });
    await repo.setStored(t.database.db, tenantId, id, { storageKey: key, fileBytes: stored.bytes });
    await expect(pipeline.process(tenantId, (await repo.get(t.database.db, tenantId, id))!)).rejects.toThrow('simulated crash');
    // Two batches of 1,000 committed, not one of 5,000 (nor none).
    expect((await repo.get(t.database.db, tenantId, id))!).toMatchObject({ checkpointRow: 2001, rowsAccepted: 2000 });
  });
});
