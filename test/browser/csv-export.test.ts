import { describe, expect, it } from 'vitest';
import { csvCell, csvText, toCsv } from '../../dashboard/src/lib/csv.ts';

describe('dashboard CSV export', () => {
  it('quotes what RFC 4180 requires and nothing else', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });

  it('neutralises text a spreadsheet would run as a formula, but leaves numbers numeric', () => {
    for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(s).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell(-12.5)).toBe('-12.5');
    expect(csvCell(-3n)).toBe('-3');
    expect(csvCell(true)).toBe('true');
  });

  it('separates records by CRLF, header first, columns in the order given', () => {
    expect(
      csvText(
        ['a', 'b'],
        [
          [1, 'x'],
          [null, '=y'],
        ],
      ),
    ).toBe("a,b\r\n1,x\r\n,'=y");
    expect(
      toCsv(
        [{ b: 2, a: 1 }],
        [
          { key: 'a', label: 'A' },
          { key: 'b', label: 'B' },
        ],
      ),
    ).toBe('A,B\r\n1,2');
    expect(toCsv([], [{ key: 'a', label: 'A' }])).toBe('A');
  });
});
