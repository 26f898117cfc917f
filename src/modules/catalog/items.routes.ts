import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type BoundQuery,
  type ErrorDetail,
  type TenantContext,
  errorResponses,
  isUuid,
  paginate,
  tenantContext,
  validation,
} from '../../platform/index.ts';
import { toItem, toItemUpsert } from './catalog.mappers.ts';
import * as s from './catalog.schemas.ts';
import type { ItemUpsert } from './catalog.types.ts';
import type { CategoriesRepository } from './categories.repository.ts';
import type { ItemFilters } from './items.repository.ts';
import type { ItemsService } from './items.service.ts';

export interface ItemRouteDeps {
  items: ItemsService;
  categories: BoundQuery<CategoriesRepository>;
}

/** Query filters → repository filters. */
export function toFilters(q: {
  category?: string | undefined;
  brand?: string | undefined;
  min_price?: string | undefined;
  max_price?: string | undefined;
  availability?: string | undefined;
  tag?: string | undefined;
  updated_since?: string | undefined;
}): ItemFilters {
  return {
    category: q.category,
    brand: q.brand,
    minPrice: q.min_price,
    maxPrice: q.max_price,
    availability: q.availability,
    tag: q.tag,
    updatedSince: q.updated_since ? new Date(q.updated_since) : undefined,
  };
}

const tenantParams = z.object({ tenantId: z.string().max(100) });
const tenantIdParams = z.object({ tenantId: z.string().max(100), id: z.string().min(1).max(255) });
const itemIdParams = z.object({ item_id: z.string().min(1).max(255) });

