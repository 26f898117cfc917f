import { csrRowColSums, csrScale, csrTranspose, type Csr } from './csr.ts';
import { createSimdKernels } from './simd.ts';
import { svdTruncatedSparse, type TruncatedSvd } from './svd.ts';

/**
 * Training-free graph filters for top-k recommendation (GF-CF, Shen et al. CIKM 2021; BSPM,
 * Choi et al. SIGIR 2023; Turbo-CF, Park et al. SIGIR 2024). With R the binary users x items
 * matrix, D_U and D_I its degree matrices and the normalized R̃ = D_U^-a R D_I^-b / σ₁ (scaled so
 * its top singular value is 1, whatever the exponents), a user's scores are the graph signal r_u
 * (its row of R) passed through an item-item filter:
 *
 *   s_u = l_u  +  alpha · r_u D_I^-e V_k V_kᵀ D_I^e (I − T_i P̃)  −  T_x · l_u P̃  −  T · r_u V_k' diag(σ⁴) V_k'ᵀ
 *
 * where l_u = w_lin · r_u P̃, P̃ = R̃ᵀR̃ is the normalized item-item co-occurrence (a linear low-pass
 * filter, kept exact and sparse) and V, σ are the top right singular vectors and values of R̃
 * (P̃ = V diag(σ²) Vᵀ). The first two terms with T_i = 0 are GF-CF's "linear + ideal low-pass"
 * filter (e = 1/2). BSPM follows that blurring with a sharpening step y ← y − T y P̃: on the ideal
 * branch it folds into the low-rank factors (T_i); on the linear branch it is applied exactly at
 * scoring time as ((l_u R̃ᵀ) R̃) (T_x), two sparse products with R̃ instead of the dense P̃². The last
 * term is a cheaper stand-in for that exact step, P̃² truncated to its k' strongest directions.
 * Everything here is pure; `graph-filter.scorer.ts` runs the scoring in worker threads.
 */

export interface GraphFilterOptions {
  /** Singular vectors kept (k). Default 256. */
  readonly rank?: number;
  /** Exponent a of D_U in R̃. Default 0.5. */
  readonly userExponent?: number;
  /** Exponent b of D_I in R̃. Default 0.5. */
  readonly itemExponent?: number;
  /** Weight of the exact linear filter r_u P̃. Default 1. */
  readonly linearWeight?: number;
  /** Exponent e of the degree rescaling around the low-rank term. Default 0.5 (GF-CF). */
  readonly idealExponent?: number;
  /** Ideal low-pass weight alpha. Default 0.3. */
  readonly idealWeight?: number;
  /** Sharpening strength T (0 turns the term off). Default 0. */
  readonly sharpen?: number;
  /** Directions k' kept in the σ⁴ sharpening term (at most rank). Default rank. */
  readonly sharpenRank?: number;
  /** Sharpening T_i of the ideal low-pass term, folded into its factors (0 turns it off). Default 0. */
  readonly idealSharpen?: number;
  /** Exact sharpening T_x of the linear term, applied at scoring time (0 turns it off). Default 0. */
  readonly exactSharpen?: number;
  /** Randomized SVD settings. */
  readonly oversample?: number;
  readonly powerIterations?: number;
  readonly seed?: number;
  /** Receives phase timings (e.g. for a benchmark's log); never called on the hot path. */
  readonly onPhase?: (phase: string, milliseconds: number) => void;
  /** Called between the costly steps of a fit (SVD iterations, the linear filter); may throw to abandon it. */
  readonly checkpoint?: () => void;
}

export interface GraphFilterParams {
  readonly rank: number;
  readonly userExponent: number;
  readonly itemExponent: number;
  readonly linearWeight: number;
  readonly idealExponent: number;
  readonly idealWeight: number;
  readonly sharpen: number;
  readonly sharpenRank: number;
  readonly idealSharpen: number;
  readonly exactSharpen: number;
  readonly oversample: number;
  readonly powerIterations: number;
  readonly seed: number;
}

