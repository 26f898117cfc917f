import type { ExportRow, ExportTable } from './warehouse.types.ts';

/**
 * The warehouse files' contract (pure): each exported table's columns, how a row becomes Parquet column data,
 * where a file goes and what the manifest says. No I/O here.
 */
export type ColumnType = 'STRING' | 'JSON' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** What the column holds (the manifest's documentation for whoever loads the files). */
  doc: string;
}

export interface TableSpec {
  /** The column the date partition is cut on (UTC). */
  partitionBy: string;
  /** How a warehouse reads the files: `append` (every row once) or `latest_by_id` (one row per version, keep the newest). */
  mode: 'append' | 'latest_by_id';
  /** The ordering that `mode: latest_by_id` keeps the newest by. */
  versionColumn?: string;
  columns: ColumnSpec[];
}

const s = (name: string, doc: string): ColumnSpec => ({ name, type: 'STRING', doc });
const j = (name: string, doc: string): ColumnSpec => ({ name, type: 'JSON', doc });
const i32 = (name: string, doc: string): ColumnSpec => ({ name, type: 'INT32', doc });
const i64 = (name: string, doc: string): ColumnSpec => ({ name, type: 'INT64', doc });
const ts = (name: string, doc: string): ColumnSpec => ({ name, type: 'TIMESTAMP', doc });

export const TABLE_SPECS: Record<ExportTable, TableSpec> = {
  events: {
    partitionBy: 'occurred_at',
    mode: 'append',
    columns: [
      s('id', 'interaction id (UUIDv7, unique per tenant)'),
      ts('received_at', 'when Loupe stored it (UTC, ms)'),
      ts('occurred_at', 'when it happened (UTC, ms)'),
      s('type', 'view, add_to_cart, purchase, rating, ... or a custom type'),
      s('user_id', "the store's customer id"),
      s('anonymous_id', 'device/browser id'),
      s('profile_id', 'the unified profile (identity) it was linked to'),
      s('item_id', "the store's item id"),
      { name: 'value', type: 'DOUBLE', doc: 'rating or custom value' },
      i32('quantity', 'units'),
      i64('price_minor', 'unit price in minor units of currency'),
      s('currency', 'ISO 4217 code'),
      s('order_id', 'order the interaction belongs to'),
      s('session_id', 'tracking session'),
      s('recommendation_id', 'the recommendation it follows'),
      s('source', 'api, sdk, import, webhook, ...'),
      j('context', 'client context (page, campaign, device) as JSON'),
      j('metadata', 'free-form properties as JSON'),
    ],
  },
  profiles: {
    partitionBy: 'updated_at',
    mode: 'latest_by_id',
    versionColumn: 'updated_at',
    columns: [
      s('id', 'profile id'),
      s('status', 'active | merged | erased (an erased profile keeps no traits)'),
      s('merged_into', 'the profile a merged one now lives in'),
      j('traits', 'traits as JSON'),
      ts('first_seen_at', 'first event'),
      ts('last_seen_at', 'last event'),
      i32('total_orders', 'distinct orders'),
      i64('revenue_minor', 'revenue net of nothing, minor units of currency'),
      i64('refunded_minor', 'refunds, minor units of currency'),
      s('currency', 'ISO 4217 code of the money columns'),
      i32('event_count', 'events linked'),
      j('channels', 'channels seen, JSON array'),
      i32('profile_strength', '0-100 completeness score'),
      ts('created_at', 'profile creation'),
      ts('updated_at', 'this version'),
    ],
  },
  orders: {
    partitionBy: 'created_at',
    mode: 'latest_by_id',
    versionColumn: 'updated_at',
    columns: [
      s('id', 'order id'),
      s('cart_id', 'the cart it came from'),
      s('user_id', "the store's customer id (blank after an erasure)"),
      s('anonymous_id', 'device/browser id (blank after an erasure)'),
      s('profile_id', 'unified profile (blank after an erasure)'),
      s('email', 'customer e-mail (blank after an erasure)'),
      s('currency', 'ISO 4217 code of the money columns'),
      s('status', 'pending | paid | fulfilled | partially_refunded | refunded | cancelled'),
      i64('subtotal_minor', 'lines before discounts, minor units'),
      i64('discount_total_minor', 'discounts, minor units'),
      i64('tax_total_minor', 'tax, minor units'),
      i64('shipping_total_minor', 'shipping, minor units'),
      i64('total_minor', 'total charged, minor units'),
      i64('paid_minor', 'paid, minor units'),
      i64('refunded_minor', 'refunded, minor units'),
      j('promotion_ids', 'promotions applied, JSON array'),
      ts('created_at', 'order placed'),
      ts('updated_at', 'this version'),
      j(
        'lines',
        'order lines, JSON array of {id, item_id, name, quantity, unit_price_minor, subtotal_minor, discount_total_minor, tax_total_minor, total_minor} (money as strings)',
      ),
    ],
  },
  items: {
    partitionBy: 'updated_at',
    mode: 'latest_by_id',
    versionColumn: 'updated_at',
    columns: [
      s('id', "Loupe's item id"),
      s('item_id', "the store's item id"),
      s('name', 'name'),
      s('description', 'description'),
      s('category_id', 'category'),
      s('category_path', 'category as the source gave it'),
      s('brand', 'brand'),
      j('tags', 'tags, JSON array'),
      i64('price_minor', 'price, minor units of currency'),
      i64('sale_price_minor', 'sale price, minor units'),
      s('currency', 'ISO 4217 code'),
      s('image_url', 'image'),
      s('url', 'product page'),
      s('availability', 'in_stock | out_of_stock | preorder | discontinued'),
      i32('stock', 'units in stock'),
      s('gtin', 'GTIN'),
      s('mpn', 'MPN'),
      j('attributes', 'attributes as JSON'),
      { name: 'is_active', type: 'BOOLEAN', doc: 'false once deleted from the catalog' },
      ts('created_at', 'created'),
      ts('updated_at', 'this version'),
    ],
  },
};

