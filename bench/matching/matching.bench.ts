/**
 * bench/matching: product-matching quality with the standard protocol of the entity-matching literature on the
 * ER-Magellan splits of Abt-Buy and Walmart-Amazon (../shared/datasets/product-matching): everything (penalty,
 * threshold) chosen on train and valid, precision/recall/F1 of the positive class reported on test, once.
 *
 *   npm run bench:matching
 *
 * Prints Loupe's matcher (quadratic logistic model over 19 similarity features) beside a plain logistic
 * regression on the same features measured in the same run, and the published figures: logistic regression on
 * seven string similarities 76.8 (Abt-Buy) / 76.1 (Walmart-Amazon) on this machine, Ditto 89.33 on Abt-Buy.
 * Goal: 85 F1 on both.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateMatcher, fitMatcher, readPairs } from '../../src/modules/pricing/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../shared/datasets/product-matching');
const PUBLISHED: Record<string, string> = {
  'abt-buy': 'logistic (7 similarities) 76.8, Ditto 89.33, HierGAT 89.8',
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
for (const ds of ['abt-buy', 'walmart-amazon']) {
  const dir = path.join(ROOT, ds);
  const train = readPairs(path.join(dir, 'train.txt.gz'));
  const valid = readPairs(path.join(dir, 'valid.txt.gz'));
  const test = readPairs(path.join(dir, 'test.txt.gz'));
  for (const quadratic of [false, true]) {
    const t0 = performance.now();
    const fit = fitMatcher(train, valid, { quadratic });
    const r = evaluateMatcher(fit, test);
    const pct = (v: number) => (100 * v).toFixed(1);
    console.log(
      `${ds.padEnd(15)} ${(quadratic ? 'loupe (quadratic)' : 'baseline (linear)').padEnd(18)} P ${pct(r.precision)}  R ${pct(r.recall)}  F1 ${pct(r.f1)}   valid F1 ${pct(fit.validF1)}  threshold ${fit.threshold.toFixed(2)}  ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  console.log(`${''.padEnd(15)} published: ${PUBLISHED[ds]}; goal 85`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
