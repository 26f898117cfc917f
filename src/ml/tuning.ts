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
 * The input is copied first, so data that changes while the search runs does not change its outcome; a
 * search is cancelled between trials by `shouldStop`. A dataset too small to hold anything out falls back to
 * the defaults of the first family and says why.
 */
import { csrFromCoo, type Csr } from './csr.ts';
import { evaluateTopK, type BatchScorer } from './eval.ts';
import { fitGraphFilterBase, type GraphFilterBase, graphFilterBaseKey, graphFilterFromBase, scoreGraphFilter } from './graph-filter.ts';
import { createGraphFilterScorer } from './graph-filter.scorer.ts';
import { checkParams, defaultParams, fitOfflineScorer, graphFilterOptions, type OfflineModel } from './models.ts';
import { rngMulberry32, type Rng } from './random.ts';

/** A budget above this is capped: a search is for minutes, not days. */
export const MAX_TUNING_BUDGET_MS = 60 * 60_000;
/** Trials at most, whatever the budget (the search stops earlier when time runs out). */
export const DEFAULT_MAX_TRIALS = 40;
/** The search ends after this many trials in a row that did not improve the best validation score. */
export const DEFAULT_PATIENCE = 16;
/** A tenant's search budget when its settings name none, and `loupe eval --model auto`'s. */
export const DEFAULT_TUNING_BUDGET_MS = 120_000;

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

/** The families an `auto` search considers, cheapest first (the order defaults are measured in). */
export const TUNED_FAMILIES: readonly OfflineModel[] = ['popularity', 'item_knn', 'graph_filter', 'ials'];

/** A fitted candidate: scores batches of users (rows of the training matrix it was fitted on). */
export type FitCandidate = (
  family: OfflineModel,
  train: Csr,
  params: Record<string, unknown>,
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
  readonly validation: { readonly users: number; readonly heldOut: number; readonly fraction: number; readonly seed: number };
}

export class TuningCancelled extends Error {
  constructor() {
    super('the search was cancelled');
    this.name = 'TuningCancelled';
  }
}

/** Users with at least this many items take part in the validation hold-out; at least MIN_VALIDATION_USERS of them. */
const MIN_ITEMS_TO_HOLD_OUT = 2;
export const MIN_VALIDATION_USERS = 5;

/**
 * Splits `m` (users x items) per user: each item of a user with 2+ items goes to validation with probability
 * `fraction` (seeded), but every user keeps at least one training item. Values are kept. O(nnz).
 */
