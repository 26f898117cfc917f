import { sql } from 'drizzle-orm';
import { queryOne, queryRows } from '../../platform/index.ts';
import type { Q } from './pricing.repository.ts';

export interface SourceRow {
  id: string;
  storeId: string;
  storeName: string;
  network: 'rakuten' | 'cj' | 'feed';
  account: Record<string, unknown>;
  credentials: string;
  schedule: 'hourly' | 'daily' | 'off';
  nextRunAt: Date | null;
  priceSchedule: 'hourly' | 'off';
  nextPriceRunAt: Date | null;
  lastRunId: string | null;
  lastRunAt: Date | null;
  lastStatus: string | null;
  lastError: string | null;
  /** A feed URL source: the validators of its last good answer (conditional GET). */
  feedEtag: string | null;
  feedLastModified: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = sql`s.id, s.store_id AS "storeId", st.name AS "storeName", s.network, s.account, s.credentials, s.schedule,
  s.next_run_at AS "nextRunAt", s.price_schedule AS "priceSchedule", s.next_price_run_at AS "nextPriceRunAt", s.last_run_id AS "lastRunId", s.last_run_at AS "lastRunAt", s.last_status AS "lastStatus",
  s.last_error AS "lastError", s.feed_etag AS "feedEtag", s.feed_last_modified AS "feedLastModified", s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;

/** Network sources (pricing_network_sources): one per store at most. */
export const sourcesRepository = {
  /** Every source whose credentials are not sealed with the key `keyId` (a key rotation), across tenants. */
  /** Creates or replaces the store's connection (same id on replace); returns the row's id. */
  async upsert(
    q: Q,
    tenantId: string,
    v: {
      id: string;
      storeId: string;
      network: string;
      account: Record<string, unknown>;
      credentials: string;
      schedule: string;
      nextRunAt: Date | null;
      priceSchedule: string;
      nextPriceRunAt: Date | null;
    },
    now: Date,
  ): Promise<string> {
    const row = await queryOne<{ id: string }>(
      q,
      sql`INSERT INTO pricing_network_sources (tenant_id, id, store_id, network, account, credentials, schedule, next_run_at,
            price_schedule, next_price_run_at, created_at, updated_at)
          VALUES (${tenantId}, ${v.id}, ${v.storeId}, ${v.network}, ${JSON.stringify(v.account)}::jsonb, ${v.credentials}, ${v.schedule},
            ${v.nextRunAt?.toISOString() ?? null}::timestamptz, ${v.priceSchedule}, ${v.nextPriceRunAt?.toISOString() ?? null}::timestamptz,
            ${now.toISOString()}, ${now.toISOString()})
          ON CONFLICT (tenant_id, store_id) DO UPDATE SET network = EXCLUDED.network, account = EXCLUDED.account,
            credentials = EXCLUDED.credentials, schedule = EXCLUDED.schedule, next_run_at = EXCLUDED.next_run_at,
            price_schedule = EXCLUDED.price_schedule, next_price_run_at = EXCLUDED.next_price_run_at,
            last_error = NULL, feed_etag = NULL, feed_last_modified = NULL, updated_at = EXCLUDED.updated_at
          RETURNING id`,
    );
    return row!.id;
  },

  list: (q: Q, tenantId: string, id?: string) =>
    queryRows<SourceRow>(
      q,
      sql`SELECT ${COLUMNS} FROM pricing_network_sources s
          JOIN pricing_stores st ON st.tenant_id = ${tenantId} AND st.id = s.store_id
          WHERE s.tenant_id = ${tenantId} ${id ? sql`AND s.id = ${id}` : sql``}
          ORDER BY st.name, s.id LIMIT 1000`,
    ),

  async remove(q: Q, tenantId: string, id: string): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`DELETE FROM pricing_network_sources WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
    );
    return rows.length > 0;
  },

  /**
   * Claims the sources due at `now` across tenants (the scheduler's sweep, outside any tenant scope): moves each
   * one's next run forward by its interval in the same statement, so two schedulers never claim one twice.
   */
  claimDue: (q: Q, now: Date, limit: number) =>
    queryRows<{ tenantId: string; id: string; storeId: string; network: string }>(
      q,
      sql`UPDATE pricing_network_sources s SET next_run_at = ${now.toISOString()}::timestamptz
            + CASE s.schedule WHEN 'daily' THEN interval '1 day' ELSE interval '1 hour' END
          FROM (SELECT tenant_id, id FROM pricing_network_sources
                WHERE schedule <> 'off' AND next_run_at <= ${now.toISOString()}::timestamptz
                ORDER BY next_run_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) d
          WHERE s.tenant_id = d.tenant_id AND s.id = d.id
          RETURNING s.tenant_id AS "tenantId", s.id, s.store_id AS "storeId", s.network`,
    ),

  /**
   * Claims the sources whose price-only update is due at `now` across tenants, moving each one's next price run an
   * hour forward in the same statement (as claimDue). A source whose full import is due too is left to it: the full
   * import brings the prices as well (its price slot still moves on).
   */
  claimDuePrices: (q: Q, now: Date, limit: number) =>
    queryRows<{ tenantId: string; id: string; storeId: string; network: string; fullDue: boolean }>(
      q,
      sql`UPDATE pricing_network_sources s SET next_price_run_at = ${now.toISOString()}::timestamptz + interval '1 hour'
          FROM (SELECT tenant_id, id FROM pricing_network_sources
                WHERE price_schedule <> 'off' AND next_price_run_at <= ${now.toISOString()}::timestamptz
                ORDER BY next_price_run_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) d
          WHERE s.tenant_id = d.tenant_id AND s.id = d.id
          RETURNING s.tenant_id AS "tenantId", s.id, s.store_id AS "storeId", s.network,
            (s.schedule <> 'off' AND s.next_run_at <= ${now.toISOString()}::timestamptz) AS "fullDue"`,
    ),

  /** Keeps a feed's validators after its answer was imported (never before: a failed import is fetched again in full). */
  async saveValidators(q: Q, tenantId: string, id: string, v: { etag: string | null; lastModified: string | null }): Promise<void> {
    await q.execute(
      sql`UPDATE pricing_network_sources SET feed_etag = ${v.etag}, feed_last_modified = ${v.lastModified}
          WHERE tenant_id = ${tenantId} AND id = ${id}`,
    );
  },

  async recordRun(
    q: Q,
    tenantId: string,
    id: string,
    v: { runId: string; status: string; error: string | null },
    now: Date,
  ): Promise<void> {
    await q.execute(
      sql`UPDATE pricing_network_sources SET last_run_id = ${v.runId}, last_run_at = ${now.toISOString()}::timestamptz,
            last_status = ${v.status}, last_error = ${v.error}, updated_at = ${now.toISOString()}::timestamptz,
            last_success_at = ${v.status === 'succeeded' ? sql`${now.toISOString()}::timestamptz` : sql`last_success_at`}
          WHERE tenant_id = ${tenantId} AND id = ${id}`,
    );
  },
};
