import { getPriority } from 'node:os';
import type { Csr } from './csr.ts';
import { createKernelPool, shareArray } from './parallel.ts';
import { siblingModule } from './worker-thread.ts';

/**
 * The work of an iALS sweep cut into units that any thread may take in any order (the units of a
 * half-step are independent), so that the result does not depend on the thread count:
 * - a Gram matrix FᵀF is summed over `gramBlocks` fixed row blocks, each block's partial product
 *   written to its own slot of `partials` and the slots added in block order by the caller;
 * - a half-step's rows are solved in `rowChunks` chunks, each row from the shared Gram matrix, the
 *   row's interactions and the other side's fixed factors only.
 * Threads take the next unit from a shared counter (`Atomics.add`), so a thread slowed by other load
 * takes fewer units instead of holding the others up. This file knows the shared state and the
 * pool; the arithmetic is `ials.ts`'s, run by `ials.worker.ts` and by the calling thread, which takes
 * units beside the workers (all of them while the workers start up).
 */
export interface IalsShared {
  readonly f: number;
  readonly regularization: number;
  readonly alpha: number;
  readonly regularizationExponent: number;
  readonly cgSteps: number;
  /** users x items interaction weights, and their transpose. */
  readonly byUser: Csr;
  readonly byItem: Csr;
  /** U x f and I x f, row-major, SharedArrayBuffer-backed. */
  readonly userFactors: Float32Array;
  readonly itemFactors: Float32Array;
  /** The Gram matrix of the fixed side for the current half-step, f x f (float64). */
  readonly gram: Float64Array;
  /** Upper triangles of the per-block partial Gram matrices, gramBlocks x f x f. */
  readonly partials: Float64Array;
  readonly gramBlocks: number;
  /** [0]: next unit to take. */
  readonly counter: Int32Array;
}

export type IalsSide = 'users' | 'items';

/** A task for every thread: take units of `op` on `side` until none is left. */
export interface IalsTask {
  readonly op: 'gram' | 'rows';
  readonly side: IalsSide;
  readonly units: number;
}

/** What a thread reports for a task: units it took and its nice value (the pool keeps the training's). */
export interface IalsTaskReport {
  readonly units: number;
  readonly nice: number;
}

/** Fixed row blocks of the Gram sum (independent of the thread count, so the sum order is too). */
export const IALS_GRAM_BLOCKS = 32;

function shareCsr(m: Csr): Csr {
  return { rows: m.rows, cols: m.cols, indptr: shareArray(m.indptr), indices: shareArray(m.indices), data: shareArray(m.data) };
}

/** The shared state of a fit: copies of the inputs in SharedArrayBuffers (O(nnz + (U + I) f)). */
export function createIalsShared(
  byUser: Csr,
  byItem: Csr,
  userFactors: Float32Array,
  itemFactors: Float32Array,
  params: { factors: number; regularization: number; alpha: number; regularizationExponent?: number; cgSteps: number },
): IalsShared {
  const f = params.factors;
  const gramBlocks = Math.max(1, IALS_GRAM_BLOCKS);
  return {
    f,
    regularization: params.regularization,
    alpha: params.alpha,
    regularizationExponent: params.regularizationExponent ?? 0,
    cgSteps: params.cgSteps,
    byUser: shareCsr(byUser),
    byItem: shareCsr(byItem),
    userFactors: shareArray(userFactors),
    itemFactors: shareArray(itemFactors),
    gram: new Float64Array(new SharedArrayBuffer(f * f * 8)),
    partials: new Float64Array(new SharedArrayBuffer(gramBlocks * f * f * 8)),
    gramBlocks,
    counter: new Int32Array(new SharedArrayBuffer(4)),
  };
}

/** Runs a task on every thread of a pool and resolves with their reports. */
export interface IalsThreads {
  readonly size: number;
  /** Resets the unit counter and posts `task` to every thread (synchronously: the caller may take units too). */
  run(task: IalsTask): Promise<IalsTaskReport[]>;
  close(): Promise<void>;
}

/**
 * Starts `size` worker threads (`ials.worker.ts`) over `shared`. Each lowers its CPU priority to
 * `nice` (default: the calling thread's own, so a pool started by the niced training thread stays
 * as niced as it; see `lowerThreadPriority`).
 */
export function createIalsThreads(shared: IalsShared, size: number, nice: number = getPriority()): IalsThreads {
  const pool = createKernelPool(siblingModule(import.meta.url, 'ials.worker'), size, { shared, nice });
  return {
    size,
    run: (task) => {
      Atomics.store(shared.counter, 0, 0);
      return pool.broadcast<IalsTaskReport>(task);
    },
    close: () => pool.close(),
  };
}
