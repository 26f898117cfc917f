import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../../ml/random.ts';
import { MAX_TUNING_BUDGET_MS } from '../../../ml/tuning.ts';
import type { Snapshot } from '../recs.core.ts';
import { recsSettings } from '../recs.settings.ts';
import { trainModel } from './training.run.ts';

/** `users` shoppers in 3 taste groups over `items` items, `per` interactions each, timestamps from `at(u, k)`. */
function snapshot(users: number, items: number, per: number, at: (u: number, k: number) => number = (u, k) => u * 100 + k): Snapshot {
  const rng = rngMulberry32(11);
  const u: number[] = [];
  const i: number[] = [];
  const t: number[] = [];
  const span = Math.max(1, Math.floor(items / 3));
  for (let x = 0; x < users; x++) {
    const seen = new Set<number>();
    for (let k = 0; k < per * 3 && seen.size < Math.min(per, items); k++)
      seen.add(Math.min(items - 1, (x % 3) * span + Math.floor(rng() * span)));
    [...seen].forEach((item, k) => {
      u.push(x);
      i.push(item);
      t.push(at(x, k));
    });
  }
  return {
    users,
    items,
    u: Int32Array.from(u),
    i: Int32Array.from(i),
    w: new Float32Array(u.length).fill(Math.log1p(1)),
    t: Float64Array.from(t),
  };
}

const noProgress = () => undefined;
const never = () => false;

describe('trainModel with auto: the search on the training split', () => {
  it('chooses family and settings by validation NDCG@20 and shows the search on the card', async () => {
    const out = await trainModel(
      { modelType: 'auto', hyperparameters: {}, snapshot: snapshot(90, 30, 8), tuningBudgetMs: 60_000 },
      noProgress,
      never,
    );
    const tuning = out.card.tuning as any;
    expect(tuning.trials.length).toBeGreaterThan(4);
    expect(tuning.chosen.model_type).toBe(out.modelType);
    expect(tuning.chosen.hyperparameters).toEqual(out.hyperparameters);
    const best = Math.max(...tuning.trials.map((t: any) => t['val_ndcg@20'] ?? -1));
    expect(tuning.chosen['val_ndcg@20']).toBe(best);
    expect(out.card.selected_by).toMatch(/validation NDCG@20/);
    // the reported metrics are the leave-latest-out ones, measured after the choice
    expect(out.metrics.evaluated_users).toBe(90);
    expect(out.artifact.length).toBeGreaterThan(0);
  });

  it('budget 0 measures each family at its defaults only', async () => {
    const out = await trainModel(
      { modelType: 'auto', hyperparameters: {}, snapshot: snapshot(60, 24, 6), tuningBudgetMs: 0 },
      noProgress,
      never,
    );
    const tuning = out.card.tuning as any;
    expect(tuning.stopped_by).toBe('defaults_only');
    expect(tuning.trials.map((t: any) => t.kind)).toEqual(['default', 'default', 'default', 'default']);
  });

  it('a tenant of 3 users, or of one item, falls back to the defaults and says so', async () => {
    for (const [s, why] of [
      [snapshot(3, 10, 4), /only 3 user/],
      [snapshot(30, 1, 1), /only 1 item/],
    ] as const) {
      const out = await trainModel({ modelType: 'auto', hyperparameters: {}, snapshot: s, tuningBudgetMs: 60_000 }, noProgress, never);
      const tuning = out.card.tuning as any;
      expect(tuning.fallback).toMatch(why);
      expect(tuning.stopped_by).toBe('fallback');
      expect(tuning.trials).toEqual([]);
      expect(out.modelType).toBe('item_knn');
      expect(out.card.reason).toMatch(/too little data to tune/);
    }
  });

  it('a tenant whose interactions all happened on one day (even at one instant) is still tuned', async () => {
    const out = await trainModel(
      {
        modelType: 'auto',
        hyperparameters: {},
        snapshot: snapshot(60, 24, 6, () => Date.parse('2026-10-01T12:00:00Z')),
        tuningBudgetMs: 0,
      },
      noProgress,
      never,
    );
    const tuning = out.card.tuning as any;
    expect(tuning.fallback).toBeUndefined();
    expect(tuning.validation.users).toBeGreaterThanOrEqual(5);
  });

  it('is cancelled during the search', async () => {
    let calls = 0;
    await expect(
      trainModel(
        { modelType: 'auto', hyperparameters: {}, snapshot: snapshot(60, 24, 6), tuningBudgetMs: 60_000 },
        noProgress,
        () => ++calls > 3,
      ),
    ).rejects.toThrow('cancelled');
  });

  it('a requested model is not searched', async () => {
    const out = await trainModel({ modelType: 'item_knn', hyperparameters: { k: 5 }, snapshot: snapshot(60, 24, 6) }, noProgress, never);
    expect(out.card.tuning).toBeUndefined();
    expect(out.hyperparameters).toMatchObject({ k: 5 });
  });
});

describe('recsSettings: the tuning budget', () => {
  it('reads seconds, defaults when absent or not a number, and never goes negative', () => {
    const b = (v: unknown) => recsSettings({ recommendations: { tuning_budget_seconds: v } }).tuningBudgetMs;
    expect(b(30)).toBe(30_000);
    expect(b(0)).toBe(0);
    expect(b(-5)).toBe(0);
    expect(b('abc')).toBe(210_000);
    expect(b(Number.NaN)).toBe(210_000);
    expect(b(undefined)).toBe(210_000);
    expect(recsSettings({}).tuningBudgetMs).toBe(210_000);
    // a week is accepted here and capped by the search (MAX_TUNING_BUDGET_MS)
    expect(b(7 * 24 * 3600)).toBe(7 * 24 * 3600 * 1000);
    expect(MAX_TUNING_BUDGET_MS).toBe(3_600_000);
  });

  it('a week of budget is capped on the card', async () => {
    const out = await trainModel(
      { modelType: 'auto', hyperparameters: {}, snapshot: snapshot(60, 24, 6), tuningBudgetMs: 7 * 24 * 3_600_000 },
      noProgress,
      never,
    );
    expect((out.card.tuning as any).budget_seconds).toBe(3600);
    expect((out.card.tuning as any).stopped_by).toMatch(/^(max_trials|no_improvement)$/);
  });
});
