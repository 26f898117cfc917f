import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { csrFromCoo, type Csr } from './csr.ts';
import {
  fitLightGcn,
  lightGcnGraph,
  lightGcnLossAndGrad,
  lightGcnPropagate,
  lightGcnSimdWorkspace,
  lightGcnValidationNdcg,
  lightGcnWorkspace,
  sampleNegatives,
  type BprBatch,
} from './lightgcn.ts';
import { usersWithTestItems } from './eval.ts';
import { validationSplit } from './holdout.ts';
import { defaultParams, lightGcnEarlyStopping, type ModelParams } from './models.ts';
import { fillNormal, rngMulberry32 } from './random.ts';

/** Dense (U + I) x (U + I) normalised adjacency. */
function denseAdjacency(train: Csr): number[][] {
  const n = train.rows + train.cols;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const degU = new Array<number>(train.rows).fill(0);
  const degI = new Array<number>(train.cols).fill(0);
  for (let u = 0; u < train.rows; u++) {
    for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) {
      degU[u]!++;
      degI[train.indices[p]!]!++;
    }
  }
  for (let u = 0; u < train.rows; u++) {
    for (let p = train.indptr[u]!; p < train.indptr[u + 1]!; p++) {
      const i = train.indices[p]!;
      const w = 1 / Math.sqrt(degU[u]! * degI[i]!);
      a[u]![train.rows + i] = w;
      a[train.rows + i]![u] = w;
    }
  }
  return a;
}

function matVec(a: number[][], x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < a.length; r++) {
    for (let c = 0; c < a.length; c++) {
      const w = a[r]![c]!;
      if (w !== 0) for (let k = 0; k < d; k++) out[r * d + k]! += w * x[c * d + k]!;
    }
  }
  return out;
}

const graphArb = fc.record({ users: fc.integer({ min: 1, max: 6 }), items: fc.integer({ min: 2, max: 6 }) }).chain(({ users, items }) =>
  fc.record({
    users: fc.constant(users),
    items: fc.constant(items),
    pairs: fc.array(fc.tuple(fc.integer({ min: 0, max: users - 1 }), fc.integer({ min: 0, max: items - 1 })), {
      minLength: 1,
      maxLength: 20,
    }),
  }),
);

function build(arb: { users: number; items: number; pairs: Array<[number, number]> }): Csr {
  const m = csrFromCoo(
    arb.users,
    arb.items,
    arb.pairs.map((p) => p[0]),
    arb.pairs.map((p) => p[1]),
  );
  m.data.fill(1);
  return m;
}

function randomEmbeddings(n: number, seed: number): Float32Array {
  const e = new Float32Array(n);
  fillNormal(e, rngMulberry32(seed));
  return e;
}

describe('lightGcnPropagate', () => {
  it('equals the dense mean of Â^k x, k = 0..K', () => {
    fc.assert(
      fc.property(graphArb, fc.integer({ min: 0, max: 3 }), fc.constantFrom(1, 3, 8, 11), (arb, layers, d) => {
        const train = build(arb);
        const n = arb.users + arb.items;
        const x = randomEmbeddings(n * d, 3);
        const got = lightGcnPropagate(lightGcnGraph(train), x, d, layers, new Float32Array(n * d));
        const a = denseAdjacency(train);
        const expected = Float32Array.from(x);
        let cur = x;
        for (let k = 1; k <= layers; k++) {
          cur = matVec(a, cur, d);
          for (let t = 0; t < expected.length; t++) expected[t]! += cur[t]!;
        }
        for (let t = 0; t < expected.length; t++) expect(got[t]).toBeCloseTo(expected[t]! / (layers + 1), 5);
      }),
      { numRuns: 60 },
    );
  });

  it('is self-adjoint: <P x, y> = <x, P y> (why the backward pass reuses the forward one)', () => {
    fc.assert(
      fc.property(graphArb, (arb) => {
        const g = lightGcnGraph(build(arb));
        const d = 2;
        const n = (arb.users + arb.items) * d;
        const x = randomEmbeddings(n, 1);
        const y = randomEmbeddings(n, 2);
        const px = lightGcnPropagate(g, x, d, 3, new Float32Array(n));
        const py = lightGcnPropagate(g, y, d, 3, new Float32Array(n));
        let a = 0;
        let b = 0;
        for (let t = 0; t < n; t++) {
          a += px[t]! * y[t]!;
          b += x[t]! * py[t]!;
        }
        expect(a).toBeCloseTo(b, 4);
      }),
      { numRuns: 40 },
    );
  });
});

