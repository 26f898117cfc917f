/**
 * LightGCN (He et al., SIGIR 2020) trained with BPR, with a hand-written backward pass.
 *
 * Embeddings E0 are (U + I) x d row-major, users first. Â is the symmetric-normalised adjacency of
 * the user-item bipartite graph (Â_ui = 1 / sqrt(deg_u · deg_i)). The final embeddings are
 * F = P E0 with P = (I + Â + Â^2 + ... + Â^K) / (K + 1). P is linear and symmetric, so the gradient
 * of any loss of F is dL/dE0 = P (dL/dF): the backward pass is the forward propagation applied to
 * the gradient.
 *
 * Cost: one propagation is K sparse products of 2 · nnz · d multiply-adds; every mini-batch needs
 * a forward and a backward one (the last forward hop and the first backward hop only touch the
 * batch's neighbourhoods), so an epoch is about (nnz / batchSize) · (4K - 2) · nnz · d whatever the
 * batch size does to the BPR part. On Yelp2018 (1.24M edges, d = 64, K = 3) a mini-batch costs about
 * 0.33 CPU seconds with the SIMD register-accumulating pull kernel (0.53 with the former per-edge axpy
 * calls), i.e. ~3.5 CPU minutes per epoch at batch 2048, split over the `threads` of `lightgcn.pool.ts`; the paper trains
 * for hundreds of epochs. Use large batches (with a larger learning rate) on big data, and prefer iALS
 * when training time matters.
 */
import { availableParallelism } from 'node:os';
import type { Csr } from './csr.ts';
import { accumulateTopKSums, emptyTopKSums, topKMetricsFromSums, usersWithTestItems } from './eval.ts';
import { createDotScorer } from './ials.ts';
import {
  createLightGcnShared,
  createLightGcnThreads,
  type LightGcnBuffer,
  lightGcnRunUnit,
  lightGcnTakeUnits,
  type LightGcnTask,
  type LightGcnThreads,
  lightGcnViews,
} from './lightgcn.pool.ts';
import { fillNormal, rngMulberry32, shuffleInPlace, type Rng } from './random.ts';
import { createSimdKernels } from './simd.ts';

/** The normalised bipartite graph in both orientations. */
export interface LightGcnGraph {
  readonly users: number;
  readonly items: number;
  /** U x I, values 1 / sqrt(deg_u · deg_i). */
  readonly userItem: Csr;
  /** I x U, the transpose of `userItem`. */
  readonly itemUser: Csr;
}

/**
 * Builds the normalised graph from a U x I interaction matrix; every stored entry is an edge of
 * weight 1 (interaction values are ignored, as in LightGCN). O(nnz).
 */
export function lightGcnGraph(train: Csr): LightGcnGraph {
  const nUsers = train.rows;
  const nItems = train.cols;
  const nnz = train.indices.length;
  const degItem = new Float64Array(nItems);
  for (let p = 0; p < nnz; p++) degItem[train.indices[p]!]!++;
  const data = new Float32Array(nnz);
  for (let u = 0; u < nUsers; u++) {
    const s = train.indptr[u]!;
    const e = train.indptr[u + 1]!;
    const du = e - s;
    for (let p = s; p < e; p++) data[p] = 1 / Math.sqrt(du * degItem[train.indices[p]!]!);
  }
  const userItem: Csr = { rows: nUsers, cols: nItems, indptr: train.indptr, indices: train.indices, data };
  // transpose by counting (values travel with their edges)
  const indptr = new Int32Array(nItems + 1);
  for (let p = 0; p < nnz; p++) indptr[train.indices[p]! + 1]!++;
  for (let i = 0; i < nItems; i++) indptr[i + 1]! += indptr[i]!;
  const cursor = indptr.slice(0, nItems);
  const indices = new Int32Array(nnz);
  const tdata = new Float32Array(nnz);
  for (let u = 0; u < nUsers; u++) {
    for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) {
      const q = cursor[train.indices[p]!]!++;
      indices[q] = u;
      tdata[q] = data[p]!;
    }
  }
  return { users: nUsers, items: nItems, userItem, itemUser: { rows: nItems, cols: nUsers, indptr, indices, data: tdata } };
}

/**
 * WebAssembly SIMD `y += alpha · x` over one memory (byte pointers, n a multiple of 4). Buffers that
 * are views into `memory` are propagated with it, about 2.5x faster than the scalar loops.
 */
export interface AxpyEngine {
  readonly memory: WebAssembly.Memory;
  readonly axpy: (y: number, x: number, alpha: number, n: number) => void;
}

/** The engine applies when both buffers live in its memory, 16-byte aligned, and d % 4 === 0. */
function engineFor(engine: AxpyEngine | null | undefined, x: Float32Array, y: Float32Array, d: number): AxpyEngine | null {
  if (!engine || d % 4 !== 0) return null;
  const buf = engine.memory.buffer;
  return x.buffer === buf && y.buffer === buf && x.byteOffset % 16 === 0 && y.byteOffset % 16 === 0 ? engine : null;
}

