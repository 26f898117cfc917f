import { type Readable, Transform, pipeline as streamPipeline } from 'node:stream';
import { z } from 'zod';
import {
  type Q,
  AppError,
  PermanentJobError,
  newId,
  notFound,
  type JobQueue,
  type ObjectStorage,
  type TenantContext,
} from '../../platform/index.ts';
import { CUSTOM_TYPE_PATTERN } from '../events/index.ts';
import { headerKeyOf, type AnonymousRows, type ImportKind } from './imports.columns.ts';
import { estimateRows, gzipCap, sniffBinaryInput } from './imports.parse.ts';
import type { ImportPipeline, RunOutcome } from './imports.pipeline.ts';
import type { ImportCounters, ImportOptionsStored, ImportRunRow, ImportsRepository } from './imports.repository.ts';

export const IMPORT_JOB = 'imports.process';
/** Uploads up to this size are processed during the request unless `mode=async`. */
export const SYNC_MAX_BYTES = 32 * 1024 * 1024;
/**
 * ...and up to this many expected rows (estimated from the decompressed head, so a small gzip of many rows
 * runs as a job with progress instead of one long request): about 2 s at the import's ~10,000 rows/s.
 */
export const SYNC_MAX_ROWS = 20_000;
/** On a shared server, a synchronous run with no checkpoint for this long has lost its process. */
const SYNC_STALE_MS = 30 * 60_000;

export interface ImportsServiceDeps {
  db: Q;
  repo: ImportsRepository;
  pipeline: ImportPipeline;
  storage: ObjectStorage;
  jobs: JobQueue;
  /** Hard cap on decompressed bytes (the pipeline's), used when sniffing a gzip's head. */
  maxDecompressedBytes: number;
  /** Bytes of kept uploads the tenant may have (its `settings.imports.storage_quota_bytes`, else the configured one). */
  storageQuota: (tenantId: string) => Promise<number>;
  /** Called after an import run succeeded (listeners must not throw; the warehouse queues its marts refresh). */
  onImported?: (tenantId: string) => void;
}

/** An upload being written, counted against the quota until its import records it (or it is discarded). */
interface PendingUpload {
  bytes: number;
  at: number;
}
/** A pending upload never recorded for this long was lost with its request: it no longer counts. */
const PENDING_STALE_MS = 60 * 60_000;
/** While an upload streams, the stored total is read again at most every this many bytes (or when one settles). */
const QUOTA_RECHECK_BYTES = 8 * 1024 * 1024;

