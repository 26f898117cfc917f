/**
 * One training run, start to finish, as a pure function of the snapshot: held-out split (latest item of each
 * user), fit, offline evaluation against popularity, refit on everything, artifact. Runs inside the training
 * worker thread (`training.worker.ts`); `loupe eval` and tests may call it directly.
 */
import { csrFromCoo, type Csr } from '../../../ml/csr.ts';
import type { ItemAttributes } from '../../../ml/content.ts';
import { evaluateTopK } from '../../../ml/eval.ts';
import { AUTO_CANDIDATES } from '../../../ml/models.ts';
import { DEFAULT_TUNING_BUDGET_MS, tuneModel, TuningCancelled, type TuningResult } from '../../../ml/tuning.ts';
import { encodeArtifact, latestHoldout, type ModelType, type Snapshot, validateHyperparameters } from '../recs.core.ts';
import { fitArtifact, servingModel, type FitProgress, type ServingModel } from '../recs.models.ts';

export interface OfflineMetrics {
  'ndcg@10': number;
  'recall@20': number;
  'precision@10': number;
  coverage: number;
  /** (NDCG@10 + 0.001) / (NDCG@10 of popularity + 0.001) on the same split (1 = no better). */
  lift_over_popularity: number;
  evaluated_users: number;
}

export interface TrainInput {
  modelType: ModelType | 'auto';
  hyperparameters: Record<string, unknown>;
  snapshot: Snapshot;
  attributes?: ItemAttributes[];
  /** Users evaluated at most (a seeded sample beyond that). */
  maxEvalUsers?: number;
  /** `auto`'s search time in ms (tenant setting `recommendations.tuning_budget_seconds`; 0 = defaults only). */
  tuningBudgetMs?: number;
  /**
   * Incremental training: continue from the deployed version, with its model type and hyperparameters.
   * `itemRows` are its learned item rows re-indexed to this snapshot's items (iALS, LightGCN); null for
   * closed-form models, which are simply recomputed.
   */
  warmStart?: {
    version: string;
    modelType: ModelType;
    hyperparameters: Record<string, unknown>;
    itemRows: Float32Array | null;
    itemsCarried: number;
  };
}

export interface TrainOutput {
  modelType: ModelType;
  hyperparameters: Record<string, unknown>;
  metrics: OfflineMetrics;
  card: Record<string, unknown>;
  artifact: Buffer;
}

const rowsToCsr = (s: Snapshot, pick: Int32Array): Csr =>
  csrFromCoo(
    s.users,
    s.items,
    Int32Array.from(pick, (p) => s.u[p]!),
    Int32Array.from(pick, (p) => s.i[p]!),
    Float32Array.from(pick, (p) => s.w[p]!),
  );

/**
 * Leave-latest-out metrics of `model` for the users of `test` (one held-out item each), with the one
 * offline evaluation of `ml/eval` (train items excluded, every item ranked): NDCG, precision and coverage at
 * 10 and recall at 20 of the same ranking. Users are scored as serving scores them (from their train items).
 */
export async function evaluateHoldout(
  model: ServingModel,
  train: Csr,
  testUsers: Int32Array,
  testItems: Int32Array,
): Promise<Omit<OfflineMetrics, 'lift_over_popularity'>> {
  const n = train.cols;
  const test = csrFromCoo(train.rows, n, testUsers, testItems);
  const m = await evaluateTopK({
    train,
    test,
    k: 20,
    cutoffs: [10],
    // two score buffers of batchSize x items floats: a few MB whatever the catalog's size
    batchSize: Math.max(1, Math.min(256, Math.floor(1_000_000 / Math.max(1, n)))),
    scoreBatch: (userIds, out) => {
      for (let b = 0; b < userIds.length; b++) {
        const u = userIds[b]!;
        const s = train.indptr[u]!;
        const e = train.indptr[u + 1]!;
        model.scoreUser(train.indices.subarray(s, e), train.data.subarray(s, e), out.subarray(b * n, (b + 1) * n));
      }
    },
  });
  const at10 = m.at[10]!;
  return {
    'ndcg@10': at10.ndcg,
    'recall@20': m.recall,
    'precision@10': at10.precision,
    coverage: at10.coverage,
    evaluated_users: m.users,
  };
}

/**
 * A warm start needs a fraction of a cold run's sweeps: a third of the iALS iterations (at least 2) or of the
 * LightGCN epochs (at least 3), unless the request names them.
 */
function incrementalSchedule(
  type: ModelType,
  params: Record<string, number | string | boolean>,
  given: Record<string, unknown>,
): Record<string, number | string | boolean> {
  if (type === 'ials' && given.iterations === undefined)
    return { ...params, iterations: Math.max(2, Math.ceil(Number(params.iterations) / 3)) };
  if (type === 'lightgcn' && given.epochs === undefined) return { ...params, epochs: Math.max(3, Math.ceil(Number(params.epochs) / 3)) };
  return params;
}

