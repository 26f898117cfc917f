/**
 * Treatment-versus-control effects and their inference: absolute and relative effects (delta method),
 * Welch's t-test, GrowthBook's asymptotic confidence sequences, and the Bayesian Gaussian-prior-on-the-lift
 * test (gbstats EffectBayesianABTest). Everything is computed on summary statistics; pure.
 */
import { normalCdf, normalPdf, normalQuantile, tCdf, tQuantile } from './stats.dists.core.ts';
import type { UnitStatistic } from './stats.metrics.core.ts';

export type EffectError = 'NO_UNITS' | 'BASELINE_ZERO' | 'ZERO_VARIANCE';

/** A point estimate and its standard error, or why none can be given. */
export type EffectMoments =
  | { estimate: number; standardError: number; error: null }
  | { estimate: 0; standardError: 0; error: EffectError };

function failed(error: EffectError): EffectMoments {
  return { estimate: 0, standardError: 0, error };
}

/**
 * Effect of b over a. Absolute: mean_b − mean_a with Var = v_b/n_b + v_a/n_a. Relative: (mean_b − mean_a) /
 * unadjusted mean_a with the delta-method variance (the CUPED variant when both carry CUPED parts).
 */
export function effectMoments(a: UnitStatistic, b: UnitStatistic, relative: boolean): EffectMoments {
  if (a.n === 0 || b.n === 0) return failed('NO_UNITS');
  if (relative && (a.mean === 0 || a.unadjustedMean === 0)) return failed('BASELINE_ZERO');
  if (a.variance <= 0 || b.variance <= 0) return failed('ZERO_VARIANCE');
  if (!relative) {
    return { estimate: b.mean - a.mean, standardError: Math.sqrt(b.variance / b.n + a.variance / a.n), error: null };
  }
  const estimate = (b.mean - a.mean) / a.unadjustedMean;
  let variance: number;
  if (a.cuped && b.cuped) {
    // gbstats frequentist_variance_relative_cuped: theta is shared, the control term carries the ratio's derivative.
    const theta = a.cuped.theta;
    const ua2 = a.unadjustedMean ** 2;
    const vTrt = (b.cuped.postVariance + theta ** 2 * b.cuped.preVariance - 2 * theta * b.cuped.covariance) / (b.n * ua2);
    const c = -b.cuped.postMean;
    const vCtrl =
      ((a.cuped.postVariance * c ** 2) / a.cuped.postMean ** 2 +
        (2 * theta * a.cuped.covariance * c) / a.cuped.postMean +
        theta ** 2 * a.cuped.preVariance) /
      (a.n * ua2);
    variance = vTrt + vCtrl;
  } else {
    const vb = b.variance / b.n;
    const va = a.variance / a.n;
    variance = vb / a.mean ** 2 + (va * b.mean ** 2) / a.mean ** 4;
  }
  if (!(variance > 0)) return failed('ZERO_VARIANCE');
  return { estimate, standardError: Math.sqrt(variance), error: null };
}

/** Welch-Satterthwaite degrees of freedom from the two per-unit variances (1 when undefined, as gbstats). */
export function welchDof(a: UnitStatistic, b: UnitStatistic): number {
  if (a.n <= 1 || b.n <= 1 || a.variance === 0 || b.variance === 0) return 1;
  const num = (b.variance / b.n + a.variance / a.n) ** 2;
  const den = b.variance ** 2 / (b.n ** 2 * (b.n - 1)) + a.variance ** 2 / (a.n ** 2 * (a.n - 1));
  return num / den;
}

export interface Interval {
  low: number;
  high: number;
}

export interface FrequentistResult {
  pValue: number;
  ci: Interval;
}

/** Two-sided Welch t-test of an effect estimate against 0, with its (1 − alpha) confidence interval. */
export function welchTest(m: { estimate: number; standardError: number }, dof: number, alpha: number): FrequentistResult {
  const t = m.estimate / m.standardError;
  const pValue = 2 * (1 - tCdf(Math.abs(t), dof));
  const half = tQuantile(1 - alpha / 2, dof) * m.standardError;
  return { pValue, ci: { low: m.estimate - half, high: m.estimate + half } };
}

/** GrowthBook's default tuning parameter for confidence sequences (the sample size the bound is tightest at). */
export const SEQUENTIAL_TUNING = 5000;

/** rho of the normal-mixture confidence sequence (Howard et al. 2021, eq. 14; gbstats sequential_rho). */
export function sequentialRho(alpha: number, tuning: number): number {
  return Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuning);
}

/**
 * Always-valid two-sided interval and p-value (gbstats SequentialTwoSidedTTest): n is the total units of
 * both arms, s² = se²·n the per-unit variance of the effect.
 */
export function sequentialTest(
  m: { estimate: number; standardError: number },
  n: number,
  alpha: number,
  tuning = SEQUENTIAL_TUNING,
): FrequentistResult {
  const rho = sequentialRho(alpha, tuning);
  const s2 = m.standardError ** 2 * n;
  const nr2 = n * rho * rho + 1;
  const half = Math.sqrt(s2) * Math.sqrt((2 * nr2 * Math.log(Math.sqrt(nr2) / alpha)) / (n * rho) ** 2);
  // Equation 155 of arXiv:2103.06476v7: the mixture e-value; its inverse, capped at 1, is an always-valid p.
  const st2 = (m.estimate ** 2 * n) / m.standardError ** 2;
  const evalue = Math.exp((rho * rho * st2) / (2 * nr2)) / Math.sqrt(nr2);
  return { pValue: Math.min(1 / evalue, 1), ci: { low: m.estimate - half, high: m.estimate + half } };
}

/** A Gaussian prior on the effect; `proper: false` is the improper flat prior (the default). */
export interface GaussianPrior {
  mean: number;
  variance: number;
  proper: boolean;
}

export const FLAT_PRIOR: GaussianPrior = { mean: 0, variance: 1, proper: false };

export interface BayesianResult {
  /** Posterior mean and standard deviation of the effect. */
  mean: number;
  sd: number;
  /** P(effect > 0): the variant beats control. */
  chanceToWin: number;
  ci: Interval;
  /** Expected loss of shipping control / of shipping the variant, in the effect's units. */
  riskControl: number;
  riskVariant: number;
}

/**
 * Normal-normal update of the effect (gbstats EffectBayesianABTest): posterior precision 1/se² + 1/prior
 * variance (proper prior only), chance to win P(X > 0), equal-tailed credible interval, and risk as the
 * expected loss E[max(0, −X)] (variant) and E[max(0, X)] (control), in closed form.
 */
export function bayesianTest(
  m: { estimate: number; standardError: number },
  alpha: number,
  prior: GaussianPrior = FLAT_PRIOR,
): BayesianResult {
  const dataVar = m.standardError ** 2;
  const precision = 1 / dataVar + (prior.proper ? 1 / prior.variance : 0);
  const mean = prior.proper ? (m.estimate / dataVar + prior.mean / prior.variance) / precision : m.estimate;
  const sd = Math.sqrt(1 / precision);
  const z = -mean / sd;
  const pNegative = normalCdf(z);
  const density = sd * normalPdf(z);
  return {
    mean,
    sd,
    chanceToWin: 1 - pNegative,
    ci: { low: normalQuantile(alpha / 2, mean, sd), high: normalQuantile(1 - alpha / 2, mean, sd) },
    riskControl: mean * (1 - pNegative) + density,
    riskVariant: -mean * pNegative + density,
  };
}
