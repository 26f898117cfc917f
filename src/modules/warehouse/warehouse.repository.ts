import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { ManifestFile, ManifestWatermark } from './warehouse.core.ts';
import type { ExportKey, ExportTable } from './warehouse.types.ts';

export interface Watermark extends ManifestWatermark {
  lastError: string | null;
  lastRunAt: Date | null;
  updatedAt: Date;
}

const WATERMARK_COLUMNS = sql`table_name AS "table", key_ts::text AS "keyTs", key_id AS "keyId", batches, rows_exported::float8 AS "rowsExported",
  last_error AS "lastError", last_run_at AS "lastRunAt", updated_at AS "updatedAt"`;

/** A batch whose files are being written: its sequence number, the writer's fencing token and the files' paths. */
export interface PendingJournal {
  seq: number;
  token?: number;
  files: string[];
}

/** A tenant's export lease as one exporter holds it: its owner id and fencing token. */
export interface ExportLease {
  owner: string;
  token: number;
}

async function holdsLease(q: Q, tenantId: string, lease: ExportLease, lock: boolean): Promise<boolean> {
  const rows = await queryRows<{ token: string }>(
    q,
    sql`SELECT token::text AS token FROM warehouse_export_leases
         WHERE tenant_id = ${tenantId} AND owner = ${lease.owner} AND token = ${lease.token} ${lock ? sql`FOR UPDATE` : sql``}`,
  );
  return rows.length === 1;
}

