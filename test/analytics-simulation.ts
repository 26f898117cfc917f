/**
 * A seeded simulation of seed 000's tracking data (sessions, page views, funnel stages, cart events and
 * purchases) and an independent computation of the analytics reports over the raw rows it generated: plain
 * TypeScript over the simulated rows, local days from Intl (not from the code under test), used by
 * src/modules/analytics/analytics.int.test.ts to check every report.
 */
import { rngMulberry32 } from '../src/ml/random.ts';

export interface SimSession {
  sessionId: string;
  userId: string | null;
  anonymousId: string | null;
  device: 'mobile' | 'desktop' | 'tablet';
  browser: string;
  utmSource: string | null;
  startedAt: number;
  endedAt: number | null;
  currency: 'USD' | 'EUR';
}
export interface SimPage {
  pageViewId: string;
  sessionId: string;
  userId: string | null;
  path: string;
  pageType: string;
  at: number;
  timeOnPage: number | null;
  scroll: number | null;
}
export interface SimFunnel {
  eventId: string;
  sessionId: string;
  userId: string | null;
  stage: string;
  at: number;
}
export interface SimCart {
  eventId: string;
  sessionId: string;
  userId: string | null;
  type: 'item_added' | 'item_removed' | 'converted';
  productId: string | null;
  quantity: number | null;
  valueCents: number | null;
  currency: string | null;
  at: number;
}
export interface Simulation {
  sessions: SimSession[];
  pages: SimPage[];
  funnel: SimFunnel[];
  cart: SimCart[];
}

const STAGES = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];

/**
 * `n` sessions starting uniformly in [startMs, endMs), a few forced to start just before local midnight in
 * America/New_York (they span it), one inside the DST jump day. Stages are included independently and at
 * random times, so sessions reach them in and out of order.
 */
export function simulate(seed: number, n: number, startMs: number, endMs: number): Simulation {
  const rnd = rngMulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sim: Simulation = { sessions: [], pages: [], funnel: [], cart: [] };
  for (let i = 0; i < n; i++) {
    const sessionId = `sim-${seed}-${i}`;
    const known = rnd() < 0.6;
    const userId = known ? `user-${Math.floor(rnd() * 25)}` : null;
    let startedAt = Math.floor(startMs + rnd() * (endMs - startMs - 3_600_000));
    if (i % 17 === 3) startedAt = Date.parse('2026-03-08T04:52:00Z') + i * 1000; // 23:52 local on 03-07: spans midnight
    if (i % 17 === 5) startedAt = Date.parse('2026-03-08T06:40:00Z') + i * 1000; // 01:40 EST, just before the jump
    const s: SimSession = {
      sessionId,
      userId,
      anonymousId: known ? null : `anon-${seed}-${i}`,
      device: pick(['mobile', 'desktop', 'tablet'] as const),
      browser: pick(['Chrome', 'Safari', 'Firefox', 'Edge']),
      utmSource: pick(['instagram', 'google', null]),
      startedAt,
      endedAt: null,
      currency: rnd() < 0.8 ? 'USD' : 'EUR',
    };
    sim.sessions.push(s);
    let t = startedAt;
    const pages = 1 + Math.floor(rnd() * 5);
    for (let p = 0; p < pages; p++) {
      t += 1000 * Math.floor(5 + rnd() * 400);
      const ended = rnd() < 0.6;
      sim.pages.push({
        pageViewId: `${sessionId}-pv${p}`,
        sessionId,
        userId,
        path: `/p/${Math.floor(rnd() * rnd() * 12)}`,
        pageType: pick(['home', 'category', 'product', 'cart']),
        at: t,
        timeOnPage: ended ? Math.floor(rnd() * 300) : null,
        scroll: ended ? Math.floor(rnd() * 101) : null,
      });
    }
    let stageEvents = 0;
    for (const stage of STAGES) {
      if (rnd() < (stage === 'browse' ? 0.85 : 0.55)) {
        sim.funnel.push({
          eventId: `${sessionId}-f${stageEvents++}`,
          sessionId,
          userId,
          stage,
          at: startedAt + 1000 * Math.floor(rnd() * 1800),
        });
      }
    }
    let adds = 0;
    if (rnd() < 0.55) {
      const k = 1 + Math.floor(rnd() * 3);
      for (let c = 0; c < k; c++) {
        adds++;
        sim.cart.push({
          eventId: `${sessionId}-c${c}`,
          sessionId,
          userId,
          type: 'item_added',
          productId: `P${Math.floor(rnd() * rnd() * 9)}`,
          quantity: rnd() < 0.3 ? 2 : null,
          valueCents: null,
          currency: null,
          at: startedAt + 1000 * Math.floor(60 + rnd() * 1200),
        });
      }
      if (rnd() < 0.2)
        sim.cart.push({
          eventId: `${sessionId}-r`,
          sessionId,
          userId,
          type: 'item_removed',
          productId: sim.cart[sim.cart.length - 1]!.productId,
          quantity: null,
          valueCents: null,
          currency: null,
          at: startedAt + 1000 * 1500,
        });
    }
    if ((adds > 0 && rnd() < 0.45) || rnd() < 0.04) {
      sim.cart.push({
        eventId: `${sessionId}-buy`,
        sessionId,
        userId,
        type: 'converted',
        productId: null,
        quantity: null,
        valueCents: 500 + Math.floor(rnd() * 20_000),
        currency: s.currency,
        at: startedAt + 1000 * 1700,
      });
    }
    if (rnd() < 0.7) s.endedAt = startedAt + 1000 * 1900;
  }
  return sim;
}

