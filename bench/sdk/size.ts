/**
 * bench/sdk: the size of what a store's page loads, measured as the issue does it (esbuild, minified, gzip -9).
 *
 *   - `entry`: the script-tag build (tracker + widget, `sdk/src/browser.ts` as an IIFE), budget 12 kB gzip;
 *   - `trackOnly`: a page that imports only `createTracker` from the ESM entry: tree-shaking must leave the
 *     typed client and the widget out;
 *   - `client`: a page that imports only `createClient` (the typed client's own size);
 *   - `baseline`: `@segment/analytics-next`'s entry built the same way (a pinned dev dependency).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUDGET_GZIP_BYTES = 12 * 1024;

export interface Measured {
  raw: number;
  gzip: number;
  /** Files bundled, relative to the repository. */
  inputs: string[];
  text: string;
}

async function measure(options: Parameters<typeof build>[0]): Promise<Measured> {
  const out = await build({
    ...options,
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const text = out.outputFiles!.map((f) => f.text).join('\n');
  return {
    raw: Buffer.byteLength(text),
    gzip: gzipSync(text, { level: 9 }).length,
    inputs: Object.keys(out.metafile!.inputs),
    text,
  };
}

export const measureEntry = () =>
  measure({ absWorkingDir: ROOT, entryPoints: ['sdk/src/browser.ts'], format: 'iife', globalName: 'Loupe', target: 'es2019' });

export const measureTrackOnly = () =>
  measure({
    absWorkingDir: ROOT,
    stdin: {
      contents:
        "import { createTracker } from './sdk/src/index.ts'; createTracker({ writeKey: 'pk_live_x', host: 'https://loupe.test' }).page();",
      resolveDir: ROOT,
      loader: 'ts',
    },
    format: 'esm',
    target: 'es2020',
  });

/** A page that uses the typed client (what tree-shaking removes from `trackOnly`). */
export const measureClient = () =>
  measure({
    absWorkingDir: ROOT,
    stdin: {
      contents:
        "import { createClient } from './sdk/src/index.ts'; globalThis.loupe = createClient({ apiKey: 'pk_live_x', host: 'https://loupe.test' });",
      resolveDir: ROOT,
      loader: 'ts',
    },
    format: 'esm',
    target: 'es2020',
  });

/** Segment's browser SDK entry built the same way, or undefined when it is not installed. */
export async function measureBaseline(): Promise<Measured | undefined> {
  if (!fs.existsSync(path.join(ROOT, 'node_modules', '@segment', 'analytics-next', 'package.json'))) return undefined;
  return measure({
    absWorkingDir: ROOT,
    stdin: {
      contents:
        "import { AnalyticsBrowser } from '@segment/analytics-next'; globalThis.analytics = AnalyticsBrowser.load({ writeKey: 'x' });",
      resolveDir: ROOT,
      loader: 'ts',
    },
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
  });
}
