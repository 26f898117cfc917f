import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topK, topKDrain, topKInto, topKPush } from './topk.ts';

/** The reference: filter, full stable sort by descending score, cut. */
function reference(
  scores: Float32Array,
  k: number,
  o: { offset?: number; length?: number; mask?: Uint8Array; exclude?: number[]; prior?: { values: Float32Array; scale: number } },
): { i: number; v: number }[] {
  const offset = o.offset ?? 0;
  const length = o.length ?? scores.length - offset;
  const out: { i: number; v: number }[] = [];
  for (let j = 0; j < length; j++) {
    if (o.mask && !o.mask[j]) continue;
    if (o.exclude?.includes(j)) continue;
    const v = scores[offset + j]! + (o.prior ? o.prior.scale * o.prior.values[j]! : 0);
    if (v > -Infinity) out.push({ i: j, v });
  }
  return out.sort((a, b) => b.v - a.v || a.i - b.i).slice(0, Math.max(0, k));
}

const score = fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constant(-Infinity), fc.constant(Number.NaN), fc.double({ noNaN: true }));

describe('topK', () => {
  it('equals a full sort of the window (mask, short and long exclusions, prior; ties to the lower index)', () => {
    fc.assert(
      fc.property(
        fc.array(score, { maxLength: 80 }),
        fc.nat(90),
        fc.nat(90),
        fc.array(fc.boolean(), { maxLength: 80 }),
        fc.array(fc.nat(85), { maxLength: 40 }),
        fc.integer({ min: -1, max: 14 }),
        fc.boolean(),
        (raw, a, b, allowed, exclude, k, withPrior) => {
          const scores = Float32Array.from(raw);
          const offset = Math.min(a, scores.length);
          const length = Math.min(b, scores.length - offset);
          const mask = Uint8Array.from({ length }, (_, j) => (allowed[j] === false ? 0 : 1));
          const prior = withPrior ? { values: Float32Array.from({ length }, (_, j) => j % 3), scale: 0.25 } : undefined;
          const options = { offset, length, mask, exclude, ...(prior ? { prior } : {}) };
          const expected = reference(scores, k, options);
          const got = topK(scores, k, options);
          expect([...got.indices]).toEqual(expected.map((e) => e.i));
          // -0 and +0 tie as equal scores: compare them as one value.
          const zero = (v: number) => (v === 0 ? 0 : v);
          expect([...got.scores].map(zero)).toEqual(expected.map((e) => zero(Math.fround(e.v))));
        },
      ),
    );
  });

  it('ranks a window with indices relative to it', () => {
    const got = topK(Float32Array.from([9, 9, 1, 5, 3, 9]), 2, { offset: 2, length: 3 });
    expect([...got.indices]).toEqual([1, 2]);
    expect([...got.scores]).toEqual([5, 3]);
  });

  it('writes into caller buffers and returns the count', () => {
    const scores = Float32Array.from([3, Number.NaN, 7, -Infinity, 7, 1]);
    const idx = new Int32Array(4);
    const val = new Float64Array(4);
    expect(topKInto(scores, 4, idx, val)).toBe(4);
    expect([...idx]).toEqual([2, 4, 0, 5]);
    expect([...val]).toEqual([7, 7, 3, 1]);
    expect(() => topKInto(scores, 4, new Int32Array(3), val)).toThrow(RangeError);
    expect(() => topK(scores, 2, { offset: 4, length: 3 })).toThrow(RangeError);
  });

  it('streams: pushes then a drain equal the batch selection', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }), fc.nat(10), (vals, k) => {
        const idx = new Int32Array(k);
        const val = new Float64Array(k);
        let size = 0;
        vals.forEach((v, j) => {
          size = topKPush(idx, val, size, k, j, v);
        });
        topKDrain(idx, val, size);
        const expected = reference(Float32Array.from(vals), k, {});
        expect([...idx.subarray(0, size)]).toEqual(expected.map((e) => e.i));
        expect([...val.subarray(0, size)]).toEqual(expected.map((e) => e.v));
      }),
    );
  });
});
