/**
 * Fitting a model into a serving artifact, and the serving model built from an artifact. Every model is
 * served the same way: a user is the list of items they touched (re-read at request time, so a new
 * interaction changes the next response without retraining), scored against every item; similar items
 * come from the model's item-item relation. Pure CPU work (runs in the training worker or on load).
 */
import { csrFromCoo, type Csr } from '../../ml/csr.ts';
import { buildContentIndex, contentSimilarItems, type ItemAttributes } from '../../ml/content.ts';
import { scoreGraphFilter } from '../../ml/graph-filter.ts';
import { createGraphFilterServingScorerSteps, fitGraphFilterServing } from '../../ml/graph-filter.serving.ts';
import { createDotScorerSteps, factorGram, fitIals, ialsFoldIn } from '../../ml/ials.ts';
import { fitItemKnn, scoreItemKnnUser } from '../../ml/item-knn.ts';
import type { Ranked } from '../../ml/topk.ts';
import { fitLightGcn } from '../../ml/lightgcn.ts';
import { itemPopularity } from '../../ml/popularity.ts';
import { fillNormal, rngMulberry32 } from '../../ml/random.ts';
import {
  graphFilterOptions,
  ialsOptions,
  itemKnnOptions,
  lightGcnEarlyStopping,
  lightGcnOptions,
  lossPlateau,
  type ModelParams,
  type ModelType,
} from '../../ml/models.ts';

type Arrays = Record<string, Float32Array | Float64Array | Int32Array>;

export interface FitProgress {
  epoch?: number;
  totalEpochs?: number;
  loss?: number | null;
  progress: number;
  validation?: Record<string, number>;
}

export interface FitOptions {
  /** Content attributes of each item (index = item index), for `content`. */
  attributes?: ItemAttributes[];
  onProgress?: (p: FitProgress) => void;
  shouldStop?: () => boolean;
  /**
   * Incremental training: the previous version's item rows re-indexed to this matrix's items (iALS item
   * factors, LightGCN item ego embeddings). Users start fresh: iALS solves them from the items in its first
   * half-sweep; LightGCN draws them as a cold start does.
   */
  warmStart?: { itemRows: Float32Array };
}

const csrArrays = (prefix: string, m: Csr): Arrays => ({
  [`${prefix}Indptr`]: m.indptr,
  [`${prefix}Indices`]: m.indices,
  [`${prefix}Data`]: m.data,
});
const csrFrom = (a: Arrays, prefix: string, n: number): Csr => ({
  rows: n,
  cols: n,
  indptr: a[`${prefix}Indptr`] as Int32Array,
  indices: a[`${prefix}Indices`] as Int32Array,
  data: a[`${prefix}Data`] as Float32Array,
});

/** Item-item neighbours from per-item ranked lists, as a Csr (columns ascending). */
function csrFromRanked(n: number, lists: Ranked[]): Csr {
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  lists.forEach((r, i) => {
    for (let t = 0; t < r.indices.length; t++) {
      if (r.scores[t]! > 0) {
        rows.push(i);
        cols.push(r.indices[t]!);
        vals.push(r.scores[t]!);
      }
    }
  });
  return csrFromCoo(n, n, rows, cols, vals);
}

/**
 * Fits `type` on `train` (users x items, values = interaction weights) and returns the artifact arrays
 * and metadata. `params` are validated snake_case hyperparameters.
 */
