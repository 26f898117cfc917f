/**
 * bench/experiments (bandits): seeded regret simulation of the bandit policies on Bernoulli arms, printed as
 * cumulative regret against always serving the best arm (the best fixed arm in hindsight), beside uniform
 * allocation (a classic A/B/n split) measured in the same run.
 *
 *   npm run bench:experiments            # 4 arms, 100,000 users, weights updated every 1,000 users
 *   BENCH_HORIZON=20000 npm run bench:experiments
 */
import os from 'node:os';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { simulateRegret, type Policy } from '../../src/ml/bandits.ts';

const HORIZON = Number(process.env.BENCH_HORIZON ?? 100_000);
const UPDATE_EVERY = Number(process.env.BENCH_UPDATE_EVERY ?? 1000);
const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
const RATES = [0.04, 0.05, 0.055, 0.06];
const CHECKPOINTS = [0.1, 0.25, 0.5, 1].map((f) => Math.round(HORIZON * f));

const POLICIES: [string, Policy][] = [
  ['uniform (A/B/n split, baseline)', { kind: 'uniform' }],
  ['thompson top-two, min weight 2 %', { kind: 'thompson', topTwo: true, minWeight: 0.02 }],
  ['thompson, min weight 2 %', { kind: 'thompson', topTwo: false, minWeight: 0.02 }],
  ['ucb1', { kind: 'ucb1' }],
  ['epsilon-greedy 10 %', { kind: 'epsilon_greedy', epsilon: 0.1 }],
];

console.log(
  `bench/experiments bandits: arms ${RATES.join(', ')}; ${HORIZON} users; Thompson weights updated every ${UPDATE_EVERY}; mean of ${SEEDS} seeds`,
);
console.log(
  `machine: ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`${'policy'.padEnd(36)}${CHECKPOINTS.map((c) => `regret@${c}`.padStart(16)).join('')}  vs uniform  share on best arm  time`);
let uniformFinal = 0;
for (const [name, policy] of POLICIES) {
  const started = performance.now();
  const sums = CHECKPOINTS.map(() => 0);
  let bestShare = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = simulateRegret(RATES, policy, {
      horizon: HORIZON,
      updateEvery: UPDATE_EVERY,
      checkpoints: CHECKPOINTS,
      rng: rngMulberry32(seed),
      draws: 2000,
    });
    r.regret.forEach((x, i) => {
      sums[i] = (sums[i] as number) + x / SEEDS;
    });
    bestShare += (r.pulls[RATES.length - 1] as number) / HORIZON / SEEDS;
  }
  const ms = performance.now() - started;
  const final = sums[sums.length - 1] as number;
  if (policy.kind === 'uniform') uniformFinal = final;
  const vsUniform = uniformFinal > 0 ? `${((final / uniformFinal) * 100).toFixed(0)} %` : '-';
  console.log(
    `${name.padEnd(36)}${sums.map((x) => x.toFixed(1).padStart(16)).join('')}  ${vsUniform.padStart(10)}  ${(bestShare * 100).toFixed(1).padStart(16)} %  ${(ms / 1000).toFixed(1)} s`,
  );
}
console.log(
  'regret = expected conversions lost against always serving the best fixed arm (0.06); "vs uniform" = final regret as a share of the uniform split\'s; lower is better.',
);
