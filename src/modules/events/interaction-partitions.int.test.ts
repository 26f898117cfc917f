import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import { type Database, MIGRATIONS_DIR, queryRows } from '../../platform/database.ts';
import { monthStart, partitionName, retentionHorizon } from './interaction-partitions.core.ts';
import { createInteractionPartitionsRepository } from './interaction-partitions.repository.ts';
import { createInteractionPartitionsService } from './interaction-partitions.service.ts';
import { appendCounts, createInteractionsRepository } from './interactions.repository.ts';
import { createProfileLinksRepository } from './profile-links.repository.ts';

let database: Database;
const A = '0190a000-0000-7000-8000-0000000000a1';
const B = '0190a000-0000-7000-8000-0000000000b1';
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

const whereIs = async (tenantId: string, id: string) =>
  (
    await queryRows<{ part: string }>(
      database.db,
      sql`SELECT tableoid::regclass::text AS part FROM interactions WHERE tenant_id = ${tenantId} AND id = ${id}`,
    )
  ).map((r) => r.part);
const count = async (tenantId: string) =>
  (await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId}`))[0]!.n;
const keys = async (tenantId: string) =>
  (await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM interaction_keys WHERE tenant_id = ${tenantId}`))[0]!.n;
const ev = (eventId: string, occurredAt: Date, userId = 'u1') => ({
  userId,
  itemId: 'i1',
  type: 'view',
  source: 'api',
  occurredAt,
  eventId,
});

