/**
 * bench/recs-served-quality: is what a tenant is served as good as what `loupe eval --model auto` measures?
 *
 * Yelp2018 (LightGCN protocol files) is uploaded as a tenant through the HTTP API: items by POST /api/v1/items/bulk,
 * every train pair as a `purchase` by POST /api/v1/interactions/batch (Yelp2018 has no times: each user's items get
 * times in a seeded random order). The tenant trains `auto` through POST /api/v1/train (its own search, with the
 * budget BENCH_BUDGET_SECONDS as its `tuning_budget_seconds`), then POST /api/v1/recommendations (count 20) is asked
 * for a seeded sample of the test users and Recall@20 / NDCG@20 of what was served are computed against their test
 * items. Beside it, `loupe eval --model auto` (the same function, called in process) on the same train data, with the
 * same budget, measured on the same sampled users.
 *
 *   npm run bench:recs-served-quality
 *   BENCH_USER_FRACTION=0.1 BENCH_BUDGET_SECONDS=60 npm run bench:recs-served-quality    # a 10% user sample, minutes
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:recs-served-quality
 *
 * Env: BENCH_USER_FRACTION (1: every user; a seeded share of the users, their train and test lines, for a smaller
 * tenant), BENCH_EVAL_USERS (2000 sampled test users), BENCH_BUDGET_SECONDS (210, a tenant's default search budget),
 * BENCH_MODEL (auto; or one family, e.g. graph_filter, trained by the tenant and by eval with BENCH_PARAMS, a JSON object of
 * its hyperparameters: checks that family's serving path against its offline scorer).
 * Goal (issue 10): served Recall@20 within 0.002 of the measured one. Where they differ by design: the tenant holds
 * out every user's latest item to measure its model (its search sees the rest; eval's sees the whole train file),
 * serving scores from the user's latest 200 interactions and excludes only purchases among them (eval: the whole
 * history, every train item excluded); the counts printed say how many sampled users that touches.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { evaluateModel } from '../../src/modules/recs/index.ts';
import { loadAverage } from '../lib/load.ts';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';

const root = path.resolve(import.meta.dirname, '../..');
const DIR = path.resolve(root, '../shared/datasets/yelp2018');
const FRACTION = Number(process.env.BENCH_USER_FRACTION ?? 1);
const EVAL_USERS = Number(process.env.BENCH_EVAL_USERS ?? 2000);
const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 210);
/** `auto` (the default: the tenant's search against eval's), or one family with BENCH_PARAMS (JSON) on both sides. */
const MODEL = process.env.BENCH_MODEL ?? 'auto';
const PARAMS = JSON.parse(process.env.BENCH_PARAMS ?? '{}') as Record<string, unknown>;
/** Serving's history window (`serving.service.ts` HISTORY): users with more train items are scored on their latest. */
const SERVED_HISTORY = 200;
const ADMIN = { email: 'admin@bench.test', password: 'Bench-Password-123!' };

if (!existsSync(path.join(DIR, 'train.txt.gz')) || !existsSync(path.join(DIR, 'test.txt.gz'))) {
  console.log(
    `bench:recs-served-quality skipped: ${DIR}/{train,test}.txt.gz not found (the shared datasets folder sits beside the checkout).`,
  );
  process.exit(0);
}
if (!(FRACTION > 0 && FRACTION <= 1) || !(EVAL_USERS >= 1) || !(BUDGET_SECONDS >= 0)) {
  console.log('BENCH_USER_FRACTION must be in (0, 1], BENCH_EVAL_USERS >= 1, BENCH_BUDGET_SECONDS >= 0');
  process.exit(1);
}
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

// ---------------------------------------------------------------- the data: a seeded user sample, ids made dense
const readLines = async (f: string) =>
  gunzipSync(await fs.readFile(path.join(DIR, f)))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim());