export function graphFilterParams(o: GraphFilterOptions = {}): GraphFilterParams {
  return {
    rank: o.rank ?? 256,
    userExponent: o.userExponent ?? 0.5,
    itemExponent: o.itemExponent ?? 0.5,
    linearWeight: o.linearWeight ?? 1,
    idealExponent: o.idealExponent ?? 0.5,
    idealWeight: o.idealWeight ?? 0.3,
    sharpen: o.sharpen ?? 0,
    sharpenRank: Math.min(o.sharpenRank ?? o.rank ?? 256, o.rank ?? 256),
    idealSharpen: o.idealSharpen ?? 0,
    exactSharpen: o.exactSharpen ?? 0,
    oversample: o.oversample ?? 32,
    powerIterations: o.powerIterations ?? 4,
    seed: o.seed ?? 1,
  };
}

/**
 * The fitted filter as flat arrays (all shareable between threads):
 * - `linear`: items x items sparse, w_lin P̃ (symmetric, rows ascending);
 * - `left`: items x rank row-major, [alpha D_I^-e V_k | −T V_k' diag(σ⁴)];
 * - `right`: rank x items row-major, [V_kᵀ D_I^e (I − T_i P̃) ; V_k'ᵀ], with rank = k (+ k' when sharpening);
 * - `exact` (when T_x ≠ 0): T_x and R̃ (users x items).
 * Scores of user u: l_u + (r_u · left) · right − T_x (l_u R̃ᵀ) R̃, with l_u = r_u · linear.
 */
export interface GraphFilterModel {
  readonly items: number;
  readonly rank: number;
  readonly linear: Csr;
  readonly left: Float32Array;
  readonly right: Float32Array;
  readonly singularValues: Float64Array;
  readonly exact?: { readonly weight: number; readonly normalized: Csr };
}

/** d^-exp with 0 for empty rows or columns. */
function degreePower(deg: Float64Array, exp: number): Float64Array {
  const out = new Float64Array(deg.length);
  for (let i = 0; i < deg.length; i++) out[i] = deg[i]! > 0 ? Math.pow(deg[i]!, exp) : 0;
  return out;
}

/**
 * R̃ = D_U^-a R D_I^-b for a users x items matrix (degrees are row/column sums of r). O(nnz).
 */
export function normalizeBipartite(
  r: Csr,
  userExponent: number,
  itemExponent: number,
): { normalized: Csr; userDegree: Float64Array; itemDegree: Float64Array } {
  const { rowSums, colSums } = csrRowColSums(r);
  const normalized = csrScale(r, degreePower(rowSums, -userExponent), degreePower(colSums, -itemExponent));
  return { normalized, userDegree: rowSums, itemDegree: colSums };
}

/**
 * Sparse item-item Gram matrix G = scale · Mᵀ M for an m x n CSR matrix M, as an n x n CSR with
 * ascending rows. Two passes over the co-occurrences (count, then fill), each
 * O(sum over rows of nnz_row²) with an O(n) dense accumulator.
 */
export function csrGramSparse(m: Csr, scale = 1): Csr {
  const n = m.cols;
  const mt = csrTranspose(m); // n x m: the rows (users) of each item
  const acc = new Float64Array(n);
  const seen = new Int32Array(n).fill(-1);
  const touched = new Int32Array(n);
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let p = mt.indptr[i]!; p < mt.indptr[i + 1]!; p++) {
      const u = mt.indices[p]!;
      for (let q = m.indptr[u]!; q < m.indptr[u + 1]!; q++) {
        const j = m.indices[q]!;
        if (seen[j] !== i) {
          seen[j] = i;
          count++;
        }
      }
    }
    indptr[i + 1] = indptr[i]! + count;
  }
  const nnz = indptr[n]!;
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  seen.fill(-1);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let p = mt.indptr[i]!; p < mt.indptr[i + 1]!; p++) {
      const u = mt.indices[p]!;
      const vi = mt.data[p]!;
      for (let q = m.indptr[u]!; q < m.indptr[u + 1]!; q++) {
        const j = m.indices[q]!;
        if (seen[j] !== i) {
          seen[j] = i;
          acc[j] = 0;
          touched[count++] = j;
        }
        acc[j]! += vi * m.data[q]!;
      }
    }
    const base = indptr[i]!;
    for (let t = 0; t < count; t++) {
      const j = touched[t]!;
      indices[base + t] = j;
      data[base + t] = acc[j]! * scale;
    }
  }
  // rows are unsorted; G is symmetric, so its transpose (which comes out sorted) is G itself
  return csrTranspose({ rows: n, cols: n, indptr, indices, data });
}

