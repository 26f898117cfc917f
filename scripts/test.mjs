#!/usr/bin/env node
// `npm test`: typecheck, lint and module boundaries, then the whole suite on the embedded database,
// then the database integration tests (*.int.test.ts) again on PostgreSQL when TEST_DATABASE_URL is set.
import { spawnSync } from 'node:child_process';
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
run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('lint and module boundaries', 'npm', ['run', '--silent', 'lint']);
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
