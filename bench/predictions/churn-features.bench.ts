/**
 * Churn inputs side by side on UCI Online Retail (cutoff 2011-09-10, 91-day window): the same trainer
 * (evaluateChurn: settings, tree counts and calibration chosen on 5 folds of the training customers, test scored
 * once) with the 22 order features of session 9 ("before") and with every input of this version ("after"), on the
 * issue's hash split and BENCH_CHURN_SPLITS more salted splits (default 5), mean +- sd; then a learning curve of the
 * "after" inputs (share of the training customers kept, same test customers); a logistic regression on the same
 * inputs (sign-log transformed, missing indicators) for comparison; and the ceiling a purchase-history-only model
 * could reach if customers behaved exactly as BG/NBD says (labels drawn from each test customer's posterior
 * P(no purchase in the window), scored by that very probability: the Bayes AUC under the model).
 *
 *   nice -n 15 npx tsx bench/predictions/churn-features.bench.ts
 *   BENCH_CHURN_CURVE=only nice -n 15 npx tsx bench/predictions/churn-features.bench.ts   # the learning curve alone
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { bgNbdProbabilityAlive, fitBgNbd } from '../../src/ml/clv.ts';
import { fitLogistic, predictLogistic } from '../../src/ml/logistic.ts';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { rocAuc } from '../../src/ml/metrics.ts';
import {
  CHURN_INPUT_NAMES,
  churnDataset,
  evaluateChurn,
  fnv1a,
  ordersByCustomer,
  parseDay,
  parseTransactions,
} from '../../src/modules/predictions/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const retailFile = resolve(here, '../../../shared/datasets/online-retail/online_retail.csv.gz');
const line = (s: string) => process.stdout.write(`${s}\n`);
const f3 = (v: number) => v.toFixed(3);
const ms = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return `${f3(m)} +- ${f3(Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)))}`;
};

line(
  `machine: ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (loaded figures: AUC and Brier do not depend on load)`,
);
const rows = parse(gunzipSync(readFileSync(retailFile)), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
const csv: string[] = ['customer_id,date,amount'];
for (const r of rows) {
  const q = Number(r.Quantity);
  const p = Number(r.UnitPrice);
  if (!r.CustomerID || r.InvoiceNo!.startsWith('C') || !(q > 0) || !(p > 0)) continue;
  csv.push(`${r.CustomerID.replace(/\.0$/, '')},${r.InvoiceDate},${q * p}`);
}
const customers = ordersByCustomer(parseTransactions(`${csv.join('\n')}\n`));
const cutoff = parseDay('2011-09-10');
const ds = churnDataset(customers, cutoff, 91);
const names = CHURN_INPUT_NAMES;
const before = Array.from({ length: 22 }, (_, j) => j);
const splits = Number(process.env.BENCH_CHURN_SPLITS ?? 5);
const salts = [undefined, ...Array.from({ length: splits }, (_, k) => `split${k + 1}`)];
const curveOnly = process.env.BENCH_CHURN_CURVE === 'only';

/** Logistic regression on sign-log features with missing indicators, L2 1, fitted on the training customers. */
function logisticAuc(salt: string | undefined): number {
  const bucket = (id: string) => (salt ? fnv1a(`${id}:${salt}`) : fnv1a(id)) % 100;
  const tr: number[] = [];
  const te: number[] = [];
  ds.ids.forEach((id, i) => (bucket(id) >= 70 ? te : tr).push(i));
  const cols = Array.from({ length: 33 }, (_, j) => j);
  const x = (idx: number[]) =>
    Float64Array.from(
      idx.flatMap((i) =>
        cols.flatMap((j) => {
          const v = ds.features[i]![j]!;
          return Number.isFinite(v) ? [Math.sign(v) * Math.log1p(Math.abs(v)), 0] : [0, 1];
        }),
      ),
    );
  const m = fitLogistic(
    x(tr),
    Uint8Array.from(tr, (i) => ds.labels[i]!),
    cols.length * 2,
    { l2: 1 },
  );
  return rocAuc(
    predictLogistic(m, x(te)),
    Float64Array.from(te, (i) => ds.labels[i]!),
  );
}

/**
 * BG/NBD fitted on the training customers; each test customer's P(no purchase in the next `window` days | history) =
 * 1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + t))^(r + x). Returns the AUC those probabilities reach on the
 * real labels, and their mean AUC on 200 label sets drawn from them (what an oracle of the model would reach).
 */
