#!/usr/bin/env node
// `npm test`: typecheck, lint and module boundaries, then the whole suite on the embedded database,
// then the database integration tests (*.int.test.ts) again on PostgreSQL when TEST_DATABASE_URL is set.
import { spawnSync } from 'node:child_process';

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

const extra = process.argv.slice(2);
run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('lint and module boundaries', 'npm', ['run', '--silent', 'lint']);
run('tests on the embedded database (PGlite)', 'npx', ['vitest', 'run', ...extra], { LOUPE_TEST_DB: 'pglite' });
if (process.env.TEST_DATABASE_URL) {
  run('database integration tests on PostgreSQL', 'npx', ['vitest', 'run', '.int.test.', ...extra], { LOUPE_TEST_DB: 'postgres' });
} else {
  process.stdout.write(
    '\nPostgreSQL pass skipped: set TEST_DATABASE_URL=postgres://user@host:5432/db to run the integration tests on a server too.\n',
  );
}
summary();
