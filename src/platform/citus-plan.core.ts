/**
 * The plan for spreading Loupe's schema over Citus (distributed PostgreSQL), computed from the schema alone
 * (pure: no I/O; `citus-plan.repository.ts` reads the schema from the catalog).
 *
 * - Every table with a `tenant_id` column is distributed by it, all co-located with one anchor table, so one
 *   tenant's rows of every table live on one node and joins, foreign keys and transactions within a tenant stay on
 *   it; tables without `tenant_id` (plans, taxonomy, users, global settings) become reference tables, copied to
 *   every node.
 * - Global lookup tables (`GLOBAL_TABLES`) are the exception by decision: a row of a tenant found by a global value
 *   before the tenant is known (a shop domain, an SDK client key, a session, a Stripe id, a tenant's slug). Their
 *   keys are global by nature, so they are not distributed: a reference table when small, rarely written and read
 *   everywhere; a Citus local table on the coordinator (`citus_add_local_table_to_metadata`) when written per
 *   sign-in or per webhook (a reference table's every write is a commit on every node). `tenants` is one of them
 *   (its slug is unique across stores): every tenant table may still point at it (distributed -> reference keys
 *   are allowed).
 * - Citus (like PostgreSQL for a table partitioned by `tenant_id`) demands the distribution column in every
 *   primary key and unique constraint, and in both sides of a foreign key between distributed tables; a reference
 *   or local table may not point at a distributed one, nor a reference table at a local one. `problems` lists what
 *   breaks these rules.
 */
export interface SchemaTable {
  name: string;
  columns: readonly string[];
  primaryKey: readonly string[] | null;
  /** Unique constraints and unique indexes (their column lists; an expression index lists none). */
  uniques: readonly { name: string; columns: readonly string[] }[];
  foreignKeys: readonly { name: string; columns: readonly string[]; refTable: string; refColumns: readonly string[] }[];
}

export const TENANT_COLUMN = 'tenant_id';
/** The table every distributed table is co-located with (the first distributed table by name when it is absent). */
export const COLOCATION_ANCHOR = 'items';

export type TableKind = 'distributed' | 'reference' | 'local';

/** A global lookup table's placement and the reason for it. */
export interface GlobalTable {
  kind: 'reference' | 'local';
  why: string;
}

/**
 * The tables with `tenant_id` that are not distributed, and the tables without it that are kept on the coordinator
 * instead of copied to every node: each by a decision written here (docs/citus.md explains them).
 */
export const GLOBAL_TABLES: ReadonlyMap<string, GlobalTable> = new Map<string, GlobalTable>([
  [
    'tenants',
    { kind: 'reference', why: "the tenant directory: a store's slug is unique across stores; one row per store, rarely written" },
  ],
  [
    'billing_subscriptions',
    { kind: 'reference', why: "found by Stripe's subscription id in the billing webhook; one row per store, written per billing event" },
  ],
  [
    'memberships',
    { kind: 'reference', why: 'which stores a user belongs to, found by the user at sign-in before a store is chosen; rarely written' },
  ],
  ['flag_client_keys', { kind: 'reference', why: "found by the SDK's client key before the tenant is known; read on every flag fetch" }],
  ['shop_domain_claims', { kind: 'reference', why: 'which store a Shopify shop domain belongs to: its webhooks name the shop' }],
  ['billing_stripe_events', { kind: 'local', why: "Loupe's own Stripe webhook log, found by Stripe's event id; one write per event" }],
  ['sessions', { kind: 'local', why: 'dashboard sign-ins, found by their id; they belong to users and are written per sign-in and use' }],
  ['sso_logins', { kind: 'local', why: 'SSO sign-ins in flight, found by their state; one write per sign-in' }],
  ['login_throttle', { kind: 'local', why: 'failed sign-in counters, written per attempt' }],
  ['security_events', { kind: 'local', why: 'the account security log, written per sign-in' }],
  ['pending_registrations', { kind: 'local', why: 'sign-ups waiting for their e-mailed link, before any tenant exists' }],
]);

export interface TablePlan {
  name: string;
  kind: TableKind;
  /** The distribution column (distributed tables only). */
  column?: string;
}

export interface KeyProblem {
  table: string;
  kind: 'primary_key' | 'unique' | 'foreign_key' | 'reference_to_distributed' | 'reference_to_local';
  constraint: string;
  detail: string;
}

export interface CitusPlan {
  tables: TablePlan[];
  statements: string[];
  problems: KeyProblem[];
}

const quote = (name: string): string => `'${name.replace(/'/g, "''")}'`;

