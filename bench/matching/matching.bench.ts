/**
 * bench/matching: product-matching quality with the standard protocol of the entity-matching literature on the
 * ER-Magellan splits of Abt-Buy and Walmart-Amazon (../shared/datasets/product-matching): everything (features,
 * penalty, tree grid, rounds, threshold) chosen on train and valid, precision/recall/F1 of the positive class
 * reported on test, once.
 *
 *   npm run bench:matching
 *
 * Prints, measured in the same run: a plain logistic regression on the 19 similarity features (baseline), the
 * quadratic logistic model on the same 19, the boosted matcher fitted on the single split (trees on train; grid
 * point, rounds and threshold on valid: the previous procedure) and the boosted matcher cross-fitted (that grid
 * point, 5 folds over train and valid, threshold on the out-of-fold scores, the 5 models averaged), both over the
 * 44 features of `richPairFeatures`. BENCH_MATCHERS=linear,boosted picks some (all by default: linear, quadratic,
 * boosted); BENCH_SETS=walmart-amazon runs one set. The selection figures behind the features and the cross-fit: `bench/matching/select.ts` (valid only). Published figures quoted from ../shared/datasets/README.md: logistic regression on
 * seven string similarities 76.8 (Abt-Buy) / 76.1 (Walmart-Amazon) on this machine; Ditto 89.33 on Abt-Buy
 * (Li et al., VLDB 2021); HierGAT 89.8. Goal: 85 F1 on both.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateBoostedMatcher, evaluateMatcher, fitBoostedMatcher, fitMatcher, readPairs } from '../../src/modules/pricing/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../shared/datasets/product-matching');
const PUBLISHED: Record<string, string> = {
  'abt-buy': 'logistic (7 similarities) 76.8, Ditto 89.33 (Li et al. 2021), HierGAT 89.8',
  'walmart-amazon': 'logistic (7 similarities) 76.1',
};

if (!existsSync(ROOT)) {
  console.log(`bench:matching skipped: ${ROOT} is absent (the shared datasets folder sits beside the checkout).`);
  process.exit(0);
}
console.log(
  `machine: ${os.cpus().length} cpus, load ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
const pct = (v: number) => (100 * v).toFixed(1);
for (const ds of (process.env.BENCH_SETS ?? 'abt-buy,walmart-amazon').split(',')) {
  const dir = path.join(ROOT, ds);
  const train = readPairs(path.join(dir, 'train.txt.gz'));
  const valid = readPairs(path.join(dir, 'valid.txt.gz'));
  const test = readPairs(path.join(dir, 'test.txt.gz'));
  const line = (name: string, r: { precision: number; recall: number; f1: number }, validF1: number, extra: string, t0: number) =>
    console.log(
      `${ds.padEnd(15)} ${name.padEnd(26)} P ${pct(r.precision)}  R ${pct(r.recall)}  F1 ${pct(r.f1)}   valid F1 ${pct(validF1)}  ${extra}  ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  const only = new Set((process.env.BENCH_MATCHERS ?? 'linear,quadratic,boosted').split(','));
  for (const quadratic of [false, true]) {
    if (!only.has(quadratic ? 'quadratic' : 'linear')) continue;
    const t0 = performance.now();
    const fit = fitMatcher(train, valid, { quadratic });
    line(
      quadratic ? 'old loupe (quadratic lr)' : 'baseline (linear lr)',
      evaluateMatcher(fit, test),
      fit.validF1,
      `threshold ${fit.threshold.toFixed(2)}`,
      t0,
    );
  }
  if (only.has('boosted')) {
    const t0 = performance.now();
    const fit = fitBoostedMatcher(train, valid);
    const single = fit.singleSplit!;
    line(
      'boosted, single split',
      evaluateBoostedMatcher({ ...single, idf: fit.idf, folds: 0 }, test),
      single.validF1,
      `threshold ${single.threshold.toFixed(2)}, ${single.model.trees.length} trees, depth ${single.params.maxDepth}, leaf ${single.params.minSamplesLeaf}, colsample ${single.params.colsample}`,
      t0,
    );
    line(
      'boosted, 5-fold cross-fit',
      evaluateBoostedMatcher(fit, test),
      fit.validF1,
      `(out-of-fold F1 over train+valid) threshold ${fit.threshold.toFixed(2)}, ${fit.model.trees.length} trees in ${fit.folds} models`,
      t0,
    );
  }
  console.log(`${''.padEnd(15)} published: ${PUBLISHED[ds]}; goal 85`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
