/**
 * Per-variant summary statistics of a metric turned into the mean and per-unit variance the tests use.
 * Formulas follow GrowthBook's gbstats (models/statistics.py): binomial variance p(1-p), sample variance
 * with n-1 for means, the delta method for ratios, and CUPED with a theta pooled over control and treatment.
 * Pure: no I/O.
 */

export type MetricType = 'binomial' | 'mean' | 'ratio';

/** Sufficient statistics of one variant for one metric (sums over the variant's units). */
export interface VariantSummary {
  /** Units (users) in the variant. */
  n: number;
  /** Σ metric value (for binomial: converted units). */
  sum: number;
  /** Σ metric value² (binomial: equal to sum). */
  sumSquares: number;
  /** Ratio metrics: Σ denominator, Σ denominator², Σ numerator × denominator. */
  denominatorSum?: number | undefined;
  denominatorSumSquares?: number | undefined;
  sumProduct?: number | undefined;
  /** CUPED: Σ pre-exposure value, Σ pre², Σ post × pre (mean and binomial metrics). */
  preSum?: number | undefined;
  preSumSquares?: number | undefined;
  preSumProduct?: number | undefined;
}

/** What a test needs of one variant: units, mean (CUPED-adjusted when used), per-unit variance. */
export interface UnitStatistic {
  n: number;
  mean: number;
  variance: number;
  /** The mean before any CUPED adjustment (the base of relative effects). */
  unadjustedMean: number;
  /** CUPED only: the pieces of the relative variance formula. */
  cuped?: CupedParts;
}

export interface CupedParts {
  theta: number;
  postMean: number;
  postVariance: number;
  preVariance: number;
  covariance: number;
}

interface Moment {
  n: number;
  sum: number;
  sumSquares: number;
  proportion: boolean;
}

function momentMean(m: Moment): number {
  return m.n === 0 ? 0 : m.sum / m.n;
}

/** gbstats: proportions use p(1-p); sample means the unbiased (n-1) variance, 0 below two units. */
function momentVariance(m: Moment): number {
  if (m.proportion) {
    const p = momentMean(m);
    return p * (1 - p);
  }
  if (m.n <= 1) return 0;
  return (m.sumSquares - (m.sum * m.sum) / m.n) / (m.n - 1);
}

/** Covariance of two per-unit quantities from their sums and Σ a·b (gbstats compute_covariance). */
function covariance(n: number, a: Moment, b: Moment, sumProduct: number): number {
  if (n <= 1) return 0;
  if (a.proportion && b.proportion) return sumProduct / n - (a.sum * b.sum) / (n * n);
  return (sumProduct - (a.sum * b.sum) / n) / (n - 1);
}

/** Var(M/D) by the delta method, given the variances of M and D and their covariance. */
export function varianceOfRatio(meanM: number, varM: number, meanD: number, varD: number, covMD: number): number {
  return varM / meanD ** 2 + (varD * meanM ** 2) / meanD ** 4 - (2 * covMD * meanM) / meanD ** 3;
}

/** Mean and per-unit variance of a variant without CUPED. Ratio: Σnum/Σden with the delta-method variance. */
export function unitStatistic(type: MetricType, s: VariantSummary): UnitStatistic {
  if (type === 'ratio') {
    const m: Moment = { n: s.n, sum: s.sum, sumSquares: s.sumSquares, proportion: false };
    const d: Moment = { n: s.n, sum: s.denominatorSum ?? 0, sumSquares: s.denominatorSumSquares ?? 0, proportion: false };
    const mean = d.sum === 0 ? 0 : m.sum / d.sum;
    const meanD = momentMean(d);
    const variance =
      meanD === 0 || s.n <= 1
        ? 0
        : varianceOfRatio(momentMean(m), momentVariance(m), meanD, momentVariance(d), covariance(s.n, m, d, s.sumProduct ?? 0));
    return { n: s.n, mean, variance, unadjustedMean: mean };
  }
  const m: Moment = { n: s.n, sum: s.sum, sumSquares: type === 'binomial' ? s.sum : s.sumSquares, proportion: type === 'binomial' };
  const mean = momentMean(m);
  return { n: s.n, mean, variance: momentVariance(m), unadjustedMean: mean };
}

/** True when the summary carries the three CUPED sums. */
export function hasPreExposure(s: VariantSummary): boolean {
  return s.preSum !== undefined && s.preSumSquares !== undefined && s.preSumProduct !== undefined;
}

function postPre(type: MetricType, s: VariantSummary): { post: Moment; pre: Moment } {
  const proportion = type === 'binomial';
  return {
    post: { n: s.n, sum: s.sum, sumSquares: proportion ? s.sum : s.sumSquares, proportion },
    pre: { n: s.n, sum: s.preSum ?? 0, sumSquares: proportion ? (s.preSum ?? 0) : (s.preSumSquares ?? 0), proportion },
  };
}

/**
 * CUPED's theta pooled over control and treatment (gbstats compute_theta): Cov(post, pre) / Var(pre) on the
 * joined sample; 0 when either joined variance is 0.
 */
export function pooledTheta(type: MetricType, a: VariantSummary, b: VariantSummary): number {
  const pa = postPre(type, a);
  const pb = postPre(type, b);
  const n = a.n + b.n;
  const join = (x: Moment, y: Moment): Moment => ({
    n,
    sum: x.sum + y.sum,
    sumSquares: x.sumSquares + y.sumSquares,
    proportion: x.proportion,
  });
  const post = join(pa.post, pb.post);
  const pre = join(pa.pre, pb.pre);
  const preVar = momentVariance(pre);
  if (preVar === 0 || momentVariance(post) === 0) return 0;
  return covariance(n, post, pre, (a.preSumProduct ?? 0) + (b.preSumProduct ?? 0)) / preVar;
}

/** A variant's CUPED-adjusted statistic: mean post − θ·pre, variance Var(post) + θ²Var(pre) − 2θCov. */
export function cupedStatistic(type: MetricType, s: VariantSummary, theta: number): UnitStatistic {
  const { post, pre } = postPre(type, s);
  const postMean = momentMean(post);
  const postVariance = momentVariance(post);
  const preVariance = momentVariance(pre);
  const cov = covariance(s.n, post, pre, s.preSumProduct ?? 0);
  const variance = s.n <= 1 ? 0 : postVariance + theta * theta * preVariance - 2 * theta * cov;
  return {
    n: s.n,
    mean: postMean - theta * momentMean(pre),
    variance,
    unadjustedMean: postMean,
    cuped: { theta, postMean, postVariance, preVariance, covariance: cov },
  };
}
