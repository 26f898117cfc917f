/**
 * The plan for spreading Loupe's schema over Citus (distributed PostgreSQL), computed from the schema alone
 * (pure: no I/O; `citus-plan.repository.ts` reads the schema from the catalog).
 *
 * - `tenants` is distributed by its `id`; every table with a `tenant_id` column is distributed by it and
 *   co-located with `tenants`, so one tenant's rows of every table live on one node and joins, foreign keys and
 *   transactions within a tenant stay on it.
 * - Every other table (plans, taxonomy, global settings) becomes a reference table, copied to every node.
 * - Citus (like PostgreSQL for a table partitioned by `tenant_id`) demands the distribution column in every
 *   primary key and unique constraint, and in both sides of a foreign key between distributed tables; a
 *   reference table may not point at a distributed one. `keyProblems` lists what breaks these rules.
 */
export interface SchemaTable {
  name: string;
  columns: readonly string[];
  primaryKey: readonly string[] | null;
  /** Unique constraints and unique indexes (their column lists; an expression index lists none). */
  uniques: readonly { name: string; columns: readonly string[] }[];
  foreignKeys: readonly { name: string; columns: readonly string[]; refTable: string; refColumns: readonly string[] }[];
}

export const TENANTS_TABLE = 'tenants';
export const TENANT_COLUMN = 'tenant_id';

export type TableKind = 'distributed' | 'reference';

export interface TablePlan {
  name: string;
  kind: TableKind;
  /** The distribution column (distributed tables only). */
  column?: string;
}

export interface KeyProblem {
  table: string;
  kind: 'primary_key' | 'unique' | 'foreign_key' | 'reference_to_distributed';
  constraint: string;
  detail: string;
}

export interface CitusPlan {
  tables: TablePlan[];
  statements: string[];
  problems: KeyProblem[];
}

const quote = (name: string): string => `'${name.replace(/'/g, "''")}'`;

/** How a table is spread: distributed by its tenant column (or `tenants` by id), or a reference table. */
export function classify(t: SchemaTable): TablePlan {
  if (t.name === TENANTS_TABLE) return { name: t.name, kind: 'distributed', column: 'id' };
  if (t.columns.includes(TENANT_COLUMN)) return { name: t.name, kind: 'distributed', column: TENANT_COLUMN };
  return { name: t.name, kind: 'reference' };
}

/**
 * The plan for `tables`: statements in an order Citus accepts (reference tables first, then `tenants`, then
 * the tables co-located with it, each group by name), and every key that breaks the distribution rules.
 */
export function planCitus(tables: readonly SchemaTable[]): CitusPlan {
  const plans = tables.map(classify);
  const byName = new Map(plans.map((p) => [p.name, p]));
  const sorted = [...plans].sort((a, b) => a.name.localeCompare(b.name));
  const reference = sorted.filter((p) => p.kind === 'reference');
  const tenants = sorted.filter((p) => p.name === TENANTS_TABLE);
  const colocated = sorted.filter((p) => p.kind === 'distributed' && p.name !== TENANTS_TABLE);
  const statements = [
    ...reference.map((p) => `SELECT create_reference_table(${quote(p.name)});`),
    ...tenants.map((p) => `SELECT create_distributed_table(${quote(p.name)}, ${quote(p.column!)});`),
    ...colocated.map(
      (p) =>
        `SELECT create_distributed_table(${quote(p.name)}, ${quote(p.column!)}${tenants.length ? `, colocate_with => ${quote(TENANTS_TABLE)}` : ''});`,
    ),
  ];

  const problems: KeyProblem[] = [];
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) {
    const plan = byName.get(t.name)!;
    if (plan.kind === 'reference') {
      for (const fk of t.foreignKeys) {
        if (byName.get(fk.refTable)?.kind === 'distributed')
          problems.push({
            table: t.name,
            kind: 'reference_to_distributed',
            constraint: fk.name,
            detail: `reference table ${t.name} points at distributed table ${fk.refTable}`,
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
      if (target?.kind !== 'distributed') continue; // to a reference table: always allowed
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
  const distributed = plan.tables.filter((t) => t.kind === 'distributed').length;
  const lines = [
    `-- Loupe on Citus: ${plan.tables.length} tables, ${distributed} distributed by tenant, ${plan.tables.length - distributed} reference.`,
    '-- Run on the coordinator after the migrations, before loading data (docs/citus.md).',
    ...plan.statements,
  ];
  if (opts.problems) {
    lines.push('', `-- ${plan.problems.length} keys Citus refuses until tenant_id is added to them:`);
    for (const p of plan.problems) lines.push(`--   ${p.table}: ${p.kind} ${p.constraint}: ${p.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