/**
 * P̃ X = R̃ᵀ (R̃ X) for a dense items x width X (row-major), with the SIMD sparse kernels. R̃ is
 * copied into the kernel memory once; fill `input`, call `apply`, read `output` (views on that
 * memory; `input` is left unchanged). width must be a multiple of 4.
 * Each apply: O(2 nnz(R̃) width). Memory: 8 nnz(R̃) + 4 width (2 items + users) bytes.
 */
export interface GramProduct {
  readonly width: number;
  readonly input: Float32Array;
  readonly output: Float32Array;
  apply(): void;
}

export function createGramProduct(normalized: Csr, width: number): GramProduct {
  if (!(width >= 4 && width % 4 === 0)) throw new RangeError('createGramProduct: width must be a positive multiple of 4');
  const m = normalized.rows;
  const n = normalized.cols;
  const nnz = normalized.indices.length;
  const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;
  const ipPtr = 0;
  const ixPtr = align((m + 1) * 4);
  const daPtr = align(ixPtr + nnz * 4);
  const inPtr = align(daPtr + nnz * 4); // n x width
  const hopPtr = align(inPtr + n * width * 4); // m x width
  const outPtr = align(hopPtr + m * width * 4); // n x width
  const kern = createSimdKernels(outPtr + n * width * 4);
  new Int32Array(kern.memory.buffer, ipPtr, m + 1).set(normalized.indptr);
  new Int32Array(kern.memory.buffer, ixPtr, nnz).set(normalized.indices);
  new Float32Array(kern.memory.buffer, daPtr, nnz).set(normalized.data);
  const hop = new Float32Array(kern.memory.buffer, hopPtr, m * width);
  const output = new Float32Array(kern.memory.buffer, outPtr, n * width);
  return {
    width,
    input: new Float32Array(kern.memory.buffer, inPtr, n * width),
    output,
    apply: () => {
      hop.fill(0);
      kern.spmmRows(ipPtr, ixPtr, daPtr, m, inPtr, hopPtr, width); // R̃ X
      output.fill(0);
      kern.spmmRowsScatter(ipPtr, ixPtr, daPtr, m, hopPtr, outPtr, width); // R̃ᵀ (R̃ X)
    },
  };
}

/**
 * Builds the low-rank factors from a truncated SVD of R̃ (right vectors V, values σ): the ideal
 * low-pass block (alpha D_I^-e V_k, V_kᵀ D_I^e (I − T_i P̃)) and, when sharpen ≠ 0, the sharpening
 * block (−T V_k' diag(σ⁴), V_k'ᵀ), side by side. `normalized` is R̃, used only when T_i ≠ 0.
 * Returns left (items x rank), right (rank x items).
 * O(items x rank), plus O(nnz(R̃) x k) when T_i ≠ 0.
 */
