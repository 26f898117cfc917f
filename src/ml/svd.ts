import type { Csr } from './csr.ts';
import { fillNormal, rngMulberry32 } from './random.ts';
import { createSimdKernels, packPanels8 } from './simd.ts';

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
  /** Called between power iterations; may throw to abandon the decomposition (a search's deadline). */
  readonly checkpoint?: () => void;
}

/**
 * Randomized truncated SVD of a sparse matrix (Halko, Martinsson and Tropp 2011, subspace iteration
 * with a Rayleigh-Ritz step). With l = k + oversample (rounded up to a multiple of 4) and q power
 * iterations: Y = (A Aᵀ)^q A Ω and Z = Aᵀ Y, computed in float32 with the SIMD sparse kernels; the
 * Ritz values come from the l x l pencil (ZᵀZ, YᵀY) in float64.
 * Accuracy of the i-th triplet improves like (σ_{l+1} / σ_i)^(2q+1). Each power iteration
 * re-orthonormalizes Y (whitening by the eigen-decomposition of YᵀY, rank-deficient directions
 * dropped): without it the float32 columns all drift towards the top singular vector once
 * (σ_1 / σ_l)^(2q+1) nears 1e4, and the smaller triplets are lost.
 * Cost: O((2q + 2) nnz l + (q + 1) (m l² + l³) + n l² + n l k). Memory: O(nnz + (m + n) l).
 */
export function svdTruncatedSparse(a: Csr, k: number, options: SvdOptions): TruncatedSvd {
  const m = a.rows;
  const n = a.cols;
  const maxRank = Math.min(m, n);
  if (!(k >= 1 && k <= maxRank)) throw new RangeError(`svdTruncatedSparse: k = ${k} outside [1, ${maxRank}]`);
  // l is a multiple of 4 for the SIMD kernels; the extra columns are just more oversampling
  const l = Math.ceil(Math.min(maxRank, k + (options.oversample ?? 32)) / 4) * 4;
  const q = options.powerIterations ?? 4;
  const nnz = a.indices.length;
  const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;
  const ipPtr = 0;
  const ixPtr = align((m + 1) * 4);
  const daPtr = align(ixPtr + nnz * 4);
  const xPtr = align(daPtr + nnz * 4); // n x l
  const yPtr = align(xPtr + n * l * 4); // m x l
  const kern = createSimdKernels(align(yPtr + m * l * 4));
  const i32 = new Int32Array(kern.memory.buffer);
  const f32 = new Float32Array(kern.memory.buffer);
  i32.set(a.indptr, ipPtr / 4);
  i32.set(a.indices, ixPtr / 4);
  f32.set(a.data, daPtr / 4);
  const x = f32.subarray(xPtr / 4, xPtr / 4 + n * l);
  const y = f32.subarray(yPtr / 4, yPtr / 4 + m * l);
  fillNormal(x, rngMulberry32(options.seed));
  const multiply = (): void => {
    y.fill(0);
    kern.spmmRows(ipPtr, ixPtr, daPtr, m, xPtr, yPtr, l); // Y = A X
    orthonormalizeColumns(y, m, l);
  };
  const multiplyT = (): void => {
    x.fill(0);
    kern.spmmRowsScatter(ipPtr, ixPtr, daPtr, m, yPtr, xPtr, l); // X = Aᵀ Y
  };
  multiply();
  for (let it = 0; it < q; it++) {
    options.checkpoint?.();
    multiplyT();
    normalizeColumns(x, n, l);
    multiply();
  }
  options.checkpoint?.();
  multiplyT(); // Z = Aᵀ Y, in x
  // Y = Q Ry with Q orthonormal; Qᵀ A Aᵀ Q = Cᵀ (ZᵀZ) C where C whitens YᵀY.
  const ey = symmetricEigen(gramDense(y, m, l), l);
  const tol = Math.max(ey.values[0]!, 0) * 1e-12;
  let r = 0;
  while (r < l && ey.values[r]! > tol) r++;
  const c = new Float64Array(l * r); // l x r
  for (let i = 0; i < l; i++) {
    for (let j = 0; j < r; j++) c[i * r + j] = ey.vectors[i * l + j]! / Math.sqrt(ey.values[j]!);
  }
  const h = denseMatMul(transposeDense(c, l, r), denseMatMul(gramDense(x, n, l), c, l, l, r), r, l, r);
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
  const v = denseMatMulF32Simd(x, n, l, denseMatMul(c, w, l, r, k), k); // Aᵀ Q W / s
  let u: Float64Array | undefined;
  if (options.computeU) {
    const wu = new Float64Array(r * k);
    for (let i = 0; i < r; i++) for (let j = 0; j < kk; j++) wu[i * k + j] = eh.vectors[i * r + j]!;
    u = denseMatMulF32Simd(y, m, l, denseMatMul(c, wu, l, r, k), k); // Q W
  }
  return { k, rows: m, cols: n, s, u, v };
}

