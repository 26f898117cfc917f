import { type Db, type TenantContext, AppError, conflict, notFound, validation, inTenant } from '../../platform/index.ts';
import { PATH_SEPARATOR } from './catalog.core.ts';
import type { CategoriesRepository, CategoryRow } from './categories.repository.ts';
import type { GoogleCategoryRow, TaxonomyRepository } from './taxonomy.repository.ts';
import type { TaxonomyService } from './taxonomy.service.ts';

export interface CategoriesServiceDeps {
  db: Db;
  repo: CategoriesRepository;
  taxonomyRepo: TaxonomyRepository;
  taxonomy: TaxonomyService;
  clock: () => Date;
  /** Told after a write that moved items of unknown ids (a deleted category's items go to its parent). */
  onItemsMoved?: (tenantId: string) => void;
}

const childPath = (parent: CategoryRow | null, name: string) => (parent ? `${parent.path}${PATH_SEPARATOR}${name}` : name);
const isUnder = (path: string, root: string) => path === root || path.startsWith(root + PATH_SEPARATOR);
const exists = (what: string) => conflict('CATEGORY_EXISTS', `A category with this path already exists: ${what}`);

/** Nests flat rows (ordered by path, parents first) into a tree. */
export function buildTree<T extends { id: string; parentId: string | null }>(rows: readonly T[]): (T & { children: unknown[] })[] {
  type Node = T & { children: Node[] };
  const byId = new Map<string, Node>();
  for (const r of rows) byId.set(r.id, { ...r, children: [] });
  const roots: Node[] = [];
  for (const n of byId.values()) {
    const parent = n.parentId ? byId.get(n.parentId) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  return roots;
}

export function createCategoriesService(deps: CategoriesServiceDeps) {
  const { repo, db } = deps;
  const mustGet = async (ctx: TenantContext, id: string) => {
    const c = await repo.get(db, ctx.tenantId, id);
    if (!c) throw notFound('CATEGORY_NOT_FOUND', 'Category');
    return c;
  };
  const parentOf = async (ctx: TenantContext, parentId: string) => {
    const p = await repo.get(db, ctx.tenantId, parentId);
    if (!p)
      throw validation('CATEGORY_PARENT_NOT_FOUND', 'parent_id names no category of this tenant.', [
        { field: 'parent_id', message: 'not found' },
      ]);
    return p;
  };

  return {
    get: mustGet,
    listAll: (ctx: TenantContext) => repo.listAll(db, ctx.tenantId),
    listPage: (ctx: TenantContext, f: { after?: string | undefined; parentId?: string | null | undefined; limit: number }) =>
      repo.listPage(db, ctx.tenantId, f),

    async create(
      ctx: TenantContext,
      c: { name: string; parentId?: string | null | undefined; externalId?: string | null | undefined },
    ): Promise<CategoryRow> {
      const parent = c.parentId ? await parentOf(ctx, c.parentId) : null;
      const path = childPath(parent, c.name);
      const id = await repo.insert(db, ctx.tenantId, {
        name: c.name,
        parentId: parent?.id ?? null,
        path,
        depth: parent ? parent.depth + 1 : 0,
        externalId: c.externalId ?? null,
        now: deps.clock(),
      });
      if (!id) throw exists(path);
      return (await repo.get(db, ctx.tenantId, id))!;
    },

    /** Renames and/or moves (parent_id; null = top level); every descendant's path follows in one statement. */
    async update(
      ctx: TenantContext,
      id: string,
      c: { name?: string | undefined; parentId?: string | null | undefined; externalId?: string | null | undefined },
    ): Promise<CategoryRow> {
      const cur = await mustGet(ctx, id);
      const parent =
        c.parentId === undefined
          ? cur.parentId
            ? ((await repo.get(db, ctx.tenantId, cur.parentId)) ?? null)
            : null
          : c.parentId === null
            ? null
            : await parentOf(ctx, c.parentId);
      if (parent && isUnder(parent.path, cur.path)) {
        throw validation('CATEGORY_CYCLE', 'A category cannot be moved under itself or one of its descendants.', [
          { field: 'parent_id', message: 'would create a cycle' },
        ]);
      }
      const name = c.name ?? cur.name;
      const newPath = childPath(parent, name);
      const depthDelta = (parent ? parent.depth + 1 : 0) - cur.depth;
      await inTenant(deps.db, ctx.tenantId, async (tx) => {
        if (newPath !== cur.path || (parent?.id ?? null) !== cur.parentId) {
          const ok = await repo.moveSubtree(tx, ctx.tenantId, {
            id,
            oldPath: cur.path,
            newPath,
            name,
            parentId: parent?.id ?? null,
            depthDelta,
            now: deps.clock(),
          });
          if (!ok) throw exists(newPath);
        }
        if (c.externalId !== undefined) await repo.setExternalId(tx, ctx.tenantId, id, c.externalId);
      });
      return (await repo.get(db, ctx.tenantId, id))!;
    },

    /**
     * Deletes a category. With strategy 'refuse' (default) a category that still has children or items is
     * kept and 409 names what is left. With 'reparent' its children move up to its parent (paths follow) and
     * its items to the parent (uncategorized at top level).
     */
    async remove(ctx: TenantContext, id: string, strategy: 'refuse' | 'reparent'): Promise<CategoryRow> {
      const cur = await mustGet(ctx, id);
      const children = await repo.countChildren(db, ctx.tenantId, id);
      if (strategy === 'refuse' && (children > 0 || cur.itemCount > 0)) {
        throw new AppError(
          'conflict',
          'CATEGORY_NOT_EMPTY',
          `This category has ${children} subcategories and ${cur.itemCount} items. Move them first, or delete with ?strategy=reparent.`,
          {
            details: [{ message: `${children} subcategories` }, { message: `${cur.itemCount} items` }],
          },
        );
      }
      const parent = cur.parentId ? ((await repo.get(db, ctx.tenantId, cur.parentId)) ?? null) : null;
      await inTenant(deps.db, ctx.tenantId, async (tx) => {
        if (children > 0) {
          const kids = (await repo.listAll(tx, ctx.tenantId)).filter((k) => k.parentId === id);
          for (const k of kids) {
            const ok = await repo.moveSubtree(tx, ctx.tenantId, {
              id: k.id,
              oldPath: k.path,
              newPath: childPath(parent, k.name),
              name: k.name,
              parentId: parent?.id ?? null,
              depthDelta: -1,
              now: deps.clock(),
            });
            if (!ok) throw exists(childPath(parent, k.name));
          }
        }
        await repo.reparentContents(tx, ctx.tenantId, id, parent?.id ?? null);
        await repo.delete(tx, ctx.tenantId, id);
      });
      deps.onItemsMoved?.(ctx.tenantId);
      return cur;
    },

    /** Sets (or clears, with null) the Google category of a tenant category and records who changed it. */
    async align(
      ctx: TenantContext,
      id: string,
      googleId: number | null,
    ): Promise<{ category: CategoryRow; oldGoogleCategoryId: number | null; google: GoogleCategoryRow | null }> {
      const cur = await mustGet(ctx, id);
      await deps.taxonomy.ensureLoaded();
      if (googleId !== null && !(await deps.taxonomyRepo.get(db, googleId))) {
        throw validation('GOOGLE_CATEGORY_NOT_FOUND', 'google_category_id is not in the loaded Google taxonomy.', [
          { field: 'google_category_id', message: 'unknown id' },
        ]);
      }
      const now = deps.clock();
      await inTenant(deps.db, ctx.tenantId, async (tx) => {
        await repo.setGoogleCategory(tx, ctx.tenantId, id, googleId, now);
        await deps.taxonomyRepo.insertAudit(tx, ctx.tenantId, {
          categoryId: id,
          oldId: cur.googleCategoryId,
          newId: googleId,
          actorType: ctx.actor.type,
          actorId: ctx.actor.id,
          requestId: ctx.requestId ?? null,
          now,
        });
      });
      const google = googleId === null ? undefined : await deps.taxonomyRepo.get(db, googleId);
      return { category: (await repo.get(db, ctx.tenantId, id))!, oldGoogleCategoryId: cur.googleCategoryId, google: google ?? null };
    },

    async suggestions(ctx: TenantContext, id: string, limit: number) {
      const cur = await mustGet(ctx, id);
      await deps.taxonomy.ensureLoaded();
      return { category: cur, suggestions: await deps.taxonomyRepo.suggest(db, cur.name, cur.path, limit) };
    },

    async alignmentHistory(ctx: TenantContext, id: string) {
      await mustGet(ctx, id);
      return deps.taxonomyRepo.auditOf(db, ctx.tenantId, id);
    },
  };
}
export type CategoriesService = ReturnType<typeof createCategoriesService>;