export function graphFilterLowRank(
  svd: TruncatedSvd,
  itemDegree: Float64Array,
  p: Pick<GraphFilterParams, 'idealExponent' | 'idealWeight' | 'sharpen' | 'sharpenRank' | 'idealSharpen'>,
  normalized: Csr,
): { left: Float32Array; right: Float32Array; rank: number } {
  const n = svd.cols;
  const k = svd.k;
  if (itemDegree.length !== n) throw new RangeError('graphFilterLowRank: itemDegree length differs from SVD columns');
  if (normalized.cols !== n) throw new RangeError('graphFilterLowRank: normalized has a different item count');
  const ks = p.sharpen !== 0 ? Math.min(p.sharpenRank, k) : 0;
  const rank = k + ks;
  const left = new Float32Array(n * rank);
  const right = new Float32Array(rank * n);
  for (let i = 0; i < n; i++) {
    const d = itemDegree[i]!;
    const up = d > 0 ? Math.pow(d, p.idealExponent) : 0;
    const down = d > 0 ? 1 / up : 0;
    const lo = i * rank;
    for (let j = 0; j < k; j++) {
      const v = svd.v[i * k + j]!;
      left[lo + j] = p.idealWeight * down * v;
      right[j * n + i] = up * v;
    }
    for (let j = 0; j < ks; j++) {
      const v = svd.v[i * k + j]!;
      const s2 = svd.s[j]! * svd.s[j]!;
      left[lo + k + j] = -p.sharpen * s2 * s2 * v;
      right[(k + j) * n + i] = v;
    }
  }
  if (p.idealSharpen !== 0) {
    // right[0..k) −= T_i (V_kᵀ D^e) P̃, through P̃ (V_kᵀ D^e)ᵀ since P̃ is symmetric
    const width = Math.ceil(k / 4) * 4;
    const gram = createGramProduct(normalized, width);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) gram.input[i * width + j] = right[j * n + i]!;
    gram.apply();
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++) right[j * n + i] = right[j * n + i]! - p.idealSharpen * gram.output[i * width + j]!;
  }
  return { left, right, rank };
}

/**
 * The expensive, reusable part of a fit: R̃ (σ₁-rescaled), its truncated SVD and the unweighted sparse P̃. It
 * depends only on the data, the exponents, the rank and the SVD settings; `graphFilterFromBase` builds a
 * model from it for any weights and sharpening (a search varies those without another SVD).
 */
export interface GraphFilterBase {
  readonly key: string;
  readonly normalized: Csr;
  readonly itemDegree: Float64Array;
  readonly svd: TruncatedSvd;
  /** P̃ with weight 1. */
  readonly gram: Csr;
}

/** What a base depends on besides the data: the key under which a search may reuse it. */
export function graphFilterBaseKey(options: GraphFilterOptions = {}): string {
  const p = graphFilterParams(options);
  return [p.userExponent, p.itemExponent, p.rank, p.oversample, p.powerIterations, p.seed].join('/');
}

export function fitGraphFilterBase(train: Csr, options: GraphFilterOptions = {}): GraphFilterBase {
  const { normalized, itemDegree, svd } = fitGraphFilterSpectrum(train, options);
  const t = performance.now();
  const gram = csrGramSparse(normalized, 1);
  options.onPhase?.('linear filter', performance.now() - t);
  options.checkpoint?.();
  return { key: graphFilterBaseKey(options), normalized, itemDegree, svd, gram };
}

/**
 * The data-dependent part every form of the filter shares: R̃ (rescaled to σ₁ = 1), the item degrees and the
 * truncated SVD of R̃. O((2q + 2) nnz l + (users + items) l²), l = rank + oversample.
 */
export function fitGraphFilterSpectrum(
  train: Csr,
  options: GraphFilterOptions = {},
): Pick<GraphFilterBase, 'normalized' | 'itemDegree' | 'svd'> {
  const p = graphFilterParams(options);
  const t = performance.now();
  const { normalized, itemDegree } = normalizeBipartite(train, p.userExponent, p.itemExponent);
  const rank = Math.min(p.rank, train.rows, train.cols);
  const raw = svdTruncatedSparse(normalized, rank, {
    oversample: p.oversample,
    powerIterations: p.powerIterations,
    seed: p.seed,
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
  });
  // σ₁ is 1 when a = b = 1/2; other exponents shift the whole spectrum, which would change what
  // the weights mean, so R̃ is rescaled to σ₁ = 1
  const top = raw.s[0]! > 0 ? raw.s[0]! : 1;
  const svd: TruncatedSvd = { ...raw, s: raw.s.map((x) => x / top) };
  for (let q = 0; q < normalized.data.length; q++) normalized.data[q] = normalized.data[q]! / top;
  options.onPhase?.('svd', performance.now() - t);
  options.checkpoint?.();
  return { normalized, itemDegree, svd };
}

