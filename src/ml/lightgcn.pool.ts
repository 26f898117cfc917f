import { getPriority } from 'node:os';
import type { Csr } from './csr.ts';
import { createKernelPool } from './parallel.ts';
import { createSharedSimdKernels, createSharedSimdMemory, type SimdKernels } from './simd.ts';
import { siblingModule } from './worker-thread.ts';

/**
 * The work of a LightGCN mini-batch cut into units that any thread may take in any order, so that the result does
 * not depend on the thread count (the iALS design of `ials.pool.ts`):
 * - a propagation hop is the pull form y[r] = Σ_c Â_rc x[c] by ranges of output rows r: each row is written by the
 *   one thread that took its range, always summed in the row's CSR order, so there are no write conflicts and no
 *   thread-dependent rounding; the hop's running sum (F or dL/dE0) is updated on the same rows in the same unit;
 * - the backward pass's first hop starts from dL/dF, which is zero outside the batch's nodes: it pulls only from
 *   marked nodes (an integer test per edge instead of d multiply-adds);
 * - the forward pass's last hop is only needed on the batch's nodes: units are ranges of the batch's node list;
 * - the Adam (or SGD) update is elementwise, by row ranges.
 * The BPR loss and the L2 term scatter into shared rows (a user or item appears in several triples) and cost
 * O(batch · d): the calling thread runs them between the parallel phases.
 *
 * Everything lives in one shared WebAssembly memory so that the SIMD `spmmRows` / `axpyF32` kernels run on it from
 * every thread. Rows are `stride` floats (d rounded up to a multiple of 4 for the SIMD kernels, the padding zero:
 * it stays zero through propagation, the BPR gradient, L2 and Adam).
 */
export interface LightGcnShared {
  readonly users: number;
  readonly items: number;
  /** Floats per row (embedding dimension rounded up to a multiple of 4). */
  readonly stride: number;
  readonly memory: WebAssembly.Memory;
  /** Byte offsets into `memory` (16-byte aligned). */
  readonly layout: LightGcnLayout;
  /** [0]: next unit to take. SharedArrayBuffer-backed. */
  readonly counter: Int32Array;
}

/** The (U + I) x stride float buffers of a fit. */
export type LightGcnBuffer = 'e0' | 'grad' | 'fin' | 'gradF' | 'a' | 'b' | 'adamM' | 'adamV';
const BUFFERS: readonly LightGcnBuffer[] = ['e0', 'grad', 'fin', 'gradF', 'a', 'b', 'adamM', 'adamV'];

export type LightGcnLayout = Readonly<Record<LightGcnBuffer, number>> & {
  /** CSR of Â, users' rows (U + 1 indptr, nnz indices and weights) then items' rows. */
  readonly uiIndptr: number;
  readonly uiIndices: number;
  readonly uiData: number;
  readonly iuIndptr: number;
  readonly iuIndices: number;
  readonly iuData: number;
  /** The batch's distinct nodes (int32, U + I capacity) and their marks (one byte per node). */
  readonly nodes: number;
  readonly mark: number;
};

/**
 * A hop on a range of rows: to[r] = (Â from)[r], then acc[r] = (base[r] + to[r]) · scale (scale 1: no product).
 * `rows`: 'all' takes ranges of [0, U + I); 'batch' ranges of the first `count` entries of the node list.
 * `marked`: pull only from marked neighbours (from is zero elsewhere).
 */
export interface LightGcnHopTask {
  readonly op: 'hop';
  readonly units: number;
  readonly rows: 'all' | 'batch';
  readonly count: number;
  readonly marked: boolean;
  readonly from: LightGcnBuffer;
  readonly to: LightGcnBuffer;
  readonly base: LightGcnBuffer;
  readonly acc: LightGcnBuffer;
  readonly scale: number;
}

/** Adam (bias-corrected step size and ε given) or SGD on e0 with gradient grad, by row ranges. */
export interface LightGcnUpdateTask {
  readonly op: 'adam' | 'sgd';
  readonly units: number;
  readonly stepSize: number;
  readonly epsHat: number;
  readonly beta1: number;
  readonly beta2: number;
}

export type LightGcnTask = LightGcnHopTask | LightGcnUpdateTask;