/**
 * y = Â x for (U + I) x d row-major x and y (y is overwritten; x and y must not alias).
 * O(2 · nnz · d).
 */
export function lightGcnSpmm(graph: LightGcnGraph, x: Float32Array, y: Float32Array, d: number, engine?: AxpyEngine | null): void {
  const nUsers = graph.users;
  const e = engineFor(engine, x, y, d);
  halfSpmm(graph.userItem, x, nUsers * d, y, 0, d, e);
  halfSpmm(graph.itemUser, x, 0, y, nUsers * d, d, e);
}

/** y[yOff + r·d ..] = Σ_p m.data[p] · x[xOff + m.indices[p]·d ..] for each row r of m. */
function halfSpmm(m: Csr, x: Float32Array, xOff: number, y: Float32Array, yOff: number, d: number, engine: AxpyEngine | null): void {
  if (engine === null) {
    for (let r = 0; r < m.rows; r++) pullRow(m, r, x, xOff, y, yOff + r * d, d);
    return;
  }
  y.fill(0, yOff, yOff + m.rows * d);
  const axpy = engine.axpy;
  const ptr = m.indptr;
  const idx = m.indices;
  const val = m.data;
  const rowBytes = d * 4;
  const x0 = x.byteOffset + xOff * 4;
  const y0 = y.byteOffset + yOff * 4;
  for (let r = 0; r < m.rows; r++) {
    const yp = y0 + r * rowBytes;
    for (let p = ptr[r]!; p < ptr[r + 1]!; p++) axpy(yp, x0 + idx[p]! * rowBytes, val[p]!, d);
  }
}

/**
 * y[yb .. yb + d) = Σ over row r's entries of weight · x row. Eight columns at a time in local
 * accumulators (one store per column instead of one per edge: 2.5x faster than a plain axpy loop).
 */
function pullRow(m: Csr, r: number, x: Float32Array, xOff: number, y: Float32Array, yb: number, d: number): void {
  const idx = m.indices;
  const val = m.data;
  const s = m.indptr[r]!;
  const e = m.indptr[r + 1]!;
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (let p = s; p < e; p++) {
      const w = val[p]!;
      const xb = xOff + idx[p]! * d + c;
      s0 += w * x[xb]!;
      s1 += w * x[xb + 1]!;
      s2 += w * x[xb + 2]!;
      s3 += w * x[xb + 3]!;
      s4 += w * x[xb + 4]!;
      s5 += w * x[xb + 5]!;
      s6 += w * x[xb + 6]!;
      s7 += w * x[xb + 7]!;
    }
    y[yb + c] = s0;
    y[yb + c + 1] = s1;
    y[yb + c + 2] = s2;
    y[yb + c + 3] = s3;
    y[yb + c + 4] = s4;
    y[yb + c + 5] = s5;
    y[yb + c + 6] = s6;
    y[yb + c + 7] = s7;
  }
  for (; c < d; c++) {
    let acc = 0;
    for (let p = s; p < e; p++) acc += val[p]! * x[xOff + idx[p]! * d + c]!;
    y[yb + c] = acc;
  }
}

/** y[node] = (Â x)[node] for the listed nodes only (other rows of y untouched). O(Σ deg · d). */
function gatherNodes(
  graph: LightGcnGraph,
  x: Float32Array,
  nodes: Int32Array,
  count: number,
  y: Float32Array,
  d: number,
  engine: AxpyEngine | null,
): void {
  const nUsers = graph.users;
  const e = engineFor(engine, x, y, d);
  const rowBytes = d * 4;
  for (let t = 0; t < count; t++) {
    const node = nodes[t]!;
    const isUser = node < nUsers;
    const m = isUser ? graph.userItem : graph.itemUser;
    const r = isUser ? node : node - nUsers;
    const xOff = isUser ? nUsers * d : 0;
    if (e === null) {
      pullRow(m, r, x, xOff, y, node * d, d);
      continue;
    }
    y.fill(0, node * d, node * d + d);
    const yp = y.byteOffset + node * rowBytes;
    const x0 = x.byteOffset + xOff * 4;
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) e.axpy(yp, x0 + m.indices[p]! * rowBytes, m.data[p]!, d);
  }
}

