/**
 * Bandit experiments: once per period, the weights of a running bandit are recomputed from its primary metric
 * and stored as the period's row (the row's key makes the update happen once per period however many workers
 * race); assignment and the SDK payload then use them. The weights history and the per-period SRM feed the report.
 */
import type { Db } from '../../platform/index.ts';
import type { Posterior } from '../../ml/bandits.ts';
import { banditSrmPValue, banditUpdate, currentPeriod, periodStart } from './bandit.core.ts';
import { type PeriodArmSums, type PeriodWeightedResult, periodWeightedEffects } from './bandit.effects.core.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { BanditPeriod, Experiment, ExperimentRow } from './experiments.types.ts';

export interface BanditServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  clock: () => Date;
  /** Called after new weights were stored (assignment and the flags payload drop their cached configuration). */
  onChanged: (tenantId: string) => void;
  /** Waits until buffered exposures are stored (the update counts them). */
  flushExposures: () => Promise<void>;
}

export interface BanditUpdateOutcome {
  /** The period whose weights now apply. */
  period: number;
  /** Whether this call wrote them (false: the period had its weights already, or it is still the burn-in). */
  written: boolean;
  weights: number[];
  message: string;
  /** When the next period begins. */
  nextUpdateAt: Date;
}

/** The report's view of a bandit: its periods with the units each brought, and the SRM against their weights. */
export interface BanditReport {
  periods: (BanditPeriod & { units: number[] })[];
  srmPValue: number;
  nextUpdateAt: Date | null;
  /**
   * The primary metric's effects weighted by period (GrowthBook's bandit estimate: every arm's per-period means
   * weighted by the same period shares, so traffic moving between arms over time does not bias the comparison).
   */
  effects: (PeriodWeightedResult & { metric: string }) | null;
}

const posteriorOf = (e: ExperimentRow): Posterior => {
  const p = e.bandit?.posterior ?? 'auto';
  if (p !== 'auto') return p;
  return e.metrics.find((m) => m.name === e.primaryMetric)?.type === 'binomial' ? 'beta' : 'gaussian';
};

