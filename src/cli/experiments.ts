import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';

/**
 * `loupe experiments analyze FILE.json`: the analysis of `POST /api/v1/experiments/analyze` on a file of summary
 * statistics, offline (no database, no server), so any result can be checked by hand.
 */
export function registerExperiments(program: Command): void {
  const experiments = program.command('experiments').description('Experiments: analyse A/B test results from summary statistics');
  experiments
    .command('analyze <file>')
    .description(
      'Analyse a JSON file of per-variant sums (engine, confidence, correction, sequential, metrics); prints JSON, or a table with --table',
    )
    .option('--table', 'print a readable table instead of JSON')
    .action(async (file: string, opts: { table?: boolean }) => {
      const { analyze, analyzeBody, toAnalyzeInput, toAnalyzeResponse } = await import('../modules/experiments/index.ts');
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file} is not readable JSON: ${(err as Error).message}`);
      }
      const parsed = analyzeBody.safeParse(raw);
      if (!parsed.success) {
        const lines = parsed.error.issues.slice(0, 20).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
        throw new Error(`${file} is not a valid analysis input:\n${lines.join('\n')}`);
      }
      const out = toAnalyzeResponse(analyze(toAnalyzeInput(parsed.data)));
      if (!opts.table) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const f = (x: number | null, d = 4) => (x === null ? '-' : x.toFixed(d));
      for (const m of out.metrics) {
        process.stdout.write(
          `\n${m.name} (${m.type})  control ${m.control.name}: n ${m.control.n}, mean ${f(m.control.mean)}  SRM p ${f(m.srm_p_value)}${m.srm_warning ? '  SAMPLE RATIO MISMATCH' : ''}\n`,
        );
        for (const v of m.variants) {
          const test =
            out.engine === 'bayesian'
              ? `chance to win ${f(v.chance_to_win)}  risk ${f(v.risk, 5)}`
              : `p ${f(v.p_value)}  adjusted p ${f(v.adjusted_p_value)}`;
          process.stdout.write(
            `  ${v.name}: n ${v.n}, mean ${f(v.mean)}, abs ${f(v.absolute_effect)}, rel ${f(v.relative_effect)} [${f(v.ci_low)}, ${f(v.ci_high)}]  ${test}${v.error ? `  (${v.error})` : ''}\n`,
          );
        }
      }
    });
}
