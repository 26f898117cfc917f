import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocatePromotions, buyGetUnits, type AllocatablePromotion, type AllocationLine } from './promotions.core.ts';

const line = (itemId: string, unitNet: bigint, quantity: number): AllocationLine => ({
  itemId,
  subtotal: unitNet * BigInt(quantity),
  quantity,
});
const buyget = (
  id: string,
  value: bigint,
  rule: { buyItemIds: string[] | null; buyMinQuantity: number; applyToQuantity: number; maxApplications?: number },
  targetItemIds: string[] | null,
): AllocatablePromotion => ({ id, type: 'percentage', target: 'items', allocation: 'each', value, targetItemIds, buyget: rule });

describe('buy X get Y (Medusa buyget)', () => {
  it('buy 2 mugs get 1 free: three mugs give one free, two give nothing', () => {
    const p = buyget('b2g1', 10_000n, { buyItemIds: ['mug'], buyMinQuantity: 2, applyToQuantity: 1 }, ['mug']);
    expect(allocatePromotions([p], [line('mug', 1000n, 3)], []).byPromotion.get('b2g1')).toBe(1000n);
    expect(allocatePromotions([p], [line('mug', 1000n, 2)], []).byPromotion.get('b2g1')).toBeUndefined();
  });

  it('buy a lamp, get two bulbs at half price: the qualifying lamp itself is never discounted', () => {
    const p = buyget('lamp-bulbs', 5_000n, { buyItemIds: ['lamp'], buyMinQuantity: 1, applyToQuantity: 2 }, ['bulb']);
    const a = allocatePromotions([p], [line('lamp', 5000n, 1), line('bulb', 900n, 3)], []);
    expect(a.items[0]).toEqual([]);
    expect(a.items[1]).toEqual([{ promotionId: 'lamp-bulbs', amount: 900n }]);
    // Without the lamp, nothing.
    expect(allocatePromotions([p], [line('bulb', 900n, 3)], []).byPromotion.size).toBe(0);
  });

  it('takes the most valuable units first on both sides, as Medusa sorts them', () => {
    // Any item qualifies; buy 1 (the 5000 lamp is reserved), get 1 free among the rest: the 1500 mug, not the 900 bulb.
    const units = buyGetUnits({ buyItemIds: null, buyMinQuantity: 1, applyToQuantity: 1 }, null, [
      line('bulb', 900n, 1),
      line('lamp', 5000n, 1),
      line('mug', 1500n, 1),
    ]);
    expect(units).toEqual([0, 0, 1]);
  });

  it('applies more than once per cart when allowed, each time on its own units', () => {
    const rule = { buyItemIds: ['mug'], buyMinQuantity: 2, applyToQuantity: 1 };
    // Buy 2 get 1 on 7 mugs: twice (6 units used), the seventh is neither; capped by maxApplications.
    expect(buyGetUnits({ ...rule, maxApplications: 5 }, ['mug'], [line('mug', 1000n, 7)])).toEqual([2]);
    expect(buyGetUnits({ ...rule, maxApplications: 1 }, ['mug'], [line('mug', 1000n, 7)])).toEqual([1]);
    expect(buyGetUnits(rule, ['mug'], [line('mug', 1000n, 7)])).toEqual([1]);
    const p = buyget('b2g1x', 10_000n, { ...rule, maxApplications: 3 }, ['mug']);
    expect(allocatePromotions([p], [line('mug', 1000n, 9)], []).byPromotion.get('b2g1x')).toBe(3000n);
  });

  it('repeated applications never discount a qualifying unit and never exceed the units in the cart', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.constantFrom('a', 'b', 'c'), price: fc.bigInt(1n, 10_000n), q: fc.integer({ min: 0, max: 12 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (ls, buyMin, apply, times) => {
          const lines = ls.map((l) => line(l.id, l.price, l.q));
          const units = buyGetUnits(
            { buyItemIds: ['a'], buyMinQuantity: buyMin, applyToQuantity: apply, maxApplications: times },
            ['b'],
            lines,
          );
          const got = units.reduce((x, y) => x + y, 0);
          const buyUnits = lines.filter((l) => l.itemId === 'a').reduce((x, l) => x + l.quantity, 0);
          // Whole applications only, no more than allowed or than the buy units can pay for.
          expect(got % apply).toBe(0);
          expect(got / apply).toBeLessThanOrEqual(Math.min(times, Math.floor(buyUnits / buyMin)));
          units.forEach((u, i) => {
            expect(u).toBeLessThanOrEqual(lines[i]!.quantity);
            if (lines[i]!.itemId !== 'b') expect(u).toBe(0);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('all or nothing: too few target units left after the qualifying ones gives no discount', () => {
    const units = buyGetUnits({ buyItemIds: ['mug'], buyMinQuantity: 2, applyToQuantity: 2 }, ['mug'], [line('mug', 1000n, 3)]);
    expect(units).toEqual([0]);
  });

  it('runs before the other promotions and leaves them only what is left', () => {
    const p = buyget('free', 10_000n, { buyItemIds: null, buyMinQuantity: 1, applyToQuantity: 1 }, null);
    const pct: AllocatablePromotion = { id: 'pct', type: 'percentage', target: 'items', value: 1000n, allocation: 'each' };
    const a = allocatePromotions([p, pct], [line('mug', 1000n, 2)], []);
    expect(a.items[0]).toEqual([
      { promotionId: 'free', amount: 1000n },
      { promotionId: 'pct', amount: 100n },
    ]);
  });
});

describe('target rules', () => {
  it('a percentage with target items touches only their lines', () => {
    const p: AllocatablePromotion = {
      id: 'p',
      type: 'percentage',
      target: 'items',
      value: 1000n,
      allocation: 'each',
      targetItemIds: ['a'],
    };
    const a = allocatePromotions([p], [line('a', 1000n, 1), line('b', 1000n, 1)], []);
    expect(a.items).toEqual([[{ promotionId: 'p', amount: 100n }], []]);
  });

  it('a fixed order amount with target items is spread over those lines only, capped at what they hold', () => {
    const p: AllocatablePromotion = {
      id: 'p',
      type: 'fixed',
      target: 'order',
      value: 5000n,
      allocation: 'across',
      targetItemIds: ['a', 'c'],
    };
    const a = allocatePromotions([p], [line('a', 1000n, 1), line('b', 9000n, 1), line('c', 3000n, 1)], []);
    expect(a.items.map((l) => l[0]?.amount ?? 0n)).toEqual([1000n, 0n, 3000n]);
  });

  it('invariants on random carts: no line below zero, per-promotion totals add up, rules respected', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const arbLine = fc.record({
      itemId: fc.constantFrom(...ids),
      unit: fc.bigInt({ min: 0n, max: 100_000n }),
      quantity: fc.integer({ min: 1, max: 20 }),
    });
    const arbPromo = fc.oneof(
      fc.record({
        id: fc.constant('std'),
        type: fc.constantFrom('percentage' as const, 'fixed' as const),
        target: fc.constantFrom('items' as const, 'order' as const),
        value: fc.bigInt({ min: 1n, max: 20_000n }),
        allocation: fc.constantFrom('each' as const, 'across' as const),
        targetItemIds: fc.option(fc.subarray(ids, { minLength: 1 }), { nil: null }),
      }),
      fc.record({
        id: fc.constant('bg'),
        type: fc.constant('percentage' as const),
        target: fc.constant('items' as const),
        value: fc.bigInt({ min: 1n, max: 10_000n }),
        allocation: fc.constant('each' as const),
        targetItemIds: fc.option(fc.subarray(ids, { minLength: 1 }), { nil: null }),
        buyget: fc.record({
          buyItemIds: fc.option(fc.subarray(ids, { minLength: 1 }), { nil: null }),
          buyMinQuantity: fc.integer({ min: 1, max: 10 }),
          applyToQuantity: fc.integer({ min: 1, max: 10 }),
        }),
      }),
    );
    fc.assert(
      fc.property(fc.array(arbLine, { minLength: 1, maxLength: 8 }), fc.array(arbPromo, { maxLength: 3 }), (raw, promos) => {
        const lines = raw.map((l) => line(l.itemId, l.unit, l.quantity));
        const withIds = promos.map((p, i) => ({ ...p, id: `${p.id}${i}` }));
        const a = allocatePromotions(withIds, lines, []);
        lines.forEach((l, i) => {
          const given = a.items[i]!.reduce((s, x) => s + x.amount, 0n);
          expect(given).toBeLessThanOrEqual(l.subtotal);
          for (const adj of a.items[i]!) {
            expect(adj.amount).toBeGreaterThan(0n);
            const p = withIds.find((x) => x.id === adj.promotionId)!;
            if (p.targetItemIds) expect(p.targetItemIds).toContain(l.itemId);
          }
        });
        for (const p of withIds) {
          const sum = a.items
            .flat()
            .filter((x) => x.promotionId === p.id)
            .reduce((s, x) => s + x.amount, 0n);
          expect(a.byPromotion.get(p.id) ?? 0n).toBe(sum);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The oracle for `once` (and `each` with a unit cap): Medusa's promotion module loop (its `applyPromotionToItems`:
 * lines by unit price ascending, a quota of max_quantity units, each line priced by `calculateAdjustmentAmountFromPromotion`
 * with the `each` rule and the quota left as its max_quantity) over the pinned `@medusajs/utils` (tests only).
 */
const medusaUtils = (await import('@medusajs/utils')) as unknown as {
  calculateAdjustmentAmountFromPromotion: (
    line: { quantity: number; subtotal: number; original_total: number },
    promotion: { value: number; applied_value: number; max_quantity: number; type: string; allocation: string; is_tax_inclusive: boolean },
    lineItemsAmount?: number,
  ) => unknown;
};
const asNumber = (v: unknown): number =>
  v && typeof v === 'object' && 'numeric' in v ? Number((v as { numeric: number }).numeric) : Number(v);

function medusaOnce(p: AllocatablePromotion, lines: readonly AllocationLine[]): number[] {
  const out = lines.map(() => 0);
  const order = lines
    .map((l, i) => i)
    .filter((i) => lines[i]!.quantity > 0 && lines[i]!.subtotal > 0n && (!p.targetItemIds || p.targetItemIds.includes(lines[i]!.itemId)))
    .sort((a, b) => {
      const x = Number(lines[a]!.subtotal) / lines[a]!.quantity;
      const y = Number(lines[b]!.subtotal) / lines[b]!.quantity;
      return x === y ? a - b : x - y;
    });
  let quota = p.maxQuantity ?? 0;
  for (const i of order) {
    if (quota <= 0) break;
    const l = lines[i]!;
    const maxQuantity = Math.min(quota, l.quantity);
    const amount = asNumber(
      medusaUtils.calculateAdjustmentAmountFromPromotion(
        { quantity: l.quantity, subtotal: Number(l.subtotal), original_total: Number(l.subtotal) },
        {
          value: p.type === 'percentage' ? Number(p.value) / 100 : Number(p.value),
          applied_value: 0,
          max_quantity: maxQuantity,
          type: p.type,
          allocation: 'each',
          is_tax_inclusive: false,
        },
      ),
    );
    if (amount <= 0) continue;
    out[i] = amount;
    quota -= maxQuantity;
  }
  return out;
}

describe("allocation once (Medusa's ApplicationMethodAllocation.ONCE)", () => {
  const once = (
    type: 'percentage' | 'fixed',
    value: bigint,
    maxQuantity: number,
    targetItemIds: string[] | null = null,
  ): AllocatablePromotion => ({
    id: 'once',
    type,
    target: 'items',
    value,
    allocation: 'once',
    maxQuantity,
    targetItemIds,
  });

  it('50% off the cheapest unit in the cart: one unit of the cheapest line, whatever the line order', () => {
    const a = allocatePromotions(
      [once('percentage', 5000n, 1)],
      [line('lamp', 5000n, 2), line('mug', 1500n, 3), line('bulb', 900n, 1)],
      [],
    );
    expect(a.items.map((l) => l[0]?.amount ?? 0n)).toEqual([0n, 0n, 450n]);
  });

  it('3.00 off each of the 4 cheapest units: the quota runs over lines, cheapest first, never more than a unit is worth', () => {
    const a = allocatePromotions([once('fixed', 300n, 4)], [line('lamp', 5000n, 2), line('mug', 1500n, 3), line('pin', 200n, 2)], []);
    // pins (2.00 each: capped at 2.00) take 2 of the quota, then 2 mugs at 3.00; the lamps get nothing.
    expect(a.items.map((l) => l[0]?.amount ?? 0n)).toEqual([0n, 600n, 400n]);
    expect(a.byPromotion.get('once')).toBe(1000n);
  });

  it('respects target rules and skips lines already discounted to zero without spending the quota', () => {
    const free: AllocatablePromotion = {
      id: 'free',
      type: 'percentage',
      target: 'items',
      value: 10_000n,
      allocation: 'each',
      targetItemIds: ['bulb'],
    };
    const a = allocatePromotions(
      [free, once('fixed', 100n, 1, ['bulb', 'mug'])],
      [line('bulb', 900n, 1), line('mug', 1500n, 1), line('lamp', 50n, 1)],
      [],
    );
    expect(a.items[0]).toEqual([{ promotionId: 'free', amount: 900n }]);
    expect(a.items[1]).toEqual([{ promotionId: 'once', amount: 100n }]);
    expect(a.items[2]).toEqual([]);
  });

  it('on shipping: the cheapest methods, one unit each', () => {
    const p: AllocatablePromotion = { id: 's', type: 'fixed', target: 'shipping', value: 400n, allocation: 'once', maxQuantity: 1 };
    const a = allocatePromotions([p], [line('a', 1000n, 1)], [900n, 300n, 500n]);
    expect(a.shipping.map((s) => s[0]?.amount ?? 0n)).toEqual([0n, 300n, 0n]);
  });

  it('each with max_quantity discounts at most that many units of every line', () => {
    const p: AllocatablePromotion = { id: 'e', type: 'percentage', target: 'items', value: 1000n, allocation: 'each', maxQuantity: 2 };
    const a = allocatePromotions([p], [line('a', 1000n, 5), line('b', 300n, 1)], []);
    expect(a.items.map((l) => l[0]?.amount ?? 0n)).toEqual([200n, 30n]);
  });

  it('agrees with Medusa on random carts to within one minor unit per line (ours rounds half up to whole units)', () => {
    const ids = ['a', 'b', 'c', 'd'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            itemId: fc.constantFrom(...ids),
            unit: fc.bigInt({ min: 1n, max: 100_000n }),
            quantity: fc.integer({ min: 1, max: 20 }),
          }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        fc.constantFrom('percentage' as const, 'fixed' as const),
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.subarray(ids, { minLength: 1 }), { nil: null }),
        (raw, type, value, maxQuantity, targets) => {
          // Distinct unit prices: where two lines tie, Medusa leaves their order to the sort implementation.
          const seen = new Set<bigint>();
          const lines = raw.filter((l) => !seen.has(l.unit) && seen.add(l.unit)).map((l) => line(l.itemId, l.unit, l.quantity));
          const p = once(type, value, maxQuantity, targets);
          const ours = allocatePromotions([p], lines, []).items.map((l) => Number(l[0]?.amount ?? 0n));
          const theirs = medusaOnce(p, lines);
          ours.forEach((x, i) => expect(Math.abs(x - theirs[i]!)).toBeLessThanOrEqual(0.5 + 1e-9));
          expect(ours.filter((x) => x > 0).length).toBeLessThanOrEqual(maxQuantity);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
