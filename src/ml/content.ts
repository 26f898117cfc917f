/**
 * Content-based similarity for items without interactions (cold start): each item's attributes
 * (category, brand, tags, text tokens) become a TF-IDF vector, L2-normalised, and similarity is
 * the cosine (a sparse dot product). Users are profiled by the weighted sum of their items' vectors.
 */
import { csrFromCoo, csrTranspose, type Csr } from './csr.ts';
import { topK, type Ranked } from './topk.ts';

/** Catalog attributes of one item; every field is optional. */
export interface ItemAttributes {
  readonly category?: string | null;
  readonly brand?: string | null;
  readonly tags?: readonly string[] | null;
  /** Title, description: tokenised with `tokenizeText`. */
  readonly text?: string | null;
}

/** Multipliers of each field's term frequencies, so that e.g. a shared brand outweighs a shared word. */
export interface FieldWeights {
  readonly category: number;
  readonly brand: number;
  readonly tags: number;
  readonly text: number;
}

export interface ContentParams {
  /** Default { category: 2, brand: 1.5, tags: 1, text: 1 }. */
  readonly fieldWeights?: Partial<FieldWeights>;
  /** Terms in fewer items are dropped (noise, typos). Default 1. */
  readonly minDf?: number;
  /** Terms in more than this share of items are dropped (they do not discriminate). Default 1. */
  readonly maxDfRatio?: number;
  /** Use 1 + ln(tf) instead of tf. Default true. */
  readonly sublinearTf?: boolean;
}

const DEFAULT_WEIGHTS: FieldWeights = { category: 2, brand: 1.5, tags: 1, text: 1 };

/** A sparse vector: ascending term ids and their values. */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/**
 * Lower-cased word tokens (Unicode letters and digits), at least 2 characters, in order.
 * O(length).
 */
export function tokenizeText(text: string): string[] {
  const out: string[] = [];
  for (const m of text
    .toLowerCase()
    .normalize('NFKC')
    .matchAll(/[\p{L}\p{N}]+/gu)) {
    if (m[0].length >= 2) out.push(m[0]);
  }
  return out;
}

/** Field-prefixed terms of one item with their weighted counts (a field prefix keeps "red" the tag apart from "red" the word). */
function itemTerms(item: ItemAttributes, weights: FieldWeights): Map<string, number> {
  const terms = new Map<string, number>();
  const add = (term: string, w: number): void => {
    if (w > 0) terms.set(term, (terms.get(term) ?? 0) + w);
  };
  const norm = (s: string): string => s.trim().toLowerCase().normalize('NFKC');
  if (item.category) add(`c:${norm(item.category)}`, weights.category);
  if (item.brand) add(`b:${norm(item.brand)}`, weights.brand);
  for (const tag of item.tags ?? []) if (tag.trim()) add(`g:${norm(tag)}`, weights.tags);
  if (item.text) for (const tok of tokenizeText(item.text)) add(`w:${tok}`, weights.text);
  return terms;
}

/**
 * TF-IDF of an items x terms matrix of (weighted) term counts: value = tf' · idf, rows L2-normalised,
 * with tf' = 1 + ln(tf) when `sublinearTf` (tf >= 1) and idf = ln((1 + N) / (1 + df)) + 1 (smoothed,
 * never zero). Terms outside [minDf, maxDfRatio · N] get idf 0 and are dropped. Returns the vectors
 * and the idf per term. O(nnz + terms).
 */
