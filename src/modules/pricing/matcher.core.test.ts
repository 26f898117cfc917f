import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandFeatures, EXPANDED_DIMS } from './matcher.eval.ts';
import {
  FEATURE_NAMES,
  blockingKeys,
  buildIdf,
  modelCodes,
  pairFeatures,
  parseMagellanPairs,
  parseMagellanRecord,
  prepare,
  prf,
} from './matcher.core.ts';

const rec = (title: string, extra: Partial<Parameters<typeof prepare>[0]> = {}) => ({
  title,
  brand: null,
  model: null,
  description: null,
  category: null,
  price: null,
  ...extra,
});

describe('benchmark format', () => {
  it('parses ER-Magellan records and pairs, skipping malformed lines', () => {
    const r = parseMagellanRecord(
      'COL title VAL innovera d3010 toner COL category VAL office COL brand VAL innovera COL modelno VAL d3010 COL price VAL 68.35 ',
    );
    expect(r).toEqual({
      title: 'innovera d3010 toner',
      brand: 'innovera',
      model: 'd3010',
      description: null,
      category: 'office',
      price: 68.35,
    });
    const text = 'COL name VAL a1 COL price VAL \tCOL name VAL b COL price VAL 5\t1\nbroken line\nCOL name VAL x\tCOL name VAL y\t7\n';
    const out = parseMagellanPairs(text);
    expect(out.skipped).toBe(2);
    expect(out.pairs).toEqual([{ left: rec('a1'), right: rec('b', { price: 5 }), label: 1 }]);
  });

  it('precision, recall and F1 against a hand count', () => {
    // tp 2 (i = 0, 1), fp 1 (i = 2), fn 1 (i = 3): P = 2/3, R = 2/3, F1 = 2/3.
    const r = prf([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]);
    expect(r).toMatchObject({ tp: 2, fp: 1, fn: 1 });
    expect(r.f1).toBeCloseTo(2 / 3, 12);
  });
});

describe('features', () => {
  it('extracts model codes across separators and neighbours', () => {
    expect([...modelCodes('Sony WH-1000XM4 headphones')]).toContain('wh1000xm4');
    expect([...modelCodes('new-51644c hp 44 ink')]).toContain('51644c');
    expect([...modelCodes('canon sx110 is camera')]).toContain('sx110is');
    expect([...modelCodes('hello world')]).toEqual([]);
  });

  it('a same-product pair scores above a sibling model on the code features', () => {
    const a = prepare(rec('nikon coolpix s550 blue compact digital camera coolpixs550cb'));
    const same = prepare(rec('nikon coolpix s550 digital camera cool blue'));
    const sibling = prepare(rec('nikon coolpix s560 digital camera blue'));
    const idf = buildIdf([a, same, sibling]);
    const f = (x: typeof a, y: typeof a) => Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, pairFeatures(x, y, idf)[i]]));
    expect(f(a, same).code_stem_in_other_text).toBe(1);
    expect(f(a, sibling).code_stem_in_other_text).toBe(0);
    expect(f(a, sibling).code_conflict).toBe(1);
  });

  it('property: features are finite, symmetric and in range; expansion has the declared size', () => {
    const text = fc.string({ maxLength: 60 });
    fc.assert(
      fc.property(
        text,
        text,
        fc.option(fc.double({ min: 0.01, max: 1e6, noNaN: true })),
        fc.option(fc.double({ min: 0.01, max: 1e6, noNaN: true })),
        (ta, tb, pa, pb) => {
          const a = prepare(rec(ta, { price: pa }));
          const b = prepare(rec(tb, { price: pb }));
          const idf = buildIdf([a, b]);
          const ab = pairFeatures(a, b, idf);
          const ba = pairFeatures(b, a, idf);
          expect(ab).toHaveLength(FEATURE_NAMES.length);
          for (let i = 0; i < ab.length; i++) {
            expect(Number.isFinite(ab[i])).toBe(true);
            expect(ab[i]).toBeCloseTo(ba[i]!, 9);
            expect(ab[i]).toBeGreaterThanOrEqual(-1);
            expect(ab[i]).toBeLessThanOrEqual(3 + 1e-9);
          }
          expect(expandFeatures(ab).length).toBe(EXPANDED_DIMS);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('blocking keys: codes and the rarest title tokens, never empty for a titled record', () => {
    const a = prepare(rec('Sony WH-1000XM4 wireless headphones'));
    const b = prepare(rec('Bose quietcomfort headphones'));
    const keys = blockingKeys(a, buildIdf([a, b]));
    expect(keys).toContain('c:wh1000xm4');
    expect(keys.filter((k) => k.startsWith('t:'))).toHaveLength(2);
    expect(keys).not.toContain('t:headphones'); // shared by both: the least rare
  });
});
