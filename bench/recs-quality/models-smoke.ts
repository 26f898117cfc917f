/**
 * Smoke check of the recommendation kernels on Yelp2018 with the LightGCN protocol
 * (../shared/datasets/README.md): fits each model, reports Recall@20 / NDCG@20 and seconds.
 * Usage: npx tsx bench/recs-quality/models-smoke.ts [ials|itemknn|lightgcn|pop|retail ...] [--key=value ...]
 *   retail           "frequently bought together" and content neighbours on UCI Online Retail (printed for eyeballing)
 *   --val=1          tune on a 20% random hold-out of train instead of the test split
 *   --evalUsers=N    evaluate a seeded random sample of N users (faster; default all)
 * Skips with a message when the dataset folder is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { csrFromCoo, type Csr } from '../../src/ml/csr.ts';
import { parseUserItemText, splitRandomHoldout } from '../../src/ml/dataset.ts';
import { rngMulberry32, shuffleInPlace } from '../../src/ml/random.ts';
import { buildContentIndex, contentSimilarItems, contentVector, similarByContent } from '../../src/ml/content.ts';
import { frequentlyBoughtTogether, similarItems } from '../../src/ml/item-knn.ts';
import { parse } from 'csv-parse/sync';
import { evaluateTopK, type BatchScorer } from '../../src/ml/eval.ts';
import { fitIals } from '../../src/ml/ials.ts';
import { fitItemKnn } from '../../src/ml/item-knn.ts';
import { fitPopularity } from '../../src/ml/popularity.ts';

const dir = resolve(import.meta.dirname, '../../../shared/datasets/yelp2018');
if (!existsSync(dir)) {
  console.log(`models-smoke: skipped, ${dir} not found (the datasets live in shared/, beside the checkout)`);
  process.exit(0);
}

const args = process.argv.slice(2);
const opts = new Map<string, string>();
const which: string[] = [];
for (const a of args) {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (m) opts.set(m[1]!, m[2]!);
  else which.push(a);
}
const num = (key: string, fallback: number): number => (opts.has(key) ? Number(opts.get(key)) : fallback);
const models = which.length > 0 ? which : ['pop', 'itemknn', 'ials'];

const read = (name: string): string => gunzipSync(readFileSync(resolve(dir, name))).toString('utf8');
let t = performance.now();
const trainM = parseUserItemText(read('train.txt.gz'));
const testM = parseUserItemText(read('test.txt.gz'), { users: trainM.users, items: trainM.items });
let train = trainM.csr;
let test = testM.csr;
if (num('val', 0) === 1) {
  const split = splitRandomHoldout(train, 0.2, 2024);
  train = split.train;
  test = split.test;
  console.log('validation mode: 20% of train held out, the test split is not used');
}
const evalUsers = num('evalUsers', 0);
if (evalUsers > 0) test = sampleRows(test, evalUsers, 7);
console.log(
  `loaded ${train.rows} users x ${train.cols} items, ${train.indices.length} train / ${test.indices.length} test in ${((performance.now() - t) / 1000).toFixed(1)}s`,
);

/** The same matrix with only `n` seeded random non-empty rows kept. */
function sampleRows(m: Csr, n: number, seed: number): Csr {
  const candidates: number[] = [];
  for (let r = 0; r < m.rows; r++) if (m.indptr[r + 1]! > m.indptr[r]!) candidates.push(r);
  shuffleInPlace(candidates, rngMulberry32(seed));
  const keep = candidates.slice(0, n);
  const rows: number[] = [];
  const cols: number[] = [];
  for (const r of keep) {
    for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) {
      rows.push(r);
      cols.push(m.indices[p]!);
    }
  }
  return csrFromCoo(m.rows, m.cols, rows, cols);
}

