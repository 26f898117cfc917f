/**
 * Predictions: customer-lifetime value, churn, segments and demand forecasts over profiles and their orders.
 * Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { registerPredictionsJobs } from './predictions.jobs.ts';
import { createPredictionsRepository } from './predictions.repository.ts';
import { predictionsRoutes } from './predictions.routes.ts';
import { createPredictionsService } from './predictions.service.ts';
import type { PredictionsPorts } from './predictions.types.ts';

export { parseClvSummary, parseSeries, parseTransactions } from './predictions.files.ts';
export { churnFromTransactions, fitClvSummary, ordersByCustomer, scoreChurn, trainChurn } from './predictions.offline.ts';
export { parseDay } from './predictions.files.ts';
/** For bench/predictions/churn-features: the churn trainer on chosen input columns. */
export { churnDataset, evaluateChurn } from './churn.core.ts';
export { CHURN_INPUT_NAMES, fnv1a } from './features.core.ts';
export { compareItemForecasts, evaluateForecast, forecastSeriesFile } from './predictions.forecast.ts';
export type { PredictionsPorts } from './predictions.types.ts';
/** For bench/predictions/training-loop: the training run in its worker thread, as the job starts it. */
export { trainInWorker } from './training.thread.ts';
export type { CustomerOrders } from './features.core.ts';

export function createPredictionsModule(platform: PlatformServices, deps: PredictionsPorts) {
  const repo = createPredictionsRepository();
  const service = createPredictionsService({
    ...deps,
    db: platform.db,
    repo,
    clock: platform.clock,
    log: platform.log,
    historyRetentionDays: platform.config.predictions.historyRetentionDays,
    trainingNice: platform.config.jobs.trainingNice,
    // On PostgreSQL another process (a replica, a worker) may write orders too: the cache then reads change markers.
    cache: {
      maxProfiles: platform.config.predictions.cacheProfiles,
      maxTenants: platform.config.predictions.cacheTenants,
      settleMs: platform.config.predictions.cacheSettleMs,
      overlapMs: platform.config.predictions.cacheOverlapMs,
      shared: platform.databaseKind === 'postgres',
    },
  });
  registerPredictionsJobs(platform.jobs, service, platform.clock);
  return {
    /** The `/predict/*` serving cache: size per tenant and hit counts, for tests and benches. */
    servingCache: { size: service.servingCache.size, stats: service.servingCache.stats },
    /** A training run without the queue (the job calls the same): for the CLI and tests. */
    train: service.train,
    /** Profile ids in a named RFM segment, for analytics, experiments and sponsored targeting. */
    profilesInSegment: service.profilesInSegment,
    /** Each profile's scored RFM segment (the newsfeed's sponsored targeting reads it through a port). */
    segmentsOfProfiles: service.segmentsOfProfiles,
    /** Identity's erasure step: nothing predicted about an erased person is kept. */
    eraseProfiles: (q: Parameters<typeof repo.eraseProfiles>[0], tenantId: string, profileIds: readonly string[]) =>
      repo.eraseProfiles(q, tenantId, profileIds),
    async routes(app: FastifyInstance): Promise<void> {
      await predictionsRoutes(app, { service, jobs: platform.jobs });
    },
  };
}
/** Scores and RFM segments for analytics' saved cohorts (analytics' `CohortSources` port). */
export { createCohortScoresSource } from './cohort-source.repository.ts';
