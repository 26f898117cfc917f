/**
 * Experiments: A/B/n tests with GrowthBook-grade statistics (seed 000's experiment service, seed 003's
 * "test different recommendation strategies"). Assignment, metric events, reports, and the pure statistics
 * core behind `loupe experiments analyze`; feature flags on the same engine, served to GrowthBook SDKs for
 * local evaluation. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, ScheduledTask } from '../../platform/index.ts';
import { AppError } from '../../platform/index.ts';
import { createAssignService, EXPOSURE_BACKLOG } from './assign.service.ts';
import { createExperimentsRepository } from './experiments.repository.ts';
import { experimentsRoutes } from './experiments.routes.ts';
import { createExperimentsService } from './experiments.service.ts';
import { createFlagsRepository } from './flags.repository.ts';
import { flagsRoutes } from './flags.routes.ts';
import { createFlagsService } from './flags.service.ts';
import { createReportService } from './report.service.ts';
import { createTrackingService } from './tracking.service.ts';
import { createUnitResolver, type ProfileLookup } from './units.ts';
import type { ConnectorMetricEvents } from './experiments.types.ts';
import { eraseUnits } from './erasure.repository.ts';
import { createBanditService } from './bandit.service.ts';
import { registerExperimentsJobs } from './experiments.jobs.ts';
import { createRollupsRepository } from './rollups.repository.ts';
import { createRollupsService } from './rollups.service.ts';
import { type CohortPort, createAudienceService } from './audience.service.ts';

export { analyze } from './analyze.core.ts';
export { analyzeBody, toAnalyzeInput, toAnalyzeResponse } from './analyze.schemas.ts';

/** A user's variant of one experiment, for another module's serving path. */
export interface ExperimentVariant {
  experimentId: string | null;
  variantKey: string;
  config: unknown;
  inExperiment: boolean;
}

const NOT_IN_EXPERIMENT: ExperimentVariant = { experimentId: null, variantKey: 'control', config: {}, inExperiment: false };

export interface ExperimentsModuleDeps {
  /** identity's read-only lookup of the profile behind a user or anonymous id (sticky assignment across devices). */
  lookupProfiles: ProfileLookup;
  /** events' interactions as metric events (metrics defined with `sources`: Shopify purchases, Segment tracks ...). */
  connectorEvents?: ConnectorMetricEvents;
  /** analytics' saved cohorts, for experiments whose audience is a cohort (`{"$inCohort": id}` targeting). */
  cohorts?: CohortPort;
}
export type { CohortPort } from './audience.service.ts';

