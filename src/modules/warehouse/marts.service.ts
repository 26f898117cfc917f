import { type Db, type TenantContext, inTenant, isUuid, newId, unsafeTextReason, validation } from '../../platform/index.ts';
import { sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor, MART_NAMES, MART_SPECS, type MartName, toCsv } from './marts.core.ts';
import type { MartsRepository } from './marts.repository.ts';
import type { MartSources } from './warehouse.types.ts';

export interface MartsServiceDeps {
  db: Db;
  repo: MartsRepository;
  sources: MartSources;
  clock: () => Date;
}

/** Rows a CSV download carries at most (a warehouse loads more from the Parquet export or by pages). */
export const MART_CSV_MAX_ROWS = 100_000;

const UUID_KEYS = new Set(['product_id', 'profile_id']);

/** One refresh: its id, as-of instant, rows per mart and duration. */
export interface MartRefresh {
  id: string;
  asOf: Date;
  rowCounts: Record<MartName, number>;
  durationMs: number;
  /** `incremental`: only changed customers' and products' rows were rewritten; `full`: every row. */
  mode: 'full' | 'incremental';
  /** Profiles rewritten by an incremental refresh (null for a full one). */
  changedCustomers: number | null;
}

/** An incremental refresh rewrites at most this share of the customers (or INCREMENTAL_MIN_PROFILES); past it, a rebuild. */
export const INCREMENTAL_MAX_SHARE = 0.25;
const INCREMENTAL_MIN_PROFILES = 1_000;

/**
 * The marts: a refresh rebuilds a tenant's five marts from the owners' current rows, or rewrites only the changed
 * customers' rows, in ONE tenant transaction (readers see the previous refresh or this one, never half), then records
 * the run. Reads page through a mart in key order, or write it as CSV.
 */
