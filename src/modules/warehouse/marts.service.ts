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

/**
 * The marts: a refresh rebuilds a tenant's five marts from the owners' current rows in ONE tenant transaction
 * (readers see the previous refresh or this one, never half), then records the run. Reads page through a mart in
 * key order, or write it as CSV.
 */
/** One refresh: its id, as-of instant, rows per mart and duration. */
export interface MartRefresh {
  id: string;
  asOf: Date;
  rowCounts: Record<MartName, number>;
  durationMs: number;
}

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

  async function rebuild(tenantId: string, onlyIfChanged: boolean): Promise<MartRefresh | null> {
    const started = performance.now();
    const asOf = deps.clock();
    const id = newId();
    return inTenant(db, tenantId, async (tx) => {
      await repo.lock(tx, tenantId);
      const marker = await repo.sourceMarker(
        tx,
        sql`${sources.customersMarkerSql(tenantId)} || '/' || ${sources.productsMarkerSql(tenantId)}`,
      );
      if (onlyIfChanged) {
        const last = await repo.lastMarker(tx, tenantId);
        if (last?.marker === marker && new Date(last.asOf).toISOString().slice(0, 10) === asOf.toISOString().slice(0, 10)) return null;
      }
      await repo.clear(tx, tenantId);
      await repo.rebuild(
        tx,
        tenantId,
        { orders: sources.ordersSql(tenantId), customers: sources.customersSql(tenantId), products: sources.productsSql(tenantId) },
        asOf,
      );
      const rowCounts = await repo.rowCounts(tx, tenantId);
      const durationMs = Math.round(performance.now() - started);
      await repo.recordRun(tx, tenantId, { id, asOf, rowCounts, durationMs, marker });
      return { id, asOf, rowCounts, durationMs };
    });
  }

  return {
    /**
     * Rebuilds the tenant's marts as of now with set-based statements over the owners' subqueries; returns the run
     * (rows per mart, duration).
     */
    async refresh(tenantId: string): Promise<MartRefresh> {
      return (await rebuild(tenantId, false))!;
    },

    /**
     * The scheduled refresh: the rebuild is skipped (null) when the owners' change marker equals the last refresh's
     * and that refresh was on the same UTC day (RFM recency and the cohort months move with the date).
     */
    async refreshIfChanged(tenantId: string): Promise<MartRefresh | null> {
      return rebuild(tenantId, true);
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
