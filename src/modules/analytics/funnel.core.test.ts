import { describe, expect, it } from 'vitest';
import { computeFunnel, type FunnelOccurrence, type FunnelSpec, median } from './funnel.core.ts';

const S = 1e6; // one second in microseconds
/** Occurrences of one entity from "name@seconds[:value]" tokens; `o` is 1 (a stage) unless the name is cart:... */
const ev = (entity: string, ...tokens: string[]): FunnelOccurrence[] =>
  tokens.map((t) => {
    const [name, rest] = t.split('@') as [string, string];
    const [at, value] = rest.split(':');
    return { entity, name, at: Number(at) * S, o: name.startsWith('cart:') ? 2 : 1, value: value ?? '' };
  });
const spec = (steps: string[], over: Partial<FunnelSpec> = {}): FunnelSpec => ({
  steps,
  order: 'ordered',
  exclude: [],
  attribution: 'first_touch',
  ...over,
});
const counts = (r: ReturnType<typeof computeFunnel>) => r.total.map((x) => x.count);

describe('computeFunnel', () => {
  const abc = ['a', 'b', 'c'];

  it('ordered: each step at or after the previous, other events between allowed; medians from the previous step', () => {
    const r = computeFunnel(
      [...ev('e1', 'a@0', 'x@5', 'b@10', 'c@40'), ...ev('e2', 'b@0', 'a@5', 'c@6'), ...ev('e3', 'a@1', 'b@31')],
      spec(abc),
    );
    expect(counts(r)).toEqual([3, 2, 1]);
    expect(r.total[1]!.medianSeconds).toBe(20); // (10 + 30) / 2
    expect(r.total[2]!.medianSeconds).toBe(30);
    expect(r.split).toBeNull();
  });

  it('ordered: a repeated step needs a later occurrence; equal instants count for different steps', () => {
    expect(counts(computeFunnel(ev('e', 'a@0', 'b@0'), spec(['a', 'b'])))).toEqual([1, 1]);
    expect(counts(computeFunnel(ev('e', 'a@0'), spec(['a', 'a'])))).toEqual([1]);
    expect(counts(computeFunnel(ev('e', 'a@0', 'a@1'), spec(['a', 'a'])))).toEqual([1, 1]);
  });

  it('strict: the next event must be the next step', () => {
    const evs = ev('e', 'a@0', 'x@5', 'b@10', 'a@20', 'b@21', 'c@22');
    expect(counts(computeFunnel(evs, spec(abc, { order: 'strict' })))).toEqual([1, 1, 1]); // the second attempt
    expect(counts(computeFunnel(ev('e', 'a@0', 'x@5', 'b@10', 'c@11'), spec(abc, { order: 'strict' })))).toEqual([1]);
    // Ties at one instant: page, stage, cart, then by name.
    expect(counts(computeFunnel(ev('e', 'a@0', 'cart:z@0', 'b@0'), spec(['a', 'b'], { order: 'strict' })))).toEqual([1, 1]);
  });

  it('any order: step N = did N of the steps, a repeated step needs its own occurrence', () => {
    expect(counts(computeFunnel(ev('e', 'c@0', 'a@1', 'b@2'), spec(abc, { order: 'any' })))).toEqual([1, 1, 1]);
    expect(counts(computeFunnel(ev('e', 'c@0', 'c@1'), spec(abc, { order: 'any' })))).toEqual([1]);
    expect(counts(computeFunnel(ev('e', 'a@0', 'a@1'), spec(['a', 'a', 'b'], { order: 'any' })))).toEqual([1, 1]);
    expect(counts(computeFunnel(ev('e', 'x@0'), spec(abc, { order: 'any' })))).toEqual([]);
  });

  it('a conversion window makes each start an attempt; the deepest counts, the earliest of equals', () => {
    const evs = ev('e', 'a@0:first', 'b@100', 'a@200:second', 'b@210', 'c@220');
    const r = computeFunnel(evs, spec(abc, { windowUs: 60 * S, breakdownLimit: 5 }));
    expect(counts(r)).toEqual([1, 1, 1]);
    expect(r.total[1]!.medianSeconds).toBe(10);
    expect(r.split!.filter((x) => x.step === 0).map((x) => x.value)).toEqual(['second']);
    expect(counts(computeFunnel(evs, spec(abc, { windowUs: 5 * S })))).toEqual([1]);
  });

  it('an excluded event between the first and deepest step voids the attempt, another attempt may count', () => {
    const evs = ev('e', 'a@0', 'x@5', 'b@10', 'a@20', 'b@30');
    expect(counts(computeFunnel(evs, spec(['a', 'b'], { exclude: ['x'] })))).toEqual([1, 1]);
    expect(computeFunnel(evs, spec(['a', 'b'], { exclude: ['x'] })).total[1]!.medianSeconds).toBe(10);
    // No clean attempt: the entity is not in the funnel at all; an exclusion before the start or after the end is harmless.
    expect(counts(computeFunnel(ev('e', 'a@0', 'x@5', 'b@10'), spec(['a', 'b'], { exclude: ['x'] })))).toEqual([]);
    expect(counts(computeFunnel(ev('e', 'x@0', 'a@1', 'b@2', 'x@3'), spec(['a', 'b'], { exclude: ['x'] })))).toEqual([1, 1]);
    // An attempt that reached only step 1 has nothing between: it counts.
    expect(counts(computeFunnel(ev('e', 'a@0', 'x@5'), spec(['a', 'b'], { exclude: ['x'] })))).toEqual([1]);
  });

  it('breaks down by first or last touch, top N by step-1 entities and "other"', () => {
    const evs = [
      ...ev('e1', 'a@0:mobile', 'b@1:desktop'),
      ...ev('e2', 'a@0:mobile'),
      ...ev('e3', 'a@0:tablet', 'b@1:tablet'),
      ...ev('e4', 'a@0:desktop'),
      ...ev('e5', 'a@0:desktop', 'b@2:desktop'),
    ];
    const first = computeFunnel(evs, spec(['a', 'b'], { breakdownLimit: 2 })).split!;
    expect(first).toEqual([
      { step: 0, value: 'mobile', count: 2, medianSeconds: null },
      { step: 1, value: 'mobile', count: 1, medianSeconds: 1 },
      { step: 0, value: 'other', count: 1, medianSeconds: null },
      { step: 1, value: 'other', count: 1, medianSeconds: 1 },
      { step: 0, value: 'desktop', count: 2, medianSeconds: null },
      { step: 1, value: 'desktop', count: 1, medianSeconds: 2 },
    ]);
    const last = computeFunnel(evs, spec(['a', 'b'], { breakdownLimit: 1, attribution: 'last_touch' })).split!;
    expect(last.filter((x) => x.step === 0)).toEqual([
      { step: 0, value: 'desktop', count: 3, medianSeconds: null },
      { step: 0, value: 'other', count: 2, medianSeconds: null },
    ]);
  });

  it('median is the mean of the middle two for an even count', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