/** The local calendar day of an instant (YYYY-MM-DD), from Intl. */
export const localDay = (ms: number, tz: string) => new Date(ms).toLocaleDateString('en-CA', { timeZone: tz });

const r4 = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : 0);
const r2 = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 100) / 100 : null);

export interface Window {
  from: number;
  to: number;
  tz: string;
}
const inWindow = (at: number, w: Window) => at >= w.from && at < w.to;
const person = (s: SimSession) => s.userId ?? s.anonymousId ?? `s:${s.sessionId}`;

/** Session stats of sessions started in the window, optionally per local day. */
export function referenceSessions(sim: Simulation, w: Window, keyOf: (s: SimSession) => string = () => '') {
  const groups = new Map<string, SimSession[]>();
  for (const s of sim.sessions) if (inWindow(s.startedAt, w)) groups.set(keyOf(s), [...(groups.get(keyOf(s)) ?? []), s]);
  const out = new Map<string, Record<string, number | null>>();
  for (const [key, ss] of groups) {
    const pages = ss.map((s) => sim.pages.filter((p) => p.sessionId === s.sessionId).length);
    const carts = ss.map((s) => sim.cart.filter((c) => c.sessionId === s.sessionId));
    const ended = ss.filter((s) => s.endedAt !== null);
    const converted = carts.filter((cs) => cs.some((c) => c.type === 'converted')).length;
    out.set(key, {
      sessions: ss.length,
      users: new Set(ss.map(person)).size,
      bounces: pages.filter((n) => n <= 1).length,
      bounce_rate: r4(pages.filter((n) => n <= 1).length, ss.length),
      avg_duration_seconds: r2(
        ended.reduce((a, s) => a + Math.floor((s.endedAt! - s.startedAt) / 1000), 0),
        ended.length,
      ),
      pages_per_session: r2(
        pages.reduce((a, b) => a + b, 0),
        ss.length,
      ),
      cart_adds: carts.reduce((a, cs) => a + cs.filter((c) => c.type === 'item_added').length, 0),
      purchases: carts.reduce((a, cs) => a + cs.filter((c) => c.type === 'converted').length, 0),
      converted_sessions: converted,
      conversion_rate: r4(converted, ss.length),
    });
  }
  return out;
}

