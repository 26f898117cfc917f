import type { LoupeApp } from '../app.ts';
import type { Config } from '../platform/config.ts';
import { type DataDirLock, lockDataDir } from '../platform/data-dir.lock.ts';
import type { Database } from '../platform/database.ts';
import { createScheduler, exclusiveLeaderLock, postgresLeaderLock, type Scheduler } from '../platform/scheduler.ts';

/*
 * Commands load the database code (PGlite, drizzle) and the app only after the data-folder lock is theirs:
 * a command refused because a server holds the folder exits in about the time of `loupe --version`, not after
 * seconds of loading what it will never run (test/cli-refusals.test.ts).
 */

/** An open database and, on the embedded default, the data-folder lock that guards it. */
interface Opened {
  database: Database;
  /** Present on the embedded database: released by `close` after the database is closed. */
  lock: DataDirLock | undefined;
  close(): Promise<void>;
}

/**
 * Opens (and by default migrates) the configured database for `command`. On the embedded database the data
 * folder is locked first: a second process in the same PGlite folder corrupts it (issue 22, C1), so this
 * throws DataDirBusyError, naming the holder, when another live process has it.
 */
export async function openForCommand(config: Config, command: string, opts: { migrate?: boolean } = {}): Promise<Opened> {
  const lock = config.database.kind === 'pglite' ? await lockDataDir(config.dataDir, { command }) : undefined;
  try {
    const { migrateDatabase, openDatabase } = await import('../platform/database.ts');
    const database = await openDatabase(
      config.database.kind === 'pglite'
        ? { kind: 'pglite', dataDir: config.database.dataDir, readScope: config.database.readScope }
        : {
            kind: 'postgres',
            url: config.database.url,
            poolSize: config.database.poolSize,
            readScope: config.database.readScope,
            connectTimeoutMs: config.database.connectTimeoutMs,
            jit: config.database.jit,
            ...(config.database.replica ? { replica: config.database.replica } : {}),
          },
    );
    if (opts.migrate !== false) await migrateDatabase(database);
    return {
      database,
      lock,
      async close() {
        try {
          await database.close();
        } finally {
          await lock?.release();
        }
      },
    };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

/** Runs `fn` once on SIGINT/SIGTERM and exits; a second signal forces the exit. */
export function onShutdown(fn: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    process.stderr.write(`\n${signal} received: shutting down (press Ctrl-C again to force)\n`);
    fn().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/**
 * Starts the cluster's scheduled tasks in a process that runs job workers: on PostgreSQL only the holder of the
 * scheduler lock runs them (see platform/scheduler.ts); on the embedded database this, the only process, does.
 */
export function startScheduler(config: Config, loupe: Pick<LoupeApp, 'app' | 'scheduledTasks'>): Scheduler {
  const scheduler = createScheduler({
    lock: config.database.kind === 'postgres' ? postgresLeaderLock(config.database.url) : exclusiveLeaderLock(),
    tasks: loupe.scheduledTasks,
    logger: loupe.app.log,
    checkMs: config.jobs.schedulerCheckMs,
  });
  scheduler.start();
  return scheduler;
}
