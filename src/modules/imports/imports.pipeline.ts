/**
 * The import pipeline: stored raw file → (gunzip, capped) → records → validation → batches → set-based
 * writes, committed batch by batch with a checkpoint, so a crash loses nothing accepted and a resumed run
 * continues after the last committed row. Rows are written through the catalog and events public APIs.
 */
import { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { type Q, AppError, type ObjectStorage } from '../../platform/index.ts';
import type { CatalogApi, ItemUpsert } from '../catalog/index.ts';
import { fromImportedRow, type IngestService } from '../events/index.ts';
import { storeFailureReason, writeIsolatingFailures } from './imports.batches.ts';
import { headerKeyOf, planColumns, type ColumnPlan } from './imports.columns.ts';
import {
  createInteractionStats,
  itemFingerprint,
  storableIssue,
  validateInteractionRow,
  validateItemRow,
  type ImportedInteraction,
  type RowIssue,
} from './imports.core.ts';
import { gzipCap, maybeGunzip, readRecords } from './imports.parse.ts';
import { MAX_STORED_ISSUES, type ImportCounters, type ImportRunRow, type ImportsRepository } from './imports.repository.ts';

export const BATCH_SIZE = 5000;
/** A row older than the interactions' retention horizon (LOUPE_INTERACTIONS_RETENTION_MONTHS): not stored. */
const EXPIRED_ROW = {
  code: 'OUTSIDE_RETENTION',
  reason: 'the event is older than the retention period (LOUPE_INTERACTIONS_RETENTION_MONTHS): it is not stored',
} as const;

/** Conflicting-duplicate detection remembers this many item ids per file (beyond it, only within a batch). */
const MAX_TRACKED_ITEM_IDS = 2_000_000;

export interface PipelineDeps {
  db: Q;
  repo: ImportsRepository;
  catalog: Pick<CatalogApi, 'upsertItems'>;
  /** The events write door: identity resolution, idempotent insert and profile aggregates in one transaction. */
  ingest: Pick<IngestService, 'write'>;
  storage: ObjectStorage;
  clock: () => Date;
  log: FastifyBaseLogger;
  /** Hard cap on decompressed bytes (the upload limit). */
  maxDecompressedBytes: number;
  /** Rows per committed batch (default BATCH_SIZE; LOUPE_IMPORT_BATCH_ROWS, lowered by the crash test). */
  batchRows?: number;
  /** Batches written at once (1 on the single-connection embedded database). */
  maxConcurrentBatches?: number;
  /** Most data rows one upload may hold, for a tenant (config default, or the tenant's settings). */
  maxRows?: (tenantId: string) => Promise<number>;
}

export interface RunOutcome extends ImportCounters {
  /** Items: rows inserted / updated in the catalog. */
  itemsInserted: number;
  itemsUpdated: number;
}

/** Counts bytes as they pass, for progress and ETA. */
async function* counted(source: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/** Reads a gzip object through once, counting, so a bomb or a corrupt archive is refused before any write. */
async function precheckGzip(stream: Readable, cap: number): Promise<void> {
  const { gzip, stream: out } = await maybeGunzip(stream as AsyncIterable<Buffer>, cap);
  if (!gzip) {
    stream.destroy();
    return;
  }
  for await (const _ of out) {
    /* count only */
  }
}

export function createImportPipeline(deps: PipelineDeps) {
  const batchSize = Math.max(1, deps.batchRows ?? BATCH_SIZE);
  const { db } = deps;
  return {
    /**
     * Processes a stored upload for `tenantId`. Rows up to `run.checkpointRow` were committed by an earlier
     * attempt and are skipped. Throws AppError for file-level problems (empty, unreadable, bomb, mapping).
     */
    async process(
      tenantId: string,
      run: ImportRunRow,
      opts: { signal?: AbortSignal; onProgress?: (c: ImportCounters) => Promise<void> | void } = {},
    ): Promise<RunOutcome> {
      if (!run.storageKey) throw new AppError('internal', 'IMPORT_FILE_MISSING', 'The uploaded file was not stored.');
      const cap = gzipCap(run.fileBytes, deps.maxDecompressedBytes);
      await precheckGzip(await deps.storage.get(tenantId, run.storageKey), cap);

      const maxRows = (await deps.maxRows?.(tenantId)) ?? Number.POSITIVE_INFINITY;
      const resumeAfter = run.checkpointRow;
      const c: ImportCounters = {
        rowsRead: resumeAfter ? run.rowsRead : 0,
        rowsAccepted: resumeAfter ? run.rowsAccepted : 0,
        rowsRejected: resumeAfter ? run.rowsRejected : 0,
        rowsDuplicate: resumeAfter ? run.rowsDuplicate : 0,
        warnings: resumeAfter ? run.warnings : 0,
        bytesRead: 0,
        checkpointRow: resumeAfter,
        statistics: null,
      };
      // Unique users/items come from the rows read (a resumed run counts only those read since); type counts
      // are advanced with each committed batch so a resume never counts a row twice.
      const stats = createInteractionStats();
      const committedTypes: Record<string, number> = resumeAfter
        ? { ...((run.statistics as { interaction_types?: Record<string, number> } | null)?.interaction_types ?? {}) }
        : {};
      let batchTypes: Record<string, number> = {};
      const statistics = () =>
        run.kind === 'interactions'
          ? { ...stats.snapshot(), interaction_types: { ...committedTypes } }
          : { items_inserted: items.inserted, items_updated: items.updated };
      const items = { inserted: 0, updated: 0 };
      let storedIssues = resumeAfter ? Math.min(MAX_STORED_ISSUES, run.rowsRejected + run.warnings) : 0;
      const seenItems = new Map<string, { row: number; fp: string }>();
      const now = deps.clock();
      const customTypes = new Set(run.options.customTypes ?? []);

      let bytes = 0;
      const raw = counted((await deps.storage.get(tenantId, run.storageKey)) as AsyncIterable<Buffer>, (n) => (bytes += n));
      const { gzip, stream } = await maybeGunzip(raw, cap);
      let plan: ColumnPlan | null = null;

      // Batches are written while the next ones are parsed (several at once on PostgreSQL's pool); checkpoints
      // still advance strictly in file order, so the checkpoint never passes a batch that is not committed.
      let itemBatch = new Map<string, ItemUpsert>();
      let itemRows = new Map<string, number>();
      let interactionBatch: ImportedInteraction[] = [];
      let interactionRows: number[] = [];
      // Rows accepted by validation that the database then refused (counted once their batch is checkpointed).
      let storeRejected = 0;
      let issues: RowIssue[] = [];
      let batchRows = 0;
      let lastRow = resumeAfter;
      const inflight: Promise<void>[] = [];
      let lastCommit: Promise<void> = Promise.resolve();
      const maxInflight = Math.max(1, deps.maxConcurrentBatches ?? 1);

      const commit = async (
        b: {
          items: ItemUpsert[];
          itemRows: Map<string, number>;
          interactions: ImportedInteraction[];
          interactionRows: number[];
          issues: RowIssue[];
          types: Record<string, number>;
          lastRow: number;
          counters: ImportCounters;
        },
        prev: Promise<void>,
      ): Promise<void> => {
        let duplicates = 0;
        // A row the database refuses becomes a row error; the rest of the batch is stored (imports.batches.ts).
        const refused: RowIssue[] = [];
        const refuse = (row: number, error: unknown, itemId: string | null) =>
          refused.push({ row, field: 'row', severity: 'error', itemId, ...storeFailureReason(error) });
        // Item batches are written strictly in order: an item_id repeated in a later batch must win.
        if (b.items.length) await prev;
        if (b.items.length) {
          const failed = await writeIsolatingFailures(b.items, async (part) => {
            const r = await deps.catalog.upsertItems(tenantId, [...part]);
            items.inserted += r.inserted;
            items.updated += r.updated;
          });
          for (const f of failed) refuse(b.itemRows.get(f.row.itemId) ?? b.lastRow, f.error, f.row.itemId);
        }
        if (b.interactions.length) {
          const rowOf = new Map(b.interactions.map((i, k) => [i, b.interactionRows[k]!]));
          const expired: (typeof b.interactions)[number][] = [];
          const failed = await writeIsolatingFailures(b.interactions, async (part) => {
            // Through the events write path, so imported purchases (a POS export, an order history) land on the
            // customers' unified profiles and count in their aggregates, as live events do.
            const events = part.map((i) => fromImportedRow(i.row, i.identifiers));
            const outcomes = await deps.ingest.write({ tenantId }, events, { source: 'import' });
            outcomes.forEach((o, k) => {
              if (o.expired) expired.push(part[k]!);
              else if (!o.created) duplicates++;
            });
          });
          // Older than the interactions' retention: not stored, said per row (not counted as duplicates).
          for (const e of expired) {
            refused.push({ row: rowOf.get(e)!, field: 'timestamp', severity: 'error', itemId: e.row.itemId ?? null, ...EXPIRED_ROW });
            b.types[e.row.type] = (b.types[e.row.type] ?? 0) - 1;
          }
          for (const f of failed) {
            refuse(rowOf.get(f.row)!, f.error, f.row.row.itemId ?? null);
            b.types[f.row.row.type] = (b.types[f.row.row.type] ?? 0) - 1;
          }
        }
        await prev;
        const batchIssues = [...b.issues, ...refused].map(storableIssue);
        const room = Math.max(0, MAX_STORED_ISSUES - storedIssues);
        if (room && batchIssues.length) {
          const keep = batchIssues.slice(0, room);
          await deps.repo.addIssues(db, tenantId, run.id, keep);
          storedIssues += keep.length;
        }
        storeRejected += refused.length;
        c.rowsDuplicate += duplicates;
        for (const [k, v] of Object.entries(b.types)) committedTypes[k] = (committedTypes[k] ?? 0) + v;
        const snapshot: ImportCounters = {
          ...b.counters,
          rowsAccepted: b.counters.rowsAccepted - storeRejected,
          rowsRejected: b.counters.rowsRejected + storeRejected,
          rowsDuplicate: c.rowsDuplicate,
          checkpointRow: b.lastRow,
          statistics: statistics(),
        };
        await deps.repo.checkpoint(db, tenantId, run.id, snapshot);
        c.checkpointRow = b.lastRow;
        await opts.onProgress?.(snapshot);
      };

      const flush = async (): Promise<void> => {
        if (!batchRows && !issues.length) return;
        const b = {
          items: [...itemBatch.values()],
          itemRows,
          interactions: interactionBatch,
          interactionRows,
          issues,
          types: batchTypes,
          lastRow,
          counters: { ...c, bytesRead: bytes },
        };
        batchTypes = {};
        itemBatch = new Map();
        itemRows = new Map();
        interactionBatch = [];
        interactionRows = [];
        issues = [];
        batchRows = 0;
        while (inflight.length >= maxInflight) await inflight.shift();
        if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
        const p = commit(b, lastCommit);
        p.catch(() => undefined);
        inflight.push(p);
        lastCommit = p;
      };

      try {
        for await (const ev of readRecords(stream, {
          format: run.options.format,
          delimiter: run.options.delimiter,
          fileName: run.fileName,
          gzip,
        })) {
          if (ev.type === 'header') {
            const planned = planColumns(run.kind, ev.headers, run.options.mapping ?? {}, { anonymousRows: run.options.anonymousRows });
            if (planned.problems.length) {
              throw new AppError(
                'validation',
                'IMPORT_COLUMNS_UNMATCHED',
                `The file's columns do not fit an ${run.kind} import: ${planned.problems[0]}${ev.format === 'csv' && ev.headers.length === 1 ? ` (one column only: is the delimiter "${ev.delimiter}" right?)` : ''}`,
                {
                  details: planned.problems.map((p) => ({ field: 'file', message: p })),
                },
              );
            }
            plan = planned.plan;
            await deps.repo.start(db, tenantId, run.id, {
              compressed: gzip ? 'gzip' : null,
              format: ev.format,
              delimiter: ev.delimiter,
              headerKey: headerKeyOf(ev.headers),
            });
            continue;
          }
          if (ev.row <= resumeAfter) continue;
          if (c.rowsRead >= maxRows) {
            // A tiny gzip can expand to tens of millions of rows: stop at the cap, keep what is committed.
            throw new AppError(
              'payload_too_large',
              'IMPORT_TOO_MANY_ROWS',
              `The file has more than ${maxRows} rows, the most one upload may hold: split it into smaller files (rows already stored are kept; importing them again is harmless).`,
            );
          }
          c.rowsRead++;
          lastRow = ev.row;
          batchRows++;
          if (ev.type === 'row_error') {
            c.rowsRejected++;
            issues.push({ row: ev.row, field: 'row', code: ev.code, reason: ev.reason, severity: 'error' });
          } else if (run.kind === 'items') {
            const r = validateItemRow(ev.row, ev.record, plan!);
            if (!r.ok) {
              c.rowsRejected++;
              issues.push(...r.issues);
            } else {
              c.rowsAccepted++;
              const fp = itemFingerprint(r.value);
              const prev = seenItems.get(r.value.itemId);
              if (prev && prev.fp !== fp) {
                c.warnings++;
                issues.push({
                  row: ev.row,
                  field: 'item_id',
                  code: 'DUPLICATE_ITEM_ID',
                  severity: 'warning',
                  itemId: r.value.itemId,
                  value: r.value.itemId,
                  reason: `item_id ${r.value.itemId} also appears on row ${prev.row} with different data; the last row wins`,
                });
              }
              if (prev || seenItems.size < MAX_TRACKED_ITEM_IDS) seenItems.set(r.value.itemId, { row: ev.row, fp });
              itemBatch.delete(r.value.itemId); // last wins, and keeps file order within the batch
              itemBatch.set(r.value.itemId, r.value);
              itemRows.set(r.value.itemId, ev.row);
            }
          } else {
            const r = validateInteractionRow(ev.row, ev.record, plan!, {
              now,
              customTypes,
              ...(run.options.source ? { source: run.options.source } : {}),
              ...(run.options.anonymousRows ? { anonymousRows: run.options.anonymousRows } : {}),
            });
            if (!r.ok) {
              c.rowsRejected++;
              issues.push(...r.issues);
            } else {
              c.rowsAccepted++;
              stats.add(r.value);
              batchTypes[r.value.row.type] = (batchTypes[r.value.row.type] ?? 0) + 1;
              interactionBatch.push(r.value);
              interactionRows.push(ev.row);
            }
          }
          if (batchRows >= batchSize) await flush();
        }
        await flush();
        while (inflight.length) await inflight.shift();
      } catch (err) {
        // Let the batches already handed to the database finish (each is committed or not, never half).
        await Promise.allSettled(inflight);
        throw err;
      }
      if (!plan) throw new AppError('validation', 'IMPORT_EMPTY_FILE', 'The file is empty.');
      if (c.rowsRead === 0 && !resumeAfter)
        throw new AppError('validation', 'IMPORT_NO_DATA_ROWS', 'The file has a header but no data rows.');
      c.bytesRead = bytes;
      c.rowsAccepted -= storeRejected;
      c.rowsRejected += storeRejected;
      c.statistics = statistics();
      await deps.repo.checkpoint(db, tenantId, run.id, c);
      return { ...c, itemsInserted: items.inserted, itemsUpdated: items.updated };
    },
  };
}
export type ImportPipeline = ReturnType<typeof createImportPipeline>;
