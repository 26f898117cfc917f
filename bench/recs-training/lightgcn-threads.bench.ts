/**
 * LightGCN training on worker threads: wall and CPU time of the same mini-batches on 1 and on N threads, alternated
 * (1, N, N, 1, ...) so that both see the same machine, with the load average printed beside every figure ("loaded"
 * above 3). Yelp2018's train file (LightGCN protocol, ../shared/datasets/README.md), the model table's LightGCN
 * defaults (d 64, K 3, batch 2048: about 606 mini-batches an epoch). An epoch takes minutes, so each run trains the
 * first `--batches` mini-batches of epoch 1 (cancelled through the fit's signal) and the figures are per mini-batch:
 * "steady" leaves out the first one (pool start-up, first touches of the shared memory) and is projected to an epoch.
 * Also checks that every run gave the same embeddings (they must: the result does not depend on the thread count).
 * Usage: nice -n 15 npx tsx bench/recs-training/lightgcn-threads.bench.ts [--batches=12] [--rounds=2] [--threads=2]
 * Skips with a message when the dataset folder is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../src/ml/dataset.ts';
import { fitLightGcn } from '../../src/ml/lightgcn.ts';
import { defaultParams, lightGcnOptions, type ModelParams } from '../../src/ml/models.ts';

const dir = resolve(import.meta.dirname, '../../../shared/datasets/yelp2018');
if (!existsSync(dir)) {
  console.log(`lightgcn-threads: skipped, ${dir} not found (the datasets live in shared/, beside the checkout)`);
  process.exit(0);
}
const opts = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, Number(m[2])] as const),
);
const batches = Math.max(2, opts.get('batches') ?? 12);
const rounds = opts.get('rounds') ?? 2;
const many = opts.get('threads') ?? 2;

const train = parseUserItemText(gunzipSync(readFileSync(resolve(dir, 'train.txt.gz'))).toString('utf8')).csr;
const params = { ...lightGcnOptions(defaultParams('lightgcn') as ModelParams<'lightgcn'>), epochs: 1 };
const perEpoch = Math.ceil(train.indices.length / params.batchSize!);
console.log(
  `Yelp2018 train: ${train.rows} users x ${train.cols} items, ${train.indices.length} pairs; LightGCN d ${params.embeddingDim}, ` +
    `K ${params.numLayers}, batch ${params.batchSize} (${perEpoch} mini-batches an epoch); ${batches} mini-batches a run; ` +
    `threads 1 vs ${many}, ${rounds} rounds alternated`,
);

const load = (): string => {
  const l = loadavg()[0]!;
  return `load ${l.toFixed(1)}${l > 3 ? ' (loaded)' : ''}`;
};
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Run {
  /** Per mini-batch, after the first. */
  steadyWall: number;
  steadyCpu: number;
  wall: number;
  cpu: number;
}
const results = new Map<number, Run[]>([
  [1, []],
  [many, []],
]);
let first: Float32Array | null = null;
let maxDiff = 0;
for (let r = 0; r < rounds; r++) {
  for (const threads of r % 2 === 0 ? [1, many] : [many, 1]) {
    const before = load();
    const t = performance.now();
    const c = cpuSeconds();
    // the signal is read after every mini-batch: the first read marks the end of batch 1
    let seen = 0;
    let afterFirst = { wall: 0, cpu: 0 };
    const model = await fitLightGcn(train, {
      ...params,
      threads,
      signal: {
        get aborted() {
          seen++;
          if (seen === 1) afterFirst = { wall: performance.now(), cpu: cpuSeconds() };
          return seen >= batches;
        },
      },
    });
    const end = { wall: performance.now(), cpu: cpuSeconds() };
    const run: Run = {
      steadyWall: (end.wall - afterFirst.wall) / 1000 / (batches - 1),
      steadyCpu: (end.cpu - afterFirst.cpu) / (batches - 1),
      wall: (end.wall - t) / 1000,
      cpu: end.cpu - c,
    };
    results.get(threads)!.push(run);
    if (first === null) first = model.egoEmbeddings;
    else for (let k = 0; k < first.length; k++) maxDiff = Math.max(maxDiff, Math.abs(first[k]! - model.egoEmbeddings[k]!));
    console.log(
      `  round ${r + 1} threads ${threads}: ${batches} mini-batches in wall ${run.wall.toFixed(2)} s, cpu ${run.cpu.toFixed(2)} s; ` +
        `steady ${run.steadyWall.toFixed(3)} s wall, ${run.steadyCpu.toFixed(3)} s cpu per mini-batch (${before} before, ${load()} after)`,
    );
  }
}
const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const w1 = median(results.get(1)!.map((x) => x.steadyWall));
const wn = median(results.get(many)!.map((x) => x.steadyWall));
const c1 = median(results.get(1)!.map((x) => x.steadyCpu));
const cn = median(results.get(many)!.map((x) => x.steadyCpu));
console.log(
  `median steady wall per mini-batch: 1 thread ${w1.toFixed(3)} s, ${many} threads ${wn.toFixed(3)} s: speedup ${(w1 / wn).toFixed(2)}x ` +
    `(an epoch: ${((w1 * perEpoch) / 60).toFixed(1)} vs ${((wn * perEpoch) / 60).toFixed(1)} min); cpu per mini-batch ${c1.toFixed(3)} vs ` +
    `${cn.toFixed(3)} s (${(cn / c1).toFixed(2)}x: the threads' overhead); max |E0 difference| between runs ${maxDiff} (${load()})`,
);
