/**
 * The model table: for every model type, its hyperparameters (schema, ranges and defaults, snake_case as
 * tenants send them), the kernel options they map to, and an offline fit. Tenant training (its `auto`
 * selection), `loupe eval` and `bench/recs-quality` all read this one table, so the default a tenant gets
 * is the model the benchmark measures. The defaults are where a tenant's `auto` search starts (`tuning.ts`),
 * not its answer: the search re-chooses every family's settings on a hold-out of the tenant's own training data.
 * Every default is a published, dataset-neutral starting point (its source beside it), never a value tuned on a
 * benchmark dataset: constants tuned on one dataset do not carry over to another (issue 10's held-aside dataset).
 */
import { z } from 'zod';
import type { Csr } from './csr.ts';
import type { BatchScorer } from './eval.ts';
import type { GraphFilterOptions } from './graph-filter.ts';
import { fitGraphFilter } from './graph-filter.scorer.ts';
import { fitIals, type IalsParams } from './ials.ts';
import { fitItemKnn, type ItemKnnParams } from './item-knn.ts';
import { tooSmallToTune, validationSplit } from './holdout.ts';
import { fitLightGcn, type LightGcnParams, type LightGcnValidation } from './lightgcn.ts';
import { fitPopularity } from './popularity.ts';

export const MODEL_TYPES = ['popularity', 'item_knn', 'ials', 'lightgcn', 'graph_filter', 'content'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** Per-model hyperparameters (snake_case as in seed 003) with their ranges and neutral defaults (sources inline). */
export const MODEL_PARAMS = {
  popularity: z.object({ weighted: z.boolean().default(true) }).strict(),
  item_knn: z
    .object({
      // top-N item-based CF as published (Deshpande & Karypis 2004; RecBole's ItemKNN): 100 neighbours, the upper
      // end of the 10-100 most works use, and plain cosine without shrinkage; the search tries 10-800 and shrinkage
      k: z.number().int().min(1).max(1000).default(100),
      shrink: z.number().min(0).max(10_000).default(0),
      measure: z.enum(['cosine', 'cooccurrence']).default('cosine'),
    })
    .strict(),
  // Not tuned on a benchmark dataset: 64 factors is the embedding size of the LightGCN protocol's baselines, a
  // confidence 1 + alpha·r with small alpha and regularization of order 1 are Hu, Koren & Volinsky (2008)'s form at
  // a scale a small store's incremental runs learn from (recs.maintenance.int.test.ts: Yelp2018's tuning of 128
  // factors, alpha 1 left them with NDCG 0); 12 sweeps of 3 CG steps (Takács et al. 2011) converge at that size.
  ials: z
    .object({
      factors: z.number().int().min(2).max(512).default(64),
      regularization: z.number().gt(0).max(10_000).default(1),
      alpha: z.number().gt(0).max(10_000).default(2),
      iterations: z.number().int().min(1).max(100).default(12),
      cg_steps: z.number().int().min(1).max(20).default(3),
    })
    .strict(),
  // LightGCN's paper settings (He et al. 2020, the protocol's own): 64 dimensions, 3 layers, Adam 0.001, batch 2048, L2 1e-4
  lightgcn: z
    .object({
      embedding_dim: z.number().int().min(2).max(512).default(64),
      num_layers: z.number().int().min(0).max(6).default(3),
      learning_rate: z.number().gt(0).max(1).default(0.001),
      batch_size: z.number().int().min(16).max(65_536).default(2048),
      epochs: z.number().int().min(1).max(1000).default(50),
      negative_samples: z.number().int().min(1).max(64).default(1),
      reg: z.number().min(0).max(1).default(1e-4),
      /**
       * Early stopping: training stops after `patience` measurements of validation NDCG@20 without a new best (one
       * every `eval_every` epochs, on 10% of the training pairs held out) and keeps the best one's embeddings; on data
       * too small for a hold-out, after `patience` epochs whose loss fell by less than 0.1%.
       */
      patience: z.number().int().min(1).max(100).default(3),
      eval_every: z.number().int().min(1).max(100).default(5),
    })
    .strict(),
  // GF-CF as published (Shen et al., CIKM 2021): linear filter weight 1 plus the ideal low-pass filter of the top 256
  // singular vectors with weight 0.3, symmetric degree normalization D_U^-1/2 R D_I^-1/2, and no sharpening (BSPM's
  // sharpening, Choi et al. 2023, is tuned per dataset: the search tries it, the default leaves it off)
  graph_filter: z
    .object({
      rank: z.number().int().min(1).max(1024).default(256),
      ideal_weight: z.number().min(0).max(10).default(0.3),
      sharpen: z.number().min(0).max(10).default(0),
      /** Directions kept in the sharpening term (at most rank; unused while sharpen is 0). */
      sharpen_rank: z.number().int().min(1).max(1024).default(128),
      linear_weight: z.number().min(0).max(10).default(1),
      /** Degree normalization D_U^-a R D_I^-b (GF-CF's and LightGCN's symmetric 1/2, 1/2). */
      user_exponent: z.number().min(0).max(1).default(0.5),
      item_exponent: z.number().min(0).max(1).default(0.5),
      /** Randomized SVD accuracy, not quality tuning (Halko et al. 2011: oversampling and power iterations, each re-orthonormalized). */
      oversample: z.number().int().min(0).max(512).default(64),
      power_iterations: z.number().int().min(1).max(12).default(6),
    })
    .strict(),
  content: z.object({ weighted: z.boolean().default(true) }).strict(),
} as const;

export type ModelParams<T extends ModelType> = z.output<(typeof MODEL_PARAMS)[T]>;

/**
 * The families of a tenant's `auto` search (`ml/tuning.ts`), cheapest first: each is measured at its defaults,
 * then searched. LightGCN is left out (too slow for a budget of minutes), as is `content` (it needs item
 * attributes, which the offline evaluation has not; it serves cold starts and can be asked for by name).
 */
export const AUTO_CANDIDATES: readonly OfflineModel[] = ['popularity', 'item_knn', 'graph_filter', 'ials'];

/** Seeds of the randomized fits: fixed so that the same data gives the same model. */
export const MODEL_SEEDS = { ials: 7, lightgcn: 11 } as const;

/** The defaults of `type` (its schema parsed from nothing). */
export function defaultParams<T extends ModelType>(type: T): ModelParams<T> {
  return MODEL_PARAMS[type].parse({}) as ModelParams<T>;
}

/** Kernel options of validated item-kNN hyperparameters (interactions counted once, as served). */
export function itemKnnOptions(p: ModelParams<'item_knn'>): ItemKnnParams {
  return { k: p.k, shrink: p.shrink, measure: p.measure, binary: true };
}

export function ialsOptions(p: ModelParams<'ials'>): IalsParams {
  return {
    factors: p.factors,
    regularization: p.regularization,
    alpha: p.alpha,
    iterations: p.iterations,
    cgSteps: p.cg_steps,
    seed: MODEL_SEEDS.ials,
  };
}

export function lightGcnOptions(p: ModelParams<'lightgcn'>): LightGcnParams {
  return {
    embeddingDim: p.embedding_dim,
    numLayers: p.num_layers,
    learningRate: p.learning_rate,
    batchSize: p.batch_size,
    epochs: p.epochs,
    negativeSamples: p.negative_samples,
    reg: p.reg,
    seed: MODEL_SEEDS.lightgcn,
  };
}

/** Graph-filter options; `rank` is capped below min(users, items) so a small tenant still fits. */
export function graphFilterOptions(p: ModelParams<'graph_filter'>, train: Csr): GraphFilterOptions {
  return {
    rank: Math.min(p.rank, Math.max(1, Math.min(train.rows, train.cols) - 1)),
    idealWeight: p.ideal_weight,
    sharpen: p.sharpen,
    sharpenRank: p.sharpen_rank,
    linearWeight: p.linear_weight,
    userExponent: p.user_exponent,
    itemExponent: p.item_exponent,
    oversample: p.oversample,
    powerIterations: p.power_iterations,
  };
}

/** Share of the training pairs LightGCN holds out for its early stopping. */
const LIGHTGCN_HOLDOUT = 0.1;

/**
 * LightGCN's early stopping as tenants and `loupe eval` get it: 10% of `train`'s pairs held out (seeded; every user
 * keeps a training pair), validation NDCG@20 measured every `eval_every` epochs, training stopped after `patience`
 * measurements without a new best, the best one's embeddings kept. The model is fitted on `fitOn` (train without the
 * held-out pairs). Data too small for a hold-out gets `validation` null and `fallback` saying why: the loss plateau
 * stops it instead.
 */
export function lightGcnEarlyStopping(
  train: Csr,
  p: ModelParams<'lightgcn'>,
): { fitOn: Csr; validation: LightGcnValidation | null; fallback: string | null } {
  const small = tooSmallToTune(train);
  const split = small ? null : validationSplit(train, LIGHTGCN_HOLDOUT, MODEL_SEEDS.lightgcn);
  if (!split || split.heldOut === 0) return { fitOn: train, validation: null, fallback: small ?? 'no training pair could be held out' };
  return {
    fitOn: split.train,
    validation: { heldOut: split.validation, every: p.eval_every, patience: p.patience, k: 20 },
    fallback: null,
  };
}

/**
 * The fallback early stopping (no validation hold-out possible): training ends when the loss has fallen by less
 * than 0.1% for `patience` epochs. Returns the `onEpoch` verdict for each epoch's loss.
 */
export function lossPlateau(patience: number): (loss: number) => boolean {
  let best = Number.POSITIVE_INFINITY;
  let misses = 0;
  return (loss) => {
    if (loss < best * 0.999) {
      best = loss;
      misses = 0;
    } else misses++;
    return misses < patience;
  };
}

/** The models an offline evaluation can fit from interactions alone (`content` needs item attributes). */
export const OFFLINE_MODELS = ['popularity', 'item_knn', 'ials', 'lightgcn', 'graph_filter'] as const;
export type OfflineModel = (typeof OFFLINE_MODELS)[number];

export interface OfflineFitOptions {
  /** Extra kernel options beyond the tenant-facing ones (research variants in the benchmark). */
  readonly graphFilter?: Partial<GraphFilterOptions>;
  readonly onEpoch?: (epoch: number, loss: number, seconds: number) => void;
  readonly onPhase?: (phase: string, milliseconds: number) => void;
  /** Called between the costly steps of the fit (iterations, epochs, SVD passes); may throw to abandon it. */
  readonly checkpoint?: () => void;
}

export type HyperparameterCheck<T> = { ok: true; params: T } | { ok: false; details: { field: string; message: string }[] };

/** Validates `raw` for `type`; every bad field is named (`hyperparameters.<name>`). */
export function checkParams<T extends ModelType>(type: T, raw: unknown): HyperparameterCheck<ModelParams<T>> {
  const parsed = MODEL_PARAMS[type].safeParse(raw ?? {});
  if (parsed.success) return { ok: true, params: parsed.data as ModelParams<T> };
  const details: { field: string; message: string }[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) details.push({ field: `hyperparameters.${k}`, message: `unknown hyperparameter for ${type}` });
    } else {
      details.push({ field: ['hyperparameters', ...issue.path.map(String)].join('.'), message: issue.message });
    }
  }
  return { ok: false, details };
}

