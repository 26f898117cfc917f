import { describe, expect, it } from 'vitest';
import type { ServedRow } from '../recs.repository.ts';
import { createServedLog } from './served.log.ts';

const at = new Date('2026-11-01T00:00:00Z');

describe('served log', () => {
  const served = (id: string): ServedRow => ({
    id,
    kind: 'user',
    userId: 'u',
    modelVersionId: null,
    itemIds: ['a'],
    latencyMs: 1,
    cacheHit: false,
    createdAt: at,
  });

  it('writes rows in batches per tenant, at once past maxRows, and everything recorded before a flush', async () => {
    const writes: [string, string[]][] = [];
    const log = createServedLog({
      write: async (tenantId, rows) => void writes.push([tenantId, rows.map((r) => r.id)]),
      log: console,
      flushMs: 60_000,
      maxRows: 3,
    });
    log.record('t1', served('1'));
    log.record('t2', served('2'));
    expect(writes).toEqual([]);
    log.record('t1', served('3'));
    await log.flush();
    expect(writes).toEqual([
      ['t1', ['1', '3']],
      ['t2', ['2']],
    ]);
    log.record('t1', served('4'));
    await log.close();
    expect(writes.at(-1)).toEqual(['t1', ['4']]);
  });

  it('keeps serving when a write fails, and drops rows beyond maxPending instead of growing without bound', async () => {
    const errors: unknown[] = [];
    const warnings: unknown[] = [];
    let fail = true;
    const written: string[] = [];
    const log = createServedLog({
      write: async (_t, rows) => {
        if (fail) throw new Error('database down');
        written.push(...rows.map((r) => r.id));
      },
      log: { warn: (o) => warnings.push(o), error: (o) => errors.push(o) },
      flushMs: 60_000,
      maxRows: 100,
      maxPending: 2,
    });
    for (const id of ['1', '2', '3']) log.record('t', served(id));
    await log.flush();
    expect(errors).toHaveLength(1);
    expect(warnings).toEqual([{ dropped: 1 }]);
    fail = false;
    log.record('t', served('4'));
    await log.flush();
    expect(written).toEqual(['4']);
  });

  it('writes at most rowsPerWrite rows per statement, every row once, and lets the event loop turn between statements', async () => {
    const writes: [string, string[]][] = [];
    // each statement queues a callback for the next turn of the loop (as a request's I/O would be): it must run
    // before the next statement starts
    let ran = 0;
    const seen: number[] = [];
    const log = createServedLog({
      write: async (tenantId, rows) => {
        seen.push(ran);
        setImmediate(() => ran++);
        writes.push([tenantId, rows.map((r) => r.id)]);
      },
      log: console,
      flushMs: 60_000,
      maxRows: 1000,
      rowsPerWrite: 2,
    });
    for (let k = 0; k < 5; k++) log.record('t1', served(`a${k}`));
    log.record('t2', served('b0'));
    await log.flush();
    expect(writes).toEqual([
      ['t1', ['a0', 'a1']],
      ['t1', ['a2', 'a3']],
      ['t1', ['a4']],
      ['t2', ['b0']],
    ]);
    expect(seen).toEqual([0, 1, 2, 3]);
  });
});
