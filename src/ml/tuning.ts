/**
 * Automatic model selection and hyperparameter search (a tenant's `auto`, and `loupe eval --model auto`).
 *
 * Only the training data is ever looked at: a validation hold-out is carved from it (a seeded, per-user random
 * share of each user's items; every user keeps at least one training item), each candidate is fitted on the rest
 * and scored by NDCG@20 on the held-out items of a seeded sample of users (the LightGCN protocol of `eval.ts`:
 * all items ranked, training items excluded). The search first measures every family at its defaults (the
 * model table's, a starting point and nothing more), then spends the rest of the time budget on random search:
 * half of the trials sample a family's whole space, half perturb the family's best settings so far (a simple
 * local search), with the best families drawn more often. The winner (family and settings) is what the caller
 * refits on all of its training data. Every trial, its score and its time are returned for the model card.
 *
 * The budget bounds the whole search, trials included: a trial is started only when the family's finished
 * trials, scaled by `trialCostRatio`, predict that it ends in time, and one that is still running at the
 * deadline is abandoned at its fit's or evaluation's next checkpoint (the trial is listed as cut).
 *
 * The input is copied first, so data that changes while the search runs does not change its outcome; a
 * search is cancelled by `shouldStop`, checked between trials and at every checkpoint inside one. A dataset too small to hold anything out falls back to
 * the defaults of the first family and says why.
 */
import { csrFromCoo, type Csr } from './csr.ts';
import { evaluateTopK, type BatchScorer } from './eval.ts';
import { fitGraphFilterBase, type GraphFilterBase, graphFilterBaseKey, graphFilterFromBase, scoreGraphFilter } from './graph-filter.ts';
import { createGraphFilterScorer } from './graph-filter.scorer.ts';
import { checkParams, defaultParams, fitOfflineScorer, graphFilterOptions, type OfflineModel } from './models.ts';
import { tooSmallToTune, validationSplit } from './holdout.ts';
import { rngMulberry32, type Rng } from './random.ts';

/** A budget above this is capped: a search is for minutes, not days. */
export const MAX_TUNING_BUDGET_MS = 60 * 60_000;
/** Trials at most, whatever the budget (the search stops earlier when time runs out). */
export const DEFAULT_MAX_TRIALS = 40;
/** The search ends after this many trials in a row that did not improve the best validation score. */
export const DEFAULT_PATIENCE = 16;
/**
 * A tenant's search budget when its settings name none, and `loupe eval --model auto`'s. Sized for the issue's
 * wall-clock goal, not for a score: `loupe eval --model auto` on Yelp2018 spends about 65 s outside the search
 * (parsing, the refit on all training data, the test evaluation; quiet machine, previous session), so a budget
 * the search now keeps (at most one checkpoint step over) ends the whole run in about 4.6 minutes, under 5.
 */
export const DEFAULT_TUNING_BUDGET_MS = 210_000;

/** A tunable family and its search space: `sample` draws from the whole space, `perturb` near `from`. */
interface SearchSpace {
  sample(rng: Rng, data: DataShape): Record<string, unknown>;
  perturb(from: Record<string, unknown>, rng: Rng, data: DataShape): Record<string, unknown>;
  /** Variants near `from` that reuse its costly part (they must not change what that part depends on). */
  refine?(from: Record<string, unknown>, rng: Rng): Record<string, unknown>;
}