/** The search as the model card shows it: what was tried, the scores, the time spent. */
export function tuningCard(t: TuningResult): Record<string, unknown> {
  const r4 = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);
  return {
    chosen: { model_type: t.family, hyperparameters: t.params, 'val_ndcg@20': r4(t.validationNdcg20) },
    ...(t.fallback ? { fallback: t.fallback } : {}),
    budget_seconds: t.budgetMs / 1000,
    spent_seconds: Math.round(t.spentMs) / 1000,
    stopped_by: t.stoppedBy,
    ...(t.unmeasured ? { not_measured: t.unmeasured } : {}),
    validation: {
      protocol: `a seeded random ${Math.round(t.validation.fraction * 100)}% of each user's training items (users with 2+), NDCG@20 over all items`,
      users: t.validation.users,
      held_out: t.validation.heldOut,
      seed: t.validation.seed,
    },
    trials: t.trials.map((x) => ({
      model_type: x.family,
      kind: x.kind,
      hyperparameters: x.params,
      'val_ndcg@20': r4(x.ndcg20),
      'val_recall@20': r4(x.recall20),
      seconds: Math.round(x.ms) / 1000,
      ...(x.error ? { error: x.error } : {}),
      ...(x.cut ? { cut: true } : {}),
    })),
  };
}

