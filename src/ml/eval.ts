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

export interface TopKMetrics {
  readonly k: number;
  /** Users evaluated: those with at least one test item. */
  readonly users: number;
  readonly recall: number;
  readonly ndcg: number;
  readonly precision: number;
  /** Distinct items recommended to anyone / items. */
  readonly coverage: number;
}

/** Running sums for a block of users; merge blocks with `mergeTopKSums`. */
export interface TopKSums {
  k: number;
  users: number;
  recall: number;
  ndcg: number;
  precision: number;
  /** 1 where an item appeared in some top-k list; length items. */
  readonly recommended: Uint8Array;
}

export function emptyTopKSums(k: number, items: number): TopKSums {
  return { k, users: 0, recall: 0, ndcg: 0, precision: 0, recommended: new Uint8Array(items) };
}

/** Adds `b` into `a` (same k and item count). O(items). */
export function mergeTopKSums(a: TopKSums, b: TopKSums): TopKSums {
  if (a.k !== b.k || a.recommended.length !== b.recommended.length) throw new RangeError('mergeTopKSums: shapes differ');
  a.users += b.users;
  a.recall += b.recall;
  a.ndcg += b.ndcg;
  a.precision += b.precision;
  const ra = a.recommended;
  const rb = b.recommended;
  for (let i = 0; i < ra.length; i++) if (rb[i]) ra[i] = 1;
  return a;
}

export function topKMetricsFromSums(s: TopKSums): TopKMetrics {
  let covered = 0;
  for (let i = 0; i < s.recommended.length; i++) covered += s.recommended[i]!;
  const n = Math.max(1, s.users);
  return {
    k: s.k,
    users: s.users,
    recall: s.recall / n,
    ndcg: s.ndcg / n,
    precision: s.precision / n,
    coverage: s.recommended.length > 0 ? covered / s.recommended.length : 0,
  };
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
    let hits = 0;
    let dcg = 0;
    for (let r = 0; r < got; r++) {
      const item = top[r]!;
      sums.recommended[item] = 1;
      if (mark[item]) {
        hits++;
        dcg += discount(r + 1);
      }
    }
    let idcg = 0;
    const ideal = Math.min(k, nTest);
    for (let r = 1; r <= ideal; r++) idcg += discount(r);
    for (let p = ts; p < te; p++) mark[test.indices[p]!] = 0;
    sums.users++;
    sums.recall += hits / nTest;
    sums.ndcg += dcg / idcg;
    sums.precision += hits / k;
  }
  return sums;
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
  const sums = emptyTopKSums(k, items);
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
