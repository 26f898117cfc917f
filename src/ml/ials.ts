/**
 * Implicit-feedback ALS (Hu, Koren, Volinsky 2008) solved with a few conjugate-gradient steps per
 * row (Takács, Pilászy, Tikk 2011), as in implicit's `least_squares_cg`.
 *
 * Objective over user factors X (U x f) and item factors Y (I x f), both row-major Float32Array:
 *   L = sum over all (u, i) of c_ui (p_ui - x_u · y_i)^2 + Σ_u λ_u |x_u|^2 + Σ_i λ_i |y_i|^2
 * with p_ui = 1 and c_ui = 1 + alpha · w_ui for observed pairs (w = the Csr value, an interaction
 * weight such as view < add_to_cart < purchase; w >= 0) and p_ui = 0, c_ui = 1 otherwise.
 * λ_r = λ · (Σ over the row's columns of c)^ν: ν = 0 (default) is the classic constant λ; ν = 1 is
 * the frequency-scaled regularisation of Rendle et al. ("Revisiting the Performance of iALS", 2022).
 */
import { availableParallelism } from 'node:os';
import { csrTranspose, type Csr } from './csr.ts';
import { createIalsShared, createIalsThreads, type IalsShared, type IalsTask, type IalsThreads } from './ials.pool.ts';
import { topK, type Ranked } from './topk.ts';
import { rngMulberry32 } from './random.ts';
import { createSimdKernels } from './simd.ts';

export interface IalsParams {
  /** Latent dimension f. */
  readonly factors: number;
  /** λ, added to the diagonal of every normal equation (per row, see `regularizationExponent`). */
  readonly regularization: number;
  /** Confidence slope: c = 1 + alpha · weight. */
  readonly alpha: number;
  /** ν in λ_r = λ · (total confidence of row r)^ν. Default 0 (constant λ). */
  readonly regularizationExponent?: number;
  /** ALS sweeps (one user pass then one item pass each). */
  readonly iterations: number;
  /** CG steps per row and sweep (implicit's default is 3). */
  readonly cgSteps: number;
  /** Seed of the factor initialisation. */
  readonly seed: number;
  /** Initial factors are uniform in [0, initScale) (default 0.01, as implicit). */
  readonly initScale?: number;
  /** Warm start from a previous model on the same users and items (copied, not modified). */
  readonly initialFactors?: { readonly userFactors: Float32Array; readonly itemFactors: Float32Array };
  /** Called after every sweep; return false to stop early. `loss` is given when `computeLoss`. */
  readonly onIteration?: (progress: { iteration: number; loss: number | null; seconds: number }) => boolean | void;
  /** Compute the full loss after each sweep (costs about one extra CG step). Default false. */
  readonly computeLoss?: boolean;
  /**
   * Worker threads of the sweeps (1: on the calling thread). Default: every core the process may use
   * (`availableParallelism`) when the fit is large enough to repay starting them (`ialsDefaultThreads`), else 1.
   * The factors are the same for every thread count (see `ials.pool.ts`).
   */
  readonly threads?: number;
  /** Nice value of the worker threads (never raised above the caller's priority); default: the calling thread's. */
  readonly nice?: number;
}

/** The terms of L that a row solve needs. */
export interface IalsObjective {
  readonly regularization: number;
  readonly alpha: number;
  readonly regularizationExponent?: number;
}

/**
 * λ_r of a row with `weightSum` = Σ of its stored weights, against `nOther` columns:
 * λ · (nOther + alpha · weightSum)^ν (the row's total confidence, unobserved columns counting 1).
 */
export function ialsRowRegularization(objective: IalsObjective, nOther: number, weightSum: number): number {
  const nu = objective.regularizationExponent ?? 0;
  if (nu === 0) return objective.regularization;
  return objective.regularization * Math.pow(nOther + objective.alpha * weightSum, nu);
}

/** n x f factors, uniform in [0, scale), from `seed`. O(n f). */
export function ialsInitFactors(n: number, f: number, seed: number, scale = 0.01): Float32Array {
  const rand = rngMulberry32(seed);
  const out = new Float32Array(n * f);
  for (let k = 0; k < out.length; k++) out[k] = rand() * scale;
  return out;
}

/**
 * Gram matrix FᵀF + λI of n x f row-major factors, f x f in float64 (symmetric, full storage).
 * O(n f^2 / 2).
 */
