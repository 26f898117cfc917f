import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

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
