import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, tenantContext, validation } from '../../platform/index.ts';
import { PRICE_BANDS, decodeCursor, encodeCursor } from './catalog.core.ts';
import { toItem } from './catalog.mappers.ts';
import * as s from './catalog.schemas.ts';
import { toFilters } from './items.routes.ts';
import type { SearchService } from './search.service.ts';

const isOffset = (v: unknown): v is { o: number } =>
  typeof v === 'object' &&
  v !== null &&
  Number.isInteger((v as { o: unknown }).o) &&
  (v as { o: number }).o >= 0 &&
  (v as { o: number }).o <= 10_000;

/** Search (seed 001) under the key-scoped items namespace and the seed 004 tenant path. */
export async function searchRoutes(app: FastifyInstance, deps: { search: SearchService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = { auth: { kind: 'tenant', permission: 'catalog:read', publishable: true }, rateGroup: 'serving' } as const;
  const params = z.object({ tenantId: z.string().max(100).optional() });

  for (const base of ['/api/v1/items', '/api/v1/tenants/:tenantId/inventory']) {
    r.get(
      `${base}/search`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Full-text item search with typo tolerance, facets and filters',
          params,
          querystring: s.searchQuery,
          response: { 200: s.searchResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => {
        const q = request.query;
        const cur = q.cursor === undefined ? { o: 0 } : decodeCursor(q.cursor, isOffset);
        if (!cur) throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
        const out = await deps.search.search(tenantContext(request), q.q, toFilters(q), { offset: cur.o, limit: q.limit });
        const next = cur.o + out.rows.length;
        const counts = new Map(out.facets.priceBands.map((b) => [b.key, b.count]));
        return {
          query: q.q,
          mode: out.mode,
          total: out.total,
          data: out.rows.map((row) => ({ ...toItem(row), score: row.score })),
          facets: {
            categories: out.facets.categories,
            brands: out.facets.brands,
            price_bands: PRICE_BANDS.filter((b) => counts.has(b.key)).map((b) => ({
              key: b.key,
              from: b.from,
              to: b.to,
              count: counts.get(b.key)!,
            })),
          },
          next_cursor: next < out.total && next <= 10_000 ? encodeCursor({ o: next }) : null,
        };
      },
    );
    r.get(
      `${base}/autocomplete`,
      {
        schema: {
          tags: ['catalog'],
          summary: 'Prefix autocomplete over item names and brands',
          params,
          querystring: s.autocompleteQuery,
          response: { 200: s.autocompleteResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => {
        const out = await deps.search.autocomplete(tenantContext(request), request.query.q, request.query.limit);
        return {
          query: request.query.q,
          suggestions: [
            ...out.brands.map((b) => ({ type: 'brand' as const, text: b, item_id: null })),
            ...out.names.map((n) => ({ type: 'item' as const, text: n.name, item_id: n.itemId })),
          ],
        };
      },
    );
  }
}
