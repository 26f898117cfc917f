import { Command, Option } from 'commander';
import { buildApp, VERSION } from './app.ts';
import { ConfigError, loadConfig, type Config } from './platform/config.ts';
import { migrateDatabase, openDatabase, type Database } from './platform/database.ts';

/**
 * Process entry: parses the CLI, loads config, opens and migrates the database, then serves HTTP and/or
 * runs job workers, and shuts down gracefully on SIGINT/SIGTERM.
 */
async function open(config: Config): Promise<Database> {
  const database = await openDatabase(
    config.database.kind === 'pglite' ? { kind: 'pglite', dataDir: config.database.dataDir } : { kind: 'postgres', url: config.database.url, poolSize: config.database.poolSize },
  );
  await migrateDatabase(database);
  return database;
}

function onShutdown(fn: () => Promise<void>): void {
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

const program = new Command()
  .name('loupe')
  .description('Loupe: self-hosted commerce intelligence (API, dashboard and jobs).')
  .version(VERSION);

program
  .command('serve')
  .description('Serve the API, the docs and the dashboard; runs job workers in-process unless --no-worker')
  .addOption(new Option('-p, --port <port>', 'port to listen on (env PORT, default 8000)'))
  .option('--no-worker', 'do not run job workers in this process (run `loupe worker` separately)')
  .action(async (opts: { port?: string; worker: boolean }) => {
    const config = loadConfig(opts.port ? { ...process.env, PORT: opts.port } : process.env);
    const database = await open(config);
    const loupe = await buildApp(config, { database });
    const admin = await loupe.tenancy.ensurePlatformAdmin(config.admin.email, config.admin.password);
    if (opts.worker) loupe.jobs.start({ concurrency: config.jobs.concurrency });
    const address = await loupe.app.listen({ port: config.port, host: config.host });
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
      if (admin.generatedPassword) lines.push(`  Generated password (shown once, change it or set LOUPE_ADMIN_PASSWORD): ${admin.generatedPassword}`);
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
    onShutdown(async () => {
      await loupe.close();
      await database.close();
    });
  });

program
  .command('worker')
  .description('Run job workers only (training, imports, retraining); scale them apart from the API')
  .option('-c, --concurrency <n>', 'jobs run at once (env LOUPE_WORKER_CONCURRENCY)')
  .action(async (opts: { concurrency?: string }) => {
    const config = loadConfig(opts.concurrency ? { ...process.env, LOUPE_WORKER_CONCURRENCY: opts.concurrency } : process.env);
    if (config.database.kind === 'pglite') {
      process.stderr.write('Note: on the embedded database only one process can open the data folder; `loupe serve` already runs workers. Use DATABASE_URL for separate workers.\n');
    }
    const database = await open(config);
    const loupe = await buildApp(config, { database });
    loupe.jobs.start({ concurrency: config.jobs.concurrency });
    process.stdout.write(`Loupe worker ${loupe.jobs.workerId} running job types: ${loupe.jobs.registeredTypes().join(', ') || '(none)'}\n`);
    onShutdown(async () => {
      await loupe.close();
      await database.close();
    });
  });

program
  .command('migrate')
  .description('Apply database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const database = await open(config);
    process.stdout.write(`Migrations applied (${database.kind}).\n`);
    await database.close();
  });

const admin = program.command('admin').description('Administration');
admin
  .command('create')
  .description('Create a platform administrator')
  .requiredOption('--email <email>', 'e-mail address')
  .option('--password <password>', 'password (generated and printed when omitted)')
  .action(async (opts: { email: string; password?: string }) => {
    const config = loadConfig();
    const database = await open(config);
    const loupe = await buildApp(config, { database });
    const { randomToken } = await import('./platform/ids.ts');
    const password = opts.password ?? randomToken(20);
    try {
      await loupe.tenancy.tenants.createUser({ email: opts.email, password, isPlatformAdmin: true, name: 'Platform admin' });
      process.stdout.write(`Platform admin ${opts.email} created.${opts.password ? '' : `\nGenerated password (shown once): ${password}`}\n`);
    } finally {
      await loupe.close();
      await database.close();
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nFix the variables above and start again.\n`);
  } else if (err && typeof err === 'object' && 'message' in err) {
    process.stderr.write(`loupe: ${(err as Error).message}\n`);
  } else {
    process.stderr.write(`loupe: ${String(err)}\n`);
  }
  process.exit(1);
});
