import { sql } from 'drizzle-orm';
import { type Q, type SecretBox, SecretUnreadableError, queryOne, resealColumn } from '../../platform/index.ts';
import type { BackfillResource } from './connectors/shopify-admin.core.ts';

export type BackfillStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One resource's place in a run: the cursor of the next page, rows done and left out, rows Shopify counted. */
export interface ResourceProgress {
  cursor: string | null;
  done: number;
  rejected: number;
  total: number | null;
  complete: boolean;
  /** The last few rows left out, with why (shown to the merchant). */
  samples: { id: string | null; reason: string }[];
}
export type BackfillResources = Partial<Record<BackfillResource, ResourceProgress>>;

export interface BackfillRow {
  tenantId: string;
  connectionId: string;
  runId: string;
  jobId: string | null;
  status: BackfillStatus;
  /** In clear (stored sealed); null when no configured key opens it. */
  accessToken: string | null;
  resources: BackfillResources;
  lastError: string | null;
  lastErrorCode: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = sql`tenant_id AS "tenantId", connection_id AS "connectionId", run_id AS "runId", job_id AS "jobId", status,
  access_token AS "accessToken", resources, last_error AS "lastError", last_error_code AS "lastErrorCode",
  created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

const tokenContext = (tenantId: string, connectionId: string) => `shopify-backfill:${tenantId}:${connectionId}`;

/**
 * The `shopify_backfills` table (owned by events): one row per Shopify connection, the state of its latest run.
 * Every query filters on tenant_id; progress writes name the run they belong to, so a stale worker of an
 * earlier run can never overwrite a newer run's state.
 */
export function createShopifyBackfillRepository(secrets: SecretBox) {
  const opened = (row: BackfillRow | undefined): BackfillRow | undefined => {
    if (!row || row.accessToken === null) return row;
    try {
      return { ...row, accessToken: secrets.open(row.accessToken, tokenContext(row.tenantId, row.connectionId)) };
    } catch (err) {
      if (err instanceof SecretUnreadableError) return { ...row, accessToken: null };
      throw err;
    }
  };
  return {
    /**
     * Seals every stored Admin API token not sealed with the current key (a key rotation), across tenants (a
     * start-up step). Compare-and-set per row, so a run started meanwhile keeps its new token.
     */
    resealAll: (q: Q) =>
      resealColumn(q, secrets, {
        table: 'shopify_backfills',
        column: 'access_token',
        rowKey: 'connection_id',
        context: (t, connectionId) => tokenContext(t, connectionId!),
      }),

    async get(q: Q, tenantId: string, connectionId: string): Promise<BackfillRow | undefined> {
      return opened(
        await queryOne<BackfillRow>(
          q,
          sql`SELECT ${COLUMNS} FROM shopify_backfills WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId}`,
        ),
      );
    },

    /**
     * Starts a new run (replacing the previous one's state) unless one is queued or running: answers the new row,
     * or undefined when a run is active. One statement: two concurrent starts give one run.
     */
    async startRun(q: Q, tenantId: string, connectionId: string, runId: string, accessToken: string): Promise<BackfillRow | undefined> {
      const sealed = secrets.seal(accessToken, tokenContext(tenantId, connectionId));
      return opened(
        await queryOne<BackfillRow>(
          q,
          sql`INSERT INTO shopify_backfills (tenant_id, connection_id, run_id, status, access_token, resources)
              VALUES (${tenantId}, ${connectionId}, ${runId}, 'queued', ${sealed}, '{}'::jsonb)
              ON CONFLICT (tenant_id, connection_id) DO UPDATE
                SET run_id = EXCLUDED.run_id, status = 'queued', access_token = EXCLUDED.access_token, resources = '{}'::jsonb,
                    job_id = NULL, last_error = NULL, last_error_code = NULL, created_at = now(), updated_at = now(), finished_at = NULL
                WHERE shopify_backfills.status NOT IN ('queued', 'running')
              RETURNING ${COLUMNS}`,
        ),
      );
    },

    async setJob(q: Q, tenantId: string, connectionId: string, runId: string, jobId: string): Promise<void> {
      await q.execute(
        sql`UPDATE shopify_backfills SET job_id = ${jobId} WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND run_id = ${runId}`,
      );
    },

    /** Records a run's state; false when the run is no longer this connection's current one (or already finished). */
    async save(
      q: Q,
      tenantId: string,
      connectionId: string,
      runId: string,
      s: { status: BackfillStatus; resources?: BackfillResources; lastError?: { code: string; message: string } | null },
    ): Promise<boolean> {
      const final = s.status === 'succeeded' || s.status === 'failed' || s.status === 'cancelled';
      const row = await queryOne<{ runId: string }>(
        q,
        sql`UPDATE shopify_backfills SET status = ${s.status}, updated_at = now(),
              resources = COALESCE(${s.resources === undefined ? null : JSON.stringify(s.resources)}::jsonb, resources),
              last_error = CASE WHEN ${s.lastError === undefined} THEN last_error ELSE ${s.lastError?.message ?? null} END,
              last_error_code = CASE WHEN ${s.lastError === undefined} THEN last_error_code ELSE ${s.lastError?.code ?? null} END,
              finished_at = CASE WHEN ${final} THEN now() ELSE NULL END
            WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND run_id = ${runId}
              AND status IN ('queued', 'running')
            RETURNING run_id AS "runId"`,
      );
      return row !== undefined;
    },
  };
}
export type ShopifyBackfillRepository = ReturnType<typeof createShopifyBackfillRepository>;
