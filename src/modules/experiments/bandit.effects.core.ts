/**
 * Effects of a bandit, weighted by period (GrowthBook's gbstats `weight_by_period`). A bandit moves its weights
 * every period, so the arm that is winning gets most of the later units: when the metric drifts over time (a
 * weekend, a sale, novelty wearing off) the pooled mean of that arm is mostly "later" and the pooled mean of the
 * others mostly "earlier", and the naive difference mixes the drift into the effect. Weighting every arm's
 * per-period means by the same period shares (N_p / N, N_p the units of period p over all arms) compares the
 * arms over the same mix of periods, which removes that bias:
 *
 *   mean_v = Σ_p w_p · mean_{p,v}          var(mean_v) = Σ_p w_p² · s²_{p,v} / n_{p,v}
 *
 * Unlike gbstats (which counts an empty cell as a mean of 0), a period in which some arm got no unit is left out
 * and the shares are renormalised over the others (`periodsUsed` says how many were kept).
 */
import { normalCdf, normalQuantile } from './stats.dists.core.ts';

/** One arm's sufficient statistics in one period (units first exposed in that period). */
export interface PeriodArmSums {
  n: number;
  sum: number;
  sumSquares: number;
}

export interface WeightedArm {
  /** Period-weighted mean of the arm. */
  mean: number;
  /** Standard error of that mean. */
  standardError: number;
  /** Units over the periods used. */
  n: number;
  /** The naive pooled mean (Σ sum / Σ n over every period), shown beside the weighted one. */
  pooledMean: number;
}

export interface WeightedEffect {
  absoluteEffect: number;
  relativeEffect: number | null;
  /** Interval of the relative effect at the chosen confidence (normal approximation), null without a baseline. */
  ciLow: number | null;
  ciHigh: number | null;
  /** Two-sided p-value of the relative effect (z test). */
  pValue: number | null;
  /** Chance the arm beats control (flat prior on the relative effect, Gaussian posterior). */
  chanceToWin: number | null;
  /** The naive pooled relative effect, for comparison (biased when the metric drifts while weights move). */
  pooledRelativeEffect: number | null;
}

export interface PeriodWeightedResult {
  arms: WeightedArm[];
  /** Per arm after the first (control), its effect against control. */
  effects: WeightedEffect[];
  periodsUsed: number;
  periodsTotal: number;
}

const sampleVariance = (c: PeriodArmSums): number => {
  if (c.n < 2) return 0;
  const v = (c.sumSquares - (c.sum * c.sum) / c.n) / (c.n - 1);
  return v > 0 ? v : 0;
};

/**
 * `periods[p][v]`: arm v's sums in period p (control is arm 0). Every period must list the same arms.
 * `confidence` in (0, 1). O(periods × arms).
 */
export function periodWeightedEffects(periods: readonly (readonly PeriodArmSums[])[], confidence: number): PeriodWeightedResult {
  const k = periods[0]?.length ?? 0;
  for (const p of periods) if (p.length !== k) throw new RangeError('every period must list the same arms');
  const used = periods.filter((p) => p.every((c) => c.n > 0));
  const total = used.reduce((s, p) => s + p.reduce((a, c) => a + c.n, 0), 0);
  const arms: WeightedArm[] = [];
  for (let v = 0; v < k; v++) {
    let mean = 0;
    let variance = 0;
    let n = 0;
    for (const p of used) {
      const w = p.reduce((a, c) => a + c.n, 0) / total;
      const c = p[v] as PeriodArmSums;
      mean += w * (c.sum / c.n);
      variance += (w * w * sampleVariance(c)) / c.n;
      n += c.n;
    }
    const allN = periods.reduce((s, p) => s + (p[v] as PeriodArmSums).n, 0);
    const allSum = periods.reduce((s, p) => s + (p[v] as PeriodArmSums).sum, 0);
    arms.push({
      mean: used.length ? mean : Number.NaN,
      standardError: used.length ? Math.sqrt(variance) : Number.NaN,
      n,
      pooledMean: allN > 0 ? allSum / allN : Number.NaN,
    });
  }
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const control = arms[0];
  const effects: WeightedEffect[] = arms.slice(1).map((a) => {
    const c = control as WeightedArm;
    const absoluteEffect = a.mean - c.mean;
    const pooledRelativeEffect = c.pooledMean > 0 || c.pooledMean < 0 ? a.pooledMean / c.pooledMean - 1 : null;
    if (!used.length || !(Math.abs(c.mean) > 0))
      return { absoluteEffect, relativeEffect: null, ciLow: null, ciHigh: null, pValue: null, chanceToWin: null, pooledRelativeEffect };
    const relativeEffect = a.mean / c.mean - 1;
    // Delta method for the ratio of two independent means.
    const se = Math.sqrt(a.standardError ** 2 / c.mean ** 2 + (a.mean ** 2 * c.standardError ** 2) / c.mean ** 4);
    if (!(se > 0))
      return { absoluteEffect, relativeEffect, ciLow: null, ciHigh: null, pValue: null, chanceToWin: null, pooledRelativeEffect };
    return {
      absoluteEffect,
      relativeEffect,
      ciLow: relativeEffect - z * se,
      ciHigh: relativeEffect + z * se,
      pValue: 2 * (1 - normalCdf(Math.abs(relativeEffect) / se)),
      chanceToWin: normalCdf(relativeEffect / se),
      pooledRelativeEffect,
    };
  });
  return { arms, effects, periodsUsed: used.length, periodsTotal: periods.length };
}