/** Page-view stats of views in the window, grouped by `keyOf`. */
export function referencePages(sim: Simulation, w: Window, keyOf: (p: SimPage) => string) {
  const out = new Map<string, Record<string, number | null>>();
  const groups = new Map<string, SimPage[]>();
  for (const p of sim.pages) if (inWindow(p.at, w)) groups.set(keyOf(p), [...(groups.get(keyOf(p)) ?? []), p]);
  for (const [key, ps] of groups) {
    const timed = ps.filter((p) => p.timeOnPage !== null);
    const scrolled = ps.filter((p) => p.scroll !== null);
    const sessions = new Set(ps.map((p) => p.sessionId)).size;
    out.set(key, {
      views: ps.length,
      sessions,
      views_per_session: r2(ps.length, sessions) ?? 0,
      avg_time_on_page_seconds: r2(
        timed.reduce((a, p) => a + p.timeOnPage!, 0),
        timed.length,
      ),
      avg_scroll_depth_percent: r2(
        scrolled.reduce((a, p) => a + p.scroll!, 0),
        scrolled.length,
      ),
    });
  }
  return out;
}

/**
 * An ordered funnel by session or person: each entity's stage events in the window sorted by time, steps matched
 * in order (the earliest occurrence at or after the previous step's time). Median seconds between consecutive
 * steps as percentile_cont(0.5) defines it (mean of the two middle values for an even count).
 */
export function referenceFunnel(sim: Simulation, w: Window, steps: readonly string[], by: 'session' | 'user', windowSeconds?: number) {
  const sessionOf = new Map(sim.sessions.map((s) => [s.sessionId, s]));
  const entityOf = (f: SimFunnel) => (by === 'session' ? f.sessionId : (f.userId ?? person(sessionOf.get(f.sessionId)!)));
  const byEntity = new Map<string, SimFunnel[]>();
  for (const f of sim.funnel) if (inWindow(f.at, w)) byEntity.set(entityOf(f), [...(byEntity.get(entityOf(f)) ?? []), f]);
  const reached = steps.map(() => 0);
  const gaps: number[][] = steps.map(() => []);
  /** One attempt from a step-1 time: the step times reached in order, within the window when one is given. */
  const attempt = (evs: SimFunnel[], t0: number): number[] => {
    const times = [t0];
    for (let i = 1; i < steps.length; i++) {
      const prev = times[i - 1]!;
      const strict = steps[i] === steps[i - 1];
      const next = evs
        .filter(
          (e) =>
            e.stage === steps[i] &&
            (strict ? e.at > prev : e.at >= prev) &&
            (windowSeconds === undefined || e.at <= t0 + windowSeconds * 1000),
        )
        .map((e) => e.at);
      if (!next.length) break;
      times.push(Math.min(...next));
    }
    return times;
  };
  for (const evs of byEntity.values()) {
    const starts = [...new Set(evs.filter((e) => e.stage === steps[0]).map((e) => e.at))].sort((a, b) => a - b);
    if (!starts.length) continue;
    // Without a window the earliest start is as deep as any; with one, the deepest attempt counts (earliest of equals).
    let best: number[] = [];
    for (const t0 of windowSeconds === undefined ? starts.slice(0, 1) : starts) {
      const times = attempt(evs, t0);
      if (times.length > best.length) best = times;
    }
    best.forEach((t, i) => {
      reached[i]!++;
      if (i > 0) gaps[i]!.push((t - best[i - 1]!) / 1000);
    });
  }
  const median = (xs: number[]) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length / 2;
    return Math.round((s.length % 2 ? s[Math.floor(m)]! : (s[m - 1]! + s[m]!) / 2) * 100) / 100;
  };
  return steps.map((name, i) => ({
    name,
    count: reached[i]!,
    conversion_rate: i === 0 ? (reached[0]! > 0 ? 1 : 0) : r4(reached[i]!, reached[0]!),
    step_conversion_rate: i === 0 ? (reached[0]! > 0 ? 1 : 0) : r4(reached[i]!, reached[i - 1]!),
    dropoff: i === 0 ? 0 : reached[i - 1]! - reached[i]!,
    median_seconds_to_convert: i === 0 ? null : median(gaps[i]!),
  }));
}