/** What a thread reports for a task: units it took and its nice value (the pool keeps the training's). */
export interface LightGcnTaskReport {
  readonly units: number;
  readonly nice: number;
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * The shared state of a fit: the graph copied into one shared WebAssembly memory beside eight (U + I) x stride
 * buffers (zeroed). O(nnz + (U + I) · d) memory.
 */
export function createLightGcnShared(
  graph: { readonly users: number; readonly items: number; readonly userItem: Csr; readonly itemUser: Csr },
  d: number,
): LightGcnShared {
  const nodes = graph.users + graph.items;
  const stride = Math.ceil(d / 4) * 4;
  const nnz = graph.userItem.indices.length;
  let at = 0;
  const take = (bytes: number): number => {
    const p = at;
    at += align16(bytes);
    return p;
  };
  const layout = {} as Record<string, number>;
  for (const b of BUFFERS) layout[b] = take(nodes * stride * 4);
  layout.uiIndptr = take((graph.users + 1) * 4);
  layout.uiIndices = take(nnz * 4);
  layout.uiData = take(nnz * 4);
  layout.iuIndptr = take((graph.items + 1) * 4);
  layout.iuIndices = take(nnz * 4);
  layout.iuData = take(nnz * 4);
  layout.nodes = take(nodes * 4);
  layout.mark = take(nodes);
  const memory = createSharedSimdMemory(at);
  const buf = memory.buffer;
  const l = layout as LightGcnLayout;
  new Int32Array(buf, l.uiIndptr, graph.users + 1).set(graph.userItem.indptr);
  new Int32Array(buf, l.uiIndices, nnz).set(graph.userItem.indices);
  new Float32Array(buf, l.uiData, nnz).set(graph.userItem.data);
  new Int32Array(buf, l.iuIndptr, graph.items + 1).set(graph.itemUser.indptr);
  new Int32Array(buf, l.iuIndices, nnz).set(graph.itemUser.indices);
  new Float32Array(buf, l.iuData, nnz).set(graph.itemUser.data);
  return { users: graph.users, items: graph.items, stride, memory, layout: l, counter: new Int32Array(new SharedArrayBuffer(4)) };
}

/** One thread's typed-array views and SIMD kernels over the shared memory. */
export interface LightGcnViews {
  readonly s: LightGcnShared;
  readonly kern: SimdKernels;
  readonly f32: Readonly<Record<LightGcnBuffer, Float32Array>>;
  readonly nodes: Int32Array;
  readonly mark: Uint8Array;
  readonly uiIndptr: Int32Array;
  readonly uiIndices: Int32Array;
  readonly uiData: Float32Array;
  readonly iuIndptr: Int32Array;
  readonly iuIndices: Int32Array;
  readonly iuData: Float32Array;
}

export function lightGcnViews(s: LightGcnShared): LightGcnViews {
  const buf = s.memory.buffer;
  const l = s.layout;
  const n = (s.users + s.items) * s.stride;
  const nnz = (new Int32Array(buf, l.uiIndptr, s.users + 1)[s.users] ?? 0) as number;
  const f32 = {} as Record<LightGcnBuffer, Float32Array>;
  for (const b of BUFFERS) f32[b] = new Float32Array(buf, l[b], n);
  return {
    s,
    kern: createSharedSimdKernels(s.memory),
    f32,
    nodes: new Int32Array(buf, l.nodes, s.users + s.items),
    mark: new Uint8Array(buf, l.mark, s.users + s.items),
    uiIndptr: new Int32Array(buf, l.uiIndptr, s.users + 1),
    uiIndices: new Int32Array(buf, l.uiIndices, nnz),
    uiData: new Float32Array(buf, l.uiData, nnz),
    iuIndptr: new Int32Array(buf, l.iuIndptr, s.items + 1),
    iuIndices: new Int32Array(buf, l.iuIndices, nnz),
    iuData: new Float32Array(buf, l.iuData, nnz),
  };
}

/** [from, to) of unit `unit` of `units` near-equal ranges of [0, n). */
function unitRange(n: number, units: number, unit: number): [number, number] {
  return [Math.floor((n * unit) / units), Math.floor((n * (unit + 1)) / units)];
}

/** to[r] = (Â from)[r] for the contiguous rows [r0, r1) (the SIMD pull kernel per side, sums in registers). */
function pullRange(v: LightGcnViews, from: LightGcnBuffer, to: LightGcnBuffer, r0: number, r1: number): void {
  const { s, kern } = v;
  const l = s.layout;
  const U = s.users;
  const rb = s.stride * 4;
  const u1 = Math.min(r1, U);
  // a user's neighbours are items (rows U.. of `from`), an item's are users
  if (r0 < u1) kern.spmmPull(l.uiIndptr + r0 * 4, l.uiIndices, l.uiData, u1 - r0, l[from] + U * rb, l[to] + r0 * rb, s.stride);
  const i0 = Math.max(r0, U);
  if (i0 < r1) kern.spmmPull(l.iuIndptr + (i0 - U) * 4, l.iuIndices, l.iuData, r1 - i0, l[from], l[to] + i0 * rb, s.stride);
}

/** to[r] = Σ over r's marked neighbours c of Â_rc from[c] (zeroed first), in the row's CSR order. */
function pullMarkedRow(v: LightGcnViews, from: LightGcnBuffer, to: LightGcnBuffer, r: number): void {
  const { s, kern, mark } = v;
  const l = s.layout;
  const U = s.users;
  const stride = s.stride;
  const rb = stride * 4;
  v.f32[to].fill(0, r * stride, (r + 1) * stride);
  const isUser = r < U;
  const ptr = isUser ? v.uiIndptr : v.iuIndptr;
  const idx = isUser ? v.uiIndices : v.iuIndices;
  const val = isUser ? v.uiData : v.iuData;
  const row = isUser ? r : r - U;
  const offset = isUser ? U : 0;
  const y = l[to] + r * rb;
  const x0 = l[from] + offset * rb;
  for (let p = ptr[row]!; p < ptr[row + 1]!; p++) {
    const c = idx[p]!;
    if (mark[offset + c] !== 0) kern.axpyF32(y, x0 + c * rb, val[p]!, stride);
  }
}

/** acc[row] = (base[row] + to[row]) · scale for rows [r0, r1) (scale 1: the sum only). */
function accumulateRows(v: LightGcnViews, t: LightGcnHopTask, r0: number, r1: number): void {
  const stride = v.s.stride;
  const acc = v.f32[t.acc];
  const base = v.f32[t.base];
  const to = v.f32[t.to];
  const e = r1 * stride;
  if (t.scale === 1) for (let k = r0 * stride; k < e; k++) acc[k] = base[k]! + to[k]!;
  else for (let k = r0 * stride; k < e; k++) acc[k] = (base[k]! + to[k]!) * t.scale;
}

/** Runs unit `unit` of `task`. Rows touched by a unit are written by it alone. */
export function lightGcnRunUnit(v: LightGcnViews, task: LightGcnTask, unit: number): void {
  const nodes = v.s.users + v.s.items;
  if (task.op === 'hop') {
    if (task.rows === 'all') {
      const [r0, r1] = unitRange(nodes, task.units, unit);
      if (task.marked) for (let r = r0; r < r1; r++) pullMarkedRow(v, task.from, task.to, r);
      else pullRange(v, task.from, task.to, r0, r1);
      accumulateRows(v, task, r0, r1);
      return;
    }
    const [t0, t1] = unitRange(task.count, task.units, unit);
    for (let t = t0; t < t1; t++) {
      const node = v.nodes[t]!;
      if (task.marked) pullMarkedRow(v, task.from, task.to, node);
      else pullRange(v, task.from, task.to, node, node + 1);
      accumulateRows(v, task, node, node + 1);
    }
    return;
  }
  const stride = v.s.stride;
  const [r0, r1] = unitRange(nodes, task.units, unit);
  const e0 = v.f32.e0;
  const grad = v.f32.grad;
  const end = r1 * stride;
  if (task.op === 'sgd') {
    for (let t = r0 * stride; t < end; t++) e0[t]! -= task.stepSize * grad[t]!;
    return;
  }
  const m = v.f32.adamM;
  const w = v.f32.adamV;
  const { beta1, beta2, stepSize, epsHat } = task;
  for (let t = r0 * stride; t < end; t++) {
    const g = grad[t]!;
    const mt = beta1 * m[t]! + (1 - beta1) * g;
    const vt = beta2 * w[t]! + (1 - beta2) * g * g;
    m[t] = mt;
    w[t] = vt;
    e0[t]! -= (stepSize * mt) / (Math.sqrt(vt) + epsHat);
  }
}

/** Takes units of `task` from the shared counter until none is left; returns how many this thread ran. */
export function lightGcnTakeUnits(v: LightGcnViews, task: LightGcnTask): number {
  let ran = 0;
  for (;;) {
    const unit = Atomics.add(v.s.counter, 0, 1);
    if (unit >= task.units) return ran;
    lightGcnRunUnit(v, task, unit);
    ran++;
  }
}

/** Runs a task on every thread of a pool and resolves with their reports. */
export interface LightGcnThreads {
  readonly size: number;
  /** Resets the unit counter and posts `task` to every thread (synchronously: the caller may take units too). */
  run(task: LightGcnTask): Promise<LightGcnTaskReport[]>;
  close(): Promise<void>;
}

/**
 * Starts `size` worker threads (`lightgcn.worker.ts`) over `shared`. Each lowers its CPU priority to `nice`
 * (default: the calling thread's own, so a pool started by the niced training thread stays as niced as it).
 */
export function createLightGcnThreads(shared: LightGcnShared, size: number, nice: number = getPriority()): LightGcnThreads {
  const pool = createKernelPool(siblingModule(import.meta.url, 'lightgcn.worker'), size, { shared, nice });
  return {
    size,
    run: (task) => {
      Atomics.store(shared.counter, 0, 0);
      return pool.broadcast<LightGcnTaskReport>(task);
    },
    close: () => pool.close(),
  };
}
