import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { onShutdown, openForCommand, startScheduler } from './shared.ts';

/** `loupe worker`: job workers only (training, imports, retraining), scaled apart from the API. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run job workers only (training, imports, retraining); scale them apart from the API')
    .option('-c, --concurrency <n>', 'jobs run at once (env LOUPE_WORKER_CONCURRENCY)')
    .action(async (opts: { concurrency?: string }) => {
      const config = loadConfig(opts.concurrency ? { ...process.env, LOUPE_WORKER_CONCURRENCY: opts.concurrency } : process.env);
      if (config.database.kind === 'pglite') {
        process.stderr.write(
          'Note: on the embedded database only one process can open the data folder; `loupe serve` already runs workers. Use DATABASE_URL for separate workers.\n',
        );
      }
      const opened = await openForCommand(config, 'worker');
      const { buildApp } = await import('../app.ts');
      const loupe = await buildApp(config, { database: opened.database });
      loupe.jobs.start({ concurrency: config.jobs.concurrency });
      const scheduler = startScheduler(config, loupe);
      process.stdout.write(
        `Loupe worker ${loupe.jobs.workerId} running job types: ${loupe.jobs.registeredTypes().join(', ') || '(none)'}\n`,
      );
      onShutdown(async () => {
        await scheduler.stop();
        await loupe.close();
        await opened.close();
      });
    });
}
