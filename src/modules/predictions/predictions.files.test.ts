import { describe, expect, it } from 'vitest';
import { parseClvSummary, parseDay, parseSeries, parseTransactions } from './predictions.files.ts';

describe('parseClvSummary', () => {
  it('reads both header spellings and the optional spend column', () => {
    const a = parseClvSummary('ID,frequency,recency,T\n1,2,30.43,38.86\n2,0,0,38.86\n');
    expect([...a.frequency]).toEqual([2, 0]);
    expect(a.monetary).toBeUndefined();
    const b = parseClvSummary('\uFEFFID,x,t_x,T,zbar\r\n7,1,1.71,38.86,11.77\r\n');
    expect(b.ids).toEqual(['7']);
    expect([...b.monetary!]).toEqual([11.77]);
  });

  it('names the missing column, and the row and column of text in a number field', () => {
    expect(() => parseClvSummary('ID,x,t_x\n1,2,3\n')).toThrow('missing column "T"');
    expect(() => parseClvSummary('ID,x,t_x,T\n1,2,3,5\n2,abc,3,4\n')).toThrow('row 3: column "x" is not a number ("abc")');
    expect(() => parseClvSummary('ID,x,t_x,T\n1,2,,5\n')).toThrow('row 2: column "t_x" is empty');
    expect(() => parseClvSummary('ID,x,t_x,T\n1,2,9,5\n')).toThrow('row 2: needs 0 <= recency <= T');
    expect(() => parseClvSummary('ID,x,t_x,T\n1,1.5,2,5\n')).toThrow('row 2: "x" must be a whole number');
    expect(() => parseClvSummary('ID,x,t_x,T\n1,1e400,2,5\n')).toThrow('row 2: column "x" is not a number');
    expect(() => parseClvSummary('ID,x,t_x,T\n')).toThrow('no customer rows');
    expect(() => parseClvSummary('')).toThrow('empty');
    expect(() => parseClvSummary('ID,x,t_x,T\n"1,2,3,4\n')).toThrow('not a readable CSV');
  });
});

describe('parseTransactions and parseDay', () => {
  it('reads dates and date-times as UTC days and refuses impossible dates', () => {
    expect(parseDay('1970-01-02')).toBe(1);
    expect(parseDay('1970-01-01 12:00:00')).toBe(0.5);
    expect(parseDay('2011-02-30')).toBeNaN();
    expect(parseDay('yesterday')).toBeNaN();
    const t = parseTransactions('customer_id,date,amount\na,1970-01-03,10.5\nb,1970-01-01,-3\n');
    expect(t.customerIds).toEqual(['a', 'b']);
    expect([...t.day]).toEqual([2, 0]);
    expect([...t.amount]).toEqual([10.5, -3]);
    expect(() => parseTransactions('customer_id,date,amount\na,2011-13-01,1\n')).toThrow('row 2: column "date" is not a date');
    expect(() => parseTransactions('customer_id,date,amount\n,2011-01-01,1\n')).toThrow('row 2: column "customer_id" is empty');
  });
});

describe('parseSeries', () => {
  it('fills gaps with 0, sums repeated days and accepts any row order', () => {
    const s = parseSeries('date,value\n1970-01-04,4\n1970-01-01,1\n1970-01-01,2\n');
    expect(s.startDay).toBe(0);
    expect([...s.values]).toEqual([3, 0, 0, 4]);
    expect(s.filled).toBe(2);
  });
  it('refuses a span past the limit', () => {
    expect(() => parseSeries('date,value\n1970-01-01,1\n2100-01-01,1\n', 1000)).toThrow('at most 1000');
  });
});