export function createExperimentsModule(platform: PlatformServices, deps: ExperimentsModuleDeps) {
  const repo = createExperimentsRepository(deps.connectorEvents);
  const units = createUnitResolver(deps.lookupProfiles);
  const audience = createAudienceService(deps.cohorts);
  const assign = createAssignService({ db: platform.db, repo, units, clock: platform.clock, log: platform.log, audience });
  const onChanged = (tenantId: string) => {
    assign.invalidate(tenantId);
    flags.invalidate(tenantId);
  };
  const bandits = createBanditService({
    db: platform.db,
    repo,
    clock: platform.clock,
    onChanged,
    flushExposures: () => assign.flush(),
  });
  const jobs = registerExperimentsJobs(platform.jobs, bandits);
  const experiments = createExperimentsService({
    db: platform.db,
    repo,
    clock: platform.clock,
    onChanged,
    onBanditStarted: jobs.scheduleBandit,
    // The final refresh of a stopped experiment, to the end (in batches): its report is then complete.
    onStopped: async (tenantId, e) => {
      await assign.flush();
      await rollups.refresh(tenantId, e);
    },
    checkTargeting: audience.check,
  });
  const flags = createFlagsService({ db: platform.db, repo: createFlagsRepository(), assign, clock: platform.clock });
  const tracking = createTrackingService({ db: platform.db, repo, units, clock: platform.clock });
  const rollups = createRollupsService({
    db: platform.db,
    repo: createRollupsRepository(),
    clock: platform.clock,
    refreshBatch: platform.config.experiments.refreshBatch,
  });
  const { refreshBudgetMs, refreshEveryMs } = platform.config.experiments;
  const reports = createReportService({
    db: platform.db,
    repo,
    experiments,
    bandits,
    rollups,
    flushExposures: () => assign.flush(),
    clock: platform.clock,
    refreshBudgetMs,
  });
  let turn = 0;
  /**
   * The scheduled task: brings the rollups of every running experiment (and of stopped ones still inside their
   * conversion window) towards now, one bounded batch (its own
   * transaction) at a time, tenants taking turns: each round gives every tenant with work one batch of its current
   * experiment, so one tenant's huge backlog delays the others by a batch per round, not by its whole backlog. Stops
   * after `budget` (default: `refreshBudgetMs` of batches); the next run goes on from each experiment's cursor, and
   * starts its rounds one tenant further on. A failing experiment is logged and skipped, not fatal.
   * `units`: units recomputed; `behind`: experiments the budget left unfinished.
   */
  async function refreshRollups(
    budget: { maxBatches?: number; deadline?: number } = {},
  ): Promise<{ experiments: number; failed: number; units: number; batches: number; behind: number }> {
    const deadline = budget.deadline ?? performance.now() + refreshBudgetMs;
    await assign.flush();
    const running = await rollups.experimentsToRefresh();
    const byTenant = new Map<string, string[]>();
    for (const r of running) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r.id]);
    const tenants = [...byTenant.keys()];
    const start = tenants.length ? turn++ % tenants.length : 0;
    const queues = [...tenants.slice(start), ...tenants.slice(0, start)].map((t) => ({ tenantId: t, ids: byTenant.get(t)! }));
    let [failed, units, batches] = [0, 0, 0];
    const out = () => batches >= (budget.maxBatches ?? Number.POSITIVE_INFINITY) || performance.now() >= deadline;
    while (queues.length && !out()) {
      for (const q of [...queues]) {
        if (out()) break;
        const id = q.ids[0]!;
        try {
          const r = await rollups.step(q.tenantId, await experiments.load(q.tenantId, id));
          batches++;
          units += r.units;
          if (r.done) q.ids.shift();
        } catch (err) {
          failed++;
          q.ids.shift();
          platform.log.error({ err, tenantId: q.tenantId, experimentId: id }, 'experiment rollup refresh failed');
        }
        if (!q.ids.length) queues.splice(queues.indexOf(q), 1);
      }
    }
    return { experiments: running.length, failed, units, batches, behind: queues.reduce((s, q) => s + q.ids.length, 0) };
  }
  return {
    /** Erasure step (identity.onErasure): pseudonymizes the person's units in assignments and metric events. */
    erasePerson: eraseUnits,
    /**
     * One experiment's variant for a user, on another module's serving path (the caller's route checked its own
     * permission); the exposure is logged like an API assignment. Unknown or stopped experiment: not in it.
     */
    async variantFor(tenantId: string, experimentKey: string, userId: string): Promise<ExperimentVariant> {
      // Serving paths ask on every request: an experiment that is not running costs a map lookup, nothing more.
      const running = (await assign.experimentsOf(tenantId)).get(experimentKey);
      if (running?.status !== 'running') return NOT_IN_EXPERIMENT;
      let assignments: Awaited<ReturnType<typeof assign.assignIn>>['assignments'];
      try {
        ({ assignments } = await assign.assignIn(tenantId, {
          userId,
          anonymousId: undefined,
          experimentKeys: [experimentKey],
          attributes: {},
          userAgent: undefined,
        }));
      } catch (err) {
        // Exposures backed up: the serving path shows its default rather than failing (and counts nobody).
        if (err instanceof AppError && err.code === EXPOSURE_BACKLOG) return NOT_IN_EXPERIMENT;
        throw err;
      }
      const a = assignments[0]!;
      return {
        experimentId: a.inExperiment ? a.experimentId : null,
        variantKey: a.variantKey,
        config: a.config,
        inExperiment: a.inExperiment,
      };
    },
    /** Brings a running bandit's weights up to its current period (what the scheduled job runs). */
    updateBandit: (tenantId: string, experimentId: string) => bandits.update(tenantId, experimentId),
    /** One run of the rollup refresh task (bounded; tests pass their own budget). */
    refreshRollups,
    scheduledTasks(): ScheduledTask[] {
      return [{ name: 'experiments.refresh-rollups', everyMs: refreshEveryMs, runOnElection: true, run: () => refreshRollups() }];
    },
    /** Stores buffered exposures now (shutdown, tests). */
    flushExposures: () => assign.flush(),
    async routes(app: FastifyInstance): Promise<void> {
      await experimentsRoutes(app, { experiments, assign, tracking, reports });
      await flagsRoutes(app, flags);
    },
  };
}
