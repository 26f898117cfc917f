import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { MappingRule } from './feeds.mapping.core.ts';

export type FeedJobStatus = 'queued' | 'processing' | 'success' | 'failed' | 'retried';

export interface FeedSettingsRow {
  targetCountry: string;
  contentLanguage: string;
  mappingRules: MappingRule[];
  updatedAt: Date | null;
}

export interface FeedJobRow {
  id: string;
  status: FeedJobStatus;
  trigger: string;
  attempts: number;
  maxAttempts: number;
  summary: Record<string, number>;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface FeedJobEventRow {
  id: string;
  jobId: string;
  fromStatus: string | null;
  toStatus: string;
  reason: string | null;
  actorType: string;
  actorId: string;
  createdAt: Date;
}

export interface ItemStateRow {
  itemId: string;
  status: string;
  issues: { source: string; field: string; message: string }[];
  lastJobId: string | null;
  updatedAt: Date;
}

export interface ItemStateWrite {
  itemId: string;
  contentHash: string | null;
  status: 'pushed' | 'rejected' | 'deleted';
  issues: { source: string; field: string; message: string }[];
}

const JOB = sql`id, status, trigger, attempts, max_attempts AS "maxAttempts", summary, last_error AS "lastError", created_at AS "createdAt",
  updated_at AS "updatedAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/** Feed settings, push jobs with their status trail, and per-item push state. Every query filters on tenant_id. */
export function createFeedsRepository() {
  return {
    getSettings: async (q: Q, tenantId: string): Promise<FeedSettingsRow | undefined> =>
      queryOne<FeedSettingsRow>(
        q,
        sql`SELECT target_country AS "targetCountry", content_language AS "contentLanguage", mapping_rules AS "mappingRules", updated_at AS "updatedAt"
            FROM feed_settings WHERE tenant_id = ${tenantId}`,
      ),
    putSettings: (q: Q, tenantId: string, s: { targetCountry: string; contentLanguage: string; mappingRules: MappingRule[] }, now: Date) =>
      q.execute(
        sql`INSERT INTO feed_settings (tenant_id, target_country, content_language, mapping_rules, updated_at)
            VALUES (${tenantId}, ${s.targetCountry}, ${s.contentLanguage}, ${JSON.stringify(s.mappingRules)}::jsonb, ${now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET target_country = EXCLUDED.target_country, content_language = EXCLUDED.content_language,
              mapping_rules = EXCLUDED.mapping_rules, updated_at = EXCLUDED.updated_at`,
      ),

    createJob: async (q: Q, tenantId: string, j: { trigger: string; maxAttempts: number }, now: Date): Promise<FeedJobRow> =>
      (await queryOne<FeedJobRow>(
        q,
        sql`INSERT INTO feed_push_jobs (tenant_id, id, status, trigger, max_attempts, created_at, updated_at)
            VALUES (${tenantId}, ${newId()}, 'queued', ${j.trigger}, ${j.maxAttempts}, ${now.toISOString()}, ${now.toISOString()})
            RETURNING ${JOB}`,
      ))!,
    getJob: (q: Q, tenantId: string, id: string) =>
      queryOne<FeedJobRow>(q, sql`SELECT ${JOB} FROM feed_push_jobs WHERE tenant_id = ${tenantId} AND id = ${id}`),
    /** Locks the job row for a status change (FOR UPDATE: two changes of one job never interleave). */
    lockJob: (q: Q, tenantId: string, id: string) =>
      queryOne<FeedJobRow>(q, sql`SELECT ${JOB} FROM feed_push_jobs WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE`),
    listJobs: (q: Q, tenantId: string, f: { status?: string | undefined; before?: string | undefined; limit: number }) =>
      queryRows<FeedJobRow>(
        q,
        sql`SELECT ${JOB} FROM feed_push_jobs WHERE tenant_id = ${tenantId}
              ${f.status ? sql`AND status = ${f.status}` : sql``} ${f.before ? sql`AND id < ${f.before}` : sql``}
            ORDER BY id DESC LIMIT ${f.limit}`,
      ),
    updateJob: async (
      q: Q,
      tenantId: string,
      id: string,
      u: {
        status: FeedJobStatus;
        now: Date;
        attempts?: number;
        summary?: Record<string, number>;
        lastError?: string | null;
        started?: boolean;
        finished?: boolean;
      },
    ): Promise<FeedJobRow> =>
      (await queryOne<FeedJobRow>(
        q,
        sql`UPDATE feed_push_jobs SET status = ${u.status}, updated_at = ${u.now.toISOString()}
              ${u.attempts === undefined ? sql`` : sql`, attempts = ${u.attempts}`}
              ${u.summary === undefined ? sql`` : sql`, summary = ${JSON.stringify(u.summary)}::jsonb`}
              ${u.lastError === undefined ? sql`` : sql`, last_error = ${u.lastError}`}
              ${u.started ? sql`, started_at = ${u.now.toISOString()}, finished_at = NULL` : sql``}
              ${u.finished ? sql`, finished_at = ${u.now.toISOString()}` : sql``}
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${JOB}`,
      ))!,
    insertEvent: (
      q: Q,
      tenantId: string,
      e: { jobId: string; from: string | null; to: string; reason: string | null; actorType: string; actorId: string; now: Date },
    ) =>
      q.execute(
        sql`INSERT INTO feed_push_job_events (tenant_id, id, job_id, from_status, to_status, reason, actor_type, actor_id, created_at)
            VALUES (${tenantId}, ${newId()}, ${e.jobId}, ${e.from}, ${e.to}, ${e.reason}, ${e.actorType}, ${e.actorId}, ${e.now.toISOString()})`,
      ),
    eventsOf: (q: Q, tenantId: string, jobIds: readonly string[]) =>
      queryRows<FeedJobEventRow>(
        q,
        sql`SELECT id, job_id AS "jobId", from_status AS "fromStatus", to_status AS "toStatus", reason, actor_type AS "actorType",
                   actor_id AS "actorId", created_at AS "createdAt"
            FROM feed_push_job_events WHERE tenant_id = ${tenantId} AND job_id = ANY(${arrayParam(jobIds)}::uuid[])
            ORDER BY created_at, id`,
      ),

    /** Jobs created since `since`, counted by status. */
    jobCounts: async (q: Q, tenantId: string, since: Date): Promise<Record<string, number>> => {
      const rows = await queryRows<{ status: string; n: number }>(
        q,
        sql`SELECT status, count(*)::int AS n FROM feed_push_jobs WHERE tenant_id = ${tenantId} AND created_at >= ${since.toISOString()} GROUP BY status`,
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    /** item id -> hash of what Merchant Center holds (null: the last write was refused); deleted items left out. */
    async writtenHashes(q: Q, tenantId: string): Promise<Map<string, string | null>> {
      const rows = await queryRows<{ itemId: string; contentHash: string | null }>(
        q,
        sql`SELECT item_id AS "itemId", content_hash AS "contentHash" FROM feed_item_states WHERE tenant_id = ${tenantId} AND status <> 'deleted'`,
      );
      return new Map(rows.map((r) => [r.itemId, r.contentHash]));
    },
    /** Set-based upsert of item states (one statement per call). */
    writeItemStates: (q: Q, tenantId: string, jobId: string, rows: readonly ItemStateWrite[], now: Date) =>
      rows.length === 0
        ? Promise.resolve()
        : q.execute(
            sql`INSERT INTO feed_item_states (tenant_id, item_id, content_hash, status, issues, last_job_id, updated_at)
                SELECT ${tenantId}, s.item_id, s.content_hash, s.status, s.issues::jsonb, ${jobId}, ${now.toISOString()}
                FROM unnest(${arrayParam(rows.map((r) => r.itemId))}::text[], ${arrayParam(rows.map((r) => r.contentHash))}::text[],
                            ${arrayParam(rows.map((r) => r.status))}::text[], ${arrayParam(rows.map((r) => JSON.stringify(r.issues)))}::text[])
                     AS s(item_id, content_hash, status, issues)
                ON CONFLICT (tenant_id, item_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, status = EXCLUDED.status,
                  issues = EXCLUDED.issues, last_job_id = EXCLUDED.last_job_id, updated_at = EXCLUDED.updated_at`,
          ),
    /** Items with issues (refused by the precheck or by Google), newest first. */
    itemIssues: (q: Q, tenantId: string, f: { jobId?: string | undefined; limit: number }) =>
      queryRows<ItemStateRow>(
        q,
        sql`SELECT item_id AS "itemId", status, issues, last_job_id AS "lastJobId", updated_at AS "updatedAt"
            FROM feed_item_states WHERE tenant_id = ${tenantId} AND jsonb_array_length(issues) > 0
              ${f.jobId ? sql`AND last_job_id = ${f.jobId}` : sql``}
            ORDER BY updated_at DESC, item_id LIMIT ${f.limit}`,
      ),
  };
}
export type FeedsRepository = ReturnType<typeof createFeedsRepository>;
