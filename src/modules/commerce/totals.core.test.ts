import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocatePromotions, splitProportionally, type AllocatablePromotion } from './promotions.core.ts';
import { computeTotals, type TotalsLineInput, type TotalsShippingInput } from './totals.core.ts';

/**
 * The oracle: Medusa v2's own totals function, pinned (`@medusajs/utils` 2.21.2, devDependency, tests only).
 * Its figures are arbitrary-precision decimals; ours are whole minor units (see totals.core.ts for the
 * documented deviations and the bounds asserted here).
 */
const medusa = (await import('@medusajs/utils')) as unknown as { decorateCartTotals: (cart: unknown) => Record<string, any> };

const num = (v: unknown): number => (v && typeof v === 'object' && 'numeric' in v ? Number((v as { numeric: number }).numeric) : Number(v));

describe('computeTotals: hand-computed references', () => {
  it('tax-exclusive line at 10%: 2 x 30.00 -> subtotal 60.00, tax 6.00, total 66.00 (Medusa test "items + taxes")', () => {
    const t = computeTotals([{ unitPrice: 3000n, quantity: 2, taxInclusive: false, taxRateBp: 1000, adjustments: [] }]);
    expect(t).toMatchObject({ subtotal: 6000n, taxTotal: 600n, total: 6600n, originalTotal: 6600n, discountTotal: 0n });
  });

  it('tax-inclusive line at 20%: 1 x 12.00 -> net 10.00, tax 2.00, total 12.00', () => {
    const t = computeTotals([{ unitPrice: 1200n, quantity: 1, taxInclusive: true, taxRateBp: 2000, adjustments: [] }]);
    expect(t).toMatchObject({ subtotal: 1000n, taxTotal: 200n, total: 1200n, originalTotal: 1200n });
  });

  it('tax-inclusive 9.99 at 19%: net 999/1.19 = 839.4958 -> 839, tax 160 (original total stays exactly 999)', () => {
    const t = computeTotals([{ unitPrice: 999n, quantity: 1, taxInclusive: true, taxRateBp: 1900, adjustments: [] }]);
    expect(t).toMatchObject({ subtotal: 839n, originalTaxTotal: 160n, taxTotal: 160n, originalTotal: 999n, total: 999n });
  });

  it('discount 10.00 on a 100.00 line at 25% tax: tax 22.50, discount_total 12.50 (10.00 + 2.50 tax), total 112.50', () => {
    const t = computeTotals([{ unitPrice: 10000n, quantity: 1, taxInclusive: false, taxRateBp: 2500, adjustments: [1000n] }]);
    expect(t).toMatchObject({
      subtotal: 10000n,
      discountSubtotal: 1000n,
      taxTotal: 2250n,
      discountTaxTotal: 250n,
      discountTotal: 1250n,
      total: 11250n,
      originalTotal: 12500n,
    });
  });

  it('shipping 5.00 at 10% beside an item: shipping_total 5.50, cart total adds both', () => {
    const t = computeTotals(
      [{ unitPrice: 1000n, quantity: 3, taxInclusive: false, taxRateBp: 0, adjustments: [] }],
      [{ amount: 500n, taxInclusive: false, taxRateBp: 1000, adjustments: [] }],
    );
    expect(t).toMatchObject({ itemTotal: 3000n, shippingTotal: 550n, shippingSubtotal: 500n, total: 3550n, taxTotal: 50n });
  });

  it('quantity 0 counts nothing; a negative quantity is a bug', () => {
    expect(computeTotals([{ unitPrice: 1000n, quantity: 0, taxInclusive: false, taxRateBp: 1000, adjustments: [] }]).total).toBe(0n);
    expect(() => computeTotals([{ unitPrice: 1000n, quantity: -1, taxInclusive: false, taxRateBp: 0, adjustments: [] }])).toThrow(
      RangeError,
    );
  });
});