export function validationSplit(m: Csr, fraction: number, seed: number): { train: Csr; validation: Csr; heldOut: number } {
  const rng = rngMulberry32(seed);
  const tr: [number[], number[], number[]] = [[], [], []];
  const va: [number[], number[], number[]] = [[], [], []];
  for (let r = 0; r < m.rows; r++) {
    const s = m.indptr[r]!;
    const e = m.indptr[r + 1]!;
    let kept = 0;
    for (let p = s; p < e; p++) {
      const out = e - s >= MIN_ITEMS_TO_HOLD_OUT && !(kept === 0 && p === e - 1) && rng() < fraction ? va : tr;
      if (out === tr) kept++;
      out[0].push(r);
      out[1].push(m.indices[p]!);
      out[2].push(m.data[p]!);
    }
  }
  return {
    train: csrFromCoo(m.rows, m.cols, tr[0], tr[1], tr[2]),
    validation: csrFromCoo(m.rows, m.cols, va[0], va[1], va[2]),
    heldOut: va[0].length,
  };
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
export const defaultFitCandidate: FitCandidate = async (family, train, params) => {
  if (family !== 'graph_filter') return fitOfflineScorer(family, train, params);
  const checked = checkParams('graph_filter', params);
  if (!checked.ok) throw new RangeError(`invalid hyperparameters: ${checked.details.map((d) => d.field).join(', ')}`);
  let cached = graphFilterCache.get(train);
  if (!cached) graphFilterCache.set(train, (cached = { binary: { ...train, data: new Float32Array(train.data.length).fill(1) } }));
  const { binary } = cached;
  const options = graphFilterOptions(checked.params, binary);
  if (cached.base?.key !== graphFilterBaseKey(options)) {
    cached.base = undefined; // let the old one go before the new SVD
    cached.base = fitGraphFilterBase(binary, options);
  }
  const model = graphFilterFromBase(cached.base, options);
  if (train.rows * train.cols <= 4_000_000) return { scoreBatch: (ids, out) => scoreGraphFilter(model, binary, ids, out) };
  return createGraphFilterScorer(model, binary);
};

/** Why `m` cannot give a validation hold-out, or null when it can. */
export function tooSmallToTune(m: Csr): string | null {
  if (m.cols < 2) return `only ${m.cols} item: nothing to rank, no validation possible`;
  let eligible = 0;
  for (let r = 0; r < m.rows; r++) if (m.indptr[r + 1]! - m.indptr[r]! >= MIN_ITEMS_TO_HOLD_OUT) eligible++;
  if (eligible < MIN_VALIDATION_USERS)
    return `only ${eligible} user(s) with ${MIN_ITEMS_TO_HOLD_OUT}+ items (${MIN_VALIDATION_USERS} needed for a validation hold-out)`;
  return null;
}

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
  /** Longest trial so far per family (and per family's refinements): what the next one is expected to cost. */
  const lastMs = new Map<string, number>();
  const costKey = (family: OfflineModel, kind: TuningTrial['kind']) => (kind === 'refine' ? `${family}:refine` : family);
  const run = async (family: OfflineModel, params: Record<string, unknown>, kind: TuningTrial['kind']): Promise<TuningTrial> => {
    stop();
    const full = fullParams(family, params);
    const start = now();
    let trial: TuningTrial;
    try {
      const m = await fit(family, split.train, full);
      try {
        const r = await evaluateTopK({
          train: split.train,
          test: val.csr,
          k: 20,
          scoreBatch: m.scoreBatch,
          batchSize: Math.max(1, Math.min(512, Math.floor(4_000_000 / Math.max(1, train.cols)))),
        });
        trial = { family, params: full, ndcg20: r.ndcg, recall20: r.recall, ms: now() - start, kind };
      } finally {
        await m.close?.();
      }
    } catch (e) {
      if (e instanceof TuningCancelled) throw e;
      trial = { family, params: full, ndcg20: null, recall20: null, ms: now() - start, kind, error: (e as Error).message };
    }
    const key = costKey(family, kind);
    lastMs.set(key, Math.max(trial.ms, lastMs.get(key) ?? 0));
    trials.push(trial);
    options.onTrial?.(trial);
    return trial;
  };
  const bestOf = (f: OfflineModel) =>
    trials
      .filter((t) => t.family === f && t.ndcg20 !== null)
      .reduce<TuningTrial | null>((a, b) => (!a || b.ndcg20! > a.ndcg20! ? b : a), null);
  /** Refinements owed to the family whose full fit just became its best (its costly part is still cached). */
  let refinements: { family: OfflineModel; left: number } | null = null;
  const after = (t: TuningTrial): void => {
    if (t.kind === 'refine' || t.ndcg20 === null || !SEARCH_SPACES[t.family]?.refine) return;
    if (bestOf(t.family) === t) refinements = { family: t.family, left: REFINEMENTS_PER_BEST };
    else if (refinements?.family === t.family) refinements = null; // another fit replaced the cached one
  };

  // 1. every family at its defaults (always, budget or not: the selection needs one score per family)
  for (const f of families) {
    const t = await run(f, {}, 'default');
    if (budgetMs > 0) after(t);
  }
  stop();

  // 2. random and local search while the budget lasts
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
  while (budgetMs > 0 && tunable.length > 0) {
    if (trials.length >= maxTrials) {
      stoppedBy = 'max_trials';
      break;
    }
    if (sinceBest() >= patience) {
      stoppedBy = 'no_improvement';
      break;
    }
    const left = budgetMs - (now() - t0);
    const r = refinements as { family: OfflineModel; left: number } | null;
    if (r && r.left > 0 && (lastMs.get(costKey(r.family, 'refine')) ?? 0) <= left) {
      r.left--;
      const best = bestOf(r.family)!;
      after(await run(r.family, SEARCH_SPACES[r.family]!.refine!(best.params, rng), 'refine'));
      continue;
    }
    refinements = null;
    // families whose last full trial would still fit in what is left, best validation score first
    const affordable = tunable
      .filter((f) => (lastMs.get(f) ?? 0) <= left)
      .sort((a, b) => (bestOf(b)?.ndcg20 ?? -1) - (bestOf(a)?.ndcg20 ?? -1));
    if (affordable.length === 0) break;
    // the best family half the time, the others in turn
    const family = affordable.length === 1 || rng() < 0.5 ? affordable[0]! : pick(rng, affordable.slice(1));
    const space = SEARCH_SPACES[family]!;
    const best = bestOf(family);
    const local = best !== null && rng() < 0.5;
    after(await run(family, local ? space.perturb(best.params, rng, shape) : space.sample(rng, shape), local ? 'local' : 'random'));
  }
  stop();

  const scored = trials.filter((t) => t.ndcg20 !== null);
  if (scored.length === 0) throw new Error(`every candidate failed: ${trials.map((t) => `${t.family}: ${t.error}`).join('; ')}`);
  const winner = scored.reduce((a, b) => (b.ndcg20! > a.ndcg20! ? b : a));
  return {
    family: winner.family,
    params: winner.params,
    validationNdcg20: winner.ndcg20,
    trials,
    spentMs: now() - t0,
    budgetMs,
    stoppedBy,
    validation: { users: val.users, heldOut: split.heldOut, fraction, seed },
  };
}
