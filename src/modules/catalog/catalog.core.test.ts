import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryNodesFor, currencyExponent, formatMoney, lastWins, parseMoney, splitCategoryPath } from './catalog.core.ts';
import { prefixUpper } from './search.repository.ts';

describe('money', () => {
  it('parses decimals exactly per currency exponent', () => {
    expect(parseMoney('99.99', 'USD')).toEqual({ ok: true, minor: 9999n });
    expect(parseMoney(0.1, 'USD')).toEqual({ ok: true, minor: 10n });
    expect(parseMoney(1.005, 'KWD')).toEqual({ ok: true, minor: 1005n });
    expect(parseMoney('1500', 'JPY')).toEqual({ ok: true, minor: 1500n });
    expect(parseMoney('12.50', 'JPY')).toMatchObject({ ok: false });
    expect(parseMoney('12.', 'USD')).toEqual({ ok: true, minor: 1200n });
    for (const bad of ['-1', '1e5', 'NaN', '', ' ', '1,5', '0x10', '١٢']) expect(parseMoney(bad, 'USD').ok, bad).toBe(false);
    expect(parseMoney(Number.POSITIVE_INFINITY, 'USD').ok).toBe(false);
    expect(parseMoney(1e21, 'USD').ok).toBe(false); // String(1e21) is exponent notation: refused, not misread
  });

  it('round-trips: format(parse(x)) is x for every amount with at most the currency decimals', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'), (minor, cur) => {
        const text = formatMoney(minor, cur);
        const back = parseMoney(text, cur);
        expect(back).toEqual({ ok: true, minor });
        expect(text.split('.')[1]?.length ?? 0).toBe(currencyExponent(cur));
      }),
    );
  });

  it('JSON numbers with two decimals convert without float drift', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (cents) => {
        const asNumber = Number(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`);
        expect(parseMoney(asNumber, 'USD')).toEqual({ ok: true, minor: BigInt(cents) });
      }),
    );
  });
});

describe('category paths', () => {
  it('normalizes separators and spacing, and lists ancestors parents first', () => {
    expect(splitCategoryPath(' Electronics>Audio  >   Head  phones ')).toEqual(['Electronics', 'Audio', 'Head phones']);
    expect(splitCategoryPath(' > > ')).toEqual([]);
    expect(categoryNodesFor(['A > B > C', 'A > D', 'A>B'])).toEqual([
      { path: 'A', name: 'A', parentPath: null, depth: 0 },
      { path: 'A > B', name: 'B', parentPath: 'A', depth: 1 },
      { path: 'A > D', name: 'D', parentPath: 'A', depth: 1 },
      { path: 'A > B > C', name: 'C', parentPath: 'A > B', depth: 2 },
    ]);
  });
});

describe('helpers', () => {
  it('lastWins keeps the last occurrence of each key', () => {
    expect(
      lastWins(
        [
          { k: 'a', v: 1 },
          { k: 'b', v: 2 },
          { k: 'a', v: 3 },
        ],
        (r) => r.k,
      ),
    ).toEqual([
      { k: 'b', v: 2 },
      { k: 'a', v: 3 },
    ]);
  });
  it('prefixUpper bounds exactly the strings with the prefix (code point order)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 4 }), (p, rest) => {
        const hi = prefixUpper(p);
        expect(p + rest < hi || [...p].at(-1) === '\u{10ffff}').toBe(true);
      }),
    );
    expect(prefixUpper('so')).toBe('sp');
  });
});
