import { describe, expect, it } from 'vitest';
import { dedupeOffers, detectFormat, parseFeed, validateRecord } from './feed.core.ts';

const GOOD_EAN = '4006381333931';

describe('feed parsing', () => {
  it('reads Google-format RSS with g: attributes', () => {
    const xml = `<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel><title>s</title>
      <item><g:id>A1</g:id><title>Sony WH-1000XM4 &amp; case</title><g:price>279.99 USD</g:price><g:gtin>${GOOD_EAN}</g:gtin>
      <g:brand>Sony</g:brand><g:availability>in stock</g:availability><link>https://shop.example/a1</link></item>
      <item><g:id>A2</g:id><title>Other</title><g:price>10.00 USD</g:price></item></channel></rss>`;
    expect(detectFormat(xml)).toBe('xml');
    const recs = parseFeed(xml, 'xml');
    expect(recs).toHaveLength(2);
    const v = validateRecord(recs[0]!, 1, null);
    expect(v.offer).toMatchObject({
      externalId: 'A1',
      title: 'Sony WH-1000XM4 & case',
      priceMinor: 27999n,
      currency: 'USD',
      gtin: `0${GOOD_EAN}`,
      brand: 'Sony',
      affiliateUrl: 'https://shop.example/a1',
    });
  });

  it('reads Atom entries, JSON arrays and objects, CSV with g: headers', () => {
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0"><entry><g:id>X</g:id><g:title>T</g:title><g:price>1 EUR</g:price></entry></feed>`;
    expect(parseFeed(atom, 'xml')).toEqual([{ id: 'X', title: 'T', price: '1 EUR' }]);
    expect(parseFeed('{"items":[{"id":"1"}]}', 'json')).toEqual([{ id: '1' }]);
    expect(parseFeed('[1]', 'json')).toEqual([{ __invalid: 'not an object' }]);
    expect(parseFeed('g:id,Title,price\n1,a,2.00 USD\n', 'csv')).toEqual([{ id: '1', title: 'a', price: '2.00 USD' }]);
  });

  it('refuses unreadable documents and entity declarations as a whole', () => {
    expect(() => parseFeed('<!DOCTYPE x [<!ENTITY a "aaaa">]><rss/>', 'xml')).toThrow(/entity/);
    expect(() => parseFeed('<html></html>', 'xml')).toThrow(/RSS/);
    expect(() => parseFeed('{"nope":1}', 'json')).toThrow();
  });
});

describe('row validation', () => {
  const v = (rec: Record<string, unknown>, cur: string | null = null) => validateRecord(rec, 7, cur);

  it('refuses a price of 0 or negative, an unknown currency, too many decimals, a missing id or title', () => {
    expect(v({ id: '1', title: 't', price: '0 USD' }).issues).toEqual([
      { row: 7, field: 'price', message: 'must be greater than zero', level: 'error' },
    ]);
    expect(v({ id: '1', title: 't', price: '-3.00 USD' }).issues[0]?.message).toBe('must not be negative');
    expect(v({ id: '1', title: 't', price: '3.00 XYZ' }).issues[0]?.message).toMatch(/unknown currency/);
    expect(v({ id: '1', title: 't', price: '3.001 USD' }).issues[0]?.message).toMatch(/more than 2 decimal/);
    expect(v({ id: '1', title: 't', price: '1,000.00 USD' }).offer).toBeNull();
    expect(v({ title: 't', price: '1 USD' }).issues.map((i) => i.field)).toEqual(['id']);
    expect(v({ id: '1', price: '1 USD' }).issues.map((i) => i.field)).toEqual(['title']);
  });

  it('keeps an offer with a bad GTIN check digit, without the GTIN, as a warning', () => {
    const out = v({ id: '1', title: 't', price: '5', gtin: '4006381333932' }, 'EUR');
    expect(out.offer).toMatchObject({ gtin: null, priceMinor: 500n, currency: 'EUR' });
    expect(out.issues).toEqual([
      { row: 7, field: 'gtin', message: 'has a wrong check digit (expected 1): the offer is kept without it', level: 'warning' },
    ]);
  });

  it('refuses NUL bytes and lone surrogates, takes sale_price and a currency column, "USD 5" order', () => {
    expect(v({ id: '1', title: 'a\u0000b', price: '1 USD' }).issues[0]).toMatchObject({ field: 'title', message: 'contains a NUL byte' });
    expect(v({ id: '1', title: 'a\ud800', price: '1 USD' }).issues[0]).toMatchObject({
      field: 'title',
      message: 'contains a lone surrogate',
    });
    expect(v({ id: '1', title: 't', price: '10', sale_price: '8', currency: 'jpy' }).offer).toMatchObject({
      priceMinor: 8n,
      currency: 'JPY',
    });
    expect(v({ id: '1', title: 't', price: 'USD 5.50' }).offer).toMatchObject({ priceMinor: 550n, currency: 'USD' });
    expect(v({ id: '1', title: 't', price: '1 USD', availability: 'sometimes' }).issues[0]?.field).toBe('availability');
    expect(v({ id: '1', title: 't', price: '9'.repeat(30) + ' USD' }).issues[0]?.message).toBe('is too large');
  });

  it('duplicated offers: the last record of an id wins, earlier ones are warnings', () => {
    const a = v({ id: '1', title: 'old', price: '1 USD' }).offer!;
    const b = v({ id: '1', title: 'new', price: '2 USD' }).offer!;
    const out = dedupeOffers([
      { row: 1, offer: a },
      { row: 2, offer: b },
    ]);
    expect(out.offers.map((o) => o.title)).toEqual(['new']);
    expect(out.duplicates).toEqual([{ row: 1, field: 'id', message: 'duplicate of row 2, which replaces it', level: 'warning' }]);
  });
});
