import { type SQL, sql } from 'drizzle-orm';
import { type Db, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { StyleLayers } from './newsfeed.core.ts';

/** A query handle: the database or an open transaction. */
export type Q = Pick<Db, 'execute'>;

export interface StatedPreferences {
  styles: string[];
  categories: string[];
  brands: string[];
  sizes: string[];
  occasions: string[];
  priceMin: string | null;
  priceMax: string | null;
  currency: string | null;
}

export interface StyleProfileRow {
  userId: string;
  layers: StyleLayers;
  confidence: number;
  eventsCount: number;
  lastEventId: string | null;
  decayedAt: Date;
  updatedAt: Date;
}

export interface SnapshotRow {
  id: string;
  layers: StyleLayers;
  confidence: number;
  snapshotDate: Date;
  reason: string;
}

const PROFILE_COLUMNS = sql`user_id AS "userId", style_layers AS style, price_layers AS price, category_layers AS category,
  occasion_layers AS occasion, brand_layers AS brand, commerce_intent AS intent, confidence, events_count AS "eventsCount",
  last_event_id AS "lastEventId", decayed_at AS "decayedAt", updated_at AS "updatedAt"`;

type RawProfile = Omit<StyleProfileRow, 'layers'> & StyleLayers;
const toProfile = (r: RawProfile): StyleProfileRow => ({
  userId: r.userId,
  layers: { style: r.style, price: r.price, category: r.category, occasion: r.occasion, brand: r.brand, intent: r.intent },
  confidence: Number(r.confidence),
  eventsCount: Number(r.eventsCount),
  lastEventId: r.lastEventId,
  decayedAt: new Date(r.decayedAt),
  updatedAt: new Date(r.updatedAt),
});

/**
 * The plan generation of the feed's per-shopper statement after `reads` runs in this process: 0 up to
 * `SHOPPER_PLAN_FIRST` runs, then one more each time the runs double, up to `SHOPPER_PLAN_LAST` (a bounded set of
 * statement texts per process: each generation is one more prepared statement per pooled connection).
 */
export function shopperPlanGeneration(reads: number): number {
  if (reads < SHOPPER_PLAN_FIRST) return 0;
  return Math.min(SHOPPER_PLAN_LAST, Math.floor(Math.log2(reads / SHOPPER_PLAN_FIRST)) + 1);
}
/** Runs of the per-shopper statement before its first new plan generation. */
export const SHOPPER_PLAN_FIRST = 64;
/** The last generation (64 x 2^23 runs: about half a billion pages). */
const SHOPPER_PLAN_LAST = 24;

/** The only I/O of shopper preferences and style profiles; query handle first, then the tenant id. */
export function createPreferencesRepository() {
  /** Runs of `shopperState` in this process (its plan generation, `shopperPlanGeneration`). */
  let shopperReads = 0;
  return {
    async follow(q: Q, tenantId: string, userId: string, brandId: string, now: Date): Promise<boolean> {
      const r = await queryOne<{ brand_id: string }>(
        q,
        sql`INSERT INTO user_brand_follows (tenant_id, user_id, brand_id, created_at) VALUES (${tenantId}, ${userId}, ${brandId}, ${now})
        ON CONFLICT DO NOTHING RETURNING brand_id`,
      );
      return !!r;
    },
    async unfollow(q: Q, tenantId: string, userId: string, brandId: string): Promise<boolean> {
      const r = await queryOne<{ brand_id: string }>(
        q,
        sql`DELETE FROM user_brand_follows WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND brand_id = ${brandId} RETURNING brand_id`,
      );
      return !!r;
    },
    async follows(q: Q, tenantId: string, userId: string): Promise<{ brandId: string; createdAt: Date }[]> {
      return queryRows(
        q,
        sql`SELECT brand_id AS "brandId", created_at AS "createdAt" FROM user_brand_follows WHERE tenant_id = ${tenantId} AND user_id = ${userId}
        ORDER BY created_at DESC, brand_id LIMIT 1000`,
      );
    },
    async favorite(q: Q, tenantId: string, userId: string, itemId: string, now: Date): Promise<boolean> {
      const r = await queryOne<{ item_id: string }>(
        q,
        sql`INSERT INTO user_favorites (tenant_id, user_id, item_id, created_at) VALUES (${tenantId}, ${userId}, ${itemId}, ${now})
        ON CONFLICT DO NOTHING RETURNING item_id`,
      );
      return !!r;
    },
    async unfavorite(q: Q, tenantId: string, userId: string, itemId: string): Promise<boolean> {
      const r = await queryOne<{ item_id: string }>(
        q,
        sql`DELETE FROM user_favorites WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND item_id = ${itemId} RETURNING item_id`,
      );
      return !!r;
    },
    async favorites(q: Q, tenantId: string, userId: string): Promise<{ itemId: string; createdAt: Date }[]> {
      return queryRows(
        q,
        sql`SELECT item_id AS "itemId", created_at AS "createdAt" FROM user_favorites WHERE tenant_id = ${tenantId} AND user_id = ${userId}
        ORDER BY created_at DESC, item_id LIMIT 1000`,
      );
    },
    async setPreferences(q: Q, tenantId: string, userId: string, p: StatedPreferences, now: Date): Promise<void> {
      await q.execute(
        sql`INSERT INTO user_fashion_preferences (tenant_id, user_id, preferences, updated_at) VALUES (${tenantId}, ${userId}, ${JSON.stringify(p)}::jsonb, ${now})
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = EXCLUDED.updated_at`,
      );
    },
    async preferences(q: Q, tenantId: string, userId: string): Promise<StatedPreferences | null> {
      const r = await queryOne<{ preferences: StatedPreferences }>(
        q,
        sql`SELECT preferences FROM user_fashion_preferences WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
      );
      return r?.preferences ?? null;
    },

    async profile(q: Q, tenantId: string, userId: string): Promise<StyleProfileRow | undefined> {
      const r = await queryOne<RawProfile>(
        q,
        sql`SELECT ${PROFILE_COLUMNS} FROM style_profiles WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
      );
      return r && toProfile(r);
    },
    /** The style profiles of these users (those that have one), in one statement. */
    async profilesOf(q: Q, tenantId: string, userIds: readonly string[]): Promise<StyleProfileRow[]> {
      if (!userIds.length) return [];
      const rows = await queryRows<RawProfile>(
        q,
        sql`SELECT ${PROFILE_COLUMNS} FROM style_profiles WHERE tenant_id = ${tenantId} AND user_id = ANY(${arrayParam(userIds)}::text[])`,
      );
      return rows.map(toProfile);
    },
    /**
     * Serializes refreshes of these users' profiles until the transaction ends: one advisory lock per user, taken
     * in one statement in sorted key order (two refreshes sharing users wait for each other, never deadlock).
     */
    async lockProfiles(q: Q, tenantId: string, userIds: readonly string[]): Promise<void> {
      if (!userIds.length) return;
      const keys = [...new Set(userIds.map((u) => `style:${tenantId}:${u}`))].sort();
      await q.execute(
        sql`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
            FROM (SELECT k FROM unnest(${arrayParam(keys)}::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n) s`,
      );
    },
    /** Inserts or replaces these profiles, in one statement. */
    async saveProfiles(q: Q, tenantId: string, ps: readonly StyleProfileRow[]): Promise<void> {
      if (!ps.length) return;
      const col = <T>(f: (p: StyleProfileRow) => T) => arrayParam(ps.map(f));
      const layer = (k: keyof StyleLayers) => col((p) => JSON.stringify(p.layers[k]));
      await q.execute(
        sql`INSERT INTO style_profiles (tenant_id, user_id, style_layers, price_layers, category_layers, occasion_layers, brand_layers, commerce_intent,
          confidence, events_count, last_event_id, decayed_at, updated_at)
        SELECT ${tenantId}, t.* FROM unnest(${col((p) => p.userId)}::text[], ${layer('style')}::jsonb[], ${layer('price')}::jsonb[],
          ${layer('category')}::jsonb[], ${layer('occasion')}::jsonb[], ${layer('brand')}::jsonb[], ${layer('intent')}::jsonb[],
          ${col((p) => p.confidence)}::float8[], ${col((p) => p.eventsCount)}::int[], ${col((p) => p.lastEventId)}::text[],
          ${col((p) => p.decayedAt.toISOString())}::timestamptz[], ${col((p) => p.updatedAt.toISOString())}::timestamptz[]) AS t
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET style_layers = EXCLUDED.style_layers, price_layers = EXCLUDED.price_layers,
          category_layers = EXCLUDED.category_layers, occasion_layers = EXCLUDED.occasion_layers, brand_layers = EXCLUDED.brand_layers,
          commerce_intent = EXCLUDED.commerce_intent, confidence = EXCLUDED.confidence, events_count = EXCLUDED.events_count,
          last_event_id = EXCLUDED.last_event_id, decayed_at = EXCLUDED.decayed_at, updated_at = EXCLUDED.updated_at`,
      );
    },
    /** The folded interactions of several users (the profile's audit trail), in one statement. */
    async addEvents(
      q: Q,
      tenantId: string,
      events: { userId: string; eventType: string; sourceType: string; sourceId: string; weight: number; createdAt: Date }[],
    ): Promise<void> {
      if (events.length === 0) return;
      await q.execute(
        sql`INSERT INTO style_profile_events (tenant_id, id, user_id, event_type, source_type, source_id, weight, created_at)
        SELECT ${tenantId}, id, u, t, s, sid, w, at FROM unnest(${arrayParam(events.map(() => newId()))}::uuid[], ${arrayParam(events.map((e) => e.userId))}::text[],
          ${arrayParam(events.map((e) => e.eventType))}::text[], ${arrayParam(events.map((e) => e.sourceType))}::text[],
          ${arrayParam(events.map((e) => e.sourceId))}::text[], ${arrayParam(events.map((e) => e.weight))}::float8[],
          ${arrayParam(events.map((e) => e.createdAt.toISOString()))}::timestamptz[]) AS x(id, u, t, s, sid, w, at)`,
      );
    },
    /** Snapshots of several users' profiles, in one statement. */
    async snapshotMany(q: Q, tenantId: string, snaps: readonly { profile: StyleProfileRow; reason: string }[], now: Date): Promise<void> {
      if (!snaps.length) return;
      await q.execute(
        sql`INSERT INTO style_profile_snapshots (tenant_id, id, user_id, style_layers, layers, confidence, snapshot_date, reason)
        SELECT ${tenantId}, id, u, sl, l, c, ${now}, r FROM unnest(${arrayParam(snaps.map(() => newId()))}::uuid[], ${arrayParam(snaps.map((x) => x.profile.userId))}::text[],
          ${arrayParam(snaps.map((x) => JSON.stringify(x.profile.layers.style)))}::jsonb[], ${arrayParam(snaps.map((x) => JSON.stringify(x.profile.layers)))}::jsonb[],
          ${arrayParam(snaps.map((x) => x.profile.confidence))}::float8[], ${arrayParam(snaps.map((x) => x.reason))}::text[]) AS x(id, u, sl, l, c, r)`,
      );
    },
    async snapshots(q: Q, tenantId: string, userId: string, limit: number): Promise<SnapshotRow[]> {
      const rows = await queryRows<SnapshotRow>(
        q,
        sql`SELECT id, layers, confidence, snapshot_date AS "snapshotDate", reason FROM style_profile_snapshots
        WHERE tenant_id = ${tenantId} AND user_id = ${userId} ORDER BY snapshot_date DESC, id DESC LIMIT ${limit}`,
      );
      return rows.map((r) => ({ ...r, confidence: Number(r.confidence), snapshotDate: new Date(r.snapshotDate) }));
    },
    /**
     * Everything the feed reads about one shopper, in ONE statement: brand follows, favorites, stated
     * preferences, style profile, the items shown between `shown.from` and `shown.before` (newest first, at
     * most `shown.limit`; none when it is 0), and the shopper's recent interactions from `recent`, events' SQL
     * piece (`ShopperHistorySql`: item_id, type, n), newest first. Each of the feed's own parts as
     * its own method returns it.
     */
    async shopperState(
      q: Q,
      tenantId: string,
      userId: string,
      shown: { from: Date; before: Date; limit: number },
      recent: SQL,
    ): Promise<{
      follows: string[];
      favorites: string[];
      preferences: StatedPreferences | null;
      profile: StyleProfileRow | undefined;
      shown: string[];
      recent: { itemId: string; type: string }[];
    }> {
      // A plan generation in the text (a comment: `shopperPlanGeneration`), so the statement is prepared anew each time
      // this process's runs of it double. It is a named prepared statement, and PostgreSQL keeps its generic plan
      // (made at the sixth run) until the tables' statistics change: made while newsfeed_shown_items was empty (or
      // ANALYZEd empty, as after a deployment's or a bench's ANALYZE), it read the grown table by sequential scan on
      // every page until the next ANALYZE (bench:newsfeed: 12,688 rows per page). A plan made anew is made against
      // the tables' sizes then (the planner scales stale statistics to the current size): a plan made on an empty table
      // lasts until the process's pages double (shown.plan.int.test.ts). Not a function planned per call: that cost
      // PostgreSQL about twice the CPU of this read on every page, for a plan that is right nearly always.
      // The shown window is a range test, not an index range: the shopper's own rows (user index, at most N days of
      // them: retention) are filtered. With `shown_at >= AND <`, a table the planner has no statistics for yet (a
      // feed's first hours, before autovacuum analyzes it) ties both indexes and took the tenant's (tenant_id,
      // shown_at) one: every page read the whole tenant's window to find one shopper's rows (EXPLAIN: 3,424 rows
      // removed by the filter for a shopper with none; bench:newsfeed 6,092 index rows read per page).
      const r = await queryOne<{
        follows: string[] | null;
        favorites: string[] | null;
        preferences: StatedPreferences | null;
        profile: RawProfile | null;
        shown: string[] | null;
        recent: [string, string][] | null;
      }>(
        q,
        sql`SELECT
          (SELECT json_agg(brand_id ORDER BY created_at DESC, brand_id) FROM (SELECT brand_id, created_at FROM user_brand_follows
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} ORDER BY created_at DESC, brand_id LIMIT 1000) f) AS follows,
          (SELECT json_agg(item_id ORDER BY created_at DESC, item_id) FROM (SELECT item_id, created_at FROM user_favorites
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} ORDER BY created_at DESC, item_id LIMIT 1000) v) AS favorites,
          (SELECT preferences FROM user_fashion_preferences WHERE tenant_id = ${tenantId} AND user_id = ${userId}) AS preferences,
          (SELECT row_to_json(p) FROM (SELECT ${PROFILE_COLUMNS} FROM style_profiles WHERE tenant_id = ${tenantId} AND user_id = ${userId}) p) AS profile,
          (SELECT json_agg(item_id ORDER BY shown_at DESC, item_id) FROM (SELECT item_id, shown_at FROM newsfeed_shown_items
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND tstzrange(${shown.from}::timestamptz, ${shown.before}::timestamptz) @> shown_at
            ORDER BY shown_at DESC, item_id LIMIT ${shown.limit}) s) AS shown,
          (SELECT json_agg(json_build_array(r.item_id, r.type) ORDER BY r.n) FROM (${recent}) r) AS recent
          ${sql.raw(`/* plan generation ${shopperPlanGeneration(shopperReads++)} */`)}`,
        // Prepared: its six small subqueries cost PostgreSQL four times as much to plan as to run (EXPLAIN: 0.4 ms
        // planning, 0.1 ms execution), on every page.
        { prepare: true },
      );
      return {
        follows: r?.follows ?? [],
        favorites: r?.favorites ?? [],
        preferences: r?.preferences ?? null,
        profile: r?.profile ? toProfile(r.profile) : undefined,
        shown: r?.shown ?? [],
        recent: (r?.recent ?? []).map(([itemId, type]) => ({ itemId, type })),
      };
    },
    /** Records items as served (one statement for many shoppers; the latest time per item wins; rows unique per user and item). */
    async recordShownMany(q: Q, tenantId: string, rows: readonly { userId: string; itemId: string; at: Date }[]): Promise<void> {
      if (rows.length === 0) return;
      await queryRows(
        q,
        sql`INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
        SELECT ${tenantId}, u, i, at FROM unnest(${arrayParam(rows.map((r) => r.userId))}::text[], ${arrayParam(rows.map((r) => r.itemId))}::text[],
          ${arrayParam(rows.map((r) => r.at.toISOString()))}::timestamptz[]) AS x(u, i, at)
        ON CONFLICT (tenant_id, user_id, item_id) DO UPDATE SET shown_at = GREATEST(newsfeed_shown_items.shown_at, EXCLUDED.shown_at)`,
        { prepare: true }, // every group commit of served pages: arrays as single parameters, so one text
      );
    },
    /** Tenants holding shown-item rows (a loose index scan: one probe per tenant). Runs across tenants. */
    async shownTenants(q: Q): Promise<string[]> {
      const rows = await queryRows<{ tenant_id: string }>(
        q,
        sql`WITH RECURSIVE t AS (
          (SELECT tenant_id FROM newsfeed_shown_items ORDER BY tenant_id LIMIT 1)
          UNION ALL
          SELECT (SELECT n.tenant_id FROM newsfeed_shown_items n WHERE n.tenant_id > t.tenant_id ORDER BY n.tenant_id LIMIT 1)
          FROM t WHERE t.tenant_id IS NOT NULL
        )
        SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL`,
      );
      return rows.map((r) => r.tenant_id);
    },
    /** Deletes up to `limit` of the tenant's shown-item rows shown before `before`; returns how many. */
    async pruneShown(q: Q, tenantId: string, before: Date, limit: number): Promise<number> {
      const r = await queryOne<{ n: number }>(
        q,
        sql`WITH d AS (
          DELETE FROM newsfeed_shown_items WHERE tenant_id = ${tenantId} AND (user_id, item_id) IN (
            SELECT user_id, item_id FROM newsfeed_shown_items WHERE tenant_id = ${tenantId} AND shown_at < ${before} LIMIT ${limit})
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM d`,
      );
      return Number(r?.n ?? 0);
    },
    /** Erasure: everything the feed holds about these users. */
    async eraseUsers(q: Q, tenantId: string, userIds: readonly string[]): Promise<void> {
      const ids = arrayParam(userIds);
      for (const table of [
        'user_brand_follows',
        'user_favorites',
        'user_fashion_preferences',
        'style_profiles',
        'style_profile_events',
        'style_profile_snapshots',
        'newsfeed_shown_items',
      ])
        await q.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId} AND user_id = ANY(${ids}::text[])`);
    },
  };
}
export type PreferencesRepository = ReturnType<typeof createPreferencesRepository>;
