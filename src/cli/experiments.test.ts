import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerExperiments } from './experiments.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function runCli(file: string): Promise<string> {
  const program = new Command().exitOverride();
  registerExperiments(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'loupe', 'experiments', 'analyze', file]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('loupe experiments analyze FILE.json', () => {
  it('prints the reference case numbers (scipy/statsmodels fixture) and refuses an invalid file by field', async () => {
    const ref = JSON.parse(await readFile(path.join(ROOT, 'src/modules/experiments/fixtures/reference-cases.json'), 'utf8'));
    const c = ref.analyze[1];
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loupe-exp-'));
    const file = path.join(dir, 'case.json');
    await writeFile(file, JSON.stringify(c.input));
    const out = JSON.parse(await runCli(file));
    const want = c.expected.metrics[0].variants[0];
    const got = out.metrics[0].variants[0];
    for (const k of ['relative_effect', 'ci_low', 'ci_high', 'p_value', 'adjusted_p_value'])
      expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-6);
    expect(Math.abs(out.metrics[0].srm_p_value - c.expected.metrics[0].srm_p_value)).toBeLessThan(1e-6);
    await writeFile(
      file,
      JSON.stringify({
        metrics: [
          {
            name: 'm',
            type: 'ratio',
            variants: [
              { name: 'a', n: 1, sum: 1, sum_squares: 1 },
              { name: 'b', n: 1, sum: 1, sum_squares: 1 },
            ],
          },
        ],
      }),
    );
    await expect(runCli(file)).rejects.toThrow('metrics.0.variants.0.denominator_sum: is required for ratio metrics');
    await writeFile(file, '{"metrics": [');
    await expect(runCli(file)).rejects.toThrow('is not readable JSON');
  });
});
