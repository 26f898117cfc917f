import { describe, expect, it } from 'vitest';
import {
  downsampleSeries,
  lowestSeries,
  medianMinor,
  normMpn,
  normText,
  omnibusWasPrice,
  priceErrors,
  summarizePricing,
} from './pricing.core.ts';

const d = (s: string) => new Date(`${s}T00:00:00Z`);
const offer = (id: string, price: number, currency = 'USD', availability = 'in_stock') => ({
  id,
  storeId: `store-${id}`,
  priceMinor: BigInt(price),
  currency,
  availability,
});

describe('omnibus was price', () => {
  it('is the lowest price in effect during the 30 days before the current price (worked by hand)', () => {
    // 100.00 since Jan 1, 80.00 from Jan 20 to Feb 1, 120.00 (inflated) from Feb 1, 90.00 from Feb 10 (current).
    // Window: [Jan 11, Feb 10). Prices in effect there: 100.00 (Jan 1..Jan 20), 80.00, 120.00. Lowest: 80.00.
    const h = [
      { at: d('2026-01-01'), priceMinor: 10000n, currency: 'USD' },
      { at: d('2026-01-20'), priceMinor: 8000n, currency: 'USD' },
      { at: d('2026-02-01'), priceMinor: 12000n, currency: 'USD' },
      { at: d('2026-02-10'), priceMinor: 9000n, currency: 'USD' },
    ];
    expect(omnibusWasPrice(h, 'USD')).toBe(8000n);
    // The inflated list price never counts as "was": savings against it would be 30.00, the rule gives none.
    const s = summarizePricing([offer('a', 9000)], { preferredCurrency: 'USD', history: new Map([['a', h]]) });
    expect(s.best?.wasMinor).toBe(8000n);
    expect(s.best?.savingsMinor).toBe(0n);
  });

  it('ignores prices that ended before the window and has no was price without an earlier observation', () => {
    const h = [
      { at: d('2025-10-01'), priceMinor: 5000n, currency: 'USD' },
      { at: d('2025-11-01'), priceMinor: 10000n, currency: 'USD' },
      { at: d('2026-02-10'), priceMinor: 7500n, currency: 'USD' },
    ];
    // 50.00 ended Nov 1, before the window [Jan 11, Feb 10): the was price is 100.00, savings 25.00.
    expect(omnibusWasPrice(h, 'USD')).toBe(10000n);
    expect(omnibusWasPrice(h.slice(2), 'USD')).toBeNull();
  });
});

describe('best offer', () => {
  it('picks the cheapest in-stock offer in the product currency, flags a 90%-below-median price error', () => {
    const offers = [
      offer('a', 4500),
      offer('b', 7500),
      offer('c', 5000),
      offer('err', 400),
      offer('oos', 3000, 'USD', 'out_of_stock'),
      offer('eur', 100, 'EUR'),
    ];
    const s = summarizePricing(offers, { preferredCurrency: 'USD', history: new Map() });
    expect(s.currency).toBe('USD');
    expect(s.best?.offer.id).toBe('a');
    expect([...s.priceErrorIds]).toEqual(['err']); // median of 400, 3000, 4500, 5000, 7500 is 4500; 400 * 10 < 4500
    expect(s.others.map((o) => o.id)).toEqual(['err', 'oos', 'c', 'b']);
    expect(s.otherCurrency.map((o) => o.id)).toEqual(['eur']);
    expect([s.minMinor, s.maxMinor]).toEqual([3000n, 7500n]);
  });

  it('a single offer is its own best; no offers give no best', () => {
    expect(summarizePricing([offer('a', 1)], { preferredCurrency: null, history: new Map() }).best?.offer.id).toBe('a');
    expect(summarizePricing([], { preferredCurrency: 'USD', history: new Map() }).best).toBeNull();
  });

  it('needs three offers to call a price an error; median of an even count is the lower middle', () => {
    expect(priceErrors([offer('a', 1), offer('b', 1000)], 'USD').size).toBe(0);
    expect(medianMinor([4n, 1n, 3n, 2n])).toBe(2n);
  });
});

describe('price history downsampling', () => {
  it('takes the lowest price in effect per bucket and the pointwise best', () => {
    const a = [
      { at: d('2026-01-01'), priceMinor: 100n, currency: 'USD' },
      { at: d('2026-01-02'), priceMinor: 80n, currency: 'USD' },
      { at: d('2026-01-03'), priceMinor: 90n, currency: 'USD' },
    ];
    const sa = downsampleSeries(a, d('2026-01-01'), d('2026-01-05'), 4);
    expect(sa.map((p) => p.priceMinor)).toEqual([100n, 80n, 90n, 90n]);
    const sb = downsampleSeries([{ at: d('2026-01-03'), priceMinor: 85n, currency: 'USD' }], d('2026-01-01'), d('2026-01-05'), 4);
    expect(sb.map((p) => p.priceMinor)).toEqual([null, null, 85n, 85n]);
    expect(lowestSeries([sa, sb]).map((p) => p.priceMinor)).toEqual([100n, 80n, 85n, 85n]);
  });

  it('never returns more points than asked, even over years of hourly changes', () => {
    const pts = Array.from({ length: 20_000 }, (_, k) => ({
      at: new Date(Date.UTC(2024, 0, 1) + k * 3_600_000),
      priceMinor: BigInt(1000 + (k % 7)),
      currency: 'USD',
    }));
    const s = downsampleSeries(pts, d('2024-01-01'), d('2026-04-01'), 200);
    expect(s.length).toBe(200);
    expect(s.every((p) => p.priceMinor === 1000n)).toBe(true);
  });
});

describe('normalization', () => {
  it('folds case, accents and punctuation', () => {
    expect(normText('Hewlett-Packard® Café')).toBe('hewlett packard cafe');
    expect(normMpn('WH-1000XM4')).toBe('wh1000xm4');
    expect(normMpn('a-1')).toBeNull();
  });
});
