import { sql } from 'drizzle-orm';
import { arrayParam, newId, queryOne, queryRows, type Q } from '../../platform/index.ts';
import type { TaxonomyNode } from './taxonomy.core.ts';

export interface GoogleCategoryRow {
  id: number;
  name: string;
  path: string;
  parentId: number | null;
  depth: number;
}
export interface SuggestionRow extends GoogleCategoryRow {
  score: number;
}
export interface AlignmentAuditRow {
  id: string;
  categoryId: string;
  oldGoogleCategoryId: number | null;
  newGoogleCategoryId: number | null;
  actorType: string;
  actorId: string;
  requestId: string | null;
  createdAt: Date;
}

const GOOGLE = sql`g.id, g.name, g.path, g.parent_id AS "parentId", g.depth`;

/** SQL of the platform-wide Google taxonomy table and of the per-tenant alignment audit trail. */
export function createTaxonomyRepository() {
  return {
    /** Upserts taxonomy nodes by Google id in one statement, then links parents by path. */
    async load(q: Q, nodes: readonly TaxonomyNode[]): Promise<number> {
      if (!nodes.length) return 0;
      await q.execute(
        sql`INSERT INTO google_taxonomy (id, name, path, depth, path_norm)
            SELECT s.id, s.name, s.path, s.depth, lower(unaccent(s.path))
            FROM unnest(${arrayParam(nodes.map((n) => n.id))}::int[], ${arrayParam(nodes.map((n) => n.name))}::text[],
                        ${arrayParam(nodes.map((n) => n.path))}::text[], ${arrayParam(nodes.map((n) => n.depth))}::int[]) AS s(id, name, path, depth)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, path = EXCLUDED.path, depth = EXCLUDED.depth, path_norm = EXCLUDED.path_norm`,
      );
      await q.execute(
        sql`UPDATE google_taxonomy g SET parent_id = p.id
            FROM unnest(${arrayParam(nodes.map((n) => n.id))}::int[], ${arrayParam(nodes.map((n) => n.parentPath))}::text[]) AS s(id, parent_path)
            LEFT JOIN google_taxonomy p ON p.path = s.parent_path
            WHERE g.id = s.id AND g.parent_id IS DISTINCT FROM p.id`,
      );
      return nodes.length;
    },
    /** Every category's id and full path (about 5,600 rows). */
    async allPaths(q: Q): Promise<Map<number, string>> {
      const rows = await queryRows<{ id: number; path: string }>(q, sql`SELECT id, path FROM google_taxonomy`);
      return new Map(rows.map((r) => [r.id, r.path]));
    },
    count: async (q: Q) => (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM google_taxonomy`))!.n,
    get: (q: Q, id: number) => queryOne<GoogleCategoryRow>(q, sql`SELECT ${GOOGLE} FROM google_taxonomy g WHERE g.id = ${id}`),

    /**
     * Google categories ranked by text similarity to a tenant category: trigram similarity of the leaf names
     * (0.5), word similarity of the name within Google's full path (0.3), and of the two full paths (0.2).
     */
    suggest: (q: Q, name: string, path: string, limit: number) =>
      queryRows<SuggestionRow>(
        q,
        sql`WITH query AS (SELECT lower(unaccent(${name})) AS name, lower(unaccent(${path})) AS path)
            SELECT ${GOOGLE}, round((0.5 * similarity(lower(unaccent(g.name)), query.name)
                                   + 0.3 * word_similarity(query.name, g.path_norm)
                                   + 0.2 * similarity(g.path_norm, query.path))::numeric, 4)::float8 AS score
            FROM google_taxonomy g, query
            WHERE g.path_norm % query.name OR g.path_norm % query.path OR query.name <% g.path_norm
            ORDER BY score DESC, g.depth DESC, g.id LIMIT ${limit}`,
      ),

    insertAudit: (
      q: Q,
      tenantId: string,
      a: {
        categoryId: string;
        oldId: number | null;
        newId: number | null;
        actorType: string;
        actorId: string;
        requestId: string | null;
        now: Date;
      },
    ) =>
      q.execute(
        sql`INSERT INTO category_alignment_audit (tenant_id, id, category_id, old_google_category_id, new_google_category_id, actor_type, actor_id, request_id, created_at)
            VALUES (${tenantId}, ${newId()}, ${a.categoryId}, ${a.oldId}, ${a.newId}, ${a.actorType}, ${a.actorId}, ${a.requestId}, ${a.now.toISOString()})`,
      ),
    auditOf: (q: Q, tenantId: string, categoryId: string) =>
      queryRows<AlignmentAuditRow>(
        q,
        sql`SELECT id, category_id AS "categoryId", old_google_category_id AS "oldGoogleCategoryId", new_google_category_id AS "newGoogleCategoryId",
                   actor_type AS "actorType", actor_id AS "actorId", request_id AS "requestId", created_at AS "createdAt"
            FROM category_alignment_audit WHERE tenant_id = ${tenantId} AND category_id = ${categoryId} ORDER BY created_at DESC, id DESC LIMIT 200`,
      ),
  };
}
export type TaxonomyRepository = ReturnType<typeof createTaxonomyRepository>;
