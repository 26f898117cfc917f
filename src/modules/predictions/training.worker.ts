/**
 * The predictions worker thread: runs a training run or a drift measurement off the API's event loop, streams
 * progress messages and posts the result. Terminated on cancel. The customers arrive in chunks (then a start
 * message) and the scores leave in chunks before the rest of the result (see training.thread.ts).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { BACKGROUND_NICE, lowerThreadPriority } from '../../ml/worker-thread.ts';
import { measureDrift } from './drift.run.ts';
import type { CustomerOrders } from './features.core.ts';
import { runTraining, type RunScore } from './training.run.ts';
import { packScores, type ToWorker, TRANSFER_CHUNK, type WorkerTask } from './training.thread.ts';

const port = parentPort;
if (port) {
  const data = workerData as WorkerTask;
  // first, before the customers arrive: the API's thread gets the cores it wants, this run the rest
  const nice = lowerThreadPriority(data.nice ?? BACKGROUND_NICE);
  const customers = new Map<string, CustomerOrders>();
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'customers') {
      for (const [id, orders] of m.entries) customers.set(id, orders);
      return;
    }
    try {
      let last = { stage: '', fraction: -1 };
      const progress = (stage: string, fraction: number) => {
        // every GBT round reports: pass on stage changes and whole percents only
        if (stage === last.stage && fraction - last.fraction < 0.01) return;
        last = { stage, fraction };
        port.postMessage({ kind: 'progress', stage, fraction });
      };
      const result =
        data.task === 'train' ? runTraining({ ...data.input, customers }, progress) : measureDrift({ ...data.input, customers });
      const scores: RunScore[] | undefined = result.scores;
      const chunk = data.chunk ?? TRANSFER_CHUNK;
      if (scores)
        for (let s = 0; s < scores.length; s += chunk) port.postMessage({ kind: 'scores', packed: packScores(scores.slice(s, s + chunk)) });
      port.postMessage({ kind: 'done', result: { ...result, ...(scores ? { scores: [] } : {}) }, threadId, nice });
    } catch (err) {
      port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
}
