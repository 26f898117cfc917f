import type { Command } from 'commander';
import { loadConfig } from '../platform/config.ts';
import { randomToken } from '../platform/ids.ts';
import { openForCommand } from './shared.ts';

/** `loupe admin create`: a platform administrator. */
export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('Administration');
  admin
    .command('create')
    .description('Create a platform administrator')
    .requiredOption('--email <email>', 'e-mail address')
    .option('--password <password>', 'password (generated and printed when omitted)')
    .action(async (opts: { email: string; password?: string }) => {
      const config = loadConfig();
      const opened = await openForCommand(config, 'admin');
      const { buildApp } = await import('../app.ts');
      const loupe = await buildApp(config, { database: opened.database });
      const password = opts.password ?? randomToken(20);
      try {
        await loupe.tenancy.tenants.createUser({ email: opts.email, password, isPlatformAdmin: true, name: 'Platform admin' });
        process.stdout.write(
          `Platform admin ${opts.email} created.${opts.password ? '' : `\nGenerated password (shown once): ${password}`}\n`,
        );
      } finally {
        await loupe.close();
        await opened.close();
      }
    });
}
