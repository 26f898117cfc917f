import type { Command } from 'commander';

/** `loupe eval-matching`: the entity-matching protocol on any ER-Magellan-format split (no database needed). */
export function registerEvalMatching(program: Command): void {
  program
    .command('eval-matching')
    .description(
      'Product matching on ER-Magellan/Ditto pair files (left \\t right \\t label; .gz accepted): features, model and threshold chosen on train and valid, precision/recall/F1 of the positive class on test',
    )
    .requiredOption('--train <file>', 'training pairs')
    .requiredOption('--valid <file>', 'validation pairs (model and threshold selection)')
    .requiredOption('--test <file>', 'test pairs (read once, reported)')
    .option('--linear', 'plain logistic regression on the 19 similarity features (the baseline)')
    .option('--quadratic', 'the previous matcher: a quadratic logistic model on the 19 similarity features')
    .option('--single-split', 'boosted trees fitted on train, chosen on valid, without the cross-fit over train and valid')
    .action(async (opts: { train: string; valid: string; test: string; linear?: boolean; quadratic?: boolean; singleSplit?: boolean }) => {
      const { evaluateBoostedMatcher, evaluateMatcher, fitBoostedMatcher, fitMatcher, readPairs } = await import(
        '../modules/pricing/index.ts'
      );
      const t0 = performance.now();
      const train = readPairs(opts.train);
      const valid = readPairs(opts.valid);
      let r;
      let chosen;
      if (opts.linear || opts.quadratic) {
        const fit = fitMatcher(train, valid, { quadratic: !opts.linear });
        r = evaluateMatcher(fit, readPairs(opts.test));
        chosen = `valid F1 ${(100 * fit.validF1).toFixed(2)}, threshold ${fit.threshold.toFixed(2)}, l2 ${fit.l2}`;
      } else {
        const fit = fitBoostedMatcher(train, valid, { crossFit: !opts.singleSplit });
        r = evaluateBoostedMatcher(fit, readPairs(opts.test));
        chosen = `${fit.folds ? `${fit.folds}-fold out-of-fold` : 'valid'} F1 ${(100 * fit.validF1).toFixed(2)}, threshold ${fit.threshold.toFixed(2)}, ${fit.model.trees.length} trees of depth ${fit.params.maxDepth}`;
      }
      const pct = (v: number) => (100 * v).toFixed(2);
      process.stdout.write(
        `precision ${pct(r.precision)}  recall ${pct(r.recall)}  F1 ${pct(r.f1)}  (tp ${r.tp}, fp ${r.fp}, fn ${r.fn}; ${chosen}; ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
      process.exit(0);
    });
}