export async function fitArtifact(
  type: ModelType,
  train: Csr,
  params: Record<string, number | string | boolean>,
  opts: FitOptions = {},
): Promise<{ meta: Record<string, unknown>; arrays: Arrays }> {
  const n = train.cols;
  const popularity = itemPopularity(train, { weighted: params.weighted !== false });
  const meta: Record<string, unknown> = { type, items: n };
  const arrays: Arrays = { popularity };
  const binary: Csr = { ...train, data: new Float32Array(train.data.length).fill(1) };
  switch (type) {
    case 'popularity':
      break;
    case 'item_knn': {
      const m = fitItemKnn(train, itemKnnOptions(params as ModelParams<'item_knn'>));
      Object.assign(arrays, csrArrays('sim', m.similarity));
      break;
    }
    case 'content': {
      const index = buildContentIndex(opts.attributes ?? Array.from({ length: n }, () => ({})));
      const lists: Ranked[] = [];
      for (let i = 0; i < n; i++) lists.push(contentSimilarItems(index, i, 50));
      Object.assign(arrays, csrArrays('sim', csrFromRanked(n, lists)));
      break;
    }
    case 'graph_filter': {
      // the serving form: R̃ instead of the items x items P̃ (hundreds of MB where items are popular)
      const m = fitGraphFilterServing(binary, graphFilterOptions(params as ModelParams<'graph_filter'>, train));
      meta.form = 'factored';
      meta.rank = m.rank;
      meta.users = m.normalized.rows;
      meta.linearWeight = m.linearWeight;
      Object.assign(arrays, csrArrays('rn', m.normalized), { left: m.left, rightRows: m.rightRows });
      break;
    }
    case 'ials': {
      const iterations = Number(params.iterations);
      const m = await fitIals(train, {
        ...ialsOptions(params as ModelParams<'ials'>),
        ...(opts.warmStart
          ? { initialFactors: { userFactors: new Float32Array(train.rows * Number(params.factors)), itemFactors: opts.warmStart.itemRows } }
          : {}),
        onIteration: (p) => {
          opts.onProgress?.({ epoch: p.iteration, totalEpochs: iterations, loss: p.loss, progress: p.iteration / iterations });
          return !opts.shouldStop?.();
        },
      });
      meta.factors = m.factors;
      meta.regularization = Number(params.regularization);
      meta.alpha = Number(params.alpha);
      Object.assign(arrays, { itemFactors: m.itemFactors, itemGram: m.itemGram });
      break;
    }
    case 'lightgcn': {
      const p = params as ModelParams<'lightgcn'>;
      const epochs = p.epochs;
      const d = p.embedding_dim;
      const stop = lightGcnEarlyStopping(binary, p);
      const plateau = stop.validation ? null : lossPlateau(p.patience);
      const m = await fitLightGcn(stop.fitOn, {
        ...lightGcnOptions(p),
        ...(stop.validation ? { validation: stop.validation } : {}),
        ...(opts.warmStart ? { initialEmbeddings: lightGcnWarmStart(train.rows, d, opts.warmStart.itemRows) } : {}),
        signal: {
          get aborted() {
            return opts.shouldStop?.() ?? false;
          },
        },
        onEpoch: (e) => {
          const go = plateau ? plateau(e.loss) : true;
          opts.onProgress?.({ epoch: e.epoch, totalEpochs: epochs, loss: e.loss, progress: e.epoch / epochs });
          if (opts.shouldStop?.()) return false;
          return go;
        },
      });
      meta.dim = d;
      meta.epochsRun = m.epochsRun;
      meta.earlyStopped = m.epochsRun < epochs;
      // early stopping on validation NDCG@20 (the embeddings of `bestEpoch`), or why the loss plateau stood in
      meta.bestEpoch = m.bestEpoch;
      meta.stopping = stop.validation ? 'validation_ndcg' : `loss plateau: ${stop.fallback}`;
      meta.validationNdcg = m.validation.map((v) => [v.epoch, Number(v.ndcg.toFixed(5))]);
      arrays.itemEmb = m.finalEmbeddings.slice(train.rows * d);
      // E0 of the items, so that a later incremental run can start from it.
      arrays.itemEgo = m.egoEmbeddings.slice(train.rows * d);
      break;
    }
  }
  return { meta, arrays };
}

/** E0 for a warm LightGCN run: users drawn N(0, 0.1²) as a cold start does, items from the previous run. */
function lightGcnWarmStart(users: number, d: number, itemRows: Float32Array): Float32Array {
  const e0 = new Float32Array(users * d + itemRows.length);
  const userPart = e0.subarray(0, users * d);
  fillNormal(userPart, rngMulberry32(11));
  for (let k = 0; k < userPart.length; k++) userPart[k]! *= 0.1;
  e0.set(itemRows, users * d);
  return e0;
}

/**
 * Scoring against a factor matrix (I x f) with the SIMD dot kernel: `dot` scores one vector against every
 * item; `cosine` scores an item's neighbours by cosine (rows normalized once at load, zero rows never match).
 */
