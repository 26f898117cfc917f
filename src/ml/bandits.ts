/**
 * Multi-armed bandits for experiments (seed 000's bandit service): Thompson sampling with Beta (conversions)
 * or Gaussian (continuous rewards) posteriors, top-two by default as GrowthBook, with a minimum weight per arm;
 * UCB1 and epsilon-greedy as options. Pure: the RNG is passed in (src/ml/random.ts), nothing reads the clock.
 */
import type { Rng } from './random.ts';

/** What is known of one arm: pulls, summed reward and summed squared reward (rewards in [0, 1] for Beta). */
export interface ArmStats {
  n: number;
  sum: number;
  sumSquares: number;
}

function normal(rng: Rng): number {
  let u = rng();
  while (u <= 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through the boost Gamma(shape+1)·U^(1/shape). */
export function sampleGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = rng();
    while (u <= 0) u = rng();
    return sampleGamma(shape + 1, rng) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X/(X+Y) of two gammas. */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  return x / (x + sampleGamma(b, rng));
}

export type Posterior = 'beta' | 'gaussian';

/** One posterior draw of an arm's mean: Beta(1 + successes, 1 + failures), or N(mean, s²/n) (flat prior, s² ≥ 1e-6). */
function draw(arm: ArmStats, posterior: Posterior, rng: Rng): number {
  if (posterior === 'beta') return sampleBeta(1 + arm.sum, 1 + Math.max(0, arm.n - arm.sum), rng);
  if (arm.n < 2) return normal(rng) * 1e3; // unexplored: a very wide draw, so the arm gets tried
  const mean = arm.sum / arm.n;
  const variance = Math.max(1e-6, (arm.sumSquares - (arm.sum * arm.sum) / arm.n) / (arm.n - 1));
  return mean + normal(rng) * Math.sqrt(variance / arm.n);
}

/** Raises every weight to at least `min` (taking the extra from the arms above it) and renormalizes to 1. */
export function applyMinimumWeight(weights: readonly number[], min: number): number[] {
  const k = weights.length;
  const floor = Math.min(min, 1 / k);
  let w = weights.map((x) => Math.max(0, x));
  for (let iter = 0; iter < k; iter++) {
    const low = w.map((x) => x < floor);
    const fixed = low.filter(Boolean).length * floor;
    const freeTotal = w.reduce((s, x, i) => s + (low[i] ? 0 : x), 0);
    const next = w.map((x, i) =>
      low[i] ? floor : freeTotal > 0 ? (x / freeTotal) * (1 - fixed) : (1 - fixed) / (k - low.filter(Boolean).length),
    );
    if (next.every((x, i) => Math.abs(x - (w[i] as number)) < 1e-12)) return next;
    w = next;
  }
  return w;
}

export interface ThompsonOptions {
  posterior: Posterior;
  /** Monte Carlo draws per update (GrowthBook uses 10,000). */
  draws: number;
  /** Top-two Thompson sampling: weight = share of draws where the arm is first or second, halved. */
  topTwo: boolean;
  minWeight: number;
  rng: Rng;
}

/**
 * Allocation weights for the next period. Thompson: P(arm is best) estimated from `draws` joint posterior
 * draws; top-two (Russo 2016, as GrowthBook's bandits): the share of draws in which the arm is among the best
 * two, halved, which keeps exploring the runner-up. Then every arm gets at least `minWeight`. O(draws · arms).
 */
export function thompsonWeights(arms: readonly ArmStats[], o: ThompsonOptions): number[] {
  const k = arms.length;
  if (k === 0) return [];
  if (k === 1) return [1];
  const counts = new Float64Array(k);
  const sample = new Float64Array(k);
  for (let d = 0; d < o.draws; d++) {
    let best = 0;
    let second = -1;
    for (let i = 0; i < k; i++) sample[i] = draw(arms[i] as ArmStats, o.posterior, o.rng);
    for (let i = 1; i < k; i++) {
      if ((sample[i] as number) > (sample[best] as number)) {
        second = best;
        best = i;
      } else if (second < 0 || (sample[i] as number) > (sample[second] as number)) second = i;
    }
    if (o.topTwo) {
      counts[best] = (counts[best] as number) + 0.5;
      counts[second] = (counts[second] as number) + 0.5;
    } else counts[best] = (counts[best] as number) + 1;
  }
  return applyMinimumWeight(
    Array.from(counts, (c) => c / o.draws),
    o.minWeight,
  );
}

/** UCB1 (Auer et al. 2002): an unplayed arm first, else the arm maximizing mean + sqrt(2 ln N / n). */
export function ucb1Choice(arms: readonly ArmStats[]): number {
  const total = arms.reduce((s, a) => s + a.n, 0);
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < arms.length; i++) {
    const a = arms[i] as ArmStats;
    if (a.n === 0) return i;
    const score = a.sum / a.n + Math.sqrt((2 * Math.log(total)) / a.n);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** Epsilon-greedy: a uniformly random arm with probability epsilon, else the best mean so far (unplayed arms first). */
export function epsilonGreedyChoice(arms: readonly ArmStats[], epsilon: number, rng: Rng): number {
  if (rng() < epsilon) return Math.min(arms.length - 1, Math.floor(rng() * arms.length));
  let best = 0;
  let bestMean = -Infinity;
  for (let i = 0; i < arms.length; i++) {
    const a = arms[i] as ArmStats;
    if (a.n === 0) return i;
    if (a.sum / a.n > bestMean) {
      bestMean = a.sum / a.n;
      best = i;
    }
  }
  return best;
}

/** Picks an arm with probabilities `weights` (summing to 1). */
export function pickWeighted(weights: readonly number[], rng: Rng): number {
  const u = rng();
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] as number;
    if (u < acc) return i;
  }
  return weights.length - 1;
}