const parse = (l: string) => {
  const [u, ...items] = l.trim().split(/\s+/).map(Number);
  return { u: u!, items };
};
const pick = rngMulberry32(2018);
const trainRows = (await readLines('train.txt.gz')).map(parse).filter(() => FRACTION === 1 || pick() < FRACTION);
const kept = new Set(trainRows.map((r) => r.u));
const testRows = (await readLines('test.txt.gz')).map(parse).filter((r) => kept.has(r.u) && r.items.length > 0);
const userIndex = new Map(trainRows.map((r, k) => [r.u, k]));
const itemIndex = new Map<number, number>();
for (const r of [...trainRows, ...testRows]) for (const i of r.items) if (!itemIndex.has(i)) itemIndex.set(i, itemIndex.size);
const train = trainRows.map((r) => ({ user: userIndex.get(r.u)!, items: r.items.map((i) => itemIndex.get(i)!) }));
const test = testRows.map((r) => ({ user: userIndex.get(r.u)!, items: r.items.map((i) => itemIndex.get(i)!) }));
const pairs = train.reduce((s, r) => s + r.items.length, 0);
// the measured users: a seeded sample of the test users, the same for both sides
const rng = rngMulberry32(7);
const sampled = test.slice();
for (let i = 0; i < Math.min(EVAL_USERS, sampled.length); i++) {
  const j = i + Math.floor(rng() * (sampled.length - i));
  [sampled[i], sampled[j]] = [sampled[j]!, sampled[i]!];
}
sampled.length = Math.min(EVAL_USERS, sampled.length);
const longHistories = sampled.filter((s) => train[s.user]!.items.length > SERVED_HISTORY).length;
console.log(
  `dataset: ${train.length} users (${(FRACTION * 100).toFixed(0)}% sample), ${itemIndex.size} items, ${pairs} train pairs, ${test.length} test users; ` +
    `${sampled.length} measured, ${longHistories} of them with more than ${SERVED_HISTORY} train items; load average ${loadAverage()}`,
);

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-served-quality-'));
const trainFile = path.join(work, 'train.txt');
const testFile = path.join(work, 'test.txt');
await fs.writeFile(trainFile, `${train.map((r) => `${r.user} ${r.items.join(' ')}`).join('\n')}\n`);
await fs.writeFile(testFile, `${sampled.map((r) => `${r.user} ${r.items.join(' ')}`).join('\n')}\n`);

// ---------------------------------------------------------------- Recall@20 / NDCG@20 of one ranked list (the protocol of ml/eval.ts)
function listMetrics(ranked: readonly number[], truth: readonly number[]): { recall: number; ndcg: number } {
  const want = new Set(truth);
  let hits = 0;
  let dcg = 0;
  ranked.slice(0, 20).forEach((i, k) => {
    if (want.has(i)) {
      hits++;
      dcg += 1 / Math.log2(k + 2);
    }
  });
  let idcg = 0;
  for (let k = 0; k < Math.min(20, want.size); k++) idcg += 1 / Math.log2(k + 2);
  return { recall: hits / want.size, ndcg: idcg > 0 ? dcg / idcg : 0 };
}