export function tfIdf(counts: Csr, params: ContentParams = {}): { vectors: Csr; idf: Float32Array } {
  const nDocs = counts.rows;
  const minDf = params.minDf ?? 1;
  const maxDf = (params.maxDfRatio ?? 1) * nDocs;
  const sublinear = params.sublinearTf ?? true;
  const df = new Int32Array(counts.cols);
  for (let p = 0; p < counts.indices.length; p++) if (counts.data[p]! > 0) df[counts.indices[p]!]!++;
  const idf = new Float32Array(counts.cols);
  for (let t = 0; t < counts.cols; t++) {
    const n = df[t]!;
    idf[t] = n >= minDf && n <= maxDf && n > 0 ? Math.log((1 + nDocs) / (1 + n)) + 1 : 0;
  }
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < nDocs; r++) {
    const start = rows.length;
    let sq = 0;
    for (let p = counts.indptr[r]!; p < counts.indptr[r + 1]!; p++) {
      const t = counts.indices[p]!;
      const tf = counts.data[p]!;
      const w = idf[t]!;
      if (!(tf > 0) || w === 0) continue;
      const v = (sublinear && tf >= 1 ? 1 + Math.log(tf) : tf) * w;
      rows.push(r);
      cols.push(t);
      vals.push(v);
      sq += v * v;
    }
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let k = start; k < vals.length; k++) vals[k]! *= inv;
  }
  return { vectors: csrFromCoo(nDocs, counts.cols, rows, cols, vals), idf };
}

/** Everything needed to vectorise new items and query similar ones. */
export interface ContentIndex {
  /** items x terms, L2-normalised TF-IDF rows (an item without known terms has an empty row). */
  readonly vectors: Csr;
  /** terms x items, the transpose (posting lists) for fast cosine against all items. */
  readonly postings: Csr;
  readonly vocabulary: ReadonlyMap<string, number>;
  readonly idf: Float32Array;
  readonly fieldWeights: FieldWeights;
  readonly sublinearTf: boolean;
}

/**
 * Builds the content index of a catalog, item i = `items[i]`. O(total tokens + nnz log nnz_row).
 */
export function buildContentIndex(items: readonly ItemAttributes[], params: ContentParams = {}): ContentIndex {
  const fieldWeights = { ...DEFAULT_WEIGHTS, ...params.fieldWeights };
  const vocabulary = new Map<string, number>();
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  items.forEach((item, i) => {
    for (const [term, count] of itemTerms(item, fieldWeights)) {
      let id = vocabulary.get(term);
      if (id === undefined) {
        id = vocabulary.size;
        vocabulary.set(term, id);
      }
      rows.push(i);
      cols.push(id);
      vals.push(count);
    }
  });
  const counts = csrFromCoo(items.length, vocabulary.size, rows, cols, vals);
  const { vectors, idf } = tfIdf(counts, params);
  return { vectors, postings: csrTranspose(vectors), vocabulary, idf, fieldWeights, sublinearTf: params.sublinearTf ?? true };
}

/**
 * The normalised TF-IDF vector of an item not in the index (e.g. just created), with the index's
 * vocabulary and idf; unknown terms are ignored. O(tokens + terms_of_item log).
 */
