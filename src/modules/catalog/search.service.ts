import type { Q, TenantContext } from '../../platform/index.ts';
import { normalizeSearchText, typoTsquery } from './catalog.core.ts';
import type { ItemFilters } from './items.repository.ts';
import type { SearchMatch, SearchRepository } from './search.repository.ts';

/** Below this many full-text matches the search also tries typo-tolerant trigram matching. */
const FUZZY_BELOW = 3;

export function createSearchService(deps: { db: Q; repo: SearchRepository }) {
  const { repo, db } = deps;
  return {
    /**
     * Full-text search (weighted: name > brand, tags, category > description); an item whose id is the
     * query (a SKU) matches in every mode and comes first. When full text finds fewer than FUZZY_BELOW
     * items, the words are retried with a letter dropped or two neighbours swapped ("lantren" finds
     * "lantern": a few GIN lookups), then as trigram word similarity of names, and the mode says
     * `fuzzy` when a typo-tolerant pass answered.
     */
    async search(ctx: TenantContext, q: string, f: ItemFilters, page: { offset: number; limit: number }) {
      let match: SearchMatch = { mode: 'fulltext' };
      let counted = await repo.facets(db, ctx.tenantId, match, q, f);
      const typo = typoTsquery(q);
      const fallbacks: SearchMatch[] = [...(typo ? [{ mode: 'typo', tsquery: typo } as const] : []), { mode: 'trigram' }];
      for (const next of fallbacks) {
        if (counted.total >= FUZZY_BELOW) break;
        const tried = await repo.facets(db, ctx.tenantId, next, q, f);
        if (tried.total > counted.total) {
          match = next;
          counted = tried;
        }
      }
      const rows = counted.total > page.offset ? await repo.search(db, ctx.tenantId, match, q, f, page) : [];
      const mode: 'fulltext' | 'fuzzy' = match.mode === 'fulltext' ? 'fulltext' : 'fuzzy';
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
