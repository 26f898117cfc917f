import { type SQL, sql } from 'drizzle-orm';
import type { ProfileSort } from './identity.schemas.ts';
import { arrayParam, queryOne, queryRows, type Db } from '../../platform/index.ts';
import type { IdentifierMatch } from './identity.core.ts';
import type { ProfileEventRow, ProfileEvents } from './identity.types.ts';
import type { IdentifierWrite } from './resolution.core.ts';

/** Anything that runs SQL: the database or an open transaction. */
export type Q = Pick<Db, 'execute'>;

export interface ProfileRow {
  id: string;
  status: string;
  mergedInto: string | null;
  traits: Record<string, unknown>;
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  totalOrders: number;
  revenueMinor: string;
  refundedMinor: string;
  currency: string | null;
  eventCount: number;
  channels: string[];
  profileStrength: number;
  createdAt: Date;
  updatedAt: Date;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface IdentifierRow {
  profileId: string;
  type: string;
  value: string;
  matchKey: string;
  originProfileId: string;
  confidence: number;
  channel: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface MergeRow {
  id: string;
  kind: string;
  survivorId: string;
  mergedId: string;
  rule: string;
  identifierType: string | null;
  identifierHash: string | null;
  eventRef: string | null;
  actor: string;
  revertsMergeId: string | null;
  movedEvents: number;
  createdAt: Date;
}

export interface ReviewRow {
  id: string;
  status: string;
  reason: string;
  profileIds: string[];
  eventRef: string | null;
  occurrences: number;
  decidedBy: string | null;
  decidedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type EventRow = ProfileEventRow;

/** Filters of the profile list, shared by a page and its count. */
export interface ProfileFilters {
  matchKey?: string;
  /** A search with no identifier type: any of these keys, this profile id, or a name containing this text. */
  anyOf?: { matchKeys: readonly string[]; profileId?: string | undefined; nameContains?: string | undefined };
  minStrength?: number;
  channel?: string;
  minOrders?: number;
  seenSince?: Date;
}

/** A page of profiles: keyset (`cursor`, newest first) or offset with a whitelisted sort. */
export interface ProfilePage {
  cursor?: string;
  sort?: ProfileSort;
  offset?: number;
  limit: number;
}

/** One fixed ordering per sort key (never built from input); ties fall back to the id so offset pages are stable. */
const PROFILE_ORDER_BY: Record<ProfileSort, SQL> = {
  last_seen_at: sql`last_seen_at ASC NULLS FIRST, id DESC`,
  '-last_seen_at': sql`last_seen_at DESC NULLS LAST, id DESC`,
  first_seen_at: sql`first_seen_at ASC NULLS FIRST, id DESC`,
  '-first_seen_at': sql`first_seen_at DESC NULLS LAST, id DESC`,
  total_orders: sql`total_orders ASC, id DESC`,
  '-total_orders': sql`total_orders DESC, id DESC`,
  lifetime_value: sql`revenue_minor ASC, id DESC`,
  '-lifetime_value': sql`revenue_minor DESC, id DESC`,
  profile_strength: sql`profile_strength ASC, id DESC`,
  '-profile_strength': sql`profile_strength DESC, id DESC`,
};

function profileWhere(tenantId: string, f: ProfileFilters): SQL {
  return sql`tenant_id = ${tenantId} AND status = 'active'
    ${f.matchKey !== undefined ? sql`AND id IN (SELECT profile_id FROM profile_identifiers WHERE tenant_id = ${tenantId} AND match_key = ${f.matchKey})` : sql``}
    ${
      f.anyOf
        ? sql`AND (id IN (SELECT profile_id FROM profile_identifiers WHERE tenant_id = ${tenantId} AND match_key = ANY(${arrayParam(f.anyOf.matchKeys)}::text[]))
        ${f.anyOf.profileId ? sql`OR id = ${f.anyOf.profileId}::uuid` : sql``}
        ${f.anyOf.nameContains ? sql`OR lower(traits->>'name') LIKE ${`%${escapeLike(f.anyOf.nameContains.toLowerCase())}%`} ESCAPE '\\'` : sql``})`
        : sql``
    }
    ${f.minStrength !== undefined ? sql`AND profile_strength >= ${f.minStrength}` : sql``}
    ${f.channel !== undefined ? sql`AND ${f.channel} = ANY(channels)` : sql``}
    ${f.minOrders !== undefined ? sql`AND total_orders >= ${f.minOrders}` : sql``}
    ${f.seenSince !== undefined ? sql`AND last_seen_at >= ${f.seenSince.toISOString()}::timestamptz` : sql``}`;
}

const PROFILE_COLS = sql`id, status, merged_into AS "mergedInto", traits, first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt",
  total_orders AS "totalOrders", revenue_minor::text AS "revenueMinor", refunded_minor::text AS "refundedMinor", currency,
  event_count AS "eventCount", channels, profile_strength AS "profileStrength", created_at AS "createdAt", updated_at AS "updatedAt"`;
const IDENT_COLS = sql`profile_id AS "profileId", type, value, match_key AS "matchKey", origin_profile_id AS "originProfileId",
  confidence, channel, first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt"`;
const MERGE_COLS = sql`id, kind, survivor_id AS "survivorId", merged_id AS "mergedId", rule, identifier_type AS "identifierType",
  identifier_hash AS "identifierHash", event_ref AS "eventRef", actor, reverts_merge_id AS "revertsMergeId",
  cardinality(moved_event_ids)::int AS "movedEvents", created_at AS "createdAt"`;
const REVIEW_COLS = sql`id, status, reason, profile_ids::text[] AS "profileIds", event_ref AS "eventRef", occurrences, decided_by AS "decidedBy",
  decided_at AS "decidedAt", created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface IdentityRepositoryHooks {
  /**
   * Profiles whose orders, status or merge chain change (orders written or replaced, merges, unmerges, erasure),
   * called before the surrounding transaction commits: a listener drops what it cached and reads again later.
   */
  profilesChanged?: (tenantId: string, profileIds: readonly string[]) => void;
}

/**
 * All SQL of the identity module; every statement filters on tenant_id. The `interactions` rows of a person
 * (owned by the events module) are re-linked, read and anonymized through `events`, the port events implements.
 */
export function createIdentityRepository(events: ProfileEvents, hooks: IdentityRepositoryHooks = {}) {
  /** Announces profiles whose orders or status change (inside the caller's transaction: listeners only drop caches). */
  const changed = (tenantId: string, ids: readonly string[]) => {
    if (!hooks.profilesChanged || !ids.length) return;
    try {
      hooks.profilesChanged(tenantId, ids);
    } catch {
      // a cache listener must never fail a write
    }
  };
  return {
    async getSettings(q: Q, tenantId: string): Promise<Record<string, unknown> | undefined> {
      const row = await queryOne<{ settings: Record<string, unknown> }>(
        q,
        sql`SELECT settings FROM identity_settings WHERE tenant_id = ${tenantId}`,
      );
      return row?.settings;
    },
    async putSettings(q: Q, tenantId: string, settings: Record<string, unknown>): Promise<void> {
      await q.execute(sql`INSERT INTO identity_settings (tenant_id, settings, updated_at) VALUES (${tenantId}, ${JSON.stringify(settings)}::jsonb, now())
        ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = now()`);
    },

    /** Identifiers sharing a blocking key with the given ones (they are only ever held by active profiles). */
    identifiersByMatchKeys(q: Q, tenantId: string, keys: readonly string[]): Promise<IdentifierMatch[]> {
      if (!keys.length) return Promise.resolve([]);
      return queryRows<IdentifierMatch>(
        q,
        sql`SELECT profile_id AS "profileId", type, value, match_key AS "matchKey", confidence
            FROM profile_identifiers WHERE tenant_id = ${tenantId} AND match_key = ANY(${arrayParam(keys)}::text[])`,
      );
    },

    /** Transaction-scoped advisory locks on the blocking keys, in a fixed order (no deadlock between resolvers). */
    async lockKeys(q: Q, tenantId: string, keys: readonly string[]): Promise<void> {
      if (!keys.length) return;
      await queryRows(
        q,
        sql`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT DISTINCT ${tenantId}::text || '|' || x AS k FROM unnest(${arrayParam(keys)}::text[]) x ORDER BY 1) s`,
      );
    },

    /**
     * Locks the profiles and returns their state. Every writer of profile rows in bulk locks them this way first, in
     * id order, so concurrent batches wait for each other instead of deadlocking.
     */
    lockProfiles(
      q: Q,
      tenantId: string,
      ids: readonly string[],
    ): Promise<{ id: string; status: string; totalOrders: number; eventCount: number; channels: string[]; profileStrength: number }[]> {
      if (!ids.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT id, status, total_orders AS "totalOrders", event_count AS "eventCount", channels, profile_strength AS "profileStrength"
            FROM profiles WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(ids)}::uuid[]) ORDER BY id FOR UPDATE`,
      );
    },

    /** Per profile: identifier counts per type and its user ids (the planner's view). */
    candidateStats(
      q: Q,
      tenantId: string,
      ids: readonly string[],
    ): Promise<{ profileId: string; type: string; n: number; userIds: string[] | null }[]> {
      if (!ids.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT profile_id AS "profileId", type, count(*)::int AS n, array_agg(value ORDER BY value) FILTER (WHERE type = 'user_id') AS "userIds"
            FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(ids)}::uuid[]) GROUP BY profile_id, type`,
      );
    },

    async createProfiles(
      q: Q,
      tenantId: string,
      rows: readonly { id: string; traits: Record<string, unknown>; at: Date; channel: string; strength: number }[],
    ): Promise<void> {
      if (!rows.length) return;
      await queryRows(
        q,
        sql`INSERT INTO profiles (tenant_id, id, traits, first_seen_at, last_seen_at, channels, profile_strength)
            SELECT ${tenantId}::uuid, t.id, t.traits, t.at, t.at, ARRAY[t.channel], t.strength
            FROM unnest(${arrayParam(rows.map((r) => r.id))}::uuid[], ${arrayParam(rows.map((r) => JSON.stringify(r.traits)))}::jsonb[],
                        ${arrayParam(rows.map((r) => r.at.toISOString()))}::timestamptz[], ${arrayParam(rows.map((r) => r.channel))}::text[],
                        ${arrayParam(rows.map((r) => r.strength))}::int[]) AS t(id, traits, at, channel, strength)`,
      );
    },

    /** Merges each patch into its profile's traits (the patch's keys win). */
    async patchTraits(q: Q, tenantId: string, rows: readonly { profileId: string; traits: Record<string, unknown> }[]): Promise<void> {
      if (!rows.length) return;
      await queryRows(
        q,
        sql`UPDATE profiles p SET traits = p.traits || t.patch, updated_at = now()
            FROM unnest(${arrayParam(rows.map((r) => r.profileId))}::uuid[], ${arrayParam(rows.map((r) => JSON.stringify(r.traits)))}::jsonb[]) AS t(id, patch)
            WHERE p.tenant_id = ${tenantId} AND p.id = t.id`,
      );
    },

    /**
     * Inserts identifiers (unique on type and value in one call). ON CONFLICT: an identifier already held (by this or
     * any profile) only gets its last_seen_at raised, it is never moved: the unique index is the last line against
     * duplicates under races.
     */
    async upsertIdentifiers(q: Q, tenantId: string, rows: readonly IdentifierWrite[]): Promise<void> {
      if (!rows.length) return;
      const col = <T>(f: (r: IdentifierWrite) => T) => arrayParam(rows.map(f));
      await queryRows(
        q,
        sql`INSERT INTO profile_identifiers (tenant_id, type, value, match_key, profile_id, origin_profile_id, confidence, channel, first_seen_at, last_seen_at)
            SELECT ${tenantId}::uuid, t.* FROM unnest(${col((r) => r.type)}::text[], ${col((r) => r.value)}::text[], ${col((r) => r.matchKey)}::text[],
              ${col((r) => r.profileId)}::uuid[], ${col((r) => r.originProfileId)}::uuid[], ${col((r) => r.confidence)}::real[], ${col((r) => r.channel)}::text[],
              ${col((r) => r.firstSeenAt.toISOString())}::timestamptz[], ${col((r) => r.lastSeenAt.toISOString())}::timestamptz[]) AS t
            ON CONFLICT (tenant_id, type, value) DO UPDATE SET last_seen_at = greatest(profile_identifiers.last_seen_at, excluded.last_seen_at)`,
      );
    },

    /**
     * Merges each `mergedId` into its `survivorId`; no profile may appear twice in one call (see mergeRounds), so the
     * sub-statements touch disjoint rows. Moves identifiers, orders and interactions, combines first/last seen,
     * channels, event counts and traits (the survivor's traits win), marks the merged profiles, and logs each merge
     * with the events it moved. Returns the survivors that received orders (their order aggregates are stale).
     */
    async mergeMany(
      q: Q,
      tenantId: string,
      rows: readonly {
        id: string;
        survivorId: string;
        mergedId: string;
        rule: string;
        identifierType: string | null;
        identifierHash: string | null;
        eventRef: string | null;
        actor: string;
      }[],
    ): Promise<string[]> {
      if (!rows.length) return [];
      changed(tenantId, [...rows.map((r) => r.survivorId), ...rows.map((r) => r.mergedId)]);
      const col = <T>(f: (r: (typeof rows)[number]) => T) => arrayParam(rows.map(f));
      const moved = new Map<string, string[]>();
      for (const e of await events.moveProfiles(
        q,
        tenantId,
        rows.map((r) => ({ from: r.mergedId, to: r.survivorId })),
      ))
        moved.set(e.from, [...(moved.get(e.from) ?? []), e.id]);
      const withOrders = await queryRows<{ survivorId: string }>(
        q,
        sql`WITH m AS (
              SELECT * FROM unnest(${col((r) => r.id)}::uuid[], ${col((r) => r.survivorId)}::uuid[], ${col((r) => r.mergedId)}::uuid[], ${col((r) => r.rule)}::text[],
                                   ${col((r) => r.identifierType)}::text[], ${col((r) => r.identifierHash)}::text[], ${col((r) => r.eventRef)}::text[], ${col((r) => r.actor)}::text[],
                                   ${col((r) => (moved.get(r.mergedId) ?? []).join(','))}::text[])
                AS m(id, survivor_id, merged_id, rule, identifier_type, identifier_hash, event_ref, actor, moved)),
            identifiers AS (UPDATE profile_identifiers i SET profile_id = m.survivor_id FROM m WHERE i.tenant_id = ${tenantId} AND i.profile_id = m.merged_id),
            orders AS (UPDATE profile_orders o SET profile_id = m.survivor_id FROM m WHERE o.tenant_id = ${tenantId} AND o.profile_id = m.merged_id RETURNING m.survivor_id),
            survivors AS (
              UPDATE profiles s SET
                first_seen_at = least(s.first_seen_at, a.first_seen_at), last_seen_at = greatest(s.last_seen_at, a.last_seen_at),
                event_count = s.event_count + a.event_count,
                channels = ARRAY(SELECT DISTINCT c FROM unnest(s.channels || a.channels) c ORDER BY c),
                traits = a.traits || s.traits, updated_at = now()
              FROM m JOIN profiles a ON a.tenant_id = ${tenantId} AND a.id = m.merged_id
              WHERE s.tenant_id = ${tenantId} AND s.id = m.survivor_id),
            retired AS (UPDATE profiles p SET status = 'merged', merged_into = m.survivor_id, updated_at = now() FROM m WHERE p.tenant_id = ${tenantId} AND p.id = m.merged_id),
            logged AS (
              INSERT INTO profile_merges (tenant_id, id, kind, survivor_id, merged_id, rule, identifier_type, identifier_hash, event_ref, actor, moved_event_ids)
              SELECT ${tenantId}::uuid, m.id, 'merge', m.survivor_id, m.merged_id, m.rule, m.identifier_type, m.identifier_hash, m.event_ref, m.actor,
                     string_to_array(m.moved, ',')::uuid[]
              FROM m)
            SELECT DISTINCT survivor_id::text AS "survivorId" FROM orders`,
      );
      return withOrders.map((r) => r.survivorId);
    },

    /** Opens (or counts again) review cases, unique on case key in one call; a decided case is not reopened. */
    async upsertReviews(
      q: Q,
      tenantId: string,
      rows: readonly { id: string; caseKey: string; reason: string; profileIds: string[]; eventRef: string | null; occurrences: number }[],
    ): Promise<void> {
      if (!rows.length) return;
      const col = <T>(f: (r: (typeof rows)[number]) => T) => arrayParam(rows.map(f));
      await queryRows(
        q,
        sql`INSERT INTO profile_review_queue (tenant_id, id, case_key, reason, profile_ids, event_ref, occurrences)
            SELECT ${tenantId}::uuid, r.id, r.case_key, r.reason, string_to_array(r.profile_ids, ',')::uuid[], r.event_ref, r.n
            FROM unnest(${col((r) => r.id)}::uuid[], ${col((r) => r.caseKey)}::text[], ${col((r) => r.reason)}::text[], ${col((r) => r.profileIds.join(','))}::text[],
                        ${col((r) => r.eventRef)}::text[], ${col((r) => r.occurrences)}::int[]) AS r(id, case_key, reason, profile_ids, event_ref, n)
            ON CONFLICT (tenant_id, case_key) DO UPDATE SET occurrences = profile_review_queue.occurrences + excluded.occurrences, updated_at = now()`,
      );
    },

    getProfile(q: Q, tenantId: string, id: string): Promise<ProfileRow | undefined> {
      return queryOne<ProfileRow>(q, sql`SELECT ${PROFILE_COLS} FROM profiles WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /** Follows merged_into to the active survivor (bounded depth). */
    async resolveSurvivor(q: Q, tenantId: string, id: string): Promise<ProfileRow | undefined> {
      let cur = await this.getProfile(q, tenantId, id);
      for (let depth = 0; cur && cur.status === 'merged' && cur.mergedInto && depth < 50; depth++)
        cur = await this.getProfile(q, tenantId, cur.mergedInto);
      return cur;
    },

    /** Maps profile ids to their active survivors (for activity recorded against a merged-away id); erased and unknown ids are absent. */
    async survivorsOf(q: Q, tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
      if (!ids.length) return new Map();
      // A chain only continues past merged profiles, so its one active row (if any) is its end.
      const rows = await queryRows<{ id: string; survivor: string }>(
        q,
        sql`WITH RECURSIVE chain(start, id, status, next, depth) AS (
              SELECT p.id, p.id, p.status, p.merged_into, 0 FROM profiles p WHERE p.tenant_id = ${tenantId} AND p.id = ANY(${arrayParam(ids)}::uuid[])
              UNION ALL
              SELECT c.start, p.id, p.status, p.merged_into, c.depth + 1 FROM chain c JOIN profiles p ON p.tenant_id = ${tenantId} AND p.id = c.next
              WHERE c.status = 'merged' AND c.depth < 50)
            SELECT start::text AS id, id::text AS survivor FROM chain WHERE status = 'active'`,
      );
      return new Map(rows.map((r) => [r.id, r.survivor]));
    },

    /** A profile and every profile merged into it, directly or through a chain (not unmerged). */
    async family(q: Q, tenantId: string, id: string): Promise<string[]> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`WITH RECURSIVE f(id, depth) AS (SELECT ${id}::uuid, 0 UNION ALL
              SELECT p.id, f.depth + 1 FROM profiles p JOIN f ON p.tenant_id = ${tenantId} AND p.merged_into = f.id AND p.status IN ('merged', 'erased') WHERE f.depth < 50)
            SELECT DISTINCT id::text AS id FROM f`,
      );
      return rows.map((r) => r.id);
    },

    identifiersOf(q: Q, tenantId: string, profileIds: readonly string[]): Promise<IdentifierRow[]> {
      if (!profileIds.length) return Promise.resolve([]);
      return queryRows<IdentifierRow>(
        q,
        sql`SELECT ${IDENT_COLS} FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
            ORDER BY confidence DESC, first_seen_at, type, value`,
      );
    },

    /** Active profiles, newest first or by a whitelisted sort, optionally restricted to those holding an identifier with a blocking key. */
    listProfiles(q: Q, tenantId: string, f: ProfileFilters & ProfilePage): Promise<ProfileRow[]> {
      const order = f.sort ? PROFILE_ORDER_BY[f.sort] : sql`id DESC`;
      return queryRows<ProfileRow>(
        q,
        sql`SELECT ${PROFILE_COLS} FROM profiles WHERE ${profileWhere(tenantId, f)}
            ${f.cursor !== undefined ? sql`AND id < ${f.cursor}::uuid` : sql``}
            ORDER BY ${order} LIMIT ${f.limit + 1} OFFSET ${f.offset ?? 0}`,
      );
    },

    /** How many active profiles match the filters (a paged table's total). */
    countProfiles: async (q: Q, tenantId: string, f: ProfileFilters): Promise<number> =>
      (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM profiles WHERE ${profileWhere(tenantId, f)}`))?.n ?? 0,

    mergesOf(q: Q, tenantId: string, profileIds: readonly string[], limit = 200): Promise<MergeRow[]> {
      return queryRows<MergeRow>(
        q,
        sql`SELECT ${MERGE_COLS} FROM profile_merges WHERE tenant_id = ${tenantId}
              AND (survivor_id = ANY(${arrayParam(profileIds)}::uuid[]) OR merged_id = ANY(${arrayParam(profileIds)}::uuid[]))
            ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
      );
    },

    /** The latest merge of `mergedId` that no unmerge has reverted. */
    activeMergeOf(q: Q, tenantId: string, mergedId: string): Promise<(MergeRow & { movedEventIds: string[] }) | undefined> {
      return queryOne(
        q,
        sql`SELECT ${MERGE_COLS}, moved_event_ids::text[] AS "movedEventIds" FROM profile_merges m WHERE tenant_id = ${tenantId} AND kind = 'merge' AND merged_id = ${mergedId}
              AND NOT EXISTS (SELECT 1 FROM profile_merges u WHERE u.tenant_id = ${tenantId} AND u.reverts_merge_id = m.id)
            ORDER BY created_at DESC, id DESC LIMIT 1`,
      );
    },
    getMerge(q: Q, tenantId: string, id: string): Promise<MergeRow | undefined> {
      return queryOne(q, sql`SELECT ${MERGE_COLS} FROM profile_merges WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /**
     * Splits a merge: the merged profile (and profiles merged into it before) becomes active again and takes back
     * its identifiers (by origin), the events the merge moved, later events carrying its user or anonymous ids,
     * and the orders of those events.
     */
    async unmerge(
      q: Q,
      tenantId: string,
      u: { id: string; merge: MergeRow & { movedEventIds: string[] }; holderId: string; familyIds: string[]; actor: string },
    ): Promise<void> {
      const a = u.merge.mergedId;
      changed(tenantId, [a, u.holderId, ...u.familyIds]);
      await q.execute(
        sql`UPDATE profiles SET status = 'active', merged_into = NULL, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${a}`,
      );
      await q.execute(sql`UPDATE profile_identifiers SET profile_id = ${a}
        WHERE tenant_id = ${tenantId} AND profile_id = ${u.holderId} AND origin_profile_id = ANY(${arrayParam(u.familyIds)}::uuid[])`);
      const ids = await queryRows<{ type: string; value: string }>(
        q,
        sql`SELECT type, value FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = ${a} AND type IN ('user_id', 'anonymous_id')`,
      );
      const orderIds = await events.takeBack(q, tenantId, {
        from: u.holderId,
        to: a,
        eventIds: u.merge.movedEventIds,
        userIds: ids.filter((i) => i.type === 'user_id').map((i) => i.value),
        anonymousIds: ids.filter((i) => i.type === 'anonymous_id').map((i) => i.value),
      });
      await q.execute(sql`UPDATE profile_orders SET profile_id = ${a}
        WHERE tenant_id = ${tenantId} AND profile_id = ${u.holderId} AND order_id = ANY(${arrayParam(orderIds)}::text[])`);
      await q.execute(sql`INSERT INTO profile_merges (tenant_id, id, kind, survivor_id, merged_id, rule, identifier_type, identifier_hash, event_ref, actor, reverts_merge_id)
        VALUES (${tenantId}, ${u.id}, 'unmerge', ${u.holderId}, ${a}, 'manual:unmerge', ${u.merge.identifierType}, ${u.merge.identifierHash}, NULL, ${u.actor}, ${u.merge.id})`);
    },

    /** Rebuilds first/last seen, event count and channels of profiles from their events and identifiers. */
    async recomputeActivity(q: Q, tenantId: string, ids: readonly string[]): Promise<void> {
      const byId = new Map((await events.activityOf(q, tenantId, ids)).map((a) => [a.profileId, a]));
      const ev = ids.map((id) => byId.get(id));
      await q.execute(sql`UPDATE profiles p SET
            event_count = coalesce(e.n, 0),
            first_seen_at = coalesce(least(e.first_at, i.first_at), p.first_seen_at),
            last_seen_at = coalesce(greatest(e.last_at, i.last_at), p.last_seen_at),
            channels = ARRAY(SELECT DISTINCT c FROM unnest(coalesce(string_to_array(e.ch, ','), '{}'::text[]) || coalesce(i.ch, '{}'::text[])) c WHERE c IS NOT NULL ORDER BY c),
            updated_at = now()
          FROM unnest(${arrayParam(ids)}::uuid[], ${arrayParam(ev.map((e) => e?.n ?? null))}::int[],
                      ${arrayParam(ev.map((e) => e?.firstAt.toISOString() ?? null))}::timestamptz[], ${arrayParam(ev.map((e) => e?.lastAt.toISOString() ?? null))}::timestamptz[],
                      ${arrayParam(ev.map((e) => e?.sources.join(',') ?? null))}::text[]) AS e(id, n, first_at, last_at, ch)
          LEFT JOIN LATERAL (SELECT min(first_seen_at) first_at, max(last_seen_at) last_at, array_agg(DISTINCT channel) ch
                             FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = e.id) i ON true
          WHERE p.tenant_id = ${tenantId} AND p.id = e.id`);
    },

    /** Profile ids of the tenant after `after` in id order (active and merged; erased ones carry no activity), for paging. */
    profileIdsAfter: async (q: Q, tenantId: string, after: string | null, limit: number): Promise<string[]> =>
      (
        await queryRows<{ id: string }>(
          q,
          sql`SELECT id::text AS id FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active' ${after ? sql`AND id > ${after}::uuid` : sql``}
              ORDER BY id LIMIT ${limit}`,
        )
      ).map((r) => r.id),

    /**
     * Sets event count, first/last seen and channels of `ids` from the given facts (profiles without facts get 0
     * events), combined with their identifiers' first/last seen and channels, as recomputeActivity does.
     */
    async setActivity(
      q: Q,
      tenantId: string,
      ids: readonly string[],
      facts: readonly { profileId: string; eventCount: number; firstAt: Date | null; lastAt: Date | null; channels: string[] }[],
    ): Promise<void> {
      if (!ids.length) return;
      await q.execute(sql`UPDATE profiles p SET
            event_count = coalesce(e.n, 0),
            first_seen_at = coalesce(least(e.first_at, i.first_at), p.first_seen_at),
            last_seen_at = coalesce(greatest(e.last_at, i.last_at), p.last_seen_at),
            channels = ARRAY(SELECT DISTINCT c FROM unnest(coalesce(string_to_array(e.ch, ','), '{}'::text[]) || coalesce(i.ch, '{}'::text[])) c
                             WHERE c IS NOT NULL AND c <> '' ORDER BY c),
            updated_at = now()
          FROM unnest(${arrayParam(ids)}::uuid[]) x(id)
          LEFT JOIN unnest(${arrayParam(facts.map((f) => f.profileId))}::uuid[], ${arrayParam(facts.map((f) => f.eventCount))}::int[],
                           ${arrayParam(facts.map((f) => f.firstAt?.toISOString() ?? null))}::timestamptz[],
                           ${arrayParam(facts.map((f) => f.lastAt?.toISOString() ?? null))}::timestamptz[],
                           ${arrayParam(facts.map((f) => f.channels.map((c) => c.replace(/,/g, ' ')).join(',')))}::text[]) AS e(id, n, first_at, last_at, ch)
            ON e.id = x.id
          LEFT JOIN LATERAL (SELECT min(first_seen_at) first_at, max(last_seen_at) last_at, array_agg(DISTINCT channel) ch
                             FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = x.id) i ON true
          WHERE p.tenant_id = ${tenantId} AND p.id = x.id`);
    },

    /** Replaces the recorded orders of `ids` with `orders` (reconciliation); order aggregates follow with recomputeOrders. */
    async replaceOrders(
      q: Q,
      tenantId: string,
      ids: readonly string[],
      orders: { orderId: string; profileId: string; revenueMinor: bigint; refundedMinor: bigint; currency: string | null; at: Date }[],
    ): Promise<void> {
      if (!ids.length) return;
      changed(tenantId, ids);
      await q.execute(sql`DELETE FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(ids)}::uuid[])`);
      await this.upsertOrders(q, tenantId, orders);
    },

    /** Adds a batch of activity (per profile: count, first/last time, channels, and the new strength when known) to the profiles. */
    async addActivity(
      q: Q,
      tenantId: string,
      rows: { profileId: string; n: number; firstAt: Date; lastAt: Date; channels: string[]; strength: number | null }[],
    ): Promise<void> {
      if (!rows.length) return;
      await queryRows(
        q,
        sql`UPDATE profiles p SET
            event_count = p.event_count + a.n, profile_strength = coalesce(a.strength, p.profile_strength),
            first_seen_at = least(p.first_seen_at, a.first_at), last_seen_at = greatest(p.last_seen_at, a.last_at),
            channels = CASE WHEN string_to_array(a.ch, ',') <@ p.channels THEN p.channels
                            ELSE ARRAY(SELECT DISTINCT c FROM unnest(p.channels || string_to_array(a.ch, ',')) c ORDER BY c) END,
            updated_at = now()
          FROM unnest(${arrayParam(rows.map((r) => r.profileId))}::uuid[], ${arrayParam(rows.map((r) => r.n))}::int[],
                      ${arrayParam(rows.map((r) => r.firstAt.toISOString()))}::timestamptz[], ${arrayParam(rows.map((r) => r.lastAt.toISOString()))}::timestamptz[],
                      ${arrayParam(rows.map((r) => r.channels.join(',')))}::text[], ${arrayParam(rows.map((r) => r.strength))}::int[]) AS a(id, n, first_at, last_at, ch, strength)
          WHERE p.tenant_id = ${tenantId} AND p.id = a.id`,
      );
    },

    /**
     * Records purchases and refunds per order id: line items of one order add up into one order; refunds add up.
     * Not idempotent by itself: callers send each stored interaction once.
     */
    async upsertOrders(
      q: Q,
      tenantId: string,
      rows: { orderId: string; profileId: string; revenueMinor: bigint; refundedMinor: bigint; currency: string | null; at: Date }[],
    ): Promise<void> {
      if (!rows.length) return;
      changed(tenantId, [...new Set(rows.map((r) => r.profileId))]);
      await queryRows(
        q,
        sql`INSERT INTO profile_orders (tenant_id, order_id, profile_id, revenue_minor, refunded_minor, currency, occurred_at)
        SELECT ${tenantId}::uuid, t.* FROM unnest(${arrayParam(rows.map((r) => r.orderId))}::text[], ${arrayParam(rows.map((r) => r.profileId))}::uuid[],
          ${arrayParam(rows.map((r) => r.revenueMinor.toString()))}::bigint[], ${arrayParam(rows.map((r) => r.refundedMinor.toString()))}::bigint[],
          ${arrayParam(rows.map((r) => r.currency))}::text[], ${arrayParam(rows.map((r) => r.at.toISOString()))}::timestamptz[]) AS t
        ON CONFLICT (tenant_id, order_id) DO UPDATE SET
          revenue_minor = profile_orders.revenue_minor + excluded.revenue_minor,
          refunded_minor = profile_orders.refunded_minor + excluded.refunded_minor,
          currency = coalesce(profile_orders.currency, excluded.currency)`,
      );
    },

    /** Rebuilds order aggregates from profile_orders: orders with revenue, net revenue in the main currency. Returns the new order counts. */
    async recomputeOrders(q: Q, tenantId: string, ids: readonly string[]): Promise<{ id: string; totalOrders: number }[]> {
      if (!ids.length) return [];
      return queryRows(
        q,
        sql`WITH o AS (
            SELECT profile_id, currency, count(*) FILTER (WHERE revenue_minor > 0) AS n, sum(revenue_minor) AS rev, sum(refunded_minor) AS ref
            FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(ids)}::uuid[]) GROUP BY profile_id, currency),
          tot AS (SELECT profile_id, sum(n)::int AS n FROM o GROUP BY profile_id),
          main AS (SELECT DISTINCT ON (profile_id) profile_id, currency, rev, ref FROM o ORDER BY profile_id, rev DESC, currency)
          UPDATE profiles p SET total_orders = coalesce(tot.n, 0),
            revenue_minor = greatest(0, coalesce(main.rev, 0) - coalesce(main.ref, 0)), refunded_minor = coalesce(main.ref, 0),
            currency = coalesce(main.currency, p.currency), updated_at = now()
          FROM unnest(${arrayParam(ids)}::uuid[]) x(id) LEFT JOIN tot ON tot.profile_id = x.id LEFT JOIN main ON main.profile_id = x.id
          WHERE p.tenant_id = ${tenantId} AND p.id = x.id
          RETURNING p.id, p.total_orders AS "totalOrders"`,
      );
    },

    /** What profile_strength needs: per profile its aggregates and best confidence per identifier type. */
    strengthInputs(q: Q, tenantId: string, ids: readonly string[]) {
      return queryRows<{
        id: string;
        totalOrders: number;
        eventCount: number;
        channelCount: number;
        idents: { type: string; confidence: number }[] | null;
      }>(
        q,
        sql`SELECT p.id::text AS id, p.total_orders AS "totalOrders", p.event_count AS "eventCount", cardinality(p.channels)::int AS "channelCount",
                   (SELECT json_agg(json_build_object('type', i.type, 'confidence', i.confidence)) FROM profile_identifiers i
                     WHERE i.tenant_id = ${tenantId} AND i.profile_id = p.id) AS idents
            FROM profiles p WHERE p.tenant_id = ${tenantId} AND p.id = ANY(${arrayParam(ids)}::uuid[])`,
      );
    },
    async setStrength(q: Q, tenantId: string, rows: { id: string; strength: number }[]): Promise<void> {
      if (!rows.length) return;
      await queryRows(
        q,
        sql`UPDATE profiles p SET profile_strength = s.v FROM unnest(${arrayParam(rows.map((r) => r.id))}::uuid[], ${arrayParam(rows.map((r) => r.strength))}::int[]) s(id, v)
        WHERE p.tenant_id = ${tenantId} AND p.id = s.id AND p.profile_strength IS DISTINCT FROM s.v`,
      );
    },

    /** Interactions re-linked from merged-away ids to their survivors (events stored while a merge ran). */
    async relinkInteractions(q: Q, tenantId: string, pairs: { from: string; to: string }[]): Promise<void> {
      await events.moveProfiles(q, tenantId, pairs);
    },

    recentEvents(q: Q, tenantId: string, profileIds: readonly string[], limit: number): Promise<EventRow[]> {
      return events.eventsOf(q, tenantId, profileIds, 'desc', limit);
    },

    ordersOf(q: Q, tenantId: string, profileIds: readonly string[]) {
      return queryRows<{ orderId: string; revenueMinor: string; refundedMinor: string; currency: string | null; occurredAt: Date }>(
        q,
        sql`SELECT order_id AS "orderId", revenue_minor::text AS "revenueMinor", refunded_minor::text AS "refundedMinor", currency, occurred_at AS "occurredAt"
            FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[]) ORDER BY occurred_at, order_id`,
      );
    },

    /**
     * A page of the profiles' orders, newest first, after the (occurred_at, order_id) keyset `after`; `limit + 1`
     * rows so the caller knows whether there are more. Index: profile_orders (tenant_id, profile_id, ...).
     */
    ordersPage(q: Q, tenantId: string, profileIds: readonly string[], limit: number, after: { at: string; orderId: string } | null) {
      return queryRows<{
        orderId: string;
        revenueMinor: string;
        refundedMinor: string;
        currency: string | null;
        occurredAt: Date;
        at: string;
      }>(
        q,
        sql`SELECT order_id AS "orderId", revenue_minor::text AS "revenueMinor", refunded_minor::text AS "refundedMinor", currency,
                   occurred_at AS "occurredAt", occurred_at::text AS at
            FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
              ${after ? sql`AND (occurred_at, order_id) < (${after.at}::timestamptz, ${after.orderId})` : sql``}
            ORDER BY occurred_at DESC, order_id DESC LIMIT ${limit + 1}`,
      );
    },

    /** The profiles' orders summed per currency: count, revenue and refunds (minor units as text). */
    orderTotals(q: Q, tenantId: string, profileIds: readonly string[]) {
      return queryRows<{ currency: string | null; orders: number; revenueMinor: string; refundedMinor: string }>(
        q,
        sql`SELECT currency, count(*)::int AS orders, sum(revenue_minor)::text AS "revenueMinor", sum(refunded_minor)::text AS "refundedMinor"
            FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
            GROUP BY currency ORDER BY count(*) DESC, currency`,
      );
    },

    reviewsOf(q: Q, tenantId: string, profileIds: readonly string[]): Promise<ReviewRow[]> {
      return queryRows<ReviewRow>(
        q,
        sql`SELECT ${REVIEW_COLS} FROM profile_review_queue WHERE tenant_id = ${tenantId} AND profile_ids && ${arrayParam(profileIds)}::uuid[] ORDER BY id DESC LIMIT 200`,
      );
    },

    listReviews(q: Q, tenantId: string, f: { status?: string; cursor?: string; limit: number }): Promise<ReviewRow[]> {
      return queryRows<ReviewRow>(
        q,
        sql`SELECT ${REVIEW_COLS} FROM profile_review_queue WHERE tenant_id = ${tenantId}
            ${f.status ? sql`AND status = ${f.status}` : sql``} ${f.cursor ? sql`AND id < ${f.cursor}::uuid` : sql``}
            ORDER BY id DESC LIMIT ${f.limit + 1}`,
      );
    },
    getReviewForUpdate(q: Q, tenantId: string, id: string): Promise<ReviewRow | undefined> {
      return queryOne<ReviewRow>(
        q,
        sql`SELECT ${REVIEW_COLS} FROM profile_review_queue WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE`,
      );
    },
    async decideReview(q: Q, tenantId: string, id: string, status: 'approved' | 'rejected', actor: string): Promise<void> {
      await q.execute(
        sql`UPDATE profile_review_queue SET status = ${status}, decided_by = ${actor}, decided_at = now(), updated_at = now() WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
    },

    /**
     * Erasure: anonymizes the person's interactions (their profile, user, anonymous, session and order ids and
     * free-form context go; item, type, amounts and time stay for anonymous aggregates), deletes identifiers and
     * orders, empties traits, drops identifier hashes from the merge log.
     */
    async erase(
      q: Q,
      tenantId: string,
      familyIds: string[],
      userIds: string[],
      anonymousIds: string[],
    ): Promise<{ events: number; identifiers: number }> {
      changed(tenantId, familyIds);
      const erasedEvents = await events.anonymize(q, tenantId, { profileIds: familyIds, userIds, anonymousIds });
      const ids = await queryRows<{ type: string }>(
        q,
        sql`DELETE FROM profile_identifiers WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(familyIds)}::uuid[]) RETURNING type`,
      );
      await q.execute(sql`DELETE FROM profile_orders WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(familyIds)}::uuid[])`);
      await q.execute(
        sql`UPDATE profiles SET status = 'erased', traits = '{}'::jsonb, updated_at = now() WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(familyIds)}::uuid[])`,
      );
      await q.execute(sql`UPDATE profile_merges SET identifier_hash = NULL, event_ref = NULL
        WHERE tenant_id = ${tenantId} AND (survivor_id = ANY(${arrayParam(familyIds)}::uuid[]) OR merged_id = ANY(${arrayParam(familyIds)}::uuid[]))`);
      return { events: erasedEvents, identifiers: ids.length };
    },

    allEvents(q: Q, tenantId: string, profileIds: readonly string[], limit: number): Promise<EventRow[]> {
      return events.eventsOf(q, tenantId, profileIds, 'asc', limit);
    },
  };
}
export type IdentityRepository = ReturnType<typeof createIdentityRepository>;
