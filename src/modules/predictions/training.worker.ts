/**
 * The predictions worker thread: runs a training run or a drift measurement off the API's event loop, streams
 * progress messages and posts the result. Terminated on cancel.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { measureDrift, type DriftRunInput } from './drift.run.ts';
import { runTraining, type TrainRunInput } from './training.run.ts';

export type WorkerTask = { task: 'train'; input: TrainRunInput } | { task: 'drift'; input: DriftRunInput };

const port = parentPort;
if (port) {
  try {
    const data = workerData as WorkerTask;
    let last = { stage: '', fraction: -1 };
    const progress = (stage: string, fraction: number) => {
      // every GBT round reports: pass on stage changes and whole percents only
      if (stage === last.stage && fraction - last.fraction < 0.01) return;
      last = { stage, fraction };
      port.postMessage({ kind: 'progress', stage, fraction });
    };
    const result = data.task === 'train' ? runTraining(data.input, progress) : measureDrift(data.input);
    port.postMessage({ kind: 'done', result, threadId });
  } catch (err) {
    port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
