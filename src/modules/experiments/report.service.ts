/**
 * Results of an experiment from its stored assignments and metric events: per metric the statistics core's
 * analysis, the SRM check, warnings in plain words, and a decision the dashboard can show.
 */
import { type Db, type TenantContext, requirePermission } from '../../platform/index.ts';
import { analyze, type MetricResult } from './analyze.core.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { ExperimentsService } from './experiments.service.ts';
import type { BanditReport, BanditService } from './bandit.service.ts';
import type { Experiment } from './experiments.types.ts';
import { type Freshness, isRolledUp, type RollupsService } from './rollups.service.ts';

export interface Decision {
  /** ship: a variant wins the primary metric; keep_control: every variant loses; keep_running / inconclusive otherwise. */
  action: 'ship' | 'keep_control' | 'keep_running' | 'inconclusive';
  variantKey: string | null;
  reason: string;
}

export interface Report {
  experiment: Experiment;
  units: { variantKey: string; n: number; exposures: number; expectedWeight: number }[];
  metrics: (MetricResult & { guardrail: boolean; primary: boolean })[];
  srmPValue: number;
  warnings: string[];
  /** Bandits: weights over time and the SRM against each period's weights (which replaces the fixed-weight one). */
  bandit: BanditReport | null;
  decision: Decision;
  /** Where the sums come from and how fresh they are (a raw scan is as of now). */
  freshness: Freshness & { source: ReportSource };
}

export interface ReportServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  experiments: ExperimentsService;
  bandits: BanditService;
  rollups: RollupsService;
  /** Waits until buffered exposures are stored (so a raw or refreshed report includes them). */
  flushExposures: () => Promise<void>;
  clock: () => Date;
  /** How long a forced refresh (`refresh: true`) may run batches before the report answers (ms). */
  refreshBudgetMs: number;
}

/**
 * Where a report's sums come from: `rollup` (default) reads the experiment's rollups as the scheduled refresh left
 * them (never refreshing on the request path); `raw` scans its assignments and events, the reference the rollups are
 * held to (equal to the last digit).
 */
export type ReportSource = 'rollup' | 'raw';