export function factorGram(factors: Float32Array, n: number, f: number, regularization: number, out?: Float64Array): Float64Array {
  if (factors.length !== n * f) throw new RangeError(`factorGram: factors has ${factors.length}, expected ${n * f}`);
  const g = out ?? new Float64Array(f * f);
  if (g.length !== f * f) throw new RangeError(`factorGram: out has ${g.length}, expected ${f * f}`);
  g.fill(0);
  const row = new Float64Array(f);
  for (let r = 0; r < n; r++) {
    const base = r * f;
    for (let a = 0; a < f; a++) row[a] = factors[base + a]!;
    for (let a = 0; a < f; a++) {
      const va = row[a]!;
      if (va === 0) continue;
      const ga = a * f;
      for (let b = a; b < f; b++) g[ga + b]! += va * row[b]!;
    }
  }
  for (let a = 0; a < f; a++) {
    g[a * f + a]! += regularization;
    for (let b = a + 1; b < f; b++) g[b * f + a] = g[a * f + b]!;
  }
  return g;
}

/**
 * Upper triangle of Σ over rows [rowStart, rowEnd) of f_r f_rᵀ (float64) into out[outOffset .. + f * f)
 * (overwritten; the lower triangle is left zero). One block of a Gram sum. O((rowEnd - rowStart) f^2 / 2).
 */
export function factorGramRows(factors: Float32Array, f: number, rowStart: number, rowEnd: number, out: Float64Array, outOffset = 0): void {
  if (rowEnd * f > factors.length || out.length < outOffset + f * f) throw new RangeError('factorGramRows: shapes do not match');
  out.fill(0, outOffset, outOffset + f * f);
  const row = new Float64Array(f);
  for (let r = rowStart; r < rowEnd; r++) {
    const base = r * f;
    for (let a = 0; a < f; a++) row[a] = factors[base + a]!;
    for (let a = 0; a < f; a++) {
      const va = row[a]!;
      if (va === 0) continue;
      const ga = outOffset + a * f;
      for (let b = a; b < f; b++) out[ga + b]! += va * row[b]!;
    }
  }
}

/** Rows [from, to) of unit `unit` when n rows are cut into `units` near-equal contiguous units. */
function unitRows(n: number, units: number, unit: number): [number, number] {
  return [Math.floor((n * unit) / units), Math.floor((n * (unit + 1)) / units)];
}

/**
 * One unit of an iALS sweep on the shared state (see `ials.pool.ts`): a Gram block of `task.side`'s
 * factors into its slot of `partials`, or a chunk of `task.side`'s rows solved against the other side
 * and `gram`. Any thread may run any unit; the result does not depend on which.
 */
export function ialsRunUnit(s: IalsShared, task: IalsTask, unit: number): void {
  const users = task.side === 'users';
  if (task.op === 'gram') {
    const factors = users ? s.userFactors : s.itemFactors;
    const [from, to] = unitRows(factors.length / s.f, task.units, unit);
    factorGramRows(factors, s.f, from, to, s.partials, unit * s.f * s.f);
    return;
  }
  const m = users ? s.byUser : s.byItem;
  const [from, to] = unitRows(m.rows, task.units, unit);
  ialsUpdateRows(users ? s.userFactors : s.itemFactors, users ? s.itemFactors : s.userFactors, s.f, s.gram, m, s, s.cgSteps, from, to);
}

/** Takes units of `task` from the shared counter until none is left; returns how many this thread ran. */
export function ialsTakeUnits(s: IalsShared, task: IalsTask): number {
  let ran = 0;
  for (;;) {
    const unit = Atomics.add(s.counter, 0, 1);
    if (unit >= task.units) return ran;
    ialsRunUnit(s, task, unit);
    ran++;
  }
}

/** gram = Σ of the `blocks` partial upper triangles in block order, mirrored to full storage. O(blocks f^2). */
function sumGramBlocks(s: IalsShared, blocks: number): void {
  const f = s.f;
  const ff = f * f;
  const g = s.gram;
  g.fill(0);
  for (let b = 0; b < blocks; b++) {
    const off = b * ff;
    for (let a = 0; a < f; a++) for (let c = a; c < f; c++) g[a * f + c]! += s.partials[off + a * f + c]!;
  }
  for (let a = 0; a < f; a++) for (let c = a + 1; c < f; c++) g[c * f + a] = g[a * f + c]!;
}

