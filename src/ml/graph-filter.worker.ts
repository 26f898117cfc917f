import { workerData } from 'node:worker_threads';
import type { Csr } from './csr.ts';
import { createGramProduct } from './graph-filter.ts';
import { serveKernelTasks } from './parallel.ts';
import { createSimdKernels } from './simd.ts';

/**
 * Worker side of the graph-filter scorer: scores groups of users with the SIMD GEMM for the
 * low-rank term, a sparse scatter for the linear term and, when the model has exact sharpening, two
 * SIMD sparse products with R̃ over the group's linear scores; then copies each row into the shared
 * output. See `graph-filter.scorer.ts` for the data it receives.
 */
interface GraphFilterWorkerData {
  readonly items: number;
  readonly rank: number;
  readonly chunks: number;
  readonly group: number;
  readonly users: Csr;
  readonly linear: Csr;
  readonly left: Float32Array;
  readonly rightPanels: Float32Array;
  readonly exact: { readonly weight: number; readonly normalized: Csr } | undefined;
}

interface ScoreTask {
  readonly userIds: Int32Array;
  readonly out: Float32Array;
}

const d = workerData as GraphFilterWorkerData;
const { items: n, rank: k, chunks, group, users, linear, left } = d;
const ldc = chunks * 8; // floats per row of C
const quads = group / 4;
const panelBytes = chunks * k * 32;
const aBytes = quads * k * 16;
const cBytes = group * ldc * 4;
const kern = createSimdKernels(panelBytes + aBytes + cBytes);
const W_PTR = 0;
const A_PTR = panelBytes;
const C_PTR = panelBytes + aBytes;
const mem = new Float32Array(kern.memory.buffer);
mem.set(d.rightPanels, W_PTR / 4);
const aView = mem.subarray(A_PTR / 4, A_PTR / 4 + aBytes / 4);
const cView = mem.subarray(C_PTR / 4, C_PTR / 4 + cBytes / 4);
// the group's linear scores, items x group (user slot s in column s), for the exact sharpening
const gram = d.exact ? createGramProduct(d.exact.normalized, group) : undefined;
const exactWeight = d.exact?.weight ?? 0;

function scoreGroup(userIds: Int32Array, from: number, to: number, out: Float32Array): void {
  const g = to - from;
  aView.fill(0);
  const { indptr, indices, data } = users;
  // A_q[p, r] = sum_i r_ui left[i, p] for user slot 4q + r
  for (let s = 0; s < g; s++) {
    const u = userIds[from + s]!;
    const base = (s >> 2) * k * 4 + (s & 3);
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
      const x = data[p]!;
      const lo = indices[p]! * k;
      for (let j = 0; j < k; j++) aView[base + j * 4]! += x * left[lo + j]!;
    }
  }
  kern.gemmPanel4x8(A_PTR, W_PTR, C_PTR, k, chunks, ldc * 4, Math.ceil(g / 4));
  const lp = linear.indptr;
  const li = linear.indices;
  const ld = linear.data;
  if (gram) {
    const lin = gram.input;
    lin.fill(0);
    for (let s = 0; s < g; s++) {
      const u = userIds[from + s]!;
      for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
        const x = data[p]!;
        const i = indices[p]!;
        for (let q = lp[i]!; q < lp[i + 1]!; q++) lin[li[q]! * group + s]! += x * ld[q]!;
      }
    }
    gram.apply();
    const sharp = gram.output;
    for (let s = 0; s < g; s++) {
      const row = s * ldc;
      for (let i = 0; i < n; i++) cView[row + i]! += lin[i * group + s]! - exactWeight * sharp[i * group + s]!;
      out.set(cView.subarray(row, row + n), (from + s) * n);
    }
    return;
  }
  for (let s = 0; s < g; s++) {
    const u = userIds[from + s]!;
    const row = s * ldc;
    for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
      const x = data[p]!;
      const i = indices[p]!;
      for (let q = lp[i]!; q < lp[i + 1]!; q++) cView[row + li[q]!]! += x * ld[q]!;
    }
    out.set(cView.subarray(row, row + n), (from + s) * n);
  }
}

serveKernelTasks((payload) => {
  const { userIds, out } = payload as ScoreTask;
  if (out.length < userIds.length * n) throw new RangeError('graph-filter worker: out shorter than users x items');
  for (let s = 0; s < userIds.length; s += group) scoreGroup(userIds, s, Math.min(userIds.length, s + group), out);
  return userIds.length;
});
