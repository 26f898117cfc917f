import { describe, expect, it } from 'vitest';
import { csrFromCoo } from './csr.ts';
import { evaluateTopK } from './eval.ts';
import { MODEL_PARAMS, MODEL_TYPES, checkParams, defaultParams, fitOfflineScorer, graphFilterOptions, ialsOptions } from './models.ts';

describe('the model table', () => {
  it('has a schema with defaults for every model type', () => {
    for (const t of MODEL_TYPES) expect(checkParams(t, {})).toEqual({ ok: true, params: MODEL_PARAMS[t].parse({}) });
  });

  it('maps snake_case hyperparameters to kernel options, capping the filter rank on a small matrix', () => {
    expect(ialsOptions(defaultParams('ials'))).toMatchObject({ factors: 64, alpha: 2, iterations: 12, cgSteps: 3, seed: 7 });
    const small = csrFromCoo(5, 40, [0, 1, 2], [0, 1, 2]);
    expect(graphFilterOptions(defaultParams('graph_filter'), small)).toMatchObject({
      rank: 4,
      userExponent: 0.5,
      itemExponent: 0.5,
      idealWeight: 0.3,
      sharpen: 0,
    });
  });

  it('refuses invalid hyperparameters by name before fitting', async () => {
    const train = csrFromCoo(2, 3, [0, 1], [0, 1]);
    await expect(fitOfflineScorer('ials', train, { factors: 1, nope: 2 })).rejects.toThrow(
      /hyperparameters\.factors.*hyperparameters\.nope|hyperparameters\.nope.*hyperparameters\.factors/,
    );
  });

  it('fits an offline scorer the one evaluation can rank', async () => {
    // 6 users x 4 items: item 3 is everyone's held-out item and the most popular in train
    const train = csrFromCoo(6, 4, [0, 1, 2, 3, 4, 5, 0, 1], [3, 3, 3, 0, 1, 2, 1, 2]);
    const test = csrFromCoo(6, 4, [3, 4, 5], [3, 3, 3]);
    const m = await fitOfflineScorer('popularity', train);
    const metrics = await evaluateTopK({ train, test, k: 1, scoreBatch: m.scoreBatch });
    expect(metrics).toMatchObject({ users: 3, recall: 1, ndcg: 1 });
  });
});