/** y = Â x where x is zero outside the listed nodes (y fully overwritten). O(|y| + Σ deg · d). */
function scatterNodes(
  graph: LightGcnGraph,
  x: Float32Array,
  nodes: Int32Array,
  count: number,
  y: Float32Array,
  d: number,
  engine: AxpyEngine | null,
): void {
  y.fill(0);
  const nUsers = graph.users;
  const e = engineFor(engine, x, y, d);
  if (e !== null) {
    const rowBytes = d * 4;
    for (let t = 0; t < count; t++) {
      const node = nodes[t]!;
      const isUser = node < nUsers;
      const m = isUser ? graph.userItem : graph.itemUser;
      const r = isUser ? node : node - nUsers;
      const offset = isUser ? nUsers : 0;
      const xp = x.byteOffset + node * rowBytes;
      for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) e.axpy(y.byteOffset + (offset + m.indices[p]!) * rowBytes, xp, m.data[p]!, d);
    }
    return;
  }
  for (let t = 0; t < count; t++) {
    const node = nodes[t]!;
    const isUser = node < nUsers;
    const m = isUser ? graph.userItem : graph.itemUser;
    const r = isUser ? node : node - nUsers;
    const offset = isUser ? nUsers : 0; // neighbours of a user are items and vice versa
    const xb = node * d;
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) {
      const w = m.data[p]!;
      const yb = (offset + m.indices[p]!) * d;
      for (let k = 0; k < d; k++) y[yb + k]! += w * x[xb + k]!;
    }
  }
}

/** Two (U + I) x d buffers for `lightGcnPropagate`. */
export interface PropagationScratch {
  readonly a: Float32Array;
  readonly b: Float32Array;
}

/**
 * out = P x = (x + Âx + ... + Â^K x) / (K + 1): the final LightGCN embeddings when x = E0, and
 * the gradient wrt E0 when x = dL/dF. `out` must not alias x. O(K · 2 · nnz · d).
 */
export function lightGcnPropagate(
  graph: LightGcnGraph,
  x: Float32Array,
  d: number,
  layers: number,
  out: Float32Array,
  scratch: PropagationScratch = { a: new Float32Array(x.length), b: new Float32Array(x.length) },
  engine: AxpyEngine | null = null,
): Float32Array {
  const n = (graph.users + graph.items) * d;
  if (x.length !== n || out.length !== n) throw new RangeError(`lightGcnPropagate: buffers must have (users + items) x d = ${n} entries`);
  out.set(x);
  let cur = x;
  for (let k = 1; k <= layers; k++) {
    const next = k % 2 === 1 ? scratch.a : scratch.b;
    lightGcnSpmm(graph, cur, next, d, engine);
    for (let t = 0; t < n; t++) out[t]! += next[t]!;
    cur = next;
  }
  const inv = 1 / (layers + 1);
  for (let t = 0; t < n; t++) out[t]! *= inv;
  return out;
}

