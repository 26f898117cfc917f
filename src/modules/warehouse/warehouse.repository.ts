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

/** The warehouse module's tables: watermarks and committed files. Every statement filters on the tenant. */
export function createWarehouseRepository() {
  return {
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
     * Records a batch whose files are durable and advances the watermark to `key`, only if the watermark is still
     * at batch `seq - 1` (another exporter that committed this batch first wins; false tells the caller).
     */
    async commitBatch(
      q: Q,
      tenantId: string,
      table: ExportTable,
      seq: number,
      key: ExportKey,
      rows: number,
      files: Array<Omit<ManifestFile, 'table' | 'seq' | 'createdAt'>>,
    ): Promise<boolean> {
      const moved = await queryRows<{ batches: number }>(
        q,
        sql`UPDATE warehouse_watermarks SET key_ts = ${key.ts}::timestamptz, key_id = ${key.id}, batches = ${seq},
              rows_exported = rows_exported + ${rows}, last_error = NULL, last_run_at = now(), updated_at = now()
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