/**
 * Threads for a fit of this size when the caller does not say: one below about 10¹⁰ multiply-adds in all
 * (several seconds on one core: two pool threads took 4-5 s of wall and 1-4 s of CPU to start from TypeScript
 * sources at load 25, and cost more than they save on a small fit), else every core.
 */
export function ialsDefaultThreads(train: Csr, f: number, iterations: number, cgSteps: number): number {
  const work = iterations * (cgSteps + 1) * ((train.rows + train.cols) * f * f + 4 * train.indices.length * f);
  return work < 1e10 ? 1 : Math.max(1, availableParallelism());
}

/** Scratch vectors for one CG row solve; reuse across rows to avoid allocation. */
export interface CgScratch {
  readonly x: Float64Array;
  readonly r: Float64Array;
  readonly p: Float64Array;
  readonly ap: Float64Array;
}

export function cgScratch(f: number): CgScratch {
  return { x: new Float64Array(f), r: new Float64Array(f), p: new Float64Array(f), ap: new Float64Array(f) };
}

/**
 * One CG-iALS row update, in place: x (row `row` of `target`, warm start) moves `cgSteps` CG steps
 * towards the solution of (G + λ_r I + Σ_i (c_i - 1) y_i y_iᵀ) x = Σ_i c_i y_i, where i runs over
 * the entries `cols[start..end)` with weights `vals`, y_i are rows of `other`, G = `gram` (YᵀY).
 * O(cgSteps · (f^2 + nnz · f)).
 */
export function ialsCgRow(
  target: Float32Array,
  row: number,
  other: Float32Array,
  f: number,
  gram: Float64Array,
  cols: Int32Array,
  vals: Float32Array,
  start: number,
  end: number,
  alpha: number,
  rowReg: number,
  cgSteps: number,
  s: CgScratch,
): void {
  const x = s.x;
  const r = s.r;
  const p = s.p;
  const ap = s.ap;
  const base = row * f;
  for (let a = 0; a < f; a++) x[a] = target[base + a]!;
  // r = b - A x = -(G + λ_r I) x + Σ (c - (c - 1) y·x) y
  for (let a = 0; a < f; a++) {
    let acc = rowReg * x[a]!;
    const ga = a * f;
    for (let b = 0; b < f; b++) acc += gram[ga + b]! * x[b]!;
    r[a] = -acc;
  }
  for (let q = start; q < end; q++) {
    const yb = cols[q]! * f;
    const c = 1 + alpha * vals[q]!;
    let dot = 0;
    for (let a = 0; a < f; a++) dot += other[yb + a]! * x[a]!;
    const coef = c - (c - 1) * dot;
    for (let a = 0; a < f; a++) r[a]! += coef * other[yb + a]!;
  }
  let rsOld = 0;
  for (let a = 0; a < f; a++) {
    p[a] = r[a]!;
    rsOld += r[a]! * r[a]!;
  }
  if (rsOld < 1e-20) return;
  for (let step = 0; step < cgSteps; step++) {
    // ap = A p
    for (let a = 0; a < f; a++) {
      let acc = rowReg * p[a]!;
      const ga = a * f;
      for (let b = 0; b < f; b++) acc += gram[ga + b]! * p[b]!;
      ap[a] = acc;
    }
    for (let q = start; q < end; q++) {
      const yb = cols[q]! * f;
      const cm1 = alpha * vals[q]!;
      let dot = 0;
      for (let a = 0; a < f; a++) dot += other[yb + a]! * p[a]!;
      const coef = cm1 * dot;
      for (let a = 0; a < f; a++) ap[a]! += coef * other[yb + a]!;
    }
    let pAp = 0;
    for (let a = 0; a < f; a++) pAp += p[a]! * ap[a]!;
    if (!(pAp > 0)) break;
    const stepSize = rsOld / pAp;
    let rsNew = 0;
    for (let a = 0; a < f; a++) {
      x[a]! += stepSize * p[a]!;
      r[a]! -= stepSize * ap[a]!;
      rsNew += r[a]! * r[a]!;
    }
    if (rsNew < 1e-20) break;
    const beta = rsNew / rsOld;
    for (let a = 0; a < f; a++) p[a] = r[a]! + beta * p[a]!;
    rsOld = rsNew;
  }
  for (let a = 0; a < f; a++) target[base + a] = x[a]!;
}

/**
 * Updates rows [rowStart, rowEnd) of `target` (n x f) against fixed `other` (m x f), where
 * `interactions` is n x m with weights as values and `gram` = otherᵀ other (`factorGram`, λ = 0).
 * The unit a worker thread can take.
 */
