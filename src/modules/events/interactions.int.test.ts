import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import { type Database } from '../../platform/database.ts';
import { createInteractionsRepository } from './index.ts';

let database: Database;
const A = '0190a000-0000-7000-8000-00000000000a';
const B = '0190a000-0000-7000-8000-00000000000b';
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

describe('interactions repository', () => {
  it('appends a batch once; retries and in-batch duplicates are counted, not stored twice; tenants stay apart', async () => {
    const repo = createInteractionsRepository();
    const at = new Date('2026-01-02T03:04:05Z');
    const rows = [
      { userId: 'u1', itemId: 'i1', type: 'view', source: 'api', occurredAt: at },
      { userId: 'u1', itemId: 'i1', type: 'view', source: 'api', occurredAt: at }, // same event twice in the batch
      {
        userId: 'u1',
        itemId: 'i2',
        type: 'purchase',
        quantity: 2,
        priceMinor: 9007199254740993n,
        currency: 'USD',
        source: 'api',
        occurredAt: at,
        eventId: 'evt-1',
      },
    ];
    const first = await repo.appendMany(database.db, A, rows);
    expect(first).toMatchObject({ inserted: 2, duplicates: 1 });
    expect(first.ids[0]).toBe(first.ids[1]);
    const again = await repo.appendMany(database.db, A, rows);
    expect(again).toMatchObject({ inserted: 0, duplicates: 3 });
    expect(again.ids).toEqual(first.ids);
    expect(await repo.count(database.db, A)).toBe(2);
    expect(await repo.count(database.db, B)).toBe(0);
    const stored = await repo.listForUser(database.db, A, 'u1', 10);
    expect(stored.find((s) => s.type === 'purchase')?.priceMinor).toBe('9007199254740993');
    expect(stored[0]!.occurredAt).toBeInstanceOf(Date);
    expect(await repo.listForUser(database.db, B, 'u1', 10)).toEqual([]);
    await repo.appendMany(database.db, B, rows);
    expect(await repo.count(database.db, B)).toBe(2);
  });
});
