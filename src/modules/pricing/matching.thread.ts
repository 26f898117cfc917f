import type { Worker } from 'node:worker_threads';
import { siblingModule, startWorker } from '../../ml/worker-thread.ts';
import type { LearnedVerdict, Scorer, VerdictInput } from './matching.core.ts';
import type { VerdictReply, VerdictRequest } from './matching.worker.ts';

export interface MatchingThread {
  /** The learned pass's verdicts for one batch, computed on the thread. */
  verdicts(input: VerdictInput, scorer: Scorer): Promise<Map<string, LearnedVerdict>>;
  close(): Promise<void>;
  /** The thread id of the last answer (tests: it is not the caller's). */
  lastThreadId(): number | null;
}

/**
 * The learned matcher on its own worker thread, so that scoring a large feed (seconds of CPU: features and trees over
 * hundreds of thousands of pairs) never holds the event loop that serves HTTP. Started at the first batch and ended
 * after `idleMs` without work (unref'd: it never keeps a process alive). The scorer is posted once per thread and
 * again only when another one is passed. A thread that dies fails the batches in flight (the import's learned pass
 * fails; a retry redoes it) and the next batch starts a new one.
 */
export function createMatchingThread(idleMs = 30_000): MatchingThread {
  let worker: Worker | null = null;
  let sent: Scorer | null = null;
  let nextId = 1;
  let lastThread: number | null = null;
  let idle: NodeJS.Timeout | undefined;
  const pending = new Map<number, { resolve: (v: Map<string, LearnedVerdict>) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker = null;
    sent = null;
  };
  const stop = async () => {
    const w = worker;
    worker = null;
    sent = null;
    if (w) await w.terminate();
    failAll(new Error('the matching thread was closed'));
  };
  const ensure = (): Worker => {
    if (worker) return worker;
    const w = startWorker(siblingModule(import.meta.url, 'matching.worker'));
    w.unref();
    w.on('message', (m: VerdictReply) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      lastThread = m.threadId;
      if (m.verdicts) p.resolve(new Map(m.verdicts));
      else p.reject(new Error(`matching failed on its thread: ${m.error ?? 'unknown error'}`));
      if (!pending.size) {
        clearTimeout(idle);
        idle = setTimeout(() => void stop(), idleMs).unref();
      }
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) failAll(new Error(`the matching thread exited (${code})`));
    });
    worker = w;
    return w;
  };
  return {
    verdicts(input, scorer) {
      clearTimeout(idle);
      const id = nextId++;
      const w = ensure();
      const msg: VerdictRequest = { id, input, ...(sent !== scorer ? { scorer } : {}) };
      sent = scorer;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage(msg);
      });
    },
    async close() {
      clearTimeout(idle);
      await stop();
    },
    lastThreadId: () => lastThread,
  };
}
