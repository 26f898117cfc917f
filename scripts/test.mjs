#!/usr/bin/env node
// `npm test`: typecheck, lint and module boundaries, then the whole suite on the embedded database,
// then the database integration tests (*.int.test.ts) again on PostgreSQL when TEST_DATABASE_URL is set.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const steps = [];
function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${title} ===\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  steps.push({ title, ok: r.status === 0, seconds });
  if (r.status !== 0) {
    summary();
    process.stdout.write(`\n${title} failed.\n`);
    process.exit(r.status ?? 1);
  }
}
/**
 * Runs independent single-threaded steps side by side (the machine has at least two cores), each one's output
 * held back and printed whole when it ends, so the log reads as if they ran one after the other.
 */
async function runTogether(list) {
  const results = await Promise.all(
    list.map(
      ({ title, cmd, args }) =>
        new Promise((resolve) => {
          const started = Date.now();
          const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
          const out = [];
          child.stdout.on('data', (d) => out.push(d));
          child.stderr.on('data', (d) => out.push(d));
          child.on('close', (code) => resolve({ title, code, out, seconds: ((Date.now() - started) / 1000).toFixed(1) }));
        }),
    ),
  );
  for (const r of results) {
    process.stdout.write(`\n=== ${r.title} ===\n`);
    process.stdout.write(Buffer.concat(r.out));
    steps.push({ title: r.title, ok: r.code === 0, seconds: r.seconds });
  }
  const failed = results.find((r) => r.code !== 0);
  if (failed) {
    summary();
    process.stdout.write(`\n${failed.title} failed.\n`);
    process.exit(failed.code ?? 1);
  }
}
function summary() {
  process.stdout.write('\n=== summary ===\n');
  for (const s of steps) process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'} ${s.title} (${s.seconds} s)\n`);
}

/** Test files under src/ and test/ (recursively). */
function testFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) out.push(p);
    }
  };
  walk('src');
  walk('test');
  return out.sort();
}

/**
 * A clone without ../shared must pass: every test that reads shared data goes through sharedPath()
 * (test/shared-data.ts) and skips when it is absent. Refuses a test naming the shared folder directly, then
 * runs exactly the tests that use sharedPath() with LOUPE_SHARED_DIR pointing at a folder that does not exist.
 */
function withoutSharedData() {
  const files = testFiles();
  const direct = files.filter((f) => /\.\.\/shared\/|\/work\/shared|'\.\.', 'shared'/.test(fs.readFileSync(f, 'utf8')));
  if (direct.length) {
    process.stdout.write(`\nThese tests read ../shared directly; use sharedPath() from test/helpers.ts:\n  ${direct.join('\n  ')}\n`);
    process.exit(1);
  }
  const users = files.filter((f) => fs.readFileSync(f, 'utf8').includes('sharedPath('));
  const missing = path.join(os.tmpdir(), `loupe-no-shared-${process.pid}`);
  run(`tests that use shared data, with no shared folder (${users.length} files)`, 'npx', ['vitest', 'run', ...users], {
    LOUPE_TEST_DB: 'pglite',
    LOUPE_SHARED_DIR: missing,
  });
}

// `node scripts/test.mjs --only-without-shared` runs that one step alone.
if (process.argv.includes('--only-without-shared')) {
  withoutSharedData();
  summary();
  process.exit(0);
}
const extra = process.argv.slice(2);
// Typecheck and lint are each single-threaded: side by side they take the time of the longer one.
await runTogether([
  { title: 'typecheck', cmd: 'npx', args: ['tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { title: 'lint and module boundaries', cmd: 'npm', args: ['run', '--silent', 'lint'] },
]);
run('tests on the embedded database (PGlite)', 'npx', ['vitest', 'run', ...extra], { LOUPE_TEST_DB: 'pglite' });
withoutSharedData();
if (process.env.TEST_DATABASE_URL) {
  run('database integration tests on PostgreSQL', 'npx', ['vitest', 'run', '.int.test.', ...extra], { LOUPE_TEST_DB: 'postgres' });
} else {
  process.stdout.write(
    '\nPostgreSQL pass skipped: set TEST_DATABASE_URL=postgres://user@host:5432/db to run the integration tests on a server too.\n',
  );
}
summary();