function* dotScorerSteps(factors: Float32Array, f: number) {
  const n = factors.length / f;
  const unit = new Float32Array(factors.length);
  const empty: number[] = [];
  for (let j = 0; j < n; j++) {
    if (j > 0 && j % STEP_ROWS === 0) yield;
    let norm = 0;
    for (let k = 0; k < f; k++) norm += factors[j * f + k]! ** 2;
    if (norm === 0) empty.push(j);
    else for (let k = 0; k < f; k++) unit[j * f + k] = factors[j * f + k]! / Math.sqrt(norm);
  }
  const raw = yield* createDotScorerSteps(factors, f, STEP_ROWS);
  const cos = yield* createDotScorerSteps(unit, f, STEP_ROWS);
  const first = Int32Array.of(0);
  return {
    /** The unit rows and both scorers' WebAssembly memories. */
    bytes: unit.byteLength + raw.bytes + cos.bytes,
    dot(vector: Float32Array, out: Float32Array): Float32Array {
      raw(vector, first, out);
      return out;
    },
    cosine(item: number, out: Float32Array): Float32Array {
      cos(unit, Int32Array.of(item), out);
      for (const j of empty) out[j] = -Infinity;
      out[item] = -Infinity;
      return out;
    },
  };
}

/** A loaded model: scores for one user from their items, and item neighbours. */
export interface ServingModel {
  readonly type: ModelType;
  readonly items: number;
  readonly popularity: Float32Array;
  /** Fills `out` (length items) with scores for a user who touched `itemIds` with `weights`. */
  scoreUser(itemIds: Int32Array, weights: Float32Array, out: Float32Array): Float32Array;
  /** Scores of every item as a neighbour of `item` (the item itself is -Infinity). */
  scoreSimilar(item: number, out: Float32Array): Float32Array;
  /** Affinity between two items (used to explain a recommendation by the user's closest item). */
  pair(a: number, b: number): number;
  /** Bytes of the arrays this model holds: the artifact's it keeps and what it built from them at load. */
  readonly bytes: number;
}

const csrBytes = (m: Csr) => m.indptr.byteLength + m.indices.byteLength + m.data.byteLength;