export function ialsUpdateRows(
  target: Float32Array,
  other: Float32Array,
  f: number,
  gram: Float64Array,
  interactions: Csr,
  objective: IalsObjective,
  cgSteps: number,
  rowStart = 0,
  rowEnd = interactions.rows,
): void {
  if (target.length !== interactions.rows * f || other.length !== interactions.cols * f) {
    throw new RangeError(`ialsUpdateRows: factor shapes do not match the ${interactions.rows}x${interactions.cols} interactions`);
  }
  const s = cgScratch(f);
  const ptr = interactions.indptr;
  const vals = interactions.data;
  const alpha = objective.alpha;
  const scaled = (objective.regularizationExponent ?? 0) !== 0;
  let rowReg = objective.regularization;
  for (let u = rowStart; u < rowEnd; u++) {
    const start = ptr[u]!;
    const end = ptr[u + 1]!;
    if (scaled) rowReg = ialsRowRegularization(objective, interactions.cols, sumRange(vals, start, end));
    ialsCgRow(target, u, other, f, gram, interactions.indices, vals, start, end, alpha, rowReg, cgSteps, s);
  }
}

function sumRange(v: Float32Array, start: number, end: number): number {
  let s = 0;
  for (let p = start; p < end; p++) s += v[p]!;
  return s;
}

/**
 * The iALS objective L (see the file header) in float64. O(U f^2 + I f^2 + nnz f).
 */
export function ialsLoss(userFactors: Float32Array, itemFactors: Float32Array, f: number, train: Csr, objective: IalsObjective): number {
  const alpha = objective.alpha;
  const nUsers = train.rows;
  const nItems = train.cols;
  const gram = factorGram(itemFactors, nItems, f, 0);
  let loss = 0;
  const x = new Float64Array(f);
  for (let u = 0; u < nUsers; u++) {
    const base = u * f;
    let norm = 0;
    for (let a = 0; a < f; a++) {
      x[a] = userFactors[base + a]!;
      norm += x[a]! * x[a]!;
    }
    // Σ_i (x·y_i)^2 over all items = xᵀ (YᵀY) x
    let quad = 0;
    for (let a = 0; a < f; a++) {
      let acc = 0;
      for (let b = 0; b < f; b++) acc += gram[a * f + b]! * x[b]!;
      quad += x[a]! * acc;
    }
    const s = train.indptr[u]!;
    const e = train.indptr[u + 1]!;
    loss += quad + ialsRowRegularization(objective, nItems, sumRange(train.data, s, e)) * norm;
    for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) {
      const yb = train.indices[p]! * f;
      let sc = 0;
      for (let a = 0; a < f; a++) sc += x[a]! * itemFactors[yb + a]!;
      const c = 1 + alpha * train.data[p]!;
      loss += c * (1 - sc) * (1 - sc) - sc * sc;
    }
  }
  const itemWeights = new Float64Array(nItems);
  for (let p = 0; p < train.indices.length; p++) itemWeights[train.indices[p]!]! += train.data[p]!;
  for (let i = 0; i < nItems; i++) {
    let norm = 0;
    for (let a = 0; a < f; a++) norm += itemFactors[i * f + a]! * itemFactors[i * f + a]!;
    loss += ialsRowRegularization(objective, nUsers, itemWeights[i]!) * norm;
  }
  return loss;
}

/**
 * Exact fold-in: the least-squares user vector for interactions (itemIds, weights) against fixed
 * item factors, i.e. the minimiser of the user's part of L. `gram` is YᵀY (`factorGram`, λ = 0).
 * Builds A = G + λ_u I + Σ (c - 1) y yᵀ and solves by Cholesky: O(nnz f^2 / 2 + f^3 / 6); about 0.1 ms
 * for f = 64 and 50 items. This is the real-time update path. Returns `out` (length f).
 */
