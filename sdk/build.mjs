// Builds the SDK with esbuild: dist/loupe.js (IIFE for a script tag, global `Loupe`), dist/index.mjs and
// dist/node.mjs (ESM). No runtime dependencies are bundled: the SDK has none.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', absWorkingDir: root };

export async function buildSdk(outdir = `${root}dist`) {
  await build({
    ...common,
    entryPoints: ['src/browser.ts'],
    format: 'iife',
    globalName: 'Loupe',
    footer: { js: 'Loupe=Loupe.loupe;' },
    target: 'es2019',
    outfile: `${outdir}/loupe.js`,
  });
  await build({ ...common, entryPoints: ['src/index.ts'], format: 'esm', target: 'es2020', outfile: `${outdir}/index.mjs` });
  await build({ ...common, entryPoints: ['src/node.ts'], format: 'esm', platform: 'node', target: 'node20', outfile: `${outdir}/node.mjs` });
  return outdir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildSdk();
