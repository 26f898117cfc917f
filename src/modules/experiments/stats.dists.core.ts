/**
 * The distribution functions the experiment statistics need, from @stdlib (the family GrowthBook's own
 * TypeScript port of gbstats uses, so our numbers and theirs come from the same implementations).
 */
import chiSquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdfStd from '@stdlib/stats-base-dists-normal-cdf';
import normalPdfStd from '@stdlib/stats-base-dists-normal-pdf';
import normalQuantileStd from '@stdlib/stats-base-dists-normal-quantile';
import tCdfStd from '@stdlib/stats-base-dists-t-cdf';
import tQuantileStd from '@stdlib/stats-base-dists-t-quantile';

/** P(X <= x) for X ~ N(mean, sd²). */
export const normalCdf = (x: number, mean = 0, sd = 1): number => normalCdfStd(x, mean, sd);
/** Density of N(mean, sd²) at x. */
export const normalPdf = (x: number, mean = 0, sd = 1): number => normalPdfStd(x, mean, sd);
/** The p-quantile of N(mean, sd²). */
export const normalQuantile = (p: number, mean = 0, sd = 1): number => normalQuantileStd(p, mean, sd);
/** P(T <= x) for Student's t with `dof` degrees of freedom (dof may be fractional: Welch). */
export const tCdf = (x: number, dof: number): number => tCdfStd(x, dof);
/** The p-quantile of Student's t with `dof` degrees of freedom. */
export const tQuantile = (p: number, dof: number): number => tQuantileStd(p, dof);
/** P(X > x) for X ~ chi-square with k degrees of freedom. */
export const chiSquareSf = (x: number, k: number): number => 1 - chiSquareCdf(x, k);
