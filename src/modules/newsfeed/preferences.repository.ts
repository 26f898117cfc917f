import { sql } from 'drizzle-orm';
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

/** The only I/O of shopper preferences and style profiles; query handle first, then the tenant id. */
export function createPreferencesRepository() {
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
    /** Items served to the user at or after `from` and before `before` (the feed's "not repeated" rule), at most `limit`. */
    async shownItems(q: Q, tenantId: string, userId: string, from: Date, before: Date, limit: number): Promise<string[]> {
      const rows = await queryRows<{ item_id: string }>(
        q,
        sql`SELECT item_id FROM newsfeed_shown_items WHERE tenant_id = ${tenantId} AND user_id = ${userId}
        AND shown_at >= ${from} AND shown_at < ${before} ORDER BY shown_at DESC LIMIT ${limit}`,
      );
      return rows.map((r) => r.item_id);
    },
    /** Records items as served now (one statement; the latest time per item wins). */
    async recordShown(q: Q, tenantId: string, userId: string, itemIds: readonly string[], now: Date): Promise<void> {
      if (itemIds.length === 0) return;
      await q.execute(
        sql`INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
        SELECT ${tenantId}, ${userId}, i, ${now} FROM unnest(${arrayParam([...new Set(itemIds)])}::text[]) AS x(i)
        ON CONFLICT (tenant_id, user_id, item_id) DO UPDATE SET shown_at = GREATEST(newsfeed_shown_items.shown_at, EXCLUDED.shown_at)`,
      );
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
