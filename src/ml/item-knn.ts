/**
 * Item-based nearest neighbours: item-item similarity from a user x item (or basket x item) matrix,
 * kept sparse as the top-K neighbours of each item, and user scoring by summing neighbour
 * similarities.
 */
import { csrTranspose, type Csr } from './csr.ts';
import { topK, topKPush, type Ranked } from './topk.ts';

export type ItemSimilarityMeasure = 'cosine' | 'cooccurrence';

export interface ItemSimilarityParams {
  /** Neighbours kept per item (the row length of the result). */
  readonly k: number;
  /**
   * 'cosine': dot(a, b) / (|a| |b| + shrink) over item columns a, b. 'cooccurrence': the raw dot
   * (the number of shared rows when `binary`); `shrink` does not apply. Default 'cosine'.
   */
  readonly measure?: ItemSimilarityMeasure;
  /** Added to the cosine denominator; damps similarities supported by few users. Default 0. */
  readonly shrink?: number;
  /** Treat every stored value as 1 (counts rows, ignores weights). Default false. */
  readonly binary?: boolean;
  /** Drop pairs co-occurring in fewer than this many rows. Default 1. */
  readonly minCount?: number;
  /** Called every 1,024 items; may throw to abandon the computation (a search's deadline). */
  readonly checkpoint?: () => void;
}

/**
 * Item-item similarity, top-K per item, from an R x I matrix (users or baskets x items).
 * Returns an I x I Csr whose row i holds i's K most similar items (never i itself), columns
 * ascending as every Csr; entries with similarity <= 0 are dropped.
 *
 * Time O(sum over rows r of nnz(r)^2 + I · candidates · log K), memory O(I) scratch plus the K·I
 * result. `itemUser` (the transpose) may be passed when the caller already has it.
 */
export function itemSimilarityTopK(userItem: Csr, params: ItemSimilarityParams, itemUser?: Csr): Csr {
  const k = params.k;
  if (!(k >= 0) || !Number.isInteger(k)) throw new RangeError(`itemSimilarityTopK: k must be a non-negative integer, got ${k}`);
  const cosine = (params.measure ?? 'cosine') === 'cosine';
  const shrink = params.shrink ?? 0;
  const binary = params.binary ?? false;
  const minCount = params.minCount ?? 1;
  const nItems = userItem.cols;
  const iu = itemUser ?? csrTranspose(userItem);
  if (iu.rows !== nItems || iu.cols !== userItem.rows)
    throw new RangeError('itemSimilarityTopK: itemUser is not the transpose of userItem');

  const uiPtr = userItem.indptr;
  const uiIdx = userItem.indices;
  const uiVal = userItem.data;
  const iuPtr = iu.indptr;
  const iuIdx = iu.indices;
  const iuVal = iu.data;

  const norms = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) {
    let s = 0;
    for (let p = iuPtr[i]!; p < iuPtr[i + 1]!; p++) {
      const v = binary ? 1 : iuVal[p]!;
      s += v * v;
    }
    norms[i] = Math.sqrt(s);
  }

  const acc = new Float64Array(nItems);
  const count = new Int32Array(nItems);
  const touched = new Int32Array(nItems);
  const heapIdx = new Int32Array(Math.max(k, 1));
  const heapVal = new Float64Array(Math.max(k, 1));
  const rowIdx = new Int32Array(Math.max(k, 1));
  const rowVal = new Float32Array(Math.max(k, 1));
  const indptr = new Int32Array(nItems + 1);
  let outIdx = new Int32Array(Math.min(nItems * k, 1 << 20) || 1);
  let outVal = new Float32Array(outIdx.length);
  let nnz = 0;

  for (let i = 0; i < nItems; i++) {
    if ((i & 1023) === 0) params.checkpoint?.();
    let nTouched = 0;
    for (let p = iuPtr[i]!; p < iuPtr[i + 1]!; p++) {
      const u = iuIdx[p]!;
      const a = binary ? 1 : iuVal[p]!;
      for (let q = uiPtr[u]!; q < uiPtr[u + 1]!; q++) {
        const j = uiIdx[q]!;
        if (count[j] === 0) touched[nTouched++] = j;
        count[j]!++;
        acc[j]! += a * (binary ? 1 : uiVal[q]!);
      }
    }
    const ni = norms[i]!;
    let size = 0;
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t]!;
      const dot = acc[j]!;
      const c = count[j]!;
      acc[j] = 0;
      count[j] = 0;
      if (j === i || c < minCount || k === 0) continue;
      const s = cosine ? dot / (ni * norms[j]! + shrink) : dot;
      if (!(s > 0)) continue;
      size = topKPush(heapIdx, heapVal, size, k, j, s);
    }
    // emit the kept neighbours with ascending column ids
    for (let t = 0; t < size; t++) {
      rowIdx[t] = heapIdx[t]!;
      rowVal[t] = heapVal[t]!;
    }
    sortPairsByIndex(rowIdx, rowVal, size);
    if (nnz + size > outIdx.length) {
      const grown = Math.max(outIdx.length * 2, nnz + size);
      const gi = new Int32Array(grown);
      gi.set(outIdx.subarray(0, nnz));
      const gv = new Float32Array(grown);
      gv.set(outVal.subarray(0, nnz));
      outIdx = gi;
      outVal = gv;
    }
    outIdx.set(rowIdx.subarray(0, size), nnz);
    outVal.set(rowVal.subarray(0, size), nnz);
    nnz += size;
    indptr[i + 1] = nnz;
  }
  return { rows: nItems, cols: nItems, indptr, indices: outIdx.slice(0, nnz), data: outVal.slice(0, nnz) };
}

