/**
 * Popularity baselines: all-time popularity, trending (exponentially time-decayed popularity) and
 * the best items per category. Times are plain numbers in one unit chosen by the caller (epoch ms,
 * seconds); `now` is always passed in.
 */
import type { Csr } from './csr.ts';
import { topK, type Ranked } from './topk.ts';

export interface PopularityParams {
  /** Sum the stored interaction weights instead of counting users per item. Default false. */
  readonly weighted?: boolean;
}

/**
 * Popularity of each item of a U x I matrix: the number of users with a stored entry, or the sum of
 * the entries when `weighted`. Returns `out` (length I). O(nnz + I).
 */
export function itemPopularity(train: Csr, params: PopularityParams = {}, out = new Float32Array(train.cols)): Float32Array {
  if (out.length !== train.cols) throw new RangeError(`itemPopularity: out has ${out.length}, expected ${train.cols}`);
  const acc = new Float64Array(train.cols);
  const idx = train.indices;
  const val = train.data;
  const weighted = params.weighted ?? false;
  for (let p = 0; p < idx.length; p++) acc[idx[p]!]! += weighted ? val[p]! : 1;
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]!;
  return out;
}

export interface TrendingEvents {
  /** Item of each event, in [0, numItems). */
  readonly itemIds: Int32Array;
  /** Time of each event, same unit as `now` and `halfLife`. */
  readonly timestamps: Float64Array;
  /** Weight of each event (e.g. view < add_to_cart < purchase); 1 when absent. */
  readonly weights?: Float32Array;
}

/**
 * Trending scores: score_i = Σ over events e of item i with t_e <= now of w_e · 2^(-(now - t_e) / halfLife).
 * Events after `now` are ignored, so replaying history at an earlier `now` sees no future.
 * Returns `out` (length numItems). O(events + numItems).
 */
export function trendingScores(
  events: TrendingEvents,
  numItems: number,
  now: number,
  halfLife: number,
  out = new Float32Array(numItems),
): Float32Array {
  const { itemIds, timestamps, weights } = events;
  const n = itemIds.length;
  if (timestamps.length !== n || (weights && weights.length !== n)) throw new RangeError('trendingScores: event arrays differ in length');
  if (!(halfLife > 0)) throw new RangeError(`trendingScores: halfLife must be > 0, got ${halfLife}`);
  if (out.length !== numItems) throw new RangeError(`trendingScores: out has ${out.length}, expected ${numItems}`);
  const acc = new Float64Array(numItems);
  const rate = Math.LN2 / halfLife;
  for (let e = 0; e < n; e++) {
    const age = now - timestamps[e]!;
    if (!(age >= 0)) continue;
    const i = itemIds[e]!;
    if (i < 0 || i >= numItems) throw new RangeError(`trendingScores: item ${i} outside ${numItems}`);
    acc[i]! += (weights ? weights[e]! : 1) * Math.exp(-rate * age);
  }
  for (let i = 0; i < numItems; i++) out[i] = acc[i]!;
  return out;
}

/**
 * Moves trending scores computed at time `then` forward to `then + elapsed` in place (scores only
 * decay; add the new events' contributions afterwards). Lets a server keep trending incrementally.
 * O(length).
 */
export function decayScores(scores: Float32Array, elapsed: number, halfLife: number): Float32Array {
  if (!(elapsed >= 0) || !(halfLife > 0)) throw new RangeError('decayScores: elapsed must be >= 0 and halfLife > 0');
  const factor = Math.pow(2, -elapsed / halfLife);
  for (let i = 0; i < scores.length; i++) scores[i]! *= factor;
  return scores;
}

/**
 * The `n` best-scored items of each category: a numCategories x I Csr whose row c holds category
 * c's top items (columns ascending, scores as values). `itemCategory[i]` is item i's category, or
 * -1 for none. Items scoring <= 0 are left out. O(I log n) time, O(numCategories · n) memory.
 */
