import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, isUuid, paginate, tenantContext, validation } from '../../platform/index.ts';
import { decodeCursor, encodeCursor } from './catalog.core.ts';
import { toCategory } from './catalog.mappers.ts';
import * as s from './catalog.schemas.ts';
import { buildTree, type CategoriesService } from './categories.service.ts';
import type { CategoryRow } from './categories.repository.ts';

const listParams = z.object({ tenantId: z.string().max(100).optional() });
const idParams = z.object({ tenantId: z.string().max(100).optional(), id: z.string().max(100) });
const alignBody = z.object({ google_category_id: z.number().int().min(1).nullable() }).strict();
const googleCategory = z.object({
  id: z.number(),
  name: z.string(),
  path: z.string(),
  parent_id: z.number().nullable(),
  depth: z.number(),
});
const alignResponse = z.object({
  category: s.categoryResponse,
  previous_google_category_id: z.number().nullable(),
  google_category: googleCategory.nullable(),
});
const suggestionsResponse = z.object({
  category_id: z.string(),
  query: z.string(),
  suggestions: z.array(googleCategory.extend({ score: z.number() })),
});
const historyResponse = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      old_google_category_id: z.number().nullable(),
      new_google_category_id: z.number().nullable(),
      actor_type: z.string(),
      actor_id: z.string(),
      request_id: z.string().nullable(),
      created_at: z.string(),
    }),
  ),
});

type TreeNode = CategoryRow & { children: TreeNode[] };
const toTree = (n: TreeNode): s.CategoryTreeJson => ({ ...toCategory(n), children: n.children.map(toTree) });
const isString = (v: unknown): v is string => typeof v === 'string';
/** A category id that is not a UUID cannot exist: answer exactly like a missing one, without a query error. */
const NIL = '00000000-0000-0000-0000-000000000000';
const idOf = (id: string) => (isUuid(id) ? id : NIL);

/** Categories in both URL styles: seed 004 `/api/v1/tenants/:tenantId/categories` and key-scoped `/api/v1/categories`. */
export async function categoryRoutes(app: FastifyInstance, deps: { categories: CategoriesService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.categories;
  const read = { auth: { kind: 'tenant', permission: 'catalog:read' } } as const;
  const write = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'catalog:write' }, audit: { action, resourceType: 'category' } }) as const;

  for (const base of ['/api/v1/tenants/:tenantId/categories', '/api/v1/categories']) {
    r.get(
      base,
      {
        schema: {
          tags: ['catalog'],
          summary: 'List categories: flat (paged by path) or as a tree (format=tree)',
          params: listParams,
          querystring: s.categoryListQuery,
          response: { 200: z.union([s.categoryListResponse, s.categoryTreeResponse]), ...errorResponses },
        },
        config: read,
      },
      async (request) => {
        const ctx = tenantContext(request);
        const q = request.query;
        if (q.format === 'tree') return { data: (buildTree(await svc.listAll(ctx)) as TreeNode[]).map(toTree) };
        const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isString);
        if (q.cursor !== undefined && after === undefined)
          throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
        const parentId = q.parent_id === undefined ? undefined : q.parent_id === 'root' ? null : idOf(q.parent_id);
        const rows = await svc.listPage(ctx, { after, parentId, limit: q.limit + 1 });
        const page = paginate(rows, q.limit, (c) => encodeCursor(c.path));
        return { data: page.data.map(toCategory), next_cursor: page.next_cursor };
      },
    );
    r.post(
      base,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Create a category (top level, or under parent_id)',
          params: listParams,
          body: s.categoryCreateBody,
          response: { 201: s.categoryResponse, ...errorResponses },
        },
        config: write('catalog.category.create'),
      },
      async (request, reply) => {
        const b = request.body;
        const c = await svc.create(tenantContext(request), { name: b.name, parentId: b.parent_id, externalId: b.external_id });
        request.auditTarget = { resourceId: c.id };
        return reply.code(201).send(toCategory(c));
      },
    );
    r.get(
      `${base}/:id`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Get a category',
          params: idParams,
          response: { 200: s.categoryResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => toCategory(await svc.get(tenantContext(request), idOf(request.params.id))),
    );
    r.put(
      `${base}/:id`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Rename and/or move a category; descendant paths follow',
          params: idParams,
          body: s.categoryUpdateBody,
          response: { 200: s.categoryResponse, ...errorResponses },
        },
        config: write('catalog.category.update'),
      },
      async (request) => {
        const b = request.body;
        return toCategory(
          await svc.update(tenantContext(request), idOf(request.params.id), {
            name: b.name,
            parentId: b.parent_id,
            externalId: b.external_id,
          }),
        );
      },
    );
    r.delete(
      `${base}/:id`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Delete a category: refused while it has subcategories or items, unless strategy=reparent moves them to its parent',
          params: idParams,
          querystring: s.categoryDeleteQuery,
          response: { 204: z.null(), ...errorResponses },
        },
        config: write('catalog.category.delete'),
      },
      async (request, reply) => {
        await svc.remove(tenantContext(request), idOf(request.params.id), request.query.strategy);
        return reply.code(204).send(null);
      },
    );
    r.post(
      `${base}/:id/align`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Align a category to a Google product category (null clears); audited',
          params: idParams,
          body: alignBody,
          response: { 200: alignResponse, ...errorResponses },
        },
        config: write('catalog.category.align'),
      },
      async (request) => {
        const out = await svc.align(tenantContext(request), idOf(request.params.id), request.body.google_category_id);
        request.auditTarget = {
          details: { old_google_category_id: out.oldGoogleCategoryId, new_google_category_id: request.body.google_category_id },
        };
        const g = out.google;
        return {
          category: toCategory(out.category),
          previous_google_category_id: out.oldGoogleCategoryId,
          google_category: g ? { id: g.id, name: g.name, path: g.path, parent_id: g.parentId, depth: g.depth } : null,
        };
      },
    );
    r.get(
      `${base}/:id/align/suggestions`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Google product categories ranked by text similarity to this category',
          params: idParams,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) }).strict(),
          response: { 200: suggestionsResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => {
        const out = await svc.suggestions(tenantContext(request), idOf(request.params.id), request.query.limit);
        return {
          category_id: out.category.id,
          query: out.category.path,
          suggestions: out.suggestions.map((g) => ({
            id: g.id,
            name: g.name,
            path: g.path,
            parent_id: g.parentId,
            depth: g.depth,
            score: g.score,
          })),
        };
      },
    );
    r.get(
      `${base}/:id/align/history`,
      {
        schema: {
          tags: ['catalog'],
          summary: "The category's alignment audit trail, newest first",
          params: idParams,
          response: { 200: historyResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => ({
        data: (await svc.alignmentHistory(tenantContext(request), idOf(request.params.id))).map((a) => ({
          id: a.id,
          old_google_category_id: a.oldGoogleCategoryId,
          new_google_category_id: a.newGoogleCategoryId,
          actor_type: a.actorType,
          actor_id: a.actorId,
          request_id: a.requestId,
          created_at: iso(a.createdAt)!,
        })),
      }),
    );
  }
}
