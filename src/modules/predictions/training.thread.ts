import { BACKGROUND_NICE, siblingModule, startWorker } from '../../ml/worker-thread.ts';
import type { DriftRunInput, DriftRunOutput } from './drift.run.ts';
import { ACTIVITY_FEATURE_COUNT, FEATURE_COUNT, type CustomerOrders } from './features.core.ts';
import type { CustomerScore } from './scoring.core.ts';
import type { RunScore, TrainRunInput, TrainRunOutput } from './training.run.ts';

/** Customers or scores per message: each message is cloned in one piece on the receiving thread. */
export const TRANSFER_CHUNK = 2000;

/** What the worker is asked to run (its customers follow in messages). */
export type WorkerTask = (
  | { task: 'train'; input: Omit<TrainRunInput, 'customers'> }
  | { task: 'drift'; input: Omit<DriftRunInput, 'customers'> }
) & {
  chunk?: number;
  /** The thread's nice value (see lowerThreadPriority); BACKGROUND_NICE unless a bench asks for the old behaviour. */
  nice?: number;
};

/** Messages to the worker: chunks of customers, then the start. */
export type ToWorker = { kind: 'customers'; entries: [string, CustomerOrders][] } | { kind: 'start' };

/**
 * A worker result with the id of the thread that computed it (never the API's: tests hold us to it) and that
 * thread's nice value (null where it cannot be set per thread).
 */
export type InThread<T> = T & { threadId: number; nice: number | null };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A chunk of scores as one message: each score without its two feature vectors, and the vectors of the whole chunk in
 * two buffers. Two typed arrays per score meant two ArrayBuffers per customer on the API's heap (200,000 at 100,000
 * customers), and collecting them stalled the API's event loop for seconds as a run ended.
 */
export interface PackedScores {
  rest: { profileId: string; score: Omit<CustomerScore, 'features' | 'activity'> }[];
  features: Float64Array;
  activity: Float64Array;
}

/** Scores to one PackedScores (the worker's side). */
export function packScores(scores: readonly RunScore[]): PackedScores {
  const features = new Float64Array(scores.length * FEATURE_COUNT);
  const activity = new Float64Array(scores.length * ACTIVITY_FEATURE_COUNT);
  const rest = scores.map(({ profileId, score }, i) => {
    const { features: f, activity: a, ...others } = score;
    features.set(f, i * FEATURE_COUNT);
    activity.set(a, i * ACTIVITY_FEATURE_COUNT);
    return { profileId, score: others };
  });
  return { rest, features, activity };
}

/** PackedScores back to scores whose vectors are views of the chunk's two buffers (the API's side). */
export function unpackScores(p: PackedScores): RunScore[] {
  return p.rest.map(({ profileId, score }, i) => ({
    profileId,
    score: {
      ...score,
      features: p.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT),
      activity: p.activity.subarray(i * ACTIVITY_FEATURE_COUNT, (i + 1) * ACTIVITY_FEATURE_COUNT),
    },
  }));
}

type FromWorker =
  | { kind: 'progress'; stage: string; fraction: number }
  | { kind: 'scores'; packed: PackedScores }
  | { kind: 'done'; result: object; threadId: number; nice: number | null }
  | { kind: 'error'; message?: string };

/**
 * Runs a task in a fresh worker thread. The customers go over in chunks of TRANSFER_CHUNK, one per turn of this
 * event loop, and the scores come back the same way: one message of 100,000 customers or scores is cloned in one
 * piece on this thread (seconds, during which no request is answered); chunks let requests in between.
 */
function run<T extends { scores?: RunScore[] }>(
  task: WorkerTask,
  customers: ReadonlyMap<string, CustomerOrders>,
  onProgress: (stage: string, fraction: number) => void,
  signal: AbortSignal,
): Promise<InThread<T>> {
  const worker = startWorker(siblingModule(import.meta.url, 'training.worker'), { workerData: task });
  const chunkSize = task.chunk ?? TRANSFER_CHUNK;
  const scores: RunScore[] = [];
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
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'progress') onProgress(m.stage, m.fraction);
      else if (m.kind === 'scores') for (const s of unpackScores(m.packed)) scores.push(s);
      else if (m.kind === 'done') {
        const result = m.result as T;
        finish(() => resolve({ ...result, ...(result.scores ? { scores } : {}), threadId: m.threadId, nice: m.nice }));
      } else if (m.kind === 'error') finish(() => reject(new Error(m.message ?? 'predictions worker failed')));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`predictions worker exited (${code})`))));
    void (async () => {
      let chunk: [string, CustomerOrders][] = [];
      for (const entry of customers) {
        chunk.push(entry);
        if (chunk.length < chunkSize) continue;
        worker.postMessage({ kind: 'customers', entries: chunk } satisfies ToWorker);
        chunk = [];
        await nextTurn();
        if (settled) return;
      }
      worker.postMessage({ kind: 'customers', entries: chunk } satisfies ToWorker);
      worker.postMessage({ kind: 'start' } satisfies ToWorker);
    })();
  });
}

/**
 * Runs `runTraining` in a worker thread (never on the API's event loop, so serving stays responsive while a
 * tenant trains), at the lowest CPU priority (`nice`, Linux) so that it takes only the CPU the API leaves. Aborting
 * `signal` terminates the thread at once and rejects with "cancelled". `chunk`: customers or scores per message.
 */
export function trainInWorker(
  input: TrainRunInput,
  onProgress: (stage: string, fraction: number) => void,
  signal: AbortSignal,
  chunk = TRANSFER_CHUNK,
  nice = BACKGROUND_NICE,
): Promise<InThread<TrainRunOutput>> {
  const { customers, ...rest } = input;
  return run<TrainRunOutput>({ task: 'train', input: rest, chunk, nice }, customers, onProgress, signal);
}

/** Scores the population now and measures each model's drift, in a worker thread (at the lowest CPU priority). */
export function driftInWorker(
  input: DriftRunInput,
  signal: AbortSignal,
  chunk = TRANSFER_CHUNK,
  nice = BACKGROUND_NICE,
): Promise<InThread<DriftRunOutput>> {
  const { customers, ...rest } = input;
  return run<DriftRunOutput>({ task: 'drift', input: rest, chunk, nice }, customers, () => {}, signal);
}