/** A BPR mini-batch: `users[b]` preferred `pos[b]` over each of `neg[b·S .. b·S + S)`. Item ids are 0-based. */
export interface BprBatch {
  readonly users: Int32Array;
  readonly pos: Int32Array;
  /** users.length x negatives. */
  readonly neg: Int32Array;
  readonly negatives: number;
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * BPR on final embeddings F ((U + I) x d): returns Σ over triples of softplus(s_uj - s_ui) / T
 * (T = batch · negatives) and ADDS its gradient wrt F into `gradF`. O(T · d).
 */
export function bprLossAndGrad(final: Float32Array, d: number, nUsers: number, batch: BprBatch, gradF: Float32Array): number {
  const { users, pos, neg, negatives } = batch;
  const nTriples = users.length * negatives;
  if (nTriples === 0) return 0;
  const inv = 1 / nTriples;
  let loss = 0;
  for (let b = 0; b < users.length; b++) {
    const ub = users[b]! * d;
    const ib = (nUsers + pos[b]!) * d;
    for (let s = 0; s < negatives; s++) {
      const jb = (nUsers + neg[b * negatives + s]!) * d;
      let x = 0;
      for (let k = 0; k < d; k++) x += final[ub + k]! * (final[ib + k]! - final[jb + k]!);
      loss += softplus(-x);
      // d softplus(-x) / dx = -sigmoid(-x)
      const g = (-1 / (1 + Math.exp(x))) * inv;
      for (let k = 0; k < d; k++) {
        const eu = final[ub + k]!;
        gradF[ub + k]! += g * (final[ib + k]! - final[jb + k]!);
        gradF[ib + k]! += g * eu;
        gradF[jb + k]! -= g * eu;
      }
    }
  }
  return loss * inv;
}

/** Buffers reused across mini-batches: four (U + I) x d, plus node marks. */
export interface LightGcnWorkspace {
  /** After `lightGcnLossAndGrad`: F = P E0, valid on the batch's rows only. */
  readonly final: Float32Array;
  readonly gradF: Float32Array;
  readonly propagation: PropagationScratch;
  readonly mark: Uint8Array;
  readonly nodes: Int32Array;
  /** When set, buffers inside its memory propagate with SIMD. */
  readonly engine: AxpyEngine | null;
}

export function lightGcnWorkspace(graph: LightGcnGraph, d: number): LightGcnWorkspace {
  const nodes = graph.users + graph.items;
  const n = nodes * d;
  return {
    final: new Float32Array(n),
    gradF: new Float32Array(n),
    propagation: { a: new Float32Array(n), b: new Float32Array(n) },
    mark: new Uint8Array(nodes),
    nodes: new Int32Array(nodes),
    engine: null,
  };
}

/**
 * A workspace whose buffers, plus E0 and its gradient, live in one WebAssembly memory so that
 * propagation runs on the SIMD axpy (6 x (U + I) x d floats). Use the returned `e0` and `grad`
 * as the arguments of `lightGcnLossAndGrad`.
 */
export function lightGcnSimdWorkspace(graph: LightGcnGraph, d: number): { ws: LightGcnWorkspace; e0: Float32Array; grad: Float32Array } {
  const nodes = graph.users + graph.items;
  const n = nodes * d;
  const kern = createSimdKernels(6 * n * 4);
  const view = (k: number): Float32Array => new Float32Array(kern.memory.buffer, k * n * 4, n);
  const ws: LightGcnWorkspace = {
    final: view(0),
    gradF: view(1),
    propagation: { a: view(2), b: view(3) },
    mark: new Uint8Array(nodes),
    nodes: new Int32Array(nodes),
    engine: { memory: kern.memory, axpy: kern.axpyF32 },
  };
  return { ws, e0: view(4), grad: view(5) };
}

/** Distinct graph nodes of a batch (users, then items offset by U) into ws.nodes; returns the count. */
function batchNodes(batch: BprBatch, nUsers: number, ws: LightGcnWorkspace): number {
  const { mark, nodes } = ws;
  const count = markBatchNodes(batch, nUsers, mark, nodes);
  for (let t = 0; t < count; t++) mark[nodes[t]!] = 0;
  return count;
}

/**
 * The mini-batch objective and its exact gradient wrt E0, written into `grad` (overwritten):
 *   L = mean over triples of softplus(f_u·f_j - f_u·f_i) + reg · mean over triples of
 *       (|e0_u|^2 + |e0_i|^2 + |e0_j|^2) / 2,
 * with f = rows of F = P E0 and e0 = rows of E0 (LightGCN's L2 on the ego embeddings).
 * Only the batch's rows of F are needed, and dL/dF is zero elsewhere, so the last forward hop and
 * the first backward hop run over the batch's neighbourhoods only: O((4K - 2) · nnz · d + T · d).
 */
export function lightGcnLossAndGrad(
  graph: LightGcnGraph,
  e0: Float32Array,
  d: number,
  layers: number,
  batch: BprBatch,
  reg: number,
  grad: Float32Array,
  ws: LightGcnWorkspace = lightGcnWorkspace(graph, d),
): number {
  const nUsers = graph.users;
  const n = e0.length;
  if (n !== (nUsers + graph.items) * d || grad.length !== n)
    throw new RangeError('lightGcnLossAndGrad: buffers must be (users + items) x d');
  const count = batchNodes(batch, nUsers, ws);
  const nodes = ws.nodes;
  const inv = 1 / (layers + 1);
  const { a, b } = ws.propagation;
  // forward: F on the batch rows = mean of E0 .. EK, with EK gathered for those rows only
  const fin = ws.final;
  fin.set(e0);
  let cur = e0;
  for (let k = 1; k < layers; k++) {
    const next = k % 2 === 1 ? a : b;
    lightGcnSpmm(graph, cur, next, d, ws.engine);
    for (let t = 0; t < n; t++) fin[t]! += next[t]!;
    cur = next;
  }
  if (layers >= 1) {
    const last = cur === a ? b : a;
    gatherNodes(graph, cur, nodes, count, last, d, ws.engine);
    for (let t = 0; t < count; t++) {
      const base = nodes[t]! * d;
      for (let k = 0; k < d; k++) fin[base + k]! += last[base + k]!;
    }
  }
  for (let t = 0; t < count; t++) {
    const base = nodes[t]! * d;
    for (let k = 0; k < d; k++) fin[base + k]! *= inv;
  }
  const gradF = ws.gradF;
  gradF.fill(0);
  const loss = bprLossAndGrad(fin, d, nUsers, batch, gradF);
  // backward: dL/dE0 = P dL/dF; dL/dF lives on the batch rows, so the first hop scatters from them
  grad.set(gradF);
  if (layers >= 1) {
    scatterNodes(graph, gradF, nodes, count, a, d, ws.engine);
    for (let t = 0; t < n; t++) grad[t]! += a[t]!;
    cur = a;
    for (let k = 2; k <= layers; k++) {
      const next = k % 2 === 0 ? b : a;
      lightGcnSpmm(graph, cur, next, d, ws.engine);
      for (let t = 0; t < n; t++) grad[t]! += next[t]!;
      cur = next;
    }
  }
  for (let t = 0; t < n; t++) grad[t]! *= inv;
  return loss + addBprL2(e0, grad, d, nUsers, batch, reg);
}

/**
 * The L2 term of the BPR objective on the batch's E0 rows (rows of width `stride`; reg / triples): ADDS its gradient
 * into `grad` and returns its loss (0 without a term). One arithmetic order for the reference above and the pooled
 * fit, so both give the same bits.
 */
function addBprL2(e0: Float32Array, grad: Float32Array, stride: number, nUsers: number, batch: BprBatch, reg: number): number {
  const { users, pos, neg, negatives } = batch;
  const nTriples = users.length * negatives;
  if (!(reg > 0 && nTriples > 0)) return 0;
  const scale = reg / nTriples;
  let sq = 0;
  for (let b = 0; b < users.length; b++) {
    const ub = users[b]! * stride;
    const ib = (nUsers + pos[b]!) * stride;
    for (let s = 0; s < negatives; s++) {
      const jb = (nUsers + neg[b * negatives + s]!) * stride;
      for (let k = 0; k < stride; k++) {
        const eu = e0[ub + k]!;
        const ei = e0[ib + k]!;
        const ej = e0[jb + k]!;
        sq += eu * eu + ei * ei + ej * ej;
        grad[ub + k]! += scale * eu;
        grad[ib + k]! += scale * ei;
        grad[jb + k]! += scale * ej;
      }
    }
  }
  return 0.5 * scale * sq;
}

/**
 * Fills `neg` (users.length x negatives) with items drawn uniformly among those the user has not
 * interacted with in `train` (rejection sampling; a user who has seen nearly everything may get a
 * seen item after 64 tries). O(batch · negatives · log nnz_u) expected.
 */
export function sampleNegatives(train: Csr, users: Int32Array, negatives: number, rng: Rng, neg: Int32Array): void {
  const nItems = train.cols;
  const ptr = train.indptr;
  const idx = train.indices;
  for (let b = 0; b < users.length; b++) {
    const u = users[b]!;
    const s = ptr[u]!;
    const e = ptr[u + 1]!;
    for (let t = 0; t < negatives; t++) {
      let j = 0;
      for (let attempt = 0; attempt < 64; attempt++) {
        j = Math.floor(rng() * nItems);
        // binary search in the user's ascending row
        let lo = s;
        let hi = e;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (idx[mid]! < j) lo = mid + 1;
          else hi = mid;
        }
        if (lo === e || idx[lo] !== j) break;
      }
      neg[b * negatives + t] = j;
    }
  }
}

