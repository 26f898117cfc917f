import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FitProgress } from './recs.models.ts';
import type { TrainInput, TrainOutput } from './recs.train.ts';

/**
 * Starts the worker module. A `.ts` worker (tsx, vitest) needs tsx's ESM loader registered inside the thread:
 * `execArgv: ['--import', 'tsx']` is not enough under vitest ("Unknown file extension .ts"), so the thread
 * registers tsx's API first and then imports the module (the same boot as `ml/parallel.ts`).
 */
function startWorker(url: URL, options: { workerData: unknown; transferList: ArrayBuffer[] }): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  const api = new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Runs `trainModel` in a worker thread (never on the API's event loop). Under tsx the `.ts` worker is started
 * with tsx's loader; compiled builds start the `.js` sibling. Aborting `signal` terminates the thread at once.
 */
export function trainInWorker(
  input: TrainInput,
  onProgress: (p: FitProgress & { phase: string }) => void,
  signal: AbortSignal,
): Promise<TrainOutput> {
  const isTs = import.meta.url.endsWith('.ts');
  const url = new URL(isTs ? './recs.worker.ts' : './recs.worker.js', import.meta.url);
  const snapshotArrays = [
    input.snapshot.u.buffer,
    input.snapshot.i.buffer,
    input.snapshot.w.buffer,
    input.snapshot.t.buffer,
  ] as ArrayBuffer[];
  const worker = startWorker(url, { workerData: input, transferList: snapshotArrays });
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
