import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createTestDatabase } from '../../../test/helpers.ts';
import type { Database } from '../../platform/database.ts';
import type { ProfileActivity, ResolveInput } from '../identity/index.ts';
import { fromApiInteraction } from './ingest.core.ts';
import { createIngestService } from './ingest.service.ts';
import { createInteractionsRepository } from './interactions.repository.ts';

let database: Database;
const T = '0190a000-0000-7000-8000-0000000000c1';
const PROFILE = '0190a000-0000-7000-8000-0000000000f1';
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

const silent = { error: () => undefined } as never;
const api = { source: 'api' } as const;
const ev = (id: string, type = 'view', price?: string) =>
  fromApiInteraction(
    {
      event_id: id,
      user_id: 'u1',
      item_id: 'i1',
      interaction_type: type,
      ...(price ? { metadata: { price, quantity: 2, currency: 'USD' } } : {}),
    },
    { now: new Date('2026-01-01T00:00:00Z') },
  );

describe('ingest service (the events write path) against a scripted identity module', () => {
  it('sets the resolved profile on rows, and reports activity for rows written now only (a retry never counts revenue twice)', async () => {
    const calls: ResolveInput[][] = [];
    const activity: ProfileActivity[][] = [];
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: {
        resolveMany: async (_t, inputs) => (calls.push(inputs), inputs.map(() => PROFILE)),
        recordActivityWithin: async (_q, _t, a) => void activity.push([...a]),
      },
      log: silent,
      batching: { maxBatch: 100, maxWaitMs: 2, maxPending: 1000, concurrency: 1 },
    });
    const first = await Promise.all([
      ingest.write({ tenantId: T }, [ev('s-1', 'purchase', '10.00')], api),
      ingest.write({ tenantId: T }, [ev('s-2')], api),
    ]);
    expect(calls).toHaveLength(1); // one resolution call for the coalesced batch
    expect(calls[0]!.map((c) => c.identifiers)).toEqual([[{ type: 'user_id', value: 'u1' }], [{ type: 'user_id', value: 'u1' }]]);
    expect(activity.flat().map((a) => [a.type, a.revenueMinor])).toEqual([
      ['purchase', 2000n],
      ['view', null],
    ]);
    const stored = await createInteractionsRepository().get(database.db, T, first[0]![0]!.interactionId);
    expect(stored?.profileId).toBe(PROFILE);
    const retry = await ingest.write({ tenantId: T }, [ev('s-1', 'purchase', '10.00')], api);
    expect(retry[0]).toMatchObject({ interactionId: first[0]![0]!.interactionId, created: false });
    expect(activity.flat()).toHaveLength(2);
  });

  it('stores events without a profile when identity fails, instead of losing them', async () => {
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: { resolveMany: async () => Promise.reject(new Error('identity down')), recordActivityWithin: async () => undefined },
      log: silent,
      batching: { maxBatch: 100, maxWaitMs: 1, maxPending: 1000, concurrency: 1 },
    });
    const [out] = await ingest.write({ tenantId: T }, [ev('s-down')], api);
    expect(out!.created).toBe(true);
    expect((await createInteractionsRepository().get(database.db, T, out!.interactionId))?.profileId).toBeNull();
  });

  it('under overload answers INGEST_OVERLOADED (503) and every acknowledged event is in the database', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: { resolveMany: async (_t, inputs) => (await gate, inputs.map(() => null)), recordActivityWithin: async () => undefined },
      log: silent,
      batching: { maxBatch: 10, maxWaitMs: 1, maxPending: 20, concurrency: 1 },
    });
    const sent = Array.from({ length: 40 }, (_, i) =>
      ingest.write({ tenantId: T }, [ev(`load-${i}`)], api).then(
        (o) => ({ ok: true as const, id: o[0]!.interactionId }),
        (e: { code?: string }) => ({ ok: false as const, code: e.code }),
      ),
    );
    release();
    const results = await Promise.all(sent);
    const acked = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.code === 'INGEST_OVERLOADED')).toBe(true);
    const repo = createInteractionsRepository();
    for (const a of acked) expect(await repo.get(database.db, T, a.id!)).toBeDefined();
  });

  it('commits the rows and their profile aggregates together: when the aggregates fail, no row is stored (M2)', async () => {
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: {
        resolveMany: async (_t, inputs) => inputs.map(() => PROFILE),
        recordActivityWithin: async () => Promise.reject(new Error('crash between insert and aggregates')),
      },
      log: silent,
      batching: { maxBatch: 100, maxWaitMs: 1, maxPending: 1000, concurrency: 1 },
    });
    await expect(ingest.write({ tenantId: T }, [ev('m2-1', 'purchase', '5.00')], api)).rejects.toThrow('crash between');
    const repo = createInteractionsRepository();
    const before = await repo.count(database.db, T);
    await expect(ingest.write({ tenantId: T }, [ev('m2-2', 'purchase', '5.00')], { source: 'import' })).rejects.toThrow('crash between');
    expect(await repo.count(database.db, T)).toBe(before);
  });
});

