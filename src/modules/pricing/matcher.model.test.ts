import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitGbt, predictGbt, predictGbtMargin } from '../../ml/gbt.ts';
import { RICH_FEATURE_NAMES, type MatchRecord, buildIdf, offerBlockKeys, prepare, quantitiesOf, richPairFeatures } from './matcher.core.ts';
import {
  averageGbtModels,
  bestThreshold,
  deserializeMatcher,
  fitCvMatcher,
  fitLearnedMatcher,
  fitOneMatcher,
  operatingPoints,
  richMatrix,
  scorePairs,
  serializeMatcher,
} from './matcher.model.ts';

const rec = (title: string, extra: Partial<MatchRecord> = {}): MatchRecord => ({
  title,
  brand: null,
  model: null,
  description: null,
  category: null,
  price: null,
  ...extra,
});
const feature = (f: number[], name: (typeof RICH_FEATURE_NAMES)[number]) => f[RICH_FEATURE_NAMES.indexOf(name)]!;

describe('rich pair features', () => {
  const a = prepare(rec('denon blu-ray disc dvd/cd player dvd3800bdci', { brand: 'denon', price: 1999 }));
  const same = prepare(rec('denon dvd-3800bdci blu-ray player black', { brand: 'Denon', price: 1899 }));
  const sibling = prepare(rec('denon dvd-2930ci dvd player', { brand: 'denon', price: 448 }));
  const idf = buildIdf([a, same, sibling]);

  it('has one value per name, and the symmetric ones do not depend on the order', () => {
    const ab = richPairFeatures(a, same, idf);
    const ba = richPairFeatures(same, a, idf);
    expect(ab).toHaveLength(RICH_FEATURE_NAMES.length);
    for (const name of [
      'cover_min',
      'cover_max',
      'missing_idf_min',
      'monge_elkan_max',
      'code_best_edit_similarity',
      'price_log_min',
    ] as const)
      expect(feature(ab, name)).toBeCloseTo(feature(ba, name), 12);
  });

  it('tells the same model from a sibling: shared code, best edit similarity 1, fewer unexplained codes', () => {
    const m = richPairFeatures(a, same, idf);
    const s = richPairFeatures(a, sibling, idf);
    expect(feature(m, 'code_best_edit_similarity')).toBe(1);
    expect(feature(s, 'code_best_edit_similarity')).toBeLessThan(0.8);
    // joined neighbours ("playerdvd3800bdci") are codes too, so a true match still carries a few unexplained
    expect(feature(m, 'codes_unexplained')).toBeLessThan(feature(s, 'codes_unexplained'));
    expect(feature(m, 'codes_shared_count')).toBeGreaterThan(0);
    expect(feature(s, 'codes_shared_count')).toBe(0);
    expect(feature(m, 'brand_in_other_title')).toBe(1);
    expect(feature(m, 'price_log_min')).toBeCloseTo(Math.log(1899), 12);
  });

  it('reads quantities with units whatever the spacing, and flags a unit both sides state with other values', () => {
    const q = quantitiesOf("toshiba 1 tb usb 3.0 1tb, lg 24 ' dishwasher, 15.6 '' 16gb 2.40 ghz");
    expect(Object.fromEntries([...q].map(([u, v]) => [u, [...v]]))).toEqual({ tb: ['1'], in: ['24', '15.6'], gb: ['16'], ghz: ['2.4'] });
    expect(quantitiesOf('usb 3.0 hub 1080p')).toEqual(new Map());
    const p16 = prepare(rec('kingston 16gb usb flash drive dt101'));
    const same = prepare(rec('kingston datatraveler 16 gb flash drive'));
    const p32 = prepare(rec('kingston datatraveler 32 gb flash drive'));
    const i = buildIdf([p16, same, p32]);
    expect(feature(richPairFeatures(p16, same, i), 'quantity_shared_count')).toBe(1);
    expect(feature(richPairFeatures(p16, same, i), 'quantity_conflict')).toBe(0);
    expect(feature(richPairFeatures(p16, p32, i), 'quantity_shared_count')).toBe(0);
    expect(feature(richPairFeatures(p16, p32, i), 'quantity_conflict')).toBe(1);
  });

  it('weighs codes by rarity: a shared rare code scores above a shared common one; an unexplained rare code is flagged', () => {
    const tvs = ['lg 42lh30 1080p tv', 'samsung ln40b530 1080p tv', 'sony kdl40v5100 1080p tv', 'vizio vo370m 1080p tv'];
    const recs = tvs.map((t) => prepare(rec(t)));
    const lgAgain = prepare(rec('lg 42lh30 1080p tv', { brand: 'LG' }));
    const idf = buildIdf([...recs, lgAgain]);
    const rare = richPairFeatures(recs[0]!, lgAgain, idf);
    const common = richPairFeatures(recs[1]!, recs[2]!, idf);
    expect(feature(rare, 'code_shared_max_idf')).toBeGreaterThan(feature(common, 'code_shared_max_idf'));
    expect(feature(common, 'code_shared_max_idf')).toBeGreaterThan(0); // 1080p
    expect(feature(rare, 'code_unexplained_max_idf')).toBe(0);
    expect(feature(common, 'code_unexplained_max_idf')).toBeGreaterThan(feature(common, 'code_shared_max_idf'));
  });

  it('marks absent descriptions, categories and prices as missing (NaN), never as 0 similarity', () => {
    const f = richPairFeatures(prepare(rec('x1000 thing')), prepare(rec('x1000 other')), buildIdf([]));
    expect(feature(f, 'description_tfidf_cosine')).toBeNaN();
    expect(feature(f, 'category_jaccard')).toBeNaN();
    expect(feature(f, 'price_log_min')).toBeNaN();
  });

  it('survives hostile text: NUL bytes, lone surrogates, huge numbers, empty titles, 100 KB titles', () => {
    const hostile = [
      rec('a\u0000b c\u0000d 12345x'),
      rec('\ud800 lone \udfff surrogates x9000'),
      rec('9'.repeat(400), { price: 1e308 }),
      rec(''),
      rec('abc1234 '.repeat(12_500), { price: Number.MIN_VALUE }),
    ].map(prepare);
    const idf = buildIdf(hostile);
    for (const x of hostile)
      for (const y of hostile) {
        const f = richPairFeatures(x, y, idf);
        expect(f).toHaveLength(RICH_FEATURE_NAMES.length);
        for (const v of f) expect(Number.isNaN(v) || Number.isFinite(v)).toBe(true);
      }
  });

  it('blocking keys: model codes of the title and the MPN, squashed, at most 20', () => {
    expect(offerBlockKeys('Sony WH-1000XM4 headphones', 'WH-1000XM4/B')).toEqual(expect.arrayContaining(['wh1000xm4b', 'wh1000xm4']));
    expect(offerBlockKeys('plain words only', null)).toEqual([]);
    expect(offerBlockKeys(Array.from({ length: 50 }, (_, i) => `ab${1000 + i}`).join(' '), null)).toHaveLength(20);
  });
});

