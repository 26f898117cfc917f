import type { Csr } from './csr.ts';
import { topKInto } from './topk.ts';

/**
 * Top-k evaluation with the LightGCN protocol: every user with at least one test item is scored
 * over ALL items, the user's train items are excluded, the k best are taken, and Recall@k
 * (hits / |test_u|, no cap), NDCG@k (binary gains, IDCG over min(k, |test_u|) positions) and
 * Precision@k (hits / k) are averaged over those users. Catalog coverage is the share of items that
 * appear in at least one user's top-k.
 *
 * The pieces are pure so a worker thread can rank its own block of users (`accumulateTopKSums`) and
 * the parent can merge the partial sums (`mergeTopKSums`, then `topKMetricsFromSums`).
 */

/**
 * Fills `out` (row-major, userIds.length x items) with the scores of those users for every item.
 * Higher is better. May finish asynchronously (e.g. in worker threads writing a shared buffer).
 */
export type BatchScorer = (userIds: Int32Array, out: Float32Array) => void | Promise<void>;

/** Metrics of the top `k` of every evaluated user. */
export interface CutoffMetrics {
  readonly k: number;
  readonly recall: number;
  readonly ndcg: number;
  readonly precision: number;
  /** Distinct items recommended to anyone / items. */
  readonly coverage: number;
}

export interface TopKMetrics extends CutoffMetrics {
  /** Users evaluated: those with at least one test item. */
  readonly users: number;
  /** The same metrics at each extra cutoff asked for (each at most k), from the same ranking. */
  readonly at: Readonly<Record<number, CutoffMetrics>>;
}

interface CutoffSums {
  readonly k: number;
  recall: number;
  ndcg: number;
  precision: number;
  /** 1 where an item appeared in some top-k list; length items. */
  readonly recommended: Uint8Array;
}

/** Running sums for a block of users; merge blocks with `mergeTopKSums`. */
export interface TopKSums extends CutoffSums {
  users: number;
  /** Sums of the extra cutoffs. */
  readonly cutoffs: CutoffSums[];
}

const emptyCutoff = (k: number, items: number): CutoffSums => ({ k, recall: 0, ndcg: 0, precision: 0, recommended: new Uint8Array(items) });

/** Empty sums for top `k` and, from the same ranking, each of `cutoffs` (each at most k). */
export function emptyTopKSums(k: number, items: number, cutoffs: readonly number[] = []): TopKSums {
  for (const c of cutoffs)
    if (!(c >= 1 && c <= k && Number.isInteger(c))) throw new RangeError(`emptyTopKSums: cutoff ${c} outside [1, ${k}]`);
  return { ...emptyCutoff(k, items), users: 0, cutoffs: cutoffs.map((c) => emptyCutoff(c, items)) };
}

function mergeCutoff(a: CutoffSums, b: CutoffSums): void {
  a.recall += b.recall;
  a.ndcg += b.ndcg;
  a.precision += b.precision;
  const ra = a.recommended;
  const rb = b.recommended;
  for (let i = 0; i < ra.length; i++) if (rb[i]) ra[i] = 1;
}

/** Adds `b` into `a` (same k, cutoffs and item count). O(items). */
export function mergeTopKSums(a: TopKSums, b: TopKSums): TopKSums {
  if (a.k !== b.k || a.recommended.length !== b.recommended.length || a.cutoffs.length !== b.cutoffs.length)
    throw new RangeError('mergeTopKSums: shapes differ');
  a.users += b.users;
  mergeCutoff(a, b);
  a.cutoffs.forEach((c, i) => mergeCutoff(c, b.cutoffs[i]!));
  return a;
}

function cutoffMetrics(s: CutoffSums, users: number): CutoffMetrics {
  let covered = 0;
  for (let i = 0; i < s.recommended.length; i++) covered += s.recommended[i]!;
  const n = Math.max(1, users);
  return {
    k: s.k,
    recall: s.recall / n,
    ndcg: s.ndcg / n,
    precision: s.precision / n,
    coverage: s.recommended.length > 0 ? covered / s.recommended.length : 0,
  };
}

export function topKMetricsFromSums(s: TopKSums): TopKMetrics {
  const at: Record<number, CutoffMetrics> = {};
  for (const c of s.cutoffs) at[c.k] = cutoffMetrics(c, s.users);
  return { ...cutoffMetrics(s, s.users), users: s.users, at };
}

const LOG2_DISCOUNT = new Float64Array(1025).map((_, i) => (i === 0 ? 0 : 1 / Math.log2(i + 1)));

function discount(rank: number): number {
  return rank < LOG2_DISCOUNT.length ? LOG2_DISCOUNT[rank]! : 1 / Math.log2(rank + 1);
}

/**
 * Ranks a scored block of users and adds their metrics to `sums`. `scores` is row-major
 * userIds.length x items and is modified: the users' train items are set to -Infinity.
 * Users without test items are skipped. O(block x items) plus O(nnz of the block).
 */
