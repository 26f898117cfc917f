import type { Command } from 'commander';

/** `loupe eval-matching`: the entity-matching protocol on any ER-Magellan-format split (no database needed). */
export function registerEvalMatching(program: Command): void {
  program
    .command('eval-matching')
    .description(
      'Product matching on ER-Magellan/Ditto pair files (left \\t right \\t label; .gz accepted): features, penalty and threshold chosen on train and valid, precision/recall/F1 of the positive class on test',
    )
    .requiredOption('--train <file>', 'training pairs')
    .requiredOption('--valid <file>', 'validation pairs (model and threshold selection)')
    .requiredOption('--test <file>', 'test pairs (read once, reported)')
    .option('--linear', 'plain logistic regression on the raw features (the baseline) instead of the quadratic model')
    .action(async (opts: { train: string; valid: string; test: string; linear?: boolean }) => {
      const { evaluateMatcher, fitMatcher, readPairs } = await import('../modules/pricing/index.ts');
      const t0 = performance.now();
      const fit = fitMatcher(readPairs(opts.train), readPairs(opts.valid), { quadratic: !opts.linear });
      const r = evaluateMatcher(fit, readPairs(opts.test));
      const pct = (v: number) => (100 * v).toFixed(2);
      process.stdout.write(
        `precision ${pct(r.precision)}  recall ${pct(r.recall)}  F1 ${pct(r.f1)}  (tp ${r.tp}, fp ${r.fp}, fn ${r.fn}; valid F1 ${pct(fit.validF1)}, threshold ${fit.threshold.toFixed(2)}, l2 ${fit.l2}; ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
      process.exit(0);
    });
}
