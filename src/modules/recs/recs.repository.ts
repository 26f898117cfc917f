import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { AttributedInteraction } from '../events/index.ts';
import type { RecsPorts } from './recs.types.ts';

export interface VersionRow {
  id: string;
  version: string;
  modelType: string;
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, number>;
  modelCard: Record<string, unknown>;
  snapshotUsers: number;
  snapshotItems: number;
  snapshotInteractions: number;
  artifactKey: string;
  artifactBytes: number;
  jobId: string | null;
  trainingSeconds: number;
  loadError: string | null;
  createdAt: Date;
  deployedAt: Date | null;
  expiresAt: Date;
}

export interface DeploymentRow {
  activeVersionId: string | null;
  previousVersionId: string | null;
  canaryVersionId: string | null;
  canaryPercent: number;
  canaryStartedAt: Date | null;
}

/** An active catalog item with its content fields (read through catalog's public entry). */

/** One recommendation response, as attribution needs it: clients cite `id` as the recommendation_id. */
export interface ServedRow {
  id: string;
  kind: 'user' | 'similar';
  userId: string | null;
  modelVersionId: string | null;
  itemIds: string[];
  latencyMs: number;
  cacheHit: boolean;
  createdAt: Date;
}

/** A PostgreSQL array literal of `values`, every element quoted (exact for any text). */
const textArrayLiteral = (values: readonly string[]) =>
  `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

/**
 * Margin when asking events for interactions written since a response was served: its row's time is this
 * process's clock, an interaction's id the writer's; hosts' clocks may disagree by this much.
 */
const ATTRIBUTION_SKEW_MS = 24 * 60 * 60 * 1000;

const VERSION_COLUMNS = sql`id, version, model_type AS "modelType", hyperparameters, metrics, model_card AS "modelCard", snapshot_users AS "snapshotUsers",
  snapshot_items AS "snapshotItems", snapshot_interactions AS "snapshotInteractions", artifact_key AS "artifactKey", artifact_bytes AS "artifactBytes",
  job_id AS "jobId", training_seconds AS "trainingSeconds", load_error AS "loadError", created_at AS "createdAt", deployed_at AS "deployedAt", expires_at AS "expiresAt"`;

/**
 * All SQL of the recommender, on its own tables, always by tenant. What it reads of other modules' tables
 * (interactions, items, tenant settings) comes through `ports` (their public entries, wired in src/app.ts).
 */
export function createRecsRepository(ports: RecsPorts) {
  /** Interactions citing a recommendation, fetched from events, as a relation `i` for a join with recs_served. */
  const attributed = (rows: readonly AttributedInteraction[]) => {
    const col = <T>(f: (r: AttributedInteraction) => T) => arrayParam(rows.map(f));
    return sql`i AS (
      SELECT * FROM unnest(${col((r) => r.id)}::text[], ${col((r) => r.recommendationId)}::text[], ${col((r) => r.itemId)}::text[],
                           ${col((r) => r.type)}::text[], ${col((r) => r.orderId)}::text[], ${col((r) => r.priceMinor)}::bigint[],
                           ${col((r) => r.currency)}::text[], ${col((r) => r.quantity)}::int[])
        AS a(id, recommendation_id, item_id, type, order_id, price_minor, currency, quantity))`;
  };
  /** The attributed interactions that may cite responses served since `since` (they were written after them). */
  const attributedSince = (tenantId: string, since: Date) =>
    ports.events.attributedInteractions(tenantId, new Date(since.getTime() - ATTRIBUTION_SKEW_MS));

  return {
    /** Tenant settings (read-only, through tenancy): interaction weights, purchased-item exclusion, retraining policy. */
    tenantSettings: ports.tenantSettings,
    /** Serving columns of the tenant's items (catalog's): see `ServingRepository.servingItems`. */
    servingItems: ports.catalog.servingItems,
    /** Change marker of the catalog (catalog's). */
    catalogMarker: ports.catalog.catalogMarker,
    /** Each user's most recent interactions with an item, newest first per user (events'). */
    userHistories: ports.events.userHistories,
    /** The users who interacted most recently: whose histories serving reads ahead (events'). */
    recentUsers: ports.events.recentUsers,
    /** Users with interactions written since a UUIDv7 id, with the newest id of each (events'). */
    usersWithInteractionsSince: ports.events.usersWithInteractionsSince,
    /** Every active catalog item with its content fields, for the content model (catalog's, ordered by item id). */
    catalogForContent: ports.catalog.contentItems,

    async insertVersion(q: Q, tenantId: string, v: Omit<VersionRow, 'createdAt' | 'deployedAt' | 'loadError'>): Promise<void> {
      await q.execute(sql`
        INSERT INTO recs_model_versions (tenant_id, id, version, model_type, hyperparameters, metrics, model_card, snapshot_users, snapshot_items,
          snapshot_interactions, artifact_key, artifact_bytes, job_id, training_seconds, expires_at)
        VALUES (${tenantId}, ${v.id}, ${v.version}, ${v.modelType}, ${JSON.stringify(v.hyperparameters)}::jsonb, ${JSON.stringify(v.metrics)}::jsonb,
          ${JSON.stringify(v.modelCard)}::jsonb, ${v.snapshotUsers}, ${v.snapshotItems}, ${v.snapshotInteractions}, ${v.artifactKey}, ${v.artifactBytes},
          ${v.jobId}, ${v.trainingSeconds}, ${v.expiresAt.toISOString()})`);
    },

    countVersions: async (q: Q, tenantId: string) =>
      Number((await queryOne<{ n: string }>(q, sql`SELECT count(*)::text AS n FROM recs_model_versions WHERE tenant_id = ${tenantId}`))!.n),

    getVersion: (q: Q, tenantId: string, id: string) =>
      queryOne<VersionRow>(q, sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} AND id = ${id}`),

    versionByJob: (q: Q, tenantId: string, jobId: string) =>
      queryOne<VersionRow>(q, sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} AND job_id = ${jobId}`),

    listVersions: (q: Q, tenantId: string, limit: number) =>
      queryRows<VersionRow>(
        q,
        sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
      ),

    setLoadError: (q: Q, tenantId: string, id: string, error: string | null) =>
      q.execute(sql`UPDATE recs_model_versions SET load_error = ${error} WHERE tenant_id = ${tenantId} AND id = ${id}`),

    deployment: (q: Q, tenantId: string) =>
      queryOne<DeploymentRow>(
        q,
        sql`SELECT active_version_id AS "activeVersionId", previous_version_id AS "previousVersionId", canary_version_id AS "canaryVersionId",
                   canary_percent AS "canaryPercent", canary_started_at AS "canaryStartedAt" FROM recs_deployments WHERE tenant_id = ${tenantId}`,
      ),

    /** Makes `versionId` the active version; the old active one becomes the rollback target. */
    async activate(q: Q, tenantId: string, versionId: string, now: Date): Promise<void> {
      await q.execute(sql`
        INSERT INTO recs_deployments (tenant_id, active_version_id, previous_version_id, canary_version_id, canary_percent, updated_at)
        VALUES (${tenantId}, ${versionId}, NULL, NULL, 0, ${now.toISOString()})
        ON CONFLICT (tenant_id) DO UPDATE SET
          previous_version_id = CASE WHEN recs_deployments.active_version_id = ${versionId} THEN recs_deployments.previous_version_id ELSE recs_deployments.active_version_id END,
          active_version_id = ${versionId},
          canary_version_id = CASE WHEN recs_deployments.canary_version_id = ${versionId} THEN NULL ELSE recs_deployments.canary_version_id END,
          canary_percent = CASE WHEN recs_deployments.canary_version_id = ${versionId} THEN 0 ELSE recs_deployments.canary_percent END,
          updated_at = ${now.toISOString()}`);
      await q.execute(
        sql`UPDATE recs_model_versions SET deployed_at = coalesce(deployed_at, ${now.toISOString()}::timestamptz) WHERE tenant_id = ${tenantId} AND id = ${versionId}`,
      );
    },

    async setCanary(q: Q, tenantId: string, versionId: string | null, percent: number, now: Date): Promise<void> {
      await q.execute(sql`
        INSERT INTO recs_deployments (tenant_id, canary_version_id, canary_percent, canary_started_at, updated_at)
        VALUES (${tenantId}, ${versionId}, ${percent}, ${versionId ? now.toISOString() : null}, ${now.toISOString()})
        ON CONFLICT (tenant_id) DO UPDATE SET canary_version_id = EXCLUDED.canary_version_id, canary_percent = EXCLUDED.canary_percent,
          canary_started_at = EXCLUDED.canary_started_at, updated_at = EXCLUDED.updated_at`);
    },

    /** Served responses of one tenant in one statement (the serving log writes them in batches). */
    async recordServedMany(q: Q, tenantId: string, rows: readonly ServedRow[]): Promise<void> {
      if (!rows.length) return;
      const col = <T>(f: (r: ServedRow) => T) => arrayParam(rows.map(f));
      // item_ids travel as array literals ('{"a","b"}'): unnest cannot take an array of arrays of different
      // lengths, and array_in parses a literal several times faster than a JSON round trip
      await q.execute(sql`
        INSERT INTO recs_served (tenant_id, id, kind, user_id, model_version_id, item_ids, latency_ms, cache_hit, created_at)
        SELECT ${tenantId}::uuid, s.id, s.kind, s.user_id, s.model_version_id, s.item_ids::text[], s.latency_ms, s.cache_hit, s.created_at
        FROM unnest(${col((r) => r.id)}::uuid[], ${col((r) => r.kind)}::text[], ${col((r) => r.userId)}::text[], ${col((r) => r.modelVersionId)}::uuid[],
                    ${col((r) => textArrayLiteral(r.itemIds))}::text[], ${col((r) => r.latencyMs)}::real[], ${col((r) => r.cacheHit)}::boolean[],
                    ${col((r) => r.createdAt.toISOString())}::timestamptz[])
          AS s(id, kind, user_id, model_version_id, item_ids, latency_ms, cache_hit, created_at)
        ON CONFLICT (tenant_id, id) DO NOTHING`);
    },

    /** Served responses and attributed outcomes per model version since `since` (clicks = view/click citing a served item). */
    armStats: async (q: Q, tenantId: string, since: Date) => {
      const cited = await attributedSince(tenantId, since);
      return queryRows<{ versionId: string | null; served: number; clicks: number; conversions: number }>(
        q,
        sql`WITH ${attributed(cited)}
            SELECT s.model_version_id AS "versionId", count(DISTINCT s.id)::int AS served,
                   count(DISTINCT s.id) FILTER (WHERE i.type IN ('view', 'click'))::int AS clicks,
                   count(DISTINCT s.id) FILTER (WHERE i.type = 'purchase')::int AS conversions
            FROM recs_served s
            LEFT JOIN i ON i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}
            GROUP BY s.model_version_id`,
      );
    },

    async dashboard(q: Q, tenantId: string, since: Date) {
      const served = await queryOne<{ calls: number; items: number; avgLatency: number | null; cacheHits: number }>(
        q,
        sql`SELECT count(*)::int AS calls, coalesce(sum(cardinality(item_ids)), 0)::int AS items, avg(latency_ms)::float8 AS "avgLatency",
                   count(*) FILTER (WHERE cache_hit)::int AS "cacheHits"
            FROM recs_served WHERE tenant_id = ${tenantId} AND created_at >= ${since.toISOString()}`,
      );
      const cited = attributed(await attributedSince(tenantId, since));
      const outcomes = await queryOne<{ clicked: number; converted: number; orders: number }>(
        q,
        sql`WITH ${cited}
            SELECT count(DISTINCT s.id) FILTER (WHERE i.type IN ('view', 'click'))::int AS clicked,
                   count(DISTINCT s.id) FILTER (WHERE i.type = 'purchase')::int AS converted,
                   count(DISTINCT coalesce(i.order_id, i.id)) FILTER (WHERE i.type = 'purchase')::int AS orders
            FROM recs_served s
            JOIN i ON i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}`,
      );
      // Per item shown: interactions with that item citing a response that showed it (each interaction once).
      const top = await queryRows<{ itemId: string; impressions: number; clicks: number; purchases: number }>(
        q,
        sql`WITH ${cited},
            shown AS (
              SELECT s.id, unnest(s.item_ids) AS item_id FROM recs_served s WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}
            ),
            hits AS (
              SELECT i.item_id, count(*) FILTER (WHERE i.type IN ('view', 'click'))::int AS clicks, count(*) FILTER (WHERE i.type = 'purchase')::int AS purchases
              FROM i WHERE EXISTS (SELECT 1 FROM shown s2 WHERE s2.item_id = i.item_id AND s2.id::text = i.recommendation_id)
              GROUP BY i.item_id
            )
            SELECT sh.item_id AS "itemId", count(*)::int AS impressions, coalesce(max(h.clicks), 0)::int AS clicks,
                   coalesce(max(h.purchases), 0)::int AS purchases
            FROM shown sh LEFT JOIN hits h ON h.item_id = sh.item_id
            GROUP BY sh.item_id ORDER BY count(*) DESC, sh.item_id LIMIT 10`,
      );
      const [items, counts] = await Promise.all([ports.catalog.activeItemCount(tenantId), ports.events.interactionQuality(tenantId)]);
      const quality = { items, ...counts };
      // Revenue per currency: minor units of different currencies never add up (an amount without one is USD).
      const revenue = await queryRows<{ currency: string; revenueMinor: string; orders: number }>(
        q,
        sql`WITH ${cited}
            SELECT coalesce(upper(i.currency), 'USD') AS currency, sum(i.price_minor * coalesce(i.quantity, 1))::text AS "revenueMinor",
                   count(DISTINCT coalesce(i.order_id, i.id))::int AS orders
            FROM recs_served s
            JOIN i ON i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()} AND i.type = 'purchase' AND i.price_minor IS NOT NULL
            GROUP BY 1 ORDER BY orders DESC, 1`,
      );
      return { served: served!, outcomes: outcomes!, revenue, top, quality };
    },

    /** Interactions received after `since` (events'). */
    interactionsSince: ports.events.interactionsSince,

    /** Versions past retention that are not serving (active, previous or canary). */
    expiredVersions: (q: Q, tenantId: string, now: Date) =>
      queryRows<{ id: string; artifactKey: string }>(
        q,
        sql`SELECT v.id, v.artifact_key AS "artifactKey" FROM recs_model_versions v
            LEFT JOIN recs_deployments d ON d.tenant_id = v.tenant_id
            WHERE v.tenant_id = ${tenantId} AND v.expires_at < ${now.toISOString()}
              AND v.id IS DISTINCT FROM d.active_version_id AND v.id IS DISTINCT FROM d.previous_version_id AND v.id IS DISTINCT FROM d.canary_version_id`,
      ),

    deleteVersion: (q: Q, tenantId: string, id: string) =>
      q.execute(sql`DELETE FROM recs_model_versions WHERE tenant_id = ${tenantId} AND id = ${id}`),
  };
}
export type RecsRepository = ReturnType<typeof createRecsRepository>;