/** Cart abandonment per session with cart events in the window, grouped by the local day of its first one. */
export function referenceCart(sim: Simulation, w: Window, byDay: boolean) {
  const bySession = new Map<string, SimCart[]>();
  for (const c of sim.cart) if (inWindow(c.at, w)) bySession.set(c.sessionId, [...(bySession.get(c.sessionId) ?? []), c]);
  const out = new Map<string, Record<string, number>>();
  for (const cs of bySession.values()) {
    const key = byDay ? localDay(Math.min(...cs.map((c) => c.at)), w.tz) : '';
    const o = out.get(key) ?? { carts: 0, converted_carts: 0, abandoned_carts: 0, conversions: 0, items_added: 0, items_removed: 0 };
    const added = cs.some((c) => c.type === 'item_added');
    const converted = cs.some((c) => c.type === 'converted');
    o.carts! += added ? 1 : 0;
    o.converted_carts! += added && converted ? 1 : 0;
    o.abandoned_carts! += added && !converted ? 1 : 0;
    o.conversions! += converted ? 1 : 0;
    o.items_added! += cs.filter((c) => c.type === 'item_added').reduce((a, c) => a + (c.quantity ?? 1), 0);
    o.items_removed! += cs.filter((c) => c.type === 'item_removed').reduce((a, c) => a + (c.quantity ?? 1), 0);
    out.set(key, o);
  }
  for (const o of out.values()) o.abandonment_rate = r4(o.abandoned_carts!, o.carts!);
  return out;
}

/** Per product: adds, removals, adds in sessions that converted in the window. */
export function referenceCartProducts(sim: Simulation, w: Window) {
  const converted = new Set(sim.cart.filter((c) => c.type === 'converted' && inWindow(c.at, w)).map((c) => c.sessionId));
  const out = new Map<string, { adds: number; removes: number; adds_converted: number; quantity_added: number }>();
  for (const c of sim.cart) {
    if (!inWindow(c.at, w) || !c.productId || c.type === 'converted') continue;
    const o = out.get(c.productId) ?? { adds: 0, removes: 0, adds_converted: 0, quantity_added: 0 };
    if (c.type === 'item_added') {
      o.adds++;
      o.quantity_added += c.quantity ?? 1;
      if (converted.has(c.sessionId)) o.adds_converted++;
    } else o.removes++;
    out.set(c.productId, o);
  }
  return out;
}

/** Revenue of converted cart events in the window per currency, in minor units. */
export function referenceCartRevenue(sim: Simulation, w: Window) {
  const out = new Map<string, number>();
  for (const c of sim.cart)
    if (c.type === 'converted' && inWindow(c.at, w)) out.set(c.currency!, (out.get(c.currency!) ?? 0) + c.valueCents!);
  return out;
}

/** The Monday (YYYY-MM-DD) of a YYYY-MM-DD day's ISO week. */
export function mondayOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}
const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);

/**
 * Retention over funnel stages by person: cohort = local day (or Monday of the week) of the person's first start
 * event in the window; a return = a return event after it, k whole local periods later (1..periods). Returns
 * per cohort the size and, per period, people with a return in it ("on") or in it or later ("on_or_after").
 */
export function referenceRetention(
  sim: Simulation,
  w: Window,
  startEvent: string,
  returnEvent: string,
  period: 'day' | 'week',
  periods: number,
  criterion: 'on' | 'on_or_after',
) {
  const sessionOf = new Map(sim.sessions.map((s) => [s.sessionId, s]));
  const who = (f: SimFunnel) => f.userId ?? person(sessionOf.get(f.sessionId)!);
  const label = (ms: number) => (period === 'day' ? localDay(ms, w.tz) : mondayOf(localDay(ms, w.tz)));
  const evs = sim.funnel.filter((f) => inWindow(f.at, w));
  const first = new Map<string, number>();
  for (const f of evs) if (f.stage === startEvent) first.set(who(f), Math.min(first.get(who(f)) ?? Infinity, f.at));
  const out = new Map<string, { size: number; counts: number[] }>();
  for (const [p, t0] of first) {
    const cohort = label(t0);
    const row = out.get(cohort) ?? { size: 0, counts: Array.from({ length: periods + 1 }, () => 0) };
    row.size++;
    const ks = new Set(
      evs
        .filter((f) => who(f) === p && f.stage === returnEvent && f.at > t0)
        .map((f) => (dayNumber(label(f.at)) - dayNumber(cohort)) / (period === 'day' ? 1 : 7))
        .filter((k) => k >= 1),
    );
    for (let k = 1; k <= periods; k++) if (criterion === 'on' ? ks.has(k) : [...ks].some((x) => x >= k)) row.counts[k]!++;
    out.set(cohort, row);
  }
  return out;
}

