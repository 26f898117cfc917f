/**
 * Catalog: items (products/SKUs), categories, Google taxonomy alignment, search. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { type BoundQuery, type PlatformServices, bindQuery } from '../../platform/index.ts';
import type { ItemUpsert } from './catalog.types.ts';
import { createCategoriesRepository } from './categories.repository.ts';
import { createCompletenessRepository } from './completeness.repository.ts';
import { createFeedSourceRepository } from './feed-source.repository.ts';
import { categoryRoutes } from './categories.routes.ts';
import { createCategoriesService } from './categories.service.ts';
import { createItemsRepository } from './items.repository.ts';
import { itemRoutes } from './items.routes.ts';
import { createItemsService } from './items.service.ts';
import { createItemsStatistics } from './items.statistics.ts';
import { createSearchRepository } from './search.repository.ts';
import { searchRoutes } from './search.routes.ts';
import { type ServingRepository as ServingQueries, createServingRepository } from './serving.repository.ts';
import { createSellableRepository } from './sellable.repository.ts';
import { createSearchService } from './search.service.ts';
import { createTaxonomyRepository } from './taxonomy.repository.ts';
import { taxonomyRoutes } from './taxonomy.routes.ts';
import { createTaxonomyService } from './taxonomy.service.ts';

export type { ItemUpsert } from './catalog.types.ts';
export type { SellableItem, SellableRepository } from './sellable.repository.ts';
export { parseSellableJson } from './sellable.repository.ts';
export type { FeedItemRow, ServingItemRow } from './serving.repository.ts';
/** Read-only views of items for the recommender and the newsfeed, bound to the database (the public shape other modules call). */
export type ServingRepository = BoundQuery<ServingQueries>;

export interface CatalogApi {
  /** Set-based upsert by (tenant, item_id): last write wins. */
  upsertItems(tenantId: string, rows: ItemUpsert[]): Promise<{ inserted: number; updated: number }>;
}

/** Items written in this process: their ids, or null when a write touched items of unknown ids. */
export type ItemsChangedListener = (tenantId: string, itemIds: readonly string[] | null) => void;

export function createCatalogModule(platform: PlatformServices) {
  const itemsRepo = createItemsRepository();
  const categoriesRepo = createCategoriesRepository();
  const taxonomyRepo = createTaxonomyRepository();
  const listeners: ItemsChangedListener[] = [];
  const changed = (tenantId: string, itemIds: readonly string[] | null) => {
    for (const l of listeners) l(tenantId, itemIds);
  };
  const statistics = createItemsStatistics({ analyze: () => itemsRepo.analyze(platform.db), log: platform.log });
  const items = createItemsService({
    db: platform.db,
    items: itemsRepo,
    categories: categoriesRepo,
    clock: platform.clock,
    onChanged: (tenantId, itemIds) => {
      statistics.written(itemIds.length);
      changed(tenantId, itemIds);
    },
  });
  const taxonomy = createTaxonomyService({ db: platform.db, repo: taxonomyRepo });
  const categories = createCategoriesService({
    db: platform.db,
    repo: categoriesRepo,
    taxonomyRepo,
    taxonomy,
    clock: platform.clock,
    onItemsMoved: (tenantId) => changed(tenantId, null),
  });
  const search = createSearchService({ db: platform.db, repo: createSearchRepository() });
  const api: CatalogApi = {
    /**
     * Upserts items by (tenant, item_id) in set-based statements (10k rows per statement). Within one call
     * the last row of a repeated item_id wins, and counts are per distinct item_id. Categories given as a
     * path or a name are created as needed. Callers validate rows first (money in minor units, a currency
     * code of three letters; USD is assumed when a price comes without one).
     */
    async upsertItems(tenantId: string, rows: ItemUpsert[]): Promise<{ inserted: number; updated: number }> {
      const out = await items.upsert(tenantId, rows);
      return { inserted: out.inserted, updated: out.updated };
    },
  };
  return {
    ...api,
    /**
     * One item by Loupe's id or the store's item_id, or null (another tenant's id answers null too). For
     * pricing's product page: the product a shopper opens may be a catalog item.
     */
    findItem: (tenantId: string, ref: string) => itemsRepo.getByIdOrItemId(platform.db, tenantId, ref).then((row) => row ?? null),
    /** Planner statistics of items after bulk writes: `settle` waits for a due ANALYZE, `stop` ends them (shutdown). */
    statistics: { settle: () => statistics.settle(), stop: () => statistics.stop() },
    /** Calls `listener` after every committed item write in this process (serving caches keep fresh with it). */
    onItemsChanged(listener: ItemsChangedListener): void {
      listeners.push(listener);
    },
    /** How complete the tenant's catalog is (item counts per filled field), for the data-quality dashboard. */
    completeness: bindQuery(platform.db, createCompletenessRepository()).completeness,
    /** Read-only views of items for the recommender: serving columns, change marker, content fields, active count. */
    serving: bindQuery(platform.db, createServingRepository()),
    /** Items as commerce sees them (price now, sellable or not) and stock taken or returned in the caller's transaction. */
    sellable: createSellableRepository(),
    /** The active catalog as product-feed rows (the visibility module builds Google feeds from them). */
    feedSource: createFeedSourceRepository(),
    /** Google taxonomy id -> full path, every loaded category (loads the bundled taxonomy first if needed). */
    async googleTaxonomyPaths(): Promise<Map<number, string>> {
      await taxonomy.ensureLoaded();
      return taxonomyRepo.allPaths(platform.db);
    },
    /** Loads Google's taxonomy-with-ids file from a path or an http(s) URL (CLI, admin endpoint). */
    loadGoogleTaxonomy: (source: string) => taxonomy.loadFrom(source),
    async routes(app: FastifyInstance): Promise<void> {
      // Search first: its static paths (/items/search) sit beside the parametric /items/:item_id.
      await searchRoutes(app, { search });
      await itemRoutes(app, { items, categories: bindQuery(platform.db, categoriesRepo) });
      await categoryRoutes(app, { categories });
      await taxonomyRoutes(app, { taxonomy });
    },
  };
}
export type CatalogModule = ReturnType<typeof createCatalogModule>;
/** The warehouse export's reads of items (the warehouse module's `WarehouseSource` port). */
export { createItemsWarehouseSource } from './warehouse-source.repository.ts';
/** The warehouse marts' reads of items (the warehouse module's `MartSources.products` port). */
export { createProductsMartSource } from './marts-source.repository.ts';
