import { describe, expect, it } from 'vitest';
import { fillNormal, rngMulberry32, shuffleInPlace } from './random.ts';

describe('random', () => {
  it('mulberry32 is deterministic per seed and uniform-looking in [0, 1)', () => {
    const a = rngMulberry32(42);
    const b = rngMulberry32(42);
    let sum = 0;
    let bad = 0;
    for (let i = 0; i < 10000; i++) {
      const x = a();
      if (x !== b() || !(x >= 0 && x < 1)) bad++;
      sum += x;
    }
    expect(bad).toBe(0);
    expect(sum / 10000).toBeCloseTo(0.5, 1);
    expect(rngMulberry32(1)()).not.toBe(rngMulberry32(2)());
  });

  it('fillNormal has mean ~0 and variance ~1; shuffle is a permutation', () => {
    const x = fillNormal(new Float64Array(20001), rngMulberry32(3));
    let m = 0;
    let v = 0;
    for (const t of x) m += t;
    m /= x.length;
    for (const t of x) v += (t - m) ** 2;
    expect(m).toBeCloseTo(0, 1);
    expect(v / x.length).toBeCloseTo(1, 1);
    const p = Int32Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(p, rngMulberry32(4));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
