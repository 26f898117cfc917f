import fs from 'node:fs';
import type { Command } from 'commander';

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** `loupe predict ...`: the prediction models over files, without a database (results checkable outside the server). */
export function registerPredict(program: Command): void {
  const predict = program.command('predict').description('Run the prediction models over files (no database): clv, churn, forecast');
  predict
    .command('clv')
    .description(
      'Fit BG/NBD, Pareto/NBD and Gamma-Gamma on an RFM summary CSV (ID,frequency,recency,T or ID,x,t_x,T; optional zbar); prints JSON',
    )
    .requiredOption('--summary <file>', 'summary CSV, time in any unit (weeks for CDNOW)')
    .option('--no-pareto', 'skip the (slower) Pareto/NBD fit')
    .action(async (opts: { summary: string; pareto: boolean }) => {
      const { parseClvSummary, fitClvSummary } = await import('../modules/predictions/index.ts');
      const result = fitClvSummary(parseClvSummary(readText(opts.summary)), { pareto: opts.pareto });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
