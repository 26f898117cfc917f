import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../platform/config.ts';
import { DataDirBusyError, type DataDirOwner } from '../platform/data-dir.lock.ts';
import type { ImportProgress, ImportSummary } from '../platform/local.routes.ts';
import { errorMessageOf, localPost, localServer } from './local-client.ts';

interface ImportOpts {
  tenant: string;
  map?: string[];
  delimiter?: string;
  format?: 'csv' | 'json' | 'ndjson';
  source?: string;
}
type Kind = 'items' | 'interactions';

/** A progress bar on stderr. */
function progressBar(started: number) {
  return (p: ImportProgress): void => {
    const f = p.total_bytes > 0 ? Math.min(1, p.bytes_read / p.total_bytes) : 0;
    const width = 30;
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(p.rows_read / secs) : 0;
    const eta = f > 0 && f < 1 ? `${Math.round((secs * (1 - f)) / f)}s` : '-';
    process.stderr.write(
      `\r[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(1).padStart(5)}%  ${p.rows_read} rows  ${p.rows_accepted} ok  ${p.rows_rejected} rejected  ${rate} rows/s  ETA ${eta}   `,
    );
  };
}

function printSummary(s: ImportSummary, started: number, via: string): void {
  process.stdout.write(
    `Import ${s.import_id}: ${s.rows_accepted} accepted, ${s.rows_rejected} rejected, ${s.rows_duplicate} already present, ${s.warnings} warnings in ${((Date.now() - started) / 1000).toFixed(1)} s${via}.\n` +
      (s.rows_rejected + s.warnings ? `Problems: GET /api/v1/imports/${s.import_id}/errors\n` : ''),
  );
}

/** In this process: the data folder is ours (locked) or the database is a PostgreSQL server. */
async function importHere(config: Config, kind: Kind, file: string, opts: ImportOpts, mapping: Record<string, string>): Promise<void> {
  // The app and the database only when this process imports itself (through a running server it needs neither).
  const [{ buildApp }, { systemContext }, { openForCommand }] = await Promise.all([
    import('../app.ts'),
    import('../platform/access.ts'),
    import('./shared.ts'),
  ]);
  const opened = await openForCommand(config, 'import');
  const loupe = await buildApp({ ...config, logLevel: 'warn' }, { database: opened.database });
  try {
    const tenantId = await loupe.tenancy.findTenantId(opts.tenant);
    if (!tenantId) throw new Error(`no tenant with slug ${opts.tenant}`);
    const started = Date.now();
    const bar = progressBar(started);
    const { run, outcome } = await loupe.modules.imports.service.importFile(
      systemContext(tenantId, 'cli'),
      kind,
      { name: path.basename(file), stream: createReadStream(file) },
      {
        mapping: Object.keys(mapping).length ? mapping : undefined,
        delimiter: opts.delimiter === 'tab' ? '\t' : opts.delimiter,
        format: opts.format,
        source: opts.source,
      },
      (c, total) =>
        bar({
          bytes_read: c.bytesRead,
          total_bytes: total,
          rows_read: c.rowsRead,
          rows_accepted: c.rowsAccepted,
          rows_rejected: c.rowsRejected,
        }),
    );
    bar({
      bytes_read: 1,
      total_bytes: 1,
      rows_read: outcome.rowsRead,
      rows_accepted: outcome.rowsAccepted,
      rows_rejected: outcome.rowsRejected,
    });
    process.stderr.write('\n');
    printSummary(
      {
        import_id: run.id,
        rows_read: outcome.rowsRead,
        rows_accepted: outcome.rowsAccepted,
        rows_rejected: outcome.rowsRejected,
        rows_duplicate: outcome.rowsDuplicate,
        warnings: outcome.warnings,
      },
      started,
      '',
    );
  } finally {
    await loupe.close();
    await opened.close();
  }
}

