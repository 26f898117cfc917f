import { describe, expect, it } from 'vitest';
import { kMeans, nearestCentroid, silhouetteScore } from './kmeans.ts';
import { rngMulberry32 } from './random.ts';

/** Naive silhouette straight from the definition, for comparison. */
function naiveSilhouette(points: number[][], labels: number[]): number {
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, j) => v - b[j]!));
  let s = 0;
  points.forEach((p, i) => {
    const own = points.filter((_, j) => j !== i && labels[j] === labels[i]);
    if (!own.length) return;
    const a = own.reduce((t, q) => t + dist(p, q), 0) / own.length;
    const others = [...new Set(labels)].filter((c) => c !== labels[i]);
    const b = Math.min(
      ...others.map((c) => {
        const m = points.filter((_, j) => labels[j] === c);
        return m.reduce((t, q) => t + dist(p, q), 0) / m.length;
      }),
    );
    s += (b - a) / Math.max(a, b);
  });
  return s / points.length;
}

describe('kMeans', () => {
  const blobs = (seed: number) => {
    const rng = rngMulberry32(seed);
    const pts: number[][] = [];
    for (const [cx, cy] of [
      [0, 0],
      [10, 0],
      [0, 10],
    ])
      for (let i = 0; i < 30; i++) pts.push([cx! + rng() - 0.5, cy! + rng() - 0.5]);
    return pts;
  };

  it('recovers three well-separated blobs, each point at its nearest centroid', () => {
    const pts = blobs(1);
    const x = Float64Array.from(pts.flat());
    const r = kMeans(x, pts.length, 2, 3, rngMulberry32(2));
    for (let b = 0; b < 3; b++) expect(new Set(r.labels.subarray(b * 30, b * 30 + 30)).size).toBe(1);
    expect(new Set(r.labels).size).toBe(3);
    for (let i = 0; i < pts.length; i++) expect(nearestCentroid(r.centroids, 3, x, i, 2)).toBe(r.labels[i]);
    expect(r.inertia).toBeLessThan(90 * 0.5);
  });

  it('inertia never rises with more clusters on the same data (best of a few seeds)', () => {
    const pts = blobs(3);
    const x = Float64Array.from(pts.flat());
    const best = (k: number) => Math.min(...[1, 2, 3].map((s) => kMeans(x, pts.length, 2, k, rngMulberry32(s)).inertia));
    expect(best(2)).toBeGreaterThan(best(3));
    expect(best(3)).toBeGreaterThanOrEqual(best(4));
  });

  it('silhouette matches the definition and is highest at the true k', () => {
    const pts = blobs(5);
    const x = Float64Array.from(pts.flat());
    const scores = [2, 3, 4].map((k) => {
      const r = kMeans(x, pts.length, 2, k, rngMulberry32(9));
      const s = silhouetteScore(x, pts.length, 2, r.labels, k);
      expect(s).toBeCloseTo(naiveSilhouette(pts, [...r.labels]), 10);
      return s;
    });
    expect(scores.indexOf(Math.max(...scores))).toBe(1);
  });

  it('refuses k outside 1..n and a wrong shape', () => {
    expect(() => kMeans(new Float64Array(4), 2, 2, 3, rngMulberry32(1))).toThrow(RangeError);
    expect(() => kMeans(new Float64Array(3), 2, 2, 1, rngMulberry32(1))).toThrow(RangeError);
    expect(silhouetteScore(new Float64Array(4), 2, 2, Int32Array.from([0, 0]), 2)).toBeNaN();
  });
});
