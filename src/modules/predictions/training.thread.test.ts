import { getPriority } from 'node:os';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../ml/random.ts';
import { measureDrift } from './drift.run.ts';
import type { CustomerOrders } from './features.core.ts';
import { driftInWorker, trainInWorker } from './training.thread.ts';
import { runTraining, type TrainRunInput } from './training.run.ts';

/** Customers buying at one of two rates until a hidden day, over 400 days. */
function population(n: number, seed: number): Map<string, CustomerOrders> {
  const rng = rngMulberry32(seed);
  const m = new Map<string, CustomerOrders>();
  for (let c = 0; c < n; c++) {
    const rate = rng() < 0.5 ? 0.01 : 0.08;
    const dies = rng() * 400;
    const days: number[] = [];
    for (let d = rng() * 100; d < 400; d += -Math.log(1 - rng()) / rate) if (d < dies) days.push(d);
    if (days.length) m.set(`c${c}`, { day: Float64Array.from(days), amount: Float64Array.from(days, () => 1000 + rng() * 5000) });
  }
  return m;
}

const input = (customers: Map<string, CustomerOrders>): TrainRunInput => ({
  customers,
  now: 400,
  churnWindowDays: 60,
  ltvHorizonDays: 90,
  discountRatePerWeek: 0,
  previous: [],
});

/** The longest pause of this thread's event loop while `work` runs (a 5 ms interval's largest gap). */
async function longestPause<T>(work: () => Promise<T>): Promise<{ pause: number; value: T }> {
  let last = performance.now();
  let pause = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    pause = Math.max(pause, now - last);
    last = now;
  }, 5);
  try {
    const value = await work();
    pause = Math.max(pause, performance.now() - last);
    return { pause, value };
  } finally {
    clearInterval(timer);
  }
}

describe('training in a worker thread', () => {
  it('trains in another thread, the same models as on this one, while this event loop keeps running', async () => {
    const customers = population(300, 3);
    // on this thread, the run blocks the event loop from start to end
    const t0 = performance.now();
    const here = runTraining(input(customers), () => {});
    const blocking = performance.now() - t0;
    const stages: string[] = [];
    const ourNice = getPriority();
    // 300 customers and scores in messages of 64 (the chunked hand-over both ways)
    const { pause, value: there } = await longestPause(() =>
      trainInWorker(input(customers), (s) => stages.push(s), new AbortController().signal, 64),
    );
    expect(there.threadId).not.toBe(threadId);
    // the run's thread yields the CPU to this one (Linux: nice is per thread), and this thread keeps its priority
    expect(there.nice).toBe(process.platform === 'linux' ? 19 : null);
    expect(getPriority()).toBe(ourNice);
    expect(pause).toBeLessThan(blocking / 2);
    expect(stages).toEqual(expect.arrayContaining(['segments', 'churn', 'ltv', 'scoring']));
    // seeded: the thread's models and scores are the ones this thread computes
    expect(there.trained.churn).toEqual(here.trained.churn);
    expect(there.scores.length).toBeGreaterThan(64 * 3);
    expect(there.scores).toEqual(here.scores);
    // the scores came back packed: one features buffer per message of 64, not one per customer
    expect(there.scores[0]!.score.features.buffer).toBe(there.scores[63]!.score.features.buffer);
    expect(there.scores[0]!.score.features.buffer).not.toBe(there.scores[64]!.score.features.buffer);
    expect(Object.keys(there.drift).sort()).toEqual(['churn', 'clv', 'ltv', 'segments']);
  }, 180_000);

  it('stops at once when cancelled, and measures drift in a thread as on this one', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const run = trainInWorker(
      input(population(300, 4)),
      (s) => {
        if (s !== 'churn' || controller.signal.aborted) return;
        abortedAt = performance.now();
        controller.abort();
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow('cancelled');
    // the thread is terminated, not waited for: the churn trees (seconds of work) do not finish first
    expect(performance.now() - abortedAt).toBeLessThan(1000);

    const customers = population(200, 5);
    const trained = runTraining(input(customers), () => {});
    const versions = (['churn', 'ltv', 'clv', 'segments'] as const).flatMap((kind) => {
      const t = trained.trained[kind];
      return t.ok ? [{ id: kind, kind, version: `${kind}_v1`, params: t.params, reference: trained.drift[kind] ?? null }] : [];
    });
    const d = await driftInWorker({ customers, now: 400, versions, withScores: true }, new AbortController().signal, 50);
    expect(d.threadId).not.toBe(threadId);
    const { threadId: _t, nice: _n, ...rest } = d;
    expect(rest).toEqual(measureDrift({ customers, now: 400, versions, withScores: true }));
    expect(rest.scores!.length).toBeGreaterThan(50 * 2);
    // the same customers at the same time as training: no drift at all
    for (const m of d.models) for (const c of m.columns) expect(c.psi).toBeCloseTo(0, 10);
  }, 180_000);
});