export function topNPerCategory(scores: Float32Array, itemCategory: Int32Array, numCategories: number, n: number): Csr {
  const numItems = scores.length;
  if (itemCategory.length !== numItems)
    throw new RangeError(`topNPerCategory: itemCategory has ${itemCategory.length}, expected ${numItems}`);
  // group items by category (counting sort), then select within each group
  const counts = new Int32Array(numCategories + 1);
  for (let i = 0; i < numItems; i++) {
    const c = itemCategory[i]!;
    if (c < -1 || c >= numCategories) throw new RangeError(`topNPerCategory: category ${c} of item ${i} outside [-1, ${numCategories})`);
    if (c >= 0) counts[c + 1]!++;
  }
  for (let c = 0; c < numCategories; c++) counts[c + 1]! += counts[c]!;
  const cursor = counts.slice(0, numCategories);
  const members = new Int32Array(counts[numCategories]!);
  const memberScores = new Float32Array(members.length);
  for (let i = 0; i < numItems; i++) {
    const c = itemCategory[i]!;
    if (c < 0) continue;
    const p = cursor[c]!++;
    members[p] = i;
    memberScores[p] = scores[i]! > 0 ? scores[i]! : -Infinity;
  }
  const indptr = new Int32Array(numCategories + 1);
  const rowsIdx: Int32Array[] = [];
  const rowsVal: Float32Array[] = [];
  let nnz = 0;
  for (let c = 0; c < numCategories; c++) {
    const ranked = topK(memberScores, n, { offset: counts[c]!, length: counts[c + 1]! - counts[c]! });
    // members are in ascending item order, so ascending positions give ascending columns
    const pos = Int32Array.from(ranked.indices).sort();
    const idx = new Int32Array(pos.length);
    const val = new Float32Array(pos.length);
    for (let t = 0; t < pos.length; t++) {
      idx[t] = members[counts[c]! + pos[t]!]!;
      val[t] = memberScores[counts[c]! + pos[t]!]!;
    }
    rowsIdx.push(idx);
    rowsVal.push(val);
    nnz += idx.length;
    indptr[c + 1] = nnz;
  }
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  for (let c = 0; c < numCategories; c++) {
    indices.set(rowsIdx[c]!, indptr[c]!);
    data.set(rowsVal[c]!, indptr[c]!);
  }
  return { rows: numCategories, cols: numItems, indptr, indices, data };
}

/** The `n` best items of one category from a `topNPerCategory` matrix, best first. O(n log n). */
export function categoryTopItems(perCategory: Csr, category: number, n: number): Ranked {
  if (category < 0 || category >= perCategory.rows)
    throw new RangeError(`categoryTopItems: category ${category} outside ${perCategory.rows}`);
  const s = perCategory.indptr[category]!;
  const e = perCategory.indptr[category + 1]!;
  const ranked = topK(perCategory.data.subarray(s, e), n);
  const indices = new Int32Array(ranked.indices.length);
  for (let t = 0; t < indices.length; t++) indices[t] = perCategory.indices[s + ranked.indices[t]!]!;
  return { indices, scores: ranked.scores };
}

export interface PopularityModel {
  /** Length I. */
  readonly scores: Float32Array;
  /** Every user gets the same scores (the evaluator removes their own items). */
  scoreBatch(userIds: Int32Array, out: Float32Array): void;
}

/** The non-personalised baseline: everyone is scored by `itemPopularity`. O(nnz + I). */
export function fitPopularity(train: Csr, params: PopularityParams): PopularityModel {
  const scores = itemPopularity(train, params);
  return {
    scores,
    scoreBatch: (userIds, out) => {
      const n = scores.length;
      if (out.length !== userIds.length * n) throw new RangeError(`scoreBatch: out has ${out.length}, expected ${userIds.length * n}`);
      for (let b = 0; b < userIds.length; b++) out.set(scores, b * n);
    },
  };
}
