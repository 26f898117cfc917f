import type { Command } from 'commander';

/** `loupe eval`: offline evaluation on a LightGCN-format dataset with the standard protocol (no database needed). */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a model on a LightGCN-format dataset (uid item item ...; .gz accepted): Recall@20, NDCG@20, time, peak memory')
    .requiredOption('--train <file>', 'training split')
    .requiredOption('--test <file>', 'test split')
    .requiredOption(
      '--model <name>',
      "popularity | item_knn | ials | lightgcn | graph_filter | auto (a tenant's search on the train file only)",
    )
    .option(
      '--params <json>',
      'hyperparameters over the tenant defaults, as JSON (snake_case as the API, e.g. {"rank":256,"ideal_weight":0.3})',
    )
    .option('--budget <seconds>', "auto: search time budget in seconds (default: a tenant's default; 0 = each family at its defaults)")
    .action(async (opts: { train: string; test: string; model: string; params?: string; budget?: string }) => {
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
      const budget = opts.budget === undefined ? undefined : Number(opts.budget);
      if (budget !== undefined && !(budget >= 0 && Number.isFinite(budget))) throw new Error('--budget must be a number of seconds >= 0');
      const r = await evaluateModel({
        train: opts.train,
        test: opts.test,
        model: opts.model as (typeof EVAL_MODELS)[number],
        params,
        ...(budget !== undefined ? { budgetMs: budget * 1000 } : {}),
        onTrial: (t) =>
          void process.stderr.write(
            `  trial ${t.family} (${t.kind}) ${JSON.stringify(t.params)}: val NDCG@20 ${t.ndcg20 === null ? `failed: ${t.error}` : t.ndcg20.toFixed(4)} (${(t.ms / 1000).toFixed(1)} s)\n`,
          ),
      });
      if (r.chosen && r.tuning)
        process.stdout.write(
          `auto chose ${r.chosen.family} ${JSON.stringify(r.chosen.params)}\n  validation NDCG@20 ${r.tuning.validationNdcg20?.toFixed(4) ?? '-'} after ${r.tuning.trials.length} trials in ${r.tuningSeconds!.toFixed(1)} s (budget ${r.tuning.budgetMs / 1000} s, stopped by ${r.tuning.stoppedBy}${r.tuning.unmeasured ? `; not measured: ${r.tuning.unmeasured.join(', ')}` : ''})${r.tuning.fallback ? `; fallback: ${r.tuning.fallback}` : ''}\n`,
        );
      process.stdout.write(
        `model ${r.chosen ? `auto -> ${r.chosen.family}` : r.model}: Recall@20 ${r.recall20.toFixed(4)}  NDCG@20 ${r.ndcg20.toFixed(4)}  train ${r.trainSeconds.toFixed(1)} s  eval ${r.evalSeconds.toFixed(1)} s  peak RSS ${r.peakRssMb.toFixed(0)} MB  (${r.users} users, ${r.items} items)\n`,
      );
      process.exit(0);
    });
}
