/**
 * Attribution of outcomes to served responses (arm statistics, dashboard): recs joins its recs_served rows with
 * the interactions events returns as citing a recommendation. Counted: an interaction with an item the cited
 * response showed, cited response served since the window's start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import { type Database } from '../../platform/database.ts';
import { bindQuery, newId } from '../../platform/index.ts';
import { createHistoryRepository, createInteractionsRepository } from '../events/index.ts';
import { createRecsRepository } from './recs.repository.ts';
import type { RecsPorts } from './recs.types.ts';

let database: Database;
const T = '0190a000-0000-7000-8000-0000000000c1';
const OTHER = '0190a000-0000-7000-8000-0000000000c2';
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

describe('attributed outcomes', () => {
  it('counts only interactions with an item the cited response showed, in the window, each once, by tenant', async () => {
    const history = bindQuery(database.db, createHistoryRepository());
    const ports = {
      events: history,
      catalog: { activeItemCount: async () => 7 },
      tenantSettings: async () => ({}),
    } as unknown as RecsPorts;
    const repo = createRecsRepository(ports);
    const writes = createInteractionsRepository();
    const now = Date.now();
    const since = new Date(now - 60 * 60_000);
    const [s1, s2, old] = [newId(), newId(), newId()];
    const served = (id: string, itemIds: string[], at: number) => ({
      id,
      kind: 'user' as const,
      userId: 'u1',
      modelVersionId: null,
      itemIds,
      latencyMs: 1,
      cacheHit: false,
      createdAt: new Date(at),
    });
    await repo.recordServedMany(database.db, T, [
      served(s1, ['x', 'y'], now - 1000),
      served(s2, ['x'], now - 500),
      served(old, ['x'], now - 2 * 60 * 60_000),
    ]);
    const at = (s: number) => new Date(now - s * 1000);
    const ev = (itemId: string, type: string, recommendationId: string, t: number, extra: Record<string, unknown> = {}) => ({
      userId: 'u1',
      itemId,
      type,
      source: 'api',
      occurredAt: at(t),
      recommendationId,
      ...extra,
    });
    await writes.appendMany(database.db, T, [
      ev('x', 'click', s1, 1),
      ev('z', 'click', s1, 2), // z was not shown by s1
      ev('y', 'purchase', s1, 3, { orderId: 'o1', priceMinor: 500n, quantity: 2, currency: 'usd' }),
      ev('x', 'click', old, 4), // served before the window
      ev('x', 'click', s2, 5),
      ev('x', 'view', s2, 6),
    ]);
    // Another tenant citing the same response ids counts nothing here.
    await writes.appendMany(database.db, OTHER, [ev('x', 'click', s1, 7), ev('y', 'purchase', s1, 8)]);

    expect(await repo.armStats(database.db, T, since)).toEqual([{ versionId: null, served: 2, clicks: 2, conversions: 1 }]);
    const d = await repo.dashboard(database.db, T, since);
    expect(d.outcomes).toEqual({ clicked: 2, converted: 1, orders: 1 });
    expect(d.revenue).toEqual([{ currency: 'USD', revenueMinor: '1000', orders: 1 }]);
    expect(d.top).toEqual([
      { itemId: 'x', impressions: 2, clicks: 3, purchases: 0 },
      { itemId: 'y', impressions: 1, clicks: 0, purchases: 1 },
    ]);
    expect(d.served).toMatchObject({ calls: 2, items: 3 });
    expect(d.quality).toMatchObject({ interactions: 6, users: 1 });
  });
});
