import { MAX_MINOR } from '../../platform/index.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkOccurredAt,
  customTypeOf,
  fromApiInteraction,
  parseJsonLossless,
  parseUserAgent,
  toMinorUnits,
  utmFromUrl,
} from './ingest.core.ts';
import { CUSTOM_TYPE_PATTERN } from './interactions.core.ts';

describe('toMinorUnits', () => {
  it('converts decimal strings and numbers exactly, per currency exponent', () => {
    expect(toMinorUnits('1575.90', 'USD')).toBe(157590n);
    expect(toMinorUnits(99.99, 'USD')).toBe(9999n);
    expect(toMinorUnits('0.1', null)).toBe(10n);
    expect(toMinorUnits('-5.00', 'EUR')).toBe(-500n);
    expect(toMinorUnits('10.005', 'EUR')).toBe(1000n); // half to even
    expect(toMinorUnits('10.015', 'EUR')).toBe(1002n);
    expect(toMinorUnits('1500', 'JPY')).toBe(1500n);
    expect(toMinorUnits('1.2345', 'KWD')).toBe(1234n);
    expect(toMinorUnits('1.2346', 'kwd')).toBe(1235n);
    expect(toMinorUnits('1500', 'IDR')).toBe(150000n); // ISO 4217 says 2 decimals, whatever Intl displays
    expect(toMinorUnits('92233720368547758.07', 'USD')).toBe(9223372036854775807n);
    expect(toMinorUnits(1e-7, 'USD')).toBe(0n);
    for (const bad of ['', 'abc', '1,50', '1.2.3', '.', NaN, Infinity]) expect(toMinorUnits(bad as string, 'USD')).toBeNull();
    expect(toMinorUnits('12', 'ABC')).toBeNull(); // an unknown currency: no price rather than a guessed exponent
    // Too large to store: a value past the range, so the write door refuses the event instead of dropping its price.
    expect(toMinorUnits('92233720368547758.08', 'USD')).toBe(MAX_MINOR + 1n);
    expect(toMinorUnits(-1e300, 'USD')).toBe(-(MAX_MINOR + 1n));
  });
  it('agrees with integer cents for every two-decimal amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (cents) => {
        const neg = cents < 0n;
        const abs = neg ? -cents : cents;
        const s = `${neg ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
        return toMinorUnits(s, 'USD') === cents;
      }),
    );
  });
});

describe('parseJsonLossless', () => {
  it('keeps integers beyond 2^53 exact as strings, leaves everything else as JSON.parse would', () => {
    const v = parseJsonLossless(
      '{"id":820982911946154508,"n":-18446744073709551615,"small":42,"f":1.5,"s":"12345678901234567890","esc":"a\\"1234567890123456789"}',
    ) as Record<string, unknown>;
    expect(v).toEqual({
      id: '820982911946154508',
      n: '-18446744073709551615',
      small: 42,
      f: 1.5,
      s: '12345678901234567890',
      esc: 'a"1234567890123456789',
    });
    expect(parseJsonLossless('[12345678901234567e2, 1234567890123456.5]')).toEqual([
      JSON.parse('12345678901234567e2'),
      JSON.parse('1234567890123456.5'),
    ]);
    expect(() => parseJsonLossless('{"id": 1')).toThrow(SyntaxError);
  });
  it('equals JSON.parse on any JSON without long integers', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        if (/\d{16,}/.test(text)) return true;
        expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
        return true;
      }),
    );
  });
});

describe('customTypeOf', () => {
  it('turns any event name into a valid custom type', () => {
    expect(customTypeOf('Signed Up')).toBe('signed_up');
    expect(customTypeOf('Vídeo Played!')).toBe('video_played');
    expect(customTypeOf('404 Page')).toBe('event_404_page');
    fc.assert(fc.property(fc.string(), (s) => CUSTOM_TYPE_PATTERN.test(customTypeOf(s))));
  });
});

describe('user agents and UTM', () => {
  it('classifies common user agents', () => {
    expect(
      parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1'),
    ).toEqual({ deviceType: 'mobile', browser: 'Safari', os: 'iOS' });
    expect(parseUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0')).toEqual({
      deviceType: 'desktop',
      browser: 'Edge',
      os: 'Windows',
    });
    expect(parseUserAgent('Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/119.0 Safari/537.36').deviceType).toBe(
      'tablet',
    );
    expect(parseUserAgent('Googlebot/2.1 (+http://www.google.com/bot.html)').deviceType).toBe('bot');
    expect(parseUserAgent(undefined)).toEqual({ deviceType: 'other', browser: null, os: null });
    expect(
      parseUserAgent(
        'Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/21.0 Chrome/110.0 Mobile Safari/537.36',
      ),
    ).toEqual({ deviceType: 'mobile', browser: 'Samsung Internet', os: 'Android' });
    expect(parseUserAgent('Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36')).toEqual({
      deviceType: 'desktop',
      browser: 'Chrome',
      os: 'ChromeOS',
    });
    expect(
      parseUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36').deviceType,
    ).toBe('bot');
    expect(parseUserAgent('curl/8.0')).toEqual({ deviceType: 'other', browser: null, os: null });
  });
  it('reads UTM parameters from absolute and relative URLs, tolerating garbage', () => {
    expect(utmFromUrl('/landing?utm_source=google&utm_medium=cpc&utm_campaign=x&utm_term=boots&utm_content=a')).toEqual({
      source: 'google',
      medium: 'cpc',
      campaign: 'x',
      term: 'boots',
      content: 'a',
    });
    expect(utmFromUrl('http://[::1')).toEqual({ source: null, medium: null, campaign: null, term: null, content: null });
  });
});

describe('fromApiInteraction', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('maps seed 003 step 8e: price to minor units, order id, identity from user and extra identifiers', () => {
    const e = fromApiInteraction(
      {
        user_id: 'USER_JOHN_001',
        item_id: 'PROD_001',
        interaction_type: 'purchase',
        timestamp: '2024-01-16T19:30:00Z',
        metadata: { order_id: 'ORD_98765', price: 99.99, quantity: 2 },
        identifiers: { email: 'john@example.com' },
      },
      { now },
    );
    expect(e.row).toMatchObject({
      userId: 'USER_JOHN_001',
      itemId: 'PROD_001',
      type: 'purchase',
      priceMinor: 9999n,
      quantity: 2,
      orderId: 'ORD_98765',
      source: 'api',
    });
    expect(e.row.occurredAt.toISOString()).toBe('2024-01-16T19:30:00.000Z');
    expect(e.revenueMinor).toBe(19998n);
    expect(e.identity?.identifiers).toEqual([
      { type: 'user_id', value: 'USER_JOHN_001' },
      { type: 'email', value: 'john@example.com' },
    ]);
  });
  it('uses the Idempotency-Key only when no event_id is given, and now for a missing timestamp', () => {
    expect(fromApiInteraction({ user_id: 'u', interaction_type: 'view', event_id: 'e1' }, { now, eventId: 'k' }).row.eventId).toBe('e1');
    const e = fromApiInteraction({ user_id: 'u', interaction_type: 'view' }, { now, eventId: 'k' });
    expect(e.row.eventId).toBe('k');
    expect(e.row.occurredAt).toEqual(now);
  });
  it('refuses times before 2000 and more than a day ahead; late events are fine', () => {
    expect(checkOccurredAt(new Date('1999-12-31T23:59:59Z'), now)).toMatch(/2000/);
    expect(checkOccurredAt(new Date('2026-01-02T01:00:00Z'), now)).toMatch(/future/);
    expect(checkOccurredAt(new Date('2020-01-01T00:00:00Z'), now)).toBeNull();
  });
});
