#!/usr/bin/env node
// `npm test`: typecheck, lint and module boundaries, then the whole suite on the embedded database,
// then the database integration tests (*.int.test.ts) again on PostgreSQL when TEST_DATABASE_URL is set.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const steps = [];
/** The machine's CPU counters (Linux /proc/stat, in ticks): busy and total over every core; undefined elsewhere. */
function cpuTicks() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}
/** "CPU 87% of 2 cores": how busy the whole machine was during a step (a pass that leaves cores idle waits on timers). */
function cpuBusy(before, after) {
  if (!before || !after || after.total <= before.total) return '';
  return `, CPU ${Math.round((100 * (after.busy - before.busy)) / (after.total - before.total))}% of ${os.cpus().length} cores`;
}
function run(title, cmd, args, env = {}) {
  process.stdout.write(`\n=== ${title} ===\n`);
  const started = Date.now();
  const ticks = cpuTicks();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  steps.push({ title, ok: r.status === 0, seconds, cpu: cpuBusy(ticks, cpuTicks()) });
  if (r.status !== 0) {
    summary();
    process.stdout.write(`\n${title} failed.\n`);
    process.exit(r.status ?? 1);
  }
}
/**
 * Runs independent single-threaded steps side by side (the machine has two cores), each one's output
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
  for (const s of steps) process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'} ${s.title} (${s.seconds} s${s.cpu ?? ''})\n`);
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
 * The names each test file gives the shared data it needs: `const X = sharedPath(...)` in the file itself, or
 * imported from a test module that declares one (test/online-retail.ts exports ONLINE_RETAIL).
 */
function sharedDataUsers(files) {
  const declared = (src) => [...src.matchAll(/(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*=\s*sharedPath\(/g)].map((m) => m[1]);
  const providers = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const names = declared(fs.readFileSync(p, 'utf8'));
        if (names.length) providers.push({ base: path.basename(p), names });
      }
    }
  };
  walk('test');
  const users = [];
  for (const file of files) {
    const src = fs.readFileSync(file, 'utf8');
    const names = declared(src);
    for (const p of providers) if (src.includes(`/${p.base}'`)) names.push(...p.names.filter((n) => src.includes(n)));
    if (names.length) users.push({ file, src, names });
  }
  return users;
}

/**
 * The titles of the tests and suites that skip when one of `names` is absent: `it.skipIf(!X)('title'` or
 * `describe.skipIf(... || !X)('title'`.
 */
function gatedTitles(src, names) {
  const titles = [];
  for (const m of src.matchAll(/\b(?:it|test|describe)\.skipIf\(([^)]*)\)\(\s*(['"`])((?:\\.|(?!\2)[^\\])*)\2/g)) {
    if (names.some((n) => new RegExp(`!\\s*${n}\\b`).test(m[1]))) titles.push(m[3]);
  }
  return titles;
}

/**
 * A clone without ../shared must pass: every test that reads shared data goes through sharedPath()
 * (test/shared-data.ts) and skips when it is absent. Refuses a test naming the shared folder directly, and a
 * test file that takes shared data without gating any test on it (`it.skipIf(!X)` / `describe.skipIf(!X)`).
 * Then, with LOUPE_SHARED_DIR pointing at a folder that does not exist, runs only the skip paths: every such
 * file is loaded and collected (its top level and describe bodies run without the data) and only its gated
 * tests are selected (`-t`), which must skip. The rest of those files ran in the main pass with the data, and
 * selecting nothing else keeps their hooks (apps, browsers) from starting here: 100 s for 4 files before.
 */
function withoutSharedData() {
  const files = testFiles();
  const direct = files.filter((f) => /\.\.\/shared\/|\/work\/shared|'\.\.', 'shared'/.test(fs.readFileSync(f, 'utf8')));
  if (direct.length) {
    process.stdout.write(`\nThese tests read ../shared directly; use sharedPath() from test/helpers.ts:\n  ${direct.join('\n  ')}\n`);
    process.exit(1);
  }
  const users = sharedDataUsers(files).map((u) => ({ ...u, titles: gatedTitles(u.src, u.names) }));
  const ungated = users.filter((u) => u.titles.length === 0);
  if (ungated.length) {
    process.stdout.write(
      `\nThese tests take shared data but gate no test on it (it.skipIf(!X) / describe.skipIf(!X)):\n  ${ungated.map((u) => `${u.file} (${u.names.join(', ')})`).join('\n  ')}\n`,
    );
    process.exit(1);
  }
  const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = [...new Set(users.flatMap((u) => u.titles))].map(escape).join('|');
  const missing = path.join(os.tmpdir(), `loupe-no-shared-${process.pid}`);
  const report = path.join(os.tmpdir(), `loupe-no-shared-${process.pid}.json`);
  run(
    `tests that use shared data, with no shared folder: skip paths only (${users.length} files)`,
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, '-t', pattern, ...users.map((u) => u.file)],
    { LOUPE_TEST_DB: 'pglite', LOUPE_SHARED_DIR: missing, LOUPE_TEST_NO_DATABASE: '1' },
  );
  // A gated test that ran instead of skipping means its guard does not look at the data it needs.
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  fs.rmSync(report, { force: true });
  const ran = result.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== 'skipped' && a.status !== 'pending'));
  if (ran.length) {
    process.stdout.write(`\nThese tests ran without the shared data instead of skipping:\n  ${ran.map((a) => a.fullName).join('\n  ')}\n`);
    process.exit(1);
  }
}

