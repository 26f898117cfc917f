import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, inTenant, queryOne, queryRows, runInTenantScope } from '../src/platform/index.ts';
import { applyRowLevelSecurity, TENANT_POLICY, TENANT_ROLE } from '../src/platform/row-level-security.ts';
import { createTestApp, type TestApp } from './helpers.ts';

/**
 * Row-level security (issue 22, seed 004's database layer): SQL run through the tenant unit of work (`inTenant`)
 * WITHOUT any tenant filter, as a repository that forgot it would, reads and writes only that tenant's rows of
 * every tenant-owned table; the system path (the connecting role) still sees every tenant. Both targets.
 */
let t: TestApp;
let db: Db;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;

/** Tables with a tenant_id column, and those of them lacking RLS or the isolation policy for the tenant role. */
const TENANT_TABLES = sql`SELECT c.relname AS name, c.relrowsecurity AS rls,
    EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = ${TENANT_POLICY}
              AND p.polcmd = '*' AND (SELECT oid FROM pg_roles WHERE rolname = ${TENANT_ROLE}) = ANY (p.polroles)) AS policy
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`;

async function tenantTables(): Promise<{ name: string; rls: boolean; policy: boolean }[]> {
  return queryRows(db, TENANT_TABLES);
}

async function seed(tenant: typeof A, prefix: string) {
  const key = await tenant.apiKey(['catalog:read', 'catalog:write', 'interactions:write']);
  for (const n of [1, 2, 3]) {
    const r = await t.request('POST', '/api/v1/items', { token: key, body: { item_id: `${prefix}-${n}`, name: `${prefix} item ${n}` } });
    expect(r.status).toBe(201);
  }
  const events = [1, 2, 3, 4].map((n) => ({ user_id: `${prefix}-user-${n}`, item_id: `${prefix}-1`, interaction_type: 'view' }));
  const r = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
  expect(r.body).toMatchObject({ accepted: 4 });
}

