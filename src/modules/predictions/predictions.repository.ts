import { sql } from 'drizzle-orm';
import { arrayParam, type Q, queryOne, queryRows } from '../../platform/index.ts';

export type ModelKind = 'churn' | 'ltv' | 'clv' | 'segments';

export interface ModelVersionRow {
  id: string;
  kind: ModelKind;
  version: string;
  modelType: string;
  status: 'active' | 'previous' | 'inactive';
  windowFrom: Date | null;
  windowTo: Date;
  cutoff: Date;
  metrics: Record<string, number | null>;
  modelCard: Record<string, unknown>;
  jobId: string | null;
  trainingSeconds: number;
  createdAt: Date;
  activatedAt: Date | null;
}

export interface NewModelVersion {
  id: string;
  kind: ModelKind;
  version: string;
  modelType: string;
  windowFrom: Date | null;
  windowTo: Date;
  cutoff: Date;
  metrics: Record<string, number | null>;
  modelCard: Record<string, unknown>;
  params: unknown;
  jobId: string | null;
  trainingSeconds: number;
}

export interface ScoreRow {
  profileId: string;
  churnProbability: number | null;
  expectedValueMinor: string | null;
  currency: string | null;
  expectedPurchases: number | null;
  pAlive: number | null;
  rfmR: number;
  rfmF: number;
  rfmM: number;
  segment: string;
  cluster: number | null;
  reasons: unknown[];
  lastOrderAt: Date | null;
  scoredAt: Date;
}

export interface NewScore extends Omit<ScoreRow, 'scoredAt'> {
  features: (number | null)[];
}

const VERSION_COLS = sql`id, kind, version, model_type AS "modelType", status, window_from AS "windowFrom", window_to AS "windowTo", cutoff,
  metrics, model_card AS "modelCard", job_id AS "jobId", training_seconds AS "trainingSeconds", created_at AS "createdAt", activated_at AS "activatedAt"`;
const SCORE_COLS = sql`profile_id AS "profileId", churn_probability AS "churnProbability", expected_value_minor::text AS "expectedValueMinor", currency,
  expected_purchases AS "expectedPurchases", p_alive AS "pAlive", rfm_r AS "rfmR", rfm_f AS "rfmF", rfm_m AS "rfmM", segment, cluster, reasons,
  last_order_at AS "lastOrderAt", scored_at AS "scoredAt"`;

/**
 * All SQL over predictions' tables (prediction_model_versions, prediction_features, prediction_scores,
 * prediction_segment_history).
 */