function csrLookup(m: Csr, row: number, col: number): number {
  let lo = m.indptr[row]!;
  let hi = m.indptr[row + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = m.indices[mid]!;
    if (c === col) return m.data[mid]!;
    if (c < col) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

function dotRows(f: Float32Array, d: number, a: number, b: number): number {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < d; k++) {
    const x = f[a * d + k]!;
    const y = f[b * d + k]!;
    s += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? s / Math.sqrt(na * nb) : 0;
}

/** Factor rows normalized or packed per step of a serving model's build (about a ms of CPU at 64 factors). */
const STEP_ROWS = 4096;

/** Builds the serving model of an artifact's metadata and arrays. */
export function servingModel(meta: Record<string, unknown>, a: Arrays): ServingModel {
  const steps = servingModelSteps(meta, a);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * `servingModel` giving the event loop a turn (`pause`) between steps: a Yelp2018-size LightGCN or iALS model's
 * scorer (rows normalized, packed twice for the SIMD kernel) built in one go held serving for ~130-200 ms of CPU.
 */
export async function servingModelInTurns(meta: Record<string, unknown>, a: Arrays, pause: () => Promise<void>): Promise<ServingModel> {
  const steps = servingModelSteps(meta, a);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

function* servingModelSteps(meta: Record<string, unknown>, a: Arrays): Generator<void, ServingModel, void> {
  const type = meta.type as ModelType;
  const n = Number(meta.items);
  const popularity = a.popularity as Float32Array;
  const base = { type, items: n, popularity, bytes: popularity.byteLength };
  const popScores = (out: Float32Array): Float32Array => {
    out.set(popularity);
    return out;
  };
  switch (type) {
    case 'item_knn':
    case 'content': {
      const sim = csrFrom(a, 'sim', n);
      return {
        ...base,
        bytes: base.bytes + csrBytes(sim),
        scoreUser: (ids, w, out) => (ids.length ? scoreItemKnnUser(sim, ids, w, out) : popScores(out)),
        scoreSimilar: (item, out) => {
          out.fill(-Infinity);
          for (let p = sim.indptr[item]!; p < sim.indptr[item + 1]!; p++) out[sim.indices[p]!] = sim.data[p]!;
          return out;
        },
        pair: (x, y) => csrLookup(sim, x, y),
      };
    }
    case 'graph_filter': {
      if (meta.form === 'factored') {
        const scorer = yield* createGraphFilterServingScorerSteps({
          items: n,
          rank: Number(meta.rank),
          linearWeight: Number(meta.linearWeight),
          normalized: { ...csrFrom(a, 'rn', n), rows: Number(meta.users) },
          left: a.left as Float32Array,
          rightRows: a.rightRows as Float32Array,
        });
        return {
          ...base,
          bytes: base.bytes + scorer.bytes,
          scoreUser: (ids, w, out) => (ids.length ? scorer.scoreUser(ids, w, out) : popScores(out)),
          scoreSimilar: (item, out) => {
            scorer.scoreItem(item, out);
            out[item] = -Infinity;
            return out;
          },
          pair: scorer.pair,
        };
      }
      // artifacts fitted before the serving form: P̃ stored items x items, scored by the offline scalar scorer
      const rank = Number(meta.rank);
      const model = {
        items: n,
        rank,
        linear: csrFrom(a, 'lin', n),
        left: a.left as Float32Array,
        right: a.right as Float32Array,
        singularValues: new Float64Array(0),
      };
      const score = (ids: Int32Array, w: Float32Array, out: Float32Array): Float32Array => {
        const order = Array.from(ids.keys()).sort((x, y) => ids[x]! - ids[y]!);
        const user: Csr = {
          rows: 1,
          cols: n,
          indptr: Int32Array.of(0, ids.length),
          indices: Int32Array.from(order, (k) => ids[k]!),
          data: Float32Array.from(order, (k) => (w[k]! > 0 ? 1 : 0)),
        };
        scoreGraphFilter(model, user, ZERO, out);
        return out;
      };
      return {
        ...base,
        bytes: base.bytes + csrBytes(model.linear) + model.left.byteLength + model.right.byteLength,
        scoreUser: (ids, w, out) => (ids.length ? score(ids, w, out) : popScores(out)),
        scoreSimilar: (item, out) => {
          score(Int32Array.of(item), ONE, out);
          out[item] = -Infinity;
          return out;
        },
        pair: (x, y) => csrLookup(model.linear, x, y),
      };
    }
    case 'ials': {
      const f = Number(meta.factors);
      const itemFactors = a.itemFactors as Float32Array;
      const gram = (a.itemGram as Float64Array | undefined) ?? factorGram(itemFactors, n, f, 0);
      const objective = { regularization: Number(meta.regularization), alpha: Number(meta.alpha) };
      const vec = new Float32Array(f);
      const factorScorer = yield* dotScorerSteps(itemFactors, f);
      return {
        ...base,
        bytes: base.bytes + itemFactors.byteLength + gram.byteLength + factorScorer.bytes,
        scoreUser: (ids, w, out) =>
          ids.length ? factorScorer.dot(ialsFoldIn(itemFactors, f, gram, ids, w, objective, vec), out) : popScores(out),
        scoreSimilar: (item, out) => factorScorer.cosine(item, out),
        pair: (x, y) => dotRows(itemFactors, f, x, y),
      };
    }
    case 'lightgcn': {
      const d = Number(meta.dim);
      const emb = a.itemEmb as Float32Array;
      const vec = new Float32Array(d);
      const embScorer = yield* dotScorerSteps(emb, d);
      return {
        ...base,
        bytes: base.bytes + emb.byteLength + embScorer.bytes,
        // A user's embedding is the weighted mean of their items' propagated embeddings (fold-in without training).
        scoreUser: (ids, w, out) => {
          if (!ids.length) return popScores(out);
          vec.fill(0);
          let total = 0;
          for (let t = 0; t < ids.length; t++) {
            const i = ids[t]!;
            total += w[t]!;
            for (let k = 0; k < d; k++) vec[k]! += w[t]! * emb[i * d + k]!;
          }
          if (total > 0) for (let k = 0; k < d; k++) vec[k]! /= total;
          return embScorer.dot(vec, out);
        },
        scoreSimilar: (item, out) => embScorer.cosine(item, out),
        pair: (x, y) => dotRows(emb, d, x, y),
      };
    }
    default:
      return {
        ...base,
        scoreUser: (_ids, _w, out) => popScores(out),
        scoreSimilar: (item, out) => {
          popScores(out);
          out[item] = -Infinity;
          return out;
        },
        pair: () => 0,
      };
  }
}

const ZERO = Int32Array.of(0);
const ONE = Float32Array.of(1);
