/**
 * GTIN (GS1 Global Trade Item Number) rules, pure. GTIN-8, UPC-A (GTIN-12), EAN-13 (GTIN-13) and GTIN-14
 * are one number space: left-padded with zeros to 14 digits they compare equal (UPC 036000291452 is EAN
 * 0036000291452 is GTIN-14 00036000291452). The last digit is the GS1 mod-10 check digit.
 */

export type GtinResult = { ok: true; gtin14: string } | { ok: false; reason: string };

/**
 * GS1 check digit of `body` (the digits before the check digit): from the right, weights 3, 1, 3, 1 ...;
 * the check digit brings the weighted sum to a multiple of 10. O(length).
 */
export function gs1CheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * A GTIN as given by a feed (spaces and dashes tolerated) normalized to its 14-digit form, or the reason it
 * is refused: not 8, 12, 13 or 14 digits, a wrong check digit, or all zeros.
 */
export function normalizeGtin(raw: string): GtinResult {
  const digits = raw.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'must contain only digits' };
  if (![8, 12, 13, 14].includes(digits.length)) return { ok: false, reason: 'must have 8, 12, 13 or 14 digits' };
  if (/^0+$/.test(digits)) return { ok: false, reason: 'must not be all zeros' };
  const check = gs1CheckDigit(digits.slice(0, -1));
  if (check !== digits.charCodeAt(digits.length - 1) - 48) return { ok: false, reason: `has a wrong check digit (expected ${check})` };
  return { ok: true, gtin14: digits.padStart(14, '0') };
}

/**
 * The ways a GTIN-14 may be written as a GTIN-8, UPC-A, EAN-13 or GTIN-14 (its leading zeros dropped down to
 * each length), to find it where GTINs are kept as given: 00036000291452 → itself, 0036000291452, 036000291452.
 */
export function gtinSpellings(gtin14: string): string[] {
  const out = [gtin14];
  for (const len of [13, 12, 8]) if (/^0+$/.test(gtin14.slice(0, 14 - len))) out.push(gtin14.slice(14 - len));
  return out;
}
