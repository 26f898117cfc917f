import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { DataDirBusyError } from '../platform/data-dir.lock.ts';
import type { ExportProgress, ExportTable } from '../modules/warehouse/index.ts';
// The schema file (the module's public contract), not the module's index: that loads the database code (shared.ts).
import { EXPORT_TABLES } from '../modules/warehouse/warehouse.schemas.ts';
import { openForCommand } from './shared.ts';

interface ExportOpts {
  tenant: string;
  tables?: string;
  batchRows?: string;
}

/** A progress bar on stderr: one line per table, redrawn in place on a terminal, a line per batch otherwise. */
function progressBar(started: number) {
  const tty = process.stderr.isTTY;
  return (p: ExportProgress): void => {
    const f = p.rowsTotal > 0 ? Math.min(1, p.rowsDone / p.rowsTotal) : 1;
    const width = 30;
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(p.rowsDone / secs) : 0;
    const line = `${p.table.padEnd(9)} [${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(1).padStart(5)}%  ${p.rowsDone}/${p.rowsTotal} rows  ${p.files} files  ${rate} rows/s`;
    process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
  };
}

/** `loupe export`: one tenant's incremental Parquet export, in this process, with a progress bar. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      "Export a tenant's new events, profiles, orders and items as Parquet files (LOUPE_EXPORT_DIR, default <data dir>/export) with a manifest; resumes from the watermark",
    )
    .requiredOption('--tenant <slug-or-id>', 'tenant slug or id')
    .option('--tables <list>', `comma-separated subset of ${EXPORT_TABLES.join(',')}`)
    .option('--batch-rows <n>', 'rows per batch (one file per partition date per batch)')
    .action(async (opts: ExportOpts) => {
      const tables = opts.tables ? opts.tables.split(',').map((s) => s.trim()) : [...EXPORT_TABLES];
      const unknown = tables.filter((t) => !(EXPORT_TABLES as readonly string[]).includes(t));
      if (unknown.length) throw new Error(`unknown table(s) ${unknown.join(', ')}: choose from ${EXPORT_TABLES.join(', ')}`);
      const batchRows = opts.batchRows === undefined ? undefined : Number(opts.batchRows);
      if (batchRows !== undefined && (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 1_000_000))
        throw new Error('--batch-rows must be a whole number between 1 and 1000000');
      const config = loadConfig();
      let opened: Awaited<ReturnType<typeof openForCommand>>;
      try {
        opened = await openForCommand(config, 'export');
      } catch (err) {
        if (err instanceof DataDirBusyError)
          throw new Error(
            `${err.message}\nWhile a server runs, start the export from it: POST /api/v1/warehouse/exports (or the dashboard's Warehouse page).`,
          );
        throw err;
      }
      const { buildApp } = await import('../app.ts');
      const loupe = await buildApp({ ...config, logLevel: 'warn' }, { database: opened.database });
      try {
        const tenantId = await loupe.tenancy.findTenantId(opts.tenant);
        if (!tenantId) throw new Error(`no tenant with slug or id ${opts.tenant}`);
        const started = Date.now();
        const bar = progressBar(started);
        let current: ExportTable | undefined;
        const out = await loupe.modules.warehouse.exportTenant(tenantId, {
          tables: tables as ExportTable[],
          ...(batchRows ? { batchRows } : {}),
          countPending: true,
          onProgress: (p) => {
            if (current && current !== p.table && process.stderr.isTTY) process.stderr.write('\n');
            current = p.table;
            bar(p);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const rows = out.tables.reduce((n, t) => n + t.rows, 0);
        const files = out.tables.reduce((n, t) => n + t.files, 0);
        process.stdout.write(
          `Exported ${rows} rows in ${files} files to ${config.warehouse.exportDir} in ${((Date.now() - started) / 1000).toFixed(1)} s (rows before ${out.until}).\n` +
            `Manifest: ${config.warehouse.exportDir}/tenant_id=${tenantId}/manifest.json\n`,
        );
      } finally {
        await loupe.close();
        await opened.close();
      }
    });
}
