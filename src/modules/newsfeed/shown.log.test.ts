import { describe, expect, it } from 'vitest';
import { type ShownRow, createShownLog } from './shown.log.ts';

/** The shown-items log batches what the feed served; until written, a shopper's rows stay readable. */
function setup(opts: { fail?: boolean; maxRows?: number; maxPending?: number } = {}) {
  const writes: { tenantId: string; rows: ShownRow[] }[] = [];
  const errors: unknown[] = [];
  const log = createShownLog({
    write: async (tenantId, rows) => {
      if (opts.fail) throw new Error('down');
      writes.push({ tenantId, rows: [...rows] });
    },
    log: { error: (obj) => errors.push(obj) },
    flushMs: 60_000,
    ...(opts.maxRows ? { maxRows: opts.maxRows } : {}),
    ...(opts.maxPending ? { maxPending: opts.maxPending } : {}),
  });
  return { log, writes, errors };
}
const t1 = new Date('2026-01-01T10:00:00Z');
const t2 = new Date('2026-01-01T10:05:00Z');

describe('shown log', () => {
  it('writes one batch per tenant, one row per (user, item) with the latest time, and nothing before a flush', async () => {
    const { log, writes } = setup();
    log.record('A', 'u1', ['i1', 'i2'], t1);
    log.record('A', 'u1', ['i2', 'i3'], t2);
    log.record('B', 'u1', ['i1'], t1);
    log.record('A', 'u2', [], t1);
    expect(writes).toEqual([]);
    await log.flush();
    expect(writes).toHaveLength(2);
    const a = writes.find((w) => w.tenantId === 'A')!.rows;
    expect(a.map((r) => `${r.userId}/${r.itemId}@${r.at.toISOString()}`).sort()).toEqual([
      `u1/i1@${t1.toISOString()}`,
      `u1/i2@${t2.toISOString()}`,
      `u1/i3@${t2.toISOString()}`,
    ]);
    expect(writes.find((w) => w.tenantId === 'B')!.rows).toHaveLength(1);
    await log.flush();
    expect(writes).toHaveLength(2);
  });

  it("keeps a shopper's unwritten rows readable per tenant, and forgets an erased shopper's", async () => {
    const { log, writes } = setup();
    log.record('A', 'u1', ['i1'], t1);
    log.record('A', 'u1', ['i1'], t2);
    log.record('B', 'u1', ['other'], t1);
    expect([...log.pendingFor('A', 'u1')]).toEqual([['i1', t2]]);
    expect([...log.pendingFor('A', 'nobody')]).toEqual([]);
    log.forget('A', ['u1']);
    expect(log.pendingFor('A', 'u1').size).toBe(0);
    expect(log.pendingFor('B', 'u1').size).toBe(1);
    await log.flush();
    expect(writes.map((w) => w.tenantId)).toEqual(['B']);
  });

  it('writes at once past maxRows, drops past maxPending, and logs (never throws) a failed write', async () => {
    const big = setup({ maxRows: 3, maxPending: 5 });
    big.log.record('A', 'u', ['a', 'b', 'c'], t1);
    await big.log.flush();
    expect(big.writes).toHaveLength(1);
    big.log.record('A', 'u', ['1', '2', '3', '4', '5', '6', '7'], t1);
    // Past maxPending (5 rows not yet written) a new row is dropped, not held.
    big.log.record('A', 'u', ['8'], t1);
    expect(big.log.pendingFor('A', 'u').has('8')).toBe(false);
    await big.log.flush();
    expect(big.writes[1]!.rows.length).toBe(7);
    const failing = setup({ fail: true });
    failing.log.record('A', 'u', ['x'], t1);
    await expect(failing.log.flush()).resolves.toBeUndefined();
    expect(failing.errors).toHaveLength(1);
    expect(failing.log.pendingFor('A', 'u').size).toBe(0);
  });
});
