import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import { type Database } from '../../platform/database.ts';
import { createHistoryRepository, createInteractionsRepository } from './index.ts';

let database: Database;
const A = '0190a000-0000-7000-8000-0000000000a1';
const B = '0190a000-0000-7000-8000-0000000000b1';
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

describe('history repository (events read views for the recommender)', () => {
  it('returns the interactions citing a recommendation written since a time, exactly, by tenant', async () => {
    const writes = createInteractionsRepository();
    const history = createHistoryRepository();
    const before = new Date(Date.now() - 60_000);
    const at = new Date('2026-01-02T03:04:05Z');
    await writes.appendMany(database.db, A, [
      { userId: 'u1', itemId: 'i1', type: 'click', source: 'api', occurredAt: at, recommendationId: 'rec-1' },
      {
        userId: 'u1',
        itemId: 'i2',
        type: 'purchase',
        quantity: 2,
        priceMinor: 9007199254740993n,
        currency: 'EUR',
        orderId: 'o-1',
        source: 'api',
        occurredAt: at,
        recommendationId: 'rec-2',
      },
      { userId: 'u1', itemId: 'i3', type: 'view', source: 'api', occurredAt: at }, // cites nothing
    ]);
    await writes.appendMany(database.db, B, [
      { userId: 'u9', itemId: 'i1', type: 'click', source: 'api', occurredAt: at, recommendationId: 'rec-9' },
    ]);

    const rows = await history.attributedInteractions(database.db, A, before);
    expect(rows.map((r) => r.recommendationId).sort()).toEqual(['rec-1', 'rec-2']);
    expect(rows.find((r) => r.recommendationId === 'rec-2')).toMatchObject({
      itemId: 'i2',
      type: 'purchase',
      orderId: 'o-1',
      priceMinor: '9007199254740993',
      currency: 'EUR',
      quantity: 2,
    });
    // Written before the time asked for: not returned (ids are UUIDv7, so this is a range of the key).
    expect(await history.attributedInteractions(database.db, A, new Date(Date.now() + 60_000))).toEqual([]);
    expect((await history.attributedInteractions(database.db, B, before)).map((r) => r.recommendationId)).toEqual(['rec-9']);

    expect(await history.interactionQuality(database.db, A)).toMatchObject({ interactions: 3, users: 1 });
    expect(await history.interactionsSince(database.db, A, null)).toBe(3);
  });
});