describe('lightGcnLossAndGrad', () => {
  it.each([
    [3, 2],
    [9, 3], // 8-column fast path plus a 1-column tail
    [2, 1],
    [2, 0],
  ])('matches central finite differences on a tiny graph (d = %i, K = %i)', (d, layers) => {
    // 4 users x 5 items
    const train = build({
      users: 4,
      items: 5,
      pairs: [
        [0, 0],
        [0, 1],
        [1, 1],
        [1, 2],
        [2, 3],
        [2, 0],
        [3, 4],
        [3, 2],
        [1, 4],
      ],
    });
    const g = lightGcnGraph(train);
    const reg = 0.05;
    const n = (4 + 5) * d;
    const e0 = randomEmbeddings(n, 42);
    for (let t = 0; t < n; t++) e0[t]! *= 0.5;
    const batch: BprBatch = {
      users: Int32Array.from([0, 1, 2, 0]),
      pos: Int32Array.from([0, 2, 3, 1]),
      neg: Int32Array.from([3, 4, 0, 0, 1, 4, 2, 3]),
      negatives: 2,
    };
    const grad = new Float32Array(n);
    lightGcnLossAndGrad(g, e0, d, layers, batch, reg, grad);
    const scratch = new Float32Array(n);
    const h = 1e-2;
    for (let t = 0; t < n; t++) {
      const saved = e0[t]!;
      e0[t] = saved + h;
      const up = lightGcnLossAndGrad(g, e0, d, layers, batch, reg, scratch);
      e0[t] = saved - h;
      const down = lightGcnLossAndGrad(g, e0, d, layers, batch, reg, scratch);
      e0[t] = saved;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(grad[t]! - fd)).toBeLessThan(2e-4 + 1e-3 * Math.abs(fd));
    }
  });
});

describe('SIMD propagation', () => {
  it('gives the same loss and gradient as the scalar loops', () => {
    fc.assert(
      fc.property(graphArb, fc.constantFrom(4, 8, 6), fc.integer({ min: 0, max: 3 }), (arb, d, layers) => {
        const g = lightGcnGraph(build(arb));
        const n = (arb.users + arb.items) * d;
        const batch: BprBatch = {
          users: Int32Array.from([0, arb.users - 1]),
          pos: Int32Array.from([0, arb.items - 1]),
          neg: Int32Array.from([arb.items - 1, 0]),
          negatives: 1,
        };
        const e0 = randomEmbeddings(n, 8);
        const grad = new Float32Array(n);
        const loss = lightGcnLossAndGrad(g, e0, d, layers, batch, 0.01, grad, lightGcnWorkspace(g, d));
        const simd = lightGcnSimdWorkspace(g, d);
        simd.e0.set(e0);
        const simdLoss = lightGcnLossAndGrad(g, simd.e0, d, layers, batch, 0.01, simd.grad, simd.ws);
        expect(simdLoss).toBeCloseTo(loss, 5);
        for (let t = 0; t < n; t++) expect(simd.grad[t]).toBeCloseTo(grad[t]!, 5);
        const out = lightGcnPropagate(g, simd.e0, d, layers, new Float32Array(n), simd.ws.propagation, simd.ws.engine);
        const ref = lightGcnPropagate(g, e0, d, layers, new Float32Array(n));
        for (let t = 0; t < n; t++) expect(out[t]).toBeCloseTo(ref[t]!, 5);
      }),
      { numRuns: 30 },
    );
  });
});

describe('sampleNegatives', () => {
  it('never returns a seen item when unseen ones exist', () => {
    const train = build({
      users: 2,
      items: 6,
      pairs: [
        [0, 0],
        [0, 2],
        [0, 5],
        [1, 1],
      ],
    });
    const users = Int32Array.from({ length: 200 }, (_, t) => t % 2);
    const neg = new Int32Array(400);
    sampleNegatives(train, users, 2, rngMulberry32(5), neg);
    for (let t = 0; t < neg.length; t++) {
      const u = users[t >> 1]!;
      const seen = u === 0 ? [0, 2, 5] : [1];
      expect(seen).not.toContain(neg[t]);
    }
  });
});