/** Trains, evaluates and packages a model (or, for `auto`, the best candidate by offline NDCG@10). */
export async function trainModel(
  input: TrainInput,
  onProgress: (p: FitProgress & { phase: string }) => void,
  shouldStop: () => boolean,
): Promise<TrainOutput> {
  const s = input.snapshot;
  if (s.u.length === 0 || s.items === 0) throw new Error('The training snapshot is empty: send items and interactions first.');
  const split = latestHoldout(s);
  const train = rowsToCsr(s, split.train);
  // a seeded, evenly spaced sample of the held-out users keeps evaluation bounded on large tenants
  const maxEval = input.maxEvalUsers ?? 2000;
  const stride = Math.max(1, Math.ceil(split.test.length / maxEval));
  const picked = split.test.filter((_, k) => k % stride === 0);
  const testUsers = Int32Array.from(picked, (p) => s.u[p]!);
  const testItems = Int32Array.from(picked, (p) => s.i[p]!);

  const popularity = servingModel(
    ...(Object.values(await fitArtifact('popularity', train, { weighted: true })) as [Record<string, unknown>, never]),
  );
  const popMetrics = await evaluateHoldout(popularity, train, testUsers, testItems);
  const withLift = (m: Omit<OfflineMetrics, 'lift_over_popularity'>): OfflineMetrics => ({
    ...m,
    // smoothed so that a tenant where popularity scores 0 still gets a finite, comparable number
    lift_over_popularity: (m['ndcg@10'] + 1e-3) / (popMetrics['ndcg@10'] + 1e-3),
  });

  const warm = input.warmStart;
  // `auto` (not continuing a deployed version): family and settings are searched on a validation hold-out of
  // the training split only (`ml/tuning.ts`, the same search as `loupe eval --model auto`); the held-out latest
  // items measure the winner and are never used to choose it
  let tuning: TuningResult | undefined;
  if (input.modelType === 'auto' && !warm) {
    const budgetMs = input.tuningBudgetMs ?? DEFAULT_TUNING_BUDGET_MS;
    const t0 = performance.now();
    try {
      tuning = await tuneModel(train, {
        budgetMs,
        families: AUTO_CANDIDATES,
        shouldStop,
        onTrial: (t) =>
          onProgress({
            phase: `tuning: ${t.family} (${t.kind})`,
            progress: Math.min(0.8, budgetMs > 0 ? (0.8 * (performance.now() - t0)) / budgetMs : 0.5),
            ...(t.ndcg20 !== null ? { validation: { 'val_ndcg@20': t.ndcg20 } } : {}),
          }),
      });
    } catch (e) {
      if (e instanceof TuningCancelled) throw new Error('cancelled');
      throw e;
    }
  }
  const candidates: ModelType[] = warm ? [warm.modelType] : tuning ? [tuning.family] : [input.modelType as ModelType];
  const tried: {
    type: ModelType;
    params: Record<string, unknown>;
    metrics: OfflineMetrics;
    fitted?: Awaited<ReturnType<typeof fitArtifact>>;
  }[] = [];
  let fitParams: Record<string, number | string | boolean> = {};
  for (const [c, type] of candidates.entries()) {
    if (shouldStop()) throw new Error('cancelled');
    const given = tuning ? tuning.params : input.modelType === 'auto' ? {} : input.hyperparameters;
    const v = validateHyperparameters(type, warm ? { ...warm.hyperparameters, ...given } : given);
    if (!v.ok) throw new Error(`invalid hyperparameters: ${v.details.map((d) => d.field).join(', ')}`);
    const params = v.params as Record<string, number | string | boolean>;
    fitParams = warm?.itemRows ? incrementalSchedule(type, params, given) : params;
    const fitted = await fitArtifact(type, train, fitParams, {
      ...(warm?.itemRows ? { warmStart: { itemRows: warm.itemRows } } : {}),
      ...(input.attributes ? { attributes: input.attributes } : {}),
      onProgress: (p) => onProgress({ ...p, phase: `training ${type}`, progress: (c + p.progress * 0.8) / candidates.length }),
      shouldStop,
    });
    onProgress({ phase: `evaluating ${type}`, progress: (c + 0.85) / candidates.length });
    const metrics = withLift(await evaluateHoldout(servingModel(fitted.meta, fitted.arrays), train, testUsers, testItems));
    onProgress({
      phase: `evaluated ${type}`,
      progress: (c + 0.9) / candidates.length,
      validation: { 'val_ndcg@10': metrics['ndcg@10'], 'val_recall@20': metrics['recall@20'] },
    });
    tried.push({ type, params, metrics, fitted });
  }
  if (shouldStop()) throw new Error('cancelled');
  const best = tried.reduce((a, b) => (b.metrics['ndcg@10'] > a.metrics['ndcg@10'] ? b : a));
  // Refit on every interaction for serving (the held-out items are real signal). LightGCN is costly: its
  // split-trained embeddings are served as they are.
  onProgress({ phase: 'final fit', progress: 0.95 });
  const full =
    best.type === 'lightgcn'
      ? best.fitted!
      : await fitArtifact(
          best.type,
          rowsToCsr(
            s,
            Int32Array.from({ length: s.u.length }, (_, k) => k),
          ),
          warm ? fitParams : (best.params as Record<string, number | string | boolean>),
          {
            ...(input.attributes ? { attributes: input.attributes } : {}),
            ...(warm?.itemRows ? { warmStart: { itemRows: warm.itemRows } } : {}),
          },
        );
  const card = {
    model_type: best.type,
    selected_by: warm
      ? `incremental: the deployed version's model (${warm.version})`
      : tuning
        ? 'auto: highest validation NDCG@20 of a search on a hold-out of the training split (the leave-latest-out items only measure the winner)'
        : 'requested',
    ...(warm
      ? {
          incremental: {
            from_version: warm.version,
            warm_started: warm.itemRows !== null,
            items_carried: warm.itemsCarried,
            new_items: s.items - warm.itemsCarried,
            ...(warm.itemRows
              ? { schedule: { iterations: fitParams.iterations, epochs: fitParams.epochs } }
              : { note: 'closed-form model: recomputed from the whole snapshot, which is as fast as an update' }),
            ...(warm.itemRows
              ? {
                  evaluation_caveat:
                    'the held-out interactions the previous version had already seen make its offline metrics slightly optimistic',
                }
              : {}),
          },
        }
      : {}),
    reason: tuning
      ? tuning.fallback
        ? `too little data to tune (${tuning.fallback}); held-out NDCG@10 ${best.metrics['ndcg@10'].toFixed(4)} vs popularity ${popMetrics['ndcg@10'].toFixed(4)}`
        : `${best.type} had the best validation NDCG@20 (${tuning.validationNdcg20!.toFixed(4)}) of ${tuning.trials.length} trials; held-out NDCG@10 ${best.metrics['ndcg@10'].toFixed(4)} vs popularity ${popMetrics['ndcg@10'].toFixed(4)}`
      : `${warm ? `${best.type}, incremental update of ${warm.version}` : `${best.type} was requested`}; NDCG@10 ${best.metrics['ndcg@10'].toFixed(4)} vs popularity ${popMetrics['ndcg@10'].toFixed(4)}`,
    candidates: tried.map((t) => ({ model_type: t.type, metrics: t.metrics })),
    ...(tuning ? { tuning: tuningCard(tuning) } : {}),
    popularity_baseline: popMetrics,
    evaluation: {
      protocol: 'leave-latest-out: the most recent item of every user with 2+ items is held out',
      evaluated_users: best.metrics.evaluated_users,
    },
    ...(full.meta.epochsRun !== undefined ? { epochs_run: full.meta.epochsRun, early_stopped: full.meta.earlyStopped } : {}),
  };
  return {
    modelType: best.type,
    hyperparameters: best.params,
    metrics: best.metrics,
    card,
    artifact: encodeArtifact(full.meta, full.arrays),
  };
}
