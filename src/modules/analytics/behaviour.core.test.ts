import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutPath, pathEdges, pathSteps, retentionMatrix } from './behaviour.core.ts';

describe('retentionMatrix', () => {
  const labels = ['d1', 'd2', 'd3'];
  const rows = [
    { cohort: 'd1', period: 0, kind: 'size' as const, count: 10 },
    { cohort: 'd1', period: 1, kind: 'on' as const, count: 4 },
    { cohort: 'd1', period: 2, kind: 'on' as const, count: 3 },
    { cohort: 'd1', period: 1, kind: 'last' as const, count: 2 },
    { cohort: 'd1', period: 2, kind: 'last' as const, count: 3 },
    { cohort: 'd2', period: 0, kind: 'size' as const, count: 5 },
    { cohort: 'd2', period: 1, kind: 'on' as const, count: 1 },
    { cohort: 'd2', period: 1, kind: 'last' as const, count: 1 },
  ];

  it('builds "on" rows with unobserved periods as null and an empty cohort as zeros', () => {
    const m = retentionMatrix(labels, rows, 'on', 2);
    expect(m.cohorts[0]).toEqual({
      cohort: 'd1',
      size: 10,
      values: [
        { period: 0, count: 10, rate: 1 },
        { period: 1, count: 4, rate: 0.4 },
        { period: 2, count: 3, rate: 0.3 },
      ],
    });
    expect(m.cohorts[1]!.values).toEqual([{ period: 0, count: 5, rate: 1 }, { period: 1, count: 1, rate: 0.2 }, null]);
    expect(m.cohorts[2]).toEqual({ cohort: 'd3', size: 0, values: [{ period: 0, count: 0, rate: 0 }, null, null] });
    // The average weighs each observed cohort by its size.
    expect(m.average).toEqual([
      { period: 0, count: 15, size: 15, rate: 1 },
      { period: 1, count: 5, size: 15, rate: 0.3333 },
      { period: 2, count: 3, size: 10, rate: 0.3 },
    ]);
  });

  it('accumulates "on or after" from the last period back', () => {
    const m = retentionMatrix(labels, rows, 'on_or_after', 2);
    expect(m.cohorts[0]!.values.map((v) => v?.count)).toEqual([10, 5, 3]);
  });

  it('"on or after" never falls from one period to the next and never exceeds the cohort', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 4, maxLength: 4 }), (lasts) => {
        const size = lasts.reduce((a, b) => a + b, 0) + 3;
        const rs = [
          { cohort: 'c', period: 0, kind: 'size' as const, count: size },
          ...lasts.map((count, i) => ({ cohort: 'c', period: i + 1, kind: 'last' as const, count })),
        ];
        const v = retentionMatrix(['c', 'x', 'y', 'z', 'w'], rs, 'on_or_after', 4).cohorts[0]!.values.map((x) => x!.count);
        for (let k = 1; k < v.length; k++) expect(v[k]).toBeLessThanOrEqual(v[k - 1]!);
        expect(v[0]).toBe(size);
      }),
    );
  });
});

describe('pathSteps', () => {
  it('sums edges per offset, the largest first, other and (end) last, offsets negative going back', () => {
    const edges = [
      { k: 1, to: '(end)', sessions: 5 },
      { k: 1, to: '/b', sessions: 3 },
      { k: 1, to: 'other', sessions: 9 },
      { k: 1, to: '/a', sessions: 4 },
      { k: 2, to: '/c', sessions: 2 },
      { k: 2, to: '/c', sessions: 1 },
    ];
    const s = pathSteps(edges, 3, 'previous');
    expect(s).toHaveLength(2);
    expect(s[0]!.offset).toBe(-1);
    expect(s[0]!.sessions).toBe(21);
    expect(s[0]!.nodes.map((n) => n.name)).toEqual(['/a', '/b', 'other', '(end)']);
    expect(s[1]).toEqual({ offset: -2, sessions: 3, nodes: [{ name: '/c', sessions: 3, share: 1 }] });
  });

  it('returns no steps for no edges', () => {
    expect(pathSteps([], 3, 'next')).toEqual([]);
  });
});

describe('pathEdges', () => {
  const seqs = [{ nodes: ['/', '/a', '/a', '/b', '/'] }, { nodes: ['/x', '/', '/c'] }, { nodes: ['/', '/a'] }, { nodes: ['/nothing'] }];
  const cut = (q: { anchor: string; direction: 'next' | 'previous'; depth: number }) =>
    seqs.flatMap(({ nodes }) => {
      const path = cutPath(nodes, q);
      return path ? [{ path, sessions: 1 }] : [];
    });
  it('collapses repeats, starts at the first anchor, ends once, folds past top into other', () => {
    const q = { anchor: '/', direction: 'next', depth: 3 } as const;
    const r = pathEdges(cut(q), { ...q, top: 1 });
    expect(r.sessions).toBe(3);
    expect(r.edges).toEqual([
      { k: 1, from: '/', to: '/a', sessions: 2 },
      { k: 1, from: '/', to: 'other', sessions: 1 },
      { k: 2, from: '/a', to: '(end)', sessions: 1 },
      { k: 2, from: '/a', to: '/b', sessions: 1 },
      { k: 2, from: 'other', to: '(end)', sessions: 1 },
      { k: 3, from: '/b', to: '/', sessions: 1 },
    ]);
  });
  it('goes back from the anchor, nearest first', () => {
    expect(cutPath(['/x', '/', '/b', '/b', '/a', '/a'], { anchor: '/a', direction: 'previous', depth: 2 })).toEqual(['/b', '/']);
    const q = { anchor: '/a', direction: 'previous', depth: 2 } as const;
    const r = pathEdges(cut(q), { ...q, top: 5 });
    expect(r.edges).toEqual([
      { k: 1, from: '/a', to: '/', sessions: 2 },
      { k: 2, from: '/', to: '(end)', sessions: 2 },
    ]);
  });
  it('counts a grouped path as many sessions as it carries: grouping never changes the answer', () => {
    // Random paths over a small alphabet (so counts tie and 'other' folds), each once vs grouped with counts.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const depth = 1 + rnd(5);
      const top = 1 + rnd(4);
      const single = Array.from({ length: 1 + rnd(60) }, () => ({
        path: Array.from({ length: rnd(depth + 1) }, () => ['/a', '/b', '/c', '/d', '/é', '/😀', '/\uffff'][rnd(7)]!),
        sessions: 1,
      }));
      const grouped = new Map<string, { path: string[]; sessions: number }>();
      for (const s of single) {
        const g = grouped.get(JSON.stringify(s.path));
        if (g) g.sessions++;
        else grouped.set(JSON.stringify(s.path), { ...s, path: [...s.path] });
      }
      const q = { anchor: '/', depth, top };
      expect(pathEdges([...grouped.values()].reverse(), q)).toEqual(pathEdges(single, q));
    }
  });
  it('returns no sessions and no edges for no paths', () => {
    expect(pathEdges([], { anchor: '/', depth: 3, top: 3 })).toEqual({ sessions: 0, edges: [] });
  });
});
