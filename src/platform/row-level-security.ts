import { type SQL, sql } from 'drizzle-orm';

/**
 * Row-level security: the database's own guard behind every repository's `tenant_id` filter.
 *
 * Every table with a `tenant_id` column gets ONE policy, `loupe_tenant_isolation`, for the role `loupe_tenant`: a
 * row is visible, and may be inserted or updated into, only when its `tenant_id` is the transaction's
 * `loupe.tenant_id` setting (no setting: no row). `loupe_tenant` is a NOLOGIN role without BYPASSRLS that the
 * connecting role is a member of; a tenant unit of work (`inTenant`) switches to it for its transaction only
 * (`set_config('role', ..., true)`, i.e. `SET LOCAL ROLE`) and sets the tenant the same way. Both settings end with
 * the transaction, so a pooled connection never carries a tenant to its next user.
 *
 * Views read as their caller (`security_invoker`), so the policy holds through them too; a materialized view with a
 * `tenant_id` column is closed to the tenant role (it cannot carry a policy). Migrations define none today.
 *
 * Why a role and not FORCE ROW LEVEL SECURITY: the connecting role owns the tables (it ran the migrations) and is
 * often a superuser (always on the embedded database, whose only user is `postgres`), and superusers bypass RLS
 * even when it is forced. A role without BYPASSRLS is the one switch that works on both targets. It also makes the
 * bypass explicit: platform and system work across tenants (job claiming, migrations, schedulers and sweeps,
 * platform admin, authentication by API key) runs as the connecting role, outside `inTenant`, and is exactly the
 * work that does not go through `inTenant`.
 */
export const TENANT_ROLE = 'loupe_tenant';
export const TENANT_SETTING = 'loupe.tenant_id';
export const TENANT_POLICY = 'loupe_tenant_isolation';

const TENANT_MATCH = `tenant_id = NULLIF(current_setting('${TENANT_SETTING}', true), '')::uuid`;

/**
 * The idempotent step run after every migration (`migrateDatabase`), so tables added later by any migration are
 * covered the next time Loupe starts: creates the role if missing (and makes the connecting role a member), grants
 * it the schema's tables and sequences, enables RLS and creates the policy on every table of schema `public` with
 * a `tenant_id` column that lacks it. An existing policy is left as it is (no lock taken on a table already done).
 */
const ROW_LEVEL_SECURITY_SQL = `DO $rls$
DECLARE
  r record;
  m text := $m$${TENANT_MATCH}$m$;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TENANT_ROLE}') THEN
    BEGIN
      CREATE ROLE ${TENANT_ROLE} NOLOGIN NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- another database of the cluster made it first
    END;
  END IF;
  IF NOT pg_has_role(current_user, '${TENANT_ROLE}', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT ${TENANT_ROLE} TO %I', current_user);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- granted meanwhile by another migrator
    END;
  END IF;
  GRANT USAGE ON SCHEMA public TO ${TENANT_ROLE};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${TENANT_ROLE};
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${TENANT_ROLE};
  -- A view reads its tables as the view's owner, who bypasses the policy: each view of the schema reads as its
  -- caller instead (security_invoker, PostgreSQL 15+; the embedded database is 16+).
  FOR r IN
    SELECT c.oid::regclass AS v
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'v'
       AND NOT coalesce('security_invoker=true' = ANY (c.reloptions) OR 'security_invoker=on' = ANY (c.reloptions), false)
  LOOP
    EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', r.v);
  END LOOP;
  -- A materialized view holds its own copy of the rows and can carry no policy: one with tenant rows is closed to the
  -- tenant role (a scoped read of it fails loudly instead of reading every tenant).
  FOR r IN
    SELECT c.oid::regclass AS mv
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind = 'm'
  LOOP
    EXECUTE format('REVOKE ALL ON %s FROM ${TENANT_ROLE}', r.mv);
  END LOOP;
  FOR r IN
    SELECT c.oid::regclass AS tbl, c.relrowsecurity AS on
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  LOOP
    IF NOT r.on THEN
      EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.tbl);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = r.tbl AND polname = '${TENANT_POLICY}') THEN
      EXECUTE format('CREATE POLICY ${TENANT_POLICY} ON %s FOR ALL TO ${TENANT_ROLE} USING (%s) WITH CHECK (%s)', r.tbl, m, m);
    END IF;
  END LOOP;
END $rls$;`;

/** Applies `ROW_LEVEL_SECURITY_SQL` (see there). Idempotent; `migrateDatabase` runs it after the migrations. */
export async function applyRowLevelSecurity(db: { execute(query: SQL): PromiseLike<unknown> }): Promise<void> {
  await db.execute(sql.raw(ROW_LEVEL_SECURITY_SQL));
}