export function createBanditService(deps: BanditServiceDeps) {
  const { db, repo } = deps;

  /** The primary metric's sums per period and arm, then the period-weighted effects (null without a primary metric). */
  async function weightedEffects(tenantId: string, e: Experiment, boundaries: Date[]): Promise<BanditReport['effects']> {
    const metric = e.metrics.find((m) => m.name === e.primaryMetric);
    if (!metric || metric.type === 'ratio' || e.variants.length < 2) return null;
    const rows = await repo.metricSumsByPeriod(db, tenantId, e.id, metric, {
      windowHours: e.conversionWindowHours,
      currency: e.currency,
      boundaries,
    });
    const k = e.variants.length;
    const cells: PeriodArmSums[][] = boundaries.map(() => Array.from({ length: k }, () => ({ n: 0, sum: 0, sumSquares: 0 })));
    for (const r of rows) {
      const cell = (cells[r.period] ?? cells[cells.length - 1])?.[r.position];
      if (!cell) continue;
      cell.n += r.n;
      cell.sum += r.sum;
      cell.sumSquares += r.sumSquares;
    }
    return { metric: metric.name, ...periodWeightedEffects(cells, e.confidence) };
  }
  return {
    /**
     * Brings a running bandit's weights up to the current period. Null when the experiment is not a running
     * bandit (stopped, archived, unknown: nothing to do). A period missed while the process was down is not
     * replayed: the update computes the period that is current now.
     */
    async update(tenantId: string, experimentId: string): Promise<BanditUpdateOutcome | null> {
      const e = await repo.getExperiment(db, tenantId, experimentId);
      if (!e || e.type !== 'bandit' || !e.bandit || e.status !== 'running' || !e.startedAt) return null;
      const settings = e.bandit;
      const now = deps.clock();
      const k = currentPeriod(e.startedAt, settings, now);
      const nextUpdateAt = periodStart(e.startedAt, settings, k + 1);
      const periods = await repo.banditPeriods(db, tenantId, experimentId);
      const done = periods.find((p) => p.period === k) ?? (k === 0 ? periods[0] : undefined);
      if (done) return { period: done.period, written: false, weights: done.weights, message: done.message, nextUpdateAt };
      const previous = periods[periods.length - 1];
      const metric = e.metrics.find((m) => m.name === e.primaryMetric);
      if (!previous || !metric) return null;
      await deps.flushExposures();
      const sums = await repo.metricSums(db, tenantId, experimentId, metric, {
        windowHours: e.conversionWindowHours,
        currency: e.currency,
      });
      const arms = sums.map((s) => ({ n: s.n, sum: s.sum, sumSquares: s.sumSquares }));
      if (arms.length !== previous.weights.length) return null;
      const u = banditUpdate(arms, previous.weights, { settings, posterior: posteriorOf(e), experimentId, period: k });
      // The period's weights apply from the moment they are stored (assignment picks them up now), not from its
      // nominal start: units that came in between were assigned by the previous weights and count against them.
      const row: BanditPeriod = {
        period: k,
        startedAt: now,
        weights: u.weights,
        bestArmProbabilities: u.bestArmProbabilities,
        arms,
        message: u.message,
      };
      const written = await repo.insertBanditPeriod(db, tenantId, experimentId, row);
      if (written) {
        deps.onChanged(tenantId);
        return { period: k, written, weights: u.weights, message: u.message, nextUpdateAt };
      }
      // Another worker stored this period first: its weights are the period's.
      const stored = (await repo.banditPeriods(db, tenantId, experimentId)).find((p) => p.period === k);
      return { period: k, written: false, weights: stored?.weights ?? u.weights, message: stored?.message ?? u.message, nextUpdateAt };
    },

    /** When the update job should next run for the bandit: now if the current period lacks weights, else the next period's start. */
    async nextRun(tenantId: string, experimentId: string): Promise<{ at: Date; period: number } | null> {
      const e = await repo.getExperiment(db, tenantId, experimentId);
      if (!e || e.type !== 'bandit' || !e.bandit || e.status !== 'running' || !e.startedAt) return null;
      const now = deps.clock();
      const k = currentPeriod(e.startedAt, e.bandit, now);
      const periods = await repo.banditPeriods(db, tenantId, experimentId);
      if (k > 0 && !periods.some((p) => p.period === k)) return { at: now, period: k };
      return { at: periodStart(e.startedAt, e.bandit, k + 1), period: k + 1 };
    },

    /** Weights over time and the SRM of each period's new units against that period's weights. */
    async report(tenantId: string, e: Experiment): Promise<BanditReport | null> {
      if (e.type !== 'bandit' || !e.bandit) return null;
      const periods = await repo.banditPeriods(db, tenantId, e.id);
      if (!periods.length) return { periods: [], srmPValue: 1, nextUpdateAt: null, effects: null };
      const counts = await repo.unitsPerPeriod(
        db,
        tenantId,
        e.id,
        periods.map((p) => p.startedAt),
      );
      const k = e.variants.length;
      const withUnits = periods.map((p) => ({ ...p, units: new Array<number>(k).fill(0) }));
      for (const c of counts) {
        // a unit exposed before the first boundary (clock skew) counts in period 0
        const p = withUnits[Math.max(0, c.period)] ?? withUnits[withUnits.length - 1];
        if (p && c.position < k) p.units[c.position] = (p.units[c.position] as number) + c.n;
      }
      const srmPValue = banditSrmPValue(withUnits.map((p) => ({ weights: p.weights, counts: p.units })));
      const nextUpdateAt =
        e.status === 'running' && e.startedAt
          ? periodStart(e.startedAt, e.bandit, currentPeriod(e.startedAt, e.bandit, deps.clock()) + 1)
          : null;
      return {
        periods: withUnits,
        srmPValue,
        nextUpdateAt,
        effects: await weightedEffects(
          tenantId,
          e,
          periods.map((p) => p.startedAt),
        ),
      };
    },
  };
}
export type BanditService = ReturnType<typeof createBanditService>;