describe('allocatePromotions', () => {
  it('splits 10.00 over 250/150 as 6.25/3.75 (Medusa "across" example), whole units adding up exactly', () => {
    expect(splitProportionally(1000n, [25000n, 15000n])).toEqual([625n, 375n]);
    expect(splitProportionally(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
  });

  it('a fixed order promotion larger than the cart takes it to zero, never below', () => {
    const a = allocatePromotions(
      [{ id: 'p', type: 'fixed', target: 'order', value: 99999n, allocation: 'across' }],
      [
        { itemId: 'a', subtotal: 500n, quantity: 1 },
        { itemId: 'b', subtotal: 300n, quantity: 2 },
      ],
      [],
    );
    expect(a.byPromotion.get('p')).toBe(800n);
    expect(a.items.map((l) => l[0]!.amount)).toEqual([500n, 300n]);
  });

  it('percentage each line, then fixed each unit, on what is left', () => {
    const a = allocatePromotions(
      [
        { id: 'pct', type: 'percentage', target: 'items', value: 1000n, allocation: 'each' },
        { id: 'fix', type: 'fixed', target: 'items', value: 100n, allocation: 'each' },
      ],
      [{ itemId: 'a', subtotal: 2000n, quantity: 2 }],
      [],
    );
    expect(a.items[0]).toEqual([
      { promotionId: 'pct', amount: 200n },
      { promotionId: 'fix', amount: 200n },
    ]);
  });
});

/** A random cart as the issue asks: 1-10 items, mixed tax-inclusive lines, 0-3 promotions, 0-2 shipping methods, tax 0-25%. */
const cartArb = fc.record({
  items: fc.array(
    fc.record({
      unitPrice: fc.bigInt({ min: 0n, max: 500_000n }),
      quantity: fc.integer({ min: 1, max: 20 }),
      taxInclusive: fc.boolean(),
      taxRateBp: fc.integer({ min: 0, max: 2500 }),
    }),
    { minLength: 1, maxLength: 10 },
  ),
  shipping: fc.array(
    fc.record({ amount: fc.bigInt({ min: 0n, max: 5_000n }), taxInclusive: fc.boolean(), taxRateBp: fc.integer({ min: 0, max: 2500 }) }),
    { maxLength: 2 },
  ),
  promotions: fc.array(
    fc.record({
      type: fc.constantFrom('percentage' as const, 'fixed' as const),
      target: fc.constantFrom('items' as const, 'shipping' as const, 'order' as const),
      value: fc.bigInt({ min: 1n, max: 10_000n }),
      allocation: fc.constantFrom('each' as const, 'across' as const),
    }),
    { maxLength: 3 },
  ),
});

/**
 * 1,000 carts by default; LOUPE_THOROUGH=1 (`npm run test:thorough`) checks 10,000, as the issue first asked. The
 * seed is fixed, so every run re-checks the same carts: the 9,000 more only matter when the code changes, and
 * each of three planted bugs (inclusive tax ignoring discounts, the net off by one basis point, one unit too many
 * on big lines) failed on the first cart.
 */
const CARTS = process.env.LOUPE_THOROUGH === '1' ? 10_000 : 1_000;

describe(`computeTotals against Medusa decorateCartTotals (${CARTS.toLocaleString('en')} random carts)`, () => {
  it('agrees within the documented rounding bounds, and its own identities hold exactly', () => {
    fc.assert(
      fc.property(cartArb, (cart) => {
        // Net subtotals first (allocation works on them), then the same adjustments go to both implementations.
        const bare = computeTotals(
          cart.items.map((l) => ({ ...l, adjustments: [] })),
          cart.shipping.map((s) => ({ ...s, adjustments: [] })),
        );
        const promotions: AllocatablePromotion[] = cart.promotions.map((p, i) => ({ ...p, id: `p${i}` }));
        const alloc = allocatePromotions(
          promotions,
          bare.items.map((t, i) => ({ itemId: `i${i}`, subtotal: t.subtotal, quantity: cart.items[i]!.quantity })),
          bare.shippingMethods.map((t) => t.subtotal),
        );
        const items: TotalsLineInput[] = cart.items.map((l, i) => ({ ...l, adjustments: alloc.items[i]!.map((a) => a.amount) }));
        const shipping: TotalsShippingInput[] = cart.shipping.map((s, i) => ({
          ...s,
          adjustments: alloc.shipping[i]!.map((a) => a.amount),
        }));
        const ours = computeTotals(items, shipping);

        const oracle = medusa.decorateCartTotals({
          currency_code: 'usd',
          items: items.map((l, i) => ({
            id: `i${i}`,
            unit_price: Number(l.unitPrice),
            quantity: l.quantity,
            is_tax_inclusive: l.taxInclusive,
            tax_lines: [{ rate: l.taxRateBp / 100 }],
            adjustments: l.adjustments.map((a) => ({ amount: Number(a) })),
          })),
          shipping_methods: shipping.map((s, i) => ({
            id: `s${i}`,
            amount: Number(s.amount),
            is_tax_inclusive: s.taxInclusive,
            tax_lines: [{ rate: s.taxRateBp / 100 }],
            adjustments: s.adjustments.map((a) => ({ amount: Number(a) })),
          })),
        });

        // Per line: |ours - Medusa's exact value| < 0.5 (subtotal) and < 0.5 + 0.5 x 25% + 0.5 (tax, total).
        const LINE = 1.13;
        const fields = ['subtotal', 'tax_total', 'total', 'original_total', 'discount_total', 'discount_subtotal'] as const;
        const camel = {
          subtotal: 'subtotal',
          tax_total: 'taxTotal',
          total: 'total',
          original_total: 'originalTotal',
          discount_total: 'discountTotal',
          discount_subtotal: 'discountSubtotal',
        } as const;
        oracle.items.forEach((m: Record<string, unknown>, i: number) => {
          for (const f of fields) expect(Math.abs(Number(ours.items[i]![camel[f]]) - num(m[f]))).toBeLessThan(LINE);
        });
        oracle.shipping_methods.forEach((m: Record<string, unknown>, i: number) => {
          for (const f of fields) expect(Math.abs(Number(ours.shippingMethods[i]![camel[f]]) - num(m[f]))).toBeLessThan(LINE);
        });
        const bound = LINE * (items.length + shipping.length);
        for (const f of fields) expect(Math.abs(Number(ours[camel[f]]) - num(oracle[f]))).toBeLessThan(bound);
        expect(Math.abs(Number(ours.shippingTotal) - num(oracle.shipping_total ?? 0))).toBeLessThan(bound);
        expect(Math.abs(Number(ours.itemTotal) - num(oracle.item_total))).toBeLessThan(bound);

        // Exact identities of ours (whole minor units, nothing lost).
        expect(ours.total).toBe(ours.subtotal - ours.discountSubtotal + ours.taxTotal);
        expect(ours.total).toBe(ours.itemTotal + ours.shippingTotal);
        expect(ours.discountTotal).toBe(ours.discountSubtotal + ours.discountTaxTotal);
        items.forEach((l, i) => {
          if (l.taxInclusive) expect(ours.items[i]!.originalTotal).toBe(l.unitPrice * BigInt(l.quantity));
          expect(ours.items[i]!.total).toBeGreaterThanOrEqual(0n);
        });
      }),
      { numRuns: CARTS, seed: 14 },
    );
  }, 120_000);
});