describe('ingest service: listeners are told after the commit, never for a rolled-back write', () => {
  const T2 = '0190a000-0000-7000-8000-0000000000c2';
  const evFor = (id: string, userId: string) =>
    fromApiInteraction(
      { event_id: id, user_id: userId, item_id: 'i1', interaction_type: 'view' },
      { now: new Date('2026-01-01T00:00:00Z') },
    );
  function harness(opts: { failActivity?: boolean } = {}) {
    const told: { tenantId: string; userIds: string[]; committed: boolean }[] = [];
    let insideTransaction = false;
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: {
        resolveMany: async (_t, inputs) => inputs.map(() => PROFILE),
        recordActivityWithin: async () => {
          if (opts.failActivity) throw new Error('aggregates failed');
        },
      },
      log: silent,
      batching: { maxBatch: 100, maxWaitMs: 1, maxPending: 1000, concurrency: 1 },
      onCommitted: (tenantId, userIds) => told.push({ tenantId, userIds: [...userIds], committed: !insideTransaction }),
    });
    return { ingest, told, inside: (v: boolean) => (insideTransaction = v) };
  }

  it('tells the users of newly written rows once the write committed, and nothing for a retry', async () => {
    const h = harness();
    await h.ingest.write({ tenantId: T2 }, [evFor('ac-1', 'alice'), evFor('ac-2', 'bob'), evFor('ac-3', 'alice')], api);
    expect(h.told).toEqual([{ tenantId: T2, userIds: ['alice', 'bob'], committed: true }]);
    await h.ingest.write({ tenantId: T2 }, [evFor('ac-1', 'alice')], api); // a retry: nothing new
    expect(h.told).toHaveLength(1);
  });

  it('a write whose transaction rolls back (its aggregates failed) stores nothing and tells no one', async () => {
    const h = harness({ failActivity: true });
    await expect(h.ingest.write({ tenantId: T2 }, [evFor('rb-1', 'carol')], { source: 'import' })).rejects.toThrow('aggregates failed');
    expect(h.told).toEqual([]);
    const n = await database.db.execute(sql`SELECT count(*)::int AS n FROM interactions WHERE dedupe_key = 'e:rb-1'`);
    expect((n as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
  });

  it("within the caller's transaction: told only when the caller runs its after-commit callbacks, never on a rollback", async () => {
    const h = harness();
    // Rolled back: the caller's transaction fails after the write; the callbacks it collected are dropped.
    const dropped: (() => void)[] = [];
    const prepared = await h.ingest.prepare({ tenantId: T2 }, [evFor('wr-1', 'dave')]);
    await expect(
      database.db.transaction(async (tx) => {
        h.inside(true);
        await h.ingest.write({ tenantId: T2 }, prepared, { source: 'webhook', within: tx, afterCommit: (f) => dropped.push(f) });
        throw new Error('delivery record failed');
      }),
    ).rejects.toThrow('delivery record failed');
    h.inside(false);
    expect(h.told).toEqual([]);
    // Committed: told after the commit, with the users of the rows written.
    const committed: (() => void)[] = [];
    const again = await h.ingest.prepare({ tenantId: T2 }, [evFor('wr-2', 'erin')]);
    await database.db.transaction(async (tx) => {
      h.inside(true);
      await h.ingest.write({ tenantId: T2 }, again, { source: 'webhook', within: tx, afterCommit: (f) => committed.push(f) });
      h.inside(false);
    });
    expect(h.told).toEqual([]);
    for (const f of committed) f();
    expect(h.told).toEqual([{ tenantId: T2, userIds: ['erin'], committed: true }]);
  });

  it('refuses a write within a transaction that gives no way to run after its commit', async () => {
    const h = harness();
    const prepared = await h.ingest.prepare({ tenantId: T2 }, [evFor('wr-3', 'fay')]);
    await expect(
      database.db.transaction((tx) => h.ingest.write({ tenantId: T2 }, prepared, { source: 'webhook', within: tx })),
    ).rejects.toThrow(/afterCommit/);
  });

  it('a failing listener never fails a committed write', async () => {
    const ingest = createIngestService({
      db: database.db,
      repo: createInteractionsRepository(),
      identity: { resolveMany: async (_t, inputs) => inputs.map(() => null), recordActivityWithin: async () => undefined },
      log: silent,
      batching: { maxBatch: 100, maxWaitMs: 1, maxPending: 1000, concurrency: 1 },
      onCommitted: () => {
        throw new Error('listener broke');
      },
    });
    const out = await ingest.write({ tenantId: T2 }, [evFor('lf-1', 'gus')], api);
    expect(out[0]!.created).toBe(true);
  });
});