export interface LightGcnProgress {
  readonly epoch: number;
  /** Mean mini-batch loss (BPR + regularisation) over the epoch. */
  readonly loss: number;
  readonly seconds: number;
  /** NDCG@k on the validation hold-out, on the epochs it is measured (see LightGcnValidation). */
  readonly validationNdcg?: number;
}

/**
 * Early stopping on a validation hold-out: NDCG@k of `heldOut` (pairs carved from the training interactions by the
 * caller, never the test set; excluded from `train`) is measured every `every` epochs and on the last one; training
 * stops after `patience` measurements without a new best, and the model keeps the best measurement's embeddings.
 */
export interface LightGcnValidation {
  /** users x items held-out pairs (rows at most train's). */
  readonly heldOut: Csr;
  /** Epochs between measurements, default 5. */
  readonly every?: number;
  /** Measurements without a new best before stopping, default 3. */
  readonly patience?: number;
  /** NDCG cutoff, default 20. */
  readonly k?: number;
  /** At most this many validation users are ranked (a seeded sample), default 2000. */
  readonly maxUsers?: number;
}

export interface LightGcnParams {
  /** d, default 64. */
  readonly embeddingDim?: number;
  /** K, default 3. */
  readonly numLayers?: number;
  /** Default 1e-3 (Adam). */
  readonly learningRate?: number;
  /** Positive pairs per mini-batch, default 2048. */
  readonly batchSize?: number;
  readonly epochs: number;
  /** Negatives per positive pair, default 1. */
  readonly negativeSamples?: number;
  /** L2 weight on the ego embeddings of each triple, default 1e-4. */
  readonly reg?: number;
  /** Default 'adam' (β1 0.9, β2 0.999, ε 1e-8). */
  readonly optimizer?: 'adam' | 'sgd';
  /** Standard deviation of the normal initialisation, default 0.1 (as the reference code). */
  readonly initStd?: number;
  /** Warm start: E0 of a previous run on the same users and items (copied, not modified). */
  readonly initialEmbeddings?: Float32Array;
  readonly seed: number;
  /** Early stopping on validation NDCG (measured on the pairs given, which `train` must not contain). */
  readonly validation?: LightGcnValidation;
  /** After every epoch; return false to stop training (cancellation). */
  readonly onEpoch?: (progress: LightGcnProgress) => boolean | void;
  /** Checked after every mini-batch: cancellation without waiting for the epoch to end. */
  readonly signal?: { readonly aborted: boolean };
  /**
   * Threads of the propagation hops and optimiser updates (1: on the calling thread). Default: every core the
   * process may use when the fit is large enough to repay starting them (`lightGcnDefaultThreads`), else 1.
   * The result does not depend on it.
   */
  readonly threads?: number;
  /** Nice value of the worker threads (never raised above the caller's priority); default: the calling thread's. */
  readonly nice?: number;
}

