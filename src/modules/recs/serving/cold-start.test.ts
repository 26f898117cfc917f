import { describe, expect, it } from 'vitest';
import { type ServingItemRow, snapshotOf } from './catalog.snapshot.ts';
import { coldStartOf, contentScores } from './cold-start.ts';

const row = (itemId: string, name: string, category: string | null, brand: string | null): ServingItemRow => ({
  itemId,
  name,
  categoryPath: category,
  brand,
  priceMinor: '1000',
  currency: 'USD',
  imageUrl: null,
  availability: 'in_stock',
  stock: null,
  isActive: true,
  updatedAt: new Date('2026-01-01T00:00:00Z'),
});

const snap = snapshotOf([
  row('a', 'Red wireless headphones', 'Audio', 'Acme'),
  row('b', 'Blue wireless headphones', 'Audio', 'Acme'),
  row('c', 'Laptop stand', 'Computers', 'Globex'),
  row('d', 'Headphone case', 'Audio', null),
]);
const W = { view: 1, add_to_cart: 3, purchase: 5 };

describe('coldStartOf', () => {
  it('scores what recent shoppers touched by type, their latest interactions counting most', () => {
    const c = coldStartOf(
      snap,
      [
        { userId: 'u1', itemId: 'c', type: 'purchase' },
        { userId: 'u1', itemId: 'a', type: 'view' },
        { userId: 'u2', itemId: 'a', type: 'view' },
        { userId: 'u2', itemId: 'unknown', type: 'purchase' }, // not in the catalog: ignored
        { userId: 'u3', itemId: 'b', type: 'nonsense\u0000' }, // unknown type: weight 0 unless configured
      ],
      W,
    );
    expect(c.source).toBe('trending');
    const at = (id: string) => c.scores[snap.index.get(id)!]!;
    expect(at('c')).toBeCloseTo(5);
    expect(at('a')).toBeCloseTo(0.5 ** 0.1 + 1, 5); // u1's second interaction (decayed) + u2's first
    expect(at('b')).toBe(0);
    expect(at('d')).toBe(0);
  });

  it('falls back to catalog order when no interaction names a catalog item', () => {
    expect(coldStartOf(snap, [], W).source).toBe('catalog');
    expect(coldStartOf(snap, [{ userId: 'u', itemId: 'zzz', type: 'purchase' }], W).source).toBe('catalog');
    expect(coldStartOf(snapshotOf([]), [], W).scores.length).toBe(0);
  });
});

describe('contentScores', () => {
  it('ranks items sharing category, brand and words above the rest, never the item itself', () => {
    const c = coldStartOf(snap, [], W);
    const s = contentScores(c, snap.index.get('a')!);
    const at = (id: string) => s[snap.index.get(id)!]!;
    expect(at('a')).toBe(Number.NEGATIVE_INFINITY);
    expect(at('b')).toBeGreaterThan(at('d'));
    expect(at('d')).toBeGreaterThan(at('c'));
    expect(at('c')).toBe(0);
  });
});
