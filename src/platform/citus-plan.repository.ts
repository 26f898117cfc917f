import { sql } from 'drizzle-orm';
import type { SchemaTable } from './citus-plan.core.ts';
import { type Q, queryRows } from './database.ts';

/**
 * The application's tables (schema `public`, partitions excluded: they follow their parent) with their columns,
 * primary key, unique constraints and indexes, and foreign keys, read from the PostgreSQL catalog.
 */
export async function readSchema(q: Q): Promise<SchemaTable[]> {
  const tables = await queryRows<{ name: string; columns: string[] }>(
    q,
    sql`SELECT c.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        GROUP BY c.relname ORDER BY c.relname`,
  );
  const constraints = await queryRows<{
    table: string;
    type: string;
    name: string;
    columns: string[];
    refTable: string | null;
    refColumns: string[] | null;
  }>(
    q,
    sql`SELECT c.relname AS "table", con.contype::text AS type, con.conname AS name,
               array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
               fr.relname AS "refTable",
               CASE WHEN con.contype = 'f' THEN array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) END AS "refColumns"
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class fr ON fr.oid = con.confrelid
        WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f') AND NOT c.relispartition AND con.conparentid = 0
        ORDER BY c.relname, con.conname`,
  );
  // Unique indexes that back no constraint (CREATE UNIQUE INDEX): Citus holds them to the same rule.
  const indexes = await queryRows<{ table: string; name: string; columns: string[] }>(
    q,
    sql`SELECT c.relname AS "table", ic.relname AS name,
               array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND i.indisunique AND NOT i.indisprimary AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
        ORDER BY c.relname, ic.relname`,
  );
  return tables.map((t) => {
    const own = constraints.filter((c) => c.table === t.name);
    return {
      name: t.name,
      columns: t.columns,
      primaryKey: own.find((c) => c.type === 'p')?.columns ?? null,
      uniques: [
        ...own.filter((c) => c.type === 'u').map((c) => ({ name: c.name, columns: c.columns })),
        ...indexes.filter((i) => i.table === t.name).map((i) => ({ name: i.name, columns: i.columns })),
      ],
      foreignKeys: own
        .filter((c) => c.type === 'f')
        .map((c) => ({ name: c.name, columns: c.columns, refTable: c.refTable ?? '', refColumns: c.refColumns ?? [] })),
    };
  });
}