const countOf = async (q: Db, table: string, where = sql``) =>
  Number((await queryOne<{ n: string }>(q, sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)} ${where}`))!.n);

beforeAll(async () => {
  t = await createTestApp();
  db = t.database.db;
  A = await t.createTenant('RLS A');
  B = await t.createTenant('RLS B');
  await seed(A, 'a');
  await seed(B, 'b');
}, 60_000);
afterAll(async () => t?.close());

describe('row-level security on every tenant-owned table', () => {
  it('every table with a tenant_id column has RLS on and the isolation policy for the tenant role', async () => {
    const tables = await tenantTables();
    expect(tables.length).toBeGreaterThan(80);
    expect(tables.filter((x) => !x.rls || !x.policy).map((x) => x.name)).toEqual([]);
    const role = await queryOne<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      db,
      sql`SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ${TENANT_ROLE}`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false });
  });

  it('a tenant table added later (another branch’s migration) is covered by the step after migrations, idempotently', async () => {
    await db.execute(sql`CREATE TABLE rls_probe (tenant_id uuid NOT NULL, v int NOT NULL)`);
    try {
      expect((await tenantTables()).filter((x) => !x.rls || !x.policy).map((x) => x.name)).toEqual(['rls_probe']);
      await applyRowLevelSecurity(db);
      await applyRowLevelSecurity(db);
      expect((await tenantTables()).filter((x) => !x.rls || !x.policy)).toEqual([]);
      await db.execute(sql`INSERT INTO rls_probe VALUES (${A.tenantId}, 1), (${B.tenantId}, 2)`);
      expect(await inTenant(db, A.tenantId, (tx) => queryRows(tx, sql`SELECT v FROM rls_probe`))).toEqual([{ v: 1 }]);
    } finally {
      await db.execute(sql`DROP TABLE rls_probe`);
    }
  });

  it('views read as their caller (security_invoker) and a tenant materialized view is closed to the tenant role', async () => {
    const unsafe = sql`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND ((c.relkind = 'v' AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false))
        OR (c.relkind = 'm' AND has_table_privilege(${TENANT_ROLE}, c.oid, 'SELECT')
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')))`;
    // The migrations define none today: nothing to fix, and the check holds any that a later one adds.
    expect(await queryRows(db, unsafe)).toEqual([]);
    await db.execute(sql`CREATE VIEW rls_probe_items AS SELECT tenant_id, item_id FROM items`);
    await db.execute(sql`CREATE MATERIALIZED VIEW rls_probe_counts AS SELECT tenant_id, count(*) AS n FROM items GROUP BY tenant_id`);
    try {
      // Before the step (granted as the step grants every table), a view reads as its owner: the policy does not hold.
      await db.execute(sql.raw(`GRANT SELECT ON rls_probe_items, rls_probe_counts TO ${TENANT_ROLE}`));
      const leaky = await inTenant(db, A.tenantId, (tx) => queryRows<{ item_id: string }>(tx, sql`SELECT item_id FROM rls_probe_items`));
      expect(leaky.length).toBe(6);
      expect((await queryRows<{ name: string }>(db, unsafe)).map((r) => r.name).sort()).toEqual(['rls_probe_counts', 'rls_probe_items']);
      await applyRowLevelSecurity(db);
      await applyRowLevelSecurity(db);
      expect(await queryRows(db, unsafe)).toEqual([]);
      const viaUnit = await inTenant(db, A.tenantId, (tx) =>
        queryRows<{ item_id: string }>(tx, sql`SELECT item_id FROM rls_probe_items ORDER BY 1`),
      );
      expect(viaUnit.map((r) => r.item_id)).toEqual(['a-1', 'a-2', 'a-3']);
      const viaScope = await runInTenantScope(B.tenantId, () =>
        queryRows<{ item_id: string }>(db, sql`SELECT item_id FROM rls_probe_items ORDER BY 1`),
      );
      expect(viaScope.map((r) => r.item_id)).toEqual(['b-1', 'b-2', 'b-3']);
      await expect(runInTenantScope(A.tenantId, () => queryRows(db, sql`SELECT * FROM rls_probe_counts`))).rejects.toThrow(
        /permission denied/,
      );
      // The system path still reads both through them.
      expect(await countOf(db, 'rls_probe_items')).toBe(6);
      expect(await countOf(db, 'rls_probe_counts')).toBe(2);
    } finally {
      await db.execute(sql`DROP MATERIALIZED VIEW rls_probe_counts`);
      await db.execute(sql`DROP VIEW rls_probe_items`);
    }
  });

  it('reads without a tenant filter see no foreign row in any tenant table; the system path sees both tenants', async () => {
    const tables = (await tenantTables()).map((x) => x.name);
    const foreignAsSystem: string[] = [];
    for (const name of tables) {
      if ((await countOf(db, name, sql`WHERE tenant_id = ${B.tenantId}`)) > 0) foreignAsSystem.push(name);
    }
    // The seed wrote B rows in these at least: the test below reads real foreign rows, not empty tables.
    expect(foreignAsSystem).toEqual(expect.arrayContaining(['items', 'interactions', 'profiles', 'api_keys', 'memberships']));
    const seen = await inTenant(db, A.tenantId, async (tx) => {
      const out: Record<string, number> = {};
      for (const name of foreignAsSystem) out[name] = await countOf(tx, name, sql`WHERE tenant_id <> ${A.tenantId}`);
      return out;
    });
    expect(Object.values(seen).every((n) => n === 0)).toBe(true);
    expect(Object.keys(seen).length).toBe(foreignAsSystem.length);

    // A real query with the filter removed: every item the database hands back is A's.
    const items = await inTenant(db, A.tenantId, (tx) =>
      queryRows<{ item_id: string }>(tx, sql`SELECT item_id FROM items ORDER BY item_id`),
    );
    expect(items.map((i) => i.item_id)).toEqual(['a-1', 'a-2', 'a-3']);
    // A repository handed the wrong tenant id inside A's unit of work finds nothing of B's either.
    expect(await inTenant(db, A.tenantId, (tx) => countOf(tx, 'items', sql`WHERE tenant_id = ${B.tenantId}`))).toBe(0);
  });

  it('writes without a tenant filter touch only the unit’s tenant; a foreign row can be neither inserted nor moved in', async () => {
    const bItemsBefore = await queryRows(db, sql`SELECT item_id, name FROM items WHERE tenant_id = ${B.tenantId} ORDER BY item_id`);
    const updated = await inTenant(db, A.tenantId, (tx) =>
      queryRows<{ tenant_id: string }>(tx, sql`UPDATE items SET name = name || ' (renamed)' RETURNING tenant_id`),
    );
    expect(updated.length).toBe(3);
    expect(new Set(updated.map((r) => r.tenant_id))).toEqual(new Set([A.tenantId]));
    expect(await queryRows(db, sql`SELECT item_id, name FROM items WHERE tenant_id = ${B.tenantId} ORDER BY item_id`)).toEqual(
      bItemsBefore,
    );

    const bEvents = await countOf(db, 'interactions', sql`WHERE tenant_id = ${B.tenantId}`);
    expect(bEvents).toBe(4);
    const deleted = await inTenant(db, A.tenantId, (tx) => queryRows(tx, sql`DELETE FROM interactions RETURNING 1`));
    expect(deleted.length).toBe(4);
    expect(await countOf(db, 'interactions', sql`WHERE tenant_id = ${B.tenantId}`)).toBe(4);
    expect(await countOf(db, 'interactions', sql`WHERE tenant_id = ${A.tenantId}`)).toBe(0);

    await expect(
      inTenant(db, A.tenantId, (tx) =>
        queryRows(tx, sql`INSERT INTO items (tenant_id, item_id, name) VALUES (${B.tenantId}, 'planted', 'planted')`),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inTenant(db, A.tenantId, (tx) => queryRows(tx, sql`UPDATE items SET tenant_id = ${B.tenantId} WHERE item_id = 'a-1'`)),
    ).rejects.toThrow(/row-level security/);
    expect(await countOf(db, 'items', sql`WHERE tenant_id = ${B.tenantId}`)).toBe(3);
    expect(await countOf(db, 'items', sql`WHERE item_id = 'planted'`)).toBe(0);
  });

  it('the tenant and the role end with the transaction (a reused connection carries neither), and no tenant set means no row', async () => {
    await inTenant(db, A.tenantId, async () => undefined);
    // Several statements: on PostgreSQL they go to the pool's connections, among them the one just used.
    for (let i = 0; i < 6; i++) {
      const s = await queryOne<{ who: string; tenant: string | null; items: number }>(
        db,
        sql`SELECT current_user AS who, nullif(current_setting('loupe.tenant_id', true), '') AS tenant, (SELECT count(*)::int FROM items) AS items`,
      );
      expect(s?.who).not.toBe(TENANT_ROLE);
      expect(s?.tenant).toBeNull();
      expect(s?.items).toBe(6);
    }
    const noTenant = await db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL ROLE loupe_tenant`);
      return countOf(tx as unknown as Db, 'items');
    });
    expect(noTenant).toBe(0);
    await expect(inTenant(db, 'not-a-uuid', async () => 1)).rejects.toThrow(/not a UUID/);
  });
});
