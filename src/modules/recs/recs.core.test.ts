import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CANARY_MIN_SERVED,
  alignItemRows,
  canaryBucket,
  canaryDecision,
  decodeArtifact,
  encodeArtifact,
  latestHoldout,
  packVersion,
  reasonFor,
  unpackVersion,
  unpackVersionChunked,
  validateHyperparameters,
} from './recs.core.ts';

describe('incremental training inputs', () => {
  it('a stored version round-trips its item ids with the artifact', () => {
    const out = unpackVersion(
      packVersion(['a', 'é', '9007199254740993'], encodeArtifact({ type: 'ials' }, { itemFactors: Float32Array.of(1, 2) })),
    );
    expect(out.itemIds).toEqual(['a', 'é', '9007199254740993']);
    expect(out.meta).toEqual({ type: 'ials' });
    expect(Array.from(out.arrays.itemFactors!)).toEqual([1, 2]);
  });
  it('re-indexes item rows to the new catalog: known items keep their row, new ones start fresh, gone ones drop', () => {
    const prev = Float32Array.of(1, 1, 2, 2, 3, 3); // items a, b, c; dim 2
    const { rows, carried } = alignItemRows(['a', 'b', 'c'], prev, 2, ['c', 'new', 'a'], (row) => row.fill(-1));
    expect(Array.from(rows)).toEqual([3, 3, -1, -1, 1, 1]);
    expect(carried).toBe(2);
    expect(() => alignItemRows(['a'], prev, 2, ['a'], () => undefined)).toThrow(RangeError);
  });
});

describe('artifact codec', () => {
  it('round-trips typed arrays and metadata exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true }), { maxLength: 50 }),
        fc.array(fc.integer(), { maxLength: 50 }),
        fc.array(fc.double({ noNaN: true }), { maxLength: 9 }),
        (f, i, d) => {
          const buf = encodeArtifact({ type: 'x', items: 3 }, { a: Float32Array.from(f), b: Int32Array.from(i), c: Float64Array.from(d) });
          const out = decodeArtifact(buf);
          expect(out.meta).toEqual({ type: 'x', items: 3 });
          expect(Array.from(out.arrays.a!)).toEqual(Array.from(Float32Array.from(f)));
          expect(Array.from(out.arrays.b!)).toEqual(i);
          expect(Array.from(out.arrays.c!)).toEqual(d);
        },
      ),
    );
  });
  it('is compact (raw bytes, not text) and refuses foreign files', () => {
    const buf = encodeArtifact({}, { a: new Float32Array(10_000) });
    expect(buf.length).toBeLessThan(40_000 + 200);
    expect(() => decodeArtifact(Buffer.from('hello world'))).toThrow(/not a Loupe model artifact/);
  });
});

describe('unpackVersionChunked', () => {
  const version = packVersion(
    ['x', 'yy', 'zzz'],
    encodeArtifact(
      { type: 'ials', items: 3 },
      {
        a: Float32Array.from({ length: 3001 }, (_, k) => k / 7),
        b: Int32Array.from({ length: 999 }, (_, k) => -k),
        c: Float64Array.of(Math.PI),
      },
    ),
  );

  it('decodes exactly what unpackVersion does, pausing between slices of the copy', async () => {
    let pauses = 0;
    const out = await unpackVersionChunked(version, { chunkBytes: 1000, pause: async () => void pauses++ });
    const ref = unpackVersion(version);
    expect(out.itemIds).toEqual(ref.itemIds);
    expect(out.meta).toEqual(ref.meta);
    for (const k of ['a', 'b', 'c']) {
      expect(out.arrays[k]!.constructor).toBe(ref.arrays[k]!.constructor);
      expect(Array.from(out.arrays[k]!)).toEqual(Array.from(ref.arrays[k]!));
    }
    expect(pauses).toBe(Math.floor((3001 * 4 + 999 * 4 + 8) / 1000));
  });

  it('lets other work run on the event loop while a large model decodes', async () => {
    const order: string[] = [];
    const decoding = unpackVersionChunked(version, { chunkBytes: 4096 }).then(() => order.push('decoded'));
    setImmediate(() => order.push('other work'));
    await decoding;
    expect(order).toEqual(['other work', 'decoded']);
  });

  it('refuses a truncated artifact instead of decoding zeros', async () => {
    await expect(unpackVersionChunked(version.subarray(0, version.length - 16))).rejects.toThrow(/truncated/);
    expect(() => unpackVersion(version.subarray(0, version.length - 16))).toThrow(/truncated/);
  });
});

