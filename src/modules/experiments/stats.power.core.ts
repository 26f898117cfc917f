/**
 * Planning: power, sample size and minimum detectable effect of a two-sided test of a relative lift,
 * with the normal approximation and the delta-method variance the analysis uses (both arms share the
 * per-unit variance). Pure.
 */
import { normalCdf, normalQuantile } from './stats.dists.core.ts';

export interface PowerInput {
  /** Control mean and per-unit variance (for a conversion rate p: variance p(1−p)). */
  mean: number;
  variance: number;
  /** Relative lift to detect (0.05 = +5 %). */
  lift: number;
  /** Significance level (two-sided). */
  alpha: number;
}

/** Standard error of the relative lift with n units per arm: sqrt(σ²(1 + (1+lift)²) / (n μ²)). */
function liftStandardError(p: PowerInput, nPerArm: number): number {
  return Math.sqrt((p.variance * (1 + (1 + p.lift) ** 2)) / (nPerArm * p.mean ** 2));
}

/** Probability that the two-sided test rejects when the true lift is `lift`, with n units per arm. */
export function power(p: PowerInput, nPerArm: number): number {
  const se = liftStandardError(p, nPerArm);
  const z = normalQuantile(1 - p.alpha / 2);
  return normalCdf(p.lift / se - z) + normalCdf(-p.lift / se - z);
}

/** Units per arm for the given power (one-sided approximation of the two-sided test, rounded up). */
export function sampleSizePerArm(p: PowerInput, targetPower: number): number {
  const z = normalQuantile(1 - p.alpha / 2) + normalQuantile(targetPower);
  return Math.ceil((z * z * p.variance * (1 + (1 + p.lift) ** 2)) / (p.lift * p.lift * p.mean * p.mean));
}

/** Smallest positive relative lift detected with `targetPower` at n units per arm (bisection to 1e-10). */
export function minimumDetectableEffect(base: Omit<PowerInput, 'lift'>, nPerArm: number, targetPower: number): number {
  let lo = 0;
  let hi = 1;
  while (power({ ...base, lift: hi }, nPerArm) < targetPower && hi < 1e6) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2;
    if (power({ ...base, lift: mid }, nPerArm) < targetPower) lo = mid;
    else hi = mid;
  }
  return hi;
}
