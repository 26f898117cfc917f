import type { SQL } from 'drizzle-orm';
import type { Q } from '../../platform/index.ts';
import { EXPORT_TABLES } from './warehouse.schemas.ts';

export { EXPORT_TABLES };
export type ExportTable = (typeof EXPORT_TABLES)[number];

/**
 * Where the last exported row of a table sits: `ts` is the source's key timestamp as PostgreSQL text (full
 * microsecond precision: a JavaScript Date would round it and re-export the row at the boundary), `id` its id.
 */
export interface ExportKey {
  ts: string;
  id: string;
}

/**
 * One exported row: its columns (snake_case, as the table's spec in `warehouse.core.ts` names them; int8 as text,
 * json as text, timestamps as Date), plus the keyset position (`key_ts`, `key_id`) and the UTC date of its
 * partition (`partition_date`, YYYY-MM-DD).
 */
export type ExportRow = Record<string, unknown> & { key_ts: string; key_id: string; partition_date: string };

/**
 * What an owning module implements for one exported table (events: interactions; identity: profiles; commerce:
 * orders; catalog: items): the rows after `after` in the source's key order whose key timestamp is before
 * `until` (rows younger than the settle lag wait for the next run, so a transaction still open cannot commit a
 * row behind the watermark), at most `limit`; and how many such rows there are (for the progress bar).
 */
export interface WarehouseSource {
  readBatch(q: Q, tenantId: string, after: ExportKey | null, until: Date, limit: number): Promise<ExportRow[]>;
  countPending(q: Q, tenantId: string, after: ExportKey | null, until: Date): Promise<number>;
}

export type WarehouseSources = Record<ExportTable, WarehouseSource>;

/**
 * What the marts are built from, each read through its owner (identity: orders and customers; catalog: products),
 * wired in src/app.ts.
 */
export interface MartSources {
  /**
   * The owners' rows as pieces of the warehouse's own INSERT ... SELECT (each a subquery the owner builds over its
   * tables, filtered on the tenant; the warehouse never names them). Columns and types as each function documents.
   */
  ordersSql(tenantId: string): SQL;
  customersSql(tenantId: string): SQL;
  productsSql(tenantId: string): SQL;
  /**
   * Change markers (text expressions the owners build): unchanged markers mean unchanged rows, so a scheduled
   * refresh can skip the rebuild. Identity's covers orders and customers, catalog's the products.
   */
  customersMarkerSql(tenantId: string): SQL;
  productsMarkerSql(tenantId: string): SQL;
}

/**
 * Facts about a tenant's recent events for the data-quality expectations (events implements it): counts over the
 * events received at or after `since`, the newest received time overall, and the distinct item and profile ids
 * those events cite (at most `maxIds` each; `idsTruncated` says when more exist), which the warehouse checks
 * against its product and customer dimensions.
 */
export interface EventQualityFacts {
  total: number;
  newestReceivedAt: Date | null;
  withoutPerson: number;
  futureOccurred: number;
  negativePrice: number;
  itemIds: string[];
  profileIds: string[];
  idsTruncated: boolean;
}
export interface EventQualitySource {
  facts(q: Q, tenantId: string, since: Date, now: Date, maxIds: number): Promise<EventQualityFacts>;
}
