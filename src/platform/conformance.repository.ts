import { sql } from 'drizzle-orm';
import { planCitus } from './citus-plan.core.ts';
import { readSchema } from './citus-plan.repository.ts';
import type { PartitionOf } from './conformance.core.ts';
import { type Db, type Q, queryRows } from './database.ts';
import { applyRowLevelSecurity } from './row-level-security.ts';

/**
 * The conformance database (issue 17): turns the migrated, EMPTY database behind `q` into the closest stand-in for
 * Citus this machine has. Every table `loupe citus-plan` distributes, and whose keys Citus accepts, is rebuilt as
 * `PARTITION BY HASH (<its distribution column>)` with `modulus` partitions named `<table>__p<remainder>`: same
 * columns, defaults and checks (LIKE ... INCLUDING ALL), then its primary key and every index re-created from their
 * definitions under their own names (PostgreSQL refuses a primary key or unique index without the partition key,
 * as Citus does). Tables whose keys Citus refuses (the plan's problems) stay plain and are returned as `refused`;
 * so do the tables in `keepPlain` and any table PostgreSQL will not partition (the error is returned). Row-level
 * security is re-applied.
 *
 * For a scratch database only: it drops and re-creates tables (their rows are lost).
 */
export async function partitionTenantTables(
  db: Db,
  modulus = 4,
  /** Tables to leave plain, with the reason (what the stand-in cannot hold that Citus can). */
  keepPlain: ReadonlyMap<string, string> = new Map(),
): Promise<{ partitioned: string[]; refused: { table: string; why: string }[] }> {
  const plan = planCitus(await readSchema(db));
  const blocked = new Map<string, string>(keepPlain);
  for (const p of plan.problems) if (!blocked.has(p.table)) blocked.set(p.table, `${p.kind} ${p.constraint}: ${p.detail}`);
  const partitioned: string[] = [];
  const refused: { table: string; why: string }[] = [];
  // One transaction (one commit instead of a hundred), each table in a savepoint of its own.
  await db.transaction(async (tx) => {
    for (const t of plan.tables) {
      if (t.kind !== 'distributed') continue;
      const why = blocked.get(t.name);
      if (why) {
        refused.push({ table: t.name, why });
        continue;
      }
      try {
        await tx.transaction(async (sp) => {
          await sp.execute(sql.raw(partitionSql(t.name, t.column!, modulus)));
        });
        partitioned.push(t.name);
      } catch (err) {
        refused.push({ table: t.name, why: err instanceof Error ? err.message : String(err) });
      }
    }
    await applyRowLevelSecurity(tx);
  });
  return { partitioned, refused };
}

/** One table's rebuild, as one DO block (all or nothing). Names come from the catalog; quoted with format(%I). */
function partitionSql(table: string, column: string, modulus: number): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(table) || !/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`unexpected name ${table}.${column}`);
  if (!Number.isInteger(modulus) || modulus < 2 || modulus > 64) throw new Error('modulus must be an integer in 2..64');
  return `DO $part$
DECLARE
  rel regclass := 'public.${table}'::regclass;
  defs text[];
  pk_name text;
  pk_def text;
  d text;
BEGIN
  SELECT coalesce(array_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid), '{}') INTO defs
    FROM pg_index i WHERE i.indrelid = rel AND NOT i.indisprimary;
  SELECT conname, pg_get_constraintdef(oid) INTO pk_name, pk_def FROM pg_constraint WHERE conrelid = rel AND contype = 'p';
  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', '${table}', '${table}__plain');
  EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING ALL EXCLUDING INDEXES) PARTITION BY HASH (%I)',
                 '${table}', '${table}__plain', '${column}');
  EXECUTE format('DROP TABLE public.%I', '${table}__plain');
  FOR r IN 0..${modulus - 1} LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES WITH (MODULUS ${modulus}, REMAINDER %s)',
                   '${table}__p' || r, '${table}', r);
  END LOOP;
  IF pk_def IS NOT NULL THEN
    EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', '${table}', pk_name, pk_def);
  END IF;
  FOREACH d IN ARRAY defs LOOP
    -- An index of a table that was already partitioned (interactions, by month) reads ON ONLY: made on every partition.
    EXECUTE replace(d, ' ON ONLY ', ' ON ');
  END LOOP;
END $part$;`;
}

/** Every partition of schema `public` (name → parent and remainder) and the partitioned parents. */
export async function readPartitions(q: Q): Promise<{ partitions: Map<string, PartitionOf>; parents: Set<string> }> {
  const rows = await queryRows<{ child: string; parent: string; bound: string }>(
    q,
    sql`SELECT c.relname AS child, p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'public' AND p.relkind = 'p'`,
  );
  const partitions = new Map<string, PartitionOf>();
  const parents = new Set<string>();
  for (const r of rows) {
    const m = /remainder (\d+)/i.exec(r.bound);
    if (!m) continue; // not a hash partition
    partitions.set(r.child, { parent: r.parent, remainder: Number(m[1]) });
    parents.add(r.parent);
  }
  return { partitions, parents };
}

interface ExplainClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * `EXPLAIN (FORMAT JSON)` of one captured statement with its own bound values (so the planner prunes with them, as
 * Citus's router planner routes by them). Run as the connecting role: the check judges the statement's own
 * predicates, not the row-level security policy a tenant unit of work adds.
 */
export async function explainJson(client: ExplainClient, text: string, values: readonly unknown[] | undefined): Promise<unknown> {
  const res = await client.query(`EXPLAIN (FORMAT JSON) ${text}`, values ? [...values] : undefined);
  const row = res.rows[0];
  const plan = row ? Object.values(row)[0] : undefined;
  return typeof plan === 'string' ? (JSON.parse(plan) as unknown) : plan;
}