/**
 * The pass's slowest files, each with when it started (seconds into the pass) and the file that ran beside it the
 * longest: a file's time depends on what the other fork ran meanwhile (two forks on two cores), so a file that got
 * slower with unchanged tests is read against its neighbour. The whole report stays in test-artifacts/.
 * The JSON report's start and end are its first test's start and its last test's end: the file's import and its
 * beforeAll/afterAll hooks (building apps, seeding fixtures, closing and resetting databases) fall outside them, about
 * a quarter of the pass (1,027 of 3,797 fork-seconds in one pass; the summary line's "tests" counts them).
 */
function slowestFiles(file, count = 15) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  const files = report.testResults
    .filter((f) => f.startTime && f.endTime)
    .map((f) => ({ name: path.relative(process.cwd(), f.name), start: f.startTime, end: f.endTime }));
  if (!files.length) return;
  const t0 = Math.min(...files.map((f) => f.start));
  const overlap = (a, b) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
  process.stdout.write(`\nSlowest files, first test's start to last test's end, hooks not counted (full report: ${file}):\n`);
  for (const f of [...files].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, count)) {
    const beside = files.filter((g) => g !== f).sort((a, b) => overlap(f, b) - overlap(f, a))[0];
    const s = (ms) => (ms / 1000).toFixed(1);
    process.stdout.write(
      `  ${s(f.end - f.start).padStart(6)} s  at ${s(f.start - t0).padStart(6)} s  ${f.name}` +
        (beside && overlap(f, beside) > 0 ? `  (beside ${beside.name} for ${s(overlap(f, beside))} s)` : '') +
        '\n',
    );
  }
}

// `node scripts/test.mjs --only-without-shared` runs that one step alone.
if (process.argv.includes('--only-without-shared')) {
  withoutSharedData();
  summary();
  process.exit(0);
}
const extra = process.argv.slice(2);
// Typecheck and the two halves of lint are each single-threaded: side by side on two cores they take about half their
// summed CPU time (lint in one piece was the longest: 63 s of CPU beside typecheck's 33, so a core idled for 30 s).
await runTogether([
  { title: 'typecheck', cmd: 'npx', args: ['tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { title: 'lint: formatting and ESLint', cmd: 'npm', args: ['run', '--silent', 'lint:code'] },
  { title: 'lint: module boundaries, dashboard and SDK types, unused code', cmd: 'npm', args: ['run', '--silent', 'lint:boundaries'] },
]);
const pgliteReport = path.join('test-artifacts', 'vitest-pglite.json');
fs.mkdirSync('test-artifacts', { recursive: true });
fs.rmSync(pgliteReport, { force: true });
try {
  run(
    'tests on the embedded database (PGlite)',
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${pgliteReport}`, ...extra],
    { LOUPE_TEST_DB: 'pglite' },
  );
} finally {
  slowestFiles(pgliteReport);
}
withoutSharedData();
if (process.env.TEST_DATABASE_URL) {
  run('database integration tests on PostgreSQL', 'npx', ['vitest', 'run', '.int.test.', ...extra], { LOUPE_TEST_DB: 'postgres' });
} else {
  process.stdout.write(
    '\nPostgreSQL pass skipped: set TEST_DATABASE_URL=postgres://user@host:5432/db to run the integration tests on a server too.\n',
  );
}
summary();