describe('learned matcher', () => {
  // Synthetic listings: a match shares the model code and most words; a non-match is a sibling model.
  const make = (n: number, seed: number) => {
    const pairs = [];
    for (let i = 0; i < n; i++) {
      const code = `zx${(seed * 1000 + i) % 9973}q`;
      const other = `zx${(seed * 1000 + i + 7) % 9973}q`;
      const left = rec(`acme ${code} cordless drill kit ${i % 3 ? 'red' : 'blue'}`, { price: 100 + (i % 50) });
      const match = i % 2 === 0;
      const right = rec(`acme cordless drill ${match ? code : other} ${i % 5 ? 'kit' : ''}`, {
        price: (100 + (i % 50)) * (match ? 1.05 : 1.6),
      });
      pairs.push({ left, right, label: (match ? 1 : 0) as 0 | 1 });
    }
    return pairs;
  };
  const train = make(300, 1);
  const valid = make(100, 2);
  const test = make(100, 3);
  const idf = buildIdf([...train, ...valid].flatMap((p) => [prepare(p.left), prepare(p.right)]));
  const grid = [{ maxDepth: 3, minSamplesLeaf: 5, colsample: 1 }];
  const fit = fitLearnedMatcher(richMatrix(train, idf), richMatrix(valid, idf), grid);

  it('learns the rule on train, chooses the threshold on valid, and holds on unseen pairs', () => {
    expect(fit.validF1).toBeGreaterThan(0.95);
    const p = scorePairs(
      fit,
      test.map((x) => [prepare(x.left), prepare(x.right)] as [ReturnType<typeof prepare>, ReturnType<typeof prepare>]),
      idf,
    );
    const wrong = test.filter((x, i) => (p[i]! >= fit.threshold ? 1 : 0) !== x.label).length;
    expect(wrong).toBeLessThanOrEqual(5);
  });

  it('serializes to JSON and back with the same scores, and refuses a model of other features', () => {
    const back = deserializeMatcher(JSON.parse(JSON.stringify(serializeMatcher(fit, { auto: 0.9, review: 0.3 }))));
    const pairs = test
      .slice(0, 20)
      .map((x) => [prepare(x.left), prepare(x.right)] as [ReturnType<typeof prepare>, ReturnType<typeof prepare>]);
    const p1 = scorePairs(fit, pairs, idf);
    const p2 = scorePairs(back, pairs, idf);
    for (let i = 0; i < p1.length; i++) expect(p2[i]).toBeCloseTo(p1[i]!, 5);
    expect(back.points).toEqual({ auto: 0.9, review: 0.3 });
    const bad = { ...serializeMatcher(fit, { auto: 0.9, review: 0.3 }), features: ['x'] };
    expect(() => deserializeMatcher(bad)).toThrow(/other features/);
    const swapped = serializeMatcher(fit, { auto: 0.9, review: 0.3 });
    [swapped.features[0], swapped.features[1]] = [swapped.features[1]!, swapped.features[0]!];
    expect(() => deserializeMatcher(swapped)).toThrow(/other features/);
  });

  it('scores with a model trained on an earlier, shorter feature list (features are only appended)', () => {
    const n = RICH_FEATURE_NAMES.indexOf('quantity_shared_count');
    const m = richMatrix(train, idf);
    const narrow = { rows: m.x.rows, cols: n, data: new Float64Array(m.x.rows * n) };
    for (let i = 0; i < m.x.rows; i++) narrow.data.set(m.x.data.subarray(i * m.x.cols, i * m.x.cols + n), i * n);
    const old = fitGbt(narrow, m.y, { objective: 'logistic', nTrees: 30, maxDepth: 3 });
    const saved = serializeMatcher({ model: old, threshold: 0.5, params: grid[0]!, validF1: 1 }, { auto: 0.9, review: 0.3 });
    saved.features = saved.features.slice(0, n);
    const back = deserializeMatcher(JSON.parse(JSON.stringify(saved)));
    const pairs = train
      .slice(0, 30)
      .map((x) => [prepare(x.left), prepare(x.right)] as [ReturnType<typeof prepare>, ReturnType<typeof prepare>]);
    const want = predictGbt(old, { rows: 30, cols: n, data: narrow.data.subarray(0, 30 * n) });
    const got = scorePairs(back, pairs, idf);
    for (let i = 0; i < 30; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    const reaching = JSON.parse(JSON.stringify(saved));
    reaching.trees[0].feature[0] = n;
    expect(() => deserializeMatcher(reaching)).toThrow(/does not list/);
  });

  it("averages models as one: the averaged model's margin is the mean of the margins", () => {
    const m = richMatrix(train, idf);
    const models = [1, 2, 3].map((seed) => fitGbt(m.x, m.y, { objective: 'logistic', nTrees: 20, subsample: 0.7, seed }));
    const avg = averageGbtModels(models);
    const per = models.map((x) => predictGbtMargin(x, m.x));
    const got = predictGbtMargin(avg, m.x);
    for (let i = 0; i < m.x.rows; i++) expect(got[i]).toBeCloseTo((per[0]![i]! + per[1]![i]! + per[2]![i]!) / 3, 10);
    expect(avg.trees).toHaveLength(models.reduce((s, x) => s + x.trees.length, 0));
    expect(() => averageGbtModels([])).toThrow(RangeError);
  });

  it('cross-fits on all labeled pairs: out-of-fold F1 and threshold chosen, the k fold models averaged, deterministic', () => {
    const all = richMatrix([...train, ...valid], idf);
    const cv = fitCvMatcher(all, { grid, folds: 4 });
    expect(cv.folds).toBe(4);
    expect(cv.validF1).toBeGreaterThan(0.95);
    const p = predictGbt(cv.model, richMatrix(test, idf).x);
    const wrong = test.filter((x, i) => (p[i]! >= cv.threshold ? 1 : 0) !== x.label).length;
    expect(wrong).toBeLessThanOrEqual(5);
    const again = fitCvMatcher(all, { grid, folds: 4 });
    expect(Array.from(predictGbt(again.model, all.x))).toEqual(Array.from(predictGbt(cv.model, all.x)));
    expect(() => fitCvMatcher(richMatrix(train.slice(0, 5), idf), { folds: 5 })).toThrow(RangeError);
  });

  it("one model (the shipped matcher's procedure): the cross-fit's choices, a single model of the folds' mean rounds", () => {
    const all = richMatrix([...train, ...valid], idf);
    const cv = fitCvMatcher(all, { grid, folds: 4 });
    const one = fitOneMatcher(all, { grid, folds: 4 });
    expect(one).toMatchObject({ threshold: cv.threshold, validF1: cv.validF1, params: cv.params, folds: 4 });
    expect(Array.from(one.oof)).toEqual(Array.from(cv.oof));
    // one model's trees, not four models' (the cross-fitted average scores every fold model)
    expect(one.model.trees).toHaveLength(Math.round(cv.model.trees.length / 4));
    const p = predictGbt(one.model, richMatrix(test, idf).x);
    const wrong = test.filter((x, i) => (p[i]! >= one.threshold ? 1 : 0) !== x.label).length;
    expect(wrong).toBeLessThanOrEqual(5);
  });

  it('operating points: auto is the lowest threshold with precision >= 0.97; review stops where matches thin out', () => {
    // scores of 10 positives and 10 negatives; negatives reach 0.85 at most, positives go down to 0.2
    const pos = [0.99, 0.98, 0.95, 0.9, 0.9, 0.88, 0.8, 0.6, 0.4, 0.2];
    const neg = [0.85, 0.5, 0.3, 0.1, 0.1, 0.05, 0.05, 0.02, 0.01, 0.01];
    const pts = operatingPoints([...pos, ...neg], [...pos.map(() => 1), ...neg.map(() => 0)]);
    expect(pts.auto).toBe(0.86); // above the highest negative: precision 1
    // scanning down: [0.51, 0.61) holds the positive 0.6; [0.50, 0.60) holds only the negative 0.5: stop
    expect(pts.review).toBe(0.51);
    expect(bestThreshold([0.9, 0.1], [1, 0]).f1).toBe(1);
  });
});

describe('the shipped matcher (matcher.model.json, scored by feed imports)', () => {
  const shipped = deserializeMatcher(
    JSON.parse(readFileSync(new URL('./matcher.model.json', import.meta.url), 'utf8')) as Parameters<typeof deserializeMatcher>[0],
  );
  // One TV as two retailers list it (one with its model number in the title only, one in a model field too, as
  // Walmart-Amazon's records), a sibling model of the same brand, and other products: document frequencies come from the records at hand, as in an import.
  const tv = prepare(rec('Samsung 46" Series 6 LCD HDTV LN46B650', { brand: 'Samsung', price: 1299 }));
  const sameTv = prepare(rec('Samsung Series 6 46" LCD HDTV - LN46B650', { brand: 'Samsung', model: 'LN46B650', price: 1249 }));
  const otherTv = prepare(rec('Samsung 32" Series 4 LCD HDTV LN32B360', { brand: 'Samsung', price: 499 }));
  const camera = prepare(rec('Canon PowerShot SD1200 IS digital camera 10 MP', { brand: 'Canon', price: 179 }));
  const player = prepare(rec('Sony BDP-S360 Blu-ray disc player', { brand: 'Sony', price: 199 }));
  const idf = buildIdf([tv, sameTv, otherTv, camera, player]);

  it('scores a known matching pair above its threshold, a sibling model and another product below it', () => {
    const [match, sibling, other] = scorePairs(
      shipped,
      [
        [tv, sameTv],
        [tv, otherTv],
        [tv, camera],
      ],
      idf,
    );
    expect(match!).toBeGreaterThan(shipped.threshold);
    expect(sibling!).toBeLessThan(shipped.threshold);
    expect(other!).toBeLessThan(shipped.threshold);
    // The import's operating points are ordered within (0, 1).
    expect(shipped.points.review).toBeLessThanOrEqual(shipped.points.auto);
    expect(shipped.points.auto).toBeLessThan(1);
  });
});