/**
 * Page paths per session: the session's pages in the window by time, repeats in a row collapsed; from the first
 * occurrence of `anchor`, the next (or previous) `depth` pages, '(end)' once where the path stops; per offset the
 * `top` most frequent pages kept (ties by name), the rest 'other'. Returns the anchor's sessions and the edges.
 */
export function referencePaths(sim: Simulation, w: Window, anchor: string, direction: 'next' | 'previous', depth: number, top: number) {
  const bySession = new Map<string, SimPage[]>();
  for (const p of sim.pages) if (inWindow(p.at, w)) bySession.set(p.sessionId, [...(bySession.get(p.sessionId) ?? []), p]);
  const paths: string[][] = [];
  for (const ps of bySession.values()) {
    const seq: string[] = [];
    for (const p of [...ps].sort((a, b) => a.at - b.at)) if (seq[seq.length - 1] !== p.path) seq.push(p.path);
    const at = seq.indexOf(anchor);
    if (at < 0) continue;
    const rest = direction === 'next' ? seq.slice(at + 1) : seq.slice(0, at).reverse();
    const path = rest.slice(0, depth);
    if (path.length < depth) path.push('(end)');
    paths.push(path);
  }
  const folded = paths.map((p) => [...p]);
  for (let k = 0; k < depth; k++) {
    const counts = new Map<string, number>();
    for (const p of paths) if (p[k] !== undefined && p[k] !== '(end)') counts.set(p[k]!, (counts.get(p[k]!) ?? 0) + 1);
    const kept = new Set(
      [...counts]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, top)
        .map(([n]) => n),
    );
    for (const p of folded) if (p[k] !== undefined && p[k] !== '(end)' && !kept.has(p[k]!)) p[k] = 'other';
  }
  const edges = new Map<string, number>();
  for (const p of folded)
    p.forEach((node, k) => {
      const key = `${k + 1}|${k === 0 ? anchor : p[k - 1]}|${node}`;
      edges.set(key, (edges.get(key) ?? 0) + 1);
    });
  return { sessions: paths.length, edges };
}

/**
 * Funnel modes over the simulated stages (PostHog's semantics as the API documents them), computed naively per
 * entity: every start is an attempt, the deepest non-void attempt counts (earliest of equals). `ordered`: each step
 * the earliest of its stage at or after the previous (after, when the stage repeats); `strict`: the entity's very
 * next stage event other than an excluded one (ties ordered by name); `any`: per stage the earliest occurrences from the start, as many as the
 * steps name it. An attempt is void when an excluded stage falls strictly between its start and its deepest step.
 * Breakdown: the device of the session of the attempt's first (first touch) or deepest (last touch) step.
 */