export function accumulateTopKSums(train: Csr, test: Csr, userIds: Int32Array, scores: Float32Array, sums: TopKSums): TopKSums {
  const items = train.cols;
  const k = sums.k;
  if (scores.length < userIds.length * items) throw new RangeError('accumulateTopKSums: scores shorter than users x items');
  const top = new Int32Array(Math.min(k, items));
  const topVal = new Float64Array(top.length);
  const mark = new Uint8Array(items);
  for (let b = 0; b < userIds.length; b++) {
    const u = userIds[b]!;
    if (u >= test.rows) continue;
    const ts = test.indptr[u]!;
    const te = test.indptr[u + 1]!;
    const nTest = te - ts;
    if (nTest === 0) continue;
    const row = b * items;
    if (u < train.rows) {
      for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) scores[row + train.indices[p]!] = Number.NEGATIVE_INFINITY;
    }
    const got = topKInto(scores, k, top, topVal, { offset: row, length: items });
    for (let p = ts; p < te; p++) mark[test.indices[p]!] = 1;
    addRanking(sums, top, got, mark, nTest);
    for (const c of sums.cutoffs) addRanking(c, top, Math.min(got, c.k), mark, nTest);
    for (let p = ts; p < te; p++) mark[test.indices[p]!] = 0;
    sums.users++;
  }
  return sums;
}

/** Adds one user's ranking (`top[0 .. got)`, best first; `mark` flags the user's test items) to `s`. */
function addRanking(s: CutoffSums, top: Int32Array, got: number, mark: Uint8Array, nTest: number): void {
  let hits = 0;
  let dcg = 0;
  for (let r = 0; r < got; r++) {
    const item = top[r]!;
    s.recommended[item] = 1;
    if (mark[item]) {
      hits++;
      dcg += discount(r + 1);
    }
  }
  let idcg = 0;
  const ideal = Math.min(s.k, nTest);
  for (let r = 1; r <= ideal; r++) idcg += discount(r);
  s.recall += hits / nTest;
  s.ndcg += dcg / idcg;
  s.precision += hits / s.k;
}

/** Users (ascending) with at least one test item. O(rows). */
export function usersWithTestItems(test: Csr): Int32Array {
  const out: number[] = [];
  for (let u = 0; u < test.rows; u++) if (test.indptr[u + 1]! > test.indptr[u]!) out.push(u);
  return Int32Array.from(out);
}

export interface EvaluateTopKOptions {
  /** users x items; its entries are excluded from each user's ranking. */
  readonly train: Csr;
  /** users x items held-out pairs (rows may be fewer than train's). */
  readonly test: Csr;
  readonly k: number;
  /** Extra cutoffs (each at most k) measured from the same ranking, reported in `at`. */
  readonly cutoffs?: readonly number[];
  readonly scoreBatch: BatchScorer;
  /** Users scored per call; the output buffer is batchSize x items floats. Default 256. */
  readonly batchSize?: number;
  /** Called after each ranked batch with (users done, users total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Runs the full protocol. Output buffers are SharedArrayBuffer-backed so a scorer may fill them
 * from worker threads; while batch b is ranked on this thread, batch b + 1 is already being scored
 * (double buffering), so an asynchronous scorer overlaps with ranking.
 * Cost: the scorer's, plus O(users x items) for ranking. Memory: 2 x batchSize x items floats.
 */
export async function evaluateTopK(options: EvaluateTopKOptions): Promise<TopKMetrics> {
  const { train, test, k, scoreBatch } = options;
  if (test.cols !== train.cols) throw new RangeError(`evaluateTopK: train has ${train.cols} items, test ${test.cols}`);
  if (test.rows > train.rows) throw new RangeError('evaluateTopK: test has more users than train');
  const items = train.cols;
  const batchSize = Math.max(1, options.batchSize ?? 256);
  const users = usersWithTestItems(test);
  const sums = emptyTopKSums(k, items, options.cutoffs ?? []);
  const buffers = [0, 1].map(() => new Float32Array(new SharedArrayBuffer(batchSize * items * 4)));
  const batches: Int32Array[] = [];
  for (let s = 0; s < users.length; s += batchSize) batches.push(users.slice(s, Math.min(users.length, s + batchSize)));
  const start = (b: number): Promise<void> => {
    const ids = batches[b]!;
    const out = buffers[b % 2]!.subarray(0, ids.length * items);
    return Promise.resolve(scoreBatch(ids, out));
  };
  let pending = batches.length > 0 ? start(0) : Promise.resolve();
  let done = 0;
  for (let b = 0; b < batches.length; b++) {
    await pending;
    if (b + 1 < batches.length) {
      pending = start(b + 1);
      pending.catch(() => undefined); // awaited next iteration; avoid an unhandled-rejection report meanwhile
    }
    const ids = batches[b]!;
    accumulateTopKSums(train, test, ids, buffers[b % 2]!.subarray(0, ids.length * items), sums);
    done += ids.length;
    options.onProgress?.(done, users.length);
  }
  return topKMetricsFromSums(sums);
}