export async function itemRoutes(app: FastifyInstance, deps: ItemRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = { auth: { kind: 'tenant', permission: 'catalog:read' } } as const;
  // The key-scoped reads are a storefront's catalog pages: site keys (pk_live_) may call them from their origins.
  const shopRead = { auth: { kind: 'tenant', permission: 'catalog:read', publishable: true } } as const;
  const write = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'catalog:write' }, audit: { action, resourceType: 'item' } }) as const;

  /** Body → ItemUpsert fields; a category_id of another tenant answers exactly like a missing one. */
  async function convert(
    ctx: TenantContext,
    body: s.ItemUpdateBody,
    prefix = '',
    defaultCurrency = 'USD',
  ): Promise<{ ok: true; value: Partial<ItemUpsert> } | { ok: false; errors: ErrorDetail[] }> {
    const out = toItemUpsert(body, prefix, defaultCurrency);
    if (!out.ok) return out;
    const { categoryId, ...value } = out.value;
    if (categoryId !== undefined) {
      if (value.category !== undefined)
        return { ok: false, errors: [{ field: `${prefix}category_id`, message: 'send category or category_id, not both' }] };
      if (categoryId === null) value.category = null;
      else {
        const c = await deps.categories.get(ctx.tenantId, categoryId);
        if (!c) return { ok: false, errors: [{ field: `${prefix}category_id`, message: 'category_id names no category of this tenant' }] };
        value.category = c.path;
      }
    }
    return { ok: true, value };
  }
  const mustConvert = async (ctx: TenantContext, body: s.ItemUpdateBody, defaultCurrency = 'USD') => {
    const out = await convert(ctx, body, '', defaultCurrency);
    if (!out.ok) throw validation('VALIDATION_FAILED', out.errors.map((e) => e.message).join('; '), out.errors);
    return out.value;
  };

  const listHandler = async (ctx: TenantContext, q: z.infer<typeof s.itemListQuery>) => {
    if (q.cursor !== undefined && !isUuid(q.cursor))
      throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
    const itemIds = q.item_id === undefined ? undefined : Array.isArray(q.item_id) ? q.item_id : [q.item_id];
    const rows = await deps.items.list(ctx, { ...toFilters(q), itemIds }, { after: q.cursor, limit: q.limit + 1 });
    const page = paginate(rows, q.limit, (row) => row.id);
    return { data: page.data.map(toItem), next_cursor: page.next_cursor };
  };

  // ---- seed 004: /api/v1/tenants/:tenantId/inventory[/:id] (:id is Loupe's id or the store's item_id) ----
  r.get(
    '/api/v1/tenants/:tenantId/inventory',
    {
      schema: {
        tags: ['catalog'],
        summary: 'List items (cursor pagination, filters)',
        params: tenantParams,
        querystring: s.itemListQuery,
        response: { 200: s.itemListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => listHandler(tenantContext(request), request.query),
  );
  r.post(
    '/api/v1/tenants/:tenantId/inventory',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Create an item',
        params: tenantParams,
        body: s.itemCreateBody,
        response: { 201: s.itemResponse, ...errorResponses },
      },
      config: write('catalog.item.create'),
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const row = await deps.items.create(ctx, (await mustConvert(ctx, request.body)) as ItemUpsert);
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(toItem(row));
    },
  );
  r.get(
    '/api/v1/tenants/:tenantId/inventory/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: "Get an item by Loupe's id or the store's item_id",
        params: tenantIdParams,
        response: { 200: s.itemResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => toItem(await deps.items.get(tenantContext(request), request.params.id, 'any')),
  );
  r.put(
    '/api/v1/tenants/:tenantId/inventory/:id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Update an item (fields left out keep their value; null clears)',
        params: tenantIdParams,
        body: s.itemUpdateBody,
        response: { 200: s.itemResponse, ...errorResponses },
      },
      config: write('catalog.item.update'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      const cur = await deps.items.get(ctx, request.params.id, 'any');
      const row = await deps.items.update(ctx, cur.id, 'any', await mustConvert(ctx, request.body, cur.currency ?? 'USD'));
      request.auditTarget = { resourceId: row.id };
      return toItem(row);
    },
  );
  r.delete(
    '/api/v1/tenants/:tenantId/inventory/:id',
    {
      schema: { tags: ['catalog'], summary: 'Delete an item', params: tenantIdParams, response: { 204: z.null(), ...errorResponses } },
      config: write('catalog.item.delete'),
    },
    async (request, reply) => {
      const row = await deps.items.remove(tenantContext(request), request.params.id, 'any');
      request.auditTarget = { resourceId: row.id };
      return reply.code(204).send(null);
    },
  );

  // ---- key-scoped: /api/v1/items[/:item_id] (the tenant comes from the credential) ----
  r.get(
    '/api/v1/items',
    {
      schema: {
        tags: ['catalog'],
        summary: 'List items (cursor pagination, filters)',
        querystring: s.itemListQuery,
        response: { 200: s.itemListResponse, ...errorResponses },
      },
      config: shopRead,
    },
    async (request) => listHandler(tenantContext(request), request.query),
  );
  r.post(
    '/api/v1/items',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Create an item',
        body: s.itemCreateBody,
        response: { 201: s.itemResponse, ...errorResponses },
      },
      config: write('catalog.item.create'),
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const row = await deps.items.create(ctx, (await mustConvert(ctx, request.body)) as ItemUpsert);
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(toItem(row));
    },
  );
  r.post(
    '/api/v1/items/bulk',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Upsert up to 1000 items by item_id; invalid rows are reported per row and never block valid ones',
        body: s.bulkBody,
        response: { 200: s.bulkResponse, ...errorResponses },
      },
      config: { ...write('catalog.item.bulk_upsert'), rateGroup: 'ingest' },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const results: z.infer<typeof s.bulkResponse>['results'] = [];
      const good: { index: number; row: ItemUpsert }[] = [];
      for (const [index, raw] of request.body.entries()) {
        const parsed = s.itemCreateBody.safeParse(raw);
        const rawId = typeof raw === 'object' && raw !== null && 'item_id' in raw ? (raw as { item_id: unknown }).item_id : null;
        if (!parsed.success) {
          const errors = parsed.error.issues.map((i) => ({
            field: `[${index}]${i.path.length ? '.' + i.path.join('.') : ''}`,
            message: i.message,
          }));
          results.push({ index, item_id: typeof rawId === 'string' ? rawId : null, status: 'rejected', id: null, errors });
          continue;
        }
        const conv = await convert(ctx, parsed.data, `[${index}].`);
        if (!conv.ok) {
          results.push({ index, item_id: parsed.data.item_id, status: 'rejected', id: null, errors: conv.errors });
          continue;
        }
        good.push({ index, row: conv.value as ItemUpsert });
      }
      const out = await deps.items.upsertAsFound(
        ctx,
        good.map((g) => g.row),
      );
      for (const g of good) {
        const w = out.byItemId.get(g.row.itemId)!;
        // A repeated item_id: the last row wins; earlier ones report the same outcome and id.
        results.push({ index: g.index, item_id: g.row.itemId, status: w.status, id: w.id });
      }
      results.sort((a, b) => a.index - b.index);
      return { inserted: out.inserted, updated: out.updated, rejected: results.filter((x) => x.status === 'rejected').length, results };
    },
  );
  r.get(
    '/api/v1/items/:item_id',
    {
      schema: {
        tags: ['catalog'],
        summary: "Get an item by the store's item_id",
        params: itemIdParams,
        response: { 200: s.itemResponse, ...errorResponses },
      },
      config: shopRead,
    },
    async (request) => toItem(await deps.items.get(tenantContext(request), request.params.item_id, 'item_id')),
  );
  r.put(
    '/api/v1/items/:item_id',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Update an item (fields left out keep their value; null clears)',
        params: itemIdParams,
        body: s.itemUpdateBody,
        response: { 200: s.itemResponse, ...errorResponses },
      },
      config: write('catalog.item.update'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      const cur = await deps.items.get(ctx, request.params.item_id, 'item_id');
      const row = await deps.items.update(ctx, cur.itemId, 'item_id', await mustConvert(ctx, request.body, cur.currency ?? 'USD'));
      request.auditTarget = { resourceId: row.id };
      return toItem(row);
    },
  );
  r.delete(
    '/api/v1/items/:item_id',
    {
      schema: { tags: ['catalog'], summary: 'Delete an item', params: itemIdParams, response: { 204: z.null(), ...errorResponses } },
      config: write('catalog.item.delete'),
    },
    async (request, reply) => {
      const row = await deps.items.remove(tenantContext(request), request.params.item_id, 'item_id');
      request.auditTarget = { resourceId: row.id };
      return reply.code(204).send(null);
    },
  );
}
