import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FEED_RULES,
  type FeedItem,
  type StyleSignal,
  boost,
  dampPopularity,
  decayLayers,
  emptyLayers,
  fitsRules,
  foldSignals,
  pageSlots,
  pickDiverse,
  popularityOf,
  rerankByRules,
  priceBand,
  STYLE_HALF_LIFE_MS,
} from './newsfeed.core.ts';

const item = (id: string, category: string, brand: string, score = 1): FeedItem => ({
  itemId: id,
  name: id,
  category,
  brand,
  priceMinor: null,
  currency: null,
  imageUrl: null,
  score,
});

describe('diversity rules', () => {
  it('keeps one category in any 5 consecutive and one brand in any 4, taking the best-ranked item that fits', () => {
    // Ranked: three shoes first. The second pick skips shoes (window) and takes the best bag.
    const ranked = [
      item('s1', 'Shoes', 'A'),
      item('s2', 'Shoes', 'B'),
      item('s3', 'Shoes', 'C'),
      item('b1', 'Bags', 'A'),
      item('b2', 'Bags', 'D'),
      item('h1', 'Hats', 'E'),
    ];
    const out = pickDiverse(ranked, 3, [], new Set(), DEFAULT_FEED_RULES);
    // s1; then b1 is the best non-shoe but brand A repeats within 4, so b2; then h1.
    expect(out.map((i) => i.itemId)).toEqual(['s1', 'b2', 'h1']);
  });
  it('re-ranks a recommendation list: one category in any 5, the rest in rank order, nothing lost or repeated', () => {
    // A model's top 8: four Shoes, then Bags, Hats, Belts, Coats (brands all distinct, brand rule idle).
    const ranked = ['Shoes', 'Shoes', 'Shoes', 'Shoes', 'Bags', 'Hats', 'Belts', 'Coats'].map((c, k) => item(`i${k}`, c, `B${k}`));
    const out = rerankByRules(ranked, 6, DEFAULT_FEED_RULES);
    // i0 (Shoes); Shoes blocked for the next 4: i4 Bags, i5 Hats, i6 Belts, i7 Coats; then i0 is 5 back and
    // Shoes fit again: i1
    expect(out.map((i) => i.itemId)).toEqual(['i0', 'i4', 'i5', 'i6', 'i7', 'i1']);
    expect(new Set(out.map((i) => i.itemId)).size).toBe(6);
    // the input is not changed, and rules off keep the model's order
    expect(ranked.map((i) => i.itemId)).toEqual(['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7']);
    expect(rerankByRules(ranked, 3, { categoryWindow: 0, brandWindow: 0 }).map((i) => i.itemId)).toEqual(['i0', 'i1', 'i2']);
  });
  it('never runs dry: with one category only, it still returns the best-ranked items', () => {
    const ranked = [item('s1', 'Shoes', 'A'), item('s2', 'Shoes', 'A')];
    expect(pickDiverse(ranked, 2, [], new Set(), DEFAULT_FEED_RULES).map((i) => i.itemId)).toEqual(['s1', 's2']);
  });
  it('property: with enough variety, any output stream obeys both windows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })), { minLength: 0, maxLength: 60 }),
        (pairs) => {
          // Pad with 10 x 10 distinct (category, brand) items so a fitting candidate always exists.
          const pad = Array.from({ length: 100 }, (_, k) => item(`p${k}`, `c${k % 10}`, `b${Math.floor(k / 10)}`, 0));
          const ranked = [...pairs.map(([c, b], k) => item(`x${k}`, `c${c}`, `b${b}`)), ...pad];
          const history: FeedItem[] = [];
          pickDiverse(ranked, 30, history, new Set(), DEFAULT_FEED_RULES);
          for (let k = 0; k < history.length; k++) expect(fitsRules(history[k]!, history.slice(0, k), DEFAULT_FEED_RULES)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('popularity damping', () => {
  // Trending: t0 (most popular) .. t3; popularity 1, 0.75, 0.5, 0.25
  const popularity = popularityOf(['t0', 't1', 't2', 't3'].map((id) => item(id, 'C', 'B')));
  // "For you": ranked scores 1, 0.9, 0.8, 0.7, 0.6
  const forYou = ['t0', 'p1', 't2', 'p3', 'p4'].map((id, k) => item(id, `C${k}`, `B${k}`, 1 - k / 10));

  it('reads popularity from the Trending rank: 1 - rank / length', () => {
    expect([...popularity.entries()]).toEqual([
      ['t0', 1],
      ['t1', 0.75],
      ['t2', 0.5],
      ['t3', 0.25],
    ]);
  });
  it("multiplies a trending item's score by 1 - strength x popularity; others keep theirs; stable for ties", () => {
    // strength 0.5: t0 1 -> 0.5, t2 0.8 -> 0.6 (ties p4's 0.6, which was ranked after it: t2 stays first)
    const out = dampPopularity(forYou, popularity, 0.5);
    expect(out.map((i) => [i.itemId, Number(i.score.toFixed(6))])).toEqual([
      ['p1', 0.9],
      ['p3', 0.7],
      ['t2', 0.6],
      ['p4', 0.6],
      ['t0', 0.5],
    ]);
    // the input is not changed
    expect(forYou.map((i) => i.score)).toEqual([1, 0.9, 0.8, 0.7, 0.6]);
  });
  it('off (strength 0, or no Trending list) keeps the ranking; strength above 1 acts as 1', () => {
    expect(dampPopularity(forYou, popularity, 0).map((i) => i.itemId)).toEqual(['t0', 'p1', 't2', 'p3', 'p4']);
    expect(dampPopularity(forYou, new Map(), 1).map((i) => i.itemId)).toEqual(['t0', 'p1', 't2', 'p3', 'p4']);
    expect(dampPopularity(forYou, popularity, 5).map((i) => i.itemId)).toEqual(dampPopularity(forYou, popularity, 1).map((i) => i.itemId));
    // strength 1: the most popular item's score is 0, last
    expect(dampPopularity(forYou, popularity, 1).at(-1)?.itemId).toBe('t0');
  });
  it('property: it only permutes, and never raises an item above one it was below unless that one is more popular', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(29), { maxLength: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (scores, popular, strength) => {
          const ranked = scores.map((sc, k) => item(`i${k}`, 'C', 'B', sc)).sort((a, b) => b.score - a.score);
          const pop = popularityOf([...new Set(popular)].filter((k) => k < scores.length).map((k) => item(`i${k}`, 'C', 'B')));
          const out = dampPopularity(ranked, pop, strength);
          expect(out.map((i) => i.itemId).sort()).toEqual(ranked.map((i) => i.itemId).sort());
          const before = new Map(ranked.map((i, k) => [i.itemId, k]));
          for (let a = 0; a < out.length; a++)
            for (let b = a + 1; b < out.length; b++) {
              const x = out[a]!;
              const y = out[b]!;
              // x now ahead of y though it was behind: y must have been damped more
              if (before.get(x.itemId)! > before.get(y.itemId)!) expect(pop.get(y.itemId) ?? 0).toBeGreaterThan(pop.get(x.itemId) ?? 0);
            }
        },
      ),
    );
  });
});

describe('style layers', () => {
  const sig = (over: Partial<StyleSignal>): StyleSignal => ({
    type: 'view',
    source: 'organic',
    at: 0,
    style: [],
    occasion: [],
    category: null,
    brand: null,
    priceMajor: null,
    ...over,
  });
  it('a weight halves every half-life (reference: 2^-1 = 0.5, 2^-2 = 0.25)', () => {
    const l = { ...emptyLayers(), category: { shoes: 8 } };
    expect(decayLayers(l, STYLE_HALF_LIFE_MS).category.shoes).toBeCloseTo(4, 12);
    expect(decayLayers(l, 2 * STYLE_HALF_LIFE_MS).category.shoes).toBeCloseTo(2, 12);
  });
  it('weights by type and source: add to cart 6, a sponsored view 0.5', () => {
    const { layers } = foldSignals(emptyLayers(), 0, [
      sig({ type: 'add_to_cart', category: 'Shoes', priceMajor: 120 }),
      sig({ source: 'sponsored', category: 'Bags' }),
    ]);
    expect(layers.category).toEqual({ shoes: 6, bags: 0.5 });
    expect(layers.price).toEqual({ premium: 6 });
    expect(layers.intent).toEqual({ buy: 6, browse: 0.5 });
  });
  it('folding in batches equals folding all at once (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 60 * 86_400_000 }),
            c: fc.constantFrom('a', 'b', 'c'),
            t: fc.constantFrom('view', 'purchase'),
          }),
          { minLength: 2, maxLength: 20 },
        ),
        (raw) => {
          const sigs = raw.sort((x, y) => x.at - y.at).map((r) => sig({ at: r.at, category: r.c, type: r.t }));
          const all = foldSignals(emptyLayers(), 0, sigs);
          const half = Math.floor(sigs.length / 2);
          const first = foldSignals(emptyLayers(), 0, sigs.slice(0, half));
          const both = foldSignals(first.layers, first.asOf, sigs.slice(half));
          for (const k of ['a', 'b', 'c']) expect(both.layers.category[k] ?? 0).toBeCloseTo(all.layers.category[k] ?? 0, 6);
        },
      ),
    );
  });
  it('price bands and boosters: a confident shopper of shoes sees shoes first', () => {
    expect([priceBand(10), priceBand(50), priceBand(150), priceBand(900), priceBand(null)]).toEqual([
      'budget',
      'mid',
      'premium',
      'luxury',
      null,
    ]);
    const layers = { ...emptyLayers(), category: { shoes: 10 } };
    const ranked = boost(
      [item('bag', 'Bags', 'X', 1), item('shoe', 'Shoes', 'Y', 0.9)],
      { layers, confidence: 0.9 },
      { brands: [], categories: [] },
      () => null,
    );
    // shoe: 0.9 x (1 + 0.9 x (1 + 0 + 0) / 3) = 1.17 > bag: 1.
    expect(ranked.map((i) => i.itemId)).toEqual(['shoe', 'bag']);
    expect(ranked[0]!.score).toBeCloseTo(1.17, 10);
  });
  it('with nothing to boost by (no profile, no stated preferences), ranks as a profile of no confidence does, without pricing', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }), (scores) => {
        const items = scores.map((sc, k) => item(`i${k}`, `c${k % 3}`, `b${k % 4}`, sc));
        let priced = 0;
        const fast = boost(items, null, { brands: [], categories: [] }, () => (priced++, 10));
        const slow = boost(items, { layers: emptyLayers(), confidence: 0 }, { brands: [], categories: [] }, () => 10);
        expect(priced).toBe(0);
        expect(fast.map((i) => [i.itemId, i.score])).toEqual(slow.map((i) => [i.itemId, i.score]));
        // a new array: the caller may append to it without touching the input
        expect(fast).not.toBe(items);
      }),
    );
  });
});

describe('page slots', () => {
  it('puts sponsored slots at positions 3 and 8 with 5 modules a page', () => {
    expect(
      pageSlots(0, DEFAULT_FEED_RULES)
        .filter((s) => s.sponsored)
        .map((s) => s.index + 1),
    ).toEqual([3]);
    expect(
      pageSlots(1, DEFAULT_FEED_RULES)
        .filter((s) => s.sponsored)
        .map((s) => s.index + 1),
    ).toEqual([8]);
    expect(pageSlots(2, DEFAULT_FEED_RULES).some((s) => s.sponsored)).toBe(false);
  });
});