export function createPredictionsRepository() {
  return {
    listVersions(q: Q, tenantId: string, limit: number): Promise<ModelVersionRow[]> {
      return queryRows<ModelVersionRow>(
        q,
        sql`SELECT ${VERSION_COLS} FROM prediction_model_versions WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, kind LIMIT ${limit}`,
      );
    },

    /** The active version of each kind with its parameters. */
    activeVersions(q: Q, tenantId: string): Promise<(ModelVersionRow & { params: unknown })[]> {
      return queryRows(
        q,
        sql`SELECT ${VERSION_COLS}, params FROM prediction_model_versions WHERE tenant_id = ${tenantId} AND status = 'active'`,
      );
    },

    /** Versions of the finished run become active at once; the ones they replace become `previous` (one unit of work). */
    async activate(q: Q, tenantId: string, versions: readonly NewModelVersion[], now: Date): Promise<void> {
      if (!versions.length) return;
      const kinds = versions.map((v) => v.kind);
      await q.execute(
        sql`UPDATE prediction_model_versions SET status = 'inactive' WHERE tenant_id = ${tenantId} AND status = 'previous' AND kind = ANY(${arrayParam(kinds)}::text[])`,
      );
      await q.execute(
        sql`UPDATE prediction_model_versions SET status = 'previous' WHERE tenant_id = ${tenantId} AND status = 'active' AND kind = ANY(${arrayParam(kinds)}::text[])`,
      );
      for (const v of versions)
        await q.execute(sql`
          INSERT INTO prediction_model_versions (tenant_id, id, kind, version, model_type, status, window_from, window_to, cutoff, metrics, model_card, params, job_id, training_seconds, created_at, activated_at)
          VALUES (${tenantId}, ${v.id}, ${v.kind}, ${v.version}, ${v.modelType}, 'active', ${v.windowFrom?.toISOString() ?? null}, ${v.windowTo.toISOString()}, ${v.cutoff.toISOString()},
                  ${JSON.stringify(v.metrics)}::jsonb, ${JSON.stringify(v.modelCard)}::jsonb, ${JSON.stringify(v.params)}::jsonb, ${v.jobId}, ${v.trainingSeconds}, ${now.toISOString()}, ${now.toISOString()})`);
    },

    /** Number of versions of a kind (for the next version label). */
    async countVersions(q: Q, tenantId: string, kind: ModelKind): Promise<number> {
      const r = await queryOne<{ n: number }>(
        q,
        sql`SELECT count(*)::int AS n FROM prediction_model_versions WHERE tenant_id = ${tenantId} AND kind = ${kind}`,
      );
      return r?.n ?? 0;
    },

    /** Replaces the tenant's features and scores with a full run's (set-based; profiles no longer scored are removed). */
    async replaceScores(q: Q, tenantId: string, rows: readonly NewScore[], asOf: Date): Promise<void> {
      const at = asOf.toISOString();
      await q.execute(sql`DELETE FROM prediction_scores WHERE tenant_id = ${tenantId}`);
      await q.execute(sql`DELETE FROM prediction_features WHERE tenant_id = ${tenantId}`);
      for (let s = 0; s < rows.length; s += 5000) {
        const b = rows.slice(s, s + 5000);
        const col = <T>(f: (r: NewScore) => T) => arrayParam(b.map(f));
        await q.execute(sql`
          INSERT INTO prediction_features (tenant_id, profile_id, as_of, values)
          SELECT ${tenantId}::uuid, p, ${at}::timestamptz, v::jsonb FROM unnest(${col((r) => r.profileId)}::uuid[], ${col((r) => JSON.stringify(r.features))}::text[]) AS t(p, v)`);
        await q.execute(sql`
          INSERT INTO prediction_scores (tenant_id, profile_id, churn_probability, expected_value_minor, currency, expected_purchases, p_alive, rfm_r, rfm_f, rfm_m,
                                         segment, cluster, reasons, last_order_at, scored_at)
          SELECT ${tenantId}::uuid, p, c, ev, cur, ep, pa, r, f, m, seg, cl, rs::jsonb, lo, ${at}::timestamptz
          FROM unnest(${col((r) => r.profileId)}::uuid[], ${col((r) => r.churnProbability)}::real[], ${col((r) => r.expectedValueMinor)}::bigint[],
                      ${col((r) => r.currency)}::text[], ${col((r) => r.expectedPurchases)}::real[], ${col((r) => r.pAlive)}::real[],
                      ${col((r) => r.rfmR)}::smallint[], ${col((r) => r.rfmF)}::smallint[], ${col((r) => r.rfmM)}::smallint[], ${col((r) => r.segment)}::text[],
                      ${col((r) => r.cluster)}::int[], ${col((r) => JSON.stringify(r.reasons))}::text[], ${col((r) => r.lastOrderAt?.toISOString() ?? null)}::timestamptz[])
               AS t(p, c, ev, cur, ep, pa, r, f, m, seg, cl, rs, lo)`);
        // a turn of the event loop between batches: on PGlite each statement runs on this thread
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },

    /** Each scored profile's segment and churn probability now (before a run replaces them: webhooks fire on change). */
    previousScores(q: Q, tenantId: string) {
      return queryRows<{ profileId: string; segment: string; churnProbability: number | null }>(
        q,
        sql`SELECT profile_id AS "profileId", segment, churn_probability AS "churnProbability" FROM prediction_scores WHERE tenant_id = ${tenantId}`,
      );
    },

    score(q: Q, tenantId: string, profileId: string): Promise<ScoreRow | undefined> {
      return queryOne<ScoreRow>(
        q,
        sql`SELECT ${SCORE_COLS} FROM prediction_scores WHERE tenant_id = ${tenantId} AND profile_id = ${profileId}`,
      );
    },

    /** Segment sizes with mean churn probability and expected value. */
    segmentSizes(q: Q, tenantId: string) {
      return queryRows<{ segment: string; profiles: number; avgChurn: number | null; expectedValueMinor: string | null; scoredAt: Date }>(
        q,
        sql`SELECT segment, count(*)::int AS profiles, avg(churn_probability)::float8 AS "avgChurn", sum(expected_value_minor)::text AS "expectedValueMinor",
                   max(scored_at) AS "scoredAt"
            FROM prediction_scores WHERE tenant_id = ${tenantId} GROUP BY segment ORDER BY profiles DESC, segment`,
      );
    },

    /**
     * Records the segment sizes of the scores just written as the run at `runAt` (same transaction as the scores).
     * ON CONFLICT: a run at the same instant rewrites its own sizes.
     */
    async recordSegmentSizes(q: Q, tenantId: string, runAt: Date): Promise<void> {
      await q.execute(sql`
        INSERT INTO prediction_segment_history (tenant_id, run_at, segment, profiles)
        SELECT tenant_id, ${runAt.toISOString()}::timestamptz, segment, count(*)::int FROM prediction_scores WHERE tenant_id = ${tenantId} GROUP BY tenant_id, segment
        ON CONFLICT (tenant_id, run_at, segment) DO UPDATE SET profiles = EXCLUDED.profiles`);
    },

    /** Retention: deletes the tenant's segment sizes of runs before `before`; returns how many rows went. */
    async pruneSegmentHistory(q: Q, tenantId: string, before: Date): Promise<number> {
      const rows = await queryRows<{ n: number }>(
        q,
        sql`WITH gone AS (DELETE FROM prediction_segment_history WHERE tenant_id = ${tenantId} AND run_at < ${before.toISOString()}::timestamptz RETURNING 1)
            SELECT count(*)::int AS n FROM gone`,
      );
      return rows[0]?.n ?? 0;
    },

    /** Each segment's size at the last run before `before` (empty when there is none). */
    previousSegmentSizes(q: Q, tenantId: string, before: Date) {
      return queryRows<{ segment: string; profiles: number; runAt: Date }>(
        q,
        sql`SELECT segment, profiles, run_at AS "runAt" FROM prediction_segment_history
            WHERE tenant_id = ${tenantId}
              AND run_at = (SELECT max(run_at) FROM prediction_segment_history WHERE tenant_id = ${tenantId} AND run_at < ${before.toISOString()}::timestamptz)`,
      );
    },

    /** Segment sizes of every run since `since`, oldest run first. */
    segmentHistory(q: Q, tenantId: string, since: Date) {
      return queryRows<{ segment: string; profiles: number; runAt: Date }>(
        q,
        sql`SELECT segment, profiles, run_at AS "runAt" FROM prediction_segment_history
            WHERE tenant_id = ${tenantId} AND run_at >= ${since.toISOString()}::timestamptz ORDER BY run_at, segment`,
      );
    },

    /** Profiles at or above a churn probability, most at risk and most valuable first. */
    atRisk(q: Q, tenantId: string, threshold: number, limit: number, segment?: string): Promise<ScoreRow[]> {
      const seg = segment ? sql`AND segment = ${segment}` : sql``;
      return queryRows<ScoreRow>(
        q,
        sql`SELECT ${SCORE_COLS} FROM prediction_scores WHERE tenant_id = ${tenantId} AND churn_probability >= ${threshold} ${seg}
            ORDER BY churn_probability DESC, expected_value_minor DESC NULLS LAST, profile_id LIMIT ${limit}`,
      );
    },

    /** Profile ids in a named segment (for other modules' targeting). */
    async profilesInSegment(q: Q, tenantId: string, segment: string, limit: number): Promise<string[]> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`SELECT profile_id AS id FROM prediction_scores WHERE tenant_id = ${tenantId} AND segment = ${segment} ORDER BY profile_id LIMIT ${limit}`,
      );
      return rows.map((r) => r.id);
    },

    /** The scored RFM segment of each of these profiles that has one. */
    async segmentsOfProfiles(q: Q, tenantId: string, profileIds: readonly string[]): Promise<{ profileId: string; segment: string }[]> {
      if (!profileIds.length) return [];
      return queryRows<{ profileId: string; segment: string }>(
        q,
        sql`SELECT profile_id AS "profileId", segment FROM prediction_scores
            WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])`,
      );
    },

    /** Erasure: nothing about these profiles is kept. */
    async eraseProfiles(q: Q, tenantId: string, profileIds: readonly string[]): Promise<void> {
      await q.execute(
        sql`DELETE FROM prediction_scores WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])`,
      );
      await q.execute(
        sql`DELETE FROM prediction_features WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])`,
      );
    },
  };
}
export type PredictionsRepository = ReturnType<typeof createPredictionsRepository>;
