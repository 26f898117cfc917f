import { describe, expect, it } from 'vitest';
import { csrFromCoo, type Csr } from './csr.ts';
import { tooSmallToTune, validationSplit } from './holdout.ts';
import { defaultParams } from './models.ts';
import { rngMulberry32 } from './random.ts';
import {
  MAX_TUNING_BUDGET_MS,
  SEARCH_SPACES,
  type FitCandidate,
  TrialCut,
  TuningCancelled,
  type TuningOptions,
  trialCostRatio,
  tuneModel,
} from './tuning.ts';

/** Users in `groups` taste clusters, each mostly picking items of its own cluster (something to learn). */
function clustered(users: number, items: number, perUser: number, seed: number, groups = 4): Csr {
  const rng = rngMulberry32(seed);
  const r: number[] = [];
  const c: number[] = [];
  const span = Math.floor(items / groups);
  for (let u = 0; u < users; u++) {
    const g = u % groups;
    const seen = new Set<number>();
    while (seen.size < perUser) {
      const i = rng() < 0.85 ? g * span + Math.floor(rng() * rng() * span) : Math.floor(rng() * items);
      seen.add(i);
    }
    for (const i of seen) {
      r.push(u);
      c.push(i);
    }
  }
  return csrFromCoo(users, items, r, c);
}

/** A clock that moves only when a fit runs: `msPerFit` per fit, so budgets are deterministic. */
function fakeClock(msPerFit: number, inner?: FitCandidate): { now: () => number; fit: FitCandidate; fits: () => number } {
  let t = 0;
  let n = 0;
  const base: FitCandidate = inner ?? (async () => ({ scoreBatch: () => undefined }));
  return {
    now: () => t,
    fits: () => n,
    fit: async (f, m, p, checkpoint) => {
      n++;
      t += msPerFit;
      return base(f, m, p, checkpoint);
    },
  };
}

const data = clustered(160, 48, 8, 3);

describe('validationSplit', () => {
  it('partitions each user, keeps a train item for everyone and the values, and is seeded', () => {
    const weighted: Csr = { ...data, data: Float32Array.from(data.data, (_, k) => 1 + (k % 3)) };
    const a = validationSplit(weighted, 0.3, 9);
    const b = validationSplit(weighted, 0.3, 9);
    expect(Array.from(a.validation.indices)).toEqual(Array.from(b.validation.indices));
    expect(a.heldOut).toBeGreaterThan(0);
    expect(a.train.indices.length + a.validation.indices.length).toBe(data.indices.length);
    for (let u = 0; u < data.rows; u++) {
      const tr = new Set(a.train.indices.subarray(a.train.indptr[u], a.train.indptr[u + 1]));
      const va = Array.from(a.validation.indices.subarray(a.validation.indptr[u], a.validation.indptr[u + 1]));
      expect(tr.size).toBeGreaterThan(0);
      for (const i of va) expect(tr.has(i)).toBe(false);
    }
    // weights travel with their pair
    const w = new Map<string, number>();
    for (let u = 0; u < data.rows; u++)
      for (let p = weighted.indptr[u]!; p < weighted.indptr[u + 1]!; p++) w.set(`${u}:${weighted.indices[p]}`, weighted.data[p]!);
    for (let u = 0; u < data.rows; u++)
      for (let p = a.train.indptr[u]!; p < a.train.indptr[u + 1]!; p++) expect(a.train.data[p]).toBe(w.get(`${u}:${a.train.indices[p]}`));
    expect(Array.from(validationSplit(weighted, 0.3, 10).validation.indices)).not.toEqual(Array.from(a.validation.indices));
  });

  it('never holds out the only item of a user', () => {
    const single = csrFromCoo(
      50,
      10,
      Array.from({ length: 50 }, (_, u) => u),
      Array.from({ length: 50 }, (_, u) => u % 10),
    );
    expect(validationSplit(single, 0.5, 1).heldOut).toBe(0);
  });
});