export function createMartsService(deps: MartsServiceDeps) {
  const { db, repo, sources } = deps;

  function cursorOf(name: MartName, cursor: string | undefined): Array<string | number> | null {
    if (cursor === undefined) return null;
    const spec = MART_SPECS[name];
    const values = decodeCursor(cursor, spec.key.length);
    const bad =
      values === null ||
      values.some((v, i) => {
        const key = spec.key[i]!;
        if (key === 'period_index') return typeof v !== 'number';
        return typeof v !== 'string' || unsafeTextReason(v) !== null || (UUID_KEYS.has(key) && !isUuid(v));
      });
    if (bad) throw validation('WAREHOUSE_BAD_CURSOR', 'The cursor is not one this endpoint returned.');
    return values;
  }

  async function rebuild(tenantId: string, mode: 'full' | 'incremental', onlyIfChanged: boolean): Promise<MartRefresh | null> {
    const started = performance.now();
    const asOf = deps.clock();
    const id = newId();
    return inTenant(db, tenantId, async (tx) => {
      await repo.lock(tx, tenantId);
      const marker = await repo.sourceMarker(
        tx,
        sql`${sources.customersMarkerSql(tenantId)} || '/' || ${sources.productsMarkerSql(tenantId)}`,
      );
      const last = await repo.lastMarker(tx, tenantId);
      if (onlyIfChanged && last?.marker === marker && new Date(last.asOf).toISOString().slice(0, 10) === asOf.toISOString().slice(0, 10)) {
        return null;
      }
      const src = {
        orders: sources.ordersSql(tenantId),
        customers: sources.customersSql(tenantId),
        products: sources.productsSql(tenantId),
      };
      let done: MartRefresh['mode'] = 'full';
      let changedCustomers: number | null = null;
      if (mode === 'incremental' && last !== null) {
        // The diff reads every owner row but writes only the changed profiles' rows: cheaper than a rebuild while few
        // changed. Past INCREMENTAL_MAX_SHARE of the customers the rebuild's plain inserts win.
        const changed = await repo.changedProfiles(tx, tenantId, src);
        const before = (await repo.rowCounts(tx, tenantId)).dim_customers;
        if (changed.length <= Math.max(INCREMENTAL_MIN_PROFILES, before * INCREMENTAL_MAX_SHARE)) {
          await repo.rewriteProfiles(tx, tenantId, src, changed);
          await repo.syncProducts(tx, tenantId, src.products);
          done = 'incremental';
          changedCustomers = changed.length;
        }
      }
      if (done === 'full') {
        await repo.clear(tx, tenantId);
        await repo.rebuild(tx, tenantId, src);
      }
      await repo.deriveScores(tx, tenantId, asOf);
      const rowCounts = await repo.rowCounts(tx, tenantId);
      const durationMs = Math.round(performance.now() - started);
      await repo.recordRun(tx, tenantId, { id, asOf, rowCounts, durationMs, marker });
      return { id, asOf, rowCounts, durationMs, mode: done, changedCustomers };
    });
  }

  return {
    /**
     * Rebuilds the tenant's marts as of now with set-based statements over the owners' subqueries; returns the run
     * (rows per mart, duration).
     */
    async refresh(tenantId: string): Promise<MartRefresh> {
      return (await rebuild(tenantId, 'full', false))!;
    },

    /**
     * Refreshes as of now rewriting only the profiles whose orders or profile row changed since the last refresh
     * (and the products that changed); RFM and cohorts are derived again from the facts. The first refresh, or one
     * where most customers changed, is a full rebuild (`mode` says which ran). Same rows as `refresh`.
     */
    async refreshIncremental(tenantId: string): Promise<MartRefresh> {
      return (await rebuild(tenantId, 'incremental', false))!;
    },

    /**
     * The scheduled refresh: skipped (null) when the owners' change marker equals the last refresh's and that refresh
     * was on the same UTC day (RFM recency and the cohort months move with the date); otherwise incremental.
     */
    async refreshIfChanged(tenantId: string): Promise<MartRefresh | null> {
      return rebuild(tenantId, 'incremental', true);
    },

    /** Every mart with its documented columns, row count and the last refresh. */
    async list(ctx: TenantContext) {
      const [counts, last] = await inTenant(db, ctx.tenantId, (tx) =>
        Promise.all([repo.rowCounts(tx, ctx.tenantId), repo.lastRun(tx, ctx.tenantId)]),
      );
      return { marts: MART_NAMES.map((name) => ({ name, spec: MART_SPECS[name], rows: counts[name] })), lastRun: last };
    },

    /** One page of a mart in key order; `nextCursor` is null on the last page. */
    async page(ctx: TenantContext, name: MartName, opts: { limit: number; cursor?: string | undefined }) {
      const after = cursorOf(name, opts.cursor);
      const [rows, last] = await inTenant(db, ctx.tenantId, (tx) =>
        Promise.all([repo.page(tx, ctx.tenantId, name, after, opts.limit + 1), repo.lastRun(tx, ctx.tenantId)]),
      );
      const more = rows.length > opts.limit;
      const data = more ? rows.slice(0, opts.limit) : rows;
      const spec = MART_SPECS[name];
      const nextCursor = more ? encodeCursor(spec.key.map((k) => data[data.length - 1]![k])) : null;
      return { data, nextCursor, lastRun: last };
    },

    /**
     * The mart as CSV from `cursor` on, at most `maxRows` rows (MART_CSV_MAX_ROWS); `truncated` when rows remain.
     * Read in pages of 5,000 inside one transaction (a consistent snapshot on PostgreSQL).
     */
    async csv(ctx: TenantContext, name: MartName, opts: { cursor?: string | undefined; maxRows?: number } = {}) {
      const spec = MART_SPECS[name];
      const maxRows = Math.min(opts.maxRows ?? MART_CSV_MAX_ROWS, MART_CSV_MAX_ROWS);
      let after = cursorOf(name, opts.cursor);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const parts = [toCsv(spec, [])];
        let n = 0;
        for (;;) {
          const take = Math.min(5_000, maxRows - n);
          const rows = await repo.page(tx, ctx.tenantId, name, after, take + 1);
          const chunk = rows.slice(0, take);
          parts.push(toCsv(spec, chunk, false));
          n += chunk.length;
          if (rows.length <= take) return { body: parts.join(''), rows: n, truncated: false };
          after = spec.key.map((k) => chunk[chunk.length - 1]![k] as string | number);
          if (n >= maxRows) return { body: parts.join(''), rows: n, truncated: true, nextCursor: encodeCursor(after) };
        }
      });
    },
  };
}
export type MartsService = ReturnType<typeof createMartsService>;