export interface ReportOptions {
  source?: ReportSource;
  /** Runs refresh batches first, for at most `refreshBudgetMs` (needs `experiments:manage`); `freshness` says if it caught up. */
  refresh?: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function decisionOf(e: Experiment, primary: MetricResult | undefined): Decision {
  if (!primary) return { action: 'inconclusive', variantKey: null, reason: 'No primary metric results yet.' };
  const small = [primary.control, ...primary.variants].some((v) => v.belowMinimumSample);
  const bayes = e.engine === 'bayesian';
  const winners = primary.variants.filter((v) =>
    bayes ? (v.chanceToWin ?? 0) >= 0.95 : (v.adjustedPValue ?? 1) < 1 - e.confidence && (v.relativeEffect ?? 0) > 0,
  );
  const losers = primary.variants.filter((v) =>
    bayes ? (v.chanceToWin ?? 1) <= 0.05 : (v.adjustedPValue ?? 1) < 1 - e.confidence && (v.relativeEffect ?? 0) < 0,
  );
  if (primary.srmWarning)
    return {
      action: 'inconclusive',
      variantKey: null,
      reason: 'The traffic split does not match the weights (sample ratio mismatch): fix the assignment before trusting any result.',
    };
  if (small)
    return {
      action: 'keep_running',
      variantKey: null,
      reason: `Fewer than ${e.minimumSampleSize} users in a variant: keep the experiment running.`,
    };
  if (winners.length) {
    const best = winners.reduce((a, b) => ((b.relativeEffect ?? 0) > (a.relativeEffect ?? 0) ? b : a));
    return {
      action: 'ship',
      variantKey: best.name,
      reason: `${best.name} beats ${primary.control.name} on ${primary.name} by ${pct(best.relativeEffect ?? 0)}.`,
    };
  }
  if (losers.length === primary.variants.length && losers.length > 0)
    return {
      action: 'keep_control',
      variantKey: primary.control.name,
      reason: `Every variant does worse than ${primary.control.name} on ${primary.name}.`,
    };
  return {
    action: e.status === 'running' ? 'keep_running' : 'inconclusive',
    variantKey: null,
    reason: `No variant differs from ${primary.control.name} on ${primary.name} yet.`,
  };
}

export function createReportService(deps: ReportServiceDeps) {
  return {
    async report(ctx: TenantContext, id: string, opts: ReportOptions = {}): Promise<Report> {
      requirePermission(ctx, 'analytics:read');
      if (opts.refresh) requirePermission(ctx, 'experiments:manage');
      const source = opts.source ?? 'rollup';
      const e = await deps.experiments.load(ctx.tenantId, id);
      const rolled = source === 'rollup';
      if (!rolled || opts.refresh) await deps.flushExposures();
      if (rolled && opts.refresh) await deps.rollups.refresh(ctx.tenantId, e, { deadline: performance.now() + deps.refreshBudgetMs });
      // Freshness before the sums: rows it calls included are in what is read next.
      const freshness = rolled ? await deps.rollups.freshness(ctx.tenantId, e) : { asOf: deps.clock(), pending: false, refreshing: false };
      const read = rolled ? await deps.rollups.read(ctx.tenantId, e) : null;
      const units = read ? read.units : await deps.repo.unitsPerVariant(deps.db, ctx.tenantId, id);
      const bandit = await deps.bandits.report(ctx.tenantId, e);
      // A bandit's expected share of an arm is what its periods' weights gave it: Σ_p n_p·w_p / N.
      const banditShare = (i: number): number | undefined => {
        if (!bandit) return undefined;
        const total = bandit.periods.reduce((s, p) => s + p.units.reduce((a, b) => a + b, 0), 0);
        if (!total) return bandit.periods[bandit.periods.length - 1]?.weights[i];
        return bandit.periods.reduce((s, p) => s + p.units.reduce((a, b) => a + b, 0) * (p.weights[i] ?? 0), 0) / total;
      };
      const weightOf = new Map(e.variants.map((v, i) => [v.id, banditShare(i) ?? v.weight]));
      const keyOf = new Map(e.variants.map((v) => [v.id, v.key]));
      const analysed: Report['metrics'] = [];
      if (e.variants.length >= 2) {
        const sums = await Promise.all(
          e.metrics.map((m) =>
            read && isRolledUp(m)
              ? read.sums(m)
              : deps.repo.metricSums(deps.db, ctx.tenantId, id, m, { windowHours: e.conversionWindowHours, currency: e.currency }),
          ),
        );
        // Guardrails are analysed like the rest but kept out of the corrections family (they are watched, not tested).
        const run = (guardrail: boolean) => {
          const metrics = e.metrics.map((m, i) => ({ m, s: sums[i] ?? [] })).filter((x) => x.m.guardrail === guardrail);
          if (!metrics.length) return [];
          const out = analyze({
            engine: e.engine,
            confidence: e.confidence,
            correction: e.correction,
            sequential: e.sequential,
            minimumSampleSize: e.minimumSampleSize,
            metrics: metrics.map(({ m, s }) => ({
              name: m.name,
              type: m.type,
              variants: s.map((r) => ({ ...r, name: keyOf.get(r.variantId) ?? r.variantId, expectedWeight: weightOf.get(r.variantId) })),
            })),
          });
          return out.metrics.map((r) => ({ ...r, guardrail, primary: r.name === e.primaryMetric }));
        };
        analysed.push(...run(false), ...run(true));
      }
      // Weights that moved between periods make a pooled SRM test meaningless: the per-period one replaces it.
      if (bandit)
        for (const m of analysed) {
          m.srmPValue = bandit.srmPValue;
          m.srmWarning = bandit.srmPValue < 0.001;
        }
      const primary = analysed.find((m) => m.primary);
      const srmPValue = primary?.srmPValue ?? 1;
      const warnings: string[] = [];
      if (primary?.srmWarning)
        warnings.push(
          `Sample ratio mismatch (p = ${srmPValue.toExponential(2)}): the variants did not get the traffic their weights say. Look for bots, redirects or caching that drop users from one variant before reading the results.`,
        );
      const total = units.reduce((s, u) => s + u.n, 0);
      const small = units.filter((u) => u.n < e.minimumSampleSize);
      if (small.length)
        warnings.push(
          `${small.map((u) => keyOf.get(u.variantId)).join(', ')} ${small.length === 1 ? 'has' : 'have'} fewer than ${e.minimumSampleSize} users: results are not reliable yet (${total} users so far).`,
        );
      for (const g of analysed.filter((m) => m.guardrail))
        for (const v of g.variants)
          if ((v.adjustedPValue ?? v.pValue ?? 1) < 1 - e.confidence && (v.relativeEffect ?? 0) < 0)
            warnings.push(`Guardrail ${g.name} got worse in ${v.name} (${pct(v.relativeEffect ?? 0)}).`);
      for (const m of analysed)
        for (const v of m.variants)
          if (v.error === 'ZERO_VARIANCE' && v.n > 0 && m.control.n > 0)
            warnings.push(`${m.name}: no variation yet in ${v.name} or control, so no test is possible.`);
      return {
        experiment: e,
        units: units.map((u) => ({
          variantKey: keyOf.get(u.variantId) ?? u.variantId,
          n: u.n,
          exposures: u.exposures,
          expectedWeight: weightOf.get(u.variantId) ?? 0,
        })),
        metrics: analysed,
        srmPValue,
        warnings,
        bandit,
        decision: decisionOf(e, primary),
        freshness: { ...freshness, source },
      };
    },
  };
}
export type ReportService = ReturnType<typeof createReportService>;
