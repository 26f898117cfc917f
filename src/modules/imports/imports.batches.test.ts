import { describe, expect, it } from 'vitest';
import { isRowDataError, sqlStateOf, storeFailureReason, writeIsolatingFailures } from './imports.batches.ts';

const dbError = (code: string) =>
  Object.assign(new Error('Failed query'), { cause: Object.assign(new Error(`bad \u0000 value`), { code }) });

describe('writeIsolatingFailures', () => {
  it('stores every good row and returns only the bad ones, in few writes', async () => {
    const stored: number[] = [];
    let calls = 0;
    const bad = new Set([3, 4_002]);
    const rows = Array.from({ length: 5000 }, (_, i) => i);
    const failed = await writeIsolatingFailures(rows, async (part) => {
      calls++;
      if (part.some((r) => bad.has(r))) throw dbError('22P05');
      stored.push(...part);
    });
    expect(failed.map((f) => f.row)).toEqual([3, 4_002]);
    expect(stored.sort((a, b) => a - b)).toEqual(rows.filter((r) => !bad.has(r)));
    expect(calls).toBeLessThan(60);
  });

  it('rethrows errors that are not in the data (the database is down)', async () => {
    const down = Object.assign(new Error('connection refused'), { code: '08006' });
    await expect(writeIsolatingFailures([1, 2], async () => Promise.reject(down))).rejects.toBe(down);
    await expect(writeIsolatingFailures([1], async () => Promise.reject(new Error('closed')))).rejects.toThrow('closed');
  });

  it('names the failure without quoting the driver message', () => {
    expect(sqlStateOf(dbError('22003'))).toBe('22003');
    expect(isRowDataError(new RangeError('x'))).toBe(true);
    expect(storeFailureReason(dbError('22003')).code).toBe('VALUE_OUT_OF_RANGE');
    expect(storeFailureReason(dbError('22P05')).reason).not.toContain('\u0000');
  });
});