export function ialsFoldIn(
  itemFactors: Float32Array,
  f: number,
  gram: Float64Array,
  itemIds: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  objective: IalsObjective,
  out: Float32Array = new Float32Array(f),
): Float32Array {
  if (gram.length !== f * f) throw new RangeError(`ialsFoldIn: gram has ${gram.length}, expected ${f * f}`);
  if (out.length !== f) throw new RangeError(`ialsFoldIn: out has ${out.length}, expected ${f}`);
  if (weights && weights.length !== itemIds.length) throw new RangeError('ialsFoldIn: itemIds and weights differ in length');
  const nItems = itemFactors.length / f;
  const n = itemIds.length;
  const alpha = objective.alpha;
  let weightSum = 0;
  for (let t = 0; t < n; t++) weightSum += weights ? weights[t]! : 1;
  const rowReg = ialsRowRegularization(objective, nItems, weightSum);
  const a = Float64Array.from(gram);
  for (let k = 0; k < f; k++) a[k * f + k]! += rowReg;
  const b = new Float64Array(f);
  // ysT (f x n, rows padded to even): column t is sqrt(c_t - 1) · y_t, so Σ (c - 1) y yᵀ = ysT ysTᵀ
  const fp = f + (f & 1);
  const ysT = new Float64Array(fp * n);
  for (let t = 0; t < n; t++) {
    const i = itemIds[t]!;
    if (i < 0 || i >= nItems) throw new RangeError(`ialsFoldIn: item ${i} outside ${nItems}`);
    const cm1 = alpha * (weights ? weights[t]! : 1);
    if (!(cm1 >= 0)) throw new RangeError(`ialsFoldIn: alpha · weight must be >= 0, got ${cm1}`);
    const c = 1 + cm1;
    const sq = Math.sqrt(cm1);
    const yb = i * f;
    for (let r = 0; r < f; r++) {
      const yr = itemFactors[yb + r]!;
      b[r]! += c * yr;
      ysT[r * n + t] = sq * yr;
    }
  }
  // lower triangle of ysT ysTᵀ in 2x2 blocks: four multiply-adds per four loads
  for (let r0 = 0; r0 < f; r0 += 2) {
    const r1 = r0 + 1;
    const pr0 = r0 * n;
    const pr1 = r1 * n;
    for (let k0 = 0; k0 <= r0; k0 += 2) {
      const pk0 = k0 * n;
      const pk1 = pk0 + n;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < n; t++) {
        const x0 = ysT[pr0 + t]!;
        const x1 = ysT[pr1 + t]!;
        const z0 = ysT[pk0 + t]!;
        const z1 = ysT[pk1 + t]!;
        s00 += x0 * z0;
        s01 += x0 * z1;
        s10 += x1 * z0;
        s11 += x1 * z1;
      }
      a[r0 * f + k0]! += s00;
      if (k0 + 1 < r0 + 1) a[r0 * f + k0 + 1]! += s01;
      if (r1 < f) {
        a[r1 * f + k0]! += s10;
        if (k0 + 1 < f) a[r1 * f + k0 + 1]! += s11;
      }
    }
  }
  choleskySolveLower(a, f, b);
  for (let k = 0; k < f; k++) out[k] = b[k]!;
  return out;
}

/**
 * Solves A x = b in place (b becomes x) for symmetric positive definite A, reading only A's lower
 * triangle and overwriting it with L (A = L Lᵀ). O(f^3 / 6).
 */
function choleskySolveLower(a: Float64Array, f: number, b: Float64Array): void {
  for (let j = 0; j < f; j++) {
    const jb = j * f;
    let d = a[jb + j]!;
    for (let k = 0; k < j; k++) d -= a[jb + k]! * a[jb + k]!;
    if (!(d > 0)) throw new RangeError('ialsFoldIn: normal equations are not positive definite (regularization must be > 0)');
    const ljj = Math.sqrt(d);
    a[jb + j] = ljj;
    for (let i = j + 1; i < f; i++) {
      const ib = i * f;
      let s = a[ib + j]!;
      for (let k = 0; k < j; k++) s -= a[ib + k]! * a[jb + k]!;
      a[ib + j] = s / ljj;
    }
  }
  for (let i = 0; i < f; i++) {
    const ib = i * f;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[ib + k]! * b[k]!;
    b[i] = s / a[ib + i]!;
  }
  for (let i = f - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < f; k++) s -= a[k * f + i]! * b[k]!;
    b[i] = s / a[i * f + i]!;
  }
}

/**
 * Dense dot-product scores: out[b, j] = vectors[rowIds[b]] · itemFactors[j], out row-major
 * rowIds.length x I. Register-tiled 4 rows x 2 items (eight accumulators share six loads per step).
 * O(batch · I · f).
 */
