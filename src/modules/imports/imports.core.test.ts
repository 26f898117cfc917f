import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planColumns, sniffDelimiter } from './imports.columns.ts';
import {
  escapeFormula,
  parsePriceMinor,
  parseTimestamp,
  progressFigures,
  validateInteractionRow,
  validateItemRow,
} from './imports.core.ts';
import { quoteBigIntegers } from '../../platform/index.ts';

const now = new Date('2026-01-01T00:00:00Z');

describe('parsePriceMinor', () => {
  it('converts decimal text to exact minor units', () => {
    expect(parsePriceMinor('99.99')).toEqual({ ok: true, value: 9999n });
    expect(parsePriceMinor('0.1')).toEqual({ ok: true, value: 10n });
    expect(parsePriceMinor('1.500')).toEqual({ ok: true, value: 150n });
    expect(parsePriceMinor('£1,234.50')).toEqual({ ok: true, value: 123450n });
    expect(parsePriceMinor('92233720368547.58')).toEqual({ ok: true, value: 9223372036854758n });
  });
  it('refuses negatives, text and sub-minor precision with distinct codes', () => {
    expect(parsePriceMinor('-1')).toMatchObject({ ok: false, code: 'PRICE_NEGATIVE' });
    expect(parsePriceMinor('abc')).toMatchObject({ ok: false, code: 'PRICE_NOT_A_NUMBER' });
    expect(parsePriceMinor('1e5')).toMatchObject({ ok: false, code: 'PRICE_NOT_A_NUMBER' });
    expect(parsePriceMinor('0.001')).toMatchObject({ ok: false, code: 'PRICE_TOO_PRECISE' });
    expect(parsePriceMinor('.')).toMatchObject({ ok: false, code: 'PRICE_NOT_A_NUMBER' });
  });
  it('reads the amount in the row’s currency: JPY has no minor unit, KWD three decimals', () => {
    expect(parsePriceMinor('1500', 'JPY')).toEqual({ ok: true, value: 1500n });
    expect(parsePriceMinor('¥1,500', 'JPY')).toEqual({ ok: true, value: 1500n });
    expect(parsePriceMinor('1.234', 'KWD')).toEqual({ ok: true, value: 1234n });
    expect(parsePriceMinor('12.5', 'JPY')).toMatchObject({
      ok: false,
      code: 'PRICE_TOO_PRECISE',
      reason: expect.stringMatching(/0 decimal places for JPY/),
    });
    expect(parsePriceMinor('92233720368547758.08', 'USD')).toMatchObject({ ok: false, code: 'PRICE_OUT_OF_RANGE' });
  });
  it('converts an items row and an interactions row in their currency, and refuses a code ISO 4217 does not list', () => {
    const items = planColumns('items', ['item_id', 'name', 'price', 'sale_price', 'currency']).plan;
    expect(validateItemRow(2, { item_id: 'a', name: 'A', price: '1500', sale_price: '1200', currency: 'jpy' }, items)).toMatchObject({
      ok: true,
      value: { priceMinor: 1500n, salePriceMinor: 1200n, currency: 'JPY' },
    });
    expect(validateItemRow(2, { item_id: 'a', name: 'A', price: '1500', currency: 'ABC' }, items)).toMatchObject({
      ok: false,
      issues: [{ code: 'CURRENCY_INVALID' }],
    });
    const events = planColumns('interactions', ['user_id', 'item_id', 'type', 'timestamp', 'price', 'currency']).plan;
    const r = validateInteractionRow(
      2,
      { user_id: 'u', item_id: 'i', type: 'purchase', timestamp: '2024-01-01', price: '1.234', currency: 'KWD' },
      events,
      {
        now,
      },
    );
    expect(r).toMatchObject({ ok: true, value: { row: { priceMinor: 1234n, currency: 'KWD' } } });
  });
  it('matches integer arithmetic for every cents value (no float drift)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (cents) => {
        const text = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
        expect(parsePriceMinor(text)).toEqual({ ok: true, value: cents });
      }),
    );
  });
});

describe('parseTimestamp', () => {
  it('reads ISO with zones, zone-less wall clock as UTC, and epochs', () => {
    expect(parseTimestamp('2024-01-10T14:23:00Z', now)).toEqual({ ok: true, value: new Date('2024-01-10T14:23:00Z') });
    expect(parseTimestamp('2024-01-10T14:23:00+02:00', now)).toEqual({ ok: true, value: new Date('2024-01-10T12:23:00Z') });
    expect(parseTimestamp('2010-12-01 08:26:00', now)).toEqual({ ok: true, value: new Date('2010-12-01T08:26:00Z') });
    expect(parseTimestamp('1700000000', now)).toEqual({ ok: true, value: new Date(1_700_000_000_000) });
    expect(parseTimestamp('1700000000123', now)).toEqual({ ok: true, value: new Date(1_700_000_000_123) });
  });
  it('refuses impossible, future and pre-1970 dates', () => {
    expect(parseTimestamp('2024-02-30', now)).toMatchObject({ ok: false, code: 'TIMESTAMP_INVALID' });
    expect(parseTimestamp('2026-01-01T00:10:00Z', now)).toMatchObject({ ok: false, code: 'TIMESTAMP_IN_FUTURE' });
    expect(parseTimestamp('2026-01-01T00:04:00Z', now)).toMatchObject({ ok: true }); // within the skew
    expect(parseTimestamp('1969-12-31', now)).toMatchObject({ ok: false, code: 'TIMESTAMP_BEFORE_1970' });
  });
});

