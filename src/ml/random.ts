/**
 * Deterministic pseudo-random numbers for kernels: every random choice in `ml` takes a seed, so a
 * training run, a test and a benchmark replay exactly.
 */

/** A generator of uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a 32-bit state generator, period 2^32, fast and good enough for initialisation,
 * sampling and shuffling (not for cryptography). The same seed always gives the same sequence.
 */
export function rngMulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `out` with independent standard normal draws (Box-Muller, both values of each pair used).
 * O(out.length).
 */
export function fillNormal(out: Float32Array | Float64Array, rng: Rng): Float32Array | Float64Array {
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    let u = rng();
    while (u <= 0) u = rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Fisher-Yates shuffle of `values` in place. O(n). */
export function shuffleInPlace(values: Int32Array | number[], rng: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}
