/**
 * The Citus plan of the migrated schema (issue 17): every distributed table carries tenant_id in its primary key, its
 * unique constraints and its foreign keys to other tenant tables, and a NEW table or key breaking the rule fails
 * here. The global lookup tables (`GLOBAL_TABLES`: found by a global value before the tenant is known) are reference
 * or local tables by decision, and the test holds that decision to the tables that need it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers.ts';
import { definedTables } from '../../test/ownership.scan.ts';
import { type CitusPlan, formatCitusPlan, GLOBAL_TABLES, planCitus, type SchemaTable } from './citus-plan.core.ts';
import { readSchema } from './citus-plan.repository.ts';
import type { Database } from './database.ts';

/**
 * The tables without tenant_id, which the plan makes reference tables (copied to every node). A new table lands here
 * only by a decision: a table that should be a tenant's but lacks tenant_id would otherwise be copied to every node
 * silently. Add it here (or give it tenant_id) and say so in docs/citus.md. `tenants` and the global lookup tables
 * of `GLOBAL_TABLES` are reference or local by their own decision (checked below).
 */
const REFERENCE_TABLES = [
  'billing_subscriptions',
  'flag_client_keys',
  'google_taxonomy',
  'memberships',
  'password_resets',
  'platform_settings',
  'refresh_tokens',
  'shop_domain_claims',
  'tenants',
  'user_recovery_codes',
  'users',
];
const LOCAL_TABLES = ['billing_stripe_events', 'login_throttle', 'pending_registrations', 'security_events', 'sessions', 'sso_logins'];

/** Every table some `*.tables.ts` defines (the code's view of the schema, as test/ownership.test.ts reads it). */
function tablesInCode(): string[] {
  const root = path.resolve(import.meta.dirname, '../..');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.tables.ts')) out.push(...definedTables(readFileSync(path.join(root, rel), 'utf8')).values());
    }
  };
  walk('src');
  return out.sort();
}

let database: Database;
let plan: CitusPlan;
let tableNames: string[];
let schema: SchemaTable[];
beforeAll(async () => {
  database = await createTestDatabase();
  schema = await readSchema(database.db);
  tableNames = schema.map((t) => t.name);
  plan = planCitus(schema);
});
afterAll(async () => {
  await database?.close();
});

describe('loupe citus-plan on the migrated schema', () => {
  it('plans every table exactly once: distributed by tenant_id, reference, or local on the coordinator', () => {
    expect(tableNames.length).toBeGreaterThan(20);
    const named = plan.statements.map((s) => /\('([^']+)'/.exec(s)?.[1]);
    expect([...named].sort()).toEqual([...tableNames].sort());
    expect(plan.statements).toContain("SELECT create_distributed_table('items', 'tenant_id');");
    expect(plan.statements).toContain("SELECT create_reference_table('tenants');");
    expect(plan.statements).toContain("SELECT citus_add_local_table_to_metadata('sessions');");
    for (const t of ['jobs', 'interactions'])
      expect(plan.statements).toContain(`SELECT create_distributed_table('${t}', 'tenant_id', colocate_with => 'items');`);
  });

  it("prints a statement for every table the code defines, this month's tables among them; reference and local tables only by decision", () => {
    const printed = formatCitusPlan(plan, { problems: true });
    const named = new Set(
      [...printed.matchAll(/^SELECT (?:create_(?:distributed|reference)_table|citus_add_local_table_to_metadata)\('([^']+)'/gm)].map(
        (m) => m[1],
      ),
    );
    const code = tablesInCode();
    expect(code.length).toBeGreaterThan(100);
    expect(code.filter((t) => !named.has(t))).toEqual([]);
    expect([...named].filter((t) => !code.includes(t!))).toEqual([]);
    for (const t of ['analytics_cohorts', 'experiment_metric_rollups', 'experiment_unit_metrics', 'experiment_rollup_watermarks'])
      expect(printed).toContain(`SELECT create_distributed_table('${t}', 'tenant_id', colocate_with => 'items');`);
    expect(plan.tables.filter((t) => t.kind === 'reference').map((t) => t.name)).toEqual(REFERENCE_TABLES);
    expect(plan.tables.filter((t) => t.kind === 'local').map((t) => t.name)).toEqual(LOCAL_TABLES);
    // every declared global table exists (a renamed table would leave its decision behind)
    expect([...GLOBAL_TABLES.keys()].filter((t) => !code.includes(t))).toEqual([]);
    const distributed = code.length - REFERENCE_TABLES.length - LOCAL_TABLES.length;
    expect(printed.split('\n')[0]).toBe(
      `-- Loupe on Citus: ${code.length} tables, ${distributed} distributed by tenant, ${REFERENCE_TABLES.length} reference, ${LOCAL_TABLES.length} local.`,
    );
  });

  it('every distributed table has tenant_id in its primary key, unique keys and foreign keys: no key Citus refuses', () => {
    const found = plan.problems.map((p) => `${p.table}: ${p.kind} ${p.constraint} — ${p.detail}`);
    if (process.env.LOUPE_CITUS_REPORT === '1') process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    expect(found).toEqual([]);
  });

  it('the global tables really are looked up by a global value: without their decision, their keys are what Citus refuses', () => {
    const bare = planCitus(schema, new Map()).problems.map((p) => p.table);
    expect([...new Set(bare)].sort()).toEqual([
      'billing_stripe_events',
      'billing_subscriptions',
      'flag_client_keys',
      'sessions',
      'shop_domain_claims',
      'sso_logins',
    ]);
    // `tenants` has no tenant_id: distributed by its id (the usual anchor) its unique slug is what Citus refuses
    const tenants = schema.find((t) => t.name === 'tenants')!;
    expect(tenants.uniques.some((u) => u.columns.includes('slug') && !u.columns.includes('id'))).toBe(true);
  });
});
