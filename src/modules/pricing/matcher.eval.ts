import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fitLogistic, type LogisticModel, predictLogistic } from '../../ml/logistic.ts';
import { type LearnedMatcher, fitCvMatcher, fitLearnedMatcher, richMatrix, stackRows } from './matcher.model.ts';
import { predictGbt } from '../../ml/gbt.ts';
import { FEATURE_NAMES, type Idf, type LabeledPair, buildIdf, pairFeatures, parseMagellanPairs, prepare, prf } from './matcher.core.ts';

/** Reads a benchmark split (plain or .gz). */
export function readPairs(file: string): LabeledPair[] {
  const buf = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  return parseMagellanPairs(text).pairs;
}

/** Dimensions of the expanded features: the raw ones and every pairwise product (a quadratic logistic model). */
export const EXPANDED_DIMS = FEATURE_NAMES.length + (FEATURE_NAMES.length * (FEATURE_NAMES.length + 1)) / 2;

/**
 * The raw features and their pairwise products: lets a linear model weigh interactions ("codes conflict AND
 * titles nearly equal" means a sibling model, not a match) that a plain logistic regression cannot.
 */
export function expandFeatures(f: readonly number[], out = new Float64Array(EXPANDED_DIMS)): Float64Array {
  let k = 0;
  for (const v of f) out[k++] = v;
  for (let i = 0; i < f.length; i++) for (let j = i; j < f.length; j++) out[k++] = f[i]! * f[j]!;
  return out;
}

function featureMatrix(pairs: readonly LabeledPair[], idf: Idf, quadratic: boolean): { x: Float64Array; y: Uint8Array } {
  const d = quadratic ? EXPANDED_DIMS : FEATURE_NAMES.length;
  const x = new Float64Array(pairs.length * d);
  const y = new Uint8Array(pairs.length);
  pairs.forEach((p, i) => {
    const f = pairFeatures(prepare(p.left), prepare(p.right), idf);
    if (quadratic) expandFeatures(f, x.subarray(i * d, (i + 1) * d));
    else x.set(f, i * d);
    y[i] = p.label;
  });
  return { x, y };
}

export interface MatcherFit {
  model: LogisticModel;
  quadratic: boolean;
  idf: Idf;
  threshold: number;
  l2: number;
  validF1: number;
}

/**
 * The standard protocol's choosing half: fits on train for each penalty, picks the penalty and the decision
 * threshold with the best F1 on valid. Test is never read here.
 */
export function fitMatcher(train: readonly LabeledPair[], valid: readonly LabeledPair[], opts: { quadratic?: boolean } = {}): MatcherFit {
  const quadratic = opts.quadratic ?? true;
  // Document frequencies from train and valid records only (unlabeled text; test stays unread).
  const idf = buildIdf([...train, ...valid].flatMap((p) => [prepare(p.left), prepare(p.right)]));
  const tr = featureMatrix(train, idf, quadratic);
  const va = featureMatrix(valid, idf, quadratic);
  let best: MatcherFit | undefined;
  for (const l2 of [0.1, 1, 10]) {
    const model = fitLogistic(tr.x, tr.y, quadratic ? EXPANDED_DIMS : FEATURE_NAMES.length, { l2 });
    const p = predictLogistic(model, va.x);
    for (let th = 0.05; th < 0.96; th += 0.01) {
      const f1 = prf(
        Array.from(p, (v) => (v >= th ? 1 : 0)),
        va.y,
      ).f1;
      if (!best || f1 > best.validF1) best = { model, quadratic, idf, threshold: th, l2, validF1: f1 };
    }
  }
  return best!;
}

/** Precision, recall and F1 of a fitted matcher on a labeled split (the protocol's test, read once). */
export function evaluateMatcher(fit: MatcherFit, test: readonly LabeledPair[]) {
  const te = featureMatrix(test, fit.idf, fit.quadratic);
  const p = predictLogistic(fit.model, te.x);
  return prf(
    Array.from(p, (v) => (v >= fit.threshold ? 1 : 0)),
    te.y,
  );
}

/** The boosted matcher fitted by the protocol, with the document frequencies its features used. */
export interface BoostedFit extends LearnedMatcher {
  idf: Idf;
  /** Folds of the cross-fit (0: the single split, trees fit on train, stopped and thresholded on valid). */
  folds: number;
  /** The single split's fit the cross-fit took its grid point from (absent when it is the fit itself). */
  singleSplit?: LearnedMatcher;
}

/**
 * The protocol's choosing half for the boosted matcher. First the single split: trees fit on train, the grid point,
 * rounds and threshold chosen on valid. Then (unless `crossFit` is false) that grid point is cross-fitted over train
 * and valid together (`fitCvMatcher`, 5 folds): the threshold is chosen on the out-of-fold scores of all labeled
 * pairs and the matcher is the average of the 5 fold models. Test is never read here.
 */
export function fitBoostedMatcher(
  train: readonly LabeledPair[],
  valid: readonly LabeledPair[],
  opts: { crossFit?: boolean } = {},
): BoostedFit {
  const idf = buildIdf([...train, ...valid].flatMap((p) => [prepare(p.left), prepare(p.right)]));
  const tr = richMatrix(train, idf);
  const va = richMatrix(valid, idf);
  const single = fitLearnedMatcher(tr, va);
  if (opts.crossFit === false) return { ...single, idf, folds: 0 };
  const { oof: _oof, ...cv } = fitCvMatcher(stackRows(tr, va), { grid: [single.params] });
  return { ...cv, idf, singleSplit: single };
}

/** Precision, recall and F1 of the boosted matcher on a labeled split (the protocol's test, read once). */
export function evaluateBoostedMatcher(fit: BoostedFit, test: readonly LabeledPair[]) {
  const te = richMatrix(test, fit.idf);
  const p = predictGbt(fit.model, te.x);
  return prf(
    Array.from(p, (v) => (v >= fit.threshold ? 1 : 0)),
    te.y,
  );
}
