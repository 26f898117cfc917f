import { BACKGROUND_NICE, siblingModule, startWorker } from '../../../ml/worker-thread.ts';
import type { FitProgress } from '../recs.models.ts';
import type { TrainInput, TrainOutput } from './training.run.ts';

/** The worker's data: the run's input and the thread's nice value (see lowerThreadPriority). */
export type WorkerInput = TrainInput & { nice: number };

/**
 * Runs `trainModel` in a worker thread (never on the API's event loop). Under tsx the `.ts` worker is started
 * with tsx's loader; compiled builds start the `.js` sibling. Aborting `signal` terminates the thread at once.
 */
export function trainInWorker(
  input: TrainInput,
  onProgress: (p: FitProgress & { phase: string }) => void,
  signal: AbortSignal,
  nice: number = BACKGROUND_NICE,
): Promise<TrainOutput> {
  const url = siblingModule(import.meta.url, 'training.worker');
  const snapshotArrays = [
    input.snapshot.u.buffer,
    input.snapshot.i.buffer,
    input.snapshot.w.buffer,
    input.snapshot.t.buffer,
  ] as ArrayBuffer[];
  const worker = startWorker(url, { workerData: { ...input, nice } satisfies WorkerInput, transferList: snapshotArrays });
  return new Promise<TrainOutput>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      f();
    };
    const onAbort = (): void => {
      void worker.terminate();
      finish(() => reject(new Error('cancelled')));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    worker.on(
      'message',
      (m: {
        kind: string;
        progress?: FitProgress & { phase: string };
        result?: TrainOutput & { artifact: Uint8Array };
        message?: string;
      }) => {
        if (m.kind === 'progress' && m.progress) onProgress(m.progress);
        else if (m.kind === 'done' && m.result) {
          const r = m.result;
          finish(() => resolve({ ...r, artifact: Buffer.from(r.artifact.buffer, r.artifact.byteOffset, r.artifact.byteLength) }));
          void worker.terminate();
        } else if (m.kind === 'error') finish(() => reject(new Error(m.message ?? 'training failed')));
      },
    );
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited (${code})`))));
  });
}