export function referenceFunnelModes(
  sim: Simulation,
  w: Window,
  steps: readonly string[],
  by: 'session' | 'user',
  opts: {
    order: 'ordered' | 'strict' | 'any';
    exclude?: readonly string[];
    windowSeconds?: number;
    attribution?: 'first_touch' | 'last_touch';
  },
) {
  const sessionOf = new Map(sim.sessions.map((s) => [s.sessionId, s]));
  const entityOf = (f: SimFunnel) => (by === 'session' ? f.sessionId : (f.userId ?? person(sessionOf.get(f.sessionId)!)));
  const byEntity = new Map<string, SimFunnel[]>();
  for (const f of sim.funnel) if (inWindow(f.at, w)) byEntity.set(entityOf(f), [...(byEntity.get(entityOf(f)) ?? []), f]);
  const exclude = opts.exclude ?? [];
  const found: { events: SimFunnel[] }[] = [];
  for (const unsorted of byEntity.values()) {
    // Excluded stages are not steps, nor "other events" between strict steps: they void attempts (below).
    const evs = unsorted
      .filter((e) => !exclude.includes(e.stage))
      .sort((a, b) => a.at - b.at || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
    let best: SimFunnel[] = [];
    evs.forEach((start, j) => {
      if (opts.order === 'any' ? !steps.includes(start.stage) : start.stage !== steps[0]) return;
      const limit = opts.windowSeconds === undefined ? Infinity : start.at + opts.windowSeconds * 1000;
      let got: SimFunnel[] = [start];
      if (opts.order === 'ordered') {
        for (let i = 1; i < steps.length; i++) {
          const prev = got[i - 1]!.at;
          const next = evs
            .filter((e) => e.stage === steps[i] && (steps[i] === steps[i - 1] ? e.at > prev : e.at >= prev) && e.at <= limit)
            .sort((a, b) => a.at - b.at)[0];
          if (!next) break;
          got.push(next);
        }
      } else if (opts.order === 'strict') {
        for (let i = 1; i < steps.length && evs[j + i]?.stage === steps[i] && evs[j + i]!.at <= limit; i++) got.push(evs[j + i]!);
      } else {
        const after = evs.slice(j).filter((e) => e.at <= limit);
        got = [];
        for (const stage of new Set(steps)) {
          const want = steps.filter((x) => x === stage).length;
          got.push(...after.filter((e) => e.stage === stage).slice(0, want));
        }
        got.sort((a, b) => a.at - b.at || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
      }
      const t0 = got[0]!.at;
      const tn = got[got.length - 1]!.at;
      if (unsorted.some((e) => exclude.includes(e.stage) && e.at > t0 && e.at < tn)) return;
      if (got.length > best.length) best = got;
    });
    if (best.length) found.push({ events: best });
  }
  const deviceOf = (e: SimFunnel) => sessionOf.get(e.sessionId)!.device as string;
  const valueOf = (x: { events: SimFunnel[] }) =>
    opts.attribution === 'last_touch' ? deviceOf(x.events[x.events.length - 1]!) : deviceOf(x.events[0]!);
  const stepsOf = (group: { events: SimFunnel[] }[]) => {
    const reached = steps.map((_, i) => group.filter((g) => g.events.length > i).length);
    const median = (xs: number[]) => {
      if (!xs.length) return null;
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length / 2;
      return Math.round((s.length % 2 ? s[Math.floor(m)]! : (s[m - 1]! + s[m]!) / 2) * 100) / 100;
    };
    return steps.map((name, i) => ({
      name,
      count: reached[i]!,
      conversion_rate: i === 0 ? (reached[0]! > 0 ? 1 : 0) : r4(reached[i]!, reached[0]!),
      step_conversion_rate: i === 0 ? (reached[0]! > 0 ? 1 : 0) : r4(reached[i]!, reached[i - 1]!),
      dropoff: i === 0 ? 0 : reached[i - 1]! - reached[i]!,
      median_seconds_to_convert:
        i === 0 ? null : median(group.filter((g) => g.events.length > i).map((g) => (g.events[i]!.at - g.events[i - 1]!.at) / 1000)),
    }));
  };
  const byDevice = new Map<string, { events: SimFunnel[] }[]>();
  for (const x of found) byDevice.set(valueOf(x), [...(byDevice.get(valueOf(x)) ?? []), x]);
  return { steps: stepsOf(found), byDevice: new Map([...byDevice].map(([d, g]) => [d, stepsOf(g)])) };
}

/** The tracking API's body for a simulated page view (`POST /api/v1/analytics/page-view`). */
export const pageViewBody = (p: SimPage) => ({
  session_id: p.sessionId,
  page_view_id: p.pageViewId,
  ...(p.userId ? { user_id: p.userId } : {}),
  page_url: `https://shop.example${p.path}?ref=x`,
  type: p.pageType,
  viewed_at: new Date(p.at).toISOString(),
});

/** The tracking API's body for a simulated cart event (`POST /api/v1/analytics/cart-event`). */
export const cartEventBody = (c: SimCart) => ({
  session_id: c.sessionId,
  event_id: c.eventId,
  type: c.type,
  ...(c.userId ? { user_id: c.userId } : {}),
  ...(c.productId ? { product_id: c.productId } : {}),
  ...(c.quantity !== null ? { quantity: c.quantity } : {}),
  ...(c.valueCents !== null ? { value_cents: c.valueCents, currency: c.currency } : {}),
  occurred_at: new Date(c.at).toISOString(),
});
