/**
 * A child process for the scale-out tests (test/scale.int.test.ts): a job worker or a scheduler on the
 * PostgreSQL database named by DATABASE_URL, the same platform code `loupe worker` runs, with job types whose
 * timing the test controls. It prints one line per state change on stdout ("ready", "leader", "tick").
 *
 *   node --import tsx test/scale-child.ts worker     (SCALE_LEASE_S, SCALE_POLL_MS, SCALE_CONCURRENCY, SCALE_MAX_RUNNING)
 *   node --import tsx test/scale-child.ts scheduler  (SCALE_LOCK, SCALE_CHECK_MS, SCALE_TICK_MS)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { z } from 'zod';
import { openDatabase } from '../src/platform/database.ts';
import { createJobQueue, type JobDefinition, type JobQueue } from '../src/platform/jobs.queue.ts';
import { createScheduler, postgresLeaderLock } from '../src/platform/scheduler.ts';

/**
 * `scale.sleep`: waits `ms` (`firstMs` on the first attempt, when given; ends early, and fails, when aborted) and
 * returns who ran it.
 */
export function scaleJobs(workerId: () => string): JobDefinition<{ ms: number; firstMs?: number | undefined }>[] {
  return [
    {
      type: 'scale.sleep',
      payload: z.object({ ms: z.number().int().min(0).max(600_000), firstMs: z.number().int().min(0).max(600_000).optional() }),
      maxAttempts: 3,
      async handle(run) {
        const ms = run.attempt === 1 ? (run.payload.firstMs ?? run.payload.ms) : run.payload.ms;
        await sleep(ms, undefined, { signal: run.signal });
        return { worker: workerId(), attempt: run.attempt };
      },
    },
  ];
}

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function worker(): Promise<void> {
  const database = await openDatabase({ kind: 'postgres', url: process.env.DATABASE_URL!, poolSize: 4 });
  const logger = pino({ level: 'silent' });
  const q: JobQueue = createJobQueue({
    db: database.db,
    logger,
    pollMs: env('SCALE_POLL_MS', 100),
    leaseSeconds: env('SCALE_LEASE_S', 60),
    stopGraceMs: 5_000,
    tenantLimits: { maxQueued: 100_000, ...(process.env.SCALE_MAX_RUNNING ? { maxRunning: env('SCALE_MAX_RUNNING', 1) } : {}) },
  });
  for (const def of scaleJobs(() => q.workerId)) q.register(def);
  q.start({ concurrency: env('SCALE_CONCURRENCY', 2) });
  say(`ready ${q.workerId}`);
  process.once('SIGTERM', () => {
    void q
      .stop()
      .then(() => database.close())
      .then(() => {
        say('stopped');
        process.exit(0);
      });
  });
}

async function scheduler(): Promise<void> {
  const url = process.env.DATABASE_URL!;
  let ticks = 0;
  const s = createScheduler({
    lock: postgresLeaderLock(url, process.env.SCALE_LOCK ?? 'scale-test'),
    logger: pino({ level: 'silent' }),
    checkMs: env('SCALE_CHECK_MS', 100),
    tasks: [{ name: 'tick', everyMs: env('SCALE_TICK_MS', 50), runOnElection: true, run: async () => say(`tick ${++ticks}`) }],
    onChange: (leader) => say(leader ? 'leader' : 'follower'),
  });
  s.start();
  say('ready');
  process.once('SIGTERM', () => {
    void s.stop().then(() => {
      say('stopped');
      process.exit(0);
    });
  });
}

if (process.argv[1] === import.meta.filename) {
  const role = process.argv[2];
  if (role === 'worker') await worker();
  else if (role === 'scheduler') await scheduler();
  else {
    process.stderr.write('usage: scale-child.ts worker|scheduler\n');
    process.exit(2);
  }
}