/** The model of `options` from a base fitted with the same exponents, rank and SVD settings. O(items x rank + nnz(P̃)). */
export function graphFilterFromBase(base: GraphFilterBase, options: GraphFilterOptions = {}): GraphFilterModel {
  if (graphFilterBaseKey(options) !== base.key) throw new RangeError('graphFilterFromBase: the base was fitted with other settings');
  const p = graphFilterParams(options);
  const t = performance.now();
  const g = base.gram;
  const linear: Csr = p.linearWeight === 1 ? g : { ...g, data: Float32Array.from(g.data, (x) => x * p.linearWeight) };
  const lowRank = graphFilterLowRank(base.svd, base.itemDegree, p, base.normalized);
  options.onPhase?.('low-rank factors', performance.now() - t);
  return {
    items: base.normalized.cols,
    rank: lowRank.rank,
    linear,
    left: lowRank.left,
    right: lowRank.right,
    singularValues: base.svd.s,
    ...(p.exactSharpen !== 0 ? { exact: { weight: p.exactSharpen, normalized: base.normalized } } : {}),
  };
}

/**
 * Fits the filter: normalization, randomized SVD of R̃ (then R̃ /= σ₁), sparse P̃, low-rank factors.
 * Cost: O(sum_u deg_u² + SVD) where the SVD is O((2q + 2) nnz l + (users + items) l²), l = k + oversample.
 */
export function fitGraphFilterModel(train: Csr, options: GraphFilterOptions = {}): GraphFilterModel {
  return graphFilterFromBase(fitGraphFilterBase(train, options), options);
}

/**
 * Reference scorer (single thread, scalar): out[b, :] = l_u + (r_u · left) · right − T_x (l_u R̃ᵀ) R̃
 * with l_u = r_u · linear, for u = userIds[b], r_u the row of `users` (users x items).
 * O(B x (nnz_u x (nnz_P row + k) + k x items + 2 nnz(R̃) when exact)).
 */
export function scoreGraphFilter(model: GraphFilterModel, users: Csr, userIds: Int32Array, out: Float32Array): void {
  const n = model.items;
  const k = model.rank;
  if (out.length < userIds.length * n) throw new RangeError('scoreGraphFilter: out shorter than users x items');
  const z = new Float64Array(k);
  const { linear, left, right, exact } = model;
  const lin = new Float64Array(exact ? n : 0);
  const hop = new Float64Array(exact ? exact.normalized.rows : 0);
  for (let b = 0; b < userIds.length; b++) {
    const u = userIds[b]!;
    const o = b * n;
    out.fill(0, o, o + n);
    z.fill(0);
    for (let p = users.indptr[u]!; p < users.indptr[u + 1]!; p++) {
      const i = users.indices[p]!;
      const x = users.data[p]!;
      for (let q = linear.indptr[i]!; q < linear.indptr[i + 1]!; q++) out[o + linear.indices[q]!]! += x * linear.data[q]!;
      const lo = i * k;
      for (let j = 0; j < k; j++) z[j]! += x * left[lo + j]!;
    }
    if (exact) for (let i = 0; i < n; i++) lin[i] = out[o + i]!;
    for (let j = 0; j < k; j++) {
      const zj = z[j]!;
      if (zj === 0) continue;
      const ro = j * n;
      for (let i = 0; i < n; i++) out[o + i]! += zj * right[ro + i]!;
    }
    if (exact) {
      const { indptr, indices, data } = exact.normalized;
      for (let v = 0; v < hop.length; v++) {
        let t = 0;
        for (let p = indptr[v]!; p < indptr[v + 1]!; p++) t += data[p]! * lin[indices[p]!]!;
        hop[v] = t;
      }
      for (let v = 0; v < hop.length; v++) {
        const t = exact.weight * hop[v]!;
        if (t === 0) continue;
        for (let p = indptr[v]!; p < indptr[v + 1]!; p++) out[o + indices[p]!]! -= t * data[p]!;
      }
    }
  }
}