// ---------------------------------------------------------------- the tenant, through the HTTP API
const scratch = await scratchDatabase('served_quality');
let served: {
  recall: number;
  ndcg: number;
  strategies: Record<string, number>;
  model: string;
  card: any;
  params: unknown;
  trainSeconds: string;
};
try {
  const { loupe, call, close } = await startBenchServer(scratch, { admin: ADMIN, env: { LOUPE_JOB_POLL_MS: '200' } });
  try {
    const admin = (await call('POST', '/api/v1/auth/login', ADMIN)).access_token as string;
    const tenant = await call('POST', '/api/v1/admin/tenants', { name: 'Yelp2018 store' }, admin);
    await call(
      'PATCH',
      `/api/v1/admin/tenants/${tenant.id}`,
      { settings: { recommendations: { tuning_budget_seconds: BUDGET_SECONDS } } },
      admin,
    );
    await call(
      'POST',
      '/api/v1/admin/users',
      { email: 'owner@bench.test', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
      admin,
    );
    const owner = (await call('POST', '/api/v1/auth/login', { email: 'owner@bench.test', password: 'Owner-Password-1' })).access_token;
    const key = (
      await call(
        'POST',
        '/api/v1/api-keys',
        { name: 'bench', scopes: ['catalog:write', 'interactions:write', 'recommendations:read', 'models:manage', 'analytics:read'] },
        owner,
      )
    ).api_key as string;

    let t0 = performance.now();
    const itemIds = [...itemIndex.values()];
    for (let s = 0; s < itemIds.length; s += 1000) {
      const r = await call(
        'POST',
        '/api/v1/items/bulk',
        itemIds.slice(s, s + 1000).map((i) => ({ item_id: `I${i}`, name: `Business ${i}` })),
        key,
      );
      if (r.rejected) throw new Error(`items rejected: ${JSON.stringify(r.results.find((x: any) => x.status === 'rejected'))}`);
    }
    console.log(`catalog: ${itemIds.length} items in ${seconds(t0)} s`);
    t0 = performance.now();
    const base = Date.now() - 30 * 86_400_000;
    const order = rngMulberry32(2018);
    let batch: Record<string, unknown>[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const r = await call('POST', '/api/v1/interactions/batch', { events: batch }, key);
      if (r.rejected) throw new Error(`interactions rejected: ${JSON.stringify(r.results.find((x: any) => x.status === 'rejected'))}`);
      batch = [];
    };
    for (const r of train) {
      const items = r.items.slice();
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(order() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      for (const [k, i] of items.entries()) {
        batch.push({
          user_id: `U${r.user}`,
          item_id: `I${i}`,
          interaction_type: 'purchase',
          timestamp: new Date(base + k * 60_000).toISOString(),
        });
        if (batch.length === 1000) await flush();
      }
    }
    await flush();
    console.log(`interactions: ${pairs} in ${seconds(t0)} s`);

    t0 = performance.now();
    loupe.jobs.start({ concurrency: 1 });
    const job = await call('POST', '/api/v1/train', { model_type: MODEL, hyperparameters: PARAMS }, key);
    let progress;
    for (;;) {
      progress = await call('GET', `/api/v1/training/${job.job_id}/progress`, undefined, key);
      if (['completed', 'failed', 'cancelled'].includes(progress.status)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (progress.status !== 'completed') throw new Error(`training ${progress.status}: ${progress.error}`);
    const trainSeconds = seconds(t0);
    const version = await call('GET', `/api/v1/models/${progress.model_version_id}`, undefined, key);

    t0 = performance.now();
    let recall = 0;
    let ndcg = 0;
    const strategies: Record<string, number> = {};
    for (const s of sampled) {
      const r = await call('POST', '/api/v1/recommendations', { user_id: `U${s.user}`, count: 20 }, key);
      strategies[r.metadata?.strategy ?? '?'] = (strategies[r.metadata?.strategy ?? '?'] ?? 0) + 1;
      const m = listMetrics(
        r.recommendations.map((x: { item_id: string }) => Number(x.item_id.slice(1))),
        s.items,
      );
      recall += m.recall;
      ndcg += m.ndcg;
    }
    console.log(`served: ${sampled.length} recommendation requests in ${seconds(t0)} s`);
    served = {
      recall: recall / sampled.length,
      ndcg: ndcg / sampled.length,
      strategies,
      model: version.model_type,
      card: version.model_card ?? version.card,
      params: version.hyperparameters,
      trainSeconds,
    };
  } finally {
    await close();
  }
} finally {
  await scratch.cleanup();
}

// ---------------------------------------------------------------- loupe eval --model auto, on the same train data and users
const t0 = performance.now();
const measured = await evaluateModel({
  train: trainFile,
  test: testFile,
  model: MODEL as 'auto',
  ...(MODEL === 'auto' ? { budgetMs: BUDGET_SECONDS * 1000 } : { params: PARAMS }),
});
const chosen = measured.chosen ?? { family: MODEL, params: PARAMS };
const evalSeconds = seconds(t0);
await fs.rm(work, { recursive: true, force: true });

const tenantTuning = served.card?.tuning;
console.log(`\nYelp2018 ${(FRACTION * 100).toFixed(0)}% user sample, ${sampled.length} measured users, search budget ${BUDGET_SECONDS} s`);
console.log(`${''.padEnd(44)}chose          Recall@20  NDCG@20  time`);
console.log(
  `served (POST /train ${MODEL}, served)`.padEnd(44) +
    `${served.model.padEnd(14)} ${served.recall.toFixed(4).padStart(9)}  ${served.ndcg.toFixed(4).padStart(7)}  ${served.trainSeconds} s training`,
);
console.log(
  `loupe eval --model ${MODEL}`.padEnd(44) +
    `${chosen.family.padEnd(14)} ${measured.recall20.toFixed(4).padStart(9)}  ${measured.ndcg20.toFixed(4).padStart(7)}  ${evalSeconds} s`,
);
console.log(`tenant's settings: ${JSON.stringify(tenantTuning?.chosen ?? tenantTuning?.params ?? served.params ?? '?')}`);
console.log(`eval's settings:   ${JSON.stringify(chosen.params)}`);
console.log(`served strategies: ${JSON.stringify(served.strategies)}; load average ${loadAverage()}`);
const gap = Math.abs(served.recall - measured.recall20);
console.log(`goal: served Recall@20 within 0.002 of measured: ${gap <= 0.002 ? 'met' : 'NOT met'} (gap ${gap.toFixed(4)})`);
