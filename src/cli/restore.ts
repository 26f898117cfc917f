import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { restoreBackup } from '../platform/backup.ts';
import { loadConfig } from '../platform/config.ts';
import { LOCK_FILES, lockDataDir } from '../platform/data-dir.lock.ts';

/**
 * `loupe restore FILE`: brings a `loupe backup` archive back into the data folder. Refused while any Loupe
 * process holds the folder (the lock), and into a folder that already holds an installation unless --force,
 * which moves that installation aside (`<data dir>.replaced-<time>`) rather than deleting it.
 */
export function registerRestore(program: Command): void {
  program
    .command('restore <file>')
    .description('Restore a `loupe backup` archive into the data folder (stop the server first)')
    .option('--force', 'replace an existing installation (moved aside to <data dir>.replaced-<time>, not deleted)')
    .action(async (file: string, opts: { force?: boolean }) => {
      const config = loadConfig();
      if (config.database.kind !== 'pglite') {
        throw new Error(
          'DATABASE_URL is set: restore a PostgreSQL server with `pg_restore` (from a `pg_dump -Fc` file); `loupe restore` covers the embedded database only.',
        );
      }
      const source = path.resolve(file);
      await fs.access(source).catch(() => {
        throw new Error(`${file} not found`);
      });
      const lock = await lockDataDir(config.dataDir, { command: 'restore' });
      try {
        const present = (await fs.readdir(config.dataDir)).filter((n) => !LOCK_FILES.includes(n));
        let movedTo: string | undefined;
        if (present.length) {
          if (!opts.force) {
            throw new Error(
              `${config.dataDir} already holds an installation (${present.slice(0, 5).join(', ')}): restore into an empty folder (set LOUPE_DATA_DIR), or add --force to move it aside first`,
            );
          }
          movedTo = `${config.dataDir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
          await fs.mkdir(movedTo, { mode: 0o700 });
          for (const name of present) await fs.rename(path.join(config.dataDir, name), path.join(movedTo, name));
        }
        const started = Date.now();
        const { openDatabase } = await import('../platform/database.ts');
        const out = await restoreBackup(source, config.dataDir, async (dbDir, dump) => {
          await fs.mkdir(dbDir, { recursive: true, mode: 0o700 });
          const database = await openDatabase({ kind: 'pglite', dataDir: dbDir, loadDataDir: new Blob([new Uint8Array(dump)]) });
          await database.close();
        });
        process.stdout.write(
          `Restored ${out.entries} entries (${out.objectFiles} stored files) into ${config.dataDir} in ${((Date.now() - started) / 1000).toFixed(1)} s.${movedTo ? ` The previous installation is in ${movedTo}.` : ''} Start the server with \`loupe serve\`.\n`,
        );
      } finally {
        await lock.release();
      }
    });
}