export function scoreDotBatch(vectors: Float32Array, itemFactors: Float32Array, f: number, rowIds: Int32Array, out: Float32Array): void {
  const nItems = itemFactors.length / f;
  if (out.length !== rowIds.length * nItems)
    throw new RangeError(`scoreDotBatch: out has ${out.length}, expected ${rowIds.length * nItems}`);
  const nVec = vectors.length / f;
  for (let b = 0; b < rowIds.length; b++) {
    if (rowIds[b]! < 0 || rowIds[b]! >= nVec) throw new RangeError(`scoreDotBatch: row ${rowIds[b]} outside ${nVec}`);
  }
  let b = 0;
  for (; b + 4 <= rowIds.length; b += 4) {
    const u0 = rowIds[b]! * f;
    const u1 = rowIds[b + 1]! * f;
    const u2 = rowIds[b + 2]! * f;
    const u3 = rowIds[b + 3]! * f;
    const o0 = b * nItems;
    const o1 = o0 + nItems;
    const o2 = o1 + nItems;
    const o3 = o2 + nItems;
    let j = 0;
    for (; j + 2 <= nItems; j += 2) {
      const ja = j * f;
      const jb = ja + f;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let k = 0; k < f; k++) {
        const ya = itemFactors[ja + k]!;
        const yb = itemFactors[jb + k]!;
        const x0 = vectors[u0 + k]!;
        const x1 = vectors[u1 + k]!;
        const x2 = vectors[u2 + k]!;
        const x3 = vectors[u3 + k]!;
        a0 += x0 * ya;
        a1 += x1 * ya;
        a2 += x2 * ya;
        a3 += x3 * ya;
        b0 += x0 * yb;
        b1 += x1 * yb;
        b2 += x2 * yb;
        b3 += x3 * yb;
      }
      out[o0 + j] = a0;
      out[o1 + j] = a1;
      out[o2 + j] = a2;
      out[o3 + j] = a3;
      out[o0 + j + 1] = b0;
      out[o1 + j + 1] = b1;
      out[o2 + j + 1] = b2;
      out[o3 + j + 1] = b3;
    }
    for (; j < nItems; j++) {
      const ja = j * f;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < f; k++) {
        const ya = itemFactors[ja + k]!;
        a0 += vectors[u0 + k]! * ya;
        a1 += vectors[u1 + k]! * ya;
        a2 += vectors[u2 + k]! * ya;
        a3 += vectors[u3 + k]! * ya;
      }
      out[o0 + j] = a0;
      out[o1 + j] = a1;
      out[o2 + j] = a2;
      out[o3 + j] = a3;
    }
  }
  for (; b < rowIds.length; b++) {
    const u0 = rowIds[b]! * f;
    const o0 = b * nItems;
    for (let j = 0; j < nItems; j++) {
      const jb = j * f;
      let s0 = 0;
      for (let k = 0; k < f; k++) s0 += vectors[u0 + k]! * itemFactors[jb + k]!;
      out[o0 + j] = s0;
    }
  }
}

/**
 * A faster `scoreDotBatch` for fixed item factors: the item factors are packed once into 8-item
 * panels inside a WebAssembly memory and every group of up to 32 rows is scored with the SIMD GEMM
 * of `simd.ts` (several times the scalar loop's speed). Returns a scorer with `scoreDotBatch`'s
 * contract: out[b, j] = vectors[rowIds[b]] · itemFactors[j], row-major rowIds.length x I; `vectors`
 * may be any n x f matrix (user factors, or a single folded-in vector with rowIds = [0]).
 * Memory: I x f floats of panels plus 32 x I floats, in one WebAssembly memory (its size in `bytes`).
 */
