/**
 * Job dedupe across processes (issue 17): a dedupe key books one live job even when several schedulers (or a
 * takeover) enqueue it at the same moment. Two queues stand for two processes: on PostgreSQL their statements run on
 * separate pooled connections at once; on the embedded database they interleave on its one session. Both DBs.
 */
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../src/platform/database.ts';
import { queryRows } from '../src/platform/database.ts';
import { AppError } from '../src/platform/errors.ts';
import { newId } from '../src/platform/ids.ts';
import { createJobQueue, type JobQueue } from '../src/platform/jobs.queue.ts';
import { createTestDatabase } from './helpers.ts';

let database: Database;
let queues: JobQueue[];
const TYPE = 'scale.booked';

beforeAll(async () => {
  database = await createTestDatabase();
  // Never started: they only enqueue, as a scheduler booking slots does.
  queues = [0, 1, 2, 3].map(() => {
    const q = createJobQueue({ db: database.db, logger: pino({ level: 'silent' }), pollMs: 1000, tenantLimits: { maxQueued: 5 } });
    q.register({ type: TYPE, payload: z.object({ slot: z.string() }), handle: async () => null });
    return q;
  });
});
afterAll(async () => {
  await database?.close();
});

const liveJobs = (tenantId: string) =>
  queryRows<{ id: string; dedupeKey: string | null; status: string }>(
    database.db,
    sql`SELECT id, dedupe_key AS "dedupeKey", status FROM jobs WHERE tenant_id = ${tenantId} AND type = ${TYPE} AND status IN ('queued', 'running')`,
  );

describe('dedupe keys hold across concurrent enqueuers', () => {
  it('four enqueuers racing on the same keys book one live job per key and all get its id', async () => {
    const tenant = newId();
    const keys = ['slot:2026-12-06T01:00:00.000Z', 'slot:2026-12-06T02:00:00.000Z', `slot:${'é'.repeat(300)}`];
    const results = await Promise.all(
      keys.flatMap((key) => queues.map((q) => q.enqueue(tenant, TYPE, { slot: key }, { dedupeKey: key }).then((j) => ({ key, id: j.id })))),
    );
    const rows = await liveJobs(tenant);
    expect(rows).toHaveLength(keys.length);
    for (const key of keys) {
      const ids = new Set(results.filter((r) => r.key === key).map((r) => r.id));
      expect(ids.size).toBe(1);
      expect(rows.find((r) => r.dedupeKey === key)?.id).toBe([...ids][0]);
    }
  });

  it('repeated races on one key over many rounds never leave two live jobs', async () => {
    const tenant = newId();
    for (let round = 0; round < 10; round++) {
      const key = `round:${round % 3}`;
      await Promise.all(queues.map((q) => q.enqueue(tenant, TYPE, { slot: key }, { dedupeKey: key })));
    }
    const rows = await liveJobs(tenant);
    expect(rows.map((r) => r.dedupeKey).sort()).toEqual(['round:0', 'round:1', 'round:2']);
  });

  it('the same key in another tenant is another job; a finished job does not hold its key', async () => {
    const a = newId();
    const b = newId();
    const [ja, jb] = await Promise.all([
      queues[0]!.enqueue(a, TYPE, { slot: 'x' }, { dedupeKey: 'x' }),
      queues[1]!.enqueue(b, TYPE, { slot: 'x' }, { dedupeKey: 'x' }),
    ]);
    expect(ja.id).not.toBe(jb.id);
    expect(ja.tenantId).toBe(a);
    expect(jb.tenantId).toBe(b);
    await database.db.execute(sql`UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE tenant_id = ${a} AND id = ${ja.id}`);
    const again = await Promise.all(queues.map((q) => q.enqueue(a, TYPE, { slot: 'x' }, { dedupeKey: 'x' })));
    expect(new Set(again.map((j) => j.id)).size).toBe(1);
    expect(again[0]!.id).not.toBe(ja.id);
  });

  it('at the per-tenant cap: a live key still answers its job, a new key is refused as queue full', async () => {
    const tenant = newId();
    for (let i = 0; i < 5; i++) await queues[0]!.enqueue(tenant, TYPE, { slot: `k${i}` }, { dedupeKey: `k${i}` });
    const same = await Promise.all(queues.map((q) => q.enqueue(tenant, TYPE, { slot: 'k0' }, { dedupeKey: 'k0' })));
    expect(new Set(same.map((j) => j.id)).size).toBe(1);
    const refused = await queues[1]!.enqueue(tenant, TYPE, { slot: 'k9' }, { dedupeKey: 'k9' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('JOB_QUEUE_FULL');
    expect(await liveJobs(tenant)).toHaveLength(5);
  });

  it('jobs without a key are never merged', async () => {
    const tenant = newId();
    await Promise.all(queues.map((q) => q.enqueue(tenant, TYPE, { slot: 'none' })));
    expect(await liveJobs(tenant)).toHaveLength(4);
  });
});