/** Insertion sort of (index, value) pairs by index; rows are at most K long. */
function sortPairsByIndex(idx: Int32Array, val: Float32Array, size: number): void {
  for (let a = 1; a < size; a++) {
    const ia = idx[a]!;
    const va = val[a]!;
    let b = a - 1;
    while (b >= 0 && idx[b]! > ia) {
      idx[b + 1] = idx[b]!;
      val[b + 1] = val[b]!;
      b--;
    }
    idx[b + 1] = ia;
    val[b + 1] = va;
  }
}

/**
 * The `n` most similar items to `item` from a top-K similarity matrix, best first.
 * O(K log n).
 */
export function similarItems(similarity: Csr, item: number, n: number): Ranked {
  if (item < 0 || item >= similarity.rows) throw new RangeError(`similarItems: item ${item} outside ${similarity.rows}`);
  const start = similarity.indptr[item]!;
  const end = similarity.indptr[item + 1]!;
  const row = similarity.data.subarray(start, end);
  const ranked = topK(row, n);
  const indices = new Int32Array(ranked.indices.length);
  for (let t = 0; t < indices.length; t++) indices[t] = similarity.indices[start + ranked.indices[t]!]!;
  return { indices, scores: ranked.scores };
}

export interface FrequentlyBoughtTogetherParams {
  /** Items kept per item. */
  readonly k: number;
  /** Minimum number of baskets an item pair must share. Default 2. */
  readonly minSupport?: number;
}

/**
 * "Frequently bought together": for each item, the items that share the most baskets with it.
 * `basketItem` is a baskets x items matrix (orders, carts); quantities are ignored (a pair counts
 * once per basket). The result is an I x I Csr of shared-basket counts, top-K per item; query it
 * with `similarItems`. Same cost as `itemSimilarityTopK`.
 */
export function frequentlyBoughtTogether(basketItem: Csr, params: FrequentlyBoughtTogetherParams): Csr {
  return itemSimilarityTopK(basketItem, {
    k: params.k,
    measure: 'cooccurrence',
    binary: true,
    minCount: params.minSupport ?? 2,
  });
}

/**
 * Item-kNN scores of one user: out[j] = sum over the user's items i of weight_i · sim(i, j).
 * `out` (length I) is overwritten. O(len(itemIds) · K + I).
 */
export function scoreItemKnnUser(
  similarity: Csr,
  itemIds: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  out: Float32Array,
): Float32Array {
  if (out.length !== similarity.cols) throw new RangeError(`scoreItemKnnUser: out has ${out.length}, expected ${similarity.cols}`);
  out.fill(0);
  const ptr = similarity.indptr;
  const idx = similarity.indices;
  const val = similarity.data;
  for (let t = 0; t < itemIds.length; t++) {
    const i = itemIds[t]!;
    if (i < 0 || i >= similarity.rows) continue;
    const w = weights ? weights[t]! : 1;
    for (let p = ptr[i]!; p < ptr[i + 1]!; p++) out[idx[p]!]! += w * val[p]!;
  }
  return out;
}

/**
 * Item-kNN scores for a batch of users of `userItem` (U x I): `out` is userIds.length x I,
 * row-major. Uses the stored interaction values as weights unless `binary`.
 * O(sum over the batch of nnz(u) · K + batch · I).
 */
export function scoreItemKnnBatch(userItem: Csr, similarity: Csr, userIds: Int32Array, out: Float32Array, binary = false): void {
  const nItems = similarity.cols;
  if (out.length !== userIds.length * nItems)
    throw new RangeError(`scoreItemKnnBatch: out has ${out.length}, expected ${userIds.length * nItems}`);
  out.fill(0);
  const uiPtr = userItem.indptr;
  const uiIdx = userItem.indices;
  const uiVal = userItem.data;
  const ptr = similarity.indptr;
  const idx = similarity.indices;
  const val = similarity.data;
  for (let b = 0; b < userIds.length; b++) {
    const u = userIds[b]!;
    const base = b * nItems;
    for (let q = uiPtr[u]!; q < uiPtr[u + 1]!; q++) {
      const i = uiIdx[q]!;
      const w = binary ? 1 : uiVal[q]!;
      for (let p = ptr[i]!; p < ptr[i + 1]!; p++) out[base + idx[p]!]! += w * val[p]!;
    }
  }
}

export interface ItemKnnParams extends ItemSimilarityParams {
  /** Use 1 instead of the interaction weight when summing neighbour similarities. Default false. */
  readonly binaryScoring?: boolean;
}

export interface ItemKnnModel {
  /** I x I, top-K neighbours per item. */
  readonly similarity: Csr;
  scoreBatch(userIds: Int32Array, out: Float32Array): void;
  /** Scores a user from their current items (real-time: no refit needed). */
  scoreUser(itemIds: ArrayLike<number>, weights: ArrayLike<number> | null, out: Float32Array): Float32Array;
  similarItems(item: number, n: number): Ranked;
}

/** Fits item-kNN on a U x I training matrix (values are interaction weights). */
export function fitItemKnn(train: Csr, params: ItemKnnParams): ItemKnnModel {
  const similarity = itemSimilarityTopK(train, params);
  const binaryScoring = params.binaryScoring ?? false;
  return {
    similarity,
    scoreBatch: (userIds, out) => scoreItemKnnBatch(train, similarity, userIds, out, binaryScoring),
    scoreUser: (itemIds, weights, out) => scoreItemKnnUser(similarity, itemIds, binaryScoring ? null : weights, out),
    similarItems: (item, n) => similarItems(similarity, item, n),
  };
}
