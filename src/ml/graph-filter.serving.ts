import { csrTranspose, type Csr } from './csr.ts';
import { fitGraphFilterSpectrum, graphFilterLowRank, graphFilterParams, type GraphFilterOptions } from './graph-filter.ts';
import { createDotScorerSteps } from './ials.ts';

/**
 * The graph filter in the form a tenant is served (`graph-filter.ts` has the model and the offline scorer).
 * The offline form keeps the linear filter P̃ = R̃ᵀR̃ as a sparse items x items matrix, which is dense where items
 * are popular: 63.6M entries (about 590 MB) at Yelp2018 size, scored by a scalar scatter. Here P̃ is never formed:
 * a user's linear term w r_u R̃ᵀ R̃ is two sparse products through R̃ itself, from the user's items to the
 * training users who share them and back to those users' items; the low-rank term (r_u · left) · right goes
 * through the SIMD dot kernel over item-major rows. The scores are the offline form's up to float rounding.
 * Memory: R̃ twice (by user and by item, 16 bytes per training pair) plus left and right (8 x items x rank bytes).
 */
export interface GraphFilterServingModel {
  readonly items: number;
  readonly rank: number;
  readonly linearWeight: number;
  /** R̃, users x items (training users), σ₁-rescaled as in the offline form. */
  readonly normalized: Csr;
  /** items x rank row-major: the user's factor is the sum of their items' rows. */
  readonly left: Float32Array;
  /** items x rank row-major: the transposed `right` of the offline form (one row per item for the dot kernel). */
  readonly rightRows: Float32Array;
}

/**
 * Fits the serving form with the options of `fitGraphFilterModel`: the same spectrum and low-rank factors, no P̃.
 * The exact sharpening term (`exactSharpen`, a research option of the offline benchmark) is not served.
 * Cost: the SVD's, without the O(sum over users of deg²) pass that forms P̃.
 */
export function fitGraphFilterServing(train: Csr, options: GraphFilterOptions = {}): GraphFilterServingModel {
  if (graphFilterParams(options).exactSharpen !== 0) throw new RangeError('fitGraphFilterServing: exact sharpening is not served');
  return graphFilterServingFromSpectrum(fitGraphFilterSpectrum(train, options), options);
}

/** The serving form from a spectrum fitted with the same exponents, rank and SVD settings. O(items x rank). */
export function graphFilterServingFromSpectrum(
  spectrum: ReturnType<typeof fitGraphFilterSpectrum>,
  options: GraphFilterOptions = {},
): GraphFilterServingModel {
  const p = graphFilterParams(options);
  if (p.exactSharpen !== 0) throw new RangeError('graphFilterServingFromSpectrum: exact sharpening is not served');
  const { normalized, itemDegree, svd } = spectrum;
  const t = performance.now();
  const lowRank = graphFilterLowRank(svd, itemDegree, p, normalized);
  const n = normalized.cols;
  const k = lowRank.rank;
  const rightRows = new Float32Array(n * k);
  for (let j = 0; j < k; j++) {
    const row = j * n;
    for (let i = 0; i < n; i++) rightRows[i * k + j] = lowRank.right[row + i]!;
  }
  options.onPhase?.('low-rank factors', performance.now() - t);
  return { items: n, rank: k, linearWeight: p.linearWeight, normalized, left: lowRank.left, rightRows };
}

export interface GraphFilterServingScorer {
  /**
   * Scores of every item for a user who touched `itemIds` (an item counts once per listed id when its weight is
   * positive, as the offline form's binary rows do). O(rank x items) SIMD plus the sparse walk over the users
   * who share the user's items and their items.
   */
  scoreUser(itemIds: Int32Array, weights: Float32Array, out: Float32Array): Float32Array;
  /** The filter's row for one item (the user who touched only `item`). */
  scoreItem(item: number, out: Float32Array): Float32Array;
  /** w P̃[a, b]: the linear filter's affinity of two items, a sparse dot of their columns of R̃. */
  pair(a: number, b: number): number;
  /** Bytes held: the model's arrays, R̃ by item, the dot kernel's packed rows and the per-request buffers. */
  readonly bytes: number;
}

export function createGraphFilterServingScorer(model: GraphFilterServingModel): GraphFilterServingScorer {
  const steps = createGraphFilterServingScorerSteps(model);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * `createGraphFilterServingScorer` in steps: yields after R̃'s transpose and after every `chunk` items of the dot
 * kernel's packing, so a server loading a Yelp2018-size model can give the event loop turns between them.
 */
export function* createGraphFilterServingScorerSteps(
  model: GraphFilterServingModel,
  chunk = 4096,
): Generator<void, GraphFilterServingScorer, void> {
  const { items: n, rank: k, linearWeight, normalized: byUser, left } = model;
  if (byUser.cols !== n || left.length !== n * k || model.rightRows.length !== n * k)
    throw new RangeError('graph filter serving model: arrays do not match items x rank');
  const byItem = csrTranspose(byUser); // items x users, users ascending within an item
  yield;
  const dot = yield* createDotScorerSteps(model.rightRows, k, chunk);
  const z = new Float32Array(k);
  const hop = new Float64Array(byUser.rows);
  const touched = new Int32Array(byUser.rows);
  const seen = new Uint8Array(byUser.rows);
  const first = Int32Array.of(0);
  const ones = Float32Array.of(1);

  const scoreUser = (itemIds: Int32Array, weights: Float32Array, out: Float32Array): Float32Array => {
    if (out.length !== n) throw new RangeError(`graph filter scoreUser: out has ${out.length}, expected ${n}`);
    z.fill(0);
    let touchedCount = 0;
    for (let t = 0; t < itemIds.length; t++) {
      if (!(weights[t]! > 0)) continue;
      const i = itemIds[t]!;
      const lo = i * k;
      for (let j = 0; j < k; j++) z[j]! += left[lo + j]!;
      for (let p = byItem.indptr[i]!; p < byItem.indptr[i + 1]!; p++) {
        const v = byItem.indices[p]!;
        if (seen[v] === 0) {
          seen[v] = 1;
          hop[v] = 0;
          touched[touchedCount++] = v;
        }
        hop[v]! += byItem.data[p]!;
      }
    }
    dot(z, first, out);
    for (let t = 0; t < touchedCount; t++) {
      const v = touched[t]!;
      seen[v] = 0;
      const s = linearWeight * hop[v]!;
      for (let q = byUser.indptr[v]!; q < byUser.indptr[v + 1]!; q++) out[byUser.indices[q]!]! += s * byUser.data[q]!;
    }
    return out;
  };

  const csrBytes = (m: Csr) => m.indptr.byteLength + m.indices.byteLength + m.data.byteLength;
  return {
    bytes:
      csrBytes(byUser) +
      csrBytes(byItem) +
      left.byteLength +
      model.rightRows.byteLength +
      dot.bytes +
      hop.byteLength +
      touched.byteLength +
      seen.byteLength,
    scoreUser,
    scoreItem: (item, out) => scoreUser(Int32Array.of(item), ones, out),
    pair: (a, b) => {
      let p = byItem.indptr[a]!;
      let q = byItem.indptr[b]!;
      const pe = byItem.indptr[a + 1]!;
      const qe = byItem.indptr[b + 1]!;
      let s = 0;
      while (p < pe && q < qe) {
        const u = byItem.indices[p]!;
        const v = byItem.indices[q]!;
        if (u === v) s += byItem.data[p++]! * byItem.data[q++]!;
        else if (u < v) p++;
        else q++;
      }
      return linearWeight * s;
    },
  };
}
