/**
 * bench/recs-serving/graph-filter-form: the graph filter a tenant is served, at Yelp2018 size, in its two forms.
 *
 *   offline form: the linear filter P̃ = R̃ᵀR̃ stored items x items, scored by the scalar reference scorer
 *                 (what a deployed graph_filter artifact held and served before the serving form);
 *   serving form: R̃ kept by user and by item, the linear term as two sparse products per request, the low-rank
 *                 term through the SIMD dot kernel (`ml/graph-filter.serving.ts`).
 *
 * Both are built from one spectrum (one SVD) with a tenant's default graph_filter hyperparameters (or BENCH_PARAMS, a
 * JSON object of them), then score the same sampled users (their whole train rows) in turns; printed: the bytes each
 * form holds, per-user scoring time p50/p99 (one thread, the event loop's cost per /recommendations request before
 * ranking), and the largest score difference between the forms.
 *
 *   nice -n 15 npx tsx bench/recs-serving/graph-filter-form.bench.ts        # BENCH_USERS (2000), BENCH_PARAMS ({})
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseUserItemText } from '../../src/ml/dataset.ts';
import {
  csrGramSparse,
  fitGraphFilterSpectrum,
  graphFilterBaseKey,
  graphFilterFromBase,
  scoreGraphFilter,
} from '../../src/ml/graph-filter.ts';
import { createGraphFilterServingScorer, graphFilterServingFromSpectrum } from '../../src/ml/graph-filter.serving.ts';
import { checkParams, graphFilterOptions, type ModelParams } from '../../src/ml/models.ts';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { loadAverage } from '../lib/load.ts';

const DIR = path.resolve(import.meta.dirname, '../../../shared/datasets/yelp2018');
if (!existsSync(path.join(DIR, 'train.txt.gz'))) {
  console.log(`graph-filter-form skipped: ${DIR}/train.txt.gz not found (the shared datasets folder sits beside the checkout).`);
  process.exit(0);
}
const USERS = Number(process.env.BENCH_USERS ?? 2000);
const checked = checkParams('graph_filter', JSON.parse(process.env.BENCH_PARAMS ?? '{}'));
if (!checked.ok) throw new Error(`BENCH_PARAMS: ${JSON.stringify(checked.details)}`);

const train = parseUserItemText(gunzipSync(readFileSync(path.join(DIR, 'train.txt.gz'))).toString('utf8')).csr;
const binary = { ...train, data: new Float32Array(train.data.length).fill(1) };
const options = graphFilterOptions(checked.params as ModelParams<'graph_filter'>, binary);
console.log(
  `Yelp2018 train: ${train.rows} users, ${train.cols} items, ${train.indices.length} pairs; settings ${JSON.stringify(checked.params)}; load ${loadAverage()}`,
);

let t = performance.now();
const spectrum = fitGraphFilterSpectrum(binary, options);
console.log(`spectrum (R̃ + SVD, shared by both forms): ${((performance.now() - t) / 1000).toFixed(1)} s`);
t = performance.now();
const gram = csrGramSparse(spectrum.normalized, 1);
const offline = graphFilterFromBase({ ...spectrum, gram, key: graphFilterBaseKey(options) }, options);
const offlineSeconds = (performance.now() - t) / 1000;
t = performance.now();
const served = graphFilterServingFromSpectrum(spectrum, options);
const scorer = createGraphFilterServingScorer(served);
const servedSeconds = (performance.now() - t) / 1000;

const csrBytes = (m: { indptr: Int32Array; indices: Int32Array; data: Float32Array }) =>
  m.indptr.byteLength + m.indices.byteLength + m.data.byteLength;
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const offlineBytes = csrBytes(offline.linear) + offline.left.byteLength + offline.right.byteLength;
// R̃ twice (by user, by item) + left + right rows + the dot kernel's packed copy of the right rows + buffers
const servedBytes = scorer.bytes;

const rng = rngMulberry32(10);
const users = Array.from({ length: Math.min(USERS, train.rows) }, () => Math.floor(rng() * train.rows));
const n = train.cols;
const a = new Float32Array(n);
const b = new Float32Array(n);
const times = { offline: [] as number[], served: [] as number[] };
let diff = 0;
let scale = 0;
for (const u of users) {
  const ids = train.indices.slice(train.indptr[u]!, train.indptr[u + 1]!);
  const w = new Float32Array(ids.length).fill(1);
  let s = performance.now();
  scoreGraphFilter(offline, binary, Int32Array.of(u), a);
  times.offline.push(performance.now() - s);
  s = performance.now();
  scorer.scoreUser(ids, w, b);
  times.served.push(performance.now() - s);
  for (let i = 0; i < n; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
}
const pct = (xs: number[], q: number) => xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
console.log(`\n${users.length} users, one thread, load ${loadAverage()}`);
console.log('form      build after spectrum  holds    score/user p50  p99');
console.log(
  `offline   ${offlineSeconds.toFixed(1).padStart(8)} s            ${mb(offlineBytes).padStart(7)}  ${pct(times.offline, 0.5).toFixed(2).padStart(8)} ms  ${pct(times.offline, 0.99).toFixed(2)} ms   (P̃: ${offline.linear.indices.length} entries)`,
);
console.log(
  `serving   ${servedSeconds.toFixed(1).padStart(8)} s            ${mb(servedBytes).padStart(7)}  ${pct(times.served, 0.5).toFixed(2).padStart(8)} ms  ${pct(times.served, 0.99).toFixed(2)} ms   (R̃: ${served.normalized.indices.length} entries)`,
);
console.log(`largest score difference ${diff.toExponential(2)} (largest score ${scale.toFixed(3)})`);