/** One Parquet column: name, values (null for SQL NULL) and its basic type (hyparquet-writer's `ColumnSource`). */
export interface ParquetColumn {
  name: string;
  type: ColumnType;
  data: unknown[];
  nullable: true;
  /** Min/max statistics: kept for numbers and times (row-group pruning), off for text, where hyparquet-writer spends most of its time on them. */
  statistics: boolean;
}

function convert(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'INT64':
      return BigInt(v as string | number | bigint);
    case 'INT32':
      return Number(v);
    case 'DOUBLE':
      return Number(v);
    case 'BOOLEAN':
      return Boolean(v);
    case 'TIMESTAMP':
      return v instanceof Date ? v : new Date(String(v));
    default:
      return String(v);
  }
}

/** Rows → Parquet columns in the table's column order. O(rows × columns). */
export function toColumns(table: ExportTable, rows: readonly ExportRow[]): ParquetColumn[] {
  return TABLE_SPECS[table].columns.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: true,
    statistics: c.type !== 'STRING' && c.type !== 'JSON',
    data: rows.map((r) => convert(c.type, r[c.name])),
  }));
}

/** Rows grouped by their partition date, dates ascending, each group keeping the rows' order. */
export function byPartition(rows: readonly ExportRow[]): Array<[string, ExportRow[]]> {
  const groups = new Map<string, ExportRow[]>();
  for (const r of rows) {
    const g = groups.get(r.partition_date);
    if (g) g.push(r);
    else groups.set(r.partition_date, [r]);
  }
  return [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * A file's path under the export folder: Hive-style `tenant_id=<id>/<table>/date=<YYYY-MM-DD>/part-<seq>-<token>.parquet`.
 * The exporter's lease fencing token is in the name, so an exporter fenced off after its lease check (paused, then
 * taken over) writes beside the taker's file of the same batch and date, never over it; only the committed one is in
 * the manifest.
 */
export function filePath(tenantId: string, table: ExportTable, date: string, seq: number, token: number): string {
  return `tenant_id=${tenantId}/${table}/date=${date}/part-${String(seq).padStart(8, '0')}-${String(token).padStart(6, '0')}.parquet`;
}

/** The folder of one tenant's export (manifest, pending-batch journals). */
export const tenantFolder = (tenantId: string): string => `tenant_id=${tenantId}`;

export interface ManifestFile {
  table: ExportTable;
  seq: number;
  partitionDate: string;
  path: string;
  rowCount: number;
  bytes: number;
  sha256: string;
  createdAt: Date;
}

export interface ManifestWatermark {
  table: ExportTable;
  keyTs: string | null;
  keyId: string | null;
  batches: number;
  rowsExported: number;
}

/**
 * The manifest a warehouse loads (`tenant_id=<id>/manifest.json`): per table its load mode, partition column,
 * documented columns, watermark and every committed file (paths relative to the manifest's folder, row counts,
 * SHA-256) in commit order. Only committed files are listed.
 */
export function buildManifest(tenantId: string, generatedAt: Date, watermarks: ManifestWatermark[], files: ManifestFile[]) {
  const prefix = `${tenantFolder(tenantId)}/`;
  return {
    format: 'loupe.warehouse.v1',
    tenant_id: tenantId,
    generated_at: generatedAt.toISOString(),
    file_format: 'parquet',
    tables: Object.fromEntries(
      (Object.keys(TABLE_SPECS) as ExportTable[]).map((table) => {
        const spec = TABLE_SPECS[table];
        const wm = watermarks.find((w) => w.table === table);
        return [
          table,
          {
            mode: spec.mode,
            ...(spec.versionColumn ? { version_column: spec.versionColumn } : {}),
            key: 'id',
            partition_column: spec.partitionBy,
            partitioning: 'date=YYYY-MM-DD (UTC)',
            columns: spec.columns.map((c) => ({ name: c.name, type: c.type, doc: c.doc })),
            watermark: wm ? { key_ts: wm.keyTs, key_id: wm.keyId, batches: wm.batches, rows_exported: wm.rowsExported } : null,
            files: files
              .filter((f) => f.table === table)
              .sort((a, b) => a.seq - b.seq || (a.partitionDate < b.partitionDate ? -1 : 1))
              .map((f) => ({
                path: f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path,
                seq: f.seq,
                partition_date: f.partitionDate,
                row_count: f.rowCount,
                bytes: f.bytes,
                sha256: f.sha256,
                created_at: f.createdAt.toISOString(),
              })),
          },
        ];
      }),
    ),
  };
}