export type Policy =
  | { kind: 'uniform' }
  | { kind: 'thompson'; topTwo: boolean; minWeight: number }
  | { kind: 'ucb1' }
  | { kind: 'epsilon_greedy'; epsilon: number };

/**
 * Simulates `horizon` Bernoulli pulls of arms with true rates `rates`; Thompson's weights are updated every
 * `updateEvery` pulls (a schedule, as a served bandit does). Returns cumulative regret against always pulling
 * the best arm, at each checkpoint, and the final weights.
 */
export function simulateRegret(
  rates: readonly number[],
  policy: Policy,
  o: { horizon: number; updateEvery: number; checkpoints: readonly number[]; rng: Rng; draws?: number },
): { regret: number[]; finalWeights: number[]; pulls: number[] } {
  const k = rates.length;
  const arms: ArmStats[] = rates.map(() => ({ n: 0, sum: 0, sumSquares: 0 }));
  const best = Math.max(...rates);
  let weights = rates.map(() => 1 / k);
  let regret = 0;
  const out: number[] = [];
  let next = 0;
  for (let t = 1; t <= o.horizon; t++) {
    let arm: number;
    if (policy.kind === 'ucb1') arm = ucb1Choice(arms);
    else if (policy.kind === 'epsilon_greedy') arm = epsilonGreedyChoice(arms, policy.epsilon, o.rng);
    else arm = pickWeighted(weights, o.rng);
    const reward = o.rng() < (rates[arm] as number) ? 1 : 0;
    const a = arms[arm] as ArmStats;
    a.n++;
    a.sum += reward;
    a.sumSquares += reward;
    regret += best - (rates[arm] as number);
    if (policy.kind === 'thompson' && t % o.updateEvery === 0)
      weights = thompsonWeights(arms, {
        posterior: 'beta',
        draws: o.draws ?? 2000,
        topTwo: policy.topTwo,
        minWeight: policy.minWeight,
        rng: o.rng,
      });
    while (next < o.checkpoints.length && t === o.checkpoints[next]) {
      out.push(regret);
      next++;
    }
  }
  return { regret: out, finalWeights: weights, pulls: arms.map((a) => a.n) };
}
