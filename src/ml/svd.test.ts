import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, type Csr } from './csr.ts';
import { denseMatMul, gramDense, svdTruncatedSparse, symmetricEigen } from './svd.ts';
import { fillNormal, rngMulberry32 } from './random.ts';

function denseToCsr(a: Float64Array, rows: number, cols: number): Csr {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (a[i * cols + j] !== 0) {
        r.push(i);
        c.push(j);
        v.push(a[i * cols + j]!);
      }
  return csrFromCoo(rows, cols, r, c, v);
}

describe('symmetricEigen', () => {
  it('diagonalizes random symmetric matrices: A V = V diag(λ), V orthonormal, λ descending', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer(), (n, seed) => {
        const x = fillNormal(new Float64Array(n * n), rngMulberry32(seed)) as Float64Array;
        const a = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = x[i * n + j]! + x[j * n + i]!;
        const { values, vectors } = symmetricEigen(a, n);
        for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]! + 1e-12);
        const av = denseMatMul(a, vectors, n, n, n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(av[i * n + j]!).toBeCloseTo(vectors[i * n + j]! * values[j]!, 8);
        const vtv = gramDense(vectors, n, n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(vtv[i * n + j]!).toBeCloseTo(i === j ? 1 : 0, 10);
      }),
      { numRuns: 30 },
    );
  });
});

describe('svdTruncatedSparse', () => {
  it('recovers an exactly low-rank sparse matrix: U diag(s) Vᵀ reconstructs it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer(), (rank, seed) => {
        const rng = rngMulberry32(seed);
        const rows = 30;
        const cols = 22;
        // low rank with sparsity: B (rows x rank, half zeros) times C (rank x cols)
        const b = fillNormal(new Float64Array(rows * rank), rng) as Float64Array;
        for (let i = 0; i < b.length; i++) if (rng() < 0.5) b[i] = 0;
        const c = fillNormal(new Float64Array(rank * cols), rng) as Float64Array;
        const a = denseMatMul(b, c, rows, rank, cols);
        const svd = svdTruncatedSparse(denseToCsr(a, rows, cols), rank, { seed: 7, computeU: true, oversample: 5, powerIterations: 2 });
        const u = svd.u!;
        let err = 0;
        let norm = 0;
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) {
            let s = 0;
            for (let t = 0; t < rank; t++) s += u[i * rank + t]! * svd.s[t]! * svd.v[j * rank + t]!;
            err += (s - a[i * cols + j]!) ** 2;
            norm += a[i * cols + j]! ** 2;
          }
        expect(Math.sqrt(err / Math.max(norm, 1e-300))).toBeLessThan(1e-4); // float32 power iterations
      }),
      { numRuns: 25 },
    );
  });

  it('matches the dense eigen-decomposition of AᵀA on a random sparse matrix (top singular values, vectors up to sign)', () => {
    const rng = rngMulberry32(11);
    const rows = 60;
    const cols = 40;
    const a = new Float64Array(rows * cols);
    for (let i = 0; i < a.length; i++) if (rng() < 0.15) a[i] = Math.fround(1 + rng()); // CSR stores float32
    const k = 5;
    const svd = svdTruncatedSparse(denseToCsr(a, rows, cols), k, { seed: 3, oversample: 15, powerIterations: 4 });
    const at = new Float64Array(cols * rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) at[j * rows + i] = a[i * cols + j]!;
    const ata = denseMatMul(at, a, cols, rows, cols);
    const ref = symmetricEigen(ata, cols);
    for (let t = 0; t < k; t++) {
      expect(svd.s[t]!).toBeCloseTo(Math.sqrt(ref.values[t]!), 3);
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += svd.v[j * k + t]! * ref.vectors[j * cols + t]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 3);
    }
  });

  it('stays accurate with many power iterations on a wide spectrum (float32 columns re-orthonormalized)', () => {
    // A = U diag(σ) Vᵀ with σ_i = 0.85^i: (σ_1 / σ_l)^(2q+1) is about 1e30 for q = 12
    const rows = 50;
    const cols = 36;
    const rng = rngMulberry32(5);
    const orthonormal = (n: number, r: number): Float64Array => {
      const x = fillNormal(new Float64Array(n * r), rng) as Float64Array;
      const e = symmetricEigen(gramDense(x, n, r), r);
      const w = new Float64Array(r * r);
      for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) w[i * r + j] = e.vectors[i * r + j]! / Math.sqrt(e.values[j]!);
      return denseMatMul(x, w, n, r, r);
    };
    const r = 30;
    const u = orthonormal(rows, r);
    const v = orthonormal(cols, r);
    const sigma = Array.from({ length: r }, (_, i) => 0.85 ** i);
    const a = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) for (let t = 0; t < r; t++) a[i * cols + j]! += u[i * r + t]! * sigma[t]! * v[j * r + t]!;
    const k = 12;
    const svd = svdTruncatedSparse(denseToCsr(a, rows, cols), k, { seed: 9, oversample: 8, powerIterations: 12 });
    for (let t = 0; t < k; t++) expect(svd.s[t]!).toBeCloseTo(sigma[t]!, 3);
  });
});
