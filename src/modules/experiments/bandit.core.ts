/**
 * Bandit experiments, the pure part: the update schedule (burn-in, then one period per cadence), the weights
 * of a new period from the primary metric (src/ml/bandits.ts's Thompson sampling, top-two by default, as
 * GrowthBook), and the sample-ratio-mismatch check against each period's weights (GrowthBook's bandit SRM:
 * expected units of an arm = Σ over periods of the period's new units × the arm's weight in that period).
 */
import { type ArmStats, type Posterior, thompsonWeights } from '../../ml/bandits.ts';
import { rngMulberry32 } from '../../ml/random.ts';
import { fnv1a32 } from './assign.core.ts';
import { chiSquareSf } from './stats.dists.core.ts';

export interface BanditSettings {
  /** auto: Beta for binomial primary metrics, Gaussian otherwise. */
  posterior: 'auto' | Posterior;
  /** Top-two Thompson sampling (GrowthBook's default): keeps exploring the runner-up (three arms or more). */
  topTwo: boolean;
  /** Every arm keeps at least this share of traffic (GrowthBook: 1 %). */
  minWeight: number;
  /** Equal (starting) weights for this long after the start, before the first update. */
  burnInHours: number;
  /** Weights are recomputed once per period of this length after the burn-in. */
  updateEveryHours: number;
}

export const DEFAULT_BANDIT: BanditSettings = { posterior: 'auto', topTwo: true, minWeight: 0.01, burnInHours: 24, updateEveryHours: 24 };

/** GrowthBook's rule: weights move only once the experiment has at least 100 units per arm. */
export const MIN_UNITS_PER_ARM = 100;
/** Monte Carlo draws per update (GrowthBook uses 10,000). */
const DRAWS = 10_000;
const HOUR = 3_600_000;

/** When period `k` begins: 0 at the start, 1 after the burn-in, then one cadence each. */
export function periodStart(startedAt: Date, s: BanditSettings, k: number): Date {
  if (k <= 0) return startedAt;
  return new Date(startedAt.getTime() + s.burnInHours * HOUR + (k - 1) * s.updateEveryHours * HOUR);
}

/** The latest period that has begun at `now` (0 during the burn-in). */
export function currentPeriod(startedAt: Date, s: BanditSettings, now: Date): number {
  const since = now.getTime() - startedAt.getTime() - s.burnInHours * HOUR;
  if (since < 0) return 0;
  return 1 + Math.floor(since / (s.updateEveryHours * HOUR));
}

export interface BanditUpdate {
  weights: number[];
  bestArmProbabilities: number[] | null;
  message: string;
}

/**
 * Weights for a new period from the arms' primary-metric sums. Too few units (below 100 per arm): the previous
 * weights stay, with a message saying why. The draws are seeded by experiment and period, so recomputing a
 * period gives the same weights.
 */
export function banditUpdate(
  arms: readonly ArmStats[],
  previous: readonly number[],
  o: { settings: BanditSettings; posterior: Posterior; experimentId: string; period: number },
): BanditUpdate {
  const total = arms.reduce((s, a) => s + a.n, 0);
  const needed = MIN_UNITS_PER_ARM * arms.length;
  if (total < needed)
    return { weights: [...previous], bestArmProbabilities: null, message: `not updated: ${total} units so far, ${needed} needed` };
  const seed = fnv1a32(`${o.experimentId}:${o.period}`);
  const best = thompsonWeights(arms, { posterior: o.posterior, draws: DRAWS, topTwo: false, minWeight: 0, rng: rngMulberry32(seed) });
  const weights = thompsonWeights(arms, {
    posterior: o.posterior,
    draws: DRAWS,
    // With two arms each is first or second in every draw: top-two would pin both at 50 %, so plain Thompson.
    topTwo: o.settings.topTwo && arms.length > 2,
    minWeight: o.settings.minWeight,
    rng: rngMulberry32(seed ^ 0x9e3779b9),
  });
  return { weights, bestArmProbabilities: best, message: 'updated' };
}

/**
 * SRM of a bandit: observed units per arm against Σ_p n_p · w_p (n_p the units first exposed in period p, w_p
 * its weights), chi-square with arms − 1 degrees of freedom. Arms expected to get nobody are left out of the
 * statistic (as GrowthBook does). 1 when there is nothing to test.
 */
export function banditSrmPValue(periods: readonly { weights: readonly number[]; counts: readonly number[] }[]): number {
  const k = periods[0]?.weights.length ?? 0;
  if (k < 2) return 1;
  const observed = new Array<number>(k).fill(0);
  const expected = new Array<number>(k).fill(0);
  for (const p of periods) {
    const n = p.counts.reduce((s, c) => s + c, 0);
    for (let i = 0; i < k; i++) {
      observed[i] = (observed[i] as number) + (p.counts[i] ?? 0);
      expected[i] = (expected[i] as number) + n * (p.weights[i] ?? 0);
    }
  }
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = expected[i] as number;
    if (e > 0) stat += ((observed[i] as number) - e) ** 2 / e;
  }
  if (!(expected.reduce((s, e) => s + e, 0) > 0)) return 1;
  return chiSquareSf(stat, k - 1);
}
