import { csrMatMulDense, csrTransposeMatMulDense, type Csr } from './csr.ts';
import { fillNormal, rngMulberry32 } from './random.ts';

/** Top-k singular triplets of an m x n matrix: A ≈ U diag(s) Vᵀ. Dense factors are row-major. */
export interface TruncatedSvd {
  readonly k: number;
  readonly rows: number;
  readonly cols: number;
  /** Singular values, descending, length k. */
  readonly s: Float64Array;
  /** rows x k left singular vectors, or undefined when not requested. */
  readonly u: Float64Array | undefined;
  /** cols x k right singular vectors. */
  readonly v: Float64Array;
}

export interface SvdOptions {
  /** Extra random directions beyond k (default 32). */
  readonly oversample?: number;
  /** Subspace (power) iterations, each two sparse products (default 4). */
  readonly powerIterations?: number;
  readonly seed: number;
  /** Also return U (default false). */
  readonly computeU?: boolean;
}

/**
 * Randomized truncated SVD of a sparse matrix (Halko, Martinsson and Tropp 2011, subspace iteration
 * with a Rayleigh-Ritz step), in float64. With l = k + oversample and q power iterations:
 * Y = (A Aᵀ)^q A Ω (columns rescaled each step), Z = Aᵀ Y; the Ritz values come from the l x l
 * pencil (ZᵀZ, YᵀY), so Y is never orthogonalized explicitly (rank-deficient directions are
 * dropped). Accuracy of the i-th triplet improves like (s_{l+1} / s_i)^(2q+1).
 * Cost: O((2q + 2) nnz l + (m + n) l² + l³). Memory: O((m + n) l).
 */
export function svdTruncatedSparse(a: Csr, k: number, options: SvdOptions): TruncatedSvd {
  const m = a.rows;
  const n = a.cols;
  const maxRank = Math.min(m, n);
  if (!(k >= 1 && k <= maxRank)) throw new RangeError(`svdTruncatedSparse: k = ${k} outside [1, ${maxRank}]`);
  const l = Math.min(maxRank, k + (options.oversample ?? 32));
  const q = options.powerIterations ?? 4;
  const omega = fillNormal(new Float64Array(n * l), rngMulberry32(options.seed)) as Float64Array;
  const y: Float64Array = csrMatMulDense(a, omega, l);
  let z: Float64Array = new Float64Array(n * l);
  for (let it = 0; it < q; it++) {
    normalizeColumns(y, m, l);
    csrTransposeMatMulDense(a, y, l, z);
    normalizeColumns(z, n, l);
    csrMatMulDense(a, z, l, y);
  }
  normalizeColumns(y, m, l);
  z = csrTransposeMatMulDense(a, y, l, z);
  // Y = Q Ry with Q orthonormal; Qᵀ A Aᵀ Q = C ᵀ (ZᵀZ) C where C whitens YᵀY.
  const gy = gramDense(y, m, l);
  const ey = symmetricEigen(gy, l);
  const tol = Math.max(ey.values[0]!, 0) * 1e-12;
  let r = 0;
  while (r < l && ey.values[r]! > tol) r++;
  const c = new Float64Array(l * r); // l x r
  for (let i = 0; i < l; i++) {
    for (let j = 0; j < r; j++) c[i * r + j] = ey.vectors[i * l + j]! / Math.sqrt(ey.values[j]!);
  }
  const zc = denseMatMul(z, c, n, l, r); // n x r: Aᵀ Q
  const h = gramDense(zc, n, r); // Qᵀ A Aᵀ Q
  const eh = symmetricEigen(h, r);
  const kk = Math.min(k, r);
  const s = new Float64Array(k);
  const w = new Float64Array(r * k); // r x k, columns scaled by 1 / s
  for (let j = 0; j < kk; j++) {
    const sv = Math.sqrt(Math.max(eh.values[j]!, 0));
    s[j] = sv;
    const inv = sv > 0 ? 1 / sv : 0;
    for (let i = 0; i < r; i++) w[i * k + j] = eh.vectors[i * r + j]! * inv;
  }
  const v = denseMatMul(zc, w, n, r, k); // Aᵀ Q W / s
  let u: Float64Array | undefined;
  if (options.computeU) {
    const wu = new Float64Array(r * k);
    for (let i = 0; i < r; i++) for (let j = 0; j < kk; j++) wu[i * k + j] = eh.vectors[i * r + j]!;
    u = denseMatMul(denseMatMul(y, c, m, l, r), wu, m, r, k); // Q W
  }
  return { k, rows: m, cols: n, s, u, v };
}

function normalizeColumns(x: Float64Array, rows: number, cols: number): void {
  const norms = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) {
      const t = x[o + j]!;
      norms[j]! += t * t;
    }
  }
  for (let j = 0; j < cols; j++) norms[j] = norms[j]! > 0 ? 1 / Math.sqrt(norms[j]!) : 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) x[o + j] = x[o + j]! * norms[j]!;
  }
}

/**
 * XᵀX for row-major X (rows x cols), as a full symmetric cols x cols row-major matrix.
 * Four rows per pass so each accumulator load serves four products. O(rows x cols²/2).
 */
export function gramDense(x: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    for (let i = 0; i < cols; i++) {
      const a0 = x[o0 + i]!;
      const a1 = x[o1 + i]!;
      const a2 = x[o2 + i]!;
      const a3 = x[o3 + i]!;
      const gi = i * cols;
      for (let j = i; j < cols; j++) {
        g[gi + j]! += a0 * x[o0 + j]! + a1 * x[o1 + j]! + a2 * x[o2 + j]! + a3 * x[o3 + j]!;
      }
    }
  }
  for (; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const a = x[o + i]!;
      const gi = i * cols;
      for (let j = i; j < cols; j++) g[gi + j]! += a * x[o + j]!;
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i]!;
  return g;
}

/** Row-major (rows x inner) times (inner x cols). O(rows x inner x cols). */
export function denseMatMul(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  if (a.length < rows * inner || b.length < inner * cols) throw new RangeError('denseMatMul: shapes differ from lengths');
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const ao = r * inner;
    const oo = r * cols;
    for (let p = 0; p < inner; p++) {
      const t = a[ao + p]!;
      if (t === 0) continue;
      const bo = p * cols;
      for (let j = 0; j < cols; j++) out[oo + j]! += t * b[bo + j]!;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric n x n row-major matrix by cyclic Jacobi rotations.
 * Returns eigenvalues descending and the matching unit eigenvectors as the COLUMNS of a row-major
 * n x n matrix. The input is not modified. O(n³) per sweep, typically 6 to 10 sweeps.
 */
export function symmetricEigen(sym: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (sym.length < n * n) throw new RangeError('symmetricEigen: matrix shorter than n x n');
  const a = sym.slice(0, n * n);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! * a[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! * a[i * n + j]!;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        if (Math.abs(apq) < 1e-300 || Math.abs(apq) <= 1e-17 * Math.sqrt(Math.abs(app * aqq))) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // rotate rows/columns p and q of a (symmetric: update both)
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y]! - a[x * n + x]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const src = order[j]!;
    values[j] = a[src * n + src]!;
    for (let i = 0; i < n; i++) vectors[i * n + j] = v[i * n + src]!;
  }
  return { values, vectors };
}
