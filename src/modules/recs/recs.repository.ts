import { sql } from 'drizzle-orm';
import { type Db, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { ServingItemRow } from './serving/catalog.snapshot.ts';

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

export interface CatalogRow {
  itemId: string;
  name: string;
  categoryPath: string | null;
  brand: string | null;
  tags: string[];
  description: string | null;
  priceMinor: string | null;
  currency: string | null;
  imageUrl: string | null;
  availability: string;
}

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

const VERSION_COLUMNS = sql`id, version, model_type AS "modelType", hyperparameters, metrics, model_card AS "modelCard", snapshot_users AS "snapshotUsers",
  snapshot_items AS "snapshotItems", snapshot_interactions AS "snapshotInteractions", artifact_key AS "artifactKey", artifact_bytes AS "artifactBytes",
  job_id AS "jobId", training_seconds AS "trainingSeconds", load_error AS "loadError", created_at AS "createdAt", deployed_at AS "deployedAt", expires_at AS "expiresAt"`;

/** All SQL of the recommender. The catalog has no read entry yet, so items are read here, always by tenant. */
export function createRecsRepository(db: Db) {
  return {
    /** Tenant settings (read-only): interaction weights, purchased-item exclusion, retraining policy. */
    async tenantSettings(tenantId: string): Promise<Record<string, unknown>> {
      const row = await queryOne<{ settings: Record<string, unknown> }>(db, sql`SELECT settings FROM tenants WHERE id = ${tenantId}`);
      return row?.settings ?? {};
    },

    /**
     * Serving columns of the tenant's items: all of them, the given `itemIds` (ids absent from the result were
     * deleted), or those updated at or after `updatedSince`. Inactive and unavailable items are included with
     * their flags: the snapshot must know them to refuse them.
     */
    servingItems: (tenantId: string, only: { itemIds?: readonly string[]; updatedSince?: Date } = {}) =>
      queryRows<ServingItemRow>(
        db,
        sql`SELECT item_id AS "itemId", name, category_path AS "categoryPath", brand, price_minor::text AS "priceMinor", currency, image_url AS "imageUrl",
                   availability, stock, is_active AS "isActive", updated_at AS "updatedAt"
            FROM items WHERE tenant_id = ${tenantId}
              ${only.itemIds ? sql`AND item_id = ANY(${arrayParam(only.itemIds)}::text[])` : sql``}
              ${only.updatedSince ? sql`AND updated_at >= ${only.updatedSince.toISOString()}::timestamptz` : sql``}`,
      ),

    /** Change marker of the catalog (one index-only scan): a delta is due when either value moved. */
    catalogMarker: async (tenantId: string) => {
      const row = await queryOne<{ items: number; updatedAt: Date | null }>(
        db,
        sql`SELECT count(*)::int AS items, max(updated_at) AS "updatedAt" FROM items WHERE tenant_id = ${tenantId}`,
      );
      return { items: row?.items ?? 0, updatedAt: row?.updatedAt ? new Date(row.updatedAt).getTime() : 0 };
    },

    /**
     * Each user's most recent interactions with an item (at most `limit` each), newest first per user. One
     * index scan for all of them (a LATERAL per user planned several times slower on PGlite, which has no statistics).
     */
    userHistories: (tenantId: string, userIds: readonly string[], limit: number) =>
      queryRows<{ userId: string; id: string; itemId: string; type: string }>(
        db,
        sql`SELECT "userId", id, "itemId", type FROM (
              SELECT user_id AS "userId", id::text AS id, item_id AS "itemId", type,
                     row_number() OVER (PARTITION BY user_id ORDER BY occurred_at DESC, id DESC) AS rn
              FROM interactions
              WHERE tenant_id = ${tenantId} AND user_id = ANY(${arrayParam(userIds)}::text[]) AND item_id IS NOT NULL
            ) h
            WHERE rn <= ${limit} ORDER BY "userId", rn`,
      ),

    /** The users who interacted most recently (up to `limit`): whose histories serving reads ahead. One pass. */
    recentUsers: async (tenantId: string, limit: number) =>
      (
        await queryRows<{ userId: string }>(
          db,
          sql`SELECT user_id AS "userId" FROM interactions WHERE tenant_id = ${tenantId} AND user_id IS NOT NULL AND item_id IS NOT NULL
              GROUP BY user_id ORDER BY max(received_at) DESC LIMIT ${limit}`,
        )
      ).map((r) => r.userId),

    /**
     * Users with interactions whose id is at or after `fromId` (ids are UUIDv7, so this is "written since a
     * time"), with the newest id of each: how a serving process learns of interactions another process wrote.
     */
    usersWithInteractionsSince: (tenantId: string, fromId: string) =>
      queryRows<{ userId: string; newestId: string }>(
        db,
        sql`SELECT user_id AS "userId", max(id::text) AS "newestId" FROM interactions
            WHERE tenant_id = ${tenantId} AND id >= ${fromId}::uuid AND user_id IS NOT NULL GROUP BY user_id`,
      ),

    /** Every catalog item with its content fields, for the content model (ordered by item id). */
    catalogForContent: (tenantId: string) =>
      queryRows<CatalogRow>(
        db,
        sql`SELECT item_id AS "itemId", name, category_path AS "categoryPath", brand, tags, description, NULL AS "priceMinor", NULL AS currency, NULL AS "imageUrl", availability
            FROM items WHERE tenant_id = ${tenantId} AND is_active ORDER BY item_id`,
      ),

    async insertVersion(tenantId: string, v: Omit<VersionRow, 'createdAt' | 'deployedAt' | 'loadError'>): Promise<void> {
      await db.execute(sql`
        INSERT INTO recs_model_versions (tenant_id, id, version, model_type, hyperparameters, metrics, model_card, snapshot_users, snapshot_items,
          snapshot_interactions, artifact_key, artifact_bytes, job_id, training_seconds, expires_at)
        VALUES (${tenantId}, ${v.id}, ${v.version}, ${v.modelType}, ${JSON.stringify(v.hyperparameters)}::jsonb, ${JSON.stringify(v.metrics)}::jsonb,
          ${JSON.stringify(v.modelCard)}::jsonb, ${v.snapshotUsers}, ${v.snapshotItems}, ${v.snapshotInteractions}, ${v.artifactKey}, ${v.artifactBytes},
          ${v.jobId}, ${v.trainingSeconds}, ${v.expiresAt.toISOString()})`);
    },

    countVersions: async (tenantId: string) =>
      Number(
        (await queryOne<{ n: string }>(db, sql`SELECT count(*)::text AS n FROM recs_model_versions WHERE tenant_id = ${tenantId}`))!.n,
      ),

    getVersion: (tenantId: string, id: string) =>
      queryOne<VersionRow>(db, sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} AND id = ${id}`),

    versionByJob: (tenantId: string, jobId: string) =>
      queryOne<VersionRow>(db, sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} AND job_id = ${jobId}`),

    listVersions: (tenantId: string, limit: number) =>
      queryRows<VersionRow>(
        db,
        sql`SELECT ${VERSION_COLUMNS} FROM recs_model_versions WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
      ),

    setLoadError: (tenantId: string, id: string, error: string | null) =>
      db.execute(sql`UPDATE recs_model_versions SET load_error = ${error} WHERE tenant_id = ${tenantId} AND id = ${id}`),

    deployment: (tenantId: string) =>
      queryOne<DeploymentRow>(
        db,
        sql`SELECT active_version_id AS "activeVersionId", previous_version_id AS "previousVersionId", canary_version_id AS "canaryVersionId",
                   canary_percent AS "canaryPercent", canary_started_at AS "canaryStartedAt" FROM recs_deployments WHERE tenant_id = ${tenantId}`,
      ),

    /** Makes `versionId` the active version; the old active one becomes the rollback target. */
    async activate(tenantId: string, versionId: string, now: Date): Promise<void> {
      await db.execute(sql`
        INSERT INTO recs_deployments (tenant_id, active_version_id, previous_version_id, canary_version_id, canary_percent, updated_at)
        VALUES (${tenantId}, ${versionId}, NULL, NULL, 0, ${now.toISOString()})
        ON CONFLICT (tenant_id) DO UPDATE SET
          previous_version_id = CASE WHEN recs_deployments.active_version_id = ${versionId} THEN recs_deployments.previous_version_id ELSE recs_deployments.active_version_id END,
          active_version_id = ${versionId},
          canary_version_id = CASE WHEN recs_deployments.canary_version_id = ${versionId} THEN NULL ELSE recs_deployments.canary_version_id END,
          canary_percent = CASE WHEN recs_deployments.canary_version_id = ${versionId} THEN 0 ELSE recs_deployments.canary_percent END,
          updated_at = ${now.toISOString()}`);
      await db.execute(
        sql`UPDATE recs_model_versions SET deployed_at = coalesce(deployed_at, ${now.toISOString()}::timestamptz) WHERE tenant_id = ${tenantId} AND id = ${versionId}`,
      );
    },

    async setCanary(tenantId: string, versionId: string | null, percent: number, now: Date): Promise<void> {
      await db.execute(sql`
        INSERT INTO recs_deployments (tenant_id, canary_version_id, canary_percent, canary_started_at, updated_at)
        VALUES (${tenantId}, ${versionId}, ${percent}, ${versionId ? now.toISOString() : null}, ${now.toISOString()})
        ON CONFLICT (tenant_id) DO UPDATE SET canary_version_id = EXCLUDED.canary_version_id, canary_percent = EXCLUDED.canary_percent,
          canary_started_at = EXCLUDED.canary_started_at, updated_at = EXCLUDED.updated_at`);
    },

    /** Served responses of one tenant in one statement (the serving log writes them in batches). */
    async recordServedMany(tenantId: string, rows: readonly ServedRow[]): Promise<void> {
      if (!rows.length) return;
      const col = <T>(f: (r: ServedRow) => T) => arrayParam(rows.map(f));
      // item_ids travel as array literals ('{"a","b"}'): unnest cannot take an array of arrays of different
      // lengths, and array_in parses a literal several times faster than a JSON round trip
      await db.execute(sql`
        INSERT INTO recs_served (tenant_id, id, kind, user_id, model_version_id, item_ids, latency_ms, cache_hit, created_at)
        SELECT ${tenantId}::uuid, s.id, s.kind, s.user_id, s.model_version_id, s.item_ids::text[], s.latency_ms, s.cache_hit, s.created_at
        FROM unnest(${col((r) => r.id)}::uuid[], ${col((r) => r.kind)}::text[], ${col((r) => r.userId)}::text[], ${col((r) => r.modelVersionId)}::uuid[],
                    ${col((r) => textArrayLiteral(r.itemIds))}::text[], ${col((r) => r.latencyMs)}::real[], ${col((r) => r.cacheHit)}::boolean[],
                    ${col((r) => r.createdAt.toISOString())}::timestamptz[])
          AS s(id, kind, user_id, model_version_id, item_ids, latency_ms, cache_hit, created_at)
        ON CONFLICT (tenant_id, id) DO NOTHING`);
    },

    /** Served responses and attributed outcomes per model version since `since` (clicks = view/click citing a served item). */
    armStats: (tenantId: string, since: Date) =>
      queryRows<{ versionId: string | null; served: number; clicks: number; conversions: number }>(
        db,
        sql`SELECT s.model_version_id AS "versionId", count(DISTINCT s.id)::int AS served,
                   count(DISTINCT s.id) FILTER (WHERE i.type IN ('view', 'click'))::int AS clicks,
                   count(DISTINCT s.id) FILTER (WHERE i.type = 'purchase')::int AS conversions
            FROM recs_served s
            LEFT JOIN interactions i ON i.tenant_id = s.tenant_id AND i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}
            GROUP BY s.model_version_id`,
      ),

    async dashboard(tenantId: string, since: Date) {
      const served = await queryOne<{ calls: number; items: number; avgLatency: number | null; cacheHits: number }>(
        db,
        sql`SELECT count(*)::int AS calls, coalesce(sum(cardinality(item_ids)), 0)::int AS items, avg(latency_ms)::float8 AS "avgLatency",
                   count(*) FILTER (WHERE cache_hit)::int AS "cacheHits"
            FROM recs_served WHERE tenant_id = ${tenantId} AND created_at >= ${since.toISOString()}`,
      );
      const outcomes = await queryOne<{ clicked: number; converted: number; orders: number }>(
        db,
        sql`SELECT count(DISTINCT s.id) FILTER (WHERE i.type IN ('view', 'click'))::int AS clicked,
                   count(DISTINCT s.id) FILTER (WHERE i.type = 'purchase')::int AS converted,
                   count(DISTINCT coalesce(i.order_id, i.id::text)) FILTER (WHERE i.type = 'purchase')::int AS orders
            FROM recs_served s
            JOIN interactions i ON i.tenant_id = s.tenant_id AND i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}`,
      );
      const top = await queryRows<{ itemId: string; impressions: number; clicks: number; purchases: number }>(
        db,
        sql`WITH shown AS (
              SELECT s.id, unnest(s.item_ids) AS item_id FROM recs_served s WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()}
            )
            SELECT sh.item_id AS "itemId", count(*)::int AS impressions,
                   (SELECT count(*) FROM interactions i WHERE i.tenant_id = ${tenantId} AND i.item_id = sh.item_id AND i.type IN ('view', 'click')
                      AND i.recommendation_id IN (SELECT id::text FROM shown s2 WHERE s2.item_id = sh.item_id))::int AS clicks,
                   (SELECT count(*) FROM interactions i WHERE i.tenant_id = ${tenantId} AND i.item_id = sh.item_id AND i.type = 'purchase'
                      AND i.recommendation_id IN (SELECT id::text FROM shown s2 WHERE s2.item_id = sh.item_id))::int AS purchases
            FROM shown sh GROUP BY sh.item_id ORDER BY count(*) DESC, sh.item_id LIMIT 10`,
      );
      const quality = await queryOne<{ items: number; interactions: number; users: number; lastAt: Date | null }>(
        db,
        sql`SELECT (SELECT count(*) FROM items WHERE tenant_id = ${tenantId} AND is_active)::int AS items,
                   (SELECT count(*) FROM interactions WHERE tenant_id = ${tenantId})::int AS interactions,
                   (SELECT count(DISTINCT coalesce(user_id, anonymous_id)) FROM interactions WHERE tenant_id = ${tenantId})::int AS users,
                   (SELECT max(received_at) FROM interactions WHERE tenant_id = ${tenantId}) AS "lastAt"`,
      );
      // Revenue per currency: minor units of different currencies never add up (an amount without one is USD).
      const revenue = await queryRows<{ currency: string; revenueMinor: string; orders: number }>(
        db,
        sql`SELECT coalesce(upper(i.currency), 'USD') AS currency, sum(i.price_minor * coalesce(i.quantity, 1))::text AS "revenueMinor",
                   count(DISTINCT coalesce(i.order_id, i.id::text))::int AS orders
            FROM recs_served s
            JOIN interactions i ON i.tenant_id = s.tenant_id AND i.recommendation_id = s.id::text AND i.item_id = ANY(s.item_ids)
            WHERE s.tenant_id = ${tenantId} AND s.created_at >= ${since.toISOString()} AND i.type = 'purchase' AND i.price_minor IS NOT NULL
            GROUP BY 1 ORDER BY orders DESC, 1`,
      );
      return { served: served!, outcomes: outcomes!, revenue, top, quality: quality! };
    },

    interactionsSince: async (tenantId: string, since: Date | null) =>
      Number(
        (await queryOne<{ n: string }>(
          db,
          sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${tenantId} ${since ? sql`AND received_at > ${since.toISOString()}` : sql``}`,
        ))!.n,
      ),

    /** Versions past retention that are not serving (active, previous or canary). */
    expiredVersions: (tenantId: string, now: Date) =>
      queryRows<{ id: string; artifactKey: string }>(
        db,
        sql`SELECT v.id, v.artifact_key AS "artifactKey" FROM recs_model_versions v
            LEFT JOIN recs_deployments d ON d.tenant_id = v.tenant_id
            WHERE v.tenant_id = ${tenantId} AND v.expires_at < ${now.toISOString()}
              AND v.id IS DISTINCT FROM d.active_version_id AND v.id IS DISTINCT FROM d.previous_version_id AND v.id IS DISTINCT FROM d.canary_version_id`,
      ),

    deleteVersion: (tenantId: string, id: string) =>
      db.execute(sql`DELETE FROM recs_model_versions WHERE tenant_id = ${tenantId} AND id = ${id}`),
  };
}
export type RecsRepository = ReturnType<typeof createRecsRepository>;
