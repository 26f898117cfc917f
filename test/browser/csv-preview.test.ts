import { describe, expect, it } from 'vitest';
import { parseRows, sniffDelimiter } from '../../dashboard/src/lib/csv.ts';

describe('import preview parsing', () => {
  it('finds the delimiter that gives equal column counts', () => {
    expect(sniffDelimiter('a;b;c\n1;2;3\n')).toBe(';');
    expect(sniffDelimiter('a\tb\n1\t2')).toBe('\t');
    expect(sniffDelimiter('name,price\n"Lamp; brass",12.5\n')).toBe(',');
  });
  it('keeps quoted delimiters, doubled quotes, newlines in quotes, CRLF and a BOM', () => {
    const text = '\uFEFFid,name\r\n1,"Lamp, ""brass"""\r\n2,"two\nlines"\r\n3,x';
    expect(parseRows(text, ',', 10)).toEqual([
      ['id', 'name'],
      ['1', 'Lamp, "brass"'],
      ['2', 'two\nlines'],
      ['3', 'x'],
    ]);
  });
  it('stops after maxRows', () => {
    expect(parseRows('a\nb\nc\nd\n', ',', 2)).toEqual([['a'], ['b']]);
  });
});
