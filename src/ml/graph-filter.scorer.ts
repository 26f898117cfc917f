import type { Csr } from './csr.ts';
import type { BatchScorer } from './eval.ts';
import { fitGraphFilterModel, type GraphFilterModel, type GraphFilterOptions } from './graph-filter.ts';
import { createKernelPool, defaultPoolSize, shareArray, splitRange } from './parallel.ts';
import { packPanels8 } from './simd.ts';
import { siblingModule } from './worker-thread.ts';

/** A fitted model that scores batches of users; `close` stops its worker threads. */
export interface ParallelScorer {
  readonly scoreBatch: BatchScorer;
  close(): Promise<void>;
}

function shareCsr(m: Csr): Csr {
  return { rows: m.rows, cols: m.cols, indptr: shareArray(m.indptr), indices: shareArray(m.indices), data: shareArray(m.data) };
}

/**
 * Scores with a fitted graph filter on `workers` threads: each batch is split into contiguous
 * user ranges, one per worker; a worker computes groups of `group` users (a multiple of 4) with the
 * SIMD GEMM for the low-rank term, a sparse scatter for the linear term and, with exact sharpening,
 * two SIMD sparse products with R̃. The output passed to `scoreBatch` must be backed by a
 * SharedArrayBuffer (as `evaluateTopK` allocates it).
 * Per batch of B users: O(B x k x items) for the GEMM plus O(sum over their items of nnz(P̃ row)),
 * plus O(B x 2 nnz(R̃)) with exact sharpening.
 */
export function createGraphFilterScorer(
  model: GraphFilterModel,
  users: Csr,
  options: { workers?: number; group?: number } = {},
): ParallelScorer {
  const workers = options.workers ?? defaultPoolSize();
  const group = options.group ?? 32;
  if (group % 4 !== 0) throw new RangeError('createGraphFilterScorer: group must be a multiple of 4');
  const n = model.items;
  const k = model.rank;
  const chunks = Math.ceil(n / 8);
  const panels = new Float32Array(new SharedArrayBuffer(chunks * k * 8 * 4));
  packPanels8(model.right, k, n, 0, chunks, panels, 0);
  const pool = createKernelPool(siblingModule(import.meta.url, 'graph-filter.worker'), workers, {
    items: n,
    rank: k,
    chunks,
    group,
    users: shareCsr(users),
    linear: shareCsr(model.linear),
    left: shareArray(model.left),
    rightPanels: panels,
    exact: model.exact ? { weight: model.exact.weight, normalized: shareCsr(model.exact.normalized) } : undefined,
  });
  const scoreBatch: BatchScorer = async (userIds, out) => {
    if (!(out.buffer instanceof SharedArrayBuffer)) throw new TypeError('graph-filter scoreBatch: out must be SharedArrayBuffer-backed');
    const ranges = splitRange(userIds.length, pool.size).filter(([a, b]) => b > a);
    await pool.runEach(ranges.map(([a, b]) => ({ userIds: userIds.slice(a, b), out: out.subarray(a * n, b * n) })));
  };
  return { scoreBatch, close: () => pool.close() };
}

/**
 * Fits a graph filter on `train` (users x items) and starts its parallel scorer.
 * See `fitGraphFilterModel` for the options and their defaults.
 */
export function fitGraphFilter(
  train: Csr,
  options: GraphFilterOptions & { workers?: number } = {},
): ParallelScorer & { model: GraphFilterModel } {
  const fitted = fitGraphFilterModel(train, options);
  // keep one (shared) copy of the big arrays: the workers read them, the caller may too
  const model: GraphFilterModel = {
    ...fitted,
    linear: shareCsr(fitted.linear),
    left: shareArray(fitted.left),
    right: shareArray(fitted.right),
    ...(fitted.exact ? { exact: { weight: fitted.exact.weight, normalized: shareCsr(fitted.exact.normalized) } } : {}),
  };
  const workers = options.workers;
  return { model, ...createGraphFilterScorer(model, train, workers === undefined ? {} : { workers }) };
}
