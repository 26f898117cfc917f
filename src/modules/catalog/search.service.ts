import type { Q, TenantContext } from '../../platform/index.ts';
import { normalizeSearchText } from './catalog.core.ts';
import type { ItemFilters } from './items.repository.ts';
import type { SearchMode, SearchRepository } from './search.repository.ts';

/** Below this many full-text matches the search also tries typo-tolerant trigram matching. */
const FUZZY_BELOW = 3;

export function createSearchService(deps: { db: Q; repo: SearchRepository }) {
  const { repo, db } = deps;
  return {
    /**
     * Full-text search (weighted: name > brand, tags, category > description). When it finds fewer than
     * FUZZY_BELOW items the query is retried as trigram word similarity on names ("hedphones" finds
     * "Headphones"), and the mode says which answered.
     */
    async search(ctx: TenantContext, q: string, f: ItemFilters, page: { offset: number; limit: number }) {
      let mode: SearchMode = 'fulltext';
      let counted = await repo.facets(db, ctx.tenantId, mode, q, f);
      if (counted.total < FUZZY_BELOW) {
        const fuzzy = await repo.facets(db, ctx.tenantId, 'fuzzy', q, f);
        if (fuzzy.total > counted.total) {
          mode = 'fuzzy';
          counted = fuzzy;
        }
      }
      const rows = counted.total > page.offset ? await repo.search(db, ctx.tenantId, mode, q, f, page) : [];
      return { mode, total: counted.total, facets: counted.facets, rows };
    },

    async autocomplete(ctx: TenantContext, q: string, limit: number) {
      const prefix = normalizeSearchText(q);
      if (!prefix) return { names: [], brands: [] };
      return repo.autocomplete(db, ctx.tenantId, prefix, limit);
    },
  };
}
export type SearchService = ReturnType<typeof createSearchService>;
