import type { Command } from 'commander';

/** `loupe eval`: offline evaluation on a LightGCN-format dataset with the standard protocol (no database needed). */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a model on a LightGCN-format dataset (uid item item ...; .gz accepted): Recall@20, NDCG@20, time, peak memory')
    .requiredOption('--train <file>', 'training split')
    .requiredOption('--test <file>', 'test split')
    .requiredOption('--model <name>', 'popularity | item_knn | ials | lightgcn | graph_filter')
    .option(
      '--params <json>',
      'hyperparameters over the tenant defaults, as JSON (snake_case as the API, e.g. {"rank":256,"ideal_weight":0.3})',
    )
    .action(async (opts: { train: string; test: string; model: string; params?: string }) => {
      const { EVAL_MODELS, evaluateModel } = await import('../modules/recs/index.ts');
      if (!(EVAL_MODELS as readonly string[]).includes(opts.model)) throw new Error(`--model must be one of ${EVAL_MODELS.join(', ')}`);
      let params: Record<string, unknown> = {};
      if (opts.params) {
        try {
          params = JSON.parse(opts.params) as Record<string, unknown>;
        } catch {
          throw new Error('--params must be a JSON object');
        }
      }
      const r = await evaluateModel({ train: opts.train, test: opts.test, model: opts.model as (typeof EVAL_MODELS)[number], params });
      process.stdout.write(
        `model ${r.model}: Recall@20 ${r.recall20.toFixed(4)}  NDCG@20 ${r.ndcg20.toFixed(4)}  train ${r.trainSeconds.toFixed(1)} s  eval ${r.evalSeconds.toFixed(1)} s  peak RSS ${r.peakRssMb.toFixed(0)} MB  (${r.users} users, ${r.items} items)\n`,
      );
      process.exit(0);
    });
}
