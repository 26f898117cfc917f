import { siblingModule, startWorker } from '../../ml/worker-thread.ts';
import type { DriftRunInput, DriftRunOutput } from './drift.run.ts';
import type { TrainRunInput, TrainRunOutput } from './training.run.ts';
import type { WorkerTask } from './training.worker.ts';

/** A worker result with the id of the thread that computed it (never the API's: tests hold us to it). */
export type InThread<T> = T & { threadId: number };

function run<T>(task: WorkerTask, onProgress: (stage: string, fraction: number) => void, signal: AbortSignal): Promise<InThread<T>> {
  const worker = startWorker(siblingModule(import.meta.url, 'training.worker'), { workerData: task });
  return new Promise<InThread<T>>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    const onAbort = (): void => finish(() => reject(new Error('cancelled')));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    worker.on('message', (m: { kind: string; stage?: string; fraction?: number; result?: T; threadId?: number; message?: string }) => {
      if (m.kind === 'progress') onProgress(m.stage!, m.fraction!);
      else if (m.kind === 'done') finish(() => resolve({ ...(m.result as T), threadId: m.threadId! }));
      else if (m.kind === 'error') finish(() => reject(new Error(m.message ?? 'predictions worker failed')));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`predictions worker exited (${code})`))));
  });
}

/**
 * Runs `runTraining` in a worker thread (never on the API's event loop, so serving stays responsive while a
 * tenant trains). Aborting `signal` terminates the thread at once and rejects with "cancelled".
 */
export const trainInWorker = (input: TrainRunInput, onProgress: (stage: string, fraction: number) => void, signal: AbortSignal) =>
  run<TrainRunOutput>({ task: 'train', input }, onProgress, signal);

/** Scores the population now and measures each model's drift, in a worker thread. */
export const driftInWorker = (input: DriftRunInput, signal: AbortSignal) => run<DriftRunOutput>({ task: 'drift', input }, () => {}, signal);
