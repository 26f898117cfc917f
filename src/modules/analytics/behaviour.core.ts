/**
 * Pure shaping of the behavioural reports (retention matrix, paths): rows already aggregated by events' SQL in,
 * the public report out. No I/O.
 */
import { rate } from './analytics.core.ts';

export type RetentionCriterion = 'on' | 'on_or_after';

export interface RetentionCell {
  period: number;
  count: number;
  rate: number;
}
export interface RetentionCohort {
  cohort: string;
  size: number;
  /** Periods 0..periods; null where the period starts at or after the range's end (not observed yet). */
  values: (RetentionCell | null)[];
}

/**
 * The cohort x period matrix. `labels` are the range's local period labels in order (one cohort each, empty ones
 * included); period k of cohort i is observed when label i + k exists (it starts before the range ends).
 * "on": people with a return in period k. "on or after": people whose latest return is in period k or later.
 * Period 0 is the cohort itself (rate 1 when not empty).
 */
export function retentionMatrix(
  labels: readonly string[],
  rows: readonly { cohort: string; period: number; kind: 'size' | 'on' | 'last'; count: number }[],
  criterion: RetentionCriterion,
  periods: number,
): { cohorts: RetentionCohort[]; average: { period: number; count: number; size: number; rate: number }[] } {
  const byKey = new Map(rows.map((r) => [`${r.kind}|${r.cohort}|${r.period}`, r.count]));
  const get = (kind: string, cohort: string, period: number) => byKey.get(`${kind}|${cohort}|${period}`) ?? 0;
  const cohorts = labels.map((cohort, i): RetentionCohort => {
    const size = get('size', cohort, 0);
    const counts: number[] = [];
    if (criterion === 'on') for (let k = 1; k <= periods; k++) counts[k] = get('on', cohort, k);
    else {
      let acc = 0;
      for (let k = periods; k >= 1; k--) counts[k] = acc += get('last', cohort, k);
    }
    const values: (RetentionCell | null)[] = [{ period: 0, count: size, rate: size > 0 ? 1 : 0 }];
    for (let k = 1; k <= periods; k++)
      values.push(i + k < labels.length ? { period: k, count: counts[k]!, rate: rate(counts[k]!, size) } : null);
    return { cohort, size, values };
  });
  // Weighted by cohort size over the cohorts that observed the period (PostHog's "average" row).
  const average = [];
  for (let k = 0; k <= periods; k++) {
    let count = 0;
    let size = 0;
    for (const c of cohorts) {
      const v = c.values[k];
      if (v) {
        count += v.count;
        size += c.size;
      }
    }
    average.push({ period: k, count, size, rate: rate(count, size) });
  }
  return { cohorts, average };
}

export interface PathNode {
  name: string;
  sessions: number;
  /** Share of the sessions at this offset. */
  share: number;
}
export interface PathStep {
  offset: number;
  sessions: number;
  nodes: PathNode[];
}

/**
 * Per offset (1..depth, negative offsets going back), the nodes and their session counts from the edges, largest
 * first, 'other' and '(end)' last. Sessions at offset k are those still on a path at k - 1.
 */
export function pathSteps(
  edges: readonly { k: number; to: string; sessions: number }[],
  depth: number,
  direction: 'next' | 'previous',
): PathStep[] {
  const out: PathStep[] = [];
  const rank = (n: string) => (n === '(end)' ? 2 : n === 'other' ? 1 : 0);
  for (let k = 1; k <= depth; k++) {
    const byNode = new Map<string, number>();
    for (const e of edges) if (e.k === k) byNode.set(e.to, (byNode.get(e.to) ?? 0) + e.sessions);
    if (!byNode.size) break;
    const sessions = [...byNode.values()].reduce((a, b) => a + b, 0);
    const nodes = [...byNode]
      .map(([name, n]) => ({ name, sessions: n, share: rate(n, sessions) }))
      .sort((a, b) => rank(a.name) - rank(b.name) || b.sessions - a.sessions || (a.name < b.name ? -1 : 1));
    out.push({ offset: direction === 'next' ? k : -k, sessions, nodes });
  }
  return out;
}

/** Sessions moving from `from` (at offset k-1; the anchor at k = 1) to `to` at offset k ('(end)': the path stops). */
export interface PathEdge {
  k: number;
  from: string;
  to: string;
  sessions: number;
}

/**
 * One session's path from its node sequence (in time order): repeats in a row collapsed; from the first `anchor`,
 * the next (or previous, nearest first) `depth` nodes; null without the anchor. What events' `pathCounts` computes
 * in SQL, kept here as the specification the tests hold the SQL to.
 */
export function cutPath(nodes: readonly string[], q: { anchor: string; direction: 'next' | 'previous'; depth: number }): string[] | null {
  const seq: string[] = [];
  for (const n of nodes) if (seq[seq.length - 1] !== n) seq.push(n);
  const at = seq.indexOf(q.anchor);
  if (at < 0) return null;
  return q.direction === 'next' ? seq.slice(at + 1, at + 1 + q.depth) : seq.slice(Math.max(0, at - q.depth), at).reverse();
}

/**
 * Edges from the sessions' cut paths (`cutPath`), grouped: each distinct path with its session count. '(end)' once
 * where a path is shorter than `depth`. Per offset k the `top` most frequent nodes are kept (ties by code-unit
 * order) and the rest folded into 'other'. Returns the anchor's session count and the edges, by offset then
 * sessions (largest first). O(distinct paths · depth + nodes · log nodes).
 */
export function pathEdges(
  grouped: readonly { path: readonly string[]; sessions: number }[],
  q: { anchor: string; depth: number; top: number },
): { sessions: number; edges: PathEdge[] } {
  const paths: { p: string[]; n: number }[] = [];
  let sessions = 0;
  for (const { path, sessions: n } of grouped) {
    if (n <= 0) continue;
    const p = path.slice(0, q.depth);
    if (p.length < q.depth) p.push('(end)');
    paths.push({ p, n });
    sessions += n;
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  for (let k = 0; k < q.depth; k++) {
    const counts = new Map<string, number>();
    for (const { p, n: w } of paths) {
      const n = p[k];
      if (n !== undefined && n !== '(end)') counts.set(n, (counts.get(n) ?? 0) + w);
    }
    if (counts.size <= q.top) continue;
    const kept = new Set(
      [...counts]
        .sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]))
        .slice(0, q.top)
        .map(([n]) => n),
    );
    for (const { p } of paths) {
      const n = p[k];
      if (n !== undefined && n !== '(end)' && !kept.has(n)) p[k] = 'other';
    }
  }
  const edges = new Map<string, PathEdge>();
  for (const { p, n } of paths)
    p.forEach((to, i) => {
      const from = i === 0 ? q.anchor : p[i - 1]!;
      const key = `${i + 1}\u0000${from}\u0000${to}`;
      const e = edges.get(key);
      if (e) e.sessions += n;
      else edges.set(key, { k: i + 1, from, to, sessions: n });
    });
  return {
    sessions,
    edges: [...edges.values()].sort((a, b) => a.k - b.k || b.sessions - a.sessions || cmp(a.from, b.from) || cmp(a.to, b.to)),
  };
}
