import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { openForCommand } from './shared.ts';

/** `loupe migrate`: applies the migrations and exits. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply database migrations and exit')
    .action(async () => {
      const opened = await openForCommand(loadConfig(), 'migrate');
      process.stdout.write(`Migrations applied (${opened.database.kind}).\n`);
      await opened.close();
    });
}
