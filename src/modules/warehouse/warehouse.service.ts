import { sql } from 'drizzle-orm';
import { AppError, type Db, newId, type TenantContext, queryOne } from '../../platform/index.ts';
import { buildManifest, byPartition, filePath, type ManifestFile, tenantFolder, toColumns } from './warehouse.core.ts';
import { createParquetThread, type ParquetEncoder } from './parquet.thread.ts';
import { encodeParquet } from './warehouse.parquet.ts';
import type { ExportLease, PendingJournal, WarehouseRepository } from './warehouse.repository.ts';
import type { ExportStore } from './warehouse.store.ts';
import { EXPORT_TABLES, type ExportKey, type ExportRow, type ExportTable, type WarehouseSources } from './warehouse.types.ts';

export interface WarehouseServiceDeps {
  db: Db;
  repo: WarehouseRepository;
  sources: WarehouseSources;
  /** Where the files go: the export folder (LOUPE_EXPORT_DIR) or the S3-compatible object store. */
  store: ExportStore;
  settleSeconds: number;
  batchRows: number;
  databaseKind: 'pglite' | 'postgres';
  clock: () => Date;
  version: string;
  /** How long the export lease lives without a renewal (default 10 s; renewed every fifth of it and per batch). */
  leaseMs?: number;
  /** How long an export waits for another exporter's lease (default 15 s), then WAREHOUSE_EXPORT_RUNNING. */
  waitMs?: number;
}

export interface ExportProgress {
  table: ExportTable;
  /** Rows of this table written in this run so far, and the rows pending when it started. */
  rowsDone: number;
  rowsTotal: number;
  files: number;
}

export interface ExportOptions {
  tables?: readonly ExportTable[];
  batchRows?: number;
  signal?: AbortSignal;
  /** Count each table's pending rows first (one count per table) so progress has a total. */
  countPending?: boolean;
  onProgress?: (p: ExportProgress) => void;
  /**
   * Files of at least this many rows are encoded on a worker thread (default 5,000), smaller ones inline (a thread's
   * start costs more than they take). 0 sends every file to the thread.
   */
  offThreadRows?: number;
  /** Awaited before a batch's journal is recorded (tests: an exporter paused between its lease check and its journal). */
  beforeJournal?: () => Promise<void> | void;
  /** Awaited before each part file is written, with its path (tests: an exporter paused between check and write). */
  beforeFileWrite?: (rel: string) => Promise<void> | void;
  /** Called with the encoding thread's id after a file was encoded on it (tests). */
  onThreadEncoded?: (threadId: number | null) => void;
}

export interface ExportTableResult {
  table: ExportTable;
  rows: number;
  files: number;
  batches: number;
}

/** Where exporters before the database journal wrote theirs (still read once, for a batch cut off before an upgrade). */
const legacyJournalOf = (tenantId: string, table: ExportTable) => `${tenantFolder(tenantId)}/${table}/_pending.json`;
const manifestOf = (tenantId: string) => `${tenantFolder(tenantId)}/manifest.json`;

/**
 * Incremental, exactly-once export of a tenant's events, profiles, orders and items to Parquet files partitioned by
 * tenant and date. Per batch: read up to `batchRows` rows after the watermark and before the horizon; write a
 * journal naming the batch's files (on its watermark row, under the lease's lock); write each partition's file durably (named by the batch's sequence number and the lease's fencing token);
 * then, in one statement pair, record the files and advance the watermark (only from the batch before: two
 * exporters cannot both commit one batch); the commit also drops the journal; then rewrite the manifest. A process killed
 * anywhere leaves either a committed batch or a journal: the next run deletes the journal's files and redoes the
 * batch, so no row is written twice or skipped. One exporter per tenant at a time across the
 * cluster, whatever the store: a lease row taken by compare-and-set and fenced (a batch commits only under the
 * token it was written under, so an exporter paused past its lease and taken over cannot commit).
 */