/** Through the running server that holds the data folder: the file is streamed to it over loopback. */
async function importThrough(
  owner: DataDirOwner,
  kind: Kind,
  file: string,
  opts: ImportOpts,
  mapping: Record<string, string>,
): Promise<void> {
  await fs.access(file); // a missing file is this command's error, not the server's
  const q = new URLSearchParams({ tenant: opts.tenant, file_name: path.basename(file) });
  if (Object.keys(mapping).length) q.set('map', JSON.stringify(mapping));
  if (opts.delimiter) q.set('delimiter', opts.delimiter === 'tab' ? '\t' : opts.delimiter);
  if (opts.format) q.set('format', opts.format);
  if (opts.source) q.set('source', opts.source);
  process.stderr.write(`A Loupe server (pid ${owner.pid}, port ${owner.port}) holds the data folder: importing through it.\n`);
  const started = Date.now();
  const res = await localPost(owner, `/internal/local/imports/${kind}?${q}`, {
    stream: createReadStream(file),
    contentType: 'application/octet-stream',
  });
  if (res.statusCode !== 200) throw new Error(await errorMessageOf(res));
  const bar = progressBar(started);
  let summary: ImportSummary | undefined;
  for await (const text of createInterface({ input: res, crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    const msg = JSON.parse(text) as { type: string; code?: string; message?: string } & ImportProgress & ImportSummary;
    if (msg.type === 'progress') bar(msg);
    else if (msg.type === 'done') summary = msg;
    else if (msg.type === 'error') {
      process.stderr.write('\n');
      throw new Error(`${msg.message ?? 'the import failed'} (${msg.code ?? 'ERROR'})`);
    }
  }
  if (!summary)
    throw new Error('the server closed the connection before the import ended; run `loupe import` again (re-imports are idempotent)');
  bar({
    bytes_read: 1,
    total_bytes: 1,
    rows_read: summary.rows_read,
    rows_accepted: summary.rows_accepted,
    rows_rejected: summary.rows_rejected,
  });
  process.stderr.write('\n');
  printSummary(summary, started, ` (through the server, pid ${owner.pid})`);
}

/** `loupe import items|interactions FILE --tenant SLUG`: the upload pipeline on a local file, with a progress bar on stderr. */
export function registerImport(program: Command): void {
  const importCommand = program
    .command('import')
    .description(
      'Import a catalog or interactions file (CSV, JSON, NDJSON, gzip) into a tenant (through the running server if one holds the data folder)',
    );
  for (const kind of ['items', 'interactions'] as const) {
    importCommand
      .command(`${kind} <file>`)
      .description(`Import ${kind} from FILE (validated like an upload; the raw file is kept in the tenant's storage)`)
      .requiredOption('--tenant <slug>', 'tenant slug (or id)')
      .option('--map <col=field...>', 'column mapping, e.g. --map StockCode=item_id --map const:purchase=type')
      .option('--delimiter <char>', 'CSV delimiter (sniffed when omitted; "tab" for tabs)')
      .option('--format <format>', 'csv | json | ndjson (detected when omitted)')
      .option('--source <channel>', 'channel of the rows, e.g. pos for a point-of-sale export (default upload)')
      .action(async (file: string, opts: ImportOpts) => {
        const mapping: Record<string, string> = {};
        for (const m of opts.map ?? []) {
          const at = m.lastIndexOf('=');
          if (at <= 0) throw new Error(`--map ${m}: expected column=field`);
          mapping[m.slice(0, at)] = m.slice(at + 1);
        }
        const config = loadConfig();
        if (config.database.kind !== 'pglite') return importHere(config, kind, file, opts, mapping);
        const owner = await localServer(config.dataDir);
        if (owner) return importThrough(owner, kind, file, opts, mapping);
        try {
          return await importHere(config, kind, file, opts, mapping);
        } catch (err) {
          // A server took the folder between our look and our lock: go through it after all.
          if (err instanceof DataDirBusyError && err.owner?.command === 'serve') {
            const server = await localServer(config.dataDir);
            if (server) return importThrough(server, kind, file, opts, mapping);
          }
          throw err;
        }
      });
  }
}
