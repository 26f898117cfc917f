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

/** One unified order (identity's `profile_orders`): money in minor units as text (exact beyond 2^53). */
export interface MartOrderRow {
  orderId: string;
  profileId: string;
  occurredAt: Date;
  currency: string | null;
  revenueMinor: string;
  refundedMinor: string;
}

/** One unified profile (identity's `profiles`), any status. */
export interface MartCustomerRow {
  profileId: string;
  status: string;
  mergedInto: string | null;
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  eventCount: number;
  channels: string[];
}

/** One catalog item (catalog's `items`), active or not. */
export interface MartProductRow {
  productId: string;
  itemId: string;
  name: string | null;
  brand: string | null;
  categoryPath: string | null;
  priceMinor: string | null;
  salePriceMinor: string | null;
  currency: string | null;
  availability: string | null;
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A page reader of an owner's rows in id order after `afterId` (null: from the start), at most `limit`. */
export interface MartPageSource<R> {
  readPage(q: Q, tenantId: string, afterId: string | null, limit: number): Promise<R[]>;
}

/**
 * What the marts are built from, each read through its owner (identity: orders and customers; catalog: products),
 * wired in src/app.ts.
 */
export interface MartSources {
  orders: MartPageSource<MartOrderRow>;
  customers: MartPageSource<MartCustomerRow>;
  products: MartPageSource<MartProductRow>;
  /**
   * The owners' rows as pieces of the warehouse's own INSERT ... SELECT (each a subquery the owner builds over its
   * tables, filtered on the tenant; the warehouse never names them). Columns and types as each function documents.
   */
  ordersSql(tenantId: string): SQL;
  customersSql(tenantId: string): SQL;
  productsSql(tenantId: string): SQL;
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
