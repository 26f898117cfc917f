/**
 * Funnels, PostHog's semantics, over the window's occurrences (events' `funnelOccurrences`, unordered): per entity
 * (session or person) the best attempt, then counts and step-to-step medians per step and per breakdown value.
 * Pure: no I/O, no clock. Instants are whole microseconds since the epoch.
 *
 * - `ordered` (PostHog "sequential"): step i is the first occurrence of its event at or after step i-1 (strictly
 *   after when both steps name the same event); other events may happen in between.
 * - `strict`: step i must be the very next occurrence after step i-1 among every event of the kinds the steps
 *   draw on (funnel stages, cart events, page views), ties at one instant ordered page, stage, cart, then by name;
 *   excluded events are not "other events" there (they void the attempt instead, below).
 * - `any`: the steps in any order; an entity reaches step i when it did i+1 of the steps (each step matched by its
 *   own occurrence, the earliest ones first).
 *
 * Every occurrence of step 1 (of any step with `any`) starts an attempt; with a conversion window the later steps
 * must fall within `windowUs` of the attempt's start. An attempt is void when an excluded event happens strictly
 * between its start and the deepest step it reached. Each entity counts by its deepest attempt, the earliest of
 * equals; its breakdown value is that attempt's first-step session attribute (first touch) or its deepest step's
 * (last touch). Breakdown values: the `limit` with the most entities at step 1 (ties by value), the rest 'other'.
 *
 * Cost: O(n log n) to sequence n occurrences; per attempt O(steps · log n) ordered, O(span) strict or any order.
 * Without a window, exclusions or strict order the earliest start is as deep as any, so only it is tried.
 */
export type FunnelOrder = 'ordered' | 'strict' | 'any';
export type FunnelAttribution = 'first_touch' | 'last_touch';

export interface FunnelOccurrence {
  entity: string;
  name: string;
  at: number;
  o: number;
  value: string;
}
export interface FunnelSpec {
  steps: readonly string[];
  order: FunnelOrder;
  /** Conversion window in microseconds from the attempt's start (inclusive); undefined: the whole range. */
  windowUs?: number | undefined;
  exclude: readonly string[];
  attribution: FunnelAttribution;
  /** Breakdown values kept (the rest as 'other'); undefined: no breakdown. */
  breakdownLimit?: number | undefined;
}
/** Per step (0-based) and breakdown value ('' for the whole funnel): entities reaching it, median seconds from the previous step. */
export interface FunnelCountRow {
  step: number;
  value: string;
  count: number;
  medianSeconds: number | null;
}

interface Attempt {
  /** Step instants reached, in step order. */
  times: number[];
  /** Session attribute at each reached step. */
  values: string[];
}

const byInstant = (a: FunnelOccurrence, b: FunnelOccurrence) =>
  a.at - b.at || a.o - b.o || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** First index in ascending `xs` with xs[i] >= x (strict: > x). */
