import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { csrFromCoo, type Csr } from './csr.ts';
import {
  buildContentIndex,
  contentRow,
  contentSimilarItems,
  contentUserProfile,
  contentVector,
  fitContent,
  scoreContentVector,
  tfIdf,
  tokenizeText,
  type ItemAttributes,
} from './content.ts';

const catalog: ItemAttributes[] = [
  { category: 'Shoes', brand: 'Acme', tags: ['running'], text: 'Acme trail running shoe, lightweight' },
  { category: 'Shoes', brand: 'Acme', tags: ['running', 'road'], text: 'Road running shoe' },
  { category: 'Shoes', brand: 'Zeta', tags: ['hiking'], text: 'Leather hiking boot' },
  { category: 'Kitchen', brand: 'Cookco', tags: ['pan'], text: 'Non-stick frying pan 28cm' },
  { category: 'Kitchen', brand: 'Cookco', tags: ['pot'], text: 'Stock pot 8L' },
  {},
];

function denseRow(m: Csr, r: number): number[] {
  const out = new Array<number>(m.cols).fill(0);
  for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) out[m.indices[p]!] = m.data[p]!;
  return out;
}

describe('tokenizeText', () => {
  it('lower-cases, splits on non-alphanumerics, keeps unicode letters, drops 1-char tokens', () => {
    expect(tokenizeText('Non-stick Frying PAN, 28cm — crème brûlée a')).toEqual([
      'non',
      'stick',
      'frying',
      'pan',
      '28cm',
      'crème',
      'brûlée',
    ]);
  });
});

describe('tfIdf', () => {
  it('equals the textbook formula (smoothed idf, sublinear tf, L2 rows) and drops out-of-range df', { timeout: 20_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 4 })), {
          maxLength: 30,
        }),
        fc.boolean(),
        fc.integer({ min: 1, max: 2 }),
        fc.constantFrom(1, 0.5),
        (triples, sublinear, minDf, maxDfRatio) => {
          const counts = csrFromCoo(
            6,
            7,
            triples.map((t) => t[0]),
            triples.map((t) => t[1]),
            triples.map((t) => t[2]),
          );
          const { vectors } = tfIdf(counts, { sublinearTf: sublinear, minDf, maxDfRatio });
          for (let r = 0; r < 6; r++) {
            const c = denseRow(counts, r);
            const raw = c.map((tf, t) => {
              if (tf === 0) return 0;
              let df = 0;
              for (let q = 0; q < 6; q++) if (denseRow(counts, q)[t]! > 0) df++;
              if (df < minDf || df > maxDfRatio * 6) return 0;
              return (sublinear ? 1 + Math.log(tf) : tf) * (Math.log(7 / (1 + df)) + 1);
            });
            const norm = Math.hypot(...raw);
            const got = denseRow(vectors, r);
            raw.forEach((v, t) => expect(got[t]).toBeCloseTo(norm > 0 ? v / norm : 0, 5));
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('content index', () => {
  const index = buildContentIndex(catalog);

  it('finds same-brand, same-category items first for a cold item, never itself', () => {
    const top = contentSimilarItems(index, 0, 3);
    expect(top.indices[0]).toBe(1);
    expect([...top.indices]).not.toContain(0);
    expect([...top.indices]).not.toContain(3);
    expect(top.scores[0]).toBeLessThanOrEqual(1 + 1e-6);
    expect(contentSimilarItems(index, 5, 3).indices.length).toBe(0);
  });

  it('cosine through the posting lists is symmetric and within [0, 1]', () => {
    const n = catalog.length;
    const sims = Array.from({ length: n }, (_, i) => scoreContentVector(index.postings, contentRow(index.vectors, i), new Float32Array(n)));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(sims[i]![j]).toBeGreaterThanOrEqual(0);
        expect(sims[i]![j]).toBeLessThanOrEqual(1 + 1e-6);
        expect(sims[i]![j]).toBeCloseTo(sims[j]![i]!, 6);
      }
      if (i < 5) expect(sims[i]![i]).toBeCloseTo(1, 5);
    }
  });

  it('vectorises a brand-new item with the existing vocabulary (unknown terms ignored)', () => {
    const same = contentVector(index, catalog[3]!);
    const stored = contentRow(index.vectors, 3);
    expect([...same.indices]).toEqual([...stored.indices]);
    same.values.forEach((v, t) => expect(v).toBeCloseTo(stored.values[t]!, 6));
    const fresh = contentVector(index, { category: 'Kitchen', brand: 'Newbrand', text: 'ceramic frying pan' });
    const scores = scoreContentVector(index.postings, fresh, new Float32Array(catalog.length));
    expect(scores[3]).toBeGreaterThan(scores[4]!);
    expect(scores[0]).toBe(0);
  });

  it('profiles a user by their liked items and scores like a dense reference', () => {
    const profile = contentUserProfile(index.vectors, [0, 2], [1, 3]);
    const dense = new Array<number>(index.vectors.cols).fill(0);
    for (const [i, w] of [
      [0, 1],
      [2, 3],
    ] as const)
      denseRow(index.vectors, i).forEach((v, t) => (dense[t]! += w * v));
    const norm = Math.hypot(...dense);
    const got = new Array<number>(index.vectors.cols).fill(0);
    profile.indices.forEach((t, k) => (got[t] = profile.values[k]!));
    dense.forEach((v, t) => expect(got[t]).toBeCloseTo(v / norm, 6));

    const train = csrFromCoo(2, catalog.length, [0, 0, 1], [0, 2, 4]);
    const model = fitContent(train, index);
    const out = new Float32Array(2 * catalog.length);
    model.scoreBatch(Int32Array.from([0, 1]), out);
    expect(out[1]).toBeGreaterThan(out[3]!); // shoe lover: road shoe over frying pan
    expect(out[catalog.length + 3]).toBeGreaterThan(out[catalog.length + 1]!); // pot owner: pan over shoe
  });
});