export function createWarehouseService(deps: WarehouseServiceDeps) {
  const { db, repo, sources, store } = deps;
  const leaseMs = deps.leaseMs ?? 10_000;
  const waitMs = deps.waitMs ?? 15_000;
  const running = (detail = 'An export of this tenant is already running.') => new AppError('conflict', 'WAREHOUSE_EXPORT_RUNNING', detail);

  /** Takes the tenant's lease, waiting up to `waitMs` for a holder's to end or lapse; renews it until released. */
  async function takeLease(tenantId: string): Promise<{ lease: ExportLease; release: () => Promise<void> }> {
    const owner = newId();
    const deadline = Date.now() + waitMs;
    let lease = await repo.takeLease(db, tenantId, owner, leaseMs);
    while (!lease) {
      if (Date.now() >= deadline) throw running();
      await new Promise((r) => setTimeout(r, Math.min(1_000, leaseMs / 5)));
      lease = await repo.takeLease(db, tenantId, owner, leaseMs);
    }
    const held = lease;
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = repo.renewLease(db, tenantId, held, leaseMs).catch(() => undefined);
    }, leaseMs / 5);
    timer.unref();
    return {
      lease: held,
      release: async () => {
        clearInterval(timer);
        await renewing;
        await repo.releaseLease(db, tenantId, held);
      },
    };
  }

  /** Rows strictly before this are settled: the database's clock less the lag, and before any open transaction. */
  async function horizon(): Promise<Date> {
    const row = await queryOne<{ now: Date }>(db, sql`SELECT clock_timestamp() AS now`);
    let until = new Date(new Date(row!.now).getTime() - deps.settleSeconds * 1000);
    if (deps.databaseKind === 'postgres') {
      const open = await repo.oldestOpenTransaction(db);
      if (open && open < until) until = open;
    }
    return until;
  }

  async function recoverPending(tenantId: string, table: ExportTable, committed: number): Promise<void> {
    // A batch past the watermark never committed: its files (some written, some not) are not in the manifest.
    const journal = await repo.journal(db, tenantId, table);
    if (journal) {
      if (journal.seq > committed) await store.remove(tenantId, journal.files);
      await repo.clearJournal(db, tenantId, table, journal);
    }
    const rel = legacyJournalOf(tenantId, table);
    const legacy = await store.readJson<PendingJournal>(tenantId, rel);
    if (!legacy) return;
    if (legacy.seq > committed) await store.remove(tenantId, legacy.files);
    await store.remove(tenantId, [rel]);
  }

  async function writeManifest(tenantId: string): Promise<void> {
    const [watermarks, files] = await Promise.all([repo.watermarks(db, tenantId), repo.files(db, tenantId)]);
    const manifest = buildManifest(tenantId, deps.clock(), watermarks, files);
    await store.write(tenantId, manifestOf(tenantId), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  }

  async function exportTable(
    tenantId: string,
    table: ExportTable,
    until: Date,
    opts: ExportOptions,
    encodeOff: ParquetEncoder,
    lease: ExportLease,
  ): Promise<ExportTableResult> {
    const offThreadRows = opts.offThreadRows ?? 5_000;
    const source = sources[table];
    const batchRows = opts.batchRows ?? deps.batchRows;
    let wm = await repo.watermark(db, tenantId, table);
    await recoverPending(tenantId, table, wm.batches);
    const keyOf = (): ExportKey | null => (wm.keyId !== null && wm.keyTs !== null ? { ts: wm.keyTs, id: wm.keyId } : null);
    const rowsTotal = opts.countPending ? await source.countPending(db, tenantId, keyOf(), until) : 0;
    const result: ExportTableResult = { table, rows: 0, files: 0, batches: 0 };
    opts.onProgress?.({ table, rowsDone: 0, rowsTotal, files: 0 });
    const read = (after: ExportKey | null) => source.readBatch(db, tenantId, after, until, batchRows);
    // The next batch is read while this one's files are encoded on the thread (its key is this batch's last row,
    // known before any file is written), so the reads and the encoding overlap instead of taking turns.
    let next: Promise<ExportRow[]> | null = read(keyOf());
    try {
      while (next && !opts.signal?.aborted) {
        const rows = await next;
        next = null;
        if (rows.length === 0) break;
        // Renewed (and checked) before each batch's files: a holder taken over stops before writing any.
        if (!(await repo.renewLease(db, tenantId, lease, leaseMs))) throw running('This export lost its lease to another exporter.');
        const seq = wm.batches + 1;
        const groups = byPartition(rows).map(([date, group]) => ({ date, group, rel: filePath(tenantId, table, date, seq, lease.token) }));
        const journal: PendingJournal = { seq, token: lease.token, files: groups.map((g) => g.rel) };
        await opts.beforeJournal?.();
        // In the database under the lease's lock, not a file: a writer fenced off after the check above cannot
        // overwrite its taker's journal (the taker's files would be orphans if it then crashed).
        if (!(await db.transaction((tx) => repo.writeJournal(tx, tenantId, table, lease, journal))))
          throw running('This export lost its lease to another exporter.');
        // Every large file of the batch is queued on the thread at once (it encodes them in order); small ones are
        // encoded inline when their turn to be written comes.
        const createdBy = `loupe ${deps.version}`;
        const offThread = groups.map((g) => {
          if (g.group.length < offThreadRows) return null;
          const p = encodeOff(toColumns(table, g.group), createdBy);
          p.catch(() => undefined); // awaited below; a failure after an earlier file's must not go unhandled
          return p;
        });
        const last = rows[rows.length - 1]!;
        if (rows.length >= batchRows) next = read({ ts: last.key_ts, id: last.key_id });
        // Each file is written (temporary file, fsync, rename, folder fsync) as soon as it is encoded, while the next
        // ones encode: a batch's fsyncs wait on the disk together, not one after another. All have settled before
        // the commit, and the first failure (in file order) fails the batch.
        const writes: Array<Promise<Omit<ManifestFile, 'table' | 'seq' | 'createdAt'>>> = [];
        for (const [i, g] of groups.entries()) {
          const bytes = (await offThread[i]) ?? encodeParquet(toColumns(table, g.group), createdBy);
          await opts.beforeFileWrite?.(g.rel);
          const w = store
            .write(tenantId, g.rel, bytes)
            .then((out) => ({ partitionDate: g.date, path: g.rel, rowCount: g.group.length, bytes: out.bytes, sha256: out.sha256 }));
          w.catch(() => undefined); // settled below
          writes.push(w);
        }
        const settled = await Promise.allSettled(writes);
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        const written = settled.map((r) => (r as PromiseFulfilledResult<Omit<ManifestFile, 'table' | 'seq' | 'createdAt'>>).value);
        const committed = await db.transaction((tx) =>
          repo.commitBatch(tx, tenantId, table, seq, { ts: last.key_ts, id: last.key_id }, rows.length, written, lease),
        );
        if (!committed) {
          // Fenced off: the files carry this lease's token, so they are this run's alone (no taker wrote them).
          await store
            .remove(
              tenantId,
              written.map((w) => w.path),
            )
            .catch(() => undefined);
          throw running('Another export took over or committed this batch first; run again.');
        }
        wm = { ...wm, keyTs: last.key_ts, keyId: last.key_id, batches: seq, rowsExported: wm.rowsExported + rows.length };
        result.rows += rows.length;
        result.files += written.length;
        result.batches += 1;
        opts.onProgress?.({ table, rowsDone: result.rows, rowsTotal: Math.max(rowsTotal, result.rows), files: result.files });
      }
    } finally {
      // A read still in flight (a failed or aborted batch) ends before the run releases its lease.
      await next?.catch(() => undefined);
    }
    return result;
  }

  return {
    /**
     * Exports every table (or `opts.tables`) of one tenant up to the current horizon. Throws
     * WAREHOUSE_WRITE_FAILED on a file-system error (the failing table's watermark unchanged, its error recorded)
     * and WAREHOUSE_EXPORT_RUNNING when another export of the tenant holds its folder.
     */
    async exportTenant(tenantId: string, opts: ExportOptions = {}): Promise<{ tables: ExportTableResult[]; until: string }> {
      const { lease, release } = await takeLease(tenantId);
      // The encoding thread starts with the first large file only, and ends with the run.
      const thread = createParquetThread();
      const encodeOff: ParquetEncoder = async (columns, createdBy) => {
        const bytes = await thread.encode(columns, createdBy);
        opts.onThreadEncoded?.(thread.lastThreadId());
        return bytes;
      };
      try {
        const until = await horizon();
        const tables: ExportTableResult[] = [];
        for (const table of opts.tables ?? EXPORT_TABLES) {
          try {
            tables.push(await exportTable(tenantId, table, until, opts, encodeOff, lease));
          } catch (err) {
            await repo.recordError(db, tenantId, table, err instanceof AppError ? err.message : 'Unexpected error.');
            throw err;
          } finally {
            // Whatever happened, the manifest lists exactly the committed files.
            await writeManifest(tenantId).catch(() => undefined);
          }
        }
        return { tables, until: until.toISOString() };
      } finally {
        await thread.close().catch(() => undefined);
        await release().catch(() => undefined);
      }
    },

    /** Watermarks and the most recent files of the caller's tenant (the dashboard's status). */
    async status(ctx: TenantContext, limit = 100) {
      const [watermarks, files] = await Promise.all([repo.watermarks(db, ctx.tenantId), repo.files(db, ctx.tenantId, { limit })]);
      return { exportDir: store.location, watermarks, files };
    },

    /** The tenant's manifest as the files' folder holds it (built from committed files when none is written yet). */
    async manifest(ctx: TenantContext) {
      const [watermarks, files] = await Promise.all([repo.watermarks(db, ctx.tenantId), repo.files(db, ctx.tenantId)]);
      return buildManifest(ctx.tenantId, deps.clock(), watermarks, files);
    },
  };
}
export type WarehouseService = ReturnType<typeof createWarehouseService>;