export interface LightGcnModel {
  readonly embeddingDim: number;
  /** E0, (U + I) x d. */
  readonly egoEmbeddings: Float32Array;
  /** F = P E0, (U + I) x d, users first. */
  readonly finalEmbeddings: Float32Array;
  readonly epochsRun: number;
  /** The epoch whose embeddings the model holds: the best validation measurement's, else the last. */
  readonly bestEpoch: number;
  /** Every validation measurement (empty without `validation`). */
  readonly validation: readonly { epoch: number; ndcg: number }[];
  /** Threads the fit ran on. */
  readonly threads: number;
  scoreBatch(userIds: Int32Array, out: Float32Array): void;
}

/**
 * NDCG@k of `users`' held-out items under the final embeddings `f` ((U + I) x d, users first), each user's `train`
 * items excluded. O(users x items x d) plus the ranking.
 */
export function lightGcnValidationNdcg(f: Float32Array, d: number, train: Csr, heldOut: Csr, users: Int32Array, k: number): number {
  const items = train.cols;
  const userPart = f.subarray(0, train.rows * d);
  const score = createDotScorer(f.subarray(train.rows * d), d);
  const sums = emptyTopKSums(k, items);
  const block = 256;
  const out = new Float32Array(block * items);
  for (let s = 0; s < users.length; s += block) {
    const ids = users.subarray(s, Math.min(users.length, s + block));
    const scores = out.subarray(0, ids.length * items);
    score(userPart, ids, scores);
    accumulateTopKSums(train, heldOut, ids, scores, sums);
  }
  return topKMetricsFromSums(sums).ndcg;
}

/** The users of `heldOut` with held-out items, at most `max` of them (a seeded sample, ascending). */
function validationUsers(heldOut: Csr, max: number, seed: number): Int32Array {
  const all = usersWithTestItems(heldOut);
  if (all.length <= max) return all;
  const picked = all.slice();
  shuffleInPlace(picked, rngMulberry32(seed ^ 0x2545f491));
  return picked.subarray(0, max).sort();
}

/**
 * Threads for a fit of this size when the caller does not say: one below about 10¹⁰ multiply-adds in all (starting
 * pool threads from TypeScript sources costs seconds of wall and CPU under load; see `ialsDefaultThreads`), else
 * every core the process may use.
 */
export function lightGcnDefaultThreads(train: Csr, d: number, layers: number, epochs: number, batchSize: number): number {
  const nnz = train.indices.length;
  const work = epochs * Math.ceil(nnz / batchSize) * (4 * Math.max(1, layers)) * 2 * nnz * d;
  return work < 1e10 ? 1 : Math.max(1, availableParallelism());
}

/** Copies rows of `d` floats into rows of `stride` floats (the padding left as it is: zero). */
function padRows(src: Float32Array, d: number, dst: Float32Array, stride: number): void {
  if (d === stride) {
    dst.set(src);
    return;
  }
  for (let r = 0, n = src.length / d; r < n; r++) dst.set(src.subarray(r * d, r * d + d), r * stride);
}

/** Rows of `stride` floats back to rows of `d` floats (a new array). */
function unpadRows(src: Float32Array, stride: number, d: number, out = new Float32Array((src.length / stride) * d)): Float32Array {
  if (d === stride) {
    out.set(src);
    return out;
  }
  for (let r = 0, n = src.length / stride; r < n; r++) out.set(src.subarray(r * stride, r * stride + d), r * d);
  return out;
}

/** Marks the distinct nodes of a batch (users, then items offset by U) and lists them in `nodes`; returns the count. */
function markBatchNodes(batch: BprBatch, nUsers: number, mark: Uint8Array, nodes: Int32Array): number {
  let count = 0;
  const add = (node: number): void => {
    if (mark[node] === 0) {
      mark[node] = 1;
      nodes[count++] = node;
    }
  };
  for (let b = 0; b < batch.users.length; b++) {
    add(batch.users[b]!);
    add(nUsers + batch.pos[b]!);
  }
  for (let t = 0; t < batch.neg.length; t++) add(nUsers + batch.neg[t]!);
  return count;
}

/**
 * Trains LightGCN on a U x I interaction matrix. Each epoch visits every training pair once in a
 * seeded random order, in mini-batches of `batchSize` pairs with `negativeSamples` sampled
 * negatives each. The propagation hops and the optimiser update run on `threads` threads (the calling
 * thread and threads - 1 workers, `lightgcn.pool.ts`); the result is deterministic given `seed` and the
 * same bit for bit whatever the thread count. Memory: about 8 (U + I) x d floats plus the graph, shared.
 */
