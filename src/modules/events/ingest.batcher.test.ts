import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/index.ts';
import { createBatcher } from './ingest.batcher.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ingest batcher', () => {
  it('coalesces concurrent submissions into one flush and answers each in order', async () => {
    const flushes: number[][] = [];
    const b = createBatcher<number, number>({
      maxBatch: 100,
      maxWaitMs: 5,
      maxPending: 1000,
      concurrency: 1,
      flush: async (xs) => (flushes.push(xs), xs.map((x) => x * 10)),
    });
    const out = await Promise.all([b.submit([1, 2]), b.submit([3]), b.submit([4, 5, 6])]);
    expect(out).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(flushes).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('flushes at maxBatch without waiting, never splits a submission, and runs at most `concurrency` flushes', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const b = createBatcher<number, number>({
      maxBatch: 4,
      maxWaitMs: 10_000,
      maxPending: 1000,
      concurrency: 2,
      flush: async (xs) => {
        running++;
        peak = Math.max(peak, running);
        sizes.push(xs.length);
        await sleep(5);
        running--;
        return xs;
      },
    });
    const subs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10, 11], [12]].map((s) => b.submit(s));
    const out = await Promise.all(subs);
    expect(out.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(peak).toBeLessThanOrEqual(2);
    expect(sizes.reduce((a, x) => a + x, 0)).toBe(12);
    expect(sizes).toContain(6); // the oversize submission went whole
  });

  it('runs one flush per lane at a time, in queue order, while other lanes flush beside it', async () => {
    const active = new Map<string, number>();
    let overlapSameLane = false;
    let overlapOtherLanes = false;
    const order: string[] = [];
    const b = createBatcher<string, string>({
      maxBatch: 2,
      maxWaitMs: 1,
      maxPending: 1000,
      concurrency: 3,
      laneOf: (items) => items[0]!.split(':')[0]!,
      flush: async (xs) => {
        const lanes = [...new Set(xs.map((x) => x.split(':')[0]!))];
        for (const l of lanes) {
          if (active.get(l)) overlapSameLane = true;
          active.set(l, 1);
        }
        if ([...active.values()].filter(Boolean).length > lanes.length) overlapOtherLanes = true;
        order.push(...xs);
        await sleep(5);
        for (const l of lanes) active.set(l, 0);
        return xs;
      },
    });
    const subs = ['a:1', 'a:2', 'a:3', 'b:1', 'a:4', 'b:2', 'b:3', 'c:1'].map((x) => b.submit([x]));
    expect((await Promise.all(subs)).flat()).toEqual(['a:1', 'a:2', 'a:3', 'b:1', 'a:4', 'b:2', 'b:3', 'c:1']);
    expect(overlapSameLane).toBe(false);
    expect(overlapOtherLanes).toBe(true);
    // Within a lane, writes keep submission order.
    for (const lane of ['a', 'b']) expect(order.filter((x) => x.startsWith(lane))).toEqual(order.filter((x) => x.startsWith(lane)).sort());
  });

  it('refuses work past maxPending with a 503-kind error and loses nothing it accepted', async () => {
    const stored: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = createBatcher<number, number>({
      maxBatch: 2,
      maxWaitMs: 1,
      maxPending: 4,
      concurrency: 1,
      flush: async (xs) => (await gate, stored.push(...xs), xs),
    });
    const accepted = [b.submit([1, 2]), b.submit([3, 4])];
    const refused = b.submit([5]);
    await expect(refused).rejects.toMatchObject({ kind: 'unavailable', code: 'INGEST_OVERLOADED', retryAfterSeconds: 1 });
    await expect(refused).rejects.toBeInstanceOf(AppError);
    expect(b.pending()).toBe(4);
    release();
    expect(await Promise.all(accepted)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(stored).toEqual([1, 2, 3, 4]);
    await b.drain();
    expect(b.pending()).toBe(0);
    expect(await b.submit([5])).toEqual([5]);
  });

  it('fails every submission of a failed flush, and keeps serving later ones', async () => {
    let fail = true;
    const b = createBatcher<number, number>({
      maxBatch: 10,
      maxWaitMs: 1,
      maxPending: 100,
      concurrency: 1,
      flush: async (xs) => {
        if (fail) throw new Error('db down');
        return xs;
      },
    });
    const [x, y] = [b.submit([1]), b.submit([2])];
    await expect(x).rejects.toThrow('db down');
    await expect(y).rejects.toThrow('db down');
    fail = false;
    expect(await b.submit([3])).toEqual([3]);
  });

  it('isolates a failing submission: the rest of its flush is written and answered, the bad one alone fails (C2)', async () => {
    const stored: string[] = [];
    const calls: string[][] = [];
    const b = createBatcher<string, string>({
      maxBatch: 100,
      maxWaitMs: 5,
      maxPending: 1000,
      concurrency: 1,
      laneOf: (items) => items[0]!.split(':')[0]!,
      flush: async (xs) => {
        calls.push(xs);
        // All or nothing, like one transaction.
        if (xs.some((x) => x.endsWith('bad'))) throw new Error('invalid byte sequence');
        stored.push(...xs);
        return xs.map((x) => `ok ${x}`);
      },
    });
    const subs = [['a:1', 'a:2'], ['b:bad'], ['b:3'], ['a:4'], ['c:5']].map((s) => b.submit(s));
    const settled = await Promise.allSettled(subs);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect((settled[0] as PromiseFulfilledResult<string[]>).value).toEqual(['ok a:1', 'ok a:2']);
    expect((settled[2] as PromiseFulfilledResult<string[]>).value).toEqual(['ok b:3']);
    expect(stored.sort()).toEqual(['a:1', 'a:2', 'a:4', 'b:3', 'c:5']);
    // Never two lanes (tenants) in one flush: tenant a's writes never share a failure with tenant b's.
    for (const c of calls) expect(new Set(c.map((x) => x.split(':')[0])).size).toBe(1);
  });
});