export function contentVector(index: ContentIndex, item: ItemAttributes): SparseVector {
  const pairs: Array<[number, number]> = [];
  let sq = 0;
  for (const [term, tf] of itemTerms(item, index.fieldWeights)) {
    const id = index.vocabulary.get(term);
    if (id === undefined) continue;
    const w = index.idf[id]!;
    if (w === 0) continue;
    const v = (index.sublinearTf && tf >= 1 ? 1 + Math.log(tf) : tf) * w;
    pairs.push([id, v]);
    sq += v * v;
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
  return { indices: Int32Array.from(pairs, (p) => p[0]), values: Float32Array.from(pairs, (p) => p[1] * inv) };
}

/** Row `item` of `vectors` as a SparseVector (views, no copy). */
export function contentRow(vectors: Csr, item: number): SparseVector {
  if (item < 0 || item >= vectors.rows) throw new RangeError(`contentRow: item ${item} outside ${vectors.rows}`);
  const s = vectors.indptr[item]!;
  const e = vectors.indptr[item + 1]!;
  return { indices: vectors.indices.subarray(s, e), values: vectors.data.subarray(s, e) };
}

/**
 * out[i] = vector · vectors[i] for every item, through the posting lists (only items sharing a
 * term are touched, the rest get 0). `out` (length items) is overwritten. O(items + Σ postings of
 * the vector's terms).
 */
export function scoreContentVector(postings: Csr, vector: SparseVector, out: Float32Array): Float32Array {
  if (out.length !== postings.cols) throw new RangeError(`scoreContentVector: out has ${out.length}, expected ${postings.cols}`);
  out.fill(0);
  const ptr = postings.indptr;
  const idx = postings.indices;
  const val = postings.data;
  for (let t = 0; t < vector.indices.length; t++) {
    const term = vector.indices[t]!;
    if (term < 0 || term >= postings.rows) continue;
    const w = vector.values[t]!;
    for (let p = ptr[term]!; p < ptr[term + 1]!; p++) out[idx[p]!]! += w * val[p]!;
  }
  return out;
}

/**
 * Items most similar in content to `vector` (cosine, as both sides are normalised), best first;
 * items with similarity 0 are not returned. `exclude` lists items to leave out (the item itself).
 */
export function similarByContent(index: ContentIndex, vector: SparseVector, n: number, exclude?: ArrayLike<number>): Ranked {
  const scores = scoreContentVector(index.postings, vector, new Float32Array(index.vectors.rows));
  for (let i = 0; i < scores.length; i++) if (!(scores[i]! > 0)) scores[i] = -Infinity;
  return topK(scores, n, exclude ? { exclude } : {});
}

/** Content neighbours of an indexed item (never the item itself). */
export function contentSimilarItems(index: ContentIndex, item: number, n: number): Ranked {
  return similarByContent(index, contentRow(index.vectors, item), n, [item]);
}

/**
 * A user's content profile: the L2-normalised weighted sum of their items' vectors (weights 1 when
 * null). O(Σ terms of the items + terms). Empty when no item has content.
 */
export function contentUserProfile(vectors: Csr, itemIds: ArrayLike<number>, weights: ArrayLike<number> | null): SparseVector {
  const acc = new Float64Array(vectors.cols);
  const seen = new Uint8Array(vectors.cols);
  const touched: number[] = [];
  for (let t = 0; t < itemIds.length; t++) {
    const i = itemIds[t]!;
    if (i < 0 || i >= vectors.rows) throw new RangeError(`contentUserProfile: item ${i} outside ${vectors.rows}`);
    const w = weights ? weights[t]! : 1;
    for (let p = vectors.indptr[i]!; p < vectors.indptr[i + 1]!; p++) {
      const term = vectors.indices[p]!;
      if (seen[term] === 0) {
        seen[term] = 1;
        touched.push(term);
      }
      acc[term]! += w * vectors.data[p]!;
    }
  }
  touched.sort((a, b) => a - b);
  let sq = 0;
  for (const term of touched) sq += acc[term]! * acc[term]!;
  const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
  return { indices: Int32Array.from(touched), values: Float32Array.from(touched, (term) => acc[term]! * inv) };
}

export interface ContentModel {
  readonly index: ContentIndex;
  /** Scores users by the cosine between their profile (from `train`) and every item. */
  scoreBatch(userIds: Int32Array, out: Float32Array): void;
  similarItems(item: number, n: number): Ranked;
}

export interface FitContentParams {
  /** Weight each train item by its interaction value instead of 1. Default false. */
  readonly weighted?: boolean;
}

/**
 * Wraps a content index as a recommender over a U x I training matrix whose items are the index's
 * rows. O(Σ profile postings + I) per user.
 */
export function fitContent(train: Csr, index: ContentIndex, params: FitContentParams = {}): ContentModel {
  const nItems = index.vectors.rows;
  if (train.cols !== nItems) throw new RangeError(`fitContent: train has ${train.cols} items, the index ${nItems}`);
  const weighted = params.weighted ?? false;
  return {
    index,
    scoreBatch: (userIds, out) => {
      if (out.length !== userIds.length * nItems)
        throw new RangeError(`scoreBatch: out has ${out.length}, expected ${userIds.length * nItems}`);
      for (let b = 0; b < userIds.length; b++) {
        const u = userIds[b]!;
        const s = train.indptr[u]!;
        const e = train.indptr[u + 1]!;
        const profile = contentUserProfile(index.vectors, train.indices.subarray(s, e), weighted ? train.data.subarray(s, e) : null);
        scoreContentVector(index.postings, profile, out.subarray(b * nItems, (b + 1) * nItems));
      }
    },
    similarItems: (item, n) => contentSimilarItems(index, item, n),
  };
}