/** The warehouse module's tables: watermarks, committed files and export leases. Every statement filters on the tenant. */
export function createWarehouseRepository() {
  return {
    /**
     * Takes the tenant's export lease by compare-and-set: inserted when there is none, taken over when the holder's
     * has expired (its token + 1), else null. One statement: of two takers, exactly one gets it.
     */
    async takeLease(q: Q, tenantId: string, owner: string, leaseMs: number): Promise<ExportLease | null> {
      const row = await queryOne<{ token: string }>(
        q,
        sql`INSERT INTO warehouse_export_leases (tenant_id, owner, token, expires_at)
            VALUES (${tenantId}, ${owner}, 1, clock_timestamp() + ${leaseMs} * interval '1 millisecond')
            ON CONFLICT (tenant_id) DO UPDATE
              SET owner = excluded.owner, token = warehouse_export_leases.token + 1, expires_at = excluded.expires_at
              WHERE warehouse_export_leases.expires_at <= clock_timestamp()
            RETURNING token::text AS token`,
      );
      return row ? { owner, token: Number(row.token) } : null;
    },

    /** Extends a held lease; false when it was taken over (the holder must stop writing). */
    async renewLease(q: Q, tenantId: string, lease: ExportLease, leaseMs: number): Promise<boolean> {
      const rows = await queryRows<{ token: string }>(
        q,
        sql`UPDATE warehouse_export_leases SET expires_at = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
             WHERE tenant_id = ${tenantId} AND owner = ${lease.owner} AND token = ${lease.token} RETURNING token::text AS token`,
      );
      return rows.length === 1;
    },

    /** Ends a held lease at once (the row stays, so the next taker's token is still larger). */
    async releaseLease(q: Q, tenantId: string, lease: ExportLease): Promise<void> {
      await q.execute(
        sql`UPDATE warehouse_export_leases SET expires_at = '-infinity'
             WHERE tenant_id = ${tenantId} AND owner = ${lease.owner} AND token = ${lease.token}`,
      );
    },

    /** Every tenant that has exported at least once: the one read across tenants (the scheduler books their runs). */
    async exportedTenants(q: Q): Promise<string[]> {
      const rows = await queryRows<{ tenant_id: string }>(q, sql`SELECT DISTINCT tenant_id::text AS tenant_id FROM warehouse_watermarks`);
      return rows.map((r) => r.tenant_id);
    },

    /** The table's watermark, created (empty) on first use. */
    async watermark(q: Q, tenantId: string, table: ExportTable): Promise<Watermark> {
      await q.execute(
        sql`INSERT INTO warehouse_watermarks (tenant_id, table_name) VALUES (${tenantId}, ${table}) ON CONFLICT (tenant_id, table_name) DO NOTHING`,
      );
      const row = await queryOne<Watermark>(
        q,
        sql`SELECT ${WATERMARK_COLUMNS} FROM warehouse_watermarks WHERE tenant_id = ${tenantId} AND table_name = ${table}`,
      );
      return row!;
    },

    async watermarks(q: Q, tenantId: string): Promise<Watermark[]> {
      return queryRows<Watermark>(
        q,
        sql`SELECT ${WATERMARK_COLUMNS} FROM warehouse_watermarks WHERE tenant_id = ${tenantId} ORDER BY table_name`,
      );
    },

    /**
     * Records a batch whose files are durable and advances the watermark to `key`, only if `lease` is still the
     * tenant's (a holder whose lease was taken over is fenced off) and the watermark is still at batch `seq - 1`
     * (another exporter that committed this batch first wins). False tells the caller it did not commit.
     */
    async commitBatch(
      q: Q,
      tenantId: string,
      table: ExportTable,
      seq: number,
      key: ExportKey,
      rows: number,
      files: Array<Omit<ManifestFile, 'table' | 'seq' | 'createdAt'>>,
      lease: ExportLease,
    ): Promise<boolean> {
      // Fencing: the lease row is locked for the commit, so a takeover lands before it (this commit refused) or after.
      if (!(await holdsLease(q, tenantId, lease, true))) return false;
      const moved = await queryRows<{ batches: number }>(
        q,
        sql`UPDATE warehouse_watermarks SET key_ts = ${key.ts}::timestamptz, key_id = ${key.id}, batches = ${seq},
              rows_exported = rows_exported + ${rows}, last_error = NULL, pending = NULL, last_run_at = now(), updated_at = now()
             WHERE tenant_id = ${tenantId} AND table_name = ${table} AND batches = ${seq - 1} RETURNING batches`,
      );
      if (moved.length === 0) return false;
      await q.execute(
        sql`INSERT INTO warehouse_files (tenant_id, table_name, seq, partition_date, path, row_count, bytes, sha256)
            SELECT ${tenantId}, ${table}, ${seq}, f.d, f.p, f.n, f.b, f.h
              FROM unnest(${arrayParam(files.map((f) => f.partitionDate))}::text[], ${arrayParam(files.map((f) => f.path))}::text[],
                          ${arrayParam(files.map((f) => f.rowCount))}::int[], ${arrayParam(files.map((f) => f.bytes))}::int8[],
                          ${arrayParam(files.map((f) => f.sha256))}::text[]) AS f(d, p, n, b, h)`,
      );
      return true;
    },

    /**
     * Records the journal of the batch about to be written, only while `lease` is still the tenant's: the lease row is
     * locked for the write, so a takeover lands before it (false: the caller stops before writing any file) or after
     * (the taker then finds this journal and removes its files). An exporter fenced off never overwrites its taker's.
     */
    async writeJournal(q: Q, tenantId: string, table: ExportTable, lease: ExportLease, journal: PendingJournal): Promise<boolean> {
      if (!(await holdsLease(q, tenantId, lease, true))) return false;
      await q.execute(
        sql`UPDATE warehouse_watermarks SET pending = ${JSON.stringify(journal)}::jsonb
             WHERE tenant_id = ${tenantId} AND table_name = ${table}`,
      );
      return true;
    },

    /** The journal of a batch that was being written when its exporter stopped (null: none). */
    async journal(q: Q, tenantId: string, table: ExportTable): Promise<PendingJournal | null> {
      const row = await queryOne<{ pending: PendingJournal | null }>(
        q,
        sql`SELECT pending FROM warehouse_watermarks WHERE tenant_id = ${tenantId} AND table_name = ${table}`,
      );
      return row?.pending ?? null;
    },

    /** Drops a journal once its batch's files are removed (only the one read: a newer one stays). */
    async clearJournal(q: Q, tenantId: string, table: ExportTable, journal: PendingJournal): Promise<void> {
      await q.execute(
        sql`UPDATE warehouse_watermarks SET pending = NULL
             WHERE tenant_id = ${tenantId} AND table_name = ${table} AND pending = ${JSON.stringify(journal)}::jsonb`,
      );
    },

    /** Notes a failed run on the watermark without moving it. */
    async recordError(q: Q, tenantId: string, table: ExportTable, message: string): Promise<void> {
      await q.execute(
        sql`UPDATE warehouse_watermarks SET last_error = ${message.slice(0, 2000)}, last_run_at = now(), updated_at = now()
             WHERE tenant_id = ${tenantId} AND table_name = ${table}`,
      );
    },

    async files(q: Q, tenantId: string, opts: { table?: ExportTable; limit?: number } = {}): Promise<ManifestFile[]> {
      return queryRows<ManifestFile>(
        q,
        sql`SELECT table_name AS "table", seq, partition_date AS "partitionDate", path, row_count AS "rowCount", bytes::float8 AS bytes,
                   sha256, created_at AS "createdAt"
              FROM warehouse_files WHERE tenant_id = ${tenantId} ${opts.table ? sql`AND table_name = ${opts.table}` : sql``}
             ORDER BY ${opts.limit ? sql`created_at DESC, seq DESC` : sql`table_name, seq, partition_date`}
             ${opts.limit ? sql`LIMIT ${opts.limit}` : sql``}`,
      );
    },

    /**
     * The start of the oldest transaction open on the server right now (other sessions), or null. A row such a
     * transaction writes carries a time at or after it, so exporting only before it never passes an uncommitted
     * row. PostgreSQL only: the embedded database runs one transaction at a time.
     */
    async oldestOpenTransaction(q: Q): Promise<Date | null> {
      const row = await queryOne<{ at: Date | null }>(
        q,
        sql`SELECT min(xact_start) AS at FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`,
      );
      return row?.at ? new Date(row.at) : null;
    },
  };
}
export type WarehouseRepository = ReturnType<typeof createWarehouseRepository>;
