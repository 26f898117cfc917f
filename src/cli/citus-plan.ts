import type { Command } from 'commander';
import { formatCitusPlan, planCitus } from '../platform/citus-plan.core.ts';
import { loadConfig } from '../platform/config.ts';
import { openForCommand } from './shared.ts';

/**
 * `loupe citus-plan`: the statements that spread the current schema over Citus (reference tables, the global
 * lookup tables kept local on the coordinator, every tenant table distributed by `tenant_id` and co-located with
 * `items`), read from the migrated database, and, as SQL comments, every key that Citus would refuse.
 */
export function registerCitusPlan(program: Command): void {
  program
    .command('citus-plan')
    .description(
      'Print the Citus statements (create_distributed_table, create_reference_table, local tables, co-location) for the current schema',
    )
    .option('--no-problems', 'leave out the list of keys that lack tenant_id')
    .action(async (opts: { problems: boolean }) => {
      const config = loadConfig(process.env);
      const opened = await openForCommand(config, 'citus-plan');
      try {
        const { readSchema } = await import('../platform/citus-plan.repository.ts');
        process.stdout.write(formatCitusPlan(planCitus(await readSchema(opened.database.db)), { problems: opts.problems }));
      } finally {
        await opened.close();
      }
    });
}
