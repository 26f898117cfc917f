import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrFromCoo, csrMatMulDense, csrRowColSums, csrRowToDense, csrScale, csrTransposeMatMulDense, type Csr } from './csr.ts';
import { rngMulberry32 } from './random.ts';

function randomCsr(rows: number, cols: number, seed: number): { m: Csr; dense: Float64Array } {
  const rng = rngMulberry32(seed);
  const dense = new Float64Array(rows * cols);
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (rng() < 0.3) {
        const x = Math.fround(rng() * 2 - 1);
        dense[i * cols + j] = x;
        r.push(i);
        c.push(j);
        v.push(x);
      }
  return { m: csrFromCoo(rows, cols, r, c, v), dense };
}

describe('csr dense products', () => {
  it('csrMatMulDense and csrTransposeMatMulDense equal dense products', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        (rows, cols, w, seed) => {
          const { m, dense } = randomCsr(rows, cols, seed);
          const rng = rngMulberry32(seed + 1);
          const x = new Float64Array(cols * w).map(() => rng());
          const y = csrMatMulDense(m, x, w);
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < w; j++) {
              let s = 0;
              for (let p = 0; p < cols; p++) s += dense[i * cols + p]! * x[p * w + j]!;
              expect(y[i * w + j]!).toBeCloseTo(s, 10);
            }
          const x2 = new Float64Array(rows * w).map(() => rng());
          const z = csrTransposeMatMulDense(m, x2, w);
          for (let i = 0; i < cols; i++)
            for (let j = 0; j < w; j++) {
              let s = 0;
              for (let p = 0; p < rows; p++) s += dense[p * cols + i]! * x2[p * w + j]!;
              expect(z[i * w + j]!).toBeCloseTo(s, 10);
            }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('csrRowColSums, csrScale and csrRowToDense agree with the dense matrix', () => {
    const { m, dense } = randomCsr(6, 7, 9);
    const { rowSums, colSums } = csrRowColSums(m);
    const rs = [1, 2, 3, 4, 5, 6];
    const cs = [7, 6, 5, 4, 3, 2, 1];
    const scaled = csrScale(m, rs, cs);
    for (let i = 0; i < 6; i++) {
      let s = 0;
      for (let j = 0; j < 7; j++) s += dense[i * 7 + j]!;
      expect(rowSums[i]!).toBeCloseTo(s, 6);
      const row = csrRowToDense(scaled, i);
      for (let j = 0; j < 7; j++) expect(row[j]!).toBeCloseTo(dense[i * 7 + j]! * rs[i]! * cs[j]!, 4);
    }
    for (let j = 0; j < 7; j++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += dense[i * 7 + j]!;
      expect(colSums[j]!).toBeCloseTo(s, 6);
    }
  });
});