/** CPU seconds of this process (user + system): on a shared machine, wall time overstates cost. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
let cpuAtFit = cpuSeconds();

async function report(name: string, fitSeconds: number, scoreBatch: BatchScorer): Promise<void> {
  const fitCpu = cpuSeconds() - cpuAtFit;
  t = performance.now();
  const m = await evaluateTopK({ train, test, k: 20, scoreBatch, batchSize: 256 });
  const evalSeconds = (performance.now() - t) / 1000;
  console.log(
    `${name}: Recall@20 ${m.recall.toFixed(4)}  NDCG@20 ${m.ndcg.toFixed(4)}  coverage ${m.coverage.toFixed(3)}  ` +
      `train ${fitSeconds.toFixed(1)}s wall / ${fitCpu.toFixed(1)}s cpu  eval ${evalSeconds.toFixed(1)}s  (${m.users} users)`,
  );
}

for (const name of models) {
  if (name === 'pop') {
    t = performance.now();
    cpuAtFit = cpuSeconds();
    const model = fitPopularity(train, {});
    await report('popularity', (performance.now() - t) / 1000, model.scoreBatch);
  } else if (name === 'itemknn') {
    const params = { k: num('k', 200), shrink: num('shrink', 10), binary: true };
    t = performance.now();
    cpuAtFit = cpuSeconds();
    const model = fitItemKnn(train, params);
    await report(`item-kNN ${JSON.stringify(params)}`, (performance.now() - t) / 1000, model.scoreBatch);
  } else if (name === 'ials') {
    const params = {
      factors: num('factors', 64),
      regularization: num('reg', 1),
      alpha: num('alpha', 10),
      iterations: num('iterations', 10),
      cgSteps: num('cg', 3),
      seed: num('seed', 1),
      regularizationExponent: num('nu', 0),
    };
    t = performance.now();
    cpuAtFit = cpuSeconds();
    const model = await fitIals(train, {
      ...params,
      onIteration: ({ iteration, seconds }) => {
        console.log(`  iALS sweep ${iteration} at ${seconds.toFixed(1)}s wall, ${(cpuSeconds() - cpuAtFit).toFixed(1)}s cpu`);
      },
    });
    const fitSeconds = (performance.now() - t) / 1000;
    // fold-in latency: recompute 2000 users' vectors from their train items against the fixed item factors
    const out = new Float32Array(params.factors);
    const tf = performance.now();
    const cf = cpuSeconds();
    let folded = 0;
    for (let u = 0; u < train.rows && folded < 2000; u += 7, folded++) {
      model.foldInUser(train.indices.subarray(train.indptr[u]!, train.indptr[u + 1]!), null, out);
    }
    const scores = new Float32Array(train.cols);
    const ts = performance.now();
    const cs = cpuSeconds();
    for (let r = 0; r < 200; r++) model.scoreVector(out, scores);
    console.log(
      `  fold-in: ${((performance.now() - tf) / folded).toFixed(3)} ms wall / ${(((cs - cf) * 1000) / folded).toFixed(3)} ms cpu per user ` +
        `(mean over ${folded} users, avg ${(train.indices.length / train.rows).toFixed(0)} items); ` +
        `scoring one vector against all items: ${((performance.now() - ts) / 200).toFixed(2)} ms wall / ${(((cpuSeconds() - cs) * 1000) / 200).toFixed(2)} ms cpu`,
    );
    await report(`iALS ${JSON.stringify(params)}`, fitSeconds, model.scoreBatch);
  } else if (name === 'lightgcn') {
    const { fitLightGcn } = await import('../../src/ml/lightgcn.ts');
    const params = {
      embeddingDim: num('dim', 64),
      numLayers: num('layers', 3),
      learningRate: num('lr', 0.001),
      batchSize: num('batch', 2048),
      epochs: num('epochs', 1),
      negativeSamples: num('negatives', 1),
      reg: num('reg', 1e-4),
      seed: num('seed', 1),
    };
    // --maxBatches=N stops after N mini-batches (to time a batch without waiting for an epoch)
    const maxBatches = num('maxBatches', 0);
    let batchesSeen = 0;
    const signal = {
      get aborted(): boolean {
        batchesSeen++;
        if (batchesSeen % 25 === 0)
          console.log(
            `  LightGCN batch ${batchesSeen}: ${((performance.now() - t) / 1000).toFixed(1)}s wall, ${(cpuSeconds() - cpuAtFit).toFixed(1)}s cpu`,
          );
        return maxBatches > 0 && batchesSeen >= maxBatches;
      },
    };
    t = performance.now();
    cpuAtFit = cpuSeconds();
    const model = await fitLightGcn(train, {
      ...params,
      signal,
      onEpoch: ({ epoch, loss, seconds }) => {
        console.log(
          `  LightGCN epoch ${epoch} loss ${loss.toFixed(4)} at ${seconds.toFixed(1)}s wall, ${(cpuSeconds() - cpuAtFit).toFixed(1)}s cpu`,
        );
      },
    });
    if (maxBatches > 0) {
      const perBatch = (performance.now() - t) / 1000 / batchesSeen;
      const perBatchCpu = (cpuSeconds() - cpuAtFit) / batchesSeen;
      const batchesPerEpoch = Math.ceil(train.indices.length / params.batchSize);
      console.log(
        `  LightGCN: ${perBatch.toFixed(2)}s wall / ${perBatchCpu.toFixed(2)}s cpu per batch of ${params.batchSize}, ` +
          `${batchesPerEpoch} batches per epoch: about ${(perBatchCpu * batchesPerEpoch).toFixed(0)}s cpu per epoch`,
      );
    }
    await report(`LightGCN ${JSON.stringify(params)}`, (performance.now() - t) / 1000, model.scoreBatch);
  } else if (name === 'retail') {
    retailDemo(resolve(dir, '../online-retail/online_retail.csv.gz'));
  } else {
    console.log(`unknown model ${name}`);
  }
}

/**
 * Online Retail (cleaned the usual way): invoices x stock codes. Prints "frequently bought together"
 * and content neighbours (from descriptions) of the most-bought items, plus a made-up cold item.
 */
