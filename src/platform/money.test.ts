import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURRENCIES_BY_EXPONENT,
  CURRENCY_CODES,
  MAX_MINOR,
  MoneyError,
  currencyExponent,
  divideMinor,
  formatMoney,
  formatMoneyDisplay,
  isCurrencyCode,
  minorToMajor,
  minorToNumber,
  parseMoney,
  toMinor,
} from './money.ts';

describe('currencyExponent', () => {
  it('reads ISO 4217, not Intl display digits', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('BHD')).toBe(3);
    expect(currencyExponent('CLF')).toBe(4);
    expect(currencyExponent('jpy')).toBe(0);
    // CLDR displays these with 0 decimals; ISO 4217 (what payment processors send) says 2 and 3.
    expect(currencyExponent('IDR')).toBe(2);
    expect(currencyExponent('HUF')).toBe(2);
    expect(currencyExponent('IQD')).toBe(3);
    expect(CURRENCIES_BY_EXPONENT.get(0)).toContain('JPY');
    expect(CURRENCIES_BY_EXPONENT.get(3)).toContain('KWD');
    expect(CURRENCIES_BY_EXPONENT.get(4)).toContain('CLF');
    expect(CURRENCIES_BY_EXPONENT.has(2)).toBe(false);
  });

  it('refuses an unknown code instead of assuming two decimals', () => {
    expect(isCurrencyCode('ABC')).toBe(false);
    expect(() => currencyExponent('ABC')).toThrow(MoneyError);
    expect(() => currencyExponent('')).toThrow(/unknown currency/);
    expect(parseMoney('1', 'ABC')).toEqual({ ok: false, reason: 'is in an unknown currency "ABC"' });
    expect(() => formatMoney(100n, 'ABC')).toThrow(MoneyError);
  });
});