function lowerBound(xs: readonly number[], x: number, strict: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? xs[mid]! <= x : xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The median of `xs` (mean of the two middle values when even), as PostgreSQL's percentile_cont(0.5). */
export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One entity's best attempt (null: no step 1, or every attempt void). `evs` are sorted by instant. */
function bestAttempt(all: readonly FunnelOccurrence[], spec: FunnelSpec): Attempt | null {
  const { steps, windowUs } = spec;
  const excluded = spec.exclude.length ? new Set(spec.exclude) : null;
  const exclusionTimes = excluded ? all.filter((e) => excluded.has(e.name)).map((e) => e.at) : [];
  const evs = excluded ? all.filter((e) => !excluded.has(e.name)) : all;
  const isVoid = (a: Attempt) => {
    if (!exclusionTimes.length || a.times.length < 2) return false;
    const i = lowerBound(exclusionTimes, a.times[0]!, true);
    return i < exclusionTimes.length && exclusionTimes[i]! < a.times[a.times.length - 1]!;
  };
  const onlyEarliest = windowUs === undefined && !excluded && spec.order !== 'strict';

  // Per name: the instants (ascending) and session attributes of its occurrences (ordered mode's lookups).
  const byName = new Map<string, { at: number[]; value: string[] }>();
  if (spec.order === 'ordered')
    for (const e of evs) {
      let l = byName.get(e.name);
      if (!l) byName.set(e.name, (l = { at: [], value: [] }));
      l.at.push(e.at);
      l.value.push(e.value);
    }

  const stepSet = new Set(steps);
  let best: Attempt | null = null;
  let lastStart = Number.NaN;
  for (let j = 0; j < evs.length; j++) {
    const start = evs[j]!;
    if (spec.order === 'any' ? !stepSet.has(start.name) : start.name !== steps[0]) continue;
    // Equal starts give equal attempts (ordered, any); strict order depends on the position, so keep each.
    if (spec.order !== 'strict' && start.at === lastStart) continue;
    lastStart = start.at;
    const t0 = start.at;
    const limit = windowUs === undefined ? Number.POSITIVE_INFINITY : t0 + windowUs;
    const a: Attempt = { times: [t0], values: [start.value] };
    if (spec.order === 'ordered') {
      for (let i = 1; i < steps.length; i++) {
        const l = byName.get(steps[i]!);
        if (!l) break;
        const k = lowerBound(l.at, a.times[i - 1]!, steps[i] === steps[i - 1]);
        if (k >= l.at.length || l.at[k]! > limit) break;
        a.times.push(l.at[k]!);
        a.values.push(l.value[k]!);
      }
    } else if (spec.order === 'strict') {
      for (let i = 1; i < steps.length; i++) {
        const e = evs[j + i];
        if (!e || e.name !== steps[i] || e.at > limit) break;
        a.times.push(e.at);
        a.values.push(e.value);
      }
    } else {
      // Any order: each later occurrence fills one still-needed step (the start fills its own).
      const need = new Map<string, number>();
      for (const s of steps) need.set(s, (need.get(s) ?? 0) + 1);
      need.set(start.name, need.get(start.name)! - 1);
      for (let k = j + 1; k < evs.length && a.times.length < steps.length; k++) {
        const e = evs[k]!;
        if (e.at > limit) break;
        const left = need.get(e.name);
        if (!left) continue;
        need.set(e.name, left - 1);
        a.times.push(e.at);
        a.values.push(e.value);
      }
    }
    if (isVoid(a)) continue;
    if (!best || a.times.length > best.times.length) best = a;
    if (best.times.length === steps.length || onlyEarliest) break;
  }
  return best;
}

/**
 * The funnel's counts: rows for the whole funnel (value '') and, with `breakdownLimit`, per breakdown value. Steps
 * nobody reached have no row.
 */
export function computeFunnel(
  occurrences: readonly FunnelOccurrence[],
  spec: FunnelSpec,
): { total: FunnelCountRow[]; split: FunnelCountRow[] | null } {
  const byEntity = new Map<string, FunnelOccurrence[]>();
  for (const e of occurrences) {
    const l = byEntity.get(e.entity);
    if (l) l.push(e);
    else byEntity.set(e.entity, [e]);
  }
  const kept: { times: number[]; value: string }[] = [];
  for (const evs of byEntity.values()) {
    evs.sort(byInstant);
    const a = bestAttempt(evs, spec);
    if (a) kept.push({ times: a.times, value: spec.attribution === 'first_touch' ? a.values[0]! : a.values[a.values.length - 1]! });
  }
  const rows = (group: readonly { times: number[] }[], value: string): FunnelCountRow[] => {
    const out: FunnelCountRow[] = [];
    for (let i = 0; i < spec.steps.length; i++) {
      const gaps: number[] = [];
      for (const k of group) if (k.times.length > i && i > 0) gaps.push((k.times[i]! - k.times[i - 1]!) / 1e6);
      const count = i === 0 ? group.length : gaps.length;
      if (count === 0) break;
      out.push({ step: i, value, count, medianSeconds: i === 0 ? null : median(gaps) });
    }
    return out;
  };
  const total = rows(kept, '');
  if (spec.breakdownLimit === undefined) return { total, split: null };
  const sizes = new Map<string, number>();
  for (const k of kept) sizes.set(k.value, (sizes.get(k.value) ?? 0) + 1);
  const top = new Set(
    [...sizes]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, spec.breakdownLimit)
      .map(([v]) => v),
  );
  const groups = new Map<string, { times: number[] }[]>();
  for (const k of kept) {
    const v = top.has(k.value) ? k.value : 'other';
    const g = groups.get(v);
    if (g) g.push(k);
    else groups.set(v, [k]);
  }
  return { total, split: [...groups].flatMap(([v, g]) => rows(g, v)) };
}
