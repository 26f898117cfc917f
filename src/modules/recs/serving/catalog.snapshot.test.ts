import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ServingItemRow,
  applyItemRows,
  isPresent,
  positionsOf,
  positionsOfInTurns,
  servableMask,
  snapshotOf,
  topAllowed,
} from './catalog.snapshot.ts';

const at = new Date('2026-11-01T00:00:00Z');
const row = (itemId: string, over: Partial<ServingItemRow> = {}): ServingItemRow => ({
  itemId,
  name: `Item ${itemId}`,
  categoryPath: 'Electronics > Audio',
  brand: 'Acme',
  priceMinor: '2500',
  currency: 'USD',
  imageUrl: null,
  availability: 'in_stock',
  stock: null,
  isActive: true,
  updatedAt: at,
  ...over,
});

describe('catalog snapshot', () => {
  const rows = [
    row('a'),
    row('b', { availability: 'out_of_stock' }),
    row('c', { availability: 'preorder', categoryPath: 'Electronics > Audiophile', brand: 'GLOBEX', priceMinor: '9900' }),
    row('d', { isActive: false }),
    row('e', { categoryPath: 'electronics', stock: 0, priceMinor: null }),
    row('f', { availability: 'discontinued' }),
  ];

  it('serves only active, available items, and filters by category subtree, brand, price and stock', () => {
    const s = snapshotOf(rows);
    const all = positionsOf(s, ['a', 'b', 'c', 'd', 'e', 'f', 'not-in-catalog']);
    expect([...servableMask(s, all, {})]).toEqual([1, 0, 1, 0, 1, 0, 0]);
    expect([...servableMask(s, all, { category: 'ELECTRONICS > audio' })]).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { category: 'Electronics' })]).toEqual([1, 0, 1, 0, 1, 0, 0]);
    expect([...servableMask(s, all, { brand: 'globex' })]).toEqual([0, 0, 1, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { minPrice: 30 })]).toEqual([0, 0, 1, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { maxPrice: 25 })]).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { minPrice: 24.999, maxPrice: 25.001 })]).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { minPrice: 25.001 })]).toEqual([0, 0, 1, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { maxPrice: 1e300 })]).toEqual([1, 0, 1, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { minPrice: 1e300 })]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([...servableMask(s, all, { inStock: true })]).toEqual([1, 0, 0, 0, 0, 0, 0]);
  });

  it('reads price bounds in each item’s own currency: JPY has no minor unit, KWD three decimals', () => {
    const s = snapshotOf([
      row('usd', { priceMinor: '2500', currency: 'USD' }),
      row('jpy', { priceMinor: '2500', currency: 'JPY' }),
      row('kwd', { priceMinor: '2500', currency: 'KWD' }),
      row('none', { priceMinor: '2500', currency: null }),
    ]);
    const all = positionsOf(s, ['usd', 'jpy', 'kwd', 'none']);
    // USD 25.00, JPY 2,500, KWD 2.500, no currency read as USD 25.00
    expect([...servableMask(s, all, { maxPrice: 25 })]).toEqual([1, 0, 1, 1]);
    expect([...servableMask(s, all, { minPrice: 2500 })]).toEqual([0, 1, 0, 0]);
    expect([...servableMask(s, all, { minPrice: 2.5, maxPrice: 2.5 })]).toEqual([0, 0, 1, 0]);
    expect([...servableMask(s, all, { minPrice: 2499.5, maxPrice: 2500.5 })]).toEqual([0, 1, 0, 0]);
  });

  it('moves its revision on visible changes only, and keeps positions across deletes and re-inserts', () => {
    const s = snapshotOf(rows);
    const r0 = s.revision;
    expect(applyItemRows(s, [row('a')])).toBe(false);
    expect(s.revision).toBe(r0);
    expect(applyItemRows(s, [row('a', { availability: 'out_of_stock' })])).toBe(true);
    expect(s.revision).toBe(r0 + 1);
    const p = s.index.get('c')!;
    applyItemRows(s, [], ['c', 'missing']);
    expect(isPresent(s, p)).toBe(false);
    expect(s.present).toBe(5);
    expect([...servableMask(s, positionsOf(s, ['c']), {})]).toEqual([0]);
    applyItemRows(s, [row('c'), row('g')]);
    expect(s.index.get('c')).toBe(p);
    expect(s.present).toBe(7);
    expect(s.ids[s.index.get('g')!]).toBe('g');
  });
});

describe('positionsOfInTurns', () => {
  it('equals positionsOf, giving the loop a turn between chunks and never inside one', async () => {
    const s = snapshotOf(Array.from({ length: 50 }, (_, k) => row(`i${k}`)));
    const ids = Array.from({ length: 23 }, (_, k) => `i${(k * 7) % 60}`); // some ids the catalog lacks (-1)
    let pauses = 0;
    const got = await positionsOfInTurns(s, ids, 5, async () => void pauses++);
    expect(got).toEqual(positionsOf(s, ids));
    expect(pauses).toBe(4); // 23 ids in chunks of 5
    expect(await positionsOfInTurns(s, [], 5, async () => void pauses++)).toEqual(new Int32Array(0));
    expect(pauses).toBe(4);
  });
});

describe('topAllowed', () => {
  it('equals sorting the allowed, finite, non-excluded scores (ties to the lower index)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(-Infinity), fc.constant(Number.NaN)), { maxLength: 60 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.array(fc.nat(70), { maxLength: 5 }),
        fc.nat(12),
        (raw, allowed, exclude, n) => {
          const scores = Float32Array.from(raw);
          const mask = Uint8Array.from(scores, (_, i) => (allowed[i] ? 1 : 0));
          const prior = { values: Float32Array.from(scores, (_, i) => i % 3), scale: 0.25 };
          const expected = [...scores.keys()]
            .filter((i) => mask[i] && !exclude.includes(i) && scores[i]! > -Infinity)
            .map((i) => ({ i, v: scores[i]! + 0.25 * (i % 3) }))
            .sort((a, b) => b.v - a.v || a.i - b.i)
            .slice(0, n);
          const got = topAllowed(scores, mask, n, exclude, prior);
          expect([...got.indices]).toEqual(expected.map((e) => e.i));
          expect([...got.scores]).toEqual(expected.map((e) => Math.fround(e.v)));
        },
      ),
    );
  });
});
