import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { readBackup, writeBackup } from '../platform/backup.ts';
import { loadConfig } from '../platform/config.ts';
import { errorMessageOf, localPost, localServer } from './local-client.ts';
import { openForCommand } from './shared.ts';

const PG_DUMP_MESSAGE =
  'DATABASE_URL is set: the database is a PostgreSQL server, so back it up with PostgreSQL\'s own tools (`pg_dump -Fc "$DATABASE_URL" > loupe.dump`, restored with `pg_restore`), and keep a copy of LOUPE_SECRETS_KEY (or LOUPE_DATA_DIR/secrets.key) and LOUPE_DATA_DIR/objects beside it. `loupe backup` and `loupe restore` cover the embedded database only.';

/**
 * `loupe backup FILE`: a consistent snapshot of the embedded data folder (database, uploads, model
 * artifacts, secrets key) in one archive, taken through the running server when one holds the folder (it
 * keeps serving), or directly under the folder lock when none runs.
 */
export function registerBackup(program: Command): void {
  program
    .command('backup <file>')
    .description('Back up the embedded data folder (database, uploads, models, secrets key) into one archive, while the server runs or not')
    .action(async (file: string) => {
      const config = loadConfig();
      if (config.database.kind !== 'pglite') throw new Error(PG_DUMP_MESSAGE);
      const target = path.resolve(file);
      const part = `${target}.${process.pid}.part`;
      const started = Date.now();
      try {
        const owner = await localServer(config.dataDir);
        let via = '';
        if (owner) {
          const res = await localPost(owner, '/internal/local/backup');
          if (res.statusCode !== 200) throw new Error(await errorMessageOf(res));
          await pipeline(res, createWriteStream(part, { mode: 0o600 }));
          via = ` through the running server (pid ${owner.pid})`;
        } else {
          await fs.access(config.database.dataDir).catch(() => {
            throw new Error(`there is no Loupe database in ${config.dataDir} to back up`);
          });
          const opened = await openForCommand(config, 'backup', { migrate: false });
          try {
            await writeBackup(createWriteStream(part, { mode: 0o600 }), { pglite: opened.database.pglite!, dataDir: config.dataDir });
          } finally {
            await opened.close();
          }
        }
        // A cut transfer (the server stopped mid-way) fails here and leaves no file that looks like a backup.
        const { entries } = await readBackup(part);
        await fs.rename(part, target);
        const { size } = await fs.stat(target);
        process.stdout.write(
          `Backup ${target}: ${entries} entries, ${(size / 1024 / 1024).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s${via}. It holds the secrets key: keep it private.\n`,
        );
      } finally {
        await fs.rm(part, { force: true });
      }
    });
}