function retailDemo(path: string): void {
  if (!existsSync(path)) {
    console.log(`retail: skipped, ${path} not found`);
    return;
  }
  const rows = parse(gunzipSync(readFileSync(path)), { columns: true }) as Array<Record<string, string>>;
  const itemId = new Map<string, number>();
  const descriptions: string[] = [];
  const invoiceId = new Map<string, number>();
  const basket: number[] = [];
  const item: number[] = [];
  for (const r of rows) {
    if (!r.CustomerID || r.InvoiceNo!.startsWith('C') || !(Number(r.Quantity) > 0) || !(Number(r.UnitPrice) > 0)) continue;
    let i = itemId.get(r.StockCode!);
    if (i === undefined) {
      i = itemId.size;
      itemId.set(r.StockCode!, i);
      descriptions.push(r.Description ?? '');
    }
    let b = invoiceId.get(r.InvoiceNo!);
    if (b === undefined) {
      b = invoiceId.size;
      invoiceId.set(r.InvoiceNo!, b);
    }
    basket.push(b);
    item.push(i);
  }
  const baskets = csrFromCoo(invoiceId.size, itemId.size, basket, item);
  t = performance.now();
  const fbt = frequentlyBoughtTogether(baskets, { k: 20, minSupport: 5 });
  const fbtSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const content = buildContentIndex(descriptions.map((text) => ({ text })));
  const contentSeconds = (performance.now() - t) / 1000;
  console.log(
    `retail: ${baskets.rows} invoices x ${baskets.cols} items, ${baskets.indices.length} lines; ` +
      `FBT ${fbtSeconds.toFixed(2)}s, content index ${contentSeconds.toFixed(2)}s (${content.vocabulary.size} terms)`,
  );
  const counts = new Int32Array(baskets.cols);
  for (const i of baskets.indices) counts[i]!++;
  const popular = [...counts.keys()].sort((a, b) => counts[b]! - counts[a]!).slice(0, 3);
  const name = (i: number): string => `${descriptions[i]} (${counts[i]})`;
  for (const i of popular) {
    console.log(`  ${name(i)}`);
    const together = similarItems(fbt, i, 4);
    console.log(`    bought with: ${[...together.indices].map((j, t) => `${descriptions[j]} [${together.scores[t]}]`).join('; ')}`);
    const alike = contentSimilarItems(content, i, 4);
    console.log(`    content:     ${[...alike.indices].map((j, t) => `${descriptions[j]} [${alike.scores[t]!.toFixed(2)}]`).join('; ')}`);
  }
  const cold = contentVector(content, { text: 'RED HEART CANDLE HOLDER' });
  const coldTop = similarByContent(content, cold, 4);
  console.log(`  new item "RED HEART CANDLE HOLDER" -> ${[...coldTop.indices].map((j) => descriptions[j]).join('; ')}`);
}
