import { Command } from 'commander';
import { VERSION } from './app.ts';
import { registerAdmin } from './cli/admin.ts';
import { registerBackup } from './cli/backup.ts';
import { registerCitusPlan } from './cli/citus-plan.ts';
import { registerEval } from './cli/eval.ts';
import { registerEvalMatching } from './cli/eval-matching.ts';
import { registerExperiments } from './cli/experiments.ts';
import { registerExport } from './cli/export.ts';
import { registerImport } from './cli/import.ts';
import { registerMigrate } from './cli/migrate.ts';
import { registerPredict } from './cli/predict.ts';
import { registerRestore } from './cli/restore.ts';
import { registerServe } from './cli/serve.ts';
import { registerWorker } from './cli/worker.ts';
import { ConfigError } from './platform/config.ts';

/**
 * Process entry (the `loupe` command): parses the command line and dispatches to one file per command in
 * `src/cli/`. Commands that open the embedded database take the data-folder lock first (`cli/shared.ts`).
 */
const program = new Command()
  .name('loupe')
  .description('Loupe: self-hosted commerce intelligence (API, dashboard and jobs).')
  .version(VERSION);

registerServe(program);
registerWorker(program);
registerMigrate(program);
registerImport(program);
registerAdmin(program);
registerEval(program);
registerPredict(program);
registerEvalMatching(program);
registerExperiments(program);
registerExport(program);
registerBackup(program);
registerRestore(program);
registerCitusPlan(program);

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
