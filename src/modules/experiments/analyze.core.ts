/**
 * Analysis of an experiment from summary statistics: every metric, every variant against control, with the
 * chosen engine, confidence, sequential intervals, multiple-testing correction and an SRM check. The input
 * and output of `loupe experiments analyze` and `POST /experiments/analyze` (in camelCase; the edge converts).
 * Pure: no clock, no randomness.
 */
import { srmPValue, SRM_THRESHOLD, bhAdjust, holmAdjust } from './stats.corrections.core.ts';
import {
  bayesianTest,
  effectMoments,
  FLAT_PRIOR,
  SEQUENTIAL_TUNING,
  sequentialTest,
  welchDof,
  welchTest,
  type EffectError,
  type GaussianPrior,
} from './stats.effects.core.ts';
import {
  cupedStatistic,
  hasPreExposure,
  pooledTheta,
  unitStatistic,
  type MetricType,
  type UnitStatistic,
  type VariantSummary,
} from './stats.metrics.core.ts';

export type Engine = 'frequentist' | 'bayesian';
export type Correction = 'none' | 'holm' | 'bh';

export interface AnalyzeVariant extends VariantSummary {
  name: string;
  /** Share of traffic the variant was meant to get (any positive scale); equal shares when absent. */
  expectedWeight?: number | undefined;
}

export interface AnalyzeMetric {
  name: string;
  type: MetricType;
  /** Control first. */
  variants: AnalyzeVariant[];
}

export interface AnalyzeInput {
  engine: Engine;
  /** Confidence (frequentist) or credibility (Bayesian) level of the intervals, e.g. 0.95. */
  confidence: number;
  correction: Correction;
  /** Always-valid intervals and p-values (frequentist only; ignored by the Bayesian engine). */
  sequential: boolean;
  sequentialTuning?: number | undefined;
  /** Gaussian prior on the relative lift (Bayesian); the improper flat prior when absent. */
  prior?: GaussianPrior | undefined;
  /** Variants with fewer units are flagged `belowMinimumSample` (their numbers are still given). */
  minimumSampleSize?: number | undefined;
  metrics: AnalyzeMetric[];
}

export interface VariantResult {
  name: string;
  n: number;
  mean: number;
  absoluteEffect: number;
  relativeEffect: number | null;
  /** Interval of the relative effect. */
  ciLow: number | null;
  ciHigh: number | null;
  /** Interval of the absolute effect. */
  absoluteCiLow: number | null;
  absoluteCiHigh: number | null;
  pValue: number | null;
  adjustedPValue: number | null;
  chanceToWin: number | null;
  /** Expected relative loss of shipping this variant (Bayesian). */
  risk: number | null;
  /** Expected relative loss of keeping control (Bayesian). */
  riskControl: number | null;
  /** Why no inference could be made (no units, zero variance, a zero baseline), or null. */
  error: EffectError | null;
  belowMinimumSample: boolean;
  cuped: boolean;
}

export interface MetricResult {
  name: string;
  type: MetricType;
  control: { name: string; n: number; mean: number; belowMinimumSample: boolean };
  variants: VariantResult[];
  srmPValue: number;
  /** srmPValue < 0.001: the split of units does not match the weights; results are not to be trusted. */
  srmWarning: boolean;
}

export interface AnalyzeOutput {
  engine: Engine;
  confidence: number;
  correction: Correction;
  sequential: boolean;
  metrics: MetricResult[];
}

function statistics(type: MetricType, control: AnalyzeVariant, v: AnalyzeVariant): { a: UnitStatistic; b: UnitStatistic; cuped: boolean } {
  if (type !== 'ratio' && hasPreExposure(control) && hasPreExposure(v)) {
    const theta = pooledTheta(type, control, v);
    return { a: cupedStatistic(type, control, theta), b: cupedStatistic(type, v, theta), cuped: true };
  }
  return { a: unitStatistic(type, control), b: unitStatistic(type, v), cuped: false };
}

