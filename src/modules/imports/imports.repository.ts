import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { AnonymousRows, ImportKind } from './imports.columns.ts';
import type { RowIssue } from './imports.core.ts';
import type { ImportSort } from './imports.schemas.ts';

export interface ImportListFilters {
  kind?: ImportKind | undefined;
}

/** One fixed ordering per sort key (never built from input); ties fall back to the id, newest first. */
const IMPORT_ORDER_BY: Record<ImportSort, SQL> = {
  created_at: sql`created_at ASC, id DESC`,
  '-created_at': sql`created_at DESC, id DESC`,
  file_name: sql`file_name ASC, id DESC`,
  '-file_name': sql`file_name DESC, id DESC`,
  rows_rejected: sql`rows_rejected ASC, id DESC`,
  '-rows_rejected': sql`rows_rejected DESC, id DESC`,
};

export type ImportStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface ImportRunRow {
  id: string;
  kind: ImportKind;
  status: ImportStatus;
  mode: 'sync' | 'async';
  fileName: string;
  storageKey: string | null;
  fileBytes: number;
  compressed: string | null;
  format: string | null;
  delimiter: string | null;
  options: ImportOptionsStored;
  jobId: string | null;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  rowsDuplicate: number;
  warnings: number;
  bytesRead: number;
  checkpointRow: number;
  statistics: Record<string, unknown> | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface ImportOptionsStored {
  mapping?: Record<string, string>;
  format?: 'csv' | 'json' | 'ndjson';
  delimiter?: string;
  customTypes?: string[];
  /** Channel of the rows (`pos`, `upload` ...): the interactions' source and the profiles' channels. */
  source?: string;
  /** Rows that name no customer: rejected (default) or imported as anonymous shoppers per order or session. */
  anonymousRows?: AnonymousRows;
  /** A digest of the file's header (set when the run starts): finds the mapping used last time for this layout. */
  headerKey?: string;
  /** The import this one runs again (same stored file). */
  rerunOf?: string;
}

export interface ImportCounters {
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  rowsDuplicate: number;
  warnings: number;
  bytesRead: number;
  checkpointRow: number;
  statistics: Record<string, unknown> | null;
}

const COLUMNS = sql`id, kind, status, mode, file_name AS "fileName", storage_key AS "storageKey", file_bytes::float8 AS "fileBytes", compressed, format, delimiter,
  options, job_id AS "jobId", rows_read AS "rowsRead", rows_accepted AS "rowsAccepted", rows_rejected AS "rowsRejected", rows_duplicate AS "rowsDuplicate",
  warnings, bytes_read::float8 AS "bytesRead", checkpoint_row AS "checkpointRow", statistics, error_code AS "errorCode", error_message AS "errorMessage",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt", updated_at AS "updatedAt"`;

/** Stored row problems per import are capped; the counters still count every rejected row. */
export const MAX_STORED_ISSUES = 1_000_000;

/** All SQL of imports. Every statement filters on tenant_id. */
export function createImportsRepository() {
  return {
    async create(
      q: Q,
      tenantId: string,
      r: { id: string; kind: ImportKind; mode: 'sync' | 'async'; fileName: string; options: ImportOptionsStored; createdBy: string },
    ): Promise<ImportRunRow> {
      return (await queryOne<ImportRunRow>(
        q,
        sql`INSERT INTO import_runs (tenant_id, id, kind, mode, status, file_name, options, created_by)
            VALUES (${tenantId}, ${r.id}, ${r.kind}, ${r.mode}, 'queued', ${r.fileName}, ${JSON.stringify(r.options)}::jsonb, ${r.createdBy})
            RETURNING ${COLUMNS}`,
      ))!;
    },

    /** Bytes and number of the tenant's kept upload files. */
    async storedBytes(q: Q, tenantId: string): Promise<{ bytes: number; files: number }> {
      const row = await queryOne<{ bytes: number; files: number }>(
        q,
        sql`SELECT COALESCE(sum(file_bytes), 0)::float8 AS bytes, count(*)::int AS files FROM import_runs WHERE tenant_id = ${tenantId} AND storage_key IS NOT NULL`,
      );
      return row ?? { bytes: 0, files: 0 };
    },

    /** Forgets the run's kept file (the file itself is deleted by the caller). */
    async clearStored(q: Q, tenantId: string, id: string): Promise<void> {
      await q.execute(sql`UPDATE import_runs SET storage_key = NULL, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    async setStored(q: Q, tenantId: string, id: string, f: { storageKey: string; fileBytes: number }): Promise<void> {
      await q.execute(
        sql`UPDATE import_runs SET storage_key = ${f.storageKey}, file_bytes = ${f.fileBytes}, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
    },

    async setJob(q: Q, tenantId: string, id: string, jobId: string): Promise<void> {
      await q.execute(sql`UPDATE import_runs SET job_id = ${jobId}, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    async start(
      q: Q,
      tenantId: string,
      id: string,
      f: { compressed: string | null; format: string | null; delimiter: string | null; headerKey?: string },
    ): Promise<void> {
      const header = f.headerKey ? sql`, options = options || jsonb_build_object('headerKey', ${f.headerKey}::text)` : sql``;
      await q.execute(sql`UPDATE import_runs SET status = 'running', started_at = coalesce(started_at, now()), compressed = ${f.compressed}, format = ${f.format},
                                  delimiter = ${f.delimiter}, updated_at = now()${header}
                           WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /**
     * The options of the newest import of this kind whose file had the same header and kept rows: the
     * mapping a merchant chose last time for this file layout.
     */
    async lastOptionsForHeader(
      q: Q,
      tenantId: string,
      kind: ImportKind,
      headerKey: string,
    ): Promise<{ id: string; createdAt: Date; options: ImportOptionsStored } | undefined> {
      return queryOne(
        q,
        sql`SELECT id, created_at AS "createdAt", options FROM import_runs
             WHERE tenant_id = ${tenantId} AND kind = ${kind} AND options->>'headerKey' = ${headerKey} AND rows_accepted > 0
             ORDER BY created_at DESC LIMIT 1`,
      );
    },

    /** Advances counters and the checkpoint together (after a batch is committed). */
    async checkpoint(q: Q, tenantId: string, id: string, c: ImportCounters): Promise<void> {
      await q.execute(sql`UPDATE import_runs SET rows_read = ${c.rowsRead}, rows_accepted = ${c.rowsAccepted}, rows_rejected = ${c.rowsRejected},
                                  rows_duplicate = ${c.rowsDuplicate}, warnings = ${c.warnings}, bytes_read = ${Math.round(c.bytesRead)}, checkpoint_row = ${c.checkpointRow},
                                  statistics = ${c.statistics ? JSON.stringify(c.statistics) : null}::jsonb, updated_at = now()
                           WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    async finish(
      q: Q,
      tenantId: string,
      id: string,
      f: { status: 'succeeded' | 'failed'; errorCode?: string | null; errorMessage?: string | null },
    ): Promise<void> {
      await q.execute(sql`UPDATE import_runs SET status = ${f.status}, error_code = ${f.errorCode ?? null}, error_message = ${f.errorMessage ?? null},
                                  finished_at = now(), updated_at = now()
                           WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /**
     * Start-up maintenance across tenants (the one statement here without a tenant filter, on purpose): a
     * synchronous run still queued or running had its process die mid-request (no job will resume it).
     * With `all`, every such run (the embedded database: this process is the only one); otherwise those
     * with no checkpoint since `staleBefore` (another live server may still be writing the others).
     */
    async interruptOrphanedSyncRuns(q: Q, f: { all: boolean; staleBefore: Date; message: string }): Promise<number> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`UPDATE import_runs SET status = 'interrupted', error_code = 'IMPORT_INTERRUPTED', error_message = ${f.message},
                   finished_at = now(), updated_at = now()
            WHERE mode = 'sync' AND status IN ('queued', 'running') ${f.all ? sql`` : sql`AND updated_at < ${f.staleBefore.toISOString()}`}
            RETURNING id`,
      );
      return rows.length;
    },

    get: (q: Q, tenantId: string, id: string) =>
      queryOne<ImportRunRow>(q, sql`SELECT ${COLUMNS} FROM import_runs WHERE tenant_id = ${tenantId} AND id = ${id}`),

    list: (
      q: Q,
      tenantId: string,
      f: ImportListFilters & { cursor?: string | undefined; sort?: ImportSort | undefined; offset?: number | undefined; limit: number },
    ) =>
      queryRows<ImportRunRow>(
        q,
        sql`SELECT ${COLUMNS} FROM import_runs WHERE tenant_id = ${tenantId}
            ${f.kind ? sql`AND kind = ${f.kind}` : sql``} ${f.cursor ? sql`AND id < ${f.cursor}::uuid` : sql``}
            ORDER BY ${f.sort ? IMPORT_ORDER_BY[f.sort] : sql`id DESC`} LIMIT ${f.limit} OFFSET ${f.offset ?? 0}`,
      ),

    /** How many imports match the filters (a paged table's total). */
    count: async (q: Q, tenantId: string, f: ImportListFilters): Promise<number> =>
      (
        await queryOne<{ n: number }>(
          q,
          sql`SELECT count(*)::int AS n FROM import_runs WHERE tenant_id = ${tenantId} ${f.kind ? sql`AND kind = ${f.kind}` : sql``}`,
        )
      )?.n ?? 0,

    /** Set-based; a replayed batch's issues are already there and are skipped. */
    async addIssues(q: Q, tenantId: string, importId: string, issues: readonly RowIssue[]): Promise<void> {
      if (!issues.length) return;
      const col = <T>(f: (i: RowIssue) => T) => arrayParam(issues.map(f));
      await q.execute(sql`
        INSERT INTO import_errors (tenant_id, import_id, row, field, code, severity, reason, value, item_id)
        SELECT ${tenantId}::uuid, ${importId}::uuid, t.* FROM unnest(${col((i) => i.row)}::int[], ${col((i) => i.field)}::text[], ${col((i) => i.code)}::text[],
               ${col((i) => i.severity)}::text[], ${col((i) => i.reason)}::text[], ${col((i) => i.value ?? null)}::text[], ${col((i) => i.itemId ?? null)}::text[]) AS t
        ON CONFLICT DO NOTHING`);
    },

    /** Issues in row order, keyset-paged by (row, field, code). */
    issues: (
      q: Q,
      tenantId: string,
      importId: string,
      f: { after?: { row: number; field: string; code: string } | undefined; limit: number },
    ) =>
      queryRows<RowIssue>(
        q,
        sql`SELECT row, field, code, severity, reason, value, item_id AS "itemId" FROM import_errors
            WHERE tenant_id = ${tenantId} AND import_id = ${importId}
            ${f.after ? sql`AND (row, field, code) > (${f.after.row}, ${f.after.field}, ${f.after.code})` : sql``}
            ORDER BY row, field, code LIMIT ${f.limit}`,
      ),

    /** The problems of an import grouped by field and code, most frequent first, with one reason each. */
    issueSummary: (q: Q, tenantId: string, importId: string, limit = 10) =>
      queryRows<{ field: string; code: string; severity: string; reason: string; rows: number }>(
        q,
        sql`SELECT field, code, min(severity) AS severity, min(reason) AS reason, count(*)::int AS rows FROM import_errors
            WHERE tenant_id = ${tenantId} AND import_id = ${importId}
            GROUP BY field, code ORDER BY count(*) DESC, field, code LIMIT ${limit}`,
      ),

    /** Rows accepted and rejected, and runs, of the tenant's imports created since `since` (data quality). */
    async importTotals(q: Q, tenantId: string, since: Date) {
      const imports = await queryOne<{ accepted: number; rejected: number; runs: number }>(
        q,
        sql`SELECT coalesce(sum(rows_accepted), 0)::int AS accepted, coalesce(sum(rows_rejected), 0)::int AS rejected, count(*)::int AS runs
            FROM import_runs WHERE tenant_id = ${tenantId} AND created_at >= ${since.toISOString()}`,
      );
      return imports!;
    },
  };
}
export type ImportsRepository = ReturnType<typeof createImportsRepository>;
