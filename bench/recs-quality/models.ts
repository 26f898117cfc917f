import type { Csr } from '../../src/ml/csr.ts';
import type { BatchScorer } from '../../src/ml/eval.ts';
import { fitGraphFilter } from '../../src/ml/graph-filter.scorer.ts';
import { fitIals } from '../../src/ml/ials.ts';
import { fitItemKnn } from '../../src/ml/item-knn.ts';
import { fitLightGcn } from '../../src/ml/lightgcn.ts';
import { fitPopularity } from '../../src/ml/popularity.ts';

/** A model the benchmark can run: `fit` trains on users x items and returns a batch scorer. */
export interface BenchModel {
  readonly name: string;
  /** Run when no --models list is given (LightGCN's training is too long for the default run). */
  readonly byDefault: boolean;
  readonly fit: (train: Csr) => Promise<{ scoreBatch: BatchScorer; close?: () => Promise<void> | void }>;
}

function logPhase(phase: string, ms: number): void {
  console.error(`    ${phase}: ${(ms / 1000).toFixed(1)} s`);
}

export const BENCH_MODELS: BenchModel[] = [
  { name: 'popularity', byDefault: true, fit: async (train) => fitPopularity(train, {}) },
  { name: 'item-knn', byDefault: true, fit: async (train) => fitItemKnn(train, { k: 200, shrink: 10, measure: 'cosine', binary: true }) },
  {
    name: 'ials',
    byDefault: true,
    fit: async (train) => fitIals(train, { factors: 128, regularization: 1, alpha: 1, iterations: 15, cgSteps: 3, seed: 7 }),
  },
  {
    name: 'lightgcn',
    byDefault: false,
    fit: async (train) =>
      fitLightGcn(train, { epochs: 50, seed: 11, onEpoch: (p) => void console.error(`    epoch ${p.epoch} loss ${p.loss.toFixed(4)} (${p.seconds.toFixed(0)} s)`) }),
  },
  // GF-CF as published: linear filter + 0.3 x ideal low-pass on the top 256 singular vectors
  { name: 'gf-cf', byDefault: true, fit: async (train) => fitGraphFilter(train, { rank: 256, idealWeight: 0.3, onPhase: logPhase }) },
  // Loupe's filter: GF-CF (alpha 0.2) minus T = 1 times P̃² truncated to its top 128 directions (BSPM-style
  // sharpening). Chosen on a 20% validation hold-out of train: k' = 64..512 and T 0.7..1 tie there.
  { name: 'loupe-gf-sharp', byDefault: true, fit: async (train) => fitGraphFilter(train, { rank: 256, idealWeight: 0.2, sharpen: 1, sharpenRank: 128, oversample: 64, onPhase: logPhase }) },
];
