/**
 * The choosing half of the matching protocol, shown: compares matcher procedures and feature sets on the train and
 * valid files only (the test files are never opened here). Each procedure is fitted on train alone and scored on
 * valid at the threshold it chose itself, so valid plays the held-out part.
 *
 *   nice -n 15 npx tsx bench/matching/select.ts
 */
import os from 'node:os';
import path from 'node:path';
import { predictGbt } from '../../src/ml/gbt.ts';
import {
  RICH_FEATURE_NAMES,
  buildIdf,
  fitCvMatcher,
  fitLearnedMatcher,
  prepare,
  prf,
  readPairs,
  richMatrix,
} from '../../src/modules/pricing/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../shared/datasets/product-matching');
const OLD = RICH_FEATURE_NAMES.indexOf('quantity_shared_count');
const grid = (process.env.GRID ?? '5:20:0.5').split(',').map((g) => {
  const [maxDepth, minSamplesLeaf, colsample] = g.split(':').map(Number);
  return { maxDepth: maxDepth!, minSamplesLeaf: minSamplesLeaf!, colsample: colsample! };
});
const cols = (m: { x: { rows: number; cols: number; data: Float64Array }; y: Float64Array }, d: number) => {
  const data = new Float64Array(m.x.rows * d);
  for (let i = 0; i < m.x.rows; i++) data.set(m.x.data.subarray(i * m.x.cols, i * m.x.cols + d), i * d);
  return { x: { rows: m.x.rows, cols: d, data }, y: m.y };
};
const load = () => os.loadavg()[0]!.toFixed(1);
for (const ds of (process.env.SETS ?? 'abt-buy,walmart-amazon').split(',')) {
  // TRAIN_FRACTION < 1: a learning curve (does more labeled data still help? then fitting on train and valid does)
  const allTrain = readPairs(path.join(ROOT, ds, 'train.txt.gz'));
  const train = allTrain.filter((_, i) => (i * 7919) % 100 < Number(process.env.TRAIN_FRACTION ?? 1) * 100);
  const valid = readPairs(path.join(ROOT, ds, 'valid.txt.gz'));
  const idf = buildIdf([...train, ...valid].flatMap((p) => [prepare(p.left), prepare(p.right)]));
  const trFull = richMatrix(train, idf);
  const vaFull = richMatrix(valid, idf);
  // train split 80/20 by row position for the single-split procedure (the shipped one's shape)
  const cut = Math.floor(train.length * 0.8);
  for (const [label, d] of [
    ['old 40 features', OLD],
    ['44 features', RICH_FEATURE_NAMES.length],
  ] as const) {
    if (process.env.ONLY_NEW && d === OLD) continue;
    const tr = cols(trFull, d);
    const va = cols(vaFull, d);
    const score = (fit: { model: Parameters<typeof predictGbt>[0]; threshold: number }) =>
      prf(
        Array.from(predictGbt(fit.model, va.x), (v) => (v >= fit.threshold ? 1 : 0)),
        va.y,
      );
    const show = (name: string, r: ReturnType<typeof prf>, chosen: string, t0: number) =>
      console.log(
        `${ds.padEnd(15)} ${label.padEnd(16)} train ${train.length} ${name.padEnd(22)} valid P ${(100 * r.precision).toFixed(1)} R ${(100 * r.recall).toFixed(1)} F1 ${(100 * r.f1).toFixed(1)}  (${chosen}) ${((performance.now() - t0) / 1000).toFixed(0)} s load ${load()}`,
      );
    if (!process.env.NO_SPLIT) {
      const t0 = performance.now();
      const idx = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
      const take = (ids: number[]) => {
        const data = new Float64Array(ids.length * d);
        ids.forEach((i, r) => data.set(tr.x.data.subarray(i * d, (i + 1) * d), r * d));
        return { x: { rows: ids.length, cols: d, data }, y: Float64Array.from(ids, (i) => tr.y[i]!) };
      };
      const fit = fitLearnedMatcher(take(idx(0, cut)), take(idx(cut, train.length)), grid);
      show('single split 80/20', score(fit), `inner F1 ${(100 * fit.validF1).toFixed(1)} th ${fit.threshold}`, t0);
    }
    const t0 = performance.now();
    const cv = fitCvMatcher(tr, { grid });
    show(
      '5-fold cross-fit',
      score(cv),
      `oof F1 ${(100 * cv.validF1).toFixed(1)} th ${cv.threshold} ${cv.params.maxDepth}/${cv.params.minSamplesLeaf}/${cv.params.colsample}`,
      t0,
    );
  }
}
