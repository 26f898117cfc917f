/**
 * The Citus plan of the migrated schema, and the report of tenant tables whose keys lack tenant_id (issue 17:
 * every tenant-owned table must carry tenant_id in its primary key, its unique constraints and its foreign keys
 * to other tenant tables). The keys are fixed by a later migration; until then this list is the report, and a
 * NEW table or key breaking the rule fails here. Remove an entry when its key is fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers.ts';
import { planCitus, type CitusPlan } from './citus-plan.core.ts';
import { readSchema } from './citus-plan.repository.ts';
import type { Database } from './database.ts';

const KNOWN_KEY_PROBLEMS: string[] = [
  'billing_stripe_events: primary_key primary key — (event_id) lacks tenant_id',
  'billing_subscriptions: unique billing_subscriptions_subscription_idx — (stripe_subscription_id) lacks tenant_id',
  'flag_client_keys: primary_key primary key — (key) lacks tenant_id',
  'sessions: primary_key primary key — (id) lacks tenant_id',
  'shop_domain_claims: primary_key primary key — (vendor, shop_domain) lacks tenant_id',
  'sso_logins: primary_key primary key — (state_hash) lacks tenant_id',
  'tenants: unique tenants_slug_key — (slug) lacks id',
];

let database: Database;
let plan: CitusPlan;
let tableNames: string[];
beforeAll(async () => {
  database = await createTestDatabase();
  const schema = await readSchema(database.db);
  tableNames = schema.map((t) => t.name);
  plan = planCitus(schema);
});
afterAll(async () => {
  await database?.close();
});

describe('loupe citus-plan on the migrated schema', () => {
  it('plans every table exactly once: distributed by tenant_id (tenants by id) or reference', () => {
    expect(tableNames.length).toBeGreaterThan(20);
    const named = plan.statements.map((s) => /\('([^']+)'/.exec(s)?.[1]);
    expect([...named].sort()).toEqual([...tableNames].sort());
    expect(plan.statements).toContain("SELECT create_distributed_table('tenants', 'id');");
    for (const t of ['jobs', 'items', 'interactions'])
      expect(plan.statements).toContain(`SELECT create_distributed_table('${t}', 'tenant_id', colocate_with => 'tenants');`);
  });

  it('the tenant tables whose keys lack tenant_id are exactly the known ones (the report)', () => {
    const found = plan.problems.map((p) => `${p.table}: ${p.kind} ${p.constraint} — ${p.detail}`);
    if (process.env.LOUPE_CITUS_REPORT === '1') process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    expect(found).toEqual(KNOWN_KEY_PROBLEMS);
  });
});