const formatBytes = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${Math.ceil(n / 1024)} kB`;

/** Upload options as given in the multipart fields (already parsed from text). */
export interface UploadOptions {
  mapping?: Record<string, string> | undefined;
  delimiter?: string | undefined;
  format?: 'csv' | 'json' | 'ndjson' | undefined;
  mode?: 'sync' | 'async' | undefined;
  customTypes?: string[] | undefined;
  /** Channel of the rows, e.g. `pos` for a point-of-sale export (default `upload`). */
  source?: string | undefined;
  /** Rows that name no customer: rejected (default) or imported as anonymous shoppers per order or session. */
  anonymousRows?: AnonymousRows | undefined;
}

/** Options as stored on the run (checked here once, for uploads and the CLI alike). */
function storedOptions(o: UploadOptions): ImportOptionsStored {
  if (o.customTypes?.some((t) => !CUSTOM_TYPE_PATTERN.test(t))) {
    throw new AppError('validation', 'IMPORT_CUSTOM_TYPE_INVALID', 'custom_types must be lower_snake_case names (2 to 50 characters).');
  }
  if (o.source !== undefined && !SOURCE_PATTERN.test(o.source)) {
    throw new AppError(
      'validation',
      'IMPORT_SOURCE_INVALID',
      'source must be a lower-case channel name such as "pos" (letters, digits, _ and -, at most 40).',
    );
  }
  return {
    ...(o.mapping ? { mapping: o.mapping } : {}),
    ...(o.format ? { format: o.format } : {}),
    ...(o.delimiter ? { delimiter: o.delimiter } : {}),
    ...(o.customTypes?.length ? { customTypes: o.customTypes } : {}),
    ...(o.source ? { source: o.source } : {}),
    ...(o.anonymousRows === 'anonymous' ? { anonymousRows: o.anonymousRows } : {}),
  };
}
const SOURCE_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;

export type UploadResult = { mode: 'sync'; run: ImportRunRow; outcome: RunOutcome } | { mode: 'async'; run: ImportRunRow };

const safeName = (name: string): string => {
  const base = (name.split(/[\\/]/).pop() ?? '')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(-120);
  return base || 'upload';
};

const jobPayload = z.object({ importId: z.string().uuid() });

export function createImportsService(deps: ImportsServiceDeps) {
  // Uploads being written per tenant (key -> bytes so far): with the stored total they make the quota exact in this
  // process, also for uploads racing each other; `generation` moves whenever one settles, so the stored total is read again.
  const pending = new Map<string, Map<string, PendingUpload>>();
  let generation = 0;
  const pendingBytes = (tenantId: string, now: number) => {
    let n = 0;
    for (const [key, p] of pending.get(tenantId) ?? []) {
      if (now - p.at > PENDING_STALE_MS) pending.get(tenantId)!.delete(key);
      else n += p.bytes;
    }
    return n;
  };
  const settle = (tenantId: string, key: string) => {
    if (pending.get(tenantId)?.delete(key)) generation++;
    if (pending.get(tenantId)?.size === 0) pending.delete(tenantId);
  };
  const quotaExceeded = (used: number, quota: number) =>
    new AppError(
      'payload_too_large',
      'IMPORT_STORAGE_QUOTA_EXCEEDED',
      `The kept uploads of this tenant would pass its storage quota (${formatBytes(used)} of ${formatBytes(quota)} used). ` +
        'Delete the files of old imports (DELETE /api/v1/imports/:id/file, or Import → Recent imports), or ask the administrator to raise settings.imports.storage_quota_bytes.',
    );

  /** The upload stream, counted into `entry`, failing once the tenant's kept files and pending uploads pass the quota. */
  async function quotaGuard(tenantId: string, entry: PendingUpload): Promise<Transform> {
    const quota = await deps.storageQuota(tenantId);
    let stored = (await deps.repo.storedBytes(deps.db, tenantId)).bytes;
    let seen = generation;
    let sinceCheck = 0;
    const over = () => stored + pendingBytes(tenantId, Date.now()) > quota;
    if (over()) throw quotaExceeded(stored + pendingBytes(tenantId, Date.now()), quota);
    let failed = false;
    return new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (failed) return done(); // refused already: the rest is dropped
        entry.bytes += chunk.length;
        sinceCheck += chunk.length;
        const check = async () => {
          if (seen !== generation || sinceCheck >= QUOTA_RECHECK_BYTES) {
            seen = generation;
            sinceCheck = 0;
            stored = (await deps.repo.storedBytes(deps.db, tenantId)).bytes;
          }
          if (over()) throw quotaExceeded(stored + pendingBytes(tenantId, Date.now()) - chunk.length, quota);
        };
        check().then(
          () => done(null, chunk),
          (err: unknown) => {
            failed = true;
            done(err as Error);
          },
        );
      },
    });
  }

  const { repo, pipeline, storage, jobs, db } = deps;

  /**
   * Runs a stored import to its end. File-level problems (AppError) fail the run for good; other errors
   * (database down) fail a synchronous run, but leave a job's run resumable for its next attempt.
   */
  async function runToEnd(
    tenantId: string,
    run: ImportRunRow,
    signal?: AbortSignal,
    onProgress?: (c: ImportCounters) => Promise<void> | void,
  ): Promise<RunOutcome> {
    try {
      const outcome = await pipeline.process(tenantId, run, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) });
      await repo.finish(db, tenantId, run.id, { status: 'succeeded' });
      deps.onImported?.(tenantId);
      return outcome;
    } catch (err) {
      if (err instanceof AppError && err.kind !== 'internal') {
        await repo.finish(db, tenantId, run.id, { status: 'failed', errorCode: err.code, errorMessage: err.message });
      } else if (run.mode === 'sync') {
        const message =
          'The import stopped on an internal error; the rows of committed batches are kept. Upload the file again to finish it (re-imports are idempotent).';
        await repo
          .finish(db, tenantId, run.id, { status: 'failed', errorCode: 'IMPORT_INTERRUPTED', errorMessage: message })
          .catch(() => undefined);
        // The client sees the same code and message as the run (the cause goes to the log, not to the client).
        throw new AppError('unavailable', 'IMPORT_INTERRUPTED', message, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Refuses an Excel file, a double gzip or other binary input before a run is created (sync or async), so
   * no run waits in the queue for a file that cannot be read; the stored bytes are removed.
   */
  async function refuseBinary(tenantId: string, key: string, bytes: number): Promise<void> {
    const problem = await sniffBinaryInput(await storage.get(tenantId, key), gzipCap(bytes, deps.maxDecompressedBytes));
    if (!problem) return;
    settle(tenantId, key);
    await storage.delete(tenantId, key).catch(() => undefined);
    throw problem;
  }

  /** Sync for small files, async (a job with progress) for large ones: by expected rows, then by stored bytes. */
  async function defaultMode(tenantId: string, key: string, bytes: number): Promise<'sync' | 'async'> {
    if (bytes > SYNC_MAX_BYTES) return 'async';
    const rows = await estimateRows(await storage.get(tenantId, key), bytes);
    return rows !== null && rows > SYNC_MAX_ROWS ? 'async' : 'sync';
  }

  return {
    /**
     * At start: synchronous uploads cut off by a crash are marked `interrupted` (their committed rows are
     * kept) instead of staying `running` forever. `exclusive`: this process alone uses the database.
     */
    async interruptOrphanedRuns(exclusive: boolean, now: Date): Promise<number> {
      return repo.interruptOrphanedSyncRuns(db, {
        all: exclusive,
        staleBefore: new Date(now.getTime() - SYNC_STALE_MS),
        message:
          'The upload was interrupted (the server stopped while it ran); the rows of committed batches are kept. Upload the file again to finish it (re-imports are idempotent).',
      });
    },

    /** Registers the background import job (idempotent handler: resumes after the last committed batch). */
    registerJobs(): void {
      jobs.register({
        type: IMPORT_JOB,
        payload: jobPayload,
        maxAttempts: 3,
        async handle(job) {
          const run = await repo.get(db, job.tenantId, job.payload.importId);
          if (!run) throw new PermanentJobError('import run not found');
          if (run.status === 'succeeded' || run.status === 'failed') return { import_id: run.id, status: run.status };
          try {
            const out = await runToEnd(job.tenantId, run, job.signal, (c) =>
              job.progress({
                rows_read: c.rowsRead,
                rows_accepted: c.rowsAccepted,
                rows_rejected: c.rowsRejected,
                bytes_read: c.bytesRead,
                total_bytes: run.fileBytes,
              }),
            );
            return { import_id: run.id, rows_accepted: out.rowsAccepted, rows_rejected: out.rowsRejected };
          } catch (err) {
            if (err instanceof AppError && err.kind !== 'internal') throw new PermanentJobError(`${err.code}: ${err.message}`);
            if (job.attempt >= 3)
              await repo.finish(db, job.tenantId, run.id, {
                status: 'failed',
                errorCode: 'IMPORT_FAILED',
                errorMessage: 'The import failed after several attempts.',
              });
            throw err;
          }
        },
      });
    },

    /** Keeps the raw upload in the tenant's object storage (`uploads/<id>/<name>`), streaming. */
    async storeUpload(ctx: TenantContext, id: string, fileName: string, stream: Readable): Promise<{ key: string; bytes: number }> {
      const key = `uploads/${id}/${safeName(fileName)}`;
      const entry: PendingUpload = { bytes: 0, at: Date.now() };
      let forTenant = pending.get(ctx.tenantId);
      if (!forTenant) pending.set(ctx.tenantId, (forTenant = new Map()));
      forTenant.set(key, entry);
      try {
        const guard = await quotaGuard(ctx.tenantId, entry);
        // errors of either side end both (the storage's own pipeline reports them); never an unhandled 'error'
        const out = await storage.put(
          ctx.tenantId,
          key,
          streamPipeline(stream, guard, () => undefined),
        );
        entry.bytes = out.bytes;
        return out;
      } catch (err) {
        settle(ctx.tenantId, key);
        stream.resume(); // a refused upload's remaining bytes are read and dropped, so the request can be answered
        await storage.delete(ctx.tenantId, key).catch(() => undefined);
        throw err;
      }
    },

    /** Removes a kept upload that was refused before it became an import. */
    async discardUpload(ctx: TenantContext, key: string): Promise<void> {
      settle(ctx.tenantId, key);
      await storage.delete(ctx.tenantId, key).catch(() => undefined);
    },

    /** Bytes and files of the tenant's kept uploads, and its quota. */
    async storageUse(ctx: TenantContext): Promise<{ bytes: number; files: number; quotaBytes: number }> {
      const [used, quotaBytes] = await Promise.all([repo.storedBytes(db, ctx.tenantId), deps.storageQuota(ctx.tenantId)]);
      return { ...used, quotaBytes };
    },

    /** Deletes an import's kept file (the import's record, counts and problems stay; it can no longer run again). */
    async deleteFile(ctx: TenantContext, id: string): Promise<ImportRunRow> {
      const run = await this.get(ctx, id);
      if (run.status === 'queued' || run.status === 'running')
        throw new AppError(
          'conflict',
          'IMPORT_STILL_RUNNING',
          'This import is still running: wait for it to finish before deleting its file.',
        );
      if (run.storageKey) {
        await repo.clearStored(db, ctx.tenantId, run.id);
        await storage.delete(ctx.tenantId, run.storageKey).catch(() => undefined);
        generation++;
      }
      return (await repo.get(db, ctx.tenantId, run.id))!;
    },

    /** Creates the import run for a stored upload and processes it now (small files) or as a job. */
    async start(
      ctx: TenantContext,
      kind: ImportKind,
      u: { id: string; fileName: string; key: string; bytes: number },
      o: UploadOptions,
      extra: { rerunOf?: string } = {},
    ): Promise<UploadResult> {
      const options = { ...storedOptions(o), ...(extra.rerunOf ? { rerunOf: extra.rerunOf } : {}) };
      await refuseBinary(ctx.tenantId, u.key, u.bytes);
      const mode = o.mode ?? (await defaultMode(ctx.tenantId, u.key, u.bytes));
      const actor = ctx.actor.type === 'system' ? `system:${ctx.actor.id}` : `${ctx.actor.type}:${ctx.actor.id}`;
      await repo.create(db, ctx.tenantId, { id: u.id, kind, mode, fileName: u.fileName.slice(0, 300), options, createdBy: actor });
      await repo.setStored(db, ctx.tenantId, u.id, { storageKey: u.key, fileBytes: u.bytes });
      settle(ctx.tenantId, u.key);
      if (mode === 'async') {
        const job = await jobs.enqueue(ctx.tenantId, IMPORT_JOB, { importId: u.id });
        await repo.setJob(db, ctx.tenantId, u.id, job.id);
        return { mode, run: (await repo.get(db, ctx.tenantId, u.id))! };
      }
      const outcome = await runToEnd(ctx.tenantId, (await repo.get(db, ctx.tenantId, u.id))!);
      return { mode, run: (await repo.get(db, ctx.tenantId, u.id))!, outcome };
    },

    /**
     * Imports a local file (the CLI): kept in object storage like an upload, processed now, with
     * progress reported after every committed batch.
     */
    async importFile(
      ctx: TenantContext,
      kind: ImportKind,
      file: { name: string; stream: Readable },
      o: UploadOptions,
      onProgress?: (c: ImportCounters, totalBytes: number) => void,
    ): Promise<{ run: ImportRunRow; outcome: RunOutcome }> {
      const id = newId();
      const stored = await this.storeUpload(ctx, id, file.name, file.stream);
      const actor = `${ctx.actor.type}:${ctx.actor.id}`;
      const options = storedOptions(o);
      await refuseBinary(ctx.tenantId, stored.key, stored.bytes);
      await repo.create(db, ctx.tenantId, { id, kind, mode: 'sync', fileName: file.name.slice(0, 300), options, createdBy: actor });
      await repo.setStored(db, ctx.tenantId, id, { storageKey: stored.key, fileBytes: stored.bytes });
      settle(ctx.tenantId, stored.key);
      const outcome = await runToEnd(ctx.tenantId, (await repo.get(db, ctx.tenantId, id))!, undefined, (c) =>
        onProgress?.(c, stored.bytes),
      );
      return { run: (await repo.get(db, ctx.tenantId, id))!, outcome };
    },

    /**
     * Runs an import again from its kept file, as a new import (re-imports are idempotent: rows already stored
     * count as duplicates), with the first one's options unless new ones are given (a corrected mapping).
     */
    async rerun(
      ctx: TenantContext,
      id: string,
      o: { mapping?: Record<string, string> | undefined; anonymousRows?: AnonymousRows | undefined; mode?: 'sync' | 'async' | undefined },
    ): Promise<UploadResult> {
      const first = await this.get(ctx, id);
      if (first.status === 'queued' || first.status === 'running')
        throw new AppError(
          'conflict',
          'IMPORT_STILL_RUNNING',
          'This import is still running: wait for it to finish before running it again.',
        );
      if (!first.storageKey || !(await storage.exists(ctx.tenantId, first.storageKey)))
        throw new AppError('conflict', 'IMPORT_FILE_GONE', 'The file of this import is no longer kept: upload it again.');
      const prev = first.options;
      const options: UploadOptions = {
        mapping: o.mapping ?? prev.mapping,
        format: prev.format,
        delimiter: prev.delimiter,
        customTypes: prev.customTypes,
        source: prev.source,
        anonymousRows: o.anonymousRows ?? prev.anonymousRows,
        mode: o.mode,
      };
      const newRunId = newId();
      const copy = await this.storeUpload(ctx, newRunId, first.fileName, await storage.get(ctx.tenantId, first.storageKey));
      try {
        return await this.start(ctx, first.kind, { id: newRunId, fileName: first.fileName, key: copy.key, bytes: copy.bytes }, options, {
          rerunOf: first.id,
        });
      } catch (err) {
        if (!(await repo.get(db, ctx.tenantId, newRunId))) await this.discardUpload(ctx, copy.key);
        throw err;
      }
    },

    /** The mapping chosen the last time a file with this header was imported (and kept rows), if any. */
    async savedMapping(ctx: TenantContext, kind: ImportKind, headers: readonly string[]) {
      return repo.lastOptionsForHeader(db, ctx.tenantId, kind, headerKeyOf(headers));
    },

    async get(ctx: TenantContext, id: string): Promise<ImportRunRow> {
      const run = z.string().uuid().safeParse(id).success ? await repo.get(db, ctx.tenantId, id) : undefined;
      if (!run) throw notFound('IMPORT_NOT_FOUND', 'Import');
      return run;
    },

    list: (ctx: TenantContext, f: Parameters<ImportsRepository['list']>[2]) => repo.list(db, ctx.tenantId, f),

    /** How many imports match the filters (a paged table's total). */
    count: (ctx: TenantContext, f: { kind?: ImportKind | undefined }) => repo.count(db, ctx.tenantId, f),

    issues: (ctx: TenantContext, id: string, f: Parameters<ImportsRepository['issues']>[3]) => repo.issues(db, ctx.tenantId, id, f),

    newId,
  };
}
export type ImportsService = ReturnType<typeof createImportsService>;