function compareVariant(input: AnalyzeInput, type: MetricType, control: AnalyzeVariant, v: AnalyzeVariant): VariantResult {
  const alpha = 1 - input.confidence;
  const { a, b, cuped } = statistics(type, control, v);
  const minimum = input.minimumSampleSize ?? 0;
  const base: VariantResult = {
    name: v.name,
    n: v.n,
    mean: b.unadjustedMean,
    absoluteEffect: b.mean - a.mean,
    relativeEffect: a.unadjustedMean === 0 ? null : (b.mean - a.mean) / a.unadjustedMean,
    ciLow: null,
    ciHigh: null,
    absoluteCiLow: null,
    absoluteCiHigh: null,
    pValue: null,
    adjustedPValue: null,
    chanceToWin: null,
    risk: null,
    riskControl: null,
    error: null,
    belowMinimumSample: v.n < minimum,
    cuped,
  };
  const rel = effectMoments(a, b, true);
  const abs = effectMoments(a, b, false);
  if (abs.error === null) {
    const absolute =
      input.engine === 'bayesian'
        ? bayesianTest(abs, alpha, scalePrior(input.prior ?? FLAT_PRIOR, a.unadjustedMean)).ci
        : input.sequential
          ? sequentialTest(abs, a.n + b.n, alpha, input.sequentialTuning ?? SEQUENTIAL_TUNING).ci
          : welchTest(abs, welchDof(a, b), alpha).ci;
    base.absoluteCiLow = absolute.low;
    base.absoluteCiHigh = absolute.high;
  }
  if (rel.error !== null) return { ...base, error: rel.error };
  if (input.engine === 'bayesian') {
    const r = bayesianTest(rel, alpha, input.prior ?? FLAT_PRIOR);
    return {
      ...base,
      relativeEffect: r.mean,
      ciLow: r.ci.low,
      ciHigh: r.ci.high,
      chanceToWin: r.chanceToWin,
      risk: r.riskVariant,
      riskControl: r.riskControl,
    };
  }
  const r = input.sequential
    ? sequentialTest(rel, a.n + b.n, alpha, input.sequentialTuning ?? SEQUENTIAL_TUNING)
    : welchTest(rel, welchDof(a, b), alpha);
  return { ...base, relativeEffect: rel.estimate, ciLow: r.ci.low, ciHigh: r.ci.high, pValue: r.pValue };
}

/** A prior on the relative lift expressed on the absolute scale (gbstats: times |control mean|). */
function scalePrior(prior: GaussianPrior, controlMean: number): GaussianPrior {
  if (!prior.proper) return prior;
  if (controlMean === 0) return FLAT_PRIOR;
  return { mean: prior.mean * Math.abs(controlMean), variance: prior.variance * controlMean ** 2, proper: true };
}

/**
 * Analyses every metric. Multiple-testing corrections run over all (metric, variant) p-values together;
 * variants without a p-value (errors, Bayesian engine) are left out of the family.
 */
export function analyze(input: AnalyzeInput): AnalyzeOutput {
  const metrics: MetricResult[] = input.metrics.map((metric) => {
    const [control, ...rest] = metric.variants;
    if (!control) throw new Error('a metric needs a control variant');
    const minimum = input.minimumSampleSize ?? 0;
    const srm = srmPValue(
      metric.variants.map((v) => v.n),
      metric.variants.map((v) => v.expectedWeight ?? 1),
    );
    return {
      name: metric.name,
      type: metric.type,
      control: {
        name: control.name,
        n: control.n,
        mean: unitStatistic(metric.type, control).mean,
        belowMinimumSample: control.n < minimum,
      },
      variants: rest.map((v) => compareVariant(input, metric.type, control, v)),
      srmPValue: srm,
      srmWarning: srm < SRM_THRESHOLD,
    };
  });
  const family = metrics.flatMap((m) => m.variants.filter((v) => v.pValue !== null));
  const pValues = family.map((v) => v.pValue as number);
  const adjusted = input.correction === 'holm' ? holmAdjust(pValues) : input.correction === 'bh' ? bhAdjust(pValues) : pValues;
  family.forEach((v, i) => {
    v.adjustedPValue = adjusted[i] ?? null;
  });
  return { engine: input.engine, confidence: input.confidence, correction: input.correction, sequential: input.sequential, metrics };
}
