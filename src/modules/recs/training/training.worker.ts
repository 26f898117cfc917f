/**
 * The training worker thread: receives a snapshot, runs `trainModel` off the API's event loop, streams
 * progress messages and returns the artifact bytes (transferred, not copied). Terminated on cancel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../../../ml/worker-thread.ts';
import type { WorkerInput } from './training.thread.ts';
import { trainModel } from './training.run.ts';

const port = parentPort;
if (port) {
  // the lowest CPU priority (Linux, this thread only): the API's thread gets the cores it wants, training the rest
  const { nice, ...input } = workerData as WorkerInput;
  lowerThreadPriority(nice);
  try {
    const out = await trainModel(
      input,
      (p) => port.postMessage({ kind: 'progress', progress: p }),
      () => false,
    );
    const bytes = new Uint8Array(out.artifact.buffer, out.artifact.byteOffset, out.artifact.byteLength).slice();
    port.postMessage({ kind: 'done', result: { ...out, artifact: bytes } }, [bytes.buffer]);
  } catch (err) {
    port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
