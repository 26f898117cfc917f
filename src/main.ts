import { Command, Option } from 'commander';
import { buildApp, VERSION } from './app.ts';
import { ConfigError, loadConfig, type Config } from './platform/config.ts';
import { keepStatisticsFresh, migrateDatabase, openDatabase, type Database } from './platform/database.ts';

/**
 * Process entry: parses the CLI, loads config, opens and migrates the database, then serves HTTP and/or
 * runs job workers, and shuts down gracefully on SIGINT/SIGTERM.
 */
async function open(config: Config): Promise<Database> {
  const database = await openDatabase(
    config.database.kind === 'pglite'
      ? { kind: 'pglite', dataDir: config.database.dataDir }
      : { kind: 'postgres', url: config.database.url, poolSize: config.database.poolSize },
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
    const stopStatistics = keepStatisticsFresh(database, loupe.app.log);
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
      if (admin.generatedPassword)
        lines.push(`  Generated password (shown once, change it or set LOUPE_ADMIN_PASSWORD): ${admin.generatedPassword}`);
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
    onShutdown(async () => {
      stopStatistics();
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
      process.stderr.write(
        'Note: on the embedded database only one process can open the data folder; `loupe serve` already runs workers. Use DATABASE_URL for separate workers.\n',
      );
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

// `loupe import items|interactions FILE --tenant SLUG`: the upload pipeline on a local file, with a progress bar on stderr.
const importCommand = program
  .command('import')
  .description('Import a catalog or interactions file (CSV, JSON, NDJSON, gzip) into a tenant');
for (const kind of ['items', 'interactions'] as const) {
  importCommand
    .command(`${kind} <file>`)
    .description(`Import ${kind} from FILE (validated like an upload; the raw file is kept in the tenant's storage)`)
    .requiredOption('--tenant <slug>', 'tenant slug (or id)')
    .option('--map <col=field...>', 'column mapping, e.g. --map StockCode=item_id --map const:purchase=type')
    .option('--delimiter <char>', 'CSV delimiter (sniffed when omitted; "tab" for tabs)')
    .option('--format <format>', 'csv | json | ndjson (detected when omitted)')
    .option('--source <channel>', 'channel of the rows, e.g. pos for a point-of-sale export (default upload)')
    .action(
      async (
        file: string,
        opts: { tenant: string; map?: string[]; delimiter?: string; format?: 'csv' | 'json' | 'ndjson'; source?: string },
      ) => {
        const [{ createReadStream }, pathMod, { sql }, { systemContext, queryOne }] = await Promise.all([
          import('node:fs'),
          import('node:path'),
          import('drizzle-orm'),
          import('./platform/index.ts'),
        ]);
        const mapping: Record<string, string> = {};
        for (const m of opts.map ?? []) {
          const at = m.lastIndexOf('=');
          if (at <= 0) throw new Error(`--map ${m}: expected column=field`);
          mapping[m.slice(0, at)] = m.slice(at + 1);
        }
        const config = loadConfig();
        const database = await open(config);
        const loupe = await buildApp({ ...config, logLevel: 'warn' }, { database });
        try {
          const tenant = await queryOne<{ id: string }>(
            database.db,
            sql`SELECT id FROM tenants WHERE slug = ${opts.tenant} OR id::text = ${opts.tenant} LIMIT 1`,
          );
          if (!tenant) throw new Error(`no tenant with slug ${opts.tenant}`);
          const started = Date.now();
          const bar = (done: number, total: number, rows: number, accepted: number, rejected: number): void => {
            const f = total > 0 ? Math.min(1, done / total) : 0;
            const width = 30;
            const secs = (Date.now() - started) / 1000;
            const rate = secs > 0 ? Math.round(rows / secs) : 0;
            const eta = f > 0 && f < 1 ? `${Math.round((secs * (1 - f)) / f)}s` : '-';
            process.stderr.write(
              `\r[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(1).padStart(5)}%  ${rows} rows  ${accepted} ok  ${rejected} rejected  ${rate} rows/s  ETA ${eta}   `,
            );
          };
          const { run, outcome } = await loupe.modules.imports.service.importFile(
            systemContext(tenant.id, 'cli'),
            kind,
            { name: pathMod.basename(file), stream: createReadStream(file) },
            {
              mapping: Object.keys(mapping).length ? mapping : undefined,
              delimiter: opts.delimiter === 'tab' ? '\t' : opts.delimiter,
              format: opts.format,
              source: opts.source,
            },
            (c, total) => bar(c.bytesRead, total, c.rowsRead, c.rowsAccepted, c.rowsRejected),
          );
          bar(1, 1, outcome.rowsRead, outcome.rowsAccepted, outcome.rowsRejected);
          process.stderr.write('\n');
          process.stdout.write(
            `Import ${run.id}: ${outcome.rowsAccepted} accepted, ${outcome.rowsRejected} rejected, ${outcome.rowsDuplicate} already present, ${outcome.warnings} warnings in ${((Date.now() - started) / 1000).toFixed(1)} s.\n` +
              (outcome.rowsRejected + outcome.warnings ? `Problems: GET /api/v1/imports/${run.id}/errors\n` : ''),
          );
        } finally {
          await loupe.close();
          await database.close();
        }
      },
    );
}

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
      process.stdout.write(
        `Platform admin ${opts.email} created.${opts.password ? '' : `\nGenerated password (shown once): ${password}`}\n`,
      );
    } finally {
      await loupe.close();
      await database.close();
    }
  });

// `loupe eval`: offline evaluation on a LightGCN-format dataset with the standard protocol (no database needed).
program
  .command('eval')
  .description('Evaluate a model on a LightGCN-format dataset (uid item item ...; .gz accepted): Recall@20, NDCG@20, time, peak memory')
  .requiredOption('--train <file>', 'training split')
  .requiredOption('--test <file>', 'test split')
  .requiredOption('--model <name>', 'popularity | item_knn | ials | lightgcn | graph_filter')
  .option(
    '--params <json>',
    'hyperparameters over the tenant defaults, as JSON (snake_case as the API, e.g. {"rank":256,"ideal_weight":0.3})',
  )
  .action(async (opts: { train: string; test: string; model: string; params?: string }) => {
    const { EVAL_MODELS, evaluateModel } = await import('./modules/recs/index.ts');
    if (!(EVAL_MODELS as readonly string[]).includes(opts.model)) throw new Error(`--model must be one of ${EVAL_MODELS.join(', ')}`);
    let params: Record<string, unknown> = {};
    if (opts.params) {
      try {
        params = JSON.parse(opts.params) as Record<string, unknown>;
      } catch {
        throw new Error('--params must be a JSON object');
      }
    }
    const r = await evaluateModel({ train: opts.train, test: opts.test, model: opts.model as (typeof EVAL_MODELS)[number], params });
    process.stdout.write(
      `model ${r.model}: Recall@20 ${r.recall20.toFixed(4)}  NDCG@20 ${r.ndcg20.toFixed(4)}  train ${r.trainSeconds.toFixed(1)} s  eval ${r.evalSeconds.toFixed(1)} s  peak RSS ${r.peakRssMb.toFixed(0)} MB  (${r.users} users, ${r.items} items)\n`,
    );
    process.exit(0);
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
