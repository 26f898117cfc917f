/**
 * `loupe eval`: a model on any dataset in the LightGCN text format (`uid item item ...`) with the protocol
 * of shared/datasets/README.md: every user with a test item, ALL items scored, the user's train items
 * excluded, top 20; Recall@20 (no cap) and NDCG@20 averaged over users.
 */
import { readFile } from 'node:fs/promises';
import type { Csr } from '../../../ml/csr.ts';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../../ml/dataset.ts';
import { evaluateTopK } from '../../../ml/eval.ts';
import { AUTO_CANDIDATES, fitOfflineScorer, OFFLINE_MODELS, type OfflineModel } from '../../../ml/models.ts';
import { DEFAULT_TUNING_BUDGET_MS, tuneModel, type TuningResult, type TuningTrial } from '../../../ml/tuning.ts';

/**
 * The models `loupe eval` can fit: every model of the one table that needs no item attributes, and `auto`
 * (a tenant's search, on the train file only).
 */
export const EVAL_MODELS = [...OFFLINE_MODELS, 'auto'] as const;
export type EvalModel = OfflineModel | 'auto';

/** The graph filter is fitted on the binary matrix, as tenants get it (`recs.models.ts`). */
const binary = (m: Csr): Csr => ({ ...m, data: new Float32Array(m.data.length).fill(1) });

async function readText(file: string): Promise<string> {
  const buf = await readFile(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

export interface EvalReport {
  model: EvalModel;
  /** With `auto`: the family and settings the search chose, and the search itself. */
  chosen?: { family: OfflineModel; params: Record<string, unknown> };
  tuning?: TuningResult;
  tuningSeconds?: number;
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
  /** `auto`'s search budget in ms (default: a tenant's default). */
  budgetMs?: number;
  onTrial?: (t: TuningTrial) => void;
}): Promise<EvalReport> {
  const train = parseUserItemText(await readText(opts.train));
  const test = parseUserItemText(await readText(opts.test), { users: train.users, items: train.items });
  // test ids beyond train's shape widen it; make both agree
  const items = Math.max(train.items, test.items);
  const users = Math.max(train.users, test.users);
  const tr = items === train.items && users === train.users ? train : parseUserItemText(await readText(opts.train), { users, items });
  // `auto`: exactly a tenant's search (`ml/tuning.ts`, same families, budget, seed and hold-out), on the train
  // file only, in its own shape (`train`, not `tr`: not even the test file's user and item counts reach a choice);
  // the test file is read for nothing but the final measurement
  const ts = performance.now();
  let tuning: TuningResult | undefined;
  if (opts.model === 'auto') {
    if (opts.params && Object.keys(opts.params).length) throw new Error('--model auto picks its own hyperparameters; omit --params');
    tuning = await tuneModel(train.csr, {
      budgetMs: opts.budgetMs ?? DEFAULT_TUNING_BUDGET_MS,
      families: AUTO_CANDIDATES,
      ...(opts.onTrial ? { onTrial: opts.onTrial } : {}),
    });
  }
  const family: OfflineModel = tuning ? tuning.family : (opts.model as OfflineModel);
  const params = tuning ? tuning.params : (opts.params ?? {});
  const t0 = performance.now();
  const m = await fitOfflineScorer(family, family === 'graph_filter' ? binary(tr.csr) : tr.csr, params, {
    onEpoch: (epoch, loss, seconds) => void process.stderr.write(`  epoch ${epoch} loss ${loss.toFixed(4)} (${seconds.toFixed(0)} s)\n`),
  });
  const t1 = performance.now();
  const metrics = await evaluateTopK({ train: tr.csr, test: test.csr, k: 20, scoreBatch: m.scoreBatch });
  const t2 = performance.now();
  await m.close?.();
  return {
    model: opts.model,
    ...(tuning ? { chosen: { family, params }, tuning, tuningSeconds: (t0 - ts) / 1000 } : {}),
    users: metrics.users,
    items,
    recall20: metrics.recall,
    ndcg20: metrics.ndcg,
    trainSeconds: (t1 - t0) / 1000,
    evalSeconds: (t2 - t1) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
