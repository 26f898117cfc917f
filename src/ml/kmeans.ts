/**
 * k-means (Lloyd's algorithm with k-means++ seeding) and the silhouette coefficient, over row-major Float64Array
 * points (`n` rows of `d` columns). Pure; randomness only from the seeded generator passed in.
 */
import type { Rng } from './random.ts';

export interface KMeansResult {
  k: number;
  /** k x d centroids, row-major. */
  centroids: Float64Array;
  /** Cluster of each point. */
  labels: Int32Array;
  /** Sum of squared distances of points to their centroid. */
  inertia: number;
  iterations: number;
}

function sqDist(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) {
    const e = a[i * d + c]! - b[j * d + c]!;
    s += e * e;
  }
  return s;
}

/** The nearest of `k` centroids to point `i` of `x` (ties: the lowest index). O(k d). */
export function nearestCentroid(centroids: Float64Array, k: number, x: Float64Array, i: number, d: number): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let c = 0; c < k; c++) {
    const dist = sqDist(x, i, centroids, c, d);
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return best;
}

/**
 * Clusters `n` points of dimension `d` into `k` groups. k-means++ seeding, then Lloyd iterations until no label
 * changes or `maxIterations`. An emptied cluster is re-seeded at the point farthest from its centroid. O(n k d) per
 * iteration. Throws a RangeError when k is not in 1..n.
 */
export function kMeans(x: Float64Array, n: number, d: number, k: number, rng: Rng, maxIterations = 100): KMeansResult {
  if (x.length !== n * d) throw new RangeError(`kMeans: expected ${n * d} values, got ${x.length}`);
  if (!(k >= 1 && k <= n)) throw new RangeError(`kMeans: k must be in 1..${n}, got ${k}`);
  const centroids = new Float64Array(k * d);
  // k-means++: each next seed drawn with probability proportional to its squared distance to the nearest seed.
  const first = Math.floor(rng() * n);
  centroids.set(x.subarray(first * d, first * d + d), 0);
  const near = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      near[i] = Math.min(near[i]!, sqDist(x, i, centroids, c - 1, d));
      total += near[i]!;
    }
    let pick = n - 1;
    if (total > 0) {
      let r = rng() * total;
      for (let i = 0; i < n; i++) {
        r -= near[i]!;
        if (r <= 0) {
          pick = i;
          break;
        }
      }
    } else pick = Math.floor(rng() * n);
    centroids.set(x.subarray(pick * d, pick * d + d), c * d);
  }
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const c = nearestCentroid(centroids, k, x, i, d);
      if (c !== labels[i]) {
        labels[i] = c;
        changed++;
      }
    }
    if (changed === 0 && iterations > 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]!++;
      for (let j = 0; j < d; j++) sums[c * d + j]! += x[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j]! / counts[c]!;
      else {
        let far = 0;
        let farD = -1;
        for (let i = 0; i < n; i++) {
          const dist = sqDist(x, i, centroids, labels[i]!, d);
          if (dist > farD) {
            farD = dist;
            far = i;
          }
        }
        centroids.set(x.subarray(far * d, far * d + d), c * d);
      }
    }
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += sqDist(x, i, centroids, labels[i]!, d);
  return { k, centroids, labels, inertia, iterations };
}

/**
 * Mean silhouette coefficient of a labelling (Euclidean): for each point, (b - a) / max(a, b) with a the mean
 * distance to its own cluster and b the smallest mean distance to another cluster; 0 for points alone in their
 * cluster (scikit-learn's convention). O(n^2 d): pass a sample for large n. NaN when fewer than 2 clusters are used.
 */
export function silhouetteScore(x: Float64Array, n: number, d: number, labels: Int32Array, k: number): number {
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[labels[i]!]!++;
  let used = 0;
  for (const s of sizes) if (s > 0) used++;
  if (used < 2) return Number.NaN;
  const sum = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sum.fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sum[labels[j]!]! += Math.sqrt(sqDist(x, i, x, j, d));
    const own = labels[i]!;
    if (sizes[own]! <= 1) continue;
    const a = sum[own]! / (sizes[own]! - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sum[c]! / sizes[c]!);
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}
