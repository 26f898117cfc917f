/**
 * Checks over a whole experiment: sample-ratio mismatch and multiple-testing corrections. Pure.
 */
import { chiSquareSf } from './stats.dists.core.ts';

/** p-value below which a sample-ratio mismatch is reported (GrowthBook's default). */
export const SRM_THRESHOLD = 0.001;

/**
 * Chi-square goodness of fit of observed units per variant to the expected weights (weights need not sum
 * to 1; variants of weight 0 are left out of the statistic, as gbstats check_srm). 1 when nobody is in.
 */
export function srmPValue(units: readonly number[], weights: readonly number[]): number {
  const total = units.reduce((s, u) => s + u, 0);
  if (!total) return 1;
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  let x = 0;
  for (let i = 0; i < units.length; i++) {
    const w = weights[i] ?? 0;
    if (w <= 0) continue;
    const e = (w / totalWeight) * total;
    x += ((units[i] ?? 0) - e) ** 2 / e;
  }
  return chiSquareSf(x, units.length - 1);
}

/** Holm-Bonferroni step-down adjusted p-values, in the input order (same as statsmodels 'holm'). */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([v, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * v));
    out[i] = running;
  });
  return out;
}

/** Benjamini-Hochberg step-up adjusted p-values (false discovery rate), in the input order ('fdr_bh'). */
export function bhAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const [v, i] = order[rank] as readonly [number, number];
    running = Math.min(running, Math.min(1, (m / (rank + 1)) * v));
    out[i] = running;
  }
  return out;
}
