#!/usr/bin/env node
// Builds the dashboard (dashboard/dist) when it is missing or older than its sources, so that
// `npm install && npm start` on a fresh clone serves it. `--force` always builds. Used by `prestart` and
// `build:dashboard`. NODE_ENV is forced to production: under vitest (NODE_ENV=test) Vite would otherwise
// bundle React's development build, twice the size and slower.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dashboard = path.join(root, 'dashboard');
const builtAt = (() => {
  try {
    return fs.statSync(path.join(dashboard, 'dist', 'index.html')).mtimeMs;
  } catch {
    return 0;
  }
})();

/** Newest modification time under the dashboard's sources (and the server schemas its types come from). */
function newest(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p)) if (e !== 'dist' && e !== 'node_modules') max = Math.max(max, newest(path.join(p, e)));
  return max;
}
const sources = Math.max(
  newest(path.join(dashboard, 'src')),
  newest(path.join(dashboard, 'index.html')),
  newest(path.join(dashboard, 'vite.config.ts')),
);

if (!process.argv.includes('--force') && builtAt > 0 && builtAt >= sources) process.exit(0);
if (!fs.existsSync(path.join(root, 'node_modules', 'vite'))) {
  process.stderr.write('The dashboard is not built and vite is not installed (run `npm install`); the API still starts without it.\n');
  process.exit(0);
}
process.stdout.write(
  !builtAt
    ? 'Building the dashboard (first start)…\n'
    : process.argv.includes('--force')
      ? 'Building the dashboard…\n'
      : 'Dashboard sources changed: rebuilding…\n',
);
const r = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
    'build',
    '--config',
    path.join(dashboard, 'vite.config.ts'),
    '--logLevel',
    'warn',
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
);
process.exit(r.status ?? 1);
