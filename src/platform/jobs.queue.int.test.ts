/**
 * The job queue under a noisy tenant (issue 22, M9) and after a process died (interrupted jobs),
 * on the test database (PGlite or PostgreSQL).
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase } from '../../test/helpers.ts';
import { type Database, queryOne, queryRows } from './database.ts';
import { PLATFORM_TENANT_ID } from './platform.tables.ts';
import { TENANT_ROLE } from './row-level-security.ts';
import { outsideTenantScope } from './tenant-read-scope.ts';
import { AppError } from './errors.ts';
import { newId } from './ids.ts';
import { createJobQueue, INTERRUPTED_PREFIX, type JobQueue } from './jobs.queue.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(q: JobQueue, tenantId: string, id: string, done: (s: string) => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const j = await q.get(tenantId, id);
    if (j && done(j.status)) return j;
    if (Date.now() > end) throw new Error(`timeout waiting for ${id}: ${j?.status}`);
    await sleep(25);
  }
}

describe('M9: one tenant cannot make another wait', () => {
  it("six long jobs of tenant A leave a worker for tenant B's one-second job; A never runs more than its cap", async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20 });
    const A = newId();
    const B = newId();
    let release = false;
    const running = new Map<string, number>();
    let maxRunningA = 0;
    q.register({
      type: 'test.train',
      payload: z.object({ long: z.boolean() }),
      async handle(run) {
        running.set(run.tenantId, (running.get(run.tenantId) ?? 0) + 1);
        maxRunningA = Math.max(maxRunningA, running.get(A) ?? 0);
        try {
          if (run.payload.long) while (!release && !run.signal.aborted) await sleep(10);
          else await sleep(200);
        } finally {
          running.set(run.tenantId, running.get(run.tenantId)! - 1);
        }
        return null;
      },
    });
    for (let i = 0; i < 6; i++) await q.enqueue(A, 'test.train', { long: true });
    q.start({ concurrency: 2 });
    try {
      await sleep(200);
      const b = await q.enqueue(B, 'test.train', { long: false });
      const started = Date.now();
      const done = await waitFor(q, B, b.id, (s) => s === 'succeeded', 5000);
      expect(done.status).toBe('succeeded');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(maxRunningA).toBe(1);
      const aJobs = await q.list(A, { limit: 10 });
      expect(aJobs.filter((j) => j.status === 'running')).toHaveLength(1);
    } finally {
      release = true;
      await q.stop();
    }
  });

  it('refuses a job beyond the per-tenant queued cap with a clear 429-kind error; other tenants are not affected', async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20, tenantLimits: { maxQueued: 3 } });
    q.register({ type: 'test.capped', payload: z.object({}), handle: async () => null });
    const A = newId();
    for (let i = 0; i < 3; i++) await q.enqueue(A, 'test.capped', {});
    const refused = await q.enqueue(A, 'test.capped', {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ kind: 'rate_limited', code: 'JOB_QUEUE_FULL' });
    expect((refused as AppError).message).toContain('3 test.capped jobs waiting');
    expect((await q.enqueue(newId(), 'test.capped', {})).status).toBe('queued');
  });
});

describe('jobs left running by a process that died', () => {
  const markRunning = (tenantId: string, id: string, lockedBy: string, attempts: number) =>
    database.db.execute(
      sql`UPDATE jobs SET status = 'running', attempts = ${attempts}, locked_by = ${lockedBy}, locked_until = now() + interval '1 minute'
          WHERE tenant_id = ${tenantId} AND id = ${id}`,
    );

  it('on the embedded database, are retried at once or shown interrupted, not running until the lease expires', async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20, exclusiveDatabase: true });
    q.register({ type: 'test.crashy', payload: z.object({}), maxAttempts: 2, handle: async () => ({ ok: true }) });
    const T = newId();
    const retry = await q.enqueue(T, 'test.crashy', {});
    const last = await q.enqueue(T, 'test.crashy', {});
    await markRunning(T, retry.id, 'old-host:4242:abcdef', 1);
    await markRunning(T, last.id, 'old-host:4242:abcdef', 2);
    q.start({ concurrency: 1 });
    try {
      const again = await waitFor(q, T, retry.id, (s) => s === 'succeeded', 5000);
      expect(again.attempts).toBe(2);
      const failed = await waitFor(q, T, last.id, (s) => s !== 'running', 5000);
      expect(failed.status).toBe('failed');
      expect(failed.lastError?.startsWith(INTERRUPTED_PREFIX)).toBe(true);
    } finally {
      await q.stop();
    }
  });

  it('on a shared database, only leases of dead processes of this host are recovered', async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20 });
    q.register({ type: 'test.shared', payload: z.object({}), maxAttempts: 1, handle: async () => null });
    const T = newId();
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    const mine = await q.enqueue(T, 'test.shared', {});
    const other = await q.enqueue(T, 'test.shared', {});
    await markRunning(T, mine.id, `${hostname()}:${deadPid}:abcdef`, 1);
    await markRunning(T, other.id, `another-host-${newId()}:${process.pid}:abcdef`, 1);
    q.start({ concurrency: 1 });
    try {
      const failed = await waitFor(q, T, mine.id, (s) => s !== 'running', 5000);
      expect(failed).toMatchObject({ status: 'failed' });
      expect(failed.lastError?.startsWith(INTERRUPTED_PREFIX)).toBe(true);
      await sleep(200);
      expect((await q.get(T, other.id))?.status).toBe('running');
    } finally {
      await q.stop();
    }
  });
});

describe('retries', () => {
  it("a failed attempt is queued again and its definition's onRetry is told the error, attempt and wait", async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20 });
    const T = newId();
    const told: { attempt: number; maxAttempts: number; payload: { n: number }; error: string; delayMs: number; id: string }[] = [];
    q.register({
      type: 'test.retry_hook',
      payload: z.object({ n: z.number() }),
      maxAttempts: 2,
      async handle(run) {
        if (run.attempt === 1) throw new Error('network down');
        return { attempt: run.attempt };
      },
      async onRetry(job, error, delayMs) {
        told.push({ attempt: job.attempt, maxAttempts: job.maxAttempts, payload: job.payload, error, delayMs, id: job.id });
      },
    });
    const job = await q.enqueue(T, 'test.retry_hook', { n: 7 });
    q.start({ concurrency: 1 });
    try {
      const done = await waitFor(q, T, job.id, (s) => s === 'succeeded' || s === 'failed', 20_000);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: { attempt: 2 } });
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ attempt: 1, maxAttempts: 2, payload: { n: 7 }, error: 'network down', id: job.id });
      // retryDelayMs(1): 2 s +-20%
      expect(told[0]!.delayMs).toBeGreaterThanOrEqual(1600);
      expect(told[0]!.delayMs).toBeLessThanOrEqual(2400);
    } finally {
      await q.stop();
    }
  });
});

describe('progress and shutdown', () => {
  it('a handler reporting progress inside its own transaction finishes (the embedded database has one session)', async () => {
    // The pricing feed import reported progress between batches inside its transaction. On PGlite every statement
    // outside a transaction waits for it, so a progress write that the handler awaited there never ran: the job hung
    // (and close() with it) whenever a batch took longer than the 250 ms progress throttle, which a loaded machine made.
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20 });
    const T = newId();
    q.register({
      type: 'test.tx_progress',
      payload: z.object({}),
      async handle(run) {
        await run.progress({ stage: 'reading' }, true);
        await database.db.transaction(async (tx) => {
          await tx.execute(sql`SELECT 1`);
          await sleep(300); // longer than the throttle: this progress call is written
          await run.progress({ stage: 'writing', fraction: 0.5 });
          await tx.execute(sql`SELECT 2`);
        });
        return { ok: true };
      },
    });
    const job = await q.enqueue(T, 'test.tx_progress', {});
    q.start({ concurrency: 1 });
    try {
      // Raced against a timer: while the handler is stuck, every query (waitFor's too) waits on its transaction.
      const done = await Promise.race([
        waitFor(q, T, job.id, (s) => s === 'succeeded', 20_000),
        sleep(20_000).then(() => {
          throw new Error('the job is stuck: a progress write waits on the transaction that awaits it');
        }),
      ]);
      expect(done.result).toEqual({ ok: true });
      expect(done.progress).toMatchObject({ stage: 'writing', fraction: 0.5 });
    } finally {
      await q.stop();
    }
  });

  it('stop() gives a handler that ignores its abort signal a bounded grace, then returns; the job is recovered later', async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20, stopGraceMs: 300 });
    const T = newId();
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    let started = false;
    q.register({
      type: 'test.deaf',
      payload: z.object({}),
      async handle() {
        started = true;
        await stuck; // never looks at run.signal
        return null;
      },
    });
    const job = await q.enqueue(T, 'test.deaf', {});
    q.start({ concurrency: 1 });
    const end = Date.now() + 20_000;
    while (!started && Date.now() < end) await sleep(10);
    expect(started).toBe(true);
    const before = Date.now();
    await q.stop();
    expect(Date.now() - before).toBeLessThan(5_000);
    expect((await q.get(T, job.id))?.status).toBe('running');
    release();
    await q.drain();
  });
});

describe('row-level security in job handlers (issue 22)', () => {
  it("a tenant job's handler that reads without a tenant filter sees only its tenant's rows; a platform job and outsideTenantScope see all", async () => {
    const q = createJobQueue({ db: database.db, logger: silent, pollMs: 20 });
    const A = newId();
    const B = newId();
    const seen = new Map<string, { who: string; tenants: string[]; outside: string[] }>();
    const tenantsOfJobs = async () =>
      (await queryRows<{ t: string }>(database.db, sql`SELECT DISTINCT tenant_id AS t FROM jobs WHERE type LIKE 'test.rls%'`))
        .map((r) => r.t)
        .sort();
    q.register({
      type: 'test.rls-peek',
      payload: z.object({}),
      async handle(run) {
        // No tenant filter on purpose: the policy alone decides what the handler sees.
        const who = (await queryOne<{ who: string }>(database.db, sql`SELECT current_user AS who`))!.who;
        const tenants = await tenantsOfJobs();
        const outside = await outsideTenantScope(tenantsOfJobs);
        seen.set(run.tenantId, { who, tenants, outside });
        return null;
      },
    });
    // B's job is due in an hour: it stays queued, a foreign row for A's handler to (not) see.
    await q.enqueue(B, 'test.rls-peek', {}, { runAt: new Date(Date.now() + 3_600_000) });
    const a = await q.enqueue(A, 'test.rls-peek', {});
    const p = await q.enqueue(PLATFORM_TENANT_ID, 'test.rls-peek', {});
    q.start({ concurrency: 1 });
    try {
      await waitFor(q, A, a.id, (s) => s === 'succeeded');
      await waitFor(q, PLATFORM_TENANT_ID, p.id, (s) => s === 'succeeded');
    } finally {
      await q.stop();
    }
    const all = [A, B, PLATFORM_TENANT_ID].sort();
    expect(seen.get(A)).toEqual({ who: TENANT_ROLE, tenants: [A], outside: all });
    expect(seen.get(PLATFORM_TENANT_ID)?.who).not.toBe(TENANT_ROLE);
    expect(seen.get(PLATFORM_TENANT_ID)?.tenants).toEqual(all);
    // Back on the queue's side, the connection is the system again.
    expect((await queryOne<{ who: string }>(database.db, sql`SELECT current_user AS who`))!.who).not.toBe(TENANT_ROLE);
  });
});
