import { describe, expect, it } from 'vitest';
import { priceFreshness } from './refresh.core.ts';

const now = new Date('2026-12-06T12:00:00Z');
const h = (n: number) => new Date(now.getTime() - n * 3_600_000);
const DAY = 24 * 3_600_000;

describe('priceFreshness', () => {
  it('is fresh without offers', () => {
    expect(priceFreshness([], new Map(), now, DAY)).toEqual({ stale: false, refreshedAt: null, staleStores: [] });
  });
  it('judges an offer by the later of its price change and its store’s last successful run', () => {
    const offers = [
      { storeId: 'a', priceUpdatedAt: h(48) },
      { storeId: 'b', priceUpdatedAt: h(30) },
      { storeId: 'b', priceUpdatedAt: h(40) },
      { storeId: 'c', priceUpdatedAt: h(2) },
    ];
    const f = priceFreshness(
      offers,
      new Map([
        ['a', h(1)],
        ['b', null],
      ]),
      now,
      DAY,
    );
    expect(f.stale).toBe(true);
    expect(f.staleStores).toEqual(['b']);
    expect(f.refreshedAt).toEqual(h(40));
  });
  it('an offer exactly at the limit is fresh; one millisecond older is stale', () => {
    const at = new Date(now.getTime() - DAY);
    expect(priceFreshness([{ storeId: 'a', priceUpdatedAt: at }], new Map(), now, DAY).stale).toBe(false);
    expect(priceFreshness([{ storeId: 'a', priceUpdatedAt: new Date(at.getTime() - 1) }], new Map(), now, DAY).stale).toBe(true);
  });
});