describe('parseMoney', () => {
  it('parses decimal text and numbers exactly per currency', () => {
    expect(parseMoney('19.99', 'USD')).toEqual({ ok: true, minor: 1999n });
    expect(parseMoney(19.99, 'USD')).toEqual({ ok: true, minor: 1999n });
    expect(parseMoney(0.1, 'USD')).toEqual({ ok: true, minor: 10n });
    expect(parseMoney('1500', 'JPY')).toEqual({ ok: true, minor: 1500n });
    expect(parseMoney('1.234', 'KWD')).toEqual({ ok: true, minor: 1234n });
    expect(parseMoney(1.005, 'KWD')).toEqual({ ok: true, minor: 1005n });
    expect(parseMoney('0.0001', 'CLF')).toEqual({ ok: true, minor: 1n });
    expect(parseMoney(' 19.990 ', 'USD')).toEqual({ ok: true, minor: 1999n }); // trailing zeros are not extra precision
    expect(parseMoney('12.', 'USD')).toEqual({ ok: true, minor: 1200n });
    expect(parseMoney('.5', 'USD')).toEqual({ ok: true, minor: 50n });
    expect(parseMoney('+3', 'USD')).toEqual({ ok: true, minor: 300n });
    expect(parseMoney(1e18, 'JPY')).toEqual({ ok: true, minor: 10n ** 18n }); // String(1e18) has no exponent; 1e21 has one
    expect(parseMoney(1e21, 'JPY')).toEqual({ ok: false, reason: 'is too large' });
    expect(parseMoney(1e-7, 'USD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 0n });
    expect(parseMoney(1.5e3, 'JPY')).toEqual({ ok: true, minor: 1500n });
  });

  it('refuses more decimals than the currency has, unless a rounding is asked for', () => {
    expect(parseMoney('12.50', 'JPY')).toEqual({ ok: false, reason: 'has more than 0 decimal places for JPY' });
    expect(parseMoney('1.2345', 'KWD')).toEqual({ ok: false, reason: 'has more than 3 decimal places for KWD' });
    expect(parseMoney('19.999', 'USD').ok).toBe(false);
    // Half to even: ties go to the even neighbour; anything past the tie goes up.
    expect(parseMoney('10.005', 'USD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 1000n });
    expect(parseMoney('10.015', 'USD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 1002n });
    expect(parseMoney('10.0051', 'USD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 1001n });
    expect(parseMoney('10.0049', 'USD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 1000n });
    expect(parseMoney('1.2345', 'KWD', { rounding: 'half-even' })).toEqual({ ok: true, minor: 1234n });
    expect(parseMoney('-2.5', 'JPY', { rounding: 'half-even', allowNegative: true })).toEqual({ ok: true, minor: -2n });
    expect(parseMoney('-3.5', 'JPY', { rounding: 'half-even', allowNegative: true })).toEqual({ ok: true, minor: -4n });
    // Range filters: a minimum rounds up, a maximum down, so the bound keeps its meaning.
    expect(parseMoney('19.991', 'USD', { rounding: 'ceil' })).toEqual({ ok: true, minor: 2000n });
    expect(parseMoney('19.999', 'USD', { rounding: 'floor' })).toEqual({ ok: true, minor: 1999n });
    expect(parseMoney('-1.5', 'JPY', { rounding: 'floor', allowNegative: true })).toEqual({ ok: true, minor: -2n });
    expect(parseMoney('-1.5', 'JPY', { rounding: 'ceil', allowNegative: true })).toEqual({ ok: true, minor: -1n });
  });

  it('refuses what is not a plain decimal, negatives by default, and values past int8', () => {
    for (const bad of ['', ' ', '.', '-', '1,000', '1,5', '1 000', '1e5', '0x10', 'NaN', '١٢', '1.2.3', '$5', '5 USD'])
      expect(parseMoney(bad, 'USD').ok, bad).toBe(false);
    expect(parseMoney('1,000', 'USD')).toEqual({ ok: false, reason: 'must be a decimal amount such as 19.99 (no thousands separators)' });
    expect(parseMoney(Number.NaN, 'USD')).toEqual({ ok: false, reason: 'must be a finite number' });
    expect(parseMoney(Number.POSITIVE_INFINITY, 'USD').ok).toBe(false);
    expect(parseMoney('-1', 'USD')).toEqual({ ok: false, reason: 'must not be negative' });
    expect(parseMoney('-1', 'USD', { allowNegative: true })).toEqual({ ok: true, minor: -100n });
    expect(parseMoney('92233720368547758.07', 'USD')).toEqual({ ok: true, minor: MAX_MINOR });
    expect(parseMoney('92233720368547758.08', 'USD')).toEqual({ ok: false, reason: 'is too large' });
    expect(parseMoney('-92233720368547758.08', 'USD', { allowNegative: true })).toEqual({ ok: false, reason: 'is too large' });
    expect(parseMoney(1e21, 'USD')).toEqual({ ok: false, reason: 'is too large' });
  });

  it('toMinor throws MoneyError with a clear message', () => {
    expect(toMinor('1.234', 'KWD')).toBe(1234n);
    expect(() => toMinor('1.5', 'JPY')).toThrow('amount has more than 0 decimal places for JPY');
    expect(() => toMinor('1', 'XYZ')).toThrow(/unknown currency "XYZ"/);
  });
});

describe('formatting', () => {
  it('formats exact decimal text with the currency digits', () => {
    expect(formatMoney(1999n, 'USD')).toBe('19.99');
    expect(formatMoney('5', 'USD')).toBe('0.05');
    expect(formatMoney(-5n, 'USD')).toBe('-0.05');
    expect(formatMoney(1500n, 'JPY')).toBe('1500');
    expect(formatMoney(1234n, 'KWD')).toBe('1.234');
    expect(formatMoney(1n, 'CLF')).toBe('0.0001');
    expect(formatMoney(MAX_MINOR, 'USD')).toBe('92233720368547758.07');
  });

  it('displays with Intl and the ISO digits, exactly beyond 2^53', () => {
    expect(formatMoneyDisplay(1999n, 'USD', 'en-US')).toBe('$19.99');
    expect(formatMoneyDisplay(150000n, 'JPY', 'en-US')).toBe('¥150,000');
    expect(formatMoneyDisplay(1234n, 'KWD', 'en-US')).toBe('KWD\u00a01.234');
    expect(formatMoneyDisplay(150000n, 'IDR', 'en-US')).toBe('IDR\u00a01,500.00');
    expect(formatMoneyDisplay(2n ** 53n + 1n, 'JPY', 'en-US')).toBe('¥9,007,199,254,740,993');
    expect(formatMoneyDisplay(MAX_MINOR, 'USD', 'en-US')).toBe('$92,233,720,368,547,758.07');
  });

  it('converts to numbers only where exact, and to major units through the exact text', () => {
    expect(minorToMajor(1999n, 'USD')).toBe(19.99);
    expect(minorToMajor('1500', 'JPY')).toBe(1500);
    expect(minorToMajor(1234n, 'KWD')).toBe(1.234);
    expect(minorToNumber('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => minorToNumber('9007199254740992')).toThrow(MoneyError);
  });

  it('divides minor units with half-even rounding', () => {
    expect(divideMinor(1000n, 3n)).toBe(333n);
    expect(divideMinor(2235n, 2n)).toBe(1118n);
    expect(divideMinor(2233n, 2n)).toBe(1116n);
    expect(divideMinor(-7n, 2n)).toBe(-4n);
    expect(divideMinor(5n, 1n)).toBe(5n);
    expect(() => divideMinor(1n, 0n)).toThrow(MoneyError);
  });
});

describe('properties', () => {
  const anyCurrency = fc.constantFrom(...CURRENCY_CODES);
  const inRange = fc.bigInt({ min: -MAX_MINOR, max: MAX_MINOR });

  it('parse(format(x)) is x for every currency and every storable amount, beyond 2^53 included', () => {
    fc.assert(
      fc.property(inRange, anyCurrency, (minor, cur) => {
        const text = formatMoney(minor, cur);
        expect(parseMoney(text, cur, { allowNegative: true })).toEqual({ ok: true, minor });
        expect(text.split('.')[1]?.length ?? 0).toBe(currencyExponent(cur));
      }),
      { numRuns: 2000 },
    );
  });

  it('values just past 2^53 stay exact (no float on the way)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 2n ** 53n + 10_000n }), anyCurrency, (minor, cur) => {
        expect(toMinor(formatMoney(minor, cur), cur)).toBe(minor);
      }),
    );
  });

  it('a JSON number with at most the currency digits converts without float drift', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom('USD', 'JPY', 'KWD', 'CLF'), (minor, cur) => {
        expect(parseMoney(Number(formatMoney(BigInt(minor), cur)), cur)).toEqual({ ok: true, minor: BigInt(minor) });
      }),
    );
  });

  it('half-even rounding is within half a minor unit, and floor <= half-even <= ceil', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 1, max: 6 }), anyCurrency, (scaled, extra, cur) => {
        const exp = currencyExponent(cur);
        const digits = exp + extra;
        const s = scaled.toString().padStart(digits + 1, '0');
        const text = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
        const get = (rounding: 'half-even' | 'floor' | 'ceil') => {
          const r = parseMoney(text, cur, { rounding });
          if (!r.ok) throw new Error(r.reason);
          return r.minor;
        };
        const he = get('half-even');
        const scale = 10n ** BigInt(extra);
        const err = he * scale - scaled; // in units of 10^-digits
        expect(2n * (err < 0n ? -err : err) <= scale).toBe(true);
        expect(get('floor') <= he && he <= get('ceil')).toBe(true);
        expect(get('floor')).toBe(scaled / scale);
      }),
    );
  });
});