/** How a table is spread: a global table as decided, else distributed by its tenant column, else a reference table. */
export function classify(t: SchemaTable, globals: ReadonlyMap<string, GlobalTable> = GLOBAL_TABLES): TablePlan {
  const g = globals.get(t.name);
  if (g) return { name: t.name, kind: g.kind };
  if (t.columns.includes(TENANT_COLUMN)) return { name: t.name, kind: 'distributed', column: TENANT_COLUMN };
  return { name: t.name, kind: 'reference' };
}

/**
 * The plan for `tables`: statements in an order Citus accepts (reference tables first, then local tables, then the
 * co-location anchor, then the tables co-located with it, each group by name), and every key that breaks the rules.
 */
export function planCitus(tables: readonly SchemaTable[], globals: ReadonlyMap<string, GlobalTable> = GLOBAL_TABLES): CitusPlan {
  const plans = tables.map((t) => classify(t, globals));
  const byName = new Map(plans.map((p) => [p.name, p]));
  const sorted = [...plans].sort((a, b) => a.name.localeCompare(b.name));
  const distributed = sorted.filter((p) => p.kind === 'distributed');
  const anchor = distributed.find((p) => p.name === COLOCATION_ANCHOR) ?? distributed[0];
  const statements = [
    ...sorted.filter((p) => p.kind === 'reference').map((p) => `SELECT create_reference_table(${quote(p.name)});`),
    ...sorted.filter((p) => p.kind === 'local').map((p) => `SELECT citus_add_local_table_to_metadata(${quote(p.name)});`),
    ...(anchor ? [`SELECT create_distributed_table(${quote(anchor.name)}, ${quote(anchor.column!)});`] : []),
    ...distributed
      .filter((p) => p !== anchor)
      .map((p) => `SELECT create_distributed_table(${quote(p.name)}, ${quote(p.column!)}, colocate_with => ${quote(anchor!.name)});`),
  ];

  const problems: KeyProblem[] = [];
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) {
    const plan = byName.get(t.name)!;
    if (plan.kind !== 'distributed') {
      for (const fk of t.foreignKeys) {
        const target = byName.get(fk.refTable)?.kind;
        if (target === 'distributed')
          problems.push({
            table: t.name,
            kind: 'reference_to_distributed',
            constraint: fk.name,
            detail: `${plan.kind} table ${t.name} points at distributed table ${fk.refTable}`,
          });
        else if (plan.kind === 'reference' && target === 'local')
          problems.push({
            table: t.name,
            kind: 'reference_to_local',
            constraint: fk.name,
            detail: `reference table ${t.name} points at local table ${fk.refTable}`,
          });
      }
      continue;
    }
    const col = plan.column!;
    if (!t.primaryKey) problems.push({ table: t.name, kind: 'primary_key', constraint: '(none)', detail: 'no primary key' });
    else if (!t.primaryKey.includes(col))
      problems.push({ table: t.name, kind: 'primary_key', constraint: 'primary key', detail: `(${t.primaryKey.join(', ')}) lacks ${col}` });
    for (const u of t.uniques) {
      if (!u.columns.includes(col))
        problems.push({
          table: t.name,
          kind: 'unique',
          constraint: u.name,
          detail: u.columns.length ? `(${u.columns.join(', ')}) lacks ${col}` : `expression index lacks ${col}`,
        });
    }
    for (const fk of t.foreignKeys) {
      const target = byName.get(fk.refTable);
      if (target?.kind !== 'distributed') continue; // to a reference or local table: allowed
      // Both sides must carry the distribution column, paired with each other.
      const i = fk.columns.indexOf(col);
      if (i < 0 || fk.refColumns[i] !== target.column)
        problems.push({
          table: t.name,
          kind: 'foreign_key',
          constraint: fk.name,
          detail: `(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')}) does not pair ${col} with ${fk.refTable}.${target.column}`,
        });
    }
  }
  return { tables: sorted, statements, problems };
}

/**
 * The text `loupe citus-plan` prints: a header with the counts, one statement per table (`plan.statements`), then,
 * unless `problems` is false, every key Citus refuses as SQL comments.
 */
export function formatCitusPlan(plan: CitusPlan, opts: { problems: boolean }): string {
  const count = (kind: TableKind) => plan.tables.filter((t) => t.kind === kind).length;
  const lines = [
    `-- Loupe on Citus: ${plan.tables.length} tables, ${count('distributed')} distributed by tenant, ${count('reference')} reference, ${count('local')} local.`,
    '-- Run on the coordinator after the migrations, before loading data (docs/citus.md).',
    ...plan.statements,
  ];
  if (opts.problems) {
    lines.push('', `-- ${plan.problems.length} keys Citus refuses until tenant_id is added to them:`);
    for (const p of plan.problems) lines.push(`--   ${p.table}: ${p.kind} ${p.constraint}: ${p.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