describe('tuneModel', () => {
  it('falls back to the defaults and says why when the data is too small to hold anything out', async () => {
    const threeUsers = csrFromCoo(3, 5, [0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 3, 4]);
    const oneItem = csrFromCoo(
      40,
      1,
      Array.from({ length: 40 }, (_, u) => u),
      new Array(40).fill(0),
    );
    const empty = csrFromCoo(0, 0, [], []);
    for (const m of [threeUsers, oneItem, empty]) {
      expect(tooSmallToTune(m)).not.toBeNull();
      const r = await tuneModel(m, { budgetMs: 60_000 });
      expect(r.stoppedBy).toBe('fallback');
      expect(r.fallback).toMatch(/item_knn with its default settings/);
      expect(r.trials).toEqual([]);
      expect(r.family).toBe('item_knn');
      expect(r.params).toEqual(defaultParams('item_knn'));
    }
    expect((await tuneModel(threeUsers, { budgetMs: 0 })).fallback).toMatch(/only 3 user/);
    expect((await tuneModel(oneItem, { budgetMs: 0 })).fallback).toMatch(/only 1 item/);
  });

  it('with budget 0 measures each family once at its defaults and keeps the best', async () => {
    const r = await tuneModel(data, { budgetMs: 0, seed: 2 });
    expect(r.stoppedBy).toBe('defaults_only');
    expect(r.trials.map((t) => t.family)).toEqual(['popularity', 'item_knn', 'graph_filter', 'ials']);
    expect(r.trials.every((t) => t.kind === 'default' && t.ndcg20 !== null)).toBe(true);
    const best = Math.max(...r.trials.map((t) => t.ndcg20!));
    expect(r.validationNdcg20).toBe(best);
    // the clustered data is learnable: the winner beats popularity
    expect(best).toBeGreaterThan(r.trials[0]!.ndcg20!);
    expect(r.validation.users).toBeGreaterThan(50);
  });

  it('searches within the budget and never does worse on validation than the defaults', async () => {
    const clock = fakeClock(1000, (await import('./tuning.ts')).defaultFitCandidate);
    const r = await tuneModel(data, { budgetMs: 12_000, seed: 5, now: clock.now, fit: clock.fit });
    expect(r.stoppedBy).toBe('budget');
    expect(r.trials.length).toBe(12);
    expect(r.spentMs).toBeLessThanOrEqual(12_000);
    expect(r.trials.some((t) => t.kind !== 'default')).toBe(true);
    const defaults = Math.max(...r.trials.filter((t) => t.kind === 'default').map((t) => t.ndcg20!));
    expect(r.validationNdcg20).toBeGreaterThanOrEqual(defaults);
    // every trial carries full, valid settings of its family
    for (const t of r.trials) expect(Object.keys(t.params).sort()).toEqual(Object.keys(defaultParams(t.family)).sort());
  });

  it('caps a budget of a week and of Infinity, and reads NaN or a negative budget as 0', async () => {
    for (const [budget, expected] of [
      [7 * 24 * 3_600_000, MAX_TUNING_BUDGET_MS],
      [Number.POSITIVE_INFINITY, MAX_TUNING_BUDGET_MS],
      [Number.NaN, 0],
      [-5, 0],
    ] as const) {
      const clock = fakeClock(1);
      const r = await tuneModel(data, { budgetMs: budget, now: clock.now, fit: clock.fit, maxTrials: 9 });
      expect(r.budgetMs).toBe(expected);
      expect(r.trials.length).toBe(expected ? 9 : 4);
      expect(r.stoppedBy).toBe(expected ? 'max_trials' : 'defaults_only');
    }
  });

  it('ends after `patience` trials in a row that did not beat the best', async () => {
    const clock = fakeClock(1); // every candidate scores the same: nothing ever improves on the first
    const r = await tuneModel(data, { budgetMs: 60_000, now: clock.now, fit: clock.fit, patience: 6 });
    expect(r.stoppedBy).toBe('no_improvement');
    expect(r.trials.length).toBe(7);
    expect(r.family).toBe('popularity'); // ties keep the earlier trial
  });

  it('is cancelled between trials', async () => {
    let n = 0;
    const clock = fakeClock(1);
    const opts: TuningOptions = { budgetMs: 60_000, now: clock.now, fit: clock.fit, shouldStop: () => n >= 2, onTrial: () => n++ };
    await expect(tuneModel(data, opts)).rejects.toBeInstanceOf(TuningCancelled);
    expect(clock.fits()).toBe(2);
    // cancelled before anything ran
    await expect(tuneModel(data, { budgetMs: 0, shouldStop: () => true })).rejects.toBeInstanceOf(TuningCancelled);
  });

  it('is deterministic, and data changing during the search does not change its outcome', async () => {
    const run = async (mutate: boolean) => {
      const m: Csr = { ...data, indptr: data.indptr.slice(), indices: data.indices.slice(), data: data.data.slice() };
      const clock = fakeClock(1000, (await import('./tuning.ts')).defaultFitCandidate);
      return tuneModel(m, {
        budgetMs: 8000,
        seed: 7,
        now: clock.now,
        fit: clock.fit,
        onTrial: () => {
          if (mutate) {
            m.indices.fill(0); // the caller's arrays are rewritten mid-search
            m.data.fill(Number.NaN);
          }
        },
      });
    };
    const a = await run(false);
    const b = await run(true);
    expect(b.trials.map((t) => [t.family, t.params, t.ndcg20])).toEqual(a.trials.map((t) => [t.family, t.params, t.ndcg20]));
    expect([b.family, b.params]).toEqual([a.family, a.params]);
  });

  it('records a failing candidate and goes on; throws when every candidate fails', async () => {
    const clock = fakeClock(1, async (f, m, p, checkpoint) => {
      if (f === 'ials') throw new Error('boom');
      return (await import('./tuning.ts')).defaultFitCandidate(f, m, p, checkpoint);
    });
    const r = await tuneModel(data, { budgetMs: 0, now: clock.now, fit: clock.fit });
    expect(r.trials.find((t) => t.family === 'ials')).toMatchObject({ ndcg20: null, error: 'boom' });
    expect(r.family).not.toBe('ials');
    const failing = fakeClock(1, async () => {
      throw new Error('no');
    });
    await expect(tuneModel(data, { budgetMs: 0, now: failing.now, fit: failing.fit })).rejects.toThrow(/every candidate failed/);
  });

  it('skips a family whose last fit would not fit in what is left of the budget', async () => {
    const slow: FitCandidate = async () => ({ scoreBatch: () => undefined });
    let t = 0;
    const r = await tuneModel(data, {
      budgetMs: 10_000,
      families: ['item_knn', 'ials'],
      now: () => t,
      fit: async (f, m, p, checkpoint) => {
        t += f === 'ials' ? 9000 : 100;
        return slow(f, m, p, checkpoint);
      },
    });
    expect(r.trials.filter((x) => x.family === 'ials').length).toBe(1);
    expect(r.trials.length).toBeGreaterThan(3);
    expect(r.spentMs).toBeLessThanOrEqual(10_000);
  });

  it('cuts a trial still running at the deadline at its next checkpoint, and the search ends there', async () => {
    // a fake trainer whose graph filter takes 20 steps of 1 s, each followed by a checkpoint (none before the change)
    let t = 0;
    const fit: FitCandidate = async (f, _m, _p, checkpoint) => {
      for (let step = 0; step < (f === 'graph_filter' ? 20 : 1); step++) {
        t += 1000;
        checkpoint?.();
      }
      return { scoreBatch: () => undefined };
    };
    const r = await tuneModel(data, { budgetMs: 10_000, now: () => t, fit });
    expect(r.trials.map((x) => [x.family, x.cut ?? false])).toEqual([
      ['popularity', false],
      ['item_knn', false],
      ['graph_filter', true],
    ]);
    expect(r.trials[2]).toMatchObject({ ndcg20: null, error: expect.stringMatching(/^cut/) });
    expect(r.stoppedBy).toBe('budget');
    expect(r.unmeasured).toEqual(['graph_filter', 'ials']);
    expect(r.spentMs).toBeLessThanOrEqual(11_000); // one checkpoint step past the budget at most
    expect(r.family).toBe('popularity');
  });

  it('never cuts the first trial that could score, so even a tiny budget has an answer', async () => {
    let t = 0;
    const fit: FitCandidate = async (_f, _m, _p, checkpoint) => {
      for (let step = 0; step < 5; step++) {
        t += 1000;
        checkpoint?.();
      }
      return { scoreBatch: () => undefined };
    };
    const r = await tuneModel(data, { budgetMs: 1, now: () => t, fit });
    expect(r.trials.map((x) => x.family)).toEqual(['popularity']);
    expect(r.validationNdcg20).not.toBeNull();
    expect(r.unmeasured).toEqual(['item_knn', 'graph_filter', 'ials']);
  });

  it('does not start a trial its settings make too dear for what is left (cost scaled from earlier trials)', async () => {
    // the fake's cost follows the SVD's (rank + oversample)²; it never calls the checkpoint, so only the
    // prediction can keep the search inside its budget
    for (const seed of [1, 2, 3]) {
      let t = 0;
      const fit: FitCandidate = async (f, _m, p) => {
        const l = Number(p.rank) + Number(p.oversample);
        t += f === 'graph_filter' ? 3000 * (l / 320) ** 2 : f === 'ials' ? 500 * (Number(p.factors) / 64) ** 2 : 200;
        return { scoreBatch: () => undefined };
      };
      const big = clustered(1200, 900, 12, seed);
      const r = await tuneModel(big, { budgetMs: 30_000, seed, now: () => t, fit, patience: 100, maxValidationUsers: 20 });
      expect(r.spentMs).toBeLessThanOrEqual(30_000);
      expect(r.trials.length).toBeGreaterThan(8);
    }
  });

  it('the default fit reaches the checkpoint inside every costly family (a cut abandons it)', async () => {
    const { defaultFitCandidate } = await import('./tuning.ts');
    for (const f of ['item_knn', 'graph_filter', 'ials', 'lightgcn'] as const) {
      let calls = 0;
      const fit = defaultFitCandidate(f, data, { ...defaultParams(f), ...(f === 'lightgcn' ? { epochs: 2 } : {}) }, () => {
        calls++;
        throw new TrialCut();
      });
      await expect(fit).rejects.toBeInstanceOf(TrialCut);
      expect(calls).toBe(1);
    }
  });

  it('scales trial costs up quadratically and down linearly with rank or factors', () => {
    const gf = (rank: number) => ({ rank, oversample: 64, power_iterations: 6 });
    expect(trialCostRatio('graph_filter', gf(512), gf(256))).toBeCloseTo((576 / 320) ** 2);
    expect(trialCostRatio('graph_filter', gf(64), gf(256))).toBeCloseTo(128 / 320);
    expect(trialCostRatio('graph_filter', { ...gf(256), power_iterations: 13 }, gf(256))).toBeCloseTo(2);
    const ials = (factors: number) => ({ factors, iterations: 12, cg_steps: 3 });
    expect(trialCostRatio('ials', ials(128), ials(64))).toBeCloseTo(4);
    expect(trialCostRatio('ials', ials(32), ials(64))).toBeCloseTo(0.5);
    expect(trialCostRatio('item_knn', { k: 10 }, { k: 100 })).toBe(1);
    expect(trialCostRatio('item_knn', { k: 400 }, { k: 100 })).toBe(4);
  });

  it('samples and perturbs only valid settings, within what the data can carry', () => {
    const rng = rngMulberry32(4);
    const shape = { users: 30, items: 12 };
    for (const [family, space] of Object.entries(SEARCH_SPACES)) {
      if (!space) continue;
      for (let k = 0; k < 200; k++) {
        const s = space.sample(rng, shape);
        const p = space.perturb({ ...(defaultParams(family as 'ials') as Record<string, unknown>), ...s }, rng, shape);
        for (const x of [s, p]) {
          for (const v of Object.values(x)) expect(Number.isFinite(v as number)).toBe(true);
          if ('rank' in x) expect(x.rank as number).toBeLessThan(12);
          if ('k' in x) expect(x.k as number).toBeLessThan(12);
          if ('sharpen_rank' in x) expect(x.sharpen_rank as number).toBeLessThanOrEqual(x.rank as number);
        }
      }
    }
  });
});
