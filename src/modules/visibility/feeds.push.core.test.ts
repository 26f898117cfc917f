import { describe, expect, it } from 'vitest';
import { contentHash, planPush, toPrice, toProductInput } from './feeds.push.core.ts';
import { VALID_ITEM } from './feeds.precheck.fixtures.ts';

describe('feed push core', () => {
  it('prices in micros for every currency exponent (USD 2, JPY 0, KWD 3), exact past 2^53', () => {
    expect(toPrice('19.99 USD')).toEqual({ amountMicros: '19990000', currencyCode: 'USD' });
    expect(toPrice('1500 JPY')).toEqual({ amountMicros: '1500000000', currencyCode: 'JPY' });
    expect(toPrice('1.234 KWD')).toEqual({ amountMicros: '1234000', currencyCode: 'KWD' });
    // 90,071,992,547,409.93 USD = 9007199254740993 cents (2^53 + 1): micros keep every digit.
    expect(toPrice('90071992547409.93 USD')).toEqual({ amountMicros: '90071992547409930000', currencyCode: 'USD' });
    expect(toPrice('cheap')).toBeUndefined();
  });

  it('a product input carries Merchant API names and enums, and leaves out what is absent', () => {
    const input = toProductInput(
      {
        ...VALID_ITEM,
        availability: 'preorder',
        availability_date: '2027-01-15T09:00-0800',
        sale_price: '99.00 USD',
        sale_price_effective_date: '2026-11-27/2026-11-30',
        identifier_exists: 'no',
      },
      { contentLanguage: 'en', feedLabel: 'US' },
    );
    expect(input).toMatchObject({ offerId: 'SKU-1', contentLanguage: 'en', feedLabel: 'US' });
    expect(input.productAttributes).toMatchObject({
      availability: 'PREORDER',
      availabilityDate: '2027-01-15T09:00-08:00',
      condition: 'NEW',
      gtins: ['4006381333931'],
      identifierExists: false,
      salePrice: { amountMicros: '99000000', currencyCode: 'USD' },
      salePriceEffectiveDate: { startTime: '2026-11-27', endTime: '2026-11-30' },
    });
    expect('color' in input.productAttributes).toBe(false);
  });

  it('content hashes ignore key order and change with any value', () => {
    const a = toProductInput(VALID_ITEM, { contentLanguage: 'en', feedLabel: 'US' });
    const reordered = { ...a, productAttributes: Object.fromEntries(Object.entries(a.productAttributes).reverse()) };
    expect(contentHash(reordered)).toBe(contentHash(a));
    expect(contentHash({ ...a, productAttributes: { ...a.productAttributes, title: 'x' } })).not.toBe(contentHash(a));
  });

  it('plans inserts for new and changed items, deletes for held items gone, forgets refused items gone', () => {
    const mk = (itemId: string, hash: string) => ({
      itemId,
      hash,
      input: toProductInput({ ...VALID_ITEM, id: itemId }, { contentLanguage: 'en', feedLabel: 'US' }),
    });
    const written = new Map<string, string | null>([
      ['same', 'h1'],
      ['changed', 'old'],
      ['gone', 'h3'],
      ['refusedBefore', null],
      ['refusedGone', null],
      ['nowRefused', 'h4'],
    ]);
    const plan = planPush(
      [mk('same', 'h1'), mk('changed', 'new'), mk('new', 'h5'), mk('refusedBefore', 'h6')],
      written,
      new Set(['nowRefused']),
    );
    expect(plan.upserts.map((u) => u.itemId)).toEqual(['changed', 'new', 'refusedBefore']);
    expect(plan.unchanged).toBe(1);
    expect(plan.deletes).toEqual(['gone', 'nowRefused']);
    expect(plan.forget).toEqual(['refusedGone']);
  });
});