describe('fitLightGcn', () => {
  // two communities; each user misses one item of their own community
  const rows: number[] = [];
  const cols: number[] = [];
  for (let u = 0; u < 30; u++) {
    const block = u < 15 ? 0 : 8;
    for (let i = 0; i < 8; i++) {
      if (i === u % 8) continue;
      rows.push(u);
      cols.push(block + i);
    }
  }
  const train = build({ users: 30, items: 16, pairs: rows.map((r, t) => [r, cols[t]!] as [number, number]) });

  it('lowers the loss and ranks the held-out community item above the other community', async () => {
    const losses: number[] = [];
    const model = await fitLightGcn(train, {
      embeddingDim: 8,
      numLayers: 2,
      learningRate: 0.05,
      batchSize: 64,
      epochs: 30,
      seed: 3,
      onEpoch: ({ loss }) => {
        losses.push(loss);
      },
    });
    expect(losses.length).toBe(30);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    const out = new Float32Array(30 * 16);
    model.scoreBatch(
      Int32Array.from({ length: 30 }, (_, u) => u),
      out,
    );
    for (let u = 0; u < 30; u++) {
      const block = u < 15 ? 0 : 8;
      const held = out[u * 16 + block + (u % 8)]!;
      for (let i = 0; i < 16; i++) if (i < block || i >= block + 8) expect(held).toBeGreaterThan(out[u * 16 + i]!);
    }
  });

  it('is deterministic and stops when onEpoch returns false or the signal aborts', async () => {
    const params = { embeddingDim: 4, numLayers: 1, batchSize: 16, seed: 9 };
    let calls = 0;
    const a = await fitLightGcn(train, { ...params, epochs: 10, onEpoch: () => ++calls < 3 });
    const b = await fitLightGcn(train, { ...params, epochs: 3 });
    expect(calls).toBe(3);
    expect(a.epochsRun).toBe(3);
    expect([...a.egoEmbeddings]).toEqual([...b.egoEmbeddings]);
    // a warm start copies E0 (zero epochs leave it as given)
    const warm = await fitLightGcn(train, { ...params, epochs: 0, initialEmbeddings: b.egoEmbeddings });
    expect(warm.egoEmbeddings).not.toBe(b.egoEmbeddings);
    expect([...warm.egoEmbeddings]).toEqual([...b.egoEmbeddings]);
    expect([...warm.finalEmbeddings]).toEqual([...b.finalEmbeddings]);
    const signal = { aborted: true };
    const c = await fitLightGcn(train, { ...params, epochs: 10, signal });
    expect(c.epochsRun).toBe(1);
  });
});

describe('fitLightGcn early stopping on validation NDCG', () => {
  /** 120 users in 6 taste groups of 10 items (75% of picks in the group), 8 items each; 25% of pairs held out. */
  function groupsWithHoldout() {
    const rng = rngMulberry32(5);
    const r: number[] = [];
    const c: number[] = [];
    for (let u = 0; u < 120; u++) {
      const seen = new Set<number>();
      while (seen.size < 8) seen.add(rng() < 0.75 ? (u % 6) * 10 + Math.floor(rng() * 10) : Math.floor(rng() * 60));
      for (const i of seen) {
        r.push(u);
        c.push(i);
      }
    }
    return validationSplit(csrFromCoo(120, 60, r, c), 0.25, 3);
  }
  // a learning rate this high and no L2 overfit these 720 pairs within a few epochs: validation NDCG peaks, then falls
  const params = { embeddingDim: 16, numLayers: 2, learningRate: 0.1, batchSize: 64, reg: 0, seed: 1 } as const;

  it('stops `patience` measurements after the best one and keeps the best epoch, not the last', async () => {
    const { train, validation } = groupsWithHoldout();
    const m = await fitLightGcn(train, { ...params, epochs: 150, validation: { heldOut: validation, every: 2, patience: 4 } });
    const ndcgs = m.validation.map((v) => v.ndcg);
    const best = m.validation[ndcgs.indexOf(Math.max(...ndcgs))]!;
    expect(m.validation.map((v) => v.epoch)).toEqual(Array.from({ length: ndcgs.length }, (_, k) => 2 * (k + 1)));
    expect(m.bestEpoch).toBe(best.epoch);
    expect(m.epochsRun).toBe(best.epoch + 2 * 4);
    expect(m.epochsRun).toBeLessThan(150);
    // the fall after the peak is real, so keeping the last epoch would be measurably worse
    expect(ndcgs[ndcgs.length - 1]!).toBeLessThan(best.ndcg - 0.02);
    // the model holds the best epoch's embeddings: those of a plain run stopped there (the measurements draw no
    // random numbers), and its validation NDCG is the best one measured
    const plain = await fitLightGcn(train, { ...params, epochs: best.epoch });
    expect(Array.from(m.finalEmbeddings)).toEqual(Array.from(plain.finalEmbeddings));
    const users = usersWithTestItems(validation);
    expect(lightGcnValidationNdcg(m.finalEmbeddings, 16, train, validation, users, 20)).toBeCloseTo(best.ndcg, 6);
  });

  it('without a hold-out, runs every epoch; a hold-out too small to rank falls back to the loss plateau', async () => {
    const { train } = groupsWithHoldout();
    const m = await fitLightGcn(train, { ...params, epochs: 12 });
    expect(m.epochsRun).toBe(12);
    expect(m.bestEpoch).toBe(12);
    expect(m.validation).toEqual([]);
    const tiny = csrFromCoo(3, 4, [0, 1, 2], [0, 1, 2]);
    const stop = lightGcnEarlyStopping(tiny, defaultParams('lightgcn') as ModelParams<'lightgcn'>);
    expect(stop.validation).toBeNull();
    expect(stop.fitOn).toBe(tiny);
    expect(stop.fallback).toMatch(/validation hold-out/);
  });
});
