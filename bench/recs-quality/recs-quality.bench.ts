/**
 * Recommendation quality benchmark on Yelp2018 with the LightGCN protocol (see
 * ../shared/datasets/README.md): Recall@20 and NDCG@20 over all items, train items excluded.
 *
 *   npx tsx bench/recs-quality/recs-quality.bench.ts [--models gf-cf,loupe-gf-asym] [--validation]
 *
 * Each model runs in its own child process so its peak RSS is its own. `--validation` evaluates on
 * a random 20% hold-out of the train split instead of the test split (for tuning without touching
 * test).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Csr } from '../../src/ml/csr.ts';
import { parseUserItemText, splitRandomHoldout } from '../../src/ml/dataset.ts';
import { evaluateTopK, type BatchScorer } from '../../src/ml/eval.ts';
import { BENCH_MODELS, VALIDATION_NOTES } from './models.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const dataDir = resolve(repoRoot, '../shared/datasets/yelp2018');

const PUBLISHED: ReadonlyArray<[string, number, number]> = [
  ['LightGCN (paper)', 0.0649, 0.053],
  ['GF-CF (paper)', 0.0697, 0.0571],
  ['BSPM-EM (paper)', 0.072, 0.0593],
];
const BSPM_RECALL = 0.072;

interface RunResult {
  readonly name: string;
  readonly recall: number;
  readonly ndcg: number;
  readonly precision: number;
  readonly coverage: number;
  readonly users: number;
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  readonly peakRssMb: number;
  /** CPU seconds of all threads (fit + eval): on a busy shared machine, wall time alone misleads. */
  readonly cpuSeconds: number;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function loadSplit(validation: boolean): Promise<{ train: Csr; test: Csr }> {
  const trainText = gunzipSync(await readFile(resolve(dataDir, 'train.txt.gz'))).toString('utf8');
  const testText = gunzipSync(await readFile(resolve(dataDir, 'test.txt.gz'))).toString('utf8');
  const train = parseUserItemText(trainText);
  const test = parseUserItemText(testText, { users: train.users, items: train.items });
  if (test.users !== train.users || test.items !== train.items) throw new Error('test ids exceed the train shape');
  if (validation) return splitRandomHoldout(train.csr, 0.2, 2018);
  return { train: train.csr, test: test.csr };
}

async function runOne(name: string, validation: boolean): Promise<RunResult> {
  const spec = BENCH_MODELS.find((m) => m.name === name);
  if (!spec) throw new Error(`unknown model ${name}`);
  const { train, test } = await loadSplit(validation);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const scorer = await spec.fit(train);
  const t1 = performance.now();
  let reported = 0;
  const metrics = await evaluateTopK({
    train,
    test,
    k: 20,
    scoreBatch: scorer.scoreBatch as BatchScorer,
    batchSize: 512,
    onProgress: (done, total) => {
      if (done - reported >= 8192 || done === total) {
        reported = done;
        console.error(`    evaluated ${done}/${total} users (${((performance.now() - t1) / 1000).toFixed(0)} s)`);
      }
    },
  });
  const t2 = performance.now();
  const c1 = process.cpuUsage(c0);
  await scorer.close?.();
  return {
    cpuSeconds: (c1.user + c1.system) / 1e6,
    name,
    recall: metrics.recall,
    ndcg: metrics.ndcg,
    precision: metrics.precision,
    coverage: metrics.coverage,
    users: metrics.users,
    trainSeconds: (t1 - t0) / 1000,
    evalSeconds: (t2 - t1) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  if (!existsSync(resolve(dataDir, 'train.txt.gz')) || !existsSync(resolve(dataDir, 'test.txt.gz'))) {
    console.error(`recs-quality: Yelp2018 not found at ${dataDir} (expected ../shared/datasets/yelp2018 beside the repo); skipping.`);
    process.exit(2);
  }
  const validation = process.argv.includes('--validation');
  const one = argValue('--run-one');
  if (one) {
    const result = await runOne(one, validation);
    console.log(`RESULT ${JSON.stringify(result)}`);
    return;
  }
  const wanted =
    argValue('--models')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? BENCH_MODELS.filter((m) => m.byDefault).map((m) => m.name);
  const unknown = wanted.filter((w) => !BENCH_MODELS.some((m) => m.name === w));
  if (unknown.length > 0) {
    console.error(`recs-quality: unknown model(s) ${unknown.join(', ')}; known: ${BENCH_MODELS.map((m) => m.name).join(', ')}`);
    process.exit(2);
  }
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at start`,
  );
  console.log(
    `Yelp2018, ${validation ? 'VALIDATION (20% of train held out)' : 'test split'}, Recall@20 / NDCG@20, all items ranked, train items excluded`,
  );
  const results: RunResult[] = [];
  for (const name of wanted) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--run-one', name, ...(validation ? ['--validation'] : [])],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 << 20,
      },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status !== 0 || !line) {
      console.error(`recs-quality: ${name} failed (exit ${child.status})`);
      process.stdout.write(child.stdout);
      continue;
    }
    const r = JSON.parse(line.slice(7)) as RunResult;
    results.push(r);
    console.log(`  done ${name}: recall ${r.recall.toFixed(4)} in ${(r.trainSeconds + r.evalSeconds).toFixed(1)} s`);
  }
  const header = `${pad('model', 26)}${pad('Recall@20', 11)}${pad('NDCG@20', 10)}${pad('P@20', 9)}${pad('coverage', 10)}${pad('train s', 9)}${pad('eval s', 9)}${pad('total s', 9)}${pad('CPU s', 8)}peak RSS MB`;
  console.log('\n' + header);
  console.log('-'.repeat(header.length));
  for (const r of results) {
    console.log(
      `${pad(r.name, 26)}${pad(r.recall.toFixed(4), 11)}${pad(r.ndcg.toFixed(4), 10)}${pad(r.precision.toFixed(4), 9)}${pad(r.coverage.toFixed(3), 10)}` +
        `${pad(r.trainSeconds.toFixed(1), 9)}${pad(r.evalSeconds.toFixed(1), 9)}${pad((r.trainSeconds + r.evalSeconds).toFixed(1), 9)}${pad(r.cpuSeconds.toFixed(1), 8)}${r.peakRssMb.toFixed(0)}`,
    );
  }
  for (const [name, rec, nd] of PUBLISHED) console.log(`${pad(name, 26)}${pad(rec.toFixed(4), 11)}${pad(nd.toFixed(4), 10)}(published)`);
  if (results.length > 0) {
    const best = results.reduce((a, b) => (b.recall > a.recall ? b : a));
    console.log(`\n${VALIDATION_NOTES.join('\n')}`);
    console.log(
      `\nbest Loupe model: ${best.name}, Recall@20 ${best.recall.toFixed(4)} = ${(best.recall / BSPM_RECALL).toFixed(3)} x BSPM-EM's 0.0720` +
        (validation ? ' (validation split: not comparable to the published test numbers)' : ''),
    );
  }
}

await main();
