/**
 * Analytics: seed 000's reports (sessions, page views, top pages, funnel, cart abandonment, realtime, a
 * session's timeline), commerce KPIs, one item's sales, retention cohorts and paths over the tracking rows events owns, read through `AnalyticsEventsPort`. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, Q } from '../../platform/index.ts';
import { analyticsRoutes } from './analytics.routes.ts';
import { createAnalyticsService } from './analytics.service.ts';
import { createKpisService } from './kpis.service.ts';
import { createBehaviourService } from './behaviour.service.ts';
import { createItemSalesService } from './item-sales.service.ts';
import type { AnalyticsPorts } from './analytics.types.ts';
import { createCohortsRepository } from './cohorts.repository.ts';
import { cohortsRoutes } from './cohorts.routes.ts';
import { createCohortsService } from './cohorts.service.ts';
import { createFunnelRollupsRepository } from './funnel-rollups.repository.ts';
import { createFunnelRollupsService } from './funnel-rollups.service.ts';
import { createReportRollupsRepository } from './report-rollups.repository.ts';
import { createReportRollupsService } from './report-rollups.service.ts';
import { createRollupBuilds } from './rollup-builds.queue.ts';

/** Every report is a read that may lag by the replica's bound: all of them read through `platform.reader`. */
export function createAnalyticsModule(platform: PlatformServices, deps: AnalyticsPorts) {
  // Refreshes write on the primary; reads go through the reader like every report. A first build that outlasts the
  // wait goes on in the background (rollup-builds.queue.ts).
  const builds = createRollupBuilds({ waitMs: deps.rollupBuildWaitMs ?? 2000, log: platform.log });
  const funnelRollups = createFunnelRollupsService({
    db: platform.db,
    reader: platform.reader,
    repo: createFunnelRollupsRepository(deps.funnelRollups),
    clock: platform.clock,
    builds,
  });
  const reportRollups = deps.reportRollups
    ? createReportRollupsService({
        db: platform.db,
        reader: platform.reader,
        repo: createReportRollupsRepository(deps.reportRollups),
        clock: platform.clock,
        builds,
      })
    : undefined;
  const analytics = createAnalyticsService({
    db: platform.reader,
    events: deps.events,
    funnelRollups,
    reportRollups,
    rollupReads: deps.rollupReads ?? false,
    pageRollupReads: platform.databaseKind === 'postgres',
    tenantSettings: deps.tenantSettings,
    clock: platform.clock,
  });
  const kpis = createKpisService({
    db: platform.reader,
    events: deps.events,
    orders: deps.orders,
    tenantSettings: deps.tenantSettings,
    clock: platform.clock,
  });
  const behaviour = createBehaviourService({
    db: platform.reader,
    events: deps.events,
    tenantSettings: deps.tenantSettings,
    clock: platform.clock,
  });
  const itemSales = createItemSalesService({
    db: platform.reader,
    events: deps.events,
    tenantSettings: deps.tenantSettings,
    clock: platform.clock,
  });
  const cohorts = createCohortsService({
    db: platform.db,
    repo: createCohortsRepository(deps.cohorts),
    clock: platform.clock,
    profileChanges: deps.profileChanges,
    profileLookup: deps.profileLookup,
    // PostgreSQL: another process may save a cohort or change a profile; the membership cache reads change markers
    shared: platform.databaseKind === 'postgres',
  });
  return {
    /** The reports, for other modules and the CLI (tenant context first). */
    reports: analytics,
    /**
     * Saved cohorts for other modules (experiments' targeting, predictions, sponsored audiences): the one interface
     * they call, with a tenant id they hold. `membersAmong(tenantId, cohortId, profileIds)` -> the members among
     * them now (one statement); `members(tenantId, cohortId, { after, limit })` -> profile ids in id order (keyset);
     * `cohortsOfProfile(tenantId, profileId)` -> the saved cohorts the profile is in now; `known(tenantId, ids)` -> which
     * ids are saved cohorts of the tenant; `profileIn(tenantId, profileId, ids)` -> which of them hold the profile now
     * (the targeting checks of experiments and sponsored campaigns; answers cached a few seconds, cohorts.cache.ts);
     * `profileOfUser(tenantId, userId)` -> identity's profile for a user id, kept beside the answers (serving paths);
     * `userIn(tenantId, userId, ids)` -> profileIn for the person behind a user id. An
     * unknown cohort (or another tenant's) throws ANALYTICS_COHORT_NOT_FOUND. Members are evaluated on each call, never
     * stored (profileIn's answers are kept in memory only).
     */
    cohorts: cohorts.forModules,
    /** Ordered per-session funnel rollups (`refresh`, `read`, `funnel`), for benches and tests. */
    funnelRollups,
    /** Session, page and cart hour rollups (`refresh`, reads), for benches and tests; undefined when not wired. */
    reportRollups,
    /** Resolves when the first builds running in the background have ended (tests; shutdown does not wait for them). */
    rollupBuildsIdle: builds.idle,
    /**
     * Erasure step (identity.onErasure): funnel rollup rows of the person's renamed sessions take the new ids; the
     * report rollups recount the hours of the renamed sessions.
     */
    async erasePerson(tx: Q, tenantId: string): Promise<void> {
      await funnelRollups.erasePerson(tx, tenantId);
      await reportRollups?.erasePerson(tx, tenantId);
    },
    async routes(app: FastifyInstance): Promise<void> {
      await analyticsRoutes(app, { analytics, kpis, behaviour, itemSales });
      await cohortsRoutes(app, { cohorts });
    },
  };
}
/** The funnel core (pure): per-entity attempts over occurrences, for benches and other modules' reports. */
export { computeFunnel } from './funnel.core.ts';
/** Paths' edges from the grouped cut paths events returns (pure), for benches. */
export { pathEdges } from './behaviour.core.ts';
export type { FunnelSpec } from './funnel.core.ts';
/** Funnel rollups outside an app (bench/analytics): the service over its repository and events' SQL pieces. */
export { createFunnelRollupsRepository } from './funnel-rollups.repository.ts';
export { createFunnelRollupsService } from './funnel-rollups.service.ts';
/** Report rollups outside an app (bench/analytics). */
export { createReportRollupsRepository } from './report-rollups.repository.ts';
export { createReportRollupsService } from './report-rollups.service.ts';