function bgNbdCeiling(salt: string | undefined): { real: number; bayes: number; meanQ: number; rate: number } {
  const bucket = (id: string) => (salt ? fnv1a(`${id}:${salt}`) : fnv1a(id)) % 100;
  const tr: number[] = [];
  const te: number[] = [];
  ds.ids.forEach((id, i) => (bucket(id) >= 70 ? te : tr).push(i));
  const bg = fitBgNbd({
    frequency: Float64Array.from(tr, (i) => ds.summaries[i]!.x),
    recency: Float64Array.from(tr, (i) => ds.summaries[i]!.tx),
    T: Float64Array.from(tr, (i) => ds.summaries[i]!.T),
  }).params;
  const t = 91 / 7;
  const q = Float64Array.from(te, (i) => {
    const s = ds.summaries[i]!;
    const alive = bgNbdProbabilityAlive(bg, s.x, s.tx, s.T);
    return 1 - alive + alive * ((bg.alpha + s.T) / (bg.alpha + s.T + t)) ** (bg.r + s.x);
  });
  const rng = rngMulberry32(11);
  let bayes = 0;
  for (let k = 0; k < 200; k++)
    bayes +=
      rocAuc(
        q,
        Float64Array.from(q, (p) => (rng() < p ? 1 : 0)),
      ) / 200;
  const y = Float64Array.from(te, (i) => ds.labels[i]!);
  return { real: rocAuc(q, y), bayes, meanQ: q.reduce((a, b) => a + b, 0) / q.length, rate: y.reduce((a, b) => a + b, 0) / y.length };
}

if (!curveOnly) comparisons();
function comparisons(): void {
  const runs = { before: { auc: [] as number[], brier: [] as number[] }, after: { auc: [] as number[], brier: [] as number[] } };
  line(`\n${ds.ids.length} customers at the cutoff; inputs before ${before.length}, after ${names.length} (${names.slice(22).join(', ')})`);
  line('split        before AUC  Brier    after AUC  Brier    after: out-of-fold AUC, inputs kept');
  for (const salt of process.env.BENCH_CHURN_GBT === '0' ? [] : salts) {
    const t0 = performance.now();
    // BENCH_CHURN_BEFORE=0 skips the 22-input run (a loaded machine: each fit of 2 settings x 5 folds takes minutes)
    const b = process.env.BENCH_CHURN_BEFORE === '0' ? undefined : evaluateChurn(ds, 91, { splitSalt: salt, columns: before });
    const a = evaluateChurn(ds, 91, { splitSalt: salt });
    if (b) {
      runs.before.auc.push(b.test.rocAucUncalibrated);
      runs.before.brier.push(b.test.brier);
    }
    runs.after.auc.push(a.test.rocAucUncalibrated);
    runs.after.brier.push(a.test.brier);
    line(
      `${(salt ?? 'issue').padEnd(12)} ${(b ? f3(b.test.rocAucUncalibrated) : '-').padStart(10)}  ${b ? f3(b.test.brier) : '  -  '}  ${f3(a.test.rocAucUncalibrated).padStart(10)}  ${f3(a.test.brier)}    ${Math.max(...a.validation.map((v) => v.validAuc)).toFixed(3)}, ${a.model.inputs.length}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  line(`mean +- sd over ${salts.length} splits: before AUC ${ms(runs.before.auc)}, Brier ${ms(runs.before.brier)}`);
  line(`                               after  AUC ${ms(runs.after.auc)}, Brier ${ms(runs.after.brier)}`);

  line('\nsame splits: logistic regression on the 33 order inputs; BG/NBD P(no purchase in 91 days) on the real labels and its Bayes AUC');
  const lr: number[] = [];
  const real: number[] = [];
  const bayes: number[] = [];
  for (const salt of salts) {
    const c = bgNbdCeiling(salt);
    lr.push(logisticAuc(salt));
    real.push(c.real);
    bayes.push(c.bayes);
    line(
      `${(salt ?? 'issue').padEnd(12)} logistic ${f3(lr[lr.length - 1]!)}   BG/NBD real ${f3(c.real)}   Bayes AUC under BG/NBD ${f3(c.bayes)}   (mean q ${f3(c.meanQ)}, churn rate ${f3(c.rate)})`,
    );
  }
  line(`mean +- sd: logistic ${ms(lr)}, BG/NBD real ${ms(real)}, Bayes AUC under BG/NBD ${ms(bayes)}`);
}

// learning curve: does more data move the test AUC? Same test customers per split; a nested share of the training
// customers kept (another hash of the id: the 10% are inside the 25%, and so on). Settings are chosen on the kept
// training customers' folds only, as for the full model.
if (process.env.BENCH_CHURN_CURVE !== '0') {
  const curveSalts = [undefined, 'split1', 'split2'];
  line(`\nlearning curve (after inputs, issue split + 2 salted splits; test customers fixed per split; load ${loadavg()[0]!.toFixed(1)}):`);
  line('  kept  training customers  test AUC per split (issue, split1, split2)  mean +- sd   Brier mean');
  for (const pct of [10, 25, 50, 100]) {
    const t0 = performance.now();
    const e = curveSalts.map((salt) => evaluateChurn(ds, 91, { splitSalt: salt, trainPercent: pct }));
    const auc = e.map((v) => v.test.rocAucUncalibrated);
    const brier = e.reduce((a, v) => a + v.test.brier, 0) / e.length;
    line(
      `  ${`${pct}%`.padStart(4)}  ${e
        .map((v) => v.customers.train)
        .join('/')
        .padStart(
          18,
        )}  ${auc.map(f3).join(', ').padStart(42)}  ${ms(auc)}  ${f3(brier)}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}
