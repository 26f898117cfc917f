import { sql } from 'drizzle-orm';
import { arrayParam, newId, queryOne, queryRows, type Q } from '../../platform/index.ts';
import { PATH_SEPARATOR, categoryNodesFor, joinCategoryPath, splitCategoryPath } from './catalog.core.ts';

export interface CategoryRow {
  id: string;
  externalId: string | null;
  name: string;
  parentId: string | null;
  path: string;
  depth: number;
  googleCategoryId: number | null;
  itemCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The item count names the tenant as a value, not as `c.tenant_id`: a correlated sub-select reaches the planner
 * without the caller's tenant, so a hash-partitioned (or Citus) `items` was read on every partition.
 */
const category = (tenantId: string) => sql`c.id, c.external_id AS "externalId", c.name, c.parent_id AS "parentId", c.path, c.depth,
  c.google_category_id AS "googleCategoryId", c.created_at AS "createdAt", c.updated_at AS "updatedAt",
  (SELECT count(*)::int FROM items i WHERE i.tenant_id = ${tenantId} AND i.category_id = c.id) AS "itemCount"`;

/** `path` is `root` or lies under it (text comparison, so LIKE metacharacters in names are harmless). */
export const underPath = (path: ReturnType<typeof sql>, root: ReturnType<typeof sql>) =>
  sql`(${path} = ${root} OR left(${path}, length(${root}) + ${PATH_SEPARATOR.length}) = ${root} || ${PATH_SEPARATOR})`;

/** All SQL of categories. Every statement filters on tenant_id. */
export function createCategoriesRepository() {
  const repo = {
    /**
     * Resolves category inputs of items (path 'A > B > C' or a bare name) to category ids, creating what is
     * missing in two set-based statements. A bare name matches an existing category of that name (the
     * shallowest, case-insensitive) before a new root category is created.
     */
    async ensureForItems(q: Q, tenantId: string, inputs: readonly string[], now: Date): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      const canonicalOf = new Map<string, string>();
      const names = new Map<string, string[]>(); // lower(name) -> inputs
      for (const input of new Set(inputs)) {
        const segs = splitCategoryPath(input);
        if (!segs.length) continue;
        if (segs.length === 1) {
          const k = segs[0]!.toLowerCase();
          names.set(k, [...(names.get(k) ?? []), input]);
        } else canonicalOf.set(input, joinCategoryPath(segs));
      }
      if (names.size) {
        const found = await queryRows<{ key: string; id: string }>(
          q,
          sql`SELECT DISTINCT ON (lower(name)) lower(name) AS key, id FROM categories
              WHERE tenant_id = ${tenantId} AND lower(name) = ANY(${arrayParam([...names.keys()])}::text[])
              ORDER BY lower(name), depth, path`,
        );
        for (const f of found) {
          for (const input of names.get(f.key) ?? []) out.set(input, f.id);
          names.delete(f.key);
        }
        for (const inputs of names.values()) for (const input of inputs) canonicalOf.set(input, joinCategoryPath(splitCategoryPath(input)));
      }
      if (!canonicalOf.size) return out;
      const nodes = categoryNodesFor(canonicalOf.values());
      const ts = now.toISOString();
      // ON CONFLICT DO NOTHING: concurrent writers may create the same path; the unique (tenant, path) decides.
      await q.execute(
        sql`INSERT INTO categories (tenant_id, id, name, path, depth, created_at, updated_at)
            SELECT ${tenantId}::uuid, s.id, s.name, s.path, s.depth, ${ts}::timestamptz, ${ts}::timestamptz
            FROM unnest(${arrayParam(nodes.map(() => newId()))}::uuid[], ${arrayParam(nodes.map((n) => n.name))}::text[],
                        ${arrayParam(nodes.map((n) => n.path))}::text[], ${arrayParam(nodes.map((n) => n.depth))}::int[]) AS s(id, name, path, depth)
            ON CONFLICT (tenant_id, path) DO NOTHING`,
      );
      const children = nodes.filter((n) => n.parentPath !== null);
      if (children.length) {
        await q.execute(
          sql`UPDATE categories c SET parent_id = p.id
              FROM unnest(${arrayParam(children.map((n) => n.path))}::text[], ${arrayParam(children.map((n) => n.parentPath))}::text[]) AS s(path, parent_path)
              JOIN categories p ON p.tenant_id = ${tenantId} AND p.path = s.parent_path
              WHERE c.tenant_id = ${tenantId} AND c.path = s.path AND c.parent_id IS NULL`,
        );
      }
      const rows = await queryRows<{ path: string; id: string }>(
        q,
        sql`SELECT path, id FROM categories WHERE tenant_id = ${tenantId} AND path = ANY(${arrayParam([...new Set(canonicalOf.values())])}::text[])`,
      );
      const idByPath = new Map(rows.map((r) => [r.path, r.id]));
      for (const [input, path] of canonicalOf) {
        const id = idByPath.get(path);
        if (id) out.set(input, id);
      }
      return out;
    },

    get: (q: Q, tenantId: string, id: string) =>
      queryOne<CategoryRow>(q, sql`SELECT ${category(tenantId)} FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}`),

    getByPath: (q: Q, tenantId: string, path: string) =>
      queryOne<CategoryRow>(q, sql`SELECT ${category(tenantId)} FROM categories c WHERE c.tenant_id = ${tenantId} AND c.path = ${path}`),

    /** Every category of the tenant, ordered by path (parents before children). */
    listAll: (q: Q, tenantId: string) =>
      queryRows<CategoryRow>(
        q,
        sql`SELECT ${category(tenantId)} FROM categories c WHERE c.tenant_id = ${tenantId} ORDER BY c.path LIMIT 100000`,
      ),

    /** A page of categories by path order; `after` is the last path seen. */
    listPage: (q: Q, tenantId: string, f: { after?: string | undefined; parentId?: string | null | undefined; limit: number }) => {
      const conds = [sql`c.tenant_id = ${tenantId}`];
      if (f.after !== undefined) conds.push(sql`c.path > ${f.after}`);
      if (f.parentId === null) conds.push(sql`c.parent_id IS NULL`);
      else if (f.parentId !== undefined) conds.push(sql`c.parent_id = ${f.parentId}`);
      return queryRows<CategoryRow>(
        q,
        sql`SELECT ${category(tenantId)} FROM categories c WHERE ${sql.join(conds, sql` AND `)} ORDER BY c.path LIMIT ${f.limit}`,
      );
    },

    async insert(
      q: Q,
      tenantId: string,
      c: { name: string; parentId: string | null; path: string; depth: number; externalId: string | null; now: Date },
    ) {
      const id = newId();
      const row = await queryOne<{ id: string }>(
        q,
        sql`INSERT INTO categories (tenant_id, id, external_id, name, parent_id, path, depth, created_at, updated_at)
            VALUES (${tenantId}, ${id}, ${c.externalId}, ${c.name}, ${c.parentId}, ${c.path}, ${c.depth}, ${c.now.toISOString()}, ${c.now.toISOString()})
            ON CONFLICT (tenant_id, path) DO NOTHING RETURNING id`,
      );
      return row?.id;
    },

    /**
     * Renames and/or moves a category: its own row and the path and depth of every descendant change in one
     * statement. Returns false when the new path is taken.
     */
    async moveSubtree(
      q: Q,
      tenantId: string,
      c: { id: string; oldPath: string; newPath: string; name: string; parentId: string | null; depthDelta: number; now: Date },
    ) {
      const taken = await queryOne<{ id: string }>(
        q,
        sql`SELECT id FROM categories WHERE tenant_id = ${tenantId} AND path = ${c.newPath} AND id <> ${c.id}`,
      );
      if (taken) return false;
      await q.execute(
        sql`UPDATE categories SET
              path = ${c.newPath} || substr(path, length(${c.oldPath}) + 1),
              depth = depth + ${c.depthDelta},
              name = CASE WHEN id = ${c.id} THEN ${c.name} ELSE name END,
              parent_id = CASE WHEN id = ${c.id} THEN ${c.parentId}::uuid ELSE parent_id END,
              updated_at = ${c.now.toISOString()}
            WHERE tenant_id = ${tenantId} AND ${underPath(sql`path`, sql`${c.oldPath}::text`)}`,
      );
      return true;
    },

    setExternalId: (q: Q, tenantId: string, id: string, externalId: string | null) =>
      q.execute(sql`UPDATE categories SET external_id = ${externalId} WHERE tenant_id = ${tenantId} AND id = ${id}`),

    countChildren: async (q: Q, tenantId: string, id: string) =>
      (await queryOne<{ n: number }>(
        q,
        sql`SELECT count(*)::int AS n FROM categories WHERE tenant_id = ${tenantId} AND parent_id = ${id}`,
      ))!.n,

    /** Moves the items of `id` to `newParentId` (null: uncategorized). Children are moved with moveSubtree. */
    async reparentContents(q: Q, tenantId: string, id: string, newParentId: string | null) {
      await q.execute(
        sql`UPDATE items SET category_id = ${newParentId}::uuid,
              category_path = (SELECT path FROM categories WHERE tenant_id = ${tenantId} AND id = ${newParentId}::uuid)
            WHERE tenant_id = ${tenantId} AND category_id = ${id}`,
      );
    },

    delete: (q: Q, tenantId: string, id: string) => q.execute(sql`DELETE FROM categories WHERE tenant_id = ${tenantId} AND id = ${id}`),

    setGoogleCategory: (q: Q, tenantId: string, id: string, googleId: number | null, now: Date) =>
      q.execute(
        sql`UPDATE categories SET google_category_id = ${googleId}, updated_at = ${now.toISOString()} WHERE tenant_id = ${tenantId} AND id = ${id}`,
      ),
  };
  return repo;
}
export type CategoriesRepository = ReturnType<typeof createCategoriesRepository>;
