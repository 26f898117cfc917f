import type { Worker } from 'node:worker_threads';
import { siblingModule, startWorker } from '../../ml/worker-thread.ts';
import type { ParquetColumn } from './warehouse.core.ts';
import type { EncodeRequest } from './parquet.worker.ts';

/** Encodes one Parquet file's columns; resolves with its bytes. */
export type ParquetEncoder = (columns: ParquetColumn[], createdBy: string) => Promise<Uint8Array>;

/**
 * A Parquet encoder on its own worker thread, so an export never holds the event loop that serves HTTP while it
 * encodes (hyparquet-writer is pure JavaScript: a 50,000-row batch is seconds of CPU). One thread per export run,
 * started at the first file; `close()` ends it. A thread that dies fails the files in flight (the batch is not
 * committed, so the next run redoes it) and the next file starts a new one. `lastThreadId` is for tests.
 */
export function createParquetThread(): { encode: ParquetEncoder; close(): Promise<void>; lastThreadId(): number | null } {
  let worker: Worker | null = null;
  let nextId = 1;
  let lastThread: number | null = null;
  const pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker = null;
  };
  const ensure = (): Worker => {
    if (worker) return worker;
    const w = startWorker(siblingModule(import.meta.url, 'parquet.worker'));
    w.unref();
    w.on('message', (m: { id: number; bytes?: Uint8Array; error?: string; threadId?: number }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.threadId !== undefined) lastThread = m.threadId;
      if (m.bytes) p.resolve(m.bytes);
      else p.reject(new Error(`Parquet encoding failed: ${m.error ?? 'unknown error'}`));
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) failAll(new Error(`the Parquet encoding thread exited (${code})`));
    });
    worker = w;
    return w;
  };
  return {
    encode(columns, createdBy) {
      const id = nextId++;
      const w = ensure();
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ id, columns, createdBy } satisfies EncodeRequest);
      });
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
    lastThreadId: () => lastThread,
  };
}
