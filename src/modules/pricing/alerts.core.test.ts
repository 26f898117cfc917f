import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlertState, evaluateAlert, initialAlert } from './alerts.core.ts';

/** Runs prices through an alert and returns the prices it fired at. */
function fired(a: AlertState, prices: (bigint | null)[]): (bigint | null)[] {
  const out: (bigint | null)[] = [];
  let s = a;
  for (const p of prices) {
    const r = evaluateAlert(s, p);
    if (r.fire) out.push(p);
    s = r.next;
  }
  return out;
}

describe('price alerts', () => {
  it('a target alert fires once when the price reaches the target, again only after rising above it', () => {
    const a = initialAlert('target_price', 5000n, 6000n);
    expect(fired(a, [5500n, 5000n, 4900n, 5000n, null, 4800n, 5100n, 4999n])).toEqual([5000n, 4999n]);
  });

  it('a target already reached when the alert is made does not fire until it is reached again', () => {
    const a = initialAlert('target_price', 5000n, 4500n);
    expect(fired(a, [4500n, 4000n, 5200n, 4900n])).toEqual([4900n]);
  });

  it('an any-drop alert fires on each new low, not on a rise and the same drop again', () => {
    const a = initialAlert('any_drop', null, 10000n);
    expect(fired(a, [10000n, 9000n, 10000n, 9000n, 8500n, null, 8500n])).toEqual([9000n, 8500n]);
    // No price when created: the first price seen is the reference.
    expect(fired(initialAlert('any_drop', null, null), [700n, 700n, 650n])).toEqual([650n]);
  });

  it('property: re-evaluating the same price never fires twice in a row', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('target_price' as const, 'any_drop' as const),
        fc.bigInt({ min: 1n, max: 100000n }),
        fc.array(fc.option(fc.bigInt({ min: 1n, max: 100000n }), { nil: null }), { maxLength: 30 }),
        (kind, target, prices) => {
          let s = initialAlert(kind, target, prices[0] ?? null);
          for (const p of prices) {
            const first = evaluateAlert(s, p);
            const again = evaluateAlert(first.next, p);
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
        const f = fired(initialAlert('any_drop', null, null), prices) as bigint[];
        for (let i = 1; i < f.length; i++) expect(f[i]! < f[i - 1]!).toBe(true);
      }),
    );
  });
});