export function createDotScorer(itemFactors: Float32Array, f: number): DotScorer {
  const steps = createDotScorerSteps(itemFactors, f);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

type DotScorer = ((vectors: Float32Array, rowIds: Int32Array, out: Float32Array) => void) & { readonly bytes: number };

/**
 * `createDotScorer` in steps: the generator yields after every `chunk` items packed, so a caller that must not
 * hold the event loop (serving, loading a Yelp2018-size factor model: ~2.4M floats packed twice) can give it turns.
 */
export function* createDotScorerSteps(itemFactors: Float32Array, f: number, chunk = 4096): Generator<void, DotScorer, void> {
  const nItems = itemFactors.length / f;
  const chunks = Math.ceil(nItems / 8);
  const group = 32;
  const panelFloats = chunks * 8 * f;
  const aFloats = group * f;
  const ldc = chunks * 8; // floats per C row
  const kern = createSimdKernels((panelFloats + aFloats + group * ldc) * 4);
  const wPtr = 0;
  const aPtr = panelFloats * 4;
  const cPtr = aPtr + aFloats * 4;
  const mem = new Float32Array(kern.memory.buffer);
  // panel q holds items 8q .. 8q + 7 as f x 8, factor-major; missing items are zero
  const panelsPerStep = Math.max(1, Math.floor(chunk / 8));
  for (let q = 0; q < chunks; q++) {
    if (q > 0 && q % panelsPerStep === 0) yield;
    const base = q * 8 * f;
    for (let j = 0; j < 8; j++) {
      const item = q * 8 + j;
      if (item >= nItems) continue;
      const ib = item * f;
      for (let p = 0; p < f; p++) mem[base + p * 8 + j] = itemFactors[ib + p]!;
    }
  }
  const aOff = aPtr / 4;
  const cOff = cPtr / 4;
  const scorer = (vectors: Float32Array, rowIds: Int32Array, out: Float32Array): void => {
    if (out.length !== rowIds.length * nItems)
      throw new RangeError(`dot scorer: out has ${out.length}, expected ${rowIds.length * nItems}`);
    const nVec = Math.floor(vectors.length / f);
    for (let start = 0; start < rowIds.length; start += group) {
      const g = Math.min(group, rowIds.length - start);
      const quads = Math.ceil(g / 4);
      // A for row group t (4 rows) is f x 4, factor-major; padding rows are zero
      for (let r = 0; r < quads * 4; r++) {
        const t = r >> 2;
        const lane = r & 3;
        const dst = aOff + t * f * 4 + lane;
        if (r < g) {
          const row = rowIds[start + r]!;
          if (row < 0 || row >= nVec) throw new RangeError(`dot scorer: row ${row} outside ${nVec}`);
          const vb = row * f;
          for (let p = 0; p < f; p++) mem[dst + p * 4] = vectors[vb + p]!;
        } else {
          for (let p = 0; p < f; p++) mem[dst + p * 4] = 0;
        }
      }
      kern.gemmPanel4x8(aPtr, wPtr, cPtr, f, chunks, ldc * 4, quads);
      for (let r = 0; r < g; r++) out.set(mem.subarray(cOff + r * ldc, cOff + r * ldc + nItems), (start + r) * nItems);
    }
  };
  return Object.assign(scorer, { bytes: kern.memory.buffer.byteLength });
}

/**
 * Items closest to `item` by cosine of their factor vectors, best first, never the item itself.
 * O(I f + I log n).
 */
export function factorSimilarItems(itemFactors: Float32Array, f: number, item: number, n: number): Ranked {
  const nItems = itemFactors.length / f;
  if (item < 0 || item >= nItems) throw new RangeError(`factorSimilarItems: item ${item} outside ${nItems}`);
  const scores = new Float32Array(nItems);
  const qb = item * f;
  let qn = 0;
  for (let k = 0; k < f; k++) qn += itemFactors[qb + k]! * itemFactors[qb + k]!;
  qn = Math.sqrt(qn);
  for (let j = 0; j < nItems; j++) {
    const jb = j * f;
    let dot = 0;
    let jn = 0;
    for (let k = 0; k < f; k++) {
      const y = itemFactors[jb + k]!;
      dot += itemFactors[qb + k]! * y;
      jn += y * y;
    }
    const denom = qn * Math.sqrt(jn);
    scores[j] = denom > 0 ? dot / denom : -Infinity;
  }
  return topK(scores, n, { exclude: [item] });
}

export interface IalsModel {
  readonly factors: number;
  /** U x f, row-major. */
  readonly userFactors: Float32Array;
  /** I x f, row-major. */
  readonly itemFactors: Float32Array;
  /** YᵀY of the final item factors, for fold-in. */
  readonly itemGram: Float64Array;
  /** Loss after each sweep when `computeLoss`, else empty. */
  readonly losses: readonly number[];
  /** Threads the sweeps ran on. */
  readonly threads: number;
  scoreBatch(userIds: Int32Array, out: Float32Array): void;
  /** A user vector from (new) interactions against the fixed item factors (exact, sub-millisecond). */
  foldInUser(itemIds: ArrayLike<number>, weights: ArrayLike<number> | null, out?: Float32Array): Float32Array;
  /** Scores one user vector (e.g. from `foldInUser`) against all items; `out` has length I. */
  scoreVector(vector: Float32Array, out: Float32Array): Float32Array;
  /** Nearest items by cosine of item factors. */
  similarItems(item: number, n: number): Ranked;
}

/**
 * Fits iALS on a U x I matrix of interaction weights on `params.threads` threads. Deterministic given
 * `seed`, whatever the thread count: every unit of a sweep is computed the same way by whichever thread
 * takes it, and the Gram matrices are summed over fixed blocks in a fixed order.
 * Per sweep O((U + I) · cgSteps · f^2 + nnz · cgSteps · f) time; O(nnz + (U + I) f) memory.
 */
export async function fitIals(train: Csr, params: IalsParams): Promise<IalsModel> {
  const f = params.factors;
  if (!(f > 0) || !Number.isInteger(f)) throw new RangeError(`fitIals: factors must be a positive integer, got ${f}`);
  if (!(params.regularization > 0)) throw new RangeError('fitIals: regularization must be > 0');
  const threads = params.threads ?? ialsDefaultThreads(train, f, params.iterations, params.cgSteps);
  if (!(threads >= 1) || !Number.isInteger(threads)) throw new RangeError(`fitIals: threads must be a positive integer, got ${threads}`);
  const nUsers = train.rows;
  const nItems = train.cols;
  const scale = params.initScale ?? 0.01;
  const init = params.initialFactors;
  if (init && (init.userFactors.length !== nUsers * f || init.itemFactors.length !== nItems * f)) {
    throw new RangeError('fitIals: initialFactors do not match the training matrix and factors');
  }
  const shared = createIalsShared(
    train,
    csrTranspose(train),
    init ? init.userFactors : ialsInitFactors(nUsers, f, params.seed, scale),
    init ? init.itemFactors : ialsInitFactors(nItems, f, (params.seed ^ 0x9e3779b9) >>> 0, scale),
    params,
  );
  // the calling thread is one of the `threads`: it takes units beside threads - 1 workers (and takes them all
  // while the workers start, so their start-up overlaps work)
  const pool: IalsThreads | null = threads > 1 ? createIalsThreads(shared, threads - 1, params.nice) : null;
  const run = async (task: IalsTask): Promise<void> => {
    if (!pool) {
      // one thread runs every unit in line, in order: the same arithmetic as the pool's
      for (let unit = 0; unit < task.units; unit++) ialsRunUnit(shared, task, unit);
      return;
    }
    const workers = pool.run(task);
    ialsTakeUnits(shared, task);
    await workers;
  };
  const blocks = (n: number): number => Math.min(shared.gramBlocks, Math.max(1, n));
  // chunks of rows: enough for every thread to take many (load balance), few enough to cost nothing
  const chunks = (n: number): number => Math.min(n, 256);
  const halfStep = async (side: 'users' | 'items'): Promise<void> => {
    const fixed = side === 'users' ? 'items' : 'users';
    const gramBlocks = blocks(fixed === 'users' ? nUsers : nItems);
    await run({ op: 'gram', side: fixed, units: gramBlocks });
    sumGramBlocks(shared, gramBlocks);
    await run({ op: 'rows', side, units: chunks(side === 'users' ? nUsers : nItems) });
  };
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let it = 0; it < params.iterations; it++) {
      await halfStep('users');
      await halfStep('items');
      let loss: number | null = null;
      if (params.computeLoss) {
        loss = ialsLoss(shared.userFactors, shared.itemFactors, f, train, params);
        losses.push(loss);
      }
      const keepGoing = params.onIteration?.({ iteration: it + 1, loss, seconds: (performance.now() - t0) / 1000 });
      if (keepGoing === false) break;
    }
  } finally {
    await pool?.close();
  }
  // out of the SharedArrayBuffers: plain arrays for the caller (artifacts, transfers)
  const userFactors = shared.userFactors.slice();
  const itemFactors = shared.itemFactors.slice();
  const itemGram = factorGram(itemFactors, nItems, f, 0);
  const score = createDotScorer(itemFactors, f);
  return {
    factors: f,
    userFactors,
    itemFactors,
    itemGram,
    losses,
    threads,
    scoreBatch: (userIds, out) => score(userFactors, userIds, out),
    foldInUser: (itemIds, weights, out) => ialsFoldIn(itemFactors, f, itemGram, itemIds, weights, params, out),
    scoreVector: (vector, out) => {
      if (vector.length !== f) throw new RangeError(`scoreVector: vector has ${vector.length}, expected ${f}`);
      score(vector, ZERO_ROW, out);
      return out;
    },
    similarItems: (item, n) => factorSimilarItems(itemFactors, f, item, n),
  };
}

const ZERO_ROW = Int32Array.of(0);
