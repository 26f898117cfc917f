import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gs1CheckDigit, gtinSpellings, normalizeGtin } from './gtin.core.ts';

// Reference values: GS1's check-digit calculator (gs1.org/services/check-digit-calculator) and the printed
// barcodes they come from. 4006381333931 is the EAN-13 example of the GS1 General Specifications; 036000291452
// is the UPC-A of the Wikipedia "Universal Product Code" article (check digit 2 worked by hand there:
// 3*(0+6+0+2+1+5) + (3+0+0+9+4) = 58, 60 - 58 = 2); 96385074 is the GTIN-8 example of the GS1 calculator.
describe('GS1 check digit', () => {
  it('matches published examples', () => {
    expect(gs1CheckDigit('400638133393')).toBe(1);
    expect(gs1CheckDigit('03600029145')).toBe(2);
    expect(gs1CheckDigit('9638507')).toBe(4);
    expect(gs1CheckDigit('1001234567890')).toBe(2); // GTIN-14 example 10012345678902 of GS1's calculator
  });

  it('normalizes GTIN-8/12/13/14 to 14 digits, equal across forms', () => {
    expect(normalizeGtin('4006381333931')).toEqual({ ok: true, gtin14: '04006381333931' });
    expect(normalizeGtin('036000291452')).toEqual({ ok: true, gtin14: '00036000291452' });
    expect(normalizeGtin('0036000291452')).toEqual({ ok: true, gtin14: '00036000291452' });
    expect(normalizeGtin('9638-5074')).toEqual({ ok: true, gtin14: '00000096385074' });
    expect(normalizeGtin('10012345678902')).toEqual({ ok: true, gtin14: '10012345678902' });
  });

  it('refuses a bad check digit, wrong lengths, letters, all zeros, NUL bytes', () => {
    expect(normalizeGtin('4006381333932')).toEqual({ ok: false, reason: 'has a wrong check digit (expected 1)' });
    expect(normalizeGtin('12345').ok).toBe(false);
    expect(normalizeGtin('40063813339X1').ok).toBe(false);
    expect(normalizeGtin('00000000').ok).toBe(false);
    expect(normalizeGtin('4006381333931\u0000').ok).toBe(false);
    expect(normalizeGtin('9'.repeat(400)).ok).toBe(false);
  });

  it('property: every single-digit error is caught', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 }),
        fc.nat(12),
        fc.integer({ min: 1, max: 9 }),
        (body, pos, delta) => {
          const full = body.join('') + String(gs1CheckDigit(body.join('')));
          expect(normalizeGtin(full).ok || /^0+$/.test(full)).toBe(true);
          const broken = full.slice(0, pos) + String((Number(full[pos]) + delta) % 10) + full.slice(pos + 1);
          expect(normalizeGtin(broken).ok).toBe(false);
        },
      ),
    );
  });
});

describe('gtinSpellings', () => {
  it('drops leading zeros down to each GTIN length, and every spelling normalizes back', () => {
    expect(gtinSpellings('00036000291452')).toEqual(['00036000291452', '0036000291452', '036000291452']);
    expect(gtinSpellings('00000096385074')).toEqual(['00000096385074', '0000096385074', '000096385074', '96385074']);
    expect(gtinSpellings('15400141288763')).toEqual(['15400141288763']);
    for (const g of ['00036000291452', '00000096385074', '04006381333931'])
      for (const s of gtinSpellings(g)) expect(normalizeGtin(s)).toEqual({ ok: true, gtin14: g });
  });
});
