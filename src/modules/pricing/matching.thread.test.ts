import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { offerBlockKeys } from './matcher.core.ts';
import { type VerdictInput, learnedVerdicts } from './matching.core.ts';
import { shippedMatcher } from './matching.service.ts';
import { createMatchingThread } from './matching.thread.ts';

// A batch as the import builds it: new offers of one store and grouped offers of others sharing model numbers.
function batch(n: number): VerdictInput {
  const brands = ['Sony', 'Samsung', 'Bose', 'Canon', null];
  const offers: VerdictInput['offers'] = [];
  const candidates: VerdictInput['candidates'] = [];
  for (let i = 0; i < n; i++) {
    const model = `XK${1000 + (i % 97)}${String.fromCharCode(65 + (i % 26))}`;
    const title = `${brands[i % 5] ?? 'Generic'} wireless speaker ${model} ${i % 3 ? 'black' : 'silver'}`;
    offers.push({
      id: `o${i}`,
      keys: offerBlockKeys(title, model),
      rec: { title, brand: brands[i % 5] ?? null, model, description: null, category: null, price: 50 + (i % 40) },
    });
    for (let k = 0; k < 3; k++) {
      const ctitle = k === 0 ? `${brands[i % 5] ?? ''} ${model} speaker` : `Speaker ${model}${k} bundle`;
      for (const key of offerBlockKeys(ctitle, k === 0 ? model : null))
        candidates.push({
          key,
          id: `c${i}-${k}`,
          rec: {
            title: ctitle,
            brand: k ? null : (brands[i % 5] ?? null),
            model: k === 0 ? model : null,
            description: null,
            category: null,
            price: 45 + k * 20,
          },
          groupId: `g${i % 150}-${k}`,
          pinned: i % 50 === 0,
        });
    }
  }
  return { offers, candidates };
}

const thread = createMatchingThread(1000);
afterAll(() => thread.close());

describe('the learned matcher off the event loop', () => {
  it('gives on its thread the same verdicts as inline, and some join, some wait for review', async () => {
    const input = batch(200);
    const scorer = shippedMatcher();
    const inline = learnedVerdicts(input, scorer);
    const off = await thread.verdicts(input, scorer);
    expect(thread.lastThreadId()).not.toBeNull();
    expect(thread.lastThreadId()).not.toBe(threadId);
    expect(off).toEqual(inline);
    expect(off.size).toBe(200);
    // the batch is not trivial: the scorer both joins and queues
    const v = [...off.values()];
    expect(v.some((x) => x.joinGroupId)).toBe(true);
    expect(v.some((x) => !x.joinGroupId)).toBe(true);
  });

  it('keeps the event loop turning while it scores (inline scoring does not)', async () => {
    const input = batch(600);
    const scorer = shippedMatcher();
    let turns = 0;
    let on = true;
    const spin = () => {
      if (!on) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await thread.verdicts(input, scorer);
    const offTurns = turns;
    turns = 0;
    await Promise.resolve(learnedVerdicts(input, scorer));
    const inlineTurns = turns;
    on = false;
    expect(inlineTurns).toBe(0);
    expect(offTurns).toBeGreaterThan(5);
  });

  it('an empty batch and a batch without candidates decide nothing; a dead thread fails its batch and the next starts anew', async () => {
    const scorer = shippedMatcher();
    expect((await thread.verdicts({ offers: [], candidates: [] }, scorer)).size).toBe(0);
    expect((await thread.verdicts({ ...batch(3), candidates: [] }, scorer)).size).toBe(0);
    const pending = thread.verdicts(batch(600), scorer);
    await thread.close();
    await expect(pending).rejects.toThrow(/matching thread (exited|was closed)/);
    expect((await thread.verdicts(batch(5), scorer)).size).toBe(5);
  });
});
