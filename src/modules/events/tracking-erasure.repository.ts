import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryRows } from '../../platform/index.ts';

/** Who an erasure is about, as the events module sees it (identity's ErasedPerson, structurally). */
export interface TrackedPerson {
  profileIds: readonly string[];
  userIds: readonly string[];
  anonymousIds: readonly string[];
}

/**
 * Erasure of seed 000's tracking rows (sessions, page views, funnel stages, cart events) of one person, in the
 * erasure's transaction. The rows stay for anonymous analytics (page counts, funnels, device mix, campaign
 * attribution) but nothing ties them to the person any more:
 * - user and anonymous ids, user agents, referrers and free-form metadata go; URLs lose their query and fragment
 *   (a query string can carry an e-mail or a token);
 * - each of the person's session ids is replaced by a fresh random one, the same in all four tables, so
 *   per-session figures (pages per session, bounce, funnel order) still add up but the client's id no longer
 *   finds them;
 * - client-supplied dedupe keys and page view ids are replaced by ones derived from the row id.
 * A session is the person's when it carries their user or anonymous id, or when one of their interactions or
 * tracking rows names it.
 */
export async function anonymizeTracking(q: Q, tenantId: string, who: TrackedPerson): Promise<number> {
  const users = arrayParam(who.userIds);
  const anons = arrayParam(who.anonymousIds);
  const profiles = arrayParam(who.profileIds);
  const sessions = await queryRows<{ sessionId: string }>(
    q,
    sql`SELECT session_id AS "sessionId" FROM tracking_sessions
          WHERE tenant_id = ${tenantId} AND (user_id = ANY(${users}::text[]) OR anonymous_id = ANY(${anons}::text[]))
        UNION SELECT session_id FROM interactions
          WHERE tenant_id = ${tenantId} AND session_id IS NOT NULL
            AND (profile_id = ANY(${profiles}::uuid[]) OR user_id = ANY(${users}::text[]) OR anonymous_id = ANY(${anons}::text[]))
        UNION SELECT session_id FROM page_views WHERE tenant_id = ${tenantId} AND user_id = ANY(${users}::text[])
        UNION SELECT session_id FROM funnel_events WHERE tenant_id = ${tenantId} AND user_id = ANY(${users}::text[])
        UNION SELECT session_id FROM cart_events WHERE tenant_id = ${tenantId} AND user_id = ANY(${users}::text[])`,
  );
  const old = sessions.map((s) => s.sessionId);
  const fresh = old.map(() => `erased:${newId()}`);
  const map = sql`unnest(${arrayParam(old)}::text[], ${arrayParam(fresh)}::text[]) AS m(old_id, new_id)`;
  const stripQuery = (col: ReturnType<typeof sql.raw>) => sql`regexp_replace(${col}, '[?#].*$', '')`;

  const touched = await queryRows<{ id: string }>(
    q,
    sql`UPDATE tracking_sessions s SET session_id = m.new_id, user_id = NULL, anonymous_id = NULL, user_agent = NULL, referrer = NULL,
          landing_url = ${stripQuery(sql.raw('s.landing_url'))}, exit_page_url = ${stripQuery(sql.raw('s.exit_page_url'))}, metadata = NULL,
          report_xid = pg_current_xact_id()
        FROM ${map} WHERE s.tenant_id = ${tenantId} AND s.session_id = m.old_id RETURNING s.id`,
  );
  await q.execute(
    sql`UPDATE page_views p SET session_id = m.new_id, page_view_id = 'erased:' || p.id::text, user_id = NULL, referrer = NULL, page_url = ${stripQuery(sql.raw('p.page_url'))},
          write_xid = pg_current_xact_id()
        FROM ${map} WHERE p.tenant_id = ${tenantId} AND p.session_id = m.old_id`,
  );
  await q.execute(
    // ingest_xid: analytics' funnel rollups see the renamed session as written now (and drop its old id's row).
    sql`UPDATE funnel_events f SET session_id = m.new_id, user_id = NULL, metadata = NULL, dedupe_key = 'erased:' || f.id::text,
          ingest_xid = pg_current_xact_id()
        FROM ${map} WHERE f.tenant_id = ${tenantId} AND f.session_id = m.old_id`,
  );
  await q.execute(
    sql`UPDATE cart_events c SET session_id = m.new_id, user_id = NULL, metadata = NULL, cart_item_id = NULL, dedupe_key = 'erased:' || c.id::text,
          ingest_xid = pg_current_xact_id()
        FROM ${map} WHERE c.tenant_id = ${tenantId} AND c.session_id = m.old_id`,
  );
  return touched.length;
}
