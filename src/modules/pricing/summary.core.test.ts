import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PricePoint, summarizePricing } from './pricing.core.ts';
import { bestOfGroup, historySince, summarizeGroup, type SummaryOffer } from './summary.core.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** Offers with full price histories (a step function per offer; the last point is the current price). */
const arbGroup = fc
  .array(
    fc.record({
      store: fc.integer({ min: 0, max: 5 }),
      currency: fc.constantFrom('USD', 'USD', 'USD', 'EUR'),
      availability: fc.constantFrom('in_stock', 'in_stock', 'out_of_stock', 'preorder'),
      prices: fc.array(fc.record({ dayGap: fc.integer({ min: 0, max: 50 }), minor: fc.integer({ min: 1, max: 20_000 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
    { maxLength: 8 },
  )
  .map((list) =>
    list.map((o, k) => {
      let at = T0;
      const history: PricePoint[] = o.prices.map((p) => {
        at += (p.dayGap + 1) * DAY;
        return { at: new Date(at), priceMinor: BigInt(p.minor), currency: o.currency };
      });
      const current = history[history.length - 1]!;
      const offer: SummaryOffer = {
        id: `o${k}`,
        storeId: `s${o.store}`,
        priceMinor: current.priceMinor,
        currency: o.currency,
        availability: o.availability,
        priceUpdatedAt: current.at,
      };
      return { offer, history };
    }),
  );

describe('group summary', () => {
  it('is what the product page computes for the group from every offer and its whole history (property)', () => {
    fc.assert(
      fc.property(arbGroup, (group) => {
        const offers = group.map((g) => g.offer);
        const page = summarizePricing(offers, { preferredCurrency: null, history: new Map(group.map((g) => [g.offer.id, g.history])) });
        const best = bestOfGroup(offers);
        // the row reads only the winner's history from `historySince` on (plus the point in effect then)
        const since = best ? historySince(best).getTime() : 0;
        const h = best ? group.find((g) => g.offer.id === best.id)!.history : [];
        const lastBefore = h.filter((p) => p.at.getTime() <= since).at(-1);
        const window = h.filter((p) => p.at.getTime() >= (lastBefore?.at.getTime() ?? since));
        const s = summarizeGroup('g', offers, window);
        expect(s.bestOfferId).toBe(page.best?.offer.id ?? null);
        expect(s.bestPriceMinor).toBe(page.best?.offer.priceMinor ?? null);
        expect(s.wasMinor).toBe(page.best?.wasMinor ?? null);
        expect(s.savingsMinor).toBe(page.best?.savingsMinor ?? 0n);
        expect([s.currency, s.minPriceMinor, s.maxPriceMinor, s.offerCount]).toEqual([
          page.currency,
          page.minMinor,
          page.maxMinor,
          offers.length,
        ]);
        if (s.nextPriceMinor !== null) expect(s.nextPriceMinor >= s.bestPriceMinor!).toBe(true);
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it('names the next competing price, skips errors and out-of-stock offers, and an empty group has no best', () => {
    const o = (id: string, price: number, availability = 'in_stock'): SummaryOffer => ({
      id,
      storeId: `s-${id}`,
      priceMinor: BigInt(price),
      currency: 'USD',
      availability,
      priceUpdatedAt: new Date(T0),
    });
    const s = summarizeGroup('g', [o('a', 5000), o('oos', 4000, 'out_of_stock'), o('err', 300), o('b', 5500), o('c', 6000)], []);
    expect(s).toMatchObject({ bestOfferId: 'a', bestPriceMinor: 5000n, nextPriceMinor: 5500n, minPriceMinor: 4000n, maxPriceMinor: 6000n });
    expect(s).toMatchObject({ wasMinor: null, savingsMinor: 0n, offerCount: 5 });
    expect(summarizeGroup('e', [], [])).toMatchObject({ bestOfferId: null, currency: null, savingsMinor: 0n, offerCount: 0 });
  });

  it('does not move with time: a reduction 40 days old keeps its was price (the window is anchored at the price change)', () => {
    // 120.00 from Jan 1, 100.00 from Feb 1: the 30 days before Feb 1 had 120.00, whenever the row is computed.
    const h: PricePoint[] = [
      { at: new Date('2026-01-01T00:00:00Z'), priceMinor: 12000n, currency: 'USD' },
      { at: new Date('2026-02-01T00:00:00Z'), priceMinor: 10000n, currency: 'USD' },
    ];
    const best: SummaryOffer = {
      id: 'a',
      storeId: 's',
      priceMinor: 10000n,
      currency: 'USD',
      availability: 'in_stock',
      priceUpdatedAt: h[1]!.at,
    };
    expect(historySince(best).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(summarizeGroup('g', [best], h)).toMatchObject({ wasMinor: 12000n, savingsMinor: 2000n });
  });
});
