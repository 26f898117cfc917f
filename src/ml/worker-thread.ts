import { createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isMainThread, Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Worker threads that run the same under tsx, vitest and compiled Node: the one place that knows how
 * to start a `.ts` worker. Threads are this file's only I/O.
 */

let tsxApiUrl: string | undefined;

/** File URL of tsx's ESM register API (its `import` export; `require.resolve` would give the CJS one). */
function tsxEsmApiUrl(): string {
  if (tsxApiUrl) return tsxApiUrl;
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
  tsxApiUrl = new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
  return tsxApiUrl;
}

/**
 * The worker module `name` (no extension) beside the module at `importMetaUrl`: its `.ts` source when
 * that module runs from source, its `.js` sibling in a compiled build.
 */
export function siblingModule(importMetaUrl: string, name: string): URL {
  return new URL(`./${name}${importMetaUrl.endsWith('.ts') ? '.ts' : '.js'}`, importMetaUrl);
}

/**
 * Starts the worker module at `url`. A `.js` module starts directly. A `.ts` module needs tsx's loader
 * inside the thread, and `execArgv: ['--import', 'tsx']` is not enough under vitest ("Unknown file
 * extension .ts"): the thread registers tsx's API first and then imports the module.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const boot = `import(${JSON.stringify(tsxEsmApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** Nice value of background compute threads (training runs): 19, the lowest CPU priority. */
export const BACKGROUND_NICE = 19;

/**
 * Lowers the calling worker thread's CPU priority to `nice` (never raises it), so that a long numeric run in the
 * thread yields the cores to the API's event loop of the same process instead of sharing them equally: on a
 * saturated machine an equal share meant requests waited behind training. Linux only: there the nice value is a
 * per-thread attribute (`setpriority(PRIO_PROCESS, 0)` touches the calling thread); elsewhere it is per process and
 * would slow the API too, so it does nothing. Returns the thread's nice value afterwards, or null when not applied.
 */
export function lowerThreadPriority(nice = BACKGROUND_NICE): number | null {
  if (isMainThread || process.platform !== 'linux') return null;
  try {
    if (getPriority() < nice) setPriority(nice);
    return getPriority();
  } catch {
    return null;
  }
}
