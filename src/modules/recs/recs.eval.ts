/**
 * `loupe eval`: a model on any dataset in the LightGCN text format (`uid item item ...`) with the protocol
 * of shared/datasets/README.md: every user with a test item, ALL items scored, the user's train items
 * excluded, top 20; Recall@20 (no cap) and NDCG@20 averaged over users.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../ml/dataset.ts';
import { evaluateTopK, type BatchScorer } from '../../ml/eval.ts';
import { fitGraphFilter } from '../../ml/graph-filter.scorer.ts';
import { fitIals } from '../../ml/ials.ts';
import { fitItemKnn } from '../../ml/item-knn.ts';
import { fitLightGcn } from '../../ml/lightgcn.ts';
import { fitPopularity } from '../../ml/popularity.ts';
import type { Csr } from '../../ml/csr.ts';

export const EVAL_MODELS = ['popularity', 'item_knn', 'ials', 'lightgcn', 'graph_filter'] as const;
export type EvalModel = (typeof EVAL_MODELS)[number];

async function readText(file: string): Promise<string> {
  const buf = await readFile(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/** Kernel parameters (camelCase, as the `ml` functions take them) over sensible defaults. */
async function fit(
  model: EvalModel,
  train: Csr,
  params: Record<string, unknown>,
): Promise<{ scoreBatch: BatchScorer; close?: () => Promise<void> }> {
  switch (model) {
    case 'popularity':
      return fitPopularity(train, { ...params });
    case 'item_knn':
      return fitItemKnn(train, { k: 200, shrink: 10, measure: 'cosine', ...params });
    case 'ials':
      return fitIals(train, { factors: 128, regularization: 1, alpha: 1, iterations: 15, cgSteps: 3, seed: 7, ...params });
    case 'lightgcn':
      return fitLightGcn(train, {
        epochs: 50,
        seed: 11,
        onEpoch: (p) => void process.stderr.write(`  epoch ${p.epoch} loss ${p.loss.toFixed(4)} (${p.seconds.toFixed(0)} s)\n`),
        ...params,
      });
    case 'graph_filter':
      // bench/recs-quality's loupe-gf-asym (tuned on a validation hold-out of Yelp2018's train split)
      return fitGraphFilter(train, {
        rank: 256,
        idealWeight: 0.2,
        sharpen: 1.25,
        sharpenRank: 128,
        userExponent: 0.6,
        itemExponent: 0.4,
        oversample: 64,
        powerIterations: 6,
        ...params,
      });
  }
}

export interface EvalReport {
  model: EvalModel;
  users: number;
  items: number;
  recall20: number;
  ndcg20: number;
  trainSeconds: number;
  evalSeconds: number;
  peakRssMb: number;
}

export async function evaluateDataset(opts: {
  train: string;
  test: string;
  model: EvalModel;
  params?: Record<string, unknown>;
}): Promise<EvalReport> {
  const train = parseUserItemText(await readText(opts.train));
  const test = parseUserItemText(await readText(opts.test), { users: train.users, items: train.items });
  // test ids beyond train's shape widen it; make both agree
  const items = Math.max(train.items, test.items);
  const users = Math.max(train.users, test.users);
  const tr = items === train.items && users === train.users ? train : parseUserItemText(await readText(opts.train), { users, items });
  const t0 = performance.now();
  const m = await fit(opts.model, tr.csr, opts.params ?? {});
  const t1 = performance.now();
  const metrics = await evaluateTopK({ train: tr.csr, test: test.csr, k: 20, scoreBatch: m.scoreBatch });
  const t2 = performance.now();
  await m.close?.();
  return {
    model: opts.model,
    users: metrics.users,
    items,
    recall20: metrics.recall,
    ndcg20: metrics.ndcg,
    trainSeconds: (t1 - t0) / 1000,
    evalSeconds: (t2 - t1) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