/**
 * (rows x inner, float32) times (inner x cols, float64 rounded to float32) with the SIMD panel
 * GEMM; inner must be a multiple of 4. Returns rows x cols in float64. O(rows x inner x cols).
 */
function denseMatMulF32Simd(a: Float32Array, rows: number, inner: number, b: Float64Array, cols: number): Float64Array {
  const quads = Math.ceil(rows / 4);
  const chunks = Math.ceil(cols / 8);
  const ldc = chunks * 8;
  const panelFloats = chunks * inner * 8;
  const aFloats = quads * inner * 4;
  const kern = createSimdKernels((panelFloats + aFloats + quads * 4 * ldc) * 4);
  const mem = new Float32Array(kern.memory.buffer);
  packPanels8(b, inner, cols, 0, chunks, mem, 0);
  for (let r = 0; r < rows; r++) {
    const base = panelFloats + (r >> 2) * inner * 4 + (r & 3);
    const o = r * inner;
    for (let p = 0; p < inner; p++) mem[base + p * 4] = a[o + p]!;
  }
  const cOff = panelFloats + aFloats;
  kern.gemmPanel4x8(panelFloats * 4, 0, cOff * 4, inner, chunks, ldc * 4, quads);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) out[r * cols + j] = mem[cOff + r * ldc + j]!;
  return out;
}

/** Transpose of a rows x cols row-major matrix. */
function transposeDense(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

function normalizeColumns(x: Float32Array | Float64Array, rows: number, cols: number): void {
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
 * Replaces the columns of row-major X (rows x cols, float32) by an orthonormal basis of their span:
 * X ← X W with W = Q Λ^-1/2 from XᵀX = Q Λ Qᵀ, columns of negligible Λ set to zero.
 * O(rows x cols² + cols³).
 */
function orthonormalizeColumns(x: Float32Array, rows: number, cols: number): void {
  const e = symmetricEigen(gramDense(x, rows, cols), cols);
  const tol = Math.max(e.values[0]!, 0) * 1e-10;
  const w = new Float64Array(cols * cols);
  for (let j = 0; j < cols; j++) {
    const lambda = e.values[j]!;
    if (!(lambda > tol)) continue;
    const inv = 1 / Math.sqrt(lambda);
    for (let i = 0; i < cols; i++) w[i * cols + j] = e.vectors[i * cols + j]! * inv;
  }
  x.set(denseMatMulF32Simd(x, rows, cols, w, cols));
}

/**
 * XᵀX for row-major X (rows x cols), as a full symmetric cols x cols row-major matrix.
 * Four rows per pass so each accumulator load serves four products. O(rows x cols²/2).
 */
export function gramDense(x: Float32Array | Float64Array, rows: number, cols: number): Float64Array {
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
 * Eigen-decomposition of a symmetric n x n row-major matrix: Householder reduction to tridiagonal
 * form, then the implicit QL algorithm (EISPACK tred2/tql2, as in JAMA). Returns eigenvalues
 * descending and the matching unit eigenvectors as the COLUMNS of a row-major n x n matrix.
 * The input is not modified. O(n³).
 */
export function symmetricEigen(sym: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (sym.length < n * n) throw new RangeError('symmetricEigen: matrix shorter than n x n');
  const v = sym.slice(0, n * n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n > 0) {
    tridiagonalize(v, d, e, n);
    tridiagonalQl(v, d, e, n);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const src = order[j]!;
    values[j] = d[src]!;
    for (let i = 0; i < n; i++) vectors[i * n + j] = v[i * n + src]!;
  }
  return { values, vectors };
}

/** Householder tridiagonalization (tred2): on exit v holds the orthogonal transform, d the
 * diagonal and e the sub-diagonal (e[0] = 0). */
function tridiagonalize(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j]!;
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        v[j * n + i] = f;
        g = e[j]! + v[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j]! * d[k]!;
          e[k] = e[k]! + v[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) v[k * n + j] = v[k * n + j]! - (f * e[k]! + g * d[k]!);
        d[j] = v[(i - 1) * n + j]!;
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i]!;
    v[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1]! * v[k * n + j]!;
        for (let k = 0; k <= i; k++) v[k * n + j] = v[k * n + j]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j]!;
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal (d, e) (tql2), accumulating into v. */
function tridiagonalQl(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('symmetricEigen: QL did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            const o = k * n;
            h = v[o + i + 1]!;
            v[o + i + 1] = s * v[o + i]! + c * h;
            v[o + i] = c * v[o + i]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