/**
 * Fits `type` on `train` (users x items) with `params` (snake_case hyperparameters over the table's
 * defaults; throws naming every invalid field) and returns a batch scorer for `evaluateTopK`. Users are
 * scored from their trained representation; close the scorer to stop its worker threads.
 */
export async function fitOfflineScorer(
  type: OfflineModel,
  train: Csr,
  params: Record<string, unknown> = {},
  options: OfflineFitOptions = {},
): Promise<{ scoreBatch: BatchScorer; close?: () => Promise<void> | void }> {
  const checked = checkParams(type, params);
  if (!checked.ok) throw new RangeError(`invalid hyperparameters: ${checked.details.map((d) => `${d.field} (${d.message})`).join(', ')}`);
  const checkpoint = options.checkpoint ? { checkpoint: options.checkpoint } : {};
  switch (type) {
    case 'popularity':
      return fitPopularity(train, { weighted: (checked.params as ModelParams<'popularity'>).weighted });
    case 'item_knn':
      return fitItemKnn(train, { ...itemKnnOptions(checked.params as ModelParams<'item_knn'>), ...checkpoint });
    case 'ials':
      return fitIals(train, {
        ...ialsOptions(checked.params as ModelParams<'ials'>),
        ...(options.checkpoint ? { onIteration: () => void options.checkpoint!() } : {}),
      });
    case 'lightgcn': {
      const p = checked.params as ModelParams<'lightgcn'>;
      const stop = lightGcnEarlyStopping(train, p);
      const plateau = stop.validation ? null : lossPlateau(p.patience);
      return fitLightGcn(stop.fitOn, {
        ...lightGcnOptions(p),
        ...(stop.validation ? { validation: stop.validation } : {}),
        onEpoch: (e) => {
          options.checkpoint?.();
          options.onEpoch?.(e.epoch, e.loss, e.seconds);
          return plateau ? plateau(e.loss) : true;
        },
      });
    }
    case 'graph_filter':
      return fitGraphFilter(train, {
        ...graphFilterOptions(checked.params as ModelParams<'graph_filter'>, train),
        ...options.graphFilter,
        ...(options.onPhase ? { onPhase: options.onPhase } : {}),
        ...checkpoint,
      });
  }
}
