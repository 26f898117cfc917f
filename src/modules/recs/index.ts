/**
 * Recs: training jobs, offline evaluation, model registry, serving, real-time updates. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { AppError, type PlatformServices, type TenantContext } from '../../platform/index.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { InteractionsRepository } from '../events/index.ts';
import type { RecsCatalogPort, RecsEventsPort } from './recs.types.ts';
import { createRecsRepository } from './recs.repository.ts';
import { recsRoutes } from './recs.routes.ts';
import { type CatalogFields, createServingService } from './serving/serving.service.ts';
import { createRegistryService } from './registry/registry.service.ts';
import { createTrainingService } from './training/training.service.ts';
import { eraseServedUsers } from './erasure.repository.ts';

export type { RecsCatalogPort, RecsEventsPort } from './recs.types.ts';
export type { CatalogFields } from './serving/serving.service.ts';
export { modelExperimentFrom } from './recs.adapters.ts';
/** The serving cache alone, for `bench/recs-serving/serving-cache.bench.ts` (its event-loop and heap costs). */
export { createServingCache, type ServingCacheDeps } from './serving/history.cache.ts';

export interface RecsModuleDeps {
  catalog: Pick<CatalogModule, 'onItemsChanged'>;
  /** Catalog's read-only item views (items are catalog's table). */
  catalogReads: RecsCatalogPort;
  /** Events' read-only interaction views (interactions are events' table). */
  history: RecsEventsPort;
  /** Tenancy's tenant settings (`{}` for an unknown tenant). */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  interactions: InteractionsRepository;
  /** Interactions written in this process, so serving re-reads those users' histories at once. */
  onInteractionsAppended(listener: (tenantId: string, userIds: readonly string[]) => void): void;
  /** The model version a running recommender experiment serves the user (see `modelExperimentFrom`), or null. */
  modelExperiment?: (tenantId: string, userId: string) => Promise<string | null>;
}

export function createRecsModule(platform: PlatformServices, deps: RecsModuleDeps) {
  const repo = createRecsRepository({ events: deps.history, catalog: deps.catalogReads, tenantSettings: deps.tenantSettings });
  // On PostgreSQL another process (a replica, a worker) may write too: serving caches then also read change markers.
  const serving = createServingService({
    clock: platform.clock,
    db: platform.db,
    repo,
    storage: platform.storage,
    log: platform.log,
    shared: platform.databaseKind === 'postgres',
    ...(deps.modelExperiment ? { modelExperiment: deps.modelExperiment } : {}),
  });
  deps.catalog.onItemsChanged((tenantId, itemIds) => serving.itemsChanged(tenantId, itemIds));
  deps.onInteractionsAppended((tenantId, userIds) => serving.interactionsAppended(tenantId, userIds));
  const registry = createRegistryService({
    db: platform.db,
    repo,
    jobs: platform.jobs,
    storage: platform.storage,
    clock: platform.clock,
    onDeploymentChanged: (tenantId) => serving.invalidate(tenantId),
  });
  registry.register();
  const training = createTrainingService({
    db: platform.db,
    repo,
    interactions: deps.interactions,
    jobs: platform.jobs,
    storage: platform.storage,
    clock: platform.clock,
    onDeploymentChanged: (tenantId) => serving.invalidate(tenantId),
    registry,
    trainingNice: platform.config.jobs.trainingNice,
  });
  training.register();
  return {
    /** Erasure step (identity.onErasure): forgets whom recommendations were served to. */
    erasePerson: eraseServedUsers,
    /**
     * Serving for other modules (the newsfeed): a user's recommendations (popular items without a user), and
     * items similar to one item ([] when the item is unknown). Empty while no model is deployed: the API's cold-start
     * answers (trending, catalog order, content similarity) are for shoppers of a store with nothing else to show,
     * and the newsfeed has sources of its own for those (its trending and new-arrival modules, shown-item rules).
     */
    async recommendFor(ctx: TenantContext, req: { userId?: string | undefined; count: number }): Promise<CatalogFields[]> {
      // Without a deployment the answer is a cold start, which this entry never returns: not computed (a scan of
      // the catalog per call) and not recorded as served.
      if (!(await serving.hasDeployment(ctx.tenantId))) return [];
      const out = await serving.recommend(ctx, { userId: req.userId, count: req.count, filters: {}, context: { page: 'newsfeed' } });
      return out.strategy === 'personalized' || out.strategy === 'popularity' ? out.items : [];
    },
    async similarTo(ctx: TenantContext, itemId: string, count: number): Promise<CatalogFields[]> {
      try {
        const out = await serving.similar(ctx, { itemId, count, filters: {} });
        return out.strategy === 'item_similarity' ? out.items : [];
      } catch (err) {
        if (err instanceof AppError && err.code === 'RECS_ITEM_NOT_FOUND') return [];
        throw err;
      }
    },
    /**
     * Whether serving holds the tenant's catalog, so a recommendation answers without loading it first (seconds for
     * a large catalog after a restart). When it does not, the load starts in the background and this answers false.
     */
    servingReady: (tenantId: string): boolean => serving.catalogReady(tenantId),
    /** The registry's versions, newest first, with their deployment status (for the model list beside other modules' models). */
    async modelVersions(ctx: TenantContext, limit = 100) {
      const [versions, dep] = await Promise.all([registry.listVersions(ctx, limit), registry.deployment(ctx)]);
      return versions.map((v) => ({
        id: v.id,
        version: v.version,
        modelType: v.modelType,
        metrics: v.metrics,
        createdAt: v.createdAt,
        status:
          dep?.activeVersionId === v.id
            ? 'active'
            : dep?.canaryVersionId === v.id
              ? 'canary'
              : dep?.previousVersionId === v.id
                ? 'previous'
                : 'inactive',
      }));
    },
    /** Serving statistics of this process (cache hits and misses). */
    servingStats: serving.stats,
    /** Resolves once every response served so far has its recs_served row (written in batches). */
    flushServed: serving.flushServed,
    async routes(app: FastifyInstance): Promise<void> {
      await recsRoutes(app, { clock: platform.clock, db: platform.db, training, registry, serving, repo });
    },
  };
}
export { EVAL_MODELS, evaluateModel } from './training/dataset.eval.ts';
export type RecsModule = ReturnType<typeof createRecsModule>;
