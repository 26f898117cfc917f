import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupByKeys } from './resolution.service.ts';

describe('groupByKeys (which inputs of a batch must be resolved in order)', () => {
  it('joins inputs sharing a key, transitively, and keeps input order', () => {
    const keys: Record<number, string[]> = { 0: ['a'], 1: ['b'], 2: ['a', 'c'], 3: ['d'], 4: ['c', 'b'], 5: [] };
    expect(groupByKeys([0, 1, 2, 3, 4, 5], (n) => keys[n]!)).toEqual([[0, 1, 2, 4], [3], [5]]);
  });
  it('property: every input appears once; two inputs sharing a key are in one group', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6'), { maxLength: 3 }), { maxLength: 30 }), (ks) => {
        const items = ks.map((_, i) => i);
        const groups = groupByKeys(items, (n) => ks[n]!);
        expect(groups.flat().sort((a, b) => a - b)).toEqual(items);
        const groupOf = new Map<number, number>();
        groups.forEach((g, gi) => {
          for (const n of g) groupOf.set(n, gi);
          expect([...g].sort((a, b) => a - b)).toEqual(g);
        });
        for (let a = 0; a < ks.length; a++) for (let b = a + 1; b < ks.length; b++) if (ks[a]!.some((k) => ks[b]!.includes(k))) expect(groupOf.get(a)).toBe(groupOf.get(b));
      }),
    );
  });
});
