/**
 * iALS training on worker threads: wall and CPU time of the same fit on 1 and on N threads, alternated
 * (1, N, N, 1, ...) so that both see the same machine, with the load average printed beside every figure
 * ("loaded" above 3). Yelp2018's train file (LightGCN protocol, ../shared/datasets/README.md), the model
 * table's iALS defaults, a few sweeps. Also checks that every run gave the same factors (they must: the
 * result does not depend on the thread count).
 * Usage: nice -n 15 npx tsx bench/recs-training/ials-threads.bench.ts [--iterations=3] [--rounds=2] [--threads=2]
 * Skips with a message when the dataset folder is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../src/ml/dataset.ts';
import { fitIals } from '../../src/ml/ials.ts';
import { defaultParams, ialsOptions } from '../../src/ml/models.ts';

const dir = resolve(import.meta.dirname, '../../../shared/datasets/yelp2018');
if (!existsSync(dir)) {
  console.log(`ials-threads: skipped, ${dir} not found (the datasets live in shared/, beside the checkout)`);
  process.exit(0);
}
const opts = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, Number(m[2])] as const),
);
const iterations = opts.get('iterations') ?? 3;
const rounds = opts.get('rounds') ?? 2;
const many = opts.get('threads') ?? 2;

const train = parseUserItemText(gunzipSync(readFileSync(resolve(dir, 'train.txt.gz'))).toString('utf8')).csr;
const params = { ...ialsOptions(defaultParams('ials')), iterations };
console.log(
  `Yelp2018 train: ${train.rows} users x ${train.cols} items, ${train.indices.length} pairs; iALS ${params.factors} factors, ` +
    `${params.cgSteps} CG steps, ${iterations} sweeps; threads 1 vs ${many}, ${rounds} rounds alternated`,
);

const load = (): string => {
  const l = loadavg()[0]!;
  return `load ${l.toFixed(1)}${l > 3 ? ' (loaded)' : ''}`;
};
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const results = new Map<number, { wall: number[]; cpu: number[] }>([
  [1, { wall: [], cpu: [] }],
  [many, { wall: [], cpu: [] }],
]);
let first: Float32Array | null = null;
let maxDiff = 0;
for (let r = 0; r < rounds; r++) {
  for (const threads of r % 2 === 0 ? [1, many] : [many, 1]) {
    const before = load();
    const t = performance.now();
    const c = cpuSeconds();
    const model = await fitIals(train, { ...params, threads });
    const wall = (performance.now() - t) / 1000;
    const cpu = cpuSeconds() - c;
    results.get(threads)!.wall.push(wall);
    results.get(threads)!.cpu.push(cpu);
    if (first === null) first = model.itemFactors;
    else for (let k = 0; k < first.length; k++) maxDiff = Math.max(maxDiff, Math.abs(first[k]! - model.itemFactors[k]!));
    console.log(
      `  round ${r + 1} threads ${threads}: wall ${wall.toFixed(2)} s, cpu ${cpu.toFixed(2)} s (${before} before, ${load()} after)`,
    );
  }
}
const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const w1 = median(results.get(1)!.wall);
const wn = median(results.get(many)!.wall);
console.log(
  `median wall: 1 thread ${w1.toFixed(2)} s, ${many} threads ${wn.toFixed(2)} s: speedup ${(w1 / wn).toFixed(2)}x; ` +
    `median cpu ${median(results.get(1)!.cpu).toFixed(2)} vs ${median(results.get(many)!.cpu).toFixed(2)} s; ` +
    `max |item factor difference| between runs ${maxDiff} (${load()})`,
);
