import { csrRowColSums, csrScale, csrTranspose, type Csr } from './csr.ts';
import { svdTruncatedSparse, type TruncatedSvd } from './svd.ts';

/**
 * Training-free graph filters for top-k recommendation (GF-CF, Shen et al. CIKM 2021; BSPM,
 * Choi et al. SIGIR 2023; Turbo-CF, Park et al. SIGIR 2024). With R the binary users x items
 * matrix, D_U and D_I its degree matrices and the normalized R̃ = D_U^-a R D_I^-b, a user's scores
 * are the graph signal r_u (its row of R) passed through an item-item filter:
 *
 *   s_u = w_lin · r_u P̃  +  alpha · r_u D_I^-e V_k V_kᵀ D_I^e  −  T · r_u V_k' diag(σ⁴) V_k'ᵀ
 *
 * where P̃ = R̃ᵀR̃ is the normalized item-item co-occurrence (a linear low-pass filter, kept exact
 * and sparse) and V, σ are the top right singular vectors and values of R̃ (P̃ = V diag(σ²) Vᵀ).
 * The first two terms are GF-CF's "linear + ideal low-pass" filter (e = 1/2). The third is
 * BSPM's sharpening step r ← r − T r P̃ applied to the linear term, with P̃² = V diag(σ⁴) Vᵀ
 * truncated to its k' strongest directions (σ⁴ decays fast, so a few hundred carry nearly all of
 * it); it pushes back the most popular directions that the low-pass terms over-smooth.
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
  /** Randomized SVD settings. */
  readonly oversample?: number;
  readonly powerIterations?: number;
  readonly seed?: number;
  /** Receives phase timings (e.g. for a benchmark's log); never called on the hot path. */
  readonly onPhase?: (phase: string, milliseconds: number) => void;
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
    oversample: o.oversample ?? 32,
    powerIterations: o.powerIterations ?? 4,
    seed: o.seed ?? 1,
  };
}

/**
 * The fitted filter as flat arrays (all shareable between threads):
 * - `linear`: items x items sparse, w_lin P̃ (symmetric, rows ascending);
 * - `left`: items x rank row-major, [alpha D_I^-e V_k | −T V_k' diag(σ⁴)];
 * - `right`: rank x items row-major, [V_kᵀ D_I^e ; V_k'ᵀ], with rank = k (+ k' when sharpening).
 * Scores of user u: r_u · linear + (r_u · left) · right.
 */
export interface GraphFilterModel {
  readonly items: number;
  readonly rank: number;
  readonly linear: Csr;
  readonly left: Float32Array;
  readonly right: Float32Array;
  readonly singularValues: Float64Array;
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
 * Builds the low-rank factors from a truncated SVD of R̃ (right vectors V, values σ): the ideal
 * low-pass block (alpha D_I^-e V_k, V_kᵀ D_I^e) and, when sharpen ≠ 0, the sharpening block
 * (−T V_k' diag(σ⁴), V_k'ᵀ), side by side. Returns left (items x rank), right (rank x items).
 * O(items x rank).
 */
export function graphFilterLowRank(
  svd: TruncatedSvd,
  itemDegree: Float64Array,
  p: Pick<GraphFilterParams, 'idealExponent' | 'idealWeight' | 'sharpen' | 'sharpenRank'>,
): { left: Float32Array; right: Float32Array; rank: number } {
  const n = svd.cols;
  const k = svd.k;
  if (itemDegree.length !== n) throw new RangeError('graphFilterLowRank: itemDegree length differs from SVD columns');
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
  return { left, right, rank };
}

/**
 * Fits the filter: normalization, sparse P̃, randomized SVD of R̃, low-rank factors.
 * Cost: O(sum_u deg_u² + SVD) where the SVD is O((2q + 2) nnz l + (users + items) l²), l = k + oversample.
 */
export function fitGraphFilterModel(train: Csr, options: GraphFilterOptions = {}): GraphFilterModel {
  const p = graphFilterParams(options);
  const phase = options.onPhase;
  let t = performance.now();
  const mark = (name: string): void => {
    const now = performance.now();
    phase?.(name, now - t);
    t = now;
  };
  const { normalized, itemDegree } = normalizeBipartite(train, p.userExponent, p.itemExponent);
  const linear = csrGramSparse(normalized, p.linearWeight);
  mark('linear filter');
  const rank = Math.min(p.rank, train.rows, train.cols);
  const svd = svdTruncatedSparse(normalized, rank, {
    oversample: p.oversample,
    powerIterations: p.powerIterations,
    seed: p.seed,
  });
  mark('svd');
  const lowRank = graphFilterLowRank(svd, itemDegree, p);
  return { items: train.cols, rank: lowRank.rank, linear, left: lowRank.left, right: lowRank.right, singularValues: svd.s };
}

/**
 * Reference scorer (single thread, scalar): out[b, :] = r_u · linear + (r_u · left) · right for
 * u = userIds[b], with r_u the row of `users` (users x items). O(B x (nnz_u x (nnz_P row + k) + k x items)).
 */
export function scoreGraphFilter(model: GraphFilterModel, users: Csr, userIds: Int32Array, out: Float32Array): void {
  const n = model.items;
  const k = model.rank;
  if (out.length < userIds.length * n) throw new RangeError('scoreGraphFilter: out shorter than users x items');
  const z = new Float64Array(k);
  const { linear, left, right } = model;
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
    for (let j = 0; j < k; j++) {
      const zj = z[j]!;
      if (zj === 0) continue;
      const ro = j * n;
      for (let i = 0; i < n; i++) out[o + i]! += zj * right[ro + i]!;
    }
  }
}
