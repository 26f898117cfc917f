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

  test('a bulk write (more users at once than the threshold) queues nobody', async () => {
    const h = harness();
    h.queue.mark(
      't',
      Array.from({ length: 201 }, (_, i) => `u${i}`),
    );
    h.queue.mark('t', ['live']);
    await h.queue.settled();
    expect(h.calls).toEqual(['t/live']);
    expect(h.dropped).toEqual([201]);
  });
});
