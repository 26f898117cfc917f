// eslint-disable-next-line no-restricted-imports -- the test counts the process's OS threads in /proc
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { csrFromCoo } from './csr.ts';
import { validationSplit } from './holdout.ts';
import { fitLightGcn, lightGcnGraph, lightGcnLossAndGrad, lightGcnSpmm, sampleNegatives } from './lightgcn.ts';
import { createLightGcnShared, createLightGcnThreads, lightGcnViews } from './lightgcn.pool.ts';
import { fillNormal, rngMulberry32, shuffleInPlace } from './random.ts';

/** 200 users in 5 taste groups of 16 items (80% of picks in the group), 10 items each. */
function groups() {
  const rng = rngMulberry32(7);
  const r: number[] = [];
  const c: number[] = [];
  for (let u = 0; u < 200; u++) {
    const seen = new Set<number>();
    while (seen.size < 10) seen.add(rng() < 0.8 ? (u % 5) * 16 + Math.floor(rng() * 16) : Math.floor(rng() * 80));
    for (const i of seen) {
      r.push(u);
      c.push(i);
    }
  }
  const m = csrFromCoo(200, 80, r, c);
  m.data.fill(1);
  return m;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]!)), 0);

describe('fitLightGcn on worker threads', () => {
  // d = 10: rows are padded to 12 floats for the SIMD kernels, and the padding must stay out of the result
  const params = { embeddingDim: 10, numLayers: 3, learningRate: 0.02, batchSize: 96, reg: 1e-3, seed: 4 } as const;

  it('gives the same embeddings and validation measurements on 1 and 2 threads, bit for bit', async () => {
    const { train, validation } = validationSplit(groups(), 0.2, 2);
    const fit = (threads: number) => fitLightGcn(train, { ...params, epochs: 4, threads, validation: { heldOut: validation, every: 2 } });
    const one = await fit(1);
    const two = await fit(2);
    expect([one.threads, two.threads]).toEqual([1, 2]);
    // every row of a hop or an update is computed the same way by whichever thread takes it
    expect(Array.from(two.egoEmbeddings)).toEqual(Array.from(one.egoEmbeddings));
    expect(Array.from(two.finalEmbeddings)).toEqual(Array.from(one.finalEmbeddings));
    expect(two.validation).toEqual(one.validation);
    expect(one.validation.map((v) => v.epoch)).toEqual([2, 4]);
    expect(one.egoEmbeddings.length).toBe((200 + 80) * 10);
    // training moved the embeddings: a fit of zero epochs is the initialisation
    const init = await fitLightGcn(train, { ...params, epochs: 0, threads: 1 });
    expect(maxDiff(init.egoEmbeddings, one.egoEmbeddings)).toBeGreaterThan(0.01);
  });

  it('one SGD step on one batch is E0 - lr · the reference gradient (lightGcnLossAndGrad), for K = 0..3', async () => {
    const train = groups();
    const nnz = train.indices.length;
    const d = 10;
    const lr = 0.5;
    const n = (train.rows + train.cols) * d;
    const e0 = new Float32Array(n);
    fillNormal(e0, rngMulberry32(3));
    for (let layers = 0; layers <= 3; layers++) {
      const seed = 11 + layers;
      const m = await fitLightGcn(train, {
        embeddingDim: d,
        numLayers: layers,
        learningRate: lr,
        optimizer: 'sgd',
        batchSize: nnz,
        reg: 0.01,
        epochs: 1,
        seed,
        // the thread count changes no bit (the test above); one pool, for the deepest propagation, is enough here
        threads: layers === 3 ? 2 : 1,
        initialEmbeddings: e0,
      });
      // the fit's batch: the pairs in its seeded order, then its negatives (a warm start draws no initial numbers)
      const rng = rngMulberry32(seed);
      const order = Int32Array.from({ length: nnz }, (_, p) => p);
      shuffleInPlace(order, rng);
      const users = new Int32Array(nnz);
      const pos = new Int32Array(nnz);
      for (let b = 0; b < nnz; b++) {
        const p = order[b]!;
        let u = 0;
        while (train.indptr[u + 1]! <= p) u++;
        users[b] = u;
        pos[b] = train.indices[p]!;
      }
      const neg = new Int32Array(nnz);
      sampleNegatives(train, users, 1, rng, neg);
      const grad = new Float32Array(n);
      lightGcnLossAndGrad(lightGcnGraph(train), e0, d, layers, { users, pos, neg, negatives: 1 }, 0.01, grad);
      const want = e0.map((x, t) => x - lr * grad[t]!);
      // the same sums in another order (pull instead of scatter, one rounding of (a + b) / (K + 1)): float32 noise
      expect(maxDiff(m.egoEmbeddings, want)).toBeLessThan(1e-6);
      expect(maxDiff(m.egoEmbeddings, e0)).toBeGreaterThan(1e-4);
    }
  });

  it('runs every unit of a hop exactly once, whichever threads take them, at the nice value given', async () => {
    const train = groups();
    const graph = lightGcnGraph(train);
    const d = 8;
    const shared = createLightGcnShared(graph, d);
    const v = lightGcnViews(shared);
    fillNormal(v.f32.e0, rngMulberry32(1));
    const pool = createLightGcnThreads(shared, 2, 7);
    try {
      const reports = await pool.run({
        op: 'hop',
        units: 37,
        rows: 'all',
        count: 0,
        marked: false,
        from: 'e0',
        to: 'a',
        base: 'e0',
        acc: 'fin',
        scale: 0.5,
      });
      expect(reports.reduce((a, r) => a + r.units, 0)).toBe(37);
      const hop = new Float32Array(v.f32.e0.length);
      lightGcnSpmm(graph, v.f32.e0, hop, d);
      const want = v.f32.e0.map((x, t) => (x + hop[t]!) * 0.5);
      expect(maxDiff(v.f32.fin, want)).toBeLessThan(1e-6);
      if (process.platform === 'linux') for (const r of reports) expect(r.nice).toBeGreaterThanOrEqual(7);
    } finally {
      await pool.close();
    }
  });

  // the process's OS threads (Linux: /proc/self/task); elsewhere the checks are skipped
  const osThreads = (): number => (process.platform === 'linux' ? readdirSync('/proc/self/task').length : 0);

  it('closes its threads when a checkpoint abandons the fit, and when the signal cancels it', async () => {
    const train = groups();
    const before = osThreads();
    let during = 0;
    await expect(
      fitLightGcn(train, {
        ...params,
        epochs: 5,
        threads: 3,
        onEpoch: () => {
          during = osThreads();
          throw new Error('cancelled');
        },
      }),
    ).rejects.toThrow('cancelled');
    let batches = 0;
    const cancelled = await fitLightGcn(train, {
      ...params,
      epochs: 5,
      threads: 3,
      signal: {
        get aborted() {
          return ++batches >= 2;
        },
      },
    });
    expect(cancelled.epochsRun).toBe(1);
    expect(batches).toBe(2);
    if (process.platform !== 'linux') return;
    // threads: 3 is the calling thread and two workers (each one OS thread or more): they ran, and are gone
    expect(during).toBeGreaterThanOrEqual(before + 2);
    expect(osThreads()).toBeLessThanOrEqual(during - 2);
  });

  it.runIf(process.platform === 'linux')('pool threads inherit the nice value of the thread that trains', async () => {
    // a training thread lowered to nice 9 (as the training worker lowers itself) starts a pool without saying a nice
    // value: its threads report 9 too (Linux gives a new thread its creator's nice; a pool that imposed its own, say
    // BACKGROUND_NICE, would be caught here)
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('tsx/package.json');
    const pkg = require(pkgPath) as { exports: Record<string, { import: { default: string } }> };
    const tsxApi = new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
    const poolUrl = new URL('./lightgcn.pool.ts', import.meta.url).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      const os = require('node:os');
      os.setPriority(9);
      import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(poolUrl)}); }).then(async (p) => {
        const graph = { users: 1, items: 1, userItem: { rows: 1, cols: 1, indptr: Int32Array.of(0, 1), indices: Int32Array.of(0), data: Float32Array.of(1) },
          itemUser: { rows: 1, cols: 1, indptr: Int32Array.of(0, 1), indices: Int32Array.of(0), data: Float32Array.of(1) } };
        const threads = p.createLightGcnThreads(p.createLightGcnShared(graph, 4), 2);
        const reports = await threads.run({ op: 'sgd', units: 2, stepSize: 0, epsHat: 0, beta1: 0, beta2: 0 });
        await threads.close();
        parentPort.postMessage(reports.map((r) => r.nice));
      });`;
    const worker = new Worker(code, { eval: true });
    const nices = await new Promise<number[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(nices).toEqual([9, 9]);
  });
});
