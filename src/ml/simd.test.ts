import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSharedSimdKernels, createSharedSimdMemory, createSimdKernels, packPanels8 } from './simd.ts';
import { rngMulberry32 } from './random.ts';

describe('gemmPanel4x8', () => {
  it('equals a naive product C = A W for random shapes (ragged columns padded)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 37 }),
        fc.integer(),
        (rows, k, n, seed) => {
          const rng = rngMulberry32(seed);
          const a = new Float32Array(rows * k).map(() => rng() - 0.5);
          const w = new Float32Array(k * n).map(() => rng() - 0.5);
          const chunks = Math.ceil(n / 8);
          const quads = Math.ceil(rows / 4);
          const ldc = chunks * 8;
          const panelFloats = chunks * k * 8;
          const aFloats = quads * k * 4;
          const kern = createSimdKernels((panelFloats + aFloats + quads * 4 * ldc) * 4);
          const mem = new Float32Array(kern.memory.buffer);
          packPanels8(w, k, n, 0, chunks, mem, 0);
          for (let r = 0; r < rows; r++) for (let p = 0; p < k; p++) mem[panelFloats + (r >> 2) * k * 4 + p * 4 + (r & 3)] = a[r * k + p]!;
          const cOff = panelFloats + aFloats;
          kern.gemmPanel4x8(panelFloats * 4, 0, cOff * 4, k, chunks, ldc * 4, quads);
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < k; p++) s += a[r * k + p]! * w[p * n + j]!;
              expect(mem[cOff + r * ldc + j]!).toBeCloseTo(s, 4);
            }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('axpyF32', () => {
  it('adds alpha x into y', () => {
    const kern = createSimdKernels(1024);
    const mem = new Float32Array(kern.memory.buffer);
    for (let i = 0; i < 12; i++) {
      mem[i] = i;
      mem[16 + i] = 2 * i;
    }
    kern.axpyF32(0, 64, 0.5, 12);
    for (let i = 0; i < 12; i++) expect(mem[i]).toBeCloseTo(2 * i, 6);
  });
});

describe('createSharedSimdKernels', () => {
  it('runs the kernels over a shared memory and refuses an unshared one', () => {
    const memory = createSharedSimdMemory(100_000);
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(memory.buffer.byteLength).toBe(2 * 65536);
    const kern = createSharedSimdKernels(memory);
    const mem = new Float32Array(memory.buffer);
    for (let i = 0; i < 8; i++) mem[16 + i] = i;
    kern.axpyF32(0, 64, 2, 8);
    expect(Array.from(mem.subarray(0, 8))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(() => createSharedSimdKernels(new WebAssembly.Memory({ initial: 1 }))).toThrow(/not shared/);
  });
});

describe('spmmRows / spmmRowsScatter / spmmPull', () => {
  it('equal dense A x and Aᵀ x; spmmPull overwrites y with the same bits as spmmRows on a zeroed y', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        // widths 4..36: below, at and past the 16-column register blocks, with a 4-column tail
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        (rows, cols, w4, seed) => {
          const rng = rngMulberry32(seed);
          const width = w4 * 4;
          const dense = new Float32Array(rows * cols);
          const indptr = new Int32Array(rows + 1);
          const idx: number[] = [];
          const val: number[] = [];
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              if (rng() < 0.4) {
                idx.push(c);
                val.push((dense[r * cols + c] = Math.fround(rng() - 0.5)));
              }
            }
            indptr[r + 1] = idx.length;
          }
          const nnz = idx.length;
          const kern = createSimdKernels(1 << 16);
          const i32 = new Int32Array(kern.memory.buffer);
          const f32 = new Float32Array(kern.memory.buffer);
          const align = (b: number): number => Math.ceil(b / 16) * 16;
          const ip = 0;
          const ix = align((rows + 1) * 4);
          const da = align(ix + nnz * 4);
          const x = align(da + nnz * 4);
          const y = align(x + cols * width * 4);
          const x2 = align(y + rows * width * 4);
          const y2 = align(x2 + rows * width * 4);
          i32.set(indptr, ip / 4);
          i32.set(idx, ix / 4);
          f32.set(val, da / 4);
          for (let i = 0; i < cols * width; i++) f32[x / 4 + i] = rng();
          for (let i = 0; i < rows * width; i++) f32[x2 / 4 + i] = rng();
          kern.spmmRows(ip, ix, da, rows, x, y, width);
          kern.spmmRowsScatter(ip, ix, da, rows, x2, y2, width);
          const y3 = align(y2 + cols * width * 4);
          const end = y3 / 4 + rows * width;
          f32.fill(Number.NaN, y3 / 4, end + 16); // y's rows are overwritten, never read; the 16 floats past them untouched
          kern.spmmPull(ip, ix, da, rows, x, y3, width);
          expect(Array.from(f32.subarray(y3 / 4, end))).toEqual(Array.from(f32.subarray(y / 4, y / 4 + rows * width)));
          expect(f32.subarray(end, end + 16).every(Number.isNaN)).toBe(true);
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < width; j++) {
              let s = 0;
              for (let c = 0; c < cols; c++) s += dense[r * cols + c]! * f32[x / 4 + c * width + j]!;
              expect(f32[y / 4 + r * width + j]!).toBeCloseTo(s, 5);
            }
          for (let c = 0; c < cols; c++)
            for (let j = 0; j < width; j++) {
              let s = 0;
              for (let r = 0; r < rows; r++) s += dense[r * cols + c]! * f32[x2 / 4 + r * width + j]!;
              expect(f32[y2 / 4 + c * width + j]!).toBeCloseTo(s, 5);
            }
        },
      ),
      { numRuns: 40 },
    );
  });
});
