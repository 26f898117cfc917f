import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rngMulberry32 } from '../../../ml/random.ts';
import { evaluateModel } from './dataset.eval.ts';

/** LightGCN text lines of `users` users in 4 taste clusters over `items` items (something to learn). */
function clusteredLines(users: number, items: number, perUser: number, seed: number): string[] {
  const rng = rngMulberry32(seed);
  const span = Math.floor(items / 4);
  const out: string[] = [];
  for (let u = 0; u < users; u++) {
    const seen = new Set<number>();
    while (seen.size < perUser) seen.add(rng() < 0.85 ? (u % 4) * span + Math.floor(rng() * span) : Math.floor(rng() * items));
    out.push(`${u} ${[...seen].sort((a, b) => a - b).join(' ')}`);
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-eval-'));
  await fs.writeFile(path.join(dir, 'train.txt'), `${clusteredLines(48, 40, 8, 3).join('\n')}\n`);
  // two test files: different held-out items, and the second names users and items the train file never saw
  await fs.writeFile(path.join(dir, 'test-a.txt'), `${clusteredLines(48, 40, 2, 5).join('\n')}\n`);
  await fs.writeFile(path.join(dir, 'test-b.txt'), `${[...clusteredLines(48, 40, 2, 6), '60 70 71', '61 79'].join('\n')}\n`);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('loupe eval --model auto', () => {
  it('chooses from the train file alone: another test file, even of another shape, changes no trial and no choice', async () => {
    const run = (test: string) =>
      evaluateModel({ train: path.join(dir, 'train.txt'), test: path.join(dir, test), model: 'auto', budgetMs: 0 });
    const a = await run('test-a.txt');
    const b = await run('test-b.txt');
    expect(a.tuning!.trials.map((t) => t.family)).toEqual(['popularity', 'item_knn', 'graph_filter', 'ials']);
    // every validation score, not only the winner: the search saw the same data
    expect(b.tuning!.trials.map((t) => [t.family, t.params, t.ndcg20])).toEqual(
      a.tuning!.trials.map((t) => [t.family, t.params, t.ndcg20]),
    );
    expect(b.chosen).toEqual(a.chosen);
    // while the measurement does read the test file
    expect(b.items).toBe(80);
    expect([a.recall20, a.ndcg20]).not.toEqual([b.recall20, b.ndcg20]);
  });

  it('refuses hyperparameters with auto, and a malformed train file by line', async () => {
    await expect(
      evaluateModel({ train: path.join(dir, 'train.txt'), test: path.join(dir, 'test-a.txt'), model: 'auto', params: { k: 5 } }),
    ).rejects.toThrow(/omit --params/);
    await fs.writeFile(path.join(dir, 'bad.txt'), '0 1 2\n1 x\n');
    await expect(
      evaluateModel({ train: path.join(dir, 'bad.txt'), test: path.join(dir, 'test-a.txt'), model: 'popularity' }),
    ).rejects.toThrow(/line 2/);
  });
});
