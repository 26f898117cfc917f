import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceReturn, priceReturnShipping, returnedSoFar, shippingRefundedSoFar } from './returns.core.ts';

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

describe('priceReturnShipping', () => {
  const base = {
    itemsAmount: 3000n,
    reasons: [undefined],
    shippingTotal: 500n,
    shippingRefundedSoFar: 0n,
    completesOrder: false,
    refundShipping: 'auto' as const,
    label: null,
    left: 10_000n,
  };

  it('a change of mind: the customer pays the label (deducted), shipping stays paid', () => {
    expect(priceReturnShipping({ ...base, reasons: ['no_longer_needed'], label: { amount: 700n } })).toEqual({
      refund: 2300n,
      shippingRefund: 0n,
      labelDeducted: 700n,
      paidBy: 'customer',
    });
  });

  it("the merchant's fault: the merchant pays the label and the original shipping comes back", () => {
    expect(priceReturnShipping({ ...base, reasons: ['defective', undefined], label: { amount: 700n } })).toEqual({
      refund: 3500n,
      shippingRefund: 500n,
      labelDeducted: 0n,
      paidBy: 'merchant',
    });
  });

  it('the last units back refund the shipping once; a later return refunds no shipping again', () => {
    expect(priceReturnShipping({ ...base, completesOrder: true }).shippingRefund).toBe(500n);
    expect(priceReturnShipping({ ...base, completesOrder: true, shippingRefundedSoFar: 500n, refundShipping: 'full' }).shippingRefund).toBe(
      0n,
    );
    expect(priceReturnShipping({ ...base, reasons: ['damaged'], refundShipping: 'none' }).shippingRefund).toBe(0n);
  });

  it('a label dearer than the refund takes it to zero, never below; what is left caps the refund', () => {
    expect(priceReturnShipping({ ...base, itemsAmount: 300n, label: { amount: 5000n, paidBy: 'customer' } })).toMatchObject({
      refund: 0n,
      labelDeducted: 300n,
    });
    expect(priceReturnShipping({ ...base, reasons: ['damaged'], left: 3200n })).toMatchObject({ refund: 3200n, shippingRefund: 200n });
  });

  it('JPY (0 decimals) and KWD (3 decimals): exact minor units, huge amounts without loss', () => {
    // ¥12,345 of items, ¥800 shipping, ¥650 label paid by the customer.
    expect(
      priceReturnShipping({
        ...base,
        itemsAmount: 12_345n,
        shippingTotal: 800n,
        completesOrder: true,
        label: { amount: 650n },
        left: 13_145n,
      }).refund,
    ).toBe(12_495n);
    // KWD 1.235 items, KWD 0.750 shipping: 1985 fils.
    expect(priceReturnShipping({ ...base, itemsAmount: 1235n, shippingTotal: 750n, refundShipping: 'full' }).refund).toBe(1985n);
    const huge = 9_000_000_000_000_000_000n;
    expect(priceReturnShipping({ ...base, itemsAmount: huge, shippingTotal: 1n, refundShipping: 'full', left: huge + 1n }).refund).toBe(
      huge + 1n,
    );
  });

  it('property: 0 <= refund <= left, shipping part <= shipping left, refund = items + shipping - label when uncapped', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: -5n, max: 10n ** 12n }),
        fc.constantFrom('auto', 'full', 'none'),
        fc.boolean(),
        fc.constantFrom(undefined, 'damaged', 'no_longer_needed'),
        (items, ship, soFar, label, left, refundShipping, completesOrder, reason) => {
          const r = priceReturnShipping({
            itemsAmount: items,
            reasons: [reason as never],
            shippingTotal: ship,
            shippingRefundedSoFar: soFar,
            completesOrder,
            refundShipping: refundShipping as never,
            label: { amount: label },
            left,
          });
          const leftNow = left > 0n ? left : 0n;
          expect(r.refund >= 0n && r.refund <= leftNow).toBe(true);
          expect(r.shippingRefund >= 0n && r.shippingRefund <= (ship > soFar ? ship - soFar : 0n)).toBe(true);
          expect(r.shippingRefund <= r.refund).toBe(true);
          // Uncapped: the refund is the items plus the shipping refunded, less the label.
          if (r.refund < leftNow) {
            expect(r.refund + r.labelDeducted >= items).toBe(true);
            expect(r.refund + r.labelDeducted - items <= (ship > soFar ? ship - soFar : 0n)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('shippingRefundedSoFar', () => {
  it('adds the shipping refunded by earlier returns; ignores malformed entries', () => {
    expect(
      shippingRefundedSoFar([
        { shipping_refunded: '500' },
        { shipping_refunded: '25' },
        {},
        null,
        { shipping_refunded: 7 },
        { shipping_refunded: '-1' },
      ]),
    ).toBe(525n);
  });
});
