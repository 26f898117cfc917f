import { describe, expect, it } from 'vitest';
import { fmtMinor, fmtMoney } from '../dashboard/src/lib/format.ts';

/** The dashboard's money display: the currency's ISO 4217 digits, exact decimal text, minor units exact past 2^53. */
const locale = new Intl.NumberFormat().resolvedOptions().locale;

describe.runIf(locale === 'en-US')('dashboard money formatting (en-US runtime)', () => {
  it('shows major-unit amounts with the ISO digits of their currency', () => {
    expect(fmtMoney(19.99, 'USD')).toBe('$19.99');
    expect(fmtMoney(1500, 'JPY')).toBe('¥1,500');
    expect(fmtMoney(1.234, 'KWD')).toBe('KWD\u00a01.234');
    // Intl alone shows IDR with no decimals; ISO 4217 (what the server stores) has two.
    expect(fmtMoney(1500, 'IDR')).toBe('IDR\u00a01,500.00');
  });

  it('takes the catalog’s exact decimal text as it is', () => {
    expect(fmtMoney('1500', 'JPY')).toBe('¥1,500');
    expect(fmtMoney('92233720368547758.07', 'USD')).toBe('$92,233,720,368,547,758.07');
    expect(fmtMoney(null, 'USD')).toBe('—');
    expect(fmtMoney('12', 'ABC')).toBe('12 ABC');
  });

  it('shows exact minor units with the currency digits', () => {
    expect(fmtMinor('2235', 'KWD')).toBe('KWD\u00a02.235');
    expect(fmtMinor('1000', 'JPY')).toBe('¥1,000');
    expect(fmtMinor('9007199254740993', 'JPY')).toBe('¥9,007,199,254,740,993');
    expect(fmtMinor(null, 'USD')).toBe('—');
  });
});
