import { Command } from 'commander';
import { COMMANDS, commandsFor } from './cli/commands.ts';
import { ConfigError } from './platform/config.ts';
import { VERSION } from './version.ts';

/**
 * Process entry (the `loupe` command): parses the command line and dispatches to one file per command in
 * `src/cli/`. Commands that open the embedded database take the data-folder lock first (`cli/shared.ts`).
 * Only the named command's file is loaded (`cli/commands.ts`): `loupe --version` answers in about a second.
 */
async function main(): Promise<void> {
  const program = new Command()
    .name('loupe')
    .description('Loupe: self-hosted commerce intelligence (API, dashboard and jobs).')
    .version(VERSION);
  for (const name of commandsFor(process.argv.slice(2))) (await COMMANDS[name]!())(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nFix the variables above and start again.\n`);
  } else if (err && typeof err === 'object' && 'message' in err) {
    process.stderr.write(`loupe: ${(err as Error).message}\n`);
  } else {
    process.stderr.write(`loupe: ${String(err)}\n`);
  }
  process.exit(1);
});
