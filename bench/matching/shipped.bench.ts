/**
 * bench/matching/shipped: the matcher the feed import ships (`matcher.model.json`) beside a candidate, side by side in
 * one run: F1 of the positive class on the test files of Abt-Buy and Walmart-Amazon (each model at its own threshold,
 * and precision at its auto-match point, the import's operating point; then with document frequencies from each pair's
 * two records alone, the import's thinnest case), and CPU per 5,000 scored pairs (features and trees, then the trees
 * alone), the best of 3 rounds. Document frequencies per set come from its train and valid
 * files, as in bench/matching. The test files are read here only, never by the training.
 *
 *   npm run train:matcher -- --out /tmp/candidate.json
 *   CANDIDATE=/tmp/candidate.json nice -n 15 npx tsx bench/matching/shipped.bench.ts
 *   BASELINE=<another model file> ...   # default: this checkout's src/modules/pricing/matcher.model.json
 *
 * The scale goal (100,000 new offers against 1,000,000 in under 10 minutes) by arithmetic: the import scores each new
 * offer against at most 12 candidates (matching.core.ts MAX_CANDIDATES), so at most 1.2 million pairs: the line
 * `1.2M pairs` prints the matcher's CPU for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type SerializedMatcher,
  buildIdf,
  deserializeMatcher,
  prepare,
  prf,
  readPairs,
  richMatrix,
  scoreMatrix,
  scorePairs,
} from '../../src/modules/pricing/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../shared/datasets/product-matching');
if (!existsSync(ROOT)) {
  console.log(`bench:matching shipped skipped: ${ROOT} is absent.`);
  process.exit(0);
}
const models: { name: string; file: string }[] = [
  { name: 'shipped', file: process.env.BASELINE ?? path.resolve(import.meta.dirname, '../../src/modules/pricing/matcher.model.json') },
];
if (process.env.CANDIDATE) models.push({ name: 'candidate', file: path.resolve(process.env.CANDIDATE) });
const loaded = models.map((m) => {
  const s = JSON.parse(readFileSync(m.file, 'utf8')) as SerializedMatcher;
  return { ...m, s, scorer: deserializeMatcher(s) };
});
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
const cpuMs = (f: () => void) => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
const pct = (v: number) => (100 * v).toFixed(1);
console.log(`machine: ${os.cpus().length} cpus, load ${load()} (a loaded machine: compare the two models side by side only)`);
for (const m of loaded)
  console.log(
    `${m.name.padEnd(10)} ${m.file}: ${m.s.features.length} features, ${m.s.trees.length} trees, depth ${m.s.params.maxDepth}, threshold ${m.s.threshold}, auto ${m.s.points.auto}, review ${m.s.points.review}`,
  );
const perPair: Record<string, number[]> = {};
for (const ds of (process.env.BENCH_SETS ?? 'abt-buy,walmart-amazon').split(',')) {
  const dir = path.join(ROOT, ds);
  const fitPairs = [...readPairs(path.join(dir, 'train.txt.gz')), ...readPairs(path.join(dir, 'valid.txt.gz'))];
  const idf = buildIdf(fitPairs.flatMap((p) => [prepare(p.left), prepare(p.right)]));
  const test = readPairs(path.join(dir, 'test.txt.gz'));
  const pairs = test.map((p) => [prepare(p.left), prepare(p.right)] as [ReturnType<typeof prepare>, ReturnType<typeof prepare>]);
  const y = test.map((p) => p.label);
  const te = richMatrix(test, idf);
  for (const m of loaded) {
    let p: Float64Array = new Float64Array(0);
    let all = Number.POSITIVE_INFINITY;
    let trees = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      all = Math.min(
        all,
        cpuMs(() => {
          p = scorePairs(m.scorer, pairs, idf);
        }),
      );
      trees = Math.min(
        trees,
        cpuMs(() => {
          scoreMatrix(m.scorer, te.x);
        }),
      );
    }
    const at = prf(
      Array.from(p, (v) => (v >= m.scorer.threshold ? 1 : 0)),
      y,
    );
    const auto = prf(
      Array.from(p, (v) => (v >= m.scorer.points.auto ? 1 : 0)),
      y,
    );
    // The import's conditions at their thinnest: document frequencies from the records at hand (matching.core.ts), here
    // the two records of each pair alone (an import of one offer against its one candidate).
    const thin = Float64Array.from(pairs, (pr) => scorePairs(m.scorer, [pr], buildIdf(pr))[0]!);
    const thinAt = prf(
      Array.from(thin, (v) => (v >= m.scorer.threshold ? 1 : 0)),
      y,
    );
    const per5k = (ms: number) => (ms * 5000) / pairs.length;
    (perPair[m.name] ??= []).push(all / pairs.length);
    console.log(
      `${ds.padEnd(15)} ${m.name.padEnd(10)} test P ${pct(at.precision)}  R ${pct(at.recall)}  F1 ${pct(at.f1)}   at auto-match P ${pct(auto.precision)} R ${pct(auto.recall)}   ` +
        `pair-only idf F1 ${pct(thinAt.f1)} (P ${pct(thinAt.precision)} R ${pct(thinAt.recall)})   ` +
        `CPU per 5,000 pairs ${per5k(all).toFixed(0)} ms (trees alone ${per5k(trees).toFixed(0)} ms)   load ${load()}`,
    );
  }
}
for (const [name, v] of Object.entries(perPair)) {
  const ms = v.reduce((a, b) => a + b, 0) / v.length;
  console.log(
    `${name.padEnd(10)} 1.2M pairs (100,000 new offers x 12 candidates): ${((ms * 1.2e6) / 1000).toFixed(0)} s of matcher CPU on one core (goal for the whole import: < 600 s)`,
  );
}
