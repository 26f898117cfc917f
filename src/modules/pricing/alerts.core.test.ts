import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, type AlertState, evaluateAlert, initialAlert, isPercentDrop } from './alerts.core.ts';

/** Runs prices through an alert and returns the prices it fired at. */
function fired(a: AlertState, prices: (bigint | null)[], windowLows: (bigint | null)[] = []): (bigint | null)[] {
  const out: (bigint | null)[] = [];
  let s = a;
  for (const [i, p] of prices.entries()) {
    const r = evaluateAlert(s, { best: p, windowLowMinor: windowLows[i] ?? null });
    if (r.fire) out.push(p);
    s = r.next;
  }
  return out;
}

describe('price alerts', () => {
  it('a target alert fires once when the price reaches the target, again only after rising above it', () => {
    const a = initialAlert('target_price', { targetMinor: 5000n }, 6000n);
    expect(fired(a, [5500n, 5000n, 4900n, 5000n, null, 4800n, 5100n, 4999n])).toEqual([5000n, 4999n]);
  });

  it('a target already reached when the alert is made does not fire until it is reached again', () => {
    const a = initialAlert('target_price', { targetMinor: 5000n }, 4500n);
    expect(fired(a, [4500n, 4000n, 5200n, 4900n])).toEqual([4900n]);
  });

  it('an any-drop alert fires on each new low, not on a rise and the same drop again', () => {
    const a = initialAlert('any_drop', {}, 10000n);
    expect(fired(a, [10000n, 9000n, 10000n, 9000n, 8500n, null, 8500n])).toEqual([9000n, 8500n]);
    // No price when created: the first price seen is the reference.
    expect(fired(initialAlert('any_drop', {}, null), [700n, 700n, 650n])).toEqual([650n]);
  });

  it('a percent drop fires at the threshold from the price at creation, then from the price it fired at', () => {
    const a = initialAlert('percent_drop', { dropPercent: 10 }, 10000n);
    // 9001 is 9.99% off: no; 9000 is exactly 10%: fires; then 10% below 9000 is 8100.
    expect(fired(a, [10000n, 9001n, 9000n, 9000n, 12000n, 8101n, 8100n])).toEqual([9000n, 8100n]);
    // A rise does not move the reference: 20000 then 18000 is 10% off the rise, not off the 10000 reference.
    expect(fired(initialAlert('percent_drop', { dropPercent: 10 }, 10000n), [20000n, 18000n, 9000n])).toEqual([9000n]);
    // No price when created (no history): the first price seen is the reference, it fires nothing.
    expect(fired(initialAlert('percent_drop', { dropPercent: 50 }, null), [null, 400n, 200n])).toEqual([200n]);
    // Equal prices are never a drop.
    expect(fired(initialAlert('percent_drop', { dropPercent: 1 }, 500n), [500n, 500n])).toEqual([]);
  });

  it('a percent drop is exact in minor units whatever the currency exponent (JPY 0, USD 2, KWD 3 decimals)', () => {
    expect(isPercentDrop(1000n, 750n, 25)).toBe(true); // ¥1000 -> ¥750
    expect(isPercentDrop(1000n, 751n, 25)).toBe(false);
    expect(isPercentDrop(999n, 749n, 25)).toBe(true); // 749.25 is the bound: 749 is below it
    expect(isPercentDrop(999n, 750n, 25)).toBe(false);
    expect(isPercentDrop(10n ** 30n, 10n ** 28n, 99)).toBe(true); // huge amounts: bigint, no float rounding
  });

  it('lowest in N days fires when strictly below every price of the window, once, never without history', () => {
    const a = initialAlert('lowest_in_days', { windowDays: 30 }, 10000n);
    expect(a.windowDays).toBe(30);
    // window lows as the repository computes them (the prices in effect in the window before this change)
    expect(fired(a, [10000n, 9000n, 9000n, 9500n, 9000n, 8000n], [10000n, 10000n, 9000n, 9000n, 9000n, 9000n])).toEqual([9000n, 8000n]);
    // Equal to the window's low is not a new low; no history in the window is no low.
    expect(fired(initialAlert('lowest_in_days', { windowDays: 7 }, 700n), [700n, 600n], [700n, null])).toEqual([]);
    // The low aged out of the window: a price below what remains is again the lowest in N days.
    expect(fired(initialAlert('lowest_in_days', { windowDays: 7 }, 950n), [920n], [950n])).toEqual([920n]);
  });

  it('back in stock fires when an offer is in stock after none was, re-arms only when none is again', () => {
    expect(fired(initialAlert('back_in_stock', {}, null), [null, 500n, 400n, null, null, 450n, 450n])).toEqual([500n, 450n]);
    // In stock when created: fires only after going out and coming back.
    expect(fired(initialAlert('back_in_stock', {}, 500n), [500n, 300n, null, 900n])).toEqual([900n]);
  });

  it('no price (nothing in stock in the currency) changes no price rule', () => {
    for (const kind of ['target_price', 'any_drop', 'percent_drop', 'lowest_in_days'] as const) {
      const a = initialAlert(kind, { targetMinor: 100n, dropPercent: 10, windowDays: 30 }, 1000n);
      expect(evaluateAlert(a, { best: null, windowLowMinor: 5000n })).toEqual({ fire: false, next: a });
    }
  });

  it('property: re-evaluating the same observation never fires twice in a row, for every kind', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALERT_KINDS),
        fc.bigInt({ min: 1n, max: 100000n }),
        fc.integer({ min: 1, max: 99 }),
        fc.array(
          fc.tuple(
            fc.option(fc.bigInt({ min: 1n, max: 100000n }), { nil: null }),
            fc.option(fc.bigInt({ min: 1n, max: 100000n }), { nil: null }),
          ),
          {
            maxLength: 30,
          },
        ),
        (kind, target, pct, obs) => {
          let s = initialAlert(kind, { targetMinor: target, dropPercent: pct, windowDays: 30 }, obs[0]?.[0] ?? null);
          for (const [p, low] of obs) {
            const first = evaluateAlert(s, { best: p, windowLowMinor: low });
            const again = evaluateAlert(first.next, { best: p, windowLowMinor: low });
            expect(again.fire).toBe(false);
            s = first.next;
          }
        },
      ),
    );
  });

  it('property: an any-drop alert fires at strictly falling prices only', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 1000n }), { maxLength: 40 }), (prices) => {
        const f = fired(initialAlert('any_drop', {}, null), prices) as bigint[];
        for (let i = 1; i < f.length; i++) expect(f[i]! < f[i - 1]!).toBe(true);
      }),
    );
  });
});