describe('planColumns', () => {
  it('matches headers case-insensitively with aliases; Description is the name when there is no name column', () => {
    const { plan, problems } = planColumns('items', ['StockCode', 'Description', 'UnitPrice', 'Country']);
    expect(problems).toEqual([]);
    expect(plan.fields).toMatchObject({
      item_id: { column: 'StockCode' },
      name: { column: 'Description' },
      price: { column: 'UnitPrice' },
    });
    expect(plan.used.has('Country')).toBe(false);
    const withName = planColumns('items', ['id', 'Title', 'Description']).plan.fields;
    expect(withName).toMatchObject({ name: { column: 'Title' }, description: { column: 'Description' } });
  });
  it('an explicit mapping overrides aliases and may give constants; bad targets are named', () => {
    const { plan, problems } = planColumns('interactions', ['CustomerID', 'StockCode', 'InvoiceDate', 'kind'], {
      kind: 'ignore',
      'const:purchase': 'type',
      InvoiceDate: 'timestamp',
    });
    expect(problems).toEqual([]);
    expect(plan.fields.type).toEqual({ constant: 'purchase' });
    expect(planColumns('items', ['a'], { a: 'colour' }).problems[0]).toContain('"colour" is not a items field');
    expect(planColumns('items', ['a'], { b: 'item_id' }).problems[0]).toContain('"b" is not in the file');
  });
});

describe('validateInteractionRow', () => {
  const plan = planColumns('interactions', ['user_id', 'item_id', 'type', 'timestamp', 'quantity']).plan;
  it('turns a negative-quantity purchase into a refund', () => {
    const r = validateInteractionRow(2, { user_id: 'u', item_id: 'i', type: 'purchase', timestamp: '2024-01-01', quantity: '-3' }, plan, {
      now,
    });
    expect(r).toMatchObject({ ok: true, value: { row: { type: 'refund', quantity: 3 } } });
  });
  it('accepts a point-of-sale row that names its customer only by e-mail, phone or loyalty card, and keeps those out of metadata', () => {
    const pos = planColumns(
      'interactions',
      ['Receipt', 'SKU', 'Customer Email', 'Mobile', 'Loyalty Number', 'Date', 'Qty', 'Unit Price', 'Store'],
      { 'const:purchase': 'type' },
    ).plan;
    const r = validateInteractionRow(
      2,
      {
        Receipt: 'R-1',
        SKU: 'MUG',
        'Customer Email': 'Ann@Shop.com',
        Mobile: '',
        'Loyalty Number': 'L-77',
        Date: '2024-03-01 10:00',
        Qty: '2',
        'Unit Price': '4.50',
        Store: 'Leeds',
      },
      pos,
      { now, source: 'pos' },
    );
    expect(r).toMatchObject({
      ok: true,
      value: {
        identifiers: [
          { type: 'email', value: 'Ann@Shop.com' },
          { type: 'loyalty_id', value: 'L-77' },
        ],
        row: {
          userId: null,
          orderId: 'R-1',
          itemId: 'MUG',
          type: 'purchase',
          quantity: 2,
          priceMinor: 450n,
          source: 'pos',
          metadata: { Store: 'Leeds' },
        },
      },
    });
    const nobody = validateInteractionRow(
      3,
      {
        Receipt: 'R-2',
        SKU: 'MUG',
        'Customer Email': '',
        Mobile: '',
        'Loyalty Number': '',
        Date: '2024-03-01',
        Qty: '1',
        'Unit Price': '4.50',
        Store: 'Leeds',
      },
      pos,
      { now },
    );
    expect(nobody).toMatchObject({ ok: false, issues: [{ code: 'MISSING_USER' }] });
  });
  it('accepts custom types only when declared', () => {
    const rec = { user_id: 'u', item_id: 'i', type: 'wishlist_add', timestamp: '2024-01-01' };
    expect(validateInteractionRow(2, rec, plan, { now })).toMatchObject({ ok: false, issues: [{ code: 'UNKNOWN_TYPE' }] });
    expect(validateInteractionRow(2, rec, plan, { now, customTypes: new Set(['wishlist_add']) })).toMatchObject({ ok: true });
  });
  it('reports every problem of a row at once', () => {
    const r = validateInteractionRow(7, { user_id: '', item_id: '', type: 'nope', timestamp: 'x' }, plan, { now });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.code).sort()).toEqual(['MISSING_ID', 'MISSING_USER', 'TIMESTAMP_INVALID', 'UNKNOWN_TYPE']);
  });
});

describe('helpers', () => {
  it('sniffs the delimiter, respecting quotes', () => {
    expect(sniffDelimiter('a;b;c\n1;"x,y";3\n')).toBe(';');
    expect(sniffDelimiter('a\tb\n1\t2\n')).toBe('\t');
    expect(sniffDelimiter('a,b|c\n1,2|3\n4,5|6\n')).toBe(',');
  });
  it('escapes formula-looking cells and leaves others alone', () => {
    expect(escapeFormula("=cmd|' /C calc'!A0")).toBe("'=cmd|' /C calc'!A0");
    expect(escapeFormula('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(escapeFormula('plain')).toBe('plain');
  });
  it('quotes only long integer literals outside strings', () => {
    expect(quoteBigIntegers('{"a": 12345678901234567890, "b": "12345678901234567890", "c": 1.5, "d": 42}')).toBe(
      '{"a": "12345678901234567890", "b": "12345678901234567890", "c": 1.5, "d": 42}',
    );
  });
  it('computes rate and ETA from bytes read', () => {
    const p = progressFigures({ rowsRead: 1000, bytesRead: 25, totalBytes: 100, startedAt: new Date(now.getTime() - 10_000) }, now);
    expect(p).toEqual({ fraction: 0.25, rowsPerSecond: 100, etaSeconds: 30 });
  });
});
