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
  predict
    .command('churn')
    .description(
      'Train the churn model on a transactions CSV (customer_id,date,amount) at a cutoff; prints test AUC and Brier on a 70/30 hash split, with baselines',
    )
    .requiredOption('--transactions <file>', 'one row per order or order line; negative amounts are refunds')
    .requiredOption('--cutoff <date>', 'YYYY-MM-DD: features use only earlier orders; the label window starts here')
    .option('--window <days>', 'churn = no purchase in this many days after the cutoff', '91')
    .action(async (opts: { transactions: string; cutoff: string; window: string }) => {
      const { parseTransactions, parseDay, churnFromTransactions } = await import('../modules/predictions/index.ts');
      const cutoff = parseDay(opts.cutoff);
      if (Number.isNaN(cutoff)) throw new Error('--cutoff must be a date (YYYY-MM-DD)');
      const window = Number(opts.window);
      if (!Number.isInteger(window) || window < 1 || window > 3650)
        throw new Error('--window must be a whole number of days between 1 and 3650');
      const result = churnFromTransactions(parseTransactions(readText(opts.transactions)), cutoff, window);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  predict
    .command('forecast')
    .description(
      'Forecast a daily series CSV (date,value; gaps filled with 0) with MSTL+ETS; prints points with 80% and 95% intervals as JSON',
    )
    .requiredOption('--series <file>', 'CSV with a date and a value column')
    .option('--horizon <days>', 'days to forecast', '28')
    .action(async (opts: { series: string; horizon: string }) => {
      const { parseSeries, forecastSeriesFile } = await import('../modules/predictions/index.ts');
      const horizon = Number(opts.horizon);
      if (!Number.isInteger(horizon) || horizon < 1 || horizon > 366)
        throw new Error('--horizon must be a whole number of days between 1 and 366');
      const result = forecastSeriesFile(parseSeries(readText(opts.series)), horizon);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
