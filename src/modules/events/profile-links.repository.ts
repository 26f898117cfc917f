import { sql } from 'drizzle-orm';
import { arrayParam, queryRows } from '../../platform/index.ts';
import { anonymizeTracking } from './tracking-erasure.repository.ts';
import type { ProfileEventRow, ProfileEvents, SqlRunner } from '../identity/index.ts';

const EVENT_COLS = sql`id, type, item_id AS "itemId", source, order_id AS "orderId", value, quantity, price_minor::text AS "priceMinor", currency,
  user_id AS "userId", anonymous_id AS "anonymousId", session_id AS "sessionId", context, metadata, occurred_at AS "occurredAt"`;

/**
 * The interactions statements identity's merges, unmerges, erasure, Customer 360 and export need: events owns the
 * table, identity declares the port (`ProfileEvents`). Every statement filters on tenant_id and runs in the
 * caller's transaction.
 */
export function createProfileLinksRepository(): ProfileEvents {
  return {
    async moveProfiles(q: SqlRunner, tenantId: string, pairs: readonly { from: string; to: string }[]) {
      if (!pairs.length) return [];
      return queryRows<{ id: string; from: string }>(
        q,
        sql`UPDATE interactions i SET profile_id = m.to_id
            FROM unnest(${arrayParam(pairs.map((p) => p.from))}::uuid[], ${arrayParam(pairs.map((p) => p.to))}::uuid[]) m(from_id, to_id)
            WHERE i.tenant_id = ${tenantId} AND i.profile_id = m.from_id
            RETURNING i.id::text AS id, m.from_id::text AS "from"`,
      );
    },

    async takeBack(q, tenantId, u) {
      await q.execute(sql`UPDATE interactions SET profile_id = ${u.to}
        WHERE tenant_id = ${tenantId} AND profile_id = ${u.from}
          AND (id = ANY(${arrayParam(u.eventIds)}::uuid[])
               OR user_id = ANY(${arrayParam(u.userIds)}::text[])
               OR anonymous_id = ANY(${arrayParam(u.anonymousIds)}::text[]))`);
      const rows = await queryRows<{ orderId: string }>(
        q,
        sql`SELECT DISTINCT order_id AS "orderId" FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ${u.to} AND order_id IS NOT NULL`,
      );
      return rows.map((r) => r.orderId);
    },

    activityOf(q, tenantId, profileIds) {
      if (!profileIds.length) return Promise.resolve([]);
      return queryRows(
        q,
        sql`SELECT profile_id::text AS "profileId", count(*)::int AS n, min(occurred_at) AS "firstAt", max(occurred_at) AS "lastAt",
                   array_agg(DISTINCT source) AS sources
            FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
            GROUP BY profile_id`,
      );
    },

    async anonymize(q, tenantId, who) {
      // Tracking rows first: their sessions are found through the interactions' session ids, which go next.
      await anonymizeTracking(q, tenantId, who);
      const whose = sql`(profile_id = ANY(${arrayParam(who.profileIds)}::uuid[])
              OR user_id = ANY(${arrayParam(who.userIds)}::text[]) OR anonymous_id = ANY(${arrayParam(who.anonymousIds)}::text[]))`;
      // Their dedupe keys first (matched through the rows' keys, which the next statement blanks), as the rows' own:
      // a key may be a hash of the person's ids. A replay of an erased event is stored again, as before the key table.
      await q.execute(
        sql`UPDATE interaction_keys k SET dedupe_key = 'erased:' || k.id::text
            FROM interactions i
            WHERE k.tenant_id = ${tenantId} AND i.tenant_id = ${tenantId} AND k.dedupe_key = i.dedupe_key AND k.id = i.id AND ${whose}`,
      );
      const rows = await queryRows<{ id: string }>(
        q,
        sql`UPDATE interactions SET profile_id = NULL, user_id = NULL, anonymous_id = NULL, session_id = NULL, order_id = NULL, recommendation_id = NULL,
              context = NULL, metadata = NULL, dedupe_key = 'erased:' || id::text
            WHERE tenant_id = ${tenantId} AND ${whose}
            RETURNING id`,
      );
      return rows.length;
    },

    eventsOf(q, tenantId, profileIds, order, limit) {
      return queryRows<ProfileEventRow>(
        q,
        order === 'desc'
          ? sql`SELECT ${EVENT_COLS} FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
                ORDER BY occurred_at DESC, id DESC LIMIT ${limit}`
          : sql`SELECT ${EVENT_COLS} FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${arrayParam(profileIds)}::uuid[])
                ORDER BY occurred_at, id LIMIT ${limit}`,
      );
    },
  };
}
