import { describe, expect, test } from 'vitest';
import { createStyleRefreshQueue } from './style.queue.ts';

/** A queue over a fake refresh that records calls; time advances only through the fake sleep. */
function harness(opts: { folded?: (tenantId: string, userId: string, call: number) => number; maxQueued?: number } = {}) {
  let clock = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: string[] = [];
  const dropped: number[] = [];
  const queue = createStyleRefreshQueue({
    async refresh(tenantId, userId) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push(`${tenantId}/${userId}`);
      await Promise.resolve();
      inFlight--;
      const n = calls.filter((c) => c === `${tenantId}/${userId}`).length;
      return { folded: opts.folded ? opts.folded(tenantId, userId, n) : 1 };
    },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    onError: () => undefined,
    onDropped: (n) => dropped.push(n),
    ...(opts.maxQueued ? { maxQueued: opts.maxQueued } : {}),
  });
  return { queue, calls, dropped, maxInFlight: () => maxInFlight };
}

describe('style refresh queue', () => {
  test('one refresh at a time, in arrival order, each user once however often marked', async () => {
    const h = harness();
    h.queue.mark('t1', ['a', 'b', 'a', 'c']);
    h.queue.mark('t1', ['b']);
    h.queue.mark('t2', ['a']);
    await h.queue.settled();
    expect(h.calls).toEqual(['t1/a', 't1/b', 't1/c', 't2/a']);
    expect(h.maxInFlight()).toBe(1);
  });

  test('a refresh that finds nothing yet is retried three times, then given up', async () => {
    const h = harness({ folded: () => 0 });
    h.queue.mark('t', ['u']);
    await h.queue.settled();
    expect(h.calls).toEqual(['t/u', 't/u', 't/u', 't/u']);
  });

  test('stops retrying once the rows are visible', async () => {
    const h = harness({ folded: (_t, _u, call) => (call >= 2 ? 3 : 0) });
    h.queue.mark('t', ['u']);
    await h.queue.settled();
    expect(h.calls).toEqual(['t/u', 't/u']);
  });

  test('bounded: marks beyond the cap are dropped and counted, the rest processed', async () => {
    const h = harness({ maxQueued: 100 });
    for (let b = 0; b < 5; b++)
      h.queue.mark(
        't',
        Array.from({ length: 50 }, (_, i) => `u${b * 50 + i}`),
      );
    expect(h.queue.size).toBeLessThanOrEqual(100); // the worker may have taken the first already
    await h.queue.settled();
    // Every mark is either refreshed or counted as dropped; the queue never held more than the cap (+1 taken by the worker).
    expect(h.calls.length + h.dropped.reduce((x, y) => x + y, 0)).toBe(250);
    expect(h.calls.length).toBeGreaterThanOrEqual(100);
    expect(h.calls.length).toBeLessThanOrEqual(101);
  });

  test('a user marked while the worker runs is processed in the same drain', async () => {
    const h = harness();
    h.queue.mark('t', ['a']);
    h.queue.mark('t', ['b']);
    const done = h.queue.settled();
    h.queue.mark('t', ['a']);
    await done;
    await h.queue.settled();
    expect(h.calls.sort()).toEqual(['t/a', 't/a', 't/b']);
  });

  test("a bulk load's users wait until the tenant's bulk writes go quiet, then are folded after live users", async () => {
    const h = harness();
    h.queue.mark(
      't',
      Array.from({ length: 3 }, (_, i) => `imported${i}`),
      { bulk: true },
    );
    h.queue.mark('t', ['live']);
    // Live traffic coalesced into one write of many users (the batcher's flush): still shoppers acting.
    h.queue.mark(
      't',
      Array.from({ length: 500 }, (_, i) => `u${i}`),
      { bulk: false },
    );
    expect(h.queue.backlog).toBe(3);
    await h.queue.settled();
    expect(h.calls.slice(0, 501)).toEqual(['t/live', ...Array.from({ length: 500 }, (_, i) => `t/u${i}`)]);
    expect(h.calls.slice(501)).toEqual(['t/imported0', 't/imported1', 't/imported2']);
    expect(h.dropped).toEqual([]);
    expect(h.queue.backlog).toBe(0);
  });

  test('the backlog waits for the quiet period after the LAST bulk write, and a live mark takes a user out of it', async () => {
    let clock = 0;
    const calls: { at: number; users: string[] }[] = [];
    const queue = createStyleRefreshQueue({
      refresh: async () => ({ folded: 1 }),
      async refreshMany(tenantId, userIds) {
        calls.push({ at: clock, users: userIds.map((u) => `${tenantId}/${u}`) });
        return new Map(userIds.map((u) => [u, { folded: 1 }]));
      },
      maxBatch: 2,
      bulkQuietMs: 1_000,
      bulkPauseMs: 10,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      onError: () => undefined,
      onDropped: () => undefined,
    });
    queue.mark('t', ['a', 'b'], { bulk: true });
    clock = 600; // a second chunk of the same import: the quiet period starts again
    queue.mark('t', ['c', 'a'], { bulk: true });
    queue.mark('t', ['b'], { bulk: false }); // b acts live: folded now, not again from the backlog
    queue.mark('u', ['x'], { bulk: true });
    await queue.settled();
    expect(calls[0]).toEqual({ at: 600, users: ['t/b'] });
    const bulk = calls.slice(1);
    expect(bulk.flatMap((c) => c.users).sort()).toEqual(['t/a', 't/c', 'u/x']);
    // Nothing of tenant t before 1,600 (its last bulk write + 1,000); tenant u's only write was at 600.
    for (const c of bulk) expect(c.at).toBeGreaterThanOrEqual(1_600);
    expect(bulk.filter((c) => c.users[0]!.startsWith('t/'))).toEqual([{ at: expect.any(Number), users: ['t/a', 't/c'] }]);
  });

  test('bounded backlog: users beyond maxBacklog are dropped and counted; an erased user leaves it', async () => {
    const dropped: number[] = [];
    const calls: string[] = [];
    let clock = 0;
    const queue = createStyleRefreshQueue({
      async refresh(tenantId, userId) {
        calls.push(`${tenantId}/${userId}`);
        return { folded: 1 };
      },
      maxBacklog: 3,
      bulkQuietMs: 100,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      onError: () => undefined,
      onDropped: (n) => dropped.push(n),
    });
    queue.mark('t', ['a', 'b', 'c', 'd', 'e'], { bulk: true });
    expect(dropped).toEqual([2]);
    queue.forget('t', ['b']);
    expect(queue.backlog).toBe(2);
    await queue.settled();
    expect(calls).toEqual(['t/a', 't/c']);
    // Shutdown gives the backlog up: nothing of it is refreshed after.
    queue.mark('t', ['late'], { bulk: true });
    expect(queue.dropBacklog()).toBe(1);
    await queue.settled();
    expect(calls).toEqual(['t/a', 't/c']);
  });

  test('an erasure holds the tenant: the running refresh finishes first, none starts until the release, other tenants go on', async () => {
    const calls: string[] = [];
    let clock = 0;
    let release: (() => void) | undefined;
    let finishRunning: (() => void) | undefined;
    const queue = createStyleRefreshQueue({
      async refresh(tenantId, userId) {
        calls.push(`${tenantId}/${userId}`);
        if (userId === 'slow') await new Promise<void>((r) => (finishRunning = r));
        return { folded: 1 };
      },
      now: () => clock,
      // Time passes only while the queue waits; the erasure ends after a while.
      sleep: async (ms) => {
        clock += ms;
        if (clock > 1_000) release?.();
      },
      onError: () => undefined,
      onDropped: () => undefined,
    });
    queue.mark('t1', ['slow']);
    await Promise.resolve();
    expect(calls).toEqual(['t1/slow']);
    let held = false;
    const holding = queue.hold('t1').then((r) => {
      held = true;
      release = r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(held).toBe(false); // waits for the refresh already running
    finishRunning!();
    await holding;
    queue.mark('t1', ['x', 'erased']);
    queue.mark('t2', ['y']);
    queue.forget('t1', ['erased']);
    await queue.settled();
    // t2 went first while t1 was held; t1's x ran after the release; the erased user never ran.
    expect(calls).toEqual(['t1/slow', 't2/y', 't1/x']);
    expect(clock).toBeGreaterThan(1_000);
  });
});

describe('style refresh queue, batched (refreshMany)', () => {
  function batched(opts: { maxBatch?: number; retryDelaysMs?: number[]; folded?: (userId: string, call: number) => number } = {}) {
    let clock = 0;
    const batches: string[] = [];
    const seen = new Map<string, number>();
    const queue = createStyleRefreshQueue({
      refresh: async () => {
        throw new Error('single refresh must not be used when refreshMany is given');
      },
      async refreshMany(tenantId, userIds) {
        batches.push(`${tenantId}:${userIds.join(',')}`);
        await Promise.resolve();
        return new Map(
          userIds.map((u) => {
            const n = (seen.get(u) ?? 0) + 1;
            seen.set(u, n);
            return [u, { folded: opts.folded ? opts.folded(u, n) : 1 }];
          }),
        );
      },
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      onError: () => undefined,
      onDropped: () => undefined,
      ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
      ...(opts.retryDelaysMs ? { retryDelaysMs: opts.retryDelaysMs } : {}),
    });
    return { queue, batches };
  }

  test("all ready users of the head entry's tenant in one call, in arrival order; other tenants after", async () => {
    const h = batched();
    h.queue.mark('t1', ['a', 'b']); // the worker starts now with a and b
    h.queue.mark('t2', ['x']);
    h.queue.mark('t1', ['c', 'a', 'd']);
    h.queue.mark('t2', ['y']);
    h.queue.mark('t1', ['e']);
    await h.queue.settled();
    expect(h.batches).toEqual(['t1:a,b', 't2:x,y', 't1:c,a,d,e']);
  });

  test('at most maxBatch users per call', async () => {
    const h = batched({ maxBatch: 2 });
    h.queue.mark('t', ['a', 'b', 'c', 'd', 'e']);
    await h.queue.settled();
    expect(h.batches).toEqual(['t:a,b', 't:c,d', 't:e']);
  });

  test('without retry delays (listeners called after the commit) a user with nothing new is not retried', async () => {
    const h = batched({ retryDelaysMs: [], folded: () => 0 });
    h.queue.mark('t', ['a', 'b']);
    await h.queue.settled();
    expect(h.batches).toEqual(['t:a,b']);
  });

  test('with retry delays only the users that found nothing are retried, together', async () => {
    const h = batched({ retryDelaysMs: [10, 20], folded: (u) => (u === 'b' ? 1 : 0) });
    h.queue.mark('t', ['a', 'b', 'c']);
    await h.queue.settled();
    expect(h.batches).toEqual(['t:a,b,c', 't:a,c', 't:a,c']);
  });

  test('a failing batch is reported and the queue goes on', async () => {
    const errors: unknown[] = [];
    const calls: string[][] = [];
    const queue = createStyleRefreshQueue({
      refresh: async () => ({ folded: 1 }),
      async refreshMany(_t, userIds) {
        calls.push([...userIds]);
        if (userIds.includes('bad')) throw new Error('refresh failed');
        return new Map(userIds.map((u) => [u, { folded: 1 }]));
      },
      now: () => 0,
      sleep: async () => undefined,
      onError: (err) => errors.push(err),
      onDropped: () => undefined,
    });
    queue.mark('t1', ['bad']);
    queue.mark('t2', ['good']);
    await queue.settled();
    expect(calls).toEqual([['bad'], ['good']]);
    expect(errors).toHaveLength(1);
  });
});