describe('interactions partitioned by month, deduplicated through interaction_keys', () => {
  it('stores concurrent duplicates once: one writer creates, the others get its id', async () => {
    const repo = createInteractionsRepository();
    const at = new Date();
    // Rounds of eight writers at once, each its own connection on PostgreSQL, sharing keys in opposite orders (keys
    // inserted in batch order deadlocked here now and then; several rounds make that likely on such code).
    for (let round = 1; round <= 4; round++) {
      const keys = Array.from({ length: 50 }, (_, i) => ev(`round-${round}-${i}`, at));
      await Promise.all(Array.from({ length: 8 }, (_, w) => repo.appendManyDetailed(database.db, A, w % 2 ? [...keys].reverse() : keys)));
    }
    const batch = Array.from({ length: 50 }, (_, i) => ev(`race-${i}`, at));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        repo.appendManyDetailed(database.db, A, w % 2 ? [...batch].reverse() : batch.map((x) => ({ ...x }))),
      ),
    );
    const createdPerEvent = new Map<string, number>();
    const idsPerEvent = new Map<string, Set<string>>();
    results.forEach((r, w) => {
      const order = w % 2 ? [...batch].reverse() : batch;
      order.forEach((e, i) => {
        createdPerEvent.set(e.eventId, (createdPerEvent.get(e.eventId) ?? 0) + (r.created[i] ? 1 : 0));
        idsPerEvent.set(e.eventId, (idsPerEvent.get(e.eventId) ?? new Set()).add(r.ids[i]!));
      });
    });
    expect([...createdPerEvent.values()].every((n) => n === 1)).toBe(true);
    expect([...idsPerEvent.values()].every((s) => s.size === 1)).toBe(true);
    expect(await count(A)).toBe(250);
    expect(await keys(A)).toBe(250);
    // This month has its partition (made by the migration): live traffic never lands in the default one.
    expect(await whereIs(A, [...idsPerEvent.get('race-0')!][0]!)).toEqual([partitionName(monthStart(at))]);
  });

  it('takes an event for a month with no partition into the default one, then moves it to its own month: still once', async () => {
    const repo = createInteractionsRepository();
    const old = new Date('2019-03-14T10:00:00Z'); // out of order: long before this month
    const first = await repo.appendManyDetailed(database.db, A, [ev('old-1', old)]);
    expect(first.created).toEqual([true]);
    expect(await whereIs(A, first.ids[0]!)).toEqual(['interactions_default']);
    const run = await createInteractionPartitionsService({
      db: database.db,
      repo: createInteractionPartitionsRepository(),
      clock: () => new Date(),
      retentionMonths: 0,
    }).maintain();
    expect(run.created).toContainEqual({ name: 'interactions_y2019m03', moved: 1 });
    expect(await whereIs(A, first.ids[0]!)).toEqual(['interactions_y2019m03']);
    // A retry after the move: the same id and first receipt, nothing stored; a new event of that month goes there.
    const retry = await repo.appendManyDetailed(database.db, A, [ev('old-1', old), ev('old-2', new Date('2019-03-20T00:00:00Z'))]);
    expect(retry.created).toEqual([false, true]);
    expect(retry.ids[0]).toBe(first.ids[0]);
    expect(retry.receivedAt[0]!.getTime()).toBe(first.receivedAt[0]!.getTime());
    expect(await whereIs(A, retry.ids[1]!)).toEqual(['interactions_y2019m03']);
    // A second run has nothing to do.
    const again = await createInteractionPartitionsService({
      db: database.db,
      repo: createInteractionPartitionsRepository(),
      clock: () => new Date(),
      retentionMonths: 0,
    }).maintain();
    expect(again.created).toEqual([]);
  });

  it('retention drops whole old months and their keys; an event older than the horizon is not stored again', async () => {
    const now = new Date();
    const horizon = retentionHorizon(now, 12)!;
    const kept = monthStart(now, -3);
    const plain = createInteractionsRepository();
    const gone = await plain.appendManyDetailed(database.db, B, [ev('gone-1', new Date('2019-03-02T00:00:00Z'), 'u9')]);
    const keep = await plain.appendManyDetailed(database.db, B, [ev('kept-1', kept, 'u9')]);
    expect(await count(B)).toBe(2);
    const run = await createInteractionPartitionsService({
      db: database.db,
      repo: createInteractionPartitionsRepository(),
      clock: () => now,
      retentionMonths: 12,
    }).maintain();
    expect(run.dropped).toContain('interactions_y2019m03'); // whole month, tenant A's rows of it too
    expect(run.deleted.keys).toBeGreaterThanOrEqual(3); // A's old-1, old-2 and B's gone-1
    expect(await whereIs(B, gone.ids[0]!)).toEqual([]);
    expect(await whereIs(B, keep.ids[0]!)).toHaveLength(1);
    expect(
      (await queryRows(database.db, sql`SELECT 1 FROM interaction_keys WHERE occurred_at < ${horizon.toISOString()}::timestamptz`)).length,
    ).toBe(0);
    // The replay of a forgotten event: the write door refuses what is older than the horizon (not created, not stored).
    const guarded = createInteractionsRepository({ retainFrom: () => horizon });
    const replay = await guarded.appendManyDetailed(database.db, B, [
      ev('gone-1', new Date('2019-03-02T00:00:00Z'), 'u9'),
      ev('kept-1', kept, 'u9'),
    ]);
    expect(replay.created).toEqual([false, false]);
    expect(replay.expired).toEqual([true, false]); // said apart from the duplicate: channels tell the sender why
    expect(appendCounts(replay)).toMatchObject({ inserted: 0, duplicates: 1, expired: 1 });
    expect(replay.ids[1]).toBe(keep.ids[0]);
    expect(await count(B)).toBe(1);
    expect(await keys(B)).toBe(1);
  });

  it('keeps tenants apart: the same key in two tenants is two events, a retry answers with its own tenant’s id, erasure touches one', async () => {
    const repo = createInteractionsRepository();
    const at = new Date();
    const a = await repo.appendManyDetailed(database.db, A, [ev('shared-key', at, 'erase-me')]);
    const b = await repo.appendManyDetailed(database.db, B, [ev('shared-key', at, 'erase-me')]);
    expect(a.created).toEqual([true]);
    expect(b.created).toEqual([true]);
    expect(b.ids[0]).not.toBe(a.ids[0]);
    const retryB = await repo.appendManyDetailed(database.db, B, [ev('shared-key', at, 'erase-me')]);
    expect(retryB).toMatchObject({ ids: b.ids, created: [false] });
    // Erasure in A blanks A's key (it may be a hash of the person's ids); B's stays.
    await database.db.transaction((tx) =>
      createProfileLinksRepository().anonymize(tx, A, { profileIds: [], userIds: ['erase-me'], anonymousIds: [] }),
    );
    const left = await queryRows<{ tenant: string; key: string }>(
      database.db,
      sql`SELECT tenant_id::text AS tenant, dedupe_key AS key FROM interaction_keys WHERE id IN (${a.ids[0]!}, ${b.ids[0]!}) ORDER BY tenant_id`,
    );
    expect(left).toEqual([
      { tenant: A, key: `erased:${a.ids[0]}` },
      { tenant: B, key: 'e:shared-key' },
    ]);
  });

  it('the migration converts a filled table: rows, ids and keys kept, months partitioned, duplicates still refused', async () => {
    // by name, not number: migrations are renumbered when branches land in another order
    const name = readdirSync(MIGRATIONS_DIR).find((f) => /^\d{4}_interactions_partitions\.sql$/.test(f))!;
    const file = readFileSync(path.join(MIGRATIONS_DIR, name), 'utf8');
    const statements = file.split('--> statement-breakpoint');
    const old = readFileSync(path.join(MIGRATIONS_DIR, '0001_interactions.sql'), 'utf8').split('--> statement-breakpoint');
    await expect(
      database.db.transaction(async (tx) => {
        // In a schema of its own (rolled back at the end): the pre-0057 table, filled, then 0057 applied to it.
        await tx.execute(sql`CREATE SCHEMA m0057`);
        await tx.execute(sql`SET LOCAL search_path TO m0057`);
        for (const s of old) await tx.execute(sql.raw(s));
        await tx.execute(sql`INSERT INTO interactions (tenant_id, id, dedupe_key, type, source, occurred_at)
          VALUES (${A}, '0190a000-0000-7000-8000-000000000001', 'evt:a', 'view', 'api', '2021-05-05T00:00:00Z'),
                 (${A}, '0190a000-0000-7000-8000-000000000002', 'erased:0190a000-0000-7000-8000-000000000002', 'view', 'api', '2021-05-06T00:00:00Z'),
                 (${B}, '0190a000-0000-7000-8000-000000000003', 'evt:a', 'view', 'api', now())`);
        for (const s of statements) await tx.execute(sql.raw(s));
        const rows = await queryRows<{ id: string; part: string }>(
          tx,
          sql`SELECT id::text, tableoid::regclass::text AS part FROM interactions ORDER BY id`,
        );
        expect(rows.map((r) => r.part)).toEqual(['interactions_y2021m05', 'interactions_y2021m05', partitionName(monthStart(new Date()))]);
        const k = await queryRows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM interaction_keys`);
        expect(k[0]!.n).toBe(3);
        const strategy = await queryRows<{ s: string }>(
          tx,
          sql`SELECT partstrat::text AS s FROM pg_partitioned_table WHERE partrelid = 'm0057.interactions'::regclass`,
        );
        expect(strategy).toEqual([{ s: 'r' }]);
        await expect(
          tx.execute(
            sql`INSERT INTO interaction_keys (tenant_id, dedupe_key, id, occurred_at) VALUES (${A}, 'evt:a', gen_random_uuid(), now())`,
          ),
        ).rejects.toThrow();
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
  });
});