interface DataShape {
  readonly users: number;
  readonly items: number;
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const logUniform = (rng: Rng, lo: number, hi: number) => Math.exp(uniform(rng, Math.log(lo), Math.log(hi)));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
/** Multiplies by a log-normal factor (spread `s`) and clamps. */
const jitterLog = (rng: Rng, x: number, s: number, lo: number, hi: number) => clamp(x * Math.exp(s * (rng() * 2 - 1)), lo, hi);
const jitter = (rng: Rng, x: number, s: number, lo: number, hi: number) => clamp(x + s * (rng() * 2 - 1), lo, hi);
/** Ranks worth trying for a dataset: powers of two from 32 up to what the data can carry. */
const rankChoices = (d: DataShape): number[] => {
  const cap = Math.max(1, Math.min(d.users, d.items) - 1);
  const out = [32, 64, 128, 256, 384, 512].filter((r) => r <= cap);
  return out.length ? out : [cap];
};
const neighbourChoices = (d: DataShape): number[] => {
  const out = [10, 20, 50, 100, 200, 400, 800].filter((k) => k < d.items);
  return out.length ? out : [Math.max(1, d.items - 1)];
};
const nearestIndex = (xs: readonly number[], x: number) =>
  xs.reduce((best, v, i) => (Math.abs(v - x) < Math.abs(xs[best]! - x) ? i : best), 0);
const stepChoice = (rng: Rng, xs: readonly number[], x: number) =>
  xs[clamp(nearestIndex(xs, x) + (rng() < 0.5 ? -1 : 1), 0, xs.length - 1)]!;

/**
 * The search spaces: ranges from the papers' own sweeps (GF-CF, BSPM, Turbo-CF; iALS as revisited by Rendle et
 * al. 2022; item-kNN with shrinkage), wide enough that no dataset's optimum is built in.
 */
export const SEARCH_SPACES: Readonly<Record<OfflineModel, SearchSpace | null>> = {
  popularity: null,
  lightgcn: null, // too slow to search in a budget of minutes; fitted only when asked for by name
  item_knn: {
    sample: (rng, d) => ({ k: pick(rng, neighbourChoices(d)), shrink: round(pick(rng, [0, logUniform(rng, 1, 500)]), 1) }),
    perturb: (f, rng, d) => ({
      k: stepChoice(rng, neighbourChoices(d), Number(f.k)),
      shrink: round(jitterLog(rng, Math.max(1, Number(f.shrink)), 1, 0, 10_000), 1),
    }),
  },
  ials: {
    sample: (rng, d) => ({
      factors: pick(
        rng,
        rankChoices(d).filter((r) => r <= 256),
      ),
      regularization: round(logUniform(rng, 0.01, 100), 4),
      alpha: round(logUniform(rng, 0.5, 50), 3),
    }),
    perturb: (f, rng, d) => ({
      factors: stepChoice(rng, rankChoices(d), Number(f.factors)),
      regularization: round(jitterLog(rng, Number(f.regularization), 1, 1e-3, 10_000), 4),
      alpha: round(jitterLog(rng, Number(f.alpha), 0.7, 0.05, 10_000), 3),
    }),
  },
  graph_filter: {
    sample: (rng, d) => {
      const rank = pick(rng, rankChoices(d));
      return {
        rank,
        // symmetric around GF-CF's 1/2 (Turbo-CF's asymmetric normalizations lie inside): no dataset's optimum built in
        user_exponent: round(uniform(rng, 0.2, 0.8), 2),
        item_exponent: round(uniform(rng, 0.2, 0.8), 2),
        ideal_weight: round(uniform(rng, 0, 0.6), 2),
        sharpen: round(pick(rng, [0, uniform(rng, 0, 2)]), 2),
        sharpen_rank: Math.min(rank, pick(rng, [32, 64, 128, 256])),
      };
    },
    perturb: (f, rng, d) => {
      const ranks = rankChoices(d);
      const rank = Math.min(rng() < 0.3 ? stepChoice(rng, ranks, Number(f.rank)) : Number(f.rank), ranks[ranks.length - 1]!);
      return {
        ...f,
        rank,
        user_exponent: round(jitter(rng, Number(f.user_exponent), 0.1, 0, 1), 2),
        item_exponent: round(jitter(rng, Number(f.item_exponent), 0.1, 0, 1), 2),
        ideal_weight: round(jitter(rng, Number(f.ideal_weight), 0.15, 0, 10), 2),
        sharpen: round(jitter(rng, Number(f.sharpen), 0.4, 0, 10), 2),
        sharpen_rank: Math.min(rank, Number(f.sharpen_rank)),
      };
    },
    // the weights and the sharpening only: the same SVD serves (`defaultFitCandidate` keeps the last one)
    refine: (f, rng) => ({
      ...f,
      ideal_weight: round(jitter(rng, Number(f.ideal_weight), 0.15, 0, 10), 2),
      sharpen: round(jitter(rng, Number(f.sharpen), 0.4, 0, 10), 2),
      sharpen_rank: Math.min(Number(f.rank), stepChoice(rng, [32, 64, 128, 256, 384, 512], Number(f.sharpen_rank))),
    }),
  },
};

/** Cheap variants queued after a family's full fit sets a new best (when its space can `refine`). */
const REFINEMENTS_PER_BEST = 3;
/** Candidates drawn per family before it sits out a round because each looks too dear for the time left. */
const DRAWS_PER_FAMILY = 8;

/**
 * How many times the cost of a trial of `family` with settings `to` exceeds that of a measured trial with `from`,
 * from the kernels' complexity, erring high so that a trial predicted to fit does fit: the graph filter's SVD is
 * O((users + items) l²) with l = rank + oversample, times the power iterations; iALS is O((users + items) f²) per
 * sweep, times sweeps and CG steps; item-kNN's similarity pass does not depend on k, its scoring grows with it;
 * LightGCN is linear in the dimension and the epochs. A smaller setting is credited only linearly (the fixed
 * parts: normalization, the linear filter, the evaluation, do not shrink with it).
 */
export function trialCostRatio(family: OfflineModel, to: Record<string, unknown>, from: Record<string, unknown>): number {
  const n = (p: Record<string, unknown>, key: string, fallback = 1) => {
    const v = Number(p[key]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const size = (r: number) => (r > 1 ? r * r : r); // quadratic up, linear down
  switch (family) {
    case 'graph_filter':
      return (
        size((n(to, 'rank') + n(to, 'oversample', 0)) / (n(from, 'rank') + n(from, 'oversample', 0))) *
        ((n(to, 'power_iterations') + 1) / (n(from, 'power_iterations') + 1))
      );
    case 'ials':
      return (
        size(n(to, 'factors') / n(from, 'factors')) *
        (n(to, 'iterations') / n(from, 'iterations')) *
        (n(to, 'cg_steps') / n(from, 'cg_steps'))
      );
    case 'item_knn':
      return Math.max(1, n(to, 'k') / n(from, 'k'));
    case 'lightgcn':
      return (n(to, 'embedding_dim') / n(from, 'embedding_dim')) * (n(to, 'epochs') / n(from, 'epochs'));
    case 'popularity':
      return 1;
  }
}

/** The families an `auto` search considers, cheapest first (the order defaults are measured in). */
export const TUNED_FAMILIES: readonly OfflineModel[] = ['popularity', 'item_knn', 'graph_filter', 'ials'];

/**
 * A fitted candidate: scores batches of users (rows of the training matrix it was fitted on). `checkpoint`
 * is to be called between the fit's costly steps: it throws `TrialCut` once the search's budget is spent.
 */
export type FitCandidate = (
  family: OfflineModel,
  train: Csr,
  params: Record<string, unknown>,
  checkpoint: () => void,
) => Promise<{ scoreBatch: BatchScorer; close?: () => Promise<void> | void }>;

export interface TuningOptions {
  /** Search time in ms; 0 = every family at its defaults only. Capped at MAX_TUNING_BUDGET_MS. */
  readonly budgetMs: number;
  readonly families?: readonly OfflineModel[];
  readonly seed?: number;
  /** Share of each user's items held out for validation (default 0.2). */
  readonly validationFraction?: number;
  /** Validation users scored at most (a seeded sample; default 4000). */
  readonly maxValidationUsers?: number;
  readonly maxTrials?: number;
  /** Trials in a row without a better validation score that end the search (default DEFAULT_PATIENCE). */
  readonly patience?: number;
  /** Checked between trials; true cancels the search (it throws `TuningCancelled`). */
  readonly shouldStop?: () => boolean;
  readonly onTrial?: (trial: TuningTrial) => void;
  /** Replaces the offline fit (tests; the default is the model table's `fitOfflineScorer`). */
  readonly fit?: FitCandidate;
  readonly now?: () => number;
}

export interface TuningTrial {
  readonly family: OfflineModel;
  readonly params: Record<string, unknown>;
  /** NDCG@20 on the validation hold-out (null when the fit failed). */
  readonly ndcg20: number | null;
  readonly recall20: number | null;
  readonly ms: number;
  readonly kind: 'default' | 'random' | 'local' | 'refine';
  readonly error?: string;
  /** True when the budget ran out during the trial and it was abandoned (no score). */
  readonly cut?: boolean;
}

export interface TuningResult {
  readonly family: OfflineModel;
  /** Full settings (the family's defaults with the chosen values). */
  readonly params: Record<string, unknown>;
  readonly validationNdcg20: number | null;
  readonly trials: readonly TuningTrial[];
  readonly spentMs: number;
  readonly budgetMs: number;
  /** Why the search used the defaults without looking at data, when it did. */
  readonly fallback?: string;
  /** Why the search ended: budget, trials, cancelled never returns (it throws). */
  readonly stoppedBy: 'budget' | 'max_trials' | 'no_improvement' | 'defaults_only' | 'fallback';
  /** Families not measured even at their defaults because the budget ran out first. */
  readonly unmeasured?: readonly OfflineModel[];
  readonly validation: { readonly users: number; readonly heldOut: number; readonly fraction: number; readonly seed: number };
}

/** Thrown by a trial's `checkpoint` once the budget is spent: the trial is abandoned and the search ends. */
export class TrialCut extends Error {
  constructor() {
    super('cut: the search budget ran out during this trial');
    this.name = 'TrialCut';
  }
}

export class TuningCancelled extends Error {
  constructor() {
    super('the search was cancelled');
    this.name = 'TuningCancelled';
  }
}

/** Keeps the rows of at most `max` users with validation items (a seeded sample), the others emptied. */
function sampleRows(v: Csr, max: number, seed: number): { csr: Csr; users: number } {
  const users: number[] = [];
  for (let r = 0; r < v.rows; r++) if (v.indptr[r + 1]! > v.indptr[r]!) users.push(r);
  let keep = users;
  if (users.length > max) {
    const rng = rngMulberry32(seed ^ 0x5bd1e995);
    const a = users.slice();
    for (let i = 0; i < max; i++) {
      const j = i + Math.floor(rng() * (a.length - i));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    keep = a.slice(0, max);
  }
  const mark = new Uint8Array(v.rows);
  for (const u of keep) mark[u] = 1;
  const r: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < v.rows; u++) {
    if (!mark[u]) continue;
    for (let p = v.indptr[u]!; p < v.indptr[u + 1]!; p++) {
      r.push(u);
      c.push(v.indices[p]!);
    }
  }
  return { csr: csrFromCoo(v.rows, v.cols, r, c), users: keep.length };
}

const copyCsr = (m: Csr): Csr => ({
  rows: m.rows,
  cols: m.cols,
  indptr: m.indptr.slice(),
  indices: m.indices.slice(),
  data: m.data.slice(),
});

/**
 * The default fit: the model table's offline fit; a small graph filter is scored on this thread (starting
 * worker threads would cost more than the scoring).
 */
/** Per training matrix, the last graph-filter base and the binary matrix (a search reuses the SVD). */
const graphFilterCache = new WeakMap<Csr, { binary: Csr; base?: GraphFilterBase }>();

/**
 * The default fit: the model table's offline fit. The graph filter is fitted on the binary matrix as served
 * (`recs.models.ts`), reusing the last SVD of the same matrix when only weights or sharpening changed; a small
 * one is scored on this thread (starting worker threads would cost more than the scoring).
 */
export const defaultFitCandidate: FitCandidate = async (family, train, params, checkpoint) => {
  if (family !== 'graph_filter') return fitOfflineScorer(family, train, params, { checkpoint });
  const checked = checkParams('graph_filter', params);
  if (!checked.ok) throw new RangeError(`invalid hyperparameters: ${checked.details.map((d) => d.field).join(', ')}`);
  let cached = graphFilterCache.get(train);
  if (!cached) graphFilterCache.set(train, (cached = { binary: { ...train, data: new Float32Array(train.data.length).fill(1) } }));
  const { binary } = cached;
  const options = { ...graphFilterOptions(checked.params, binary), checkpoint };
  if (cached.base?.key !== graphFilterBaseKey(options)) {
    cached.base = undefined; // let the old one go before the new SVD
    cached.base = fitGraphFilterBase(binary, options);
  }
  const model = graphFilterFromBase(cached.base, options);
  if (train.rows * train.cols <= 4_000_000) return { scoreBatch: (ids, out) => scoreGraphFilter(model, binary, ids, out) };
  return createGraphFilterScorer(model, binary);
};

/** Full settings of `family`: its defaults overlaid with `params`. */
const fullParams = (family: OfflineModel, params: Record<string, unknown>): Record<string, unknown> => ({
  ...(defaultParams(family) as Record<string, unknown>),
  ...params,
});

/**
 * Searches families and settings on a validation hold-out of `train` (users x items) within the budget and
 * returns the winner by validation NDCG@20 (ties: the earlier trial), with every trial.
 */
export async function tuneModel(trainInput: Csr, options: TuningOptions): Promise<TuningResult> {
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  // NaN or negative: no search; above the cap (a week, Infinity): the cap
  const budgetMs = options.budgetMs > 0 ? Math.min(MAX_TUNING_BUDGET_MS, Math.floor(options.budgetMs)) : 0;
  const families = (options.families ?? TUNED_FAMILIES).filter((f) => f === 'popularity' || SEARCH_SPACES[f] !== null);
  if (families.length === 0) throw new RangeError('tuneModel: no tunable family');
  const seed = options.seed ?? 1;
  const fraction = clamp(options.validationFraction ?? 0.2, 0.05, 0.5);
  const maxTrials = Math.max(families.length, options.maxTrials ?? DEFAULT_MAX_TRIALS);
  const fit = options.fit ?? defaultFitCandidate;
  const stop = () => {
    if (options.shouldStop?.()) throw new TuningCancelled();
  };
  const train = copyCsr(trainInput);
  const shape = { users: train.rows, items: train.cols };

  const small = tooSmallToTune(train);
  if (small) {
    const family = families.includes('item_knn') ? 'item_knn' : families[0]!;
    return {
      family,
      params: fullParams(family, {}),
      validationNdcg20: null,
      trials: [],
      spentMs: now() - t0,
      budgetMs,
      fallback: `${small}; ${family} with its default settings`,
      stoppedBy: 'fallback',
      validation: { users: 0, heldOut: 0, fraction, seed },
    };
  }
  const split = validationSplit(train, fraction, seed);
  const val = sampleRows(split.validation, Math.max(1, options.maxValidationUsers ?? 4000), seed);

  const trials: TuningTrial[] = [];
  // a trial started before the deadline is cut at its next checkpoint once the deadline passes (never the first
  // scored one: the search always has an answer); budget 0 measures every family at its defaults, unbounded
  const deadline = budgetMs > 0 ? t0 + budgetMs : Number.POSITIVE_INFINITY;
  let cut = false;
  const checkpoint = (): void => {
    stop();
    if (now() > deadline && trials.some((t) => t.ndcg20 !== null)) throw new TrialCut();
  };
  const run = async (family: OfflineModel, params: Record<string, unknown>, kind: TuningTrial['kind']): Promise<TuningTrial> => {
    stop();
    const full = fullParams(family, params);
    const start = now();
    let trial: TuningTrial;
    try {
      const m = await fit(family, split.train, full, checkpoint);
      try {
        const r = await evaluateTopK({
          train: split.train,
          test: val.csr,
          k: 20,
          scoreBatch: (ids, out) => {
            checkpoint();
            return m.scoreBatch(ids, out);
          },
          batchSize: Math.max(1, Math.min(512, Math.floor(4_000_000 / Math.max(1, train.cols)))),
        });
        trial = { family, params: full, ndcg20: r.ndcg, recall20: r.recall, ms: now() - start, kind };
      } finally {
        await m.close?.();
      }
    } catch (e) {
      if (e instanceof TuningCancelled) throw e;
      cut = e instanceof TrialCut;
      trial = {
        family,
        params: full,
        ndcg20: null,
        recall20: null,
        ms: now() - start,
        kind,
        error: (e as Error).message,
        ...(cut ? { cut: true } : {}),
      };
    }
    trials.push(trial);
    options.onTrial?.(trial);
    return trial;
  };
  const bestOf = (f: OfflineModel) =>
    trials
      .filter((t) => t.family === f && t.ndcg20 !== null)
      .reduce<TuningTrial | null>((a, b) => (!a || b.ndcg20! > a.ndcg20! ? b : a), null);
  /** What a trial of `family` with `params` is expected to cost, from the family's finished trials (0: unknown). */
  const predictMs = (family: OfflineModel, params: Record<string, unknown>, kind: TuningTrial['kind']): number => {
    const done = trials.filter((t) => t.family === family && t.ndcg20 !== null);
    if (kind === 'refine') {
      // a refinement reuses the costly part of a full fit: at most what that fit cost, once one has been measured
      const refines = done.filter((t) => t.kind === 'refine');
      const from = refines.length ? refines : done;
      return from.reduce((a, t) => Math.max(a, t.ms), 0);
    }
    return done
      .filter((t) => t.kind !== 'refine')
      .reduce((a, t) => Math.min(a, t.ms * trialCostRatio(family, fullParams(family, params), t.params)), Number.POSITIVE_INFINITY);
  };
  const affordable = (family: OfflineModel, params: Record<string, unknown>, kind: TuningTrial['kind']): boolean => {
    const p = predictMs(family, params, kind);
    return (Number.isFinite(p) ? p : 0) <= deadline - now();
  };
  /** Refinements owed to the family whose full fit just became its best (its costly part is still cached). */
  let refinements: { family: OfflineModel; left: number } | null = null;
  const after = (t: TuningTrial): void => {
    if (t.kind === 'refine' || t.ndcg20 === null || !SEARCH_SPACES[t.family]?.refine) return;
    if (bestOf(t.family) === t) refinements = { family: t.family, left: REFINEMENTS_PER_BEST };
    else if (refinements?.family === t.family) refinements = null; // another fit replaced the cached one
  };

  // 1. every family at its defaults (the selection needs one score per family), while the budget lasts
  for (const f of families) {
    if (cut || (budgetMs > 0 && now() >= deadline && trials.some((t) => t.ndcg20 !== null))) break;
    const t = await run(f, {}, 'default');
    if (budgetMs > 0) after(t);
  }
  stop();

  // 2. random and local search while the budget lasts; a trial predicted not to finish in time is not started
  const rng = rngMulberry32(seed ^ 0x9e3779b9);
  let stoppedBy: TuningResult['stoppedBy'] = budgetMs === 0 ? 'defaults_only' : 'budget';
  const tunable = families.filter((f) => SEARCH_SPACES[f] !== null);
  const patience = Math.max(1, options.patience ?? DEFAULT_PATIENCE);
  /** Trials since the best score so far (ties do not count as better). */
  const sinceBest = (): number => {
    let best = -1;
    let at = 0;
    trials.forEach((t, k) => {
      if (t.ndcg20 !== null && t.ndcg20 > best) {
        best = t.ndcg20;
        at = k;
      }
    });
    return trials.length - 1 - at;
  };
  while (budgetMs > 0 && tunable.length > 0 && !cut) {
    if (trials.length >= maxTrials) {
      stoppedBy = 'max_trials';
      break;
    }
    if (sinceBest() >= patience) {
      stoppedBy = 'no_improvement';
      break;
    }
    const r = refinements as { family: OfflineModel; left: number } | null;
    if (r && r.left > 0) {
      r.left--;
      const params = SEARCH_SPACES[r.family]!.refine!(bestOf(r.family)!.params, rng);
      if (affordable(r.family, params, 'refine')) {
        after(await run(r.family, params, 'refine'));
        continue;
      }
    }
    refinements = null;
    // a candidate expected to finish in time: the best family half the time, the others in turn; a family whose
    // draws all look too dear for what is left sits out this round
    const ranked = tunable.slice().sort((a, b) => (bestOf(b)?.ndcg20 ?? -1) - (bestOf(a)?.ndcg20 ?? -1));
    let chosen: { family: OfflineModel; params: Record<string, unknown>; kind: TuningTrial['kind'] } | null = null;
    while (!chosen && ranked.length > 0) {
      const family = ranked.length === 1 || rng() < 0.5 ? ranked[0]! : pick(rng, ranked.slice(1));
      const space = SEARCH_SPACES[family]!;
      for (let draw = 0; draw < DRAWS_PER_FAMILY && !chosen; draw++) {
        const best = bestOf(family);
        const local = best !== null && rng() < 0.5;
        const params = local ? space.perturb(best.params, rng, shape) : space.sample(rng, shape);
        if (affordable(family, params, local ? 'local' : 'random')) chosen = { family, params, kind: local ? 'local' : 'random' };
      }
      if (!chosen) ranked.splice(ranked.indexOf(family), 1);
    }
    if (!chosen) break;
    after(await run(chosen.family, chosen.params, chosen.kind));
  }
  stop();

  const scored = trials.filter((t) => t.ndcg20 !== null);
  if (scored.length === 0) throw new Error(`every candidate failed: ${trials.map((t) => `${t.family}: ${t.error}`).join('; ')}`);
  const winner = scored.reduce((a, b) => (b.ndcg20! > a.ndcg20! ? b : a));
  const unmeasured = families.filter((f) => !trials.some((t) => t.family === f && t.ndcg20 !== null));
  return {
    family: winner.family,
    params: winner.params,
    validationNdcg20: winner.ndcg20,
    trials,
    spentMs: now() - t0,
    budgetMs,
    stoppedBy,
    ...(unmeasured.length ? { unmeasured } : {}),
    validation: { users: val.users, heldOut: split.heldOut, fraction, seed },
  };
}
