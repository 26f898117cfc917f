/**
 * `loupe eval`: a model on any dataset in the LightGCN text format (`uid item item ...`) with the protocol
 * of shared/datasets/README.md: every user with a test item, ALL items scored, the user's train items
 * excluded, top 20; Recall@20 (no cap) and NDCG@20 averaged over users.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../../ml/dataset.ts';
import { evaluateTopK } from '../../../ml/eval.ts';
import { fitOfflineScorer, OFFLINE_MODELS, type OfflineModel } from '../../../ml/models.ts';

/** The models `loupe eval` can fit: every model of the one table that needs no item attributes. */
export const EVAL_MODELS = OFFLINE_MODELS;
export type EvalModel = OfflineModel;

async function readText(file: string): Promise<string> {
  const buf = await readFile(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
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

/**
 * Fits `model` from the one model table (`ml/models.ts`: its defaults are a tenant's, `params` are
 * snake_case hyperparameters over them, validated the same way) on the train file and evaluates it on
 * the test file with the one offline evaluation (`ml/eval.ts`).
 */
export async function evaluateModel(opts: {
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
  const m = await fitOfflineScorer(opts.model, tr.csr, opts.params ?? {}, {
    onEpoch: (epoch, loss, seconds) => void process.stderr.write(`  epoch ${epoch} loss ${loss.toFixed(4)} (${seconds.toFixed(0)} s)\n`),
  });
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
