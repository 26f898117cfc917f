import { availableParallelism } from 'node:os';
import { type Worker, parentPort } from 'node:worker_threads';
import { startWorker } from './worker-thread.ts';

/**
 * A fixed pool of worker threads for numeric kernels. Inputs travel as SharedArrayBuffers (no copy),
 * so a task message is small: typically a range of rows and buffer offsets. Workers are plain modules
 * that call `serveKernelTasks`; `.ts` workers are started through tsx's loader, so the same code runs
 * under `tsx`, vitest and plain Node on compiled `.js`.
 */
export interface KernelPool {
  readonly size: number;
  /** Runs `payloads[i]` on worker i (payloads.length <= size) and resolves with their results. */
  runEach<R>(payloads: readonly unknown[]): Promise<R[]>;
  /** Sends the same payload to every worker. */
  broadcast<R>(payload: unknown): Promise<R[]>;
  /** Terminates the workers. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly message?: string;
}

/** Default pool size: every core the process may use. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Starts `size` workers running the module at `url`, each receiving `workerData` (put the shared
 * buffers there). Tasks reject with the worker's error message; a crashed worker rejects all its
 * pending tasks.
 */
export function createKernelPool(url: URL, size: number, workerData: unknown): KernelPool {
  if (!(size >= 1)) throw new RangeError('createKernelPool: size must be at least 1');
  const workers: Worker[] = [];
  const pending: Map<number, Pending>[] = [];
  let nextId = 0;
  for (let w = 0; w < size; w++) {
    const worker = startWorker(url, { workerData });
    const waiting = new Map<number, Pending>();
    worker.on('message', (reply: Reply) => {
      const p = waiting.get(reply.id);
      if (!p) return;
      waiting.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.message ?? 'kernel worker failed'));
    });
    const failAll = (error: Error): void => {
      for (const p of waiting.values()) p.reject(error);
      waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (waiting.size > 0) failAll(new Error(`kernel worker exited with code ${code}`));
    });
    workers.push(worker);
    pending.push(waiting);
  }
  const send = (w: number, payload: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending[w]!.set(id, { resolve, reject });
      workers[w]!.postMessage({ id, payload });
    });
  return {
    size,
    runEach: async <R>(payloads: readonly unknown[]) => {
      if (payloads.length > size) throw new RangeError(`runEach: ${payloads.length} payloads for ${size} workers`);
      return (await Promise.all(payloads.map((p, w) => send(w, p)))) as R[];
    },
    broadcast: async <R>(payload: unknown) => (await Promise.all(workers.map((_, w) => send(w, payload)))) as R[],
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Worker side: answers each task message with `handler(payload)`. Call once at a worker module's
 * top level.
 */
export function serveKernelTasks(handler: (payload: unknown) => unknown): void {
  const port = parentPort;
  if (!port) throw new Error('serveKernelTasks: not inside a worker thread');
  port.on('message', async (msg: { id: number; payload: unknown }) => {
    try {
      const value = await handler(msg.payload);
      port.postMessage({ id: msg.id, ok: true, value } satisfies Reply);
    } catch (error) {
      port.postMessage({ id: msg.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies Reply);
    }
  });
}

/** Splits [0, n) into `parts` contiguous ranges of near-equal size (some may be empty). */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p < parts; p++) out.push([Math.floor((n * p) / parts), Math.floor((n * (p + 1)) / parts)]);
  return out;
}

type SharedCapable = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * A copy of `a` backed by a SharedArrayBuffer (returned as is if it already is), so worker threads
 * can read it without copying. O(n).
 */
export function shareArray<T extends SharedCapable>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}
