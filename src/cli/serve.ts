import type { AddressInfo } from 'node:net';
import { type Command, Option } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { VERSION } from '../version.ts';
import { onShutdown, openForCommand, startScheduler } from './shared.ts';

/** `loupe serve`: the API, the docs and the dashboard, with job workers in-process unless --no-worker. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve the API, the docs and the dashboard; runs job workers in-process unless --no-worker')
    .addOption(new Option('-p, --port <port>', 'port to listen on (env PORT, default 8000)'))
    .option('--no-worker', 'do not run job workers in this process (run `loupe worker` separately)')
    .action(async (opts: { port?: string; worker: boolean }) => {
      const config = loadConfig(opts.port ? { ...process.env, PORT: opts.port } : process.env);
      const opened = await openForCommand(config, 'serve');
      const { database, lock } = opened;
      const [{ buildApp }, { keepStatisticsFresh }] = await Promise.all([import('../app.ts'), import('../platform/database.ts')]);
      const loupe = await buildApp(config, { database, ...(lock ? { localSecret: lock.owner.secret } : {}) });
      const admin = await loupe.tenancy.ensurePlatformAdmin(config.admin.email, config.admin.password);
      if (opts.worker) loupe.jobs.start({ concurrency: config.jobs.concurrency });
      const stopStatistics = keepStatisticsFresh(database, loupe.app.log);
      // Periodic clean-ups run once across the cluster, in one of the processes that run workers.
      const scheduler = opts.worker ? startScheduler(config, loupe) : undefined;
      // Every response serializer compiled before the first request: a schema that cannot compile stops the start.
      loupe.warmSerializers();
      const address = await loupe.app.listen({ port: config.port, host: config.host });
      // The port in the lock record lets `loupe import` and `loupe backup` go through this server.
      await lock?.setPort((loupe.app.server.address() as AddressInfo).port);
      const base = config.publicUrl ?? address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
      const lines = [
        '',
        `  Loupe ${VERSION} is running on ${database.kind === 'pglite' ? `the embedded database (${config.database.kind === 'pglite' ? config.database.dataDir : ''})` : 'PostgreSQL'}`,
        `  Dashboard and API:  ${base}/`,
        `  API documentation:  ${base}/docs`,
        `  Job workers:        ${opts.worker ? `in this process (${config.jobs.concurrency})` : 'off (run `loupe worker`)'}`,
      ];
      if (admin.created) {
        lines.push('', `  Platform admin created: ${admin.email}`);
        if (admin.generatedPassword)
          lines.push(`  Generated password (shown once, change it or set LOUPE_ADMIN_PASSWORD): ${admin.generatedPassword}`);
      }
      process.stdout.write(`${lines.join('\n')}\n\n`);
      onShutdown(async () => {
        stopStatistics();
        await scheduler?.stop();
        await loupe.close();
        await opened.close();
      });
    });
}
