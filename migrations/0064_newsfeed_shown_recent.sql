-- Custom SQL (drizzle-kit generate --custom): a function, which the schema files cannot express.
-- The items the feed served a shopper in a window, newest first: the one part of the feed's prepared per-shopper
-- statement (newsfeed/preferences.repository.ts `shopperState`) over a table that starts empty and grows under load.
-- That statement runs as a named prepared statement on PostgreSQL, whose generic plan, once made, is kept until
-- the table's statistics change: made while newsfeed_shown_items was empty (or just ANALYZEd empty) it read the
-- table by sequential scan, every page, until the next ANALYZE (bench:newsfeed: 12,688 rows read per page).
-- Behind a function with a SET clause (never inlined) this query is planned anew on each call, against the table's
-- size then (PostgreSQL <= 17 plans a SQL function's body per calling statement; 18+ honours plan_cache_mode).
-- Runs as its caller: the tenant role's row-level security applies inside it.
CREATE FUNCTION newsfeed_shown_recent(p_tenant_id uuid, p_user_id text, p_from timestamptz, p_before timestamptz, p_limit integer)
RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
SET plan_cache_mode = force_custom_plan
AS $fn$
  SELECT json_agg(item_id ORDER BY shown_at DESC, item_id) FROM (
    SELECT item_id, shown_at FROM newsfeed_shown_items
     WHERE tenant_id = p_tenant_id AND user_id = p_user_id AND tstzrange(p_from, p_before) @> shown_at
     ORDER BY shown_at DESC, item_id LIMIT p_limit) s
$fn$;
