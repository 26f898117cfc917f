import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceReturn, returnedSoFar } from './returns.core.ts';

const lines = [
  { itemId: 'cup', quantity: 3, totalMinor: 1000n },
  { itemId: 'pot', quantity: 1, totalMinor: 4500n },
];

describe('priceReturn', () => {
  it('refunds the share of the line total, rounded down, and the parts add up to the whole line', () => {
    const first = priceReturn(lines, new Map(), [{ itemId: 'cup', quantity: 1 }]);
    expect(first).toMatchObject({ ok: true, amount: 333n });
    const second = priceReturn(lines, new Map([['cup', 1]]), [{ itemId: 'cup', quantity: 2 }]);
    expect(second).toMatchObject({ ok: true, amount: 667n });
  });

  it('refuses units beyond what is left, items not in the order, and the same item twice', () => {
    expect(priceReturn(lines, new Map([['cup', 2]]), [{ itemId: 'cup', quantity: 2 }])).toEqual({
      ok: false,
      itemId: 'cup',
      reason: 'more_than_left',
    });
    expect(priceReturn(lines, new Map(), [{ itemId: 'lamp', quantity: 1 }])).toEqual({ ok: false, itemId: 'lamp', reason: 'not_in_order' });
    expect(
      priceReturn(lines, new Map(), [
        { itemId: 'pot', quantity: 1 },
        { itemId: 'pot', quantity: 1 },
      ]),
    ).toEqual({ ok: false, itemId: 'pot', reason: 'duplicate' });
  });

  it('any split of a line into returns refunds exactly its total, never more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.bigInt({ min: 0n, max: 10_000_000n }),
        fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 60 }),
        (quantity, total, parts) => {
          const l = [{ itemId: 'x', quantity, totalMinor: total }];
          let returned = 0;
          let refunded = 0n;
          for (const p of parts) {
            const r = priceReturn(l, new Map([['x', returned]]), [{ itemId: 'x', quantity: p }]);
            if (!r.ok) {
              expect(returned + p).toBeGreaterThan(quantity);
              continue;
            }
            returned += p;
            refunded += r.amount;
          }
          expect(refunded).toBeLessThanOrEqual(total);
          if (returned === quantity) expect(refunded).toBe(total);
        },
      ),
    );
  });
});

describe('returnedSoFar', () => {
  it('adds up earlier returns and ignores malformed details', () => {
    const m = returnedSoFar([
      { items: [{ item_id: 'cup', quantity: 1 }] },
      { items: [{ item_id: 'cup', quantity: 2 }] },
      null,
      { items: 'x' },
    ]);
    expect(m.get('cup')).toBe(3);
  });
});
