import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';
import type { AnonymousRows, ImportKind } from './imports.columns.ts';

export interface SavedMappingRow {
  id: string;
  name: string;
  kind: ImportKind;
  mapping: Record<string, string>;
  anonymousRows: AnonymousRows | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SavedMappingInput {
  name: string;
  kind: ImportKind;
  mapping: Record<string, string>;
  anonymousRows: AnonymousRows | null;
}

const cols = sql`id, name, kind, mapping, anonymous_rows AS "anonymousRows", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** SQL of the saved import mappings (`import_mappings`). Every statement filters on tenant_id. */
export function createMappingsRepository() {
  return {
    list: (q: Q, tenantId: string, kind: ImportKind | undefined) =>
      queryRows<SavedMappingRow>(
        q,
        sql`SELECT ${cols} FROM import_mappings WHERE tenant_id = ${tenantId} ${kind ? sql`AND kind = ${kind}` : sql``}
            ORDER BY kind, name, id`,
      ),

    count: async (q: Q, tenantId: string) =>
      (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM import_mappings WHERE tenant_id = ${tenantId}`))?.n ?? 0,

    get: (q: Q, tenantId: string, id: string) =>
      queryOne<SavedMappingRow>(q, sql`SELECT ${cols} FROM import_mappings WHERE tenant_id = ${tenantId} AND id = ${id}`),

    /** Inserts a mapping; undefined when the tenant has one of that kind and name already (racing saves: one wins). */
    insert: (q: Q, tenantId: string, id: string, m: SavedMappingInput, createdBy: string) =>
      queryOne<SavedMappingRow>(
        q,
        sql`INSERT INTO import_mappings (tenant_id, id, kind, name, mapping, anonymous_rows, created_by)
            VALUES (${tenantId}, ${id}, ${m.kind}, ${m.name}, ${JSON.stringify(m.mapping)}::jsonb, ${m.anonymousRows}, ${createdBy})
            ON CONFLICT (tenant_id, kind, name) DO NOTHING RETURNING ${cols}`,
      ),

    /**
     * Replaces a mapping; 'missing' when the tenant has none with this id, 'name_taken' when another of its mappings
     * of that kind has the new name (the unique index decides a race: the loser gets the violation, mapped the same).
     */
    async update(q: Q, tenantId: string, id: string, m: SavedMappingInput): Promise<SavedMappingRow | 'missing' | 'name_taken'> {
      const clash = await queryOne<{ id: string }>(
        q,
        sql`SELECT id::text AS id FROM import_mappings WHERE tenant_id = ${tenantId} AND kind = ${m.kind} AND name = ${m.name} AND id <> ${id}`,
      );
      if (clash) return 'name_taken';
      const row = await queryOne<SavedMappingRow>(
        q,
        sql`UPDATE import_mappings SET name = ${m.name}, kind = ${m.kind}, mapping = ${JSON.stringify(m.mapping)}::jsonb,
                   anonymous_rows = ${m.anonymousRows}, updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${cols}`,
      );
      return row ?? 'missing';
    },

    remove: async (q: Q, tenantId: string, id: string) =>
      (
        await queryRows<{ id: string }>(
          q,
          sql`DELETE FROM import_mappings WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id::text AS id`,
        )
      ).length > 0,
  };
}
export type MappingsRepository = ReturnType<typeof createMappingsRepository>;
