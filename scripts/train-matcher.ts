/**
 * Trains the product matcher the feed import uses and writes src/modules/pricing/matcher.model.json.
 *
 *   npm run train:matcher
 *
 * Training data: the train files of Abt-Buy and Walmart-Amazon together (../shared/datasets/product-matching);
 * grid, rounds, threshold and the import's operating points (auto-match and review band) chosen on their valid
 * files together. The test files are not read. `--points-only` keeps the trees and recomputes the operating
 * points on valid.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { predictGbt } from '../src/ml/gbt.ts';
import { buildIdf, prepare } from '../src/modules/pricing/matcher.core.ts';
import { readPairs } from '../src/modules/pricing/matcher.eval.ts';
import {
  type LearnedMatcher,
  type SerializedMatcher,
  deserializeMatcher,
  fitLearnedMatcher,
  operatingPoints,
  richMatrix,
  serializeMatcher,
} from '../src/modules/pricing/matcher.model.ts';

const ROOT = path.resolve(import.meta.dirname, '../../shared/datasets/product-matching');
if (!existsSync(ROOT)) {
  console.error(`train:matcher needs ${ROOT} (the shared datasets folder beside the checkout).`);
  process.exit(1);
}
const sets = ['abt-buy', 'walmart-amazon'];
const train = sets.flatMap((d) => readPairs(path.join(ROOT, d, 'train.txt.gz')));
const valid = sets.flatMap((d) => readPairs(path.join(ROOT, d, 'valid.txt.gz')));
const idf = buildIdf([...train, ...valid].flatMap((p) => [prepare(p.left), prepare(p.right)]));
const va = richMatrix(valid, idf);
const out = path.resolve(import.meta.dirname, '../src/modules/pricing/matcher.model.json');
let fit: LearnedMatcher;
if (process.argv.includes('--points-only')) {
  const saved = JSON.parse(readFileSync(out, 'utf8')) as SerializedMatcher;
  const d = deserializeMatcher(saved);
  fit = { model: d.model, threshold: saved.threshold, validF1: saved.validF1, params: saved.params };
} else fit = fitLearnedMatcher(richMatrix(train, idf), va);
const points = operatingPoints(predictGbt(fit.model, va.x), va.y);
writeFileSync(out, `${JSON.stringify(serializeMatcher(fit, points))}\n`);
console.log(
  `wrote ${out}: ${fit.model.trees.length} trees, depth ${fit.params.maxDepth}; valid F1 ${(100 * fit.validF1).toFixed(1)} at ${fit.threshold}; auto-match >= ${points.auto}, review >= ${points.review}`,
);
