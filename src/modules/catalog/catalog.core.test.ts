import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryNodesFor, lastWins, splitCategoryPath, oneEditVariants, typoTsquery } from './catalog.core.ts';
import { prefixUpper } from './search.repository.ts';

describe('category paths', () => {
  it('normalizes separators and spacing, and lists ancestors parents first', () => {
    expect(splitCategoryPath(' Electronics>Audio  >   Head  phones ')).toEqual(['Electronics', 'Audio', 'Head phones']);
    expect(splitCategoryPath(' > > ')).toEqual([]);
    expect(categoryNodesFor(['A > B > C', 'A > D', 'A>B'])).toEqual([
      { path: 'A', name: 'A', parentPath: null, depth: 0 },
      { path: 'A > B', name: 'B', parentPath: 'A', depth: 1 },
      { path: 'A > D', name: 'D', parentPath: 'A', depth: 1 },
      { path: 'A > B > C', name: 'C', parentPath: 'A > B', depth: 2 },
    ]);
  });
});

describe('helpers', () => {
  it('lastWins keeps the last occurrence of each key', () => {
    expect(
      lastWins(
        [
          { k: 'a', v: 1 },
          { k: 'b', v: 2 },
          { k: 'a', v: 3 },
        ],
        (r) => r.k,
      ),
    ).toEqual([
      { k: 'b', v: 2 },
      { k: 'a', v: 3 },
    ]);
  });
  it('prefixUpper bounds exactly the strings with the prefix (code point order)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 4 }), (p, rest) => {
        const hi = prefixUpper(p);
        expect(p + rest < hi || [...p].at(-1) === '\u{10ffff}').toBe(true);
      }),
    );
    expect(prefixUpper('so')).toBe('sp');
  });
});

describe('typo variants', () => {
  it('holds the spellings with one letter dropped or two neighbours swapped', () => {
    const v = new Set(oneEditVariants('lantern'));
    for (const typo of ['lantren', 'lanter', 'alntern', 'antern']) expect(v.has(typo)).toBe(true);
    expect(new Set(oneEditVariants('lanttern')).has('lantern')).toBe(true);
    expect(v.has('lantern')).toBe(false);
    expect(v.has('lnatren')).toBe(false);
    // delete n + swap n-1, duplicates removed.
    expect(v.size).toBeLessThanOrEqual(7 + 6);
  });
  it('builds a tsquery text of plain words only', () => {
    expect(typoTsquery('cat')).toBeNull();
    expect(typoTsquery('a b c d e lantern')).toBeNull();
    const q = typoTsquery("White LANTREN's")!;
    expect(q).toMatch(/^\(white \| .*\) & \(lantren \| .*lantern.*\) & s$/);
    expect(typoTsquery("x') | !('y & lamp:*")).not.toMatch(/[^a-z0-9 |&()]/);
  });
});