describe('latestHoldout', () => {
  it('holds out the most recent item of each user with two or more items', () => {
    const s = {
      users: 3,
      items: 4,
      u: Int32Array.of(0, 0, 0, 1, 2, 2),
      i: Int32Array.of(0, 1, 2, 3, 1, 2),
      w: new Float32Array(6).fill(1),
      t: Float64Array.of(5, 9, 1, 3, 7, 2),
    };
    const { train, test } = latestHoldout(s);
    expect(Array.from(test)).toEqual([1, 4]);
    expect(Array.from(train)).toEqual([0, 2, 3, 5]);
  });
});

describe('validateHyperparameters', () => {
  it('accepts the graph filter’s degree exponents and SVD iterations, naming out-of-range ones', () => {
    expect(
      validateHyperparameters('graph_filter', { user_exponent: 0.6, item_exponent: 0.4, power_iterations: 6, sharpen: 1.25 }),
    ).toMatchObject({ ok: true, params: { user_exponent: 0.6, item_exponent: 0.4, power_iterations: 6 } });
    // a tenant's default is GF-CF as published (symmetric normalization, ideal weight 0.3, no sharpening), the
    // search's starting point: nothing tuned on Yelp2018 (0.6/0.4, T = 1.25)
    expect(validateHyperparameters('graph_filter', {})).toMatchObject({
      ok: true,
      params: { user_exponent: 0.5, item_exponent: 0.5, power_iterations: 6, ideal_weight: 0.3, sharpen: 0, linear_weight: 1, rank: 256 },
    });
    const bad = validateHyperparameters('graph_filter', { user_exponent: 1.5, power_iterations: 0 });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.details.map((d) => d.field).sort()).toEqual(['hyperparameters.power_iterations', 'hyperparameters.user_exponent']);
  });
  it('names every out-of-range or unknown field', () => {
    const r = validateHyperparameters('lightgcn', { embedding_dim: 0, num_layers: 9, learning_rate: 0.01, nope: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.details.map((d) => d.field).sort()).toEqual([
        'hyperparameters.embedding_dim',
        'hyperparameters.nope',
        'hyperparameters.num_layers',
      ]);
  });
  it('fills the neutral defaults (the ones loupe eval and bench/recs-quality run)', () => {
    expect(validateHyperparameters('ials', {})).toMatchObject({
      ok: true,
      params: { factors: 64, regularization: 1, alpha: 2, iterations: 12, cg_steps: 3 },
    });
    expect(validateHyperparameters('item_knn', {})).toMatchObject({ ok: true, params: { k: 100, shrink: 0, measure: 'cosine' } });
  });
});

describe('canary', () => {
  it('buckets users stickily and roughly uniformly', () => {
    expect(canaryBucket('t', 'u1')).toBe(canaryBucket('t', 'u1'));
    let inTen = 0;
    for (let k = 0; k < 5000; k++) if (canaryBucket('t', `user-${k}`) < 10) inTen++;
    expect(inTen / 5000).toBeGreaterThan(0.08);
    expect(inTen / 5000).toBeLessThan(0.12);
  });
  it('waits for the minimum sample, promotes a better canary, rolls back a clearly worse one', () => {
    expect(canaryDecision({ served: CANARY_MIN_SERVED - 1, conversions: 100 }, { served: 5000, conversions: 0 }, true)).toBe('wait');
    expect(canaryDecision({ served: 1000, conversions: 80 }, { served: 9000, conversions: 450 }, false)).toBe('promote');
    expect(canaryDecision({ served: 1000, conversions: 10 }, { served: 9000, conversions: 450 }, true)).toBe('rollback');
    expect(canaryDecision({ served: 1000, conversions: 50 }, { served: 9000, conversions: 450 }, true)).toBe('wait');
  });
});

describe('reasonFor', () => {
  it('explains by the anchor item, or by popularity', () => {
    expect(reasonFor({ personalized: true, anchorName: 'Wireless Headphones', anchorType: 'purchase' })).toBe(
      'Because you bought Wireless Headphones',
    );
    expect(reasonFor({ personalized: false, category: 'Audio' })).toBe('Popular in Audio');
    expect(reasonFor({ personalized: false, trending: true })).toBe('Trending');
  });
});