export async function fitLightGcn(train: Csr, params: LightGcnParams): Promise<LightGcnModel> {
  const d = params.embeddingDim ?? 64;
  const layers = params.numLayers ?? 3;
  const lr = params.learningRate ?? 1e-3;
  const batchSize = params.batchSize ?? 2048;
  const negatives = params.negativeSamples ?? 1;
  const reg = params.reg ?? 1e-4;
  const adam = (params.optimizer ?? 'adam') === 'adam';
  if (!(d > 0 && layers >= 0 && batchSize > 0 && negatives > 0)) throw new RangeError('fitLightGcn: invalid hyperparameters');
  const threads = params.threads ?? lightGcnDefaultThreads(train, d, layers, params.epochs, batchSize);
  if (!(threads >= 1) || !Number.isInteger(threads))
    throw new RangeError(`fitLightGcn: threads must be a positive integer, got ${threads}`);
  const nUsers = train.rows;
  const nNodes = nUsers + train.cols;
  if (params.initialEmbeddings && params.initialEmbeddings.length !== nNodes * d)
    throw new RangeError(`fitLightGcn: initialEmbeddings must have (users + items) x d = ${nNodes * d} entries`);
  const val = params.validation;
  if (val && (val.heldOut.cols !== train.cols || val.heldOut.rows > train.rows))
    throw new RangeError('fitLightGcn: the validation hold-out must have the training items and at most its users');
  const graph = lightGcnGraph(train);
  const rng = rngMulberry32(params.seed);
  // E0, the gradients, F, the hop buffers, Adam's moments and the graph share one WebAssembly memory, shared with the
  // pool's threads; rows are padded to `stride` floats for the SIMD kernels
  const shared = createLightGcnShared(graph, d);
  const v = lightGcnViews(shared);
  const stride = shared.stride;
  const { e0, grad, fin, gradF } = v.f32;
  const initial = new Float32Array(nNodes * d);
  if (params.initialEmbeddings) initial.set(params.initialEmbeddings);
  else {
    fillNormal(initial, rng);
    const std = params.initStd ?? 0.1;
    for (let t = 0; t < initial.length; t++) initial[t]! *= std;
  }
  padRows(initial, d, e0, stride);

  const nnz = train.indices.length;
  const pairUser = new Int32Array(nnz);
  for (let u = 0; u < nUsers; u++) pairUser.fill(u, train.indptr[u]!, train.indptr[u + 1]!);
  const order = new Int32Array(nnz);
  for (let p = 0; p < nnz; p++) order[p] = p;

  const users = new Int32Array(batchSize);
  const pos = new Int32Array(batchSize);
  const neg = new Int32Array(batchSize * negatives);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const inv = 1 / (layers + 1);
  // ranges of rows: enough for every thread to take many (load balance), few enough to cost nothing
  const rowUnits = Math.min(nNodes, 256);

  // the calling thread is one of the `threads`: it takes units beside threads - 1 workers (all of them while the
  // workers start, so their start-up overlaps work)
  const pool: LightGcnThreads | null = threads > 1 ? createLightGcnThreads(shared, threads - 1, params.nice) : null;
  const run = async (task: LightGcnTask): Promise<void> => {
    if (!pool) {
      // one thread runs every unit in line, in order: the same arithmetic as the pool's
      for (let unit = 0; unit < task.units; unit++) lightGcnRunUnit(v, task, unit);
      return;
    }
    const workers = pool.run(task);
    lightGcnTakeUnits(v, task);
    await workers;
  };
  const hop = (
    from: LightGcnBuffer,
    to: LightGcnBuffer,
    base: LightGcnBuffer,
    acc: LightGcnBuffer,
    scale: number,
    marked = false,
  ): Promise<void> => run({ op: 'hop', units: rowUnits, rows: 'all', count: 0, marked, from, to, base, acc, scale });
  /** fin = P e0 on every row. */
  const propagate = async (): Promise<void> => {
    if (layers === 0) fin.set(e0);
    let cur: LightGcnBuffer = 'e0';
    for (let k = 1; k <= layers; k++) {
      const next = k % 2 === 1 ? 'a' : 'b';
      await hop(cur, next, k === 1 ? 'e0' : 'fin', 'fin', k === layers ? inv : 1);
      cur = next;
    }
  };
  /** The mini-batch objective (see `lightGcnLossAndGrad`, whose arithmetic this splits into units); dL/dE0 in grad. */
  const lossAndGrad = async (batch: BprBatch): Promise<number> => {
    const count = markBatchNodes(batch, nUsers, v.mark, v.nodes);
    // forward: F on the batch rows = mean of E0 .. EK, with EK pulled for those rows only
    let cur: LightGcnBuffer = 'e0';
    for (let k = 1; k < layers; k++) {
      const next = k % 2 === 1 ? 'a' : 'b';
      await hop(cur, next, k === 1 ? 'e0' : 'fin', 'fin', 1);
      cur = next;
    }
    if (layers >= 1) {
      const last = cur === 'a' ? 'b' : 'a';
      const units = Math.min(count, 64);
      await run({
        op: 'hop',
        units,
        rows: 'batch',
        count,
        marked: false,
        from: cur,
        to: last,
        base: layers === 1 ? 'e0' : 'fin',
        acc: 'fin',
        scale: inv,
      });
    } else for (let t = 0; t < count; t++) fin.set(e0.subarray(v.nodes[t]! * stride, (v.nodes[t]! + 1) * stride), v.nodes[t]! * stride);
    // dL/dF lives on the batch rows (gradF is zero elsewhere between batches)
    const loss = bprLossAndGrad(fin, stride, nUsers, batch, gradF);
    // backward: dL/dE0 = P dL/dF; the first hop pulls from the batch's (marked) rows only
    if (layers === 0) grad.set(gradF);
    else {
      await hop('gradF', 'a', 'gradF', 'grad', layers === 1 ? inv : 1, true);
      cur = 'a';
      for (let k = 2; k <= layers; k++) {
        const next = k % 2 === 0 ? 'b' : 'a';
        await hop(cur, next, 'grad', 'grad', k === layers ? inv : 1);
        cur = next;
      }
    }
    for (let t = 0; t < count; t++) {
      const node = v.nodes[t]!;
      v.mark[node] = 0;
      gradF.fill(0, node * stride, (node + 1) * stride);
    }
    return loss + addBprL2(e0, grad, stride, nUsers, batch, reg);
  };

  let step = 0;
  let epochsRun = 0;
  const t0 = performance.now();
  let stopped = false;
  const every = Math.max(1, val?.every ?? 5);
  const patience = Math.max(1, val?.patience ?? 3);
  const valUsers = val ? validationUsers(val.heldOut, val.maxUsers ?? 2000, params.seed) : null;
  const history: { epoch: number; ndcg: number }[] = [];
  const finalEmbeddings = new Float32Array(nNodes * d);
  let best: { epoch: number; ndcg: number; e0: Float32Array } | null = null;
  let misses = 0;
  /** Measures validation NDCG at `epoch`; false when patience is exhausted. */
  const validate = async (epoch: number): Promise<boolean> => {
    await propagate();
    unpadRows(fin, stride, d, finalEmbeddings);
    const ndcg = lightGcnValidationNdcg(finalEmbeddings, d, train, val!.heldOut, valUsers!, val!.k ?? 20);
    history.push({ epoch, ndcg });
    if (best === null || ndcg > best.ndcg) {
      if (best) best.e0.set(e0);
      best = { epoch, ndcg, e0: best?.e0 ?? e0.slice() };
      misses = 0;
    } else misses++;
    return misses < patience;
  };
  try {
    for (let epoch = 1; epoch <= params.epochs && !stopped; epoch++) {
      shuffleInPlace(order, rng);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < nnz; start += batchSize) {
        const size = Math.min(batchSize, nnz - start);
        const bu = users.subarray(0, size);
        const bp = pos.subarray(0, size);
        const bn = neg.subarray(0, size * negatives);
        for (let b = 0; b < size; b++) {
          const p = order[start + b]!;
          bu[b] = pairUser[p]!;
          bp[b] = train.indices[p]!;
        }
        sampleNegatives(train, bu, negatives, rng, bn);
        lossSum += await lossAndGrad({ users: bu, pos: bp, neg: bn, negatives });
        batches++;
        step++;
        if (adam) {
          const c1 = 1 - Math.pow(beta1, step);
          const c2 = 1 - Math.pow(beta2, step);
          await run({ op: 'adam', units: rowUnits, stepSize: (lr * Math.sqrt(c2)) / c1, epsHat: eps * Math.sqrt(c2), beta1, beta2 });
        } else await run({ op: 'sgd', units: rowUnits, stepSize: lr, epsHat: 0, beta1: 0, beta2: 0 });
        if (params.signal?.aborted) {
          stopped = true;
          break;
        }
      }
      epochsRun = epoch;
      if (stopped) break;
      let validationNdcg: number | undefined;
      if (valUsers && valUsers.length > 0 && (epoch % every === 0 || epoch === params.epochs)) {
        if (!(await validate(epoch))) stopped = true;
        validationNdcg = history[history.length - 1]!.ndcg;
      }
      const keepGoing = params.onEpoch?.({
        epoch,
        loss: lossSum / Math.max(1, batches),
        seconds: (performance.now() - t0) / 1000,
        ...(validationNdcg === undefined ? {} : { validationNdcg }),
      });
      if (keepGoing === false) stopped = true;
    }
    // the best measurement's embeddings (training went on for `patience` measurements past it)
    const kept = best as { epoch: number; e0: Float32Array } | null;
    if (kept && kept.epoch !== epochsRun) e0.set(kept.e0);
    await propagate();
    unpadRows(fin, stride, d, finalEmbeddings);
    const egoEmbeddings = unpadRows(e0, stride, d); // out of the shared memory, so that memory can be freed
    const userPart = finalEmbeddings.subarray(0, nUsers * d);
    const score = createDotScorer(finalEmbeddings.subarray(nUsers * d), d);
    return {
      embeddingDim: d,
      egoEmbeddings,
      finalEmbeddings,
      epochsRun,
      bestEpoch: kept?.epoch ?? epochsRun,
      validation: history,
      threads,
      scoreBatch: (userIds, out) => score(userPart, userIds, out),
    };
  } finally {
    await pool?.close();
  }
}
