/**
 * Retention and paths against an independent computation over the raw rows (test/analytics-simulation.ts): a
 * seeded simulation sent through the tracking API, read back in America/New_York across the 2026-03-08
 * daylight-saving jump and in UTC; bad input and another tenant's reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import {
  referencePaths,
  referenceRetention,
  type Simulation,
  simulate,
  type Window,
  pageViewBody,
} from '../../../test/analytics-simulation.ts';

let t: TestApp;
let write: string;
let read: string;
let readB: string;
let sim: Simulation;

const iso = (ms: number) => new Date(ms).toISOString();
const NY = 'America/New_York';
const W_NY: Window = { from: Date.parse('2026-03-06T05:00:00Z'), to: Date.parse('2026-03-11T04:00:00Z'), tz: NY };
const NY_QUERY = `from=2026-03-06&to=2026-03-10&tz=${encodeURIComponent(NY)}`;

async function send(url: string, body: object): Promise<void> {
  const r = await t.request('POST', `/api/v1/analytics/${url}`, { token: write, body });
  if (r.status >= 300) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
}
const get = (path: string, token = read) => t.request('GET', `/api/v1/analytics/${path}`, { token });
const ok = async (path: string) => {
  const r = await get(path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

beforeAll(async () => {
  t = await createTestApp();
  const A = await t.createTenant('Behaviour');
  const B = await t.createTenant('Other');
  write = await A.apiKey(['interactions:write']);
  read = await A.apiKey(['analytics:read']);
  readB = await B.apiKey(['analytics:read']);
  sim = simulate(11, 120, Date.parse('2026-03-05T20:00:00Z'), Date.parse('2026-03-11T10:00:00Z'));
  for (const x of sim.sessions)
    await send('session/start', {
      session_id: x.sessionId,
      ...(x.userId ? { user_id: x.userId } : { anonymous_id: x.anonymousId }),
      device_type: x.device,
      browser: x.browser,
      started_at: iso(x.startedAt),
    });
  // Events after their sessions, newest first: arrival order must not matter.
  for (const p of [...sim.pages].reverse()) await send('page-view', pageViewBody(p));
  for (const f of [...sim.funnel].reverse())
    await send('funnel', {
      session_id: f.sessionId,
      event_id: f.eventId,
      stage: f.stage,
      ...(f.userId ? { user_id: f.userId } : {}),
      reached_at: iso(f.at),
    });
}, 240_000);
afterAll(async () => {
  await t?.close();
});

type Cell = { period: number; count: number; rate: number } | null;
type Cohort = { cohort: string; size: number; values: Cell[] };

function expectMatrix(
  body: { cohorts: Cohort[] },
  want: Map<string, { size: number; counts: number[] }>,
  labels: string[],
  periods: number,
) {
  expect(body.cohorts.map((c) => c.cohort)).toEqual(labels);
  for (const [i, c] of body.cohorts.entries()) {
    const ref = want.get(c.cohort) ?? { size: 0, counts: Array.from({ length: periods + 1 }, () => 0) };
    expect(c.size).toBe(ref.size);
    expect(c.values).toHaveLength(periods + 1);
    for (let k = 1; k <= periods; k++) {
      if (i + k >= labels.length) expect(c.values[k]).toBeNull();
      else
        expect(c.values[k]).toEqual({
          period: k,
          count: ref.counts[k],
          rate: ref.size ? Math.round((ref.counts[k]! / ref.size) * 1e4) / 1e4 : 0,
        });
    }
  }
}

describe('GET /retention', () => {
  const DAYS = ['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10'];

  it('matches the independent computation by local day in New York ("on")', async () => {
    const body = await ok(`retention?${NY_QUERY}&start_event=browse&return_event=view_product&period=day&periods=4`);
    expect(body.range).toEqual({ from: iso(W_NY.from), to: iso(W_NY.to), tz: NY });
    const want = referenceRetention(sim, W_NY, 'browse', 'view_product', 'day', 4, 'on');
    expect([...want.values()].some((r) => r.counts.some((n) => n > 0))).toBe(true);
    expectMatrix(body, want, DAYS, 4);
    expect(body.average[0]).toEqual({
      period: 0,
      count: body.cohorts.reduce((a: number, c: Cohort) => a + c.size, 0),
      size: expect.any(Number),
      rate: 1,
    });
  });

  it('"on or after" counts a return in any later period, never fewer than "on"', async () => {
    const on = await ok(`retention?${NY_QUERY}&period=day&periods=2`);
    const after = await ok(`retention?${NY_QUERY}&period=day&periods=2&criterion=on_or_after`);
    expectMatrix(after, referenceRetention(sim, W_NY, 'browse', 'browse', 'day', 2, 'on_or_after'), DAYS, 2);
    for (const [i, c] of after.cohorts.entries())
      for (const [k, v] of c.values.entries()) if (v) expect(v.count).toBeGreaterThanOrEqual(on.cohorts[i].values[k].count);
  });

  it('cuts weeks from Monday in UTC', async () => {
    const w: Window = { from: Date.parse('2026-03-01T00:00:00Z'), to: Date.parse('2026-03-15T00:00:00Z'), tz: 'UTC' };
    const body = await ok('retention?from=2026-03-01&to=2026-03-14&tz=UTC&period=week&periods=2');
    expectMatrix(body, referenceRetention(sim, w, 'browse', 'browse', 'week', 2, 'on'), ['2026-02-23', '2026-03-02', '2026-03-09'], 2);
  });

  it("shows another tenant nothing of this tenant's people", async () => {
    const r = await get(`retention?${NY_QUERY}&period=day`, readB);
    expect(r.status).toBe(200);
    expect(r.body.cohorts.every((c: Cohort) => c.size === 0)).toBe(true);
  });

  it('refuses bad input with a 400 naming the field', async () => {
    for (const q of [
      'tz=Mars/Base',
      'period=year',
      'periods=0',
      'periods=53',
      'start_event=a%20b',
      `start_event=${'x'.repeat(120)}`,
      'return_event=cart:',
      'criterion=maybe',
      'from=2016-01-01&to=2026-01-01&period=day',
      'from=2026-03-10&to=2026-03-01',
      'unknown=1',
    ]) {
      const r = await get(`retention?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toMatch(/VALIDATION|ANALYTICS_/);
    }
    // Ten years by month is fine; a zero-length day range is one cohort.
    expect((await get('retention?from=2016-01-01&to=2025-12-31&period=month&periods=3')).status).toBe(200);
    const one = await ok('retention?from=2026-03-08&to=2026-03-08&tz=UTC&period=day');
    expect(one.cohorts).toHaveLength(1);
  });
});

describe('GET /paths', () => {
  it('matches the independent computation going forward and back', async () => {
    for (const direction of ['next', 'previous'] as const) {
      const body = await ok(`paths?${NY_QUERY}&anchor=${encodeURIComponent('/p/0')}&direction=${direction}&depth=3&top=3`);
      const want = referencePaths(sim, W_NY, '/p/0', direction, 3, 3);
      expect(want.sessions).toBeGreaterThan(5);
      expect(body.sessions).toBe(want.sessions);
      const sign = direction === 'next' ? 1 : -1;
      const got = new Map<string, number>(
        body.edges.map((e: { offset: number; from: string; to: string; sessions: number }) => [
          `${e.offset * sign}|${e.from}|${e.to}`,
          e.sessions,
        ]),
      );
      expect(got).toEqual(want.edges);
      // Each offset holds the sessions still on a path at the one before.
      expect(body.steps[0].sessions).toBe(body.sessions);
      for (let k = 1; k < body.steps.length; k++) {
        const ended = body.steps[k - 1].nodes.find((n: { name: string }) => n.name === '(end)')?.sessions ?? 0;
        expect(body.steps[k].sessions).toBe(body.steps[k - 1].sessions - ended);
        expect(body.steps[k].offset).toBe((k + 1) * sign);
      }
      for (const s of body.steps)
        expect(s.nodes.filter((n: { name: string }) => n.name !== 'other' && n.name !== '(end)').length).toBeLessThanOrEqual(3);
    }
  });

  it('follows events (page types, stages) with filters, and an unknown anchor is an empty report', async () => {
    const body = await ok(`paths?${NY_QUERY}&type=event&anchor=browse&device=mobile&depth=2`);
    expect(body.sessions).toBeGreaterThan(0);
    const mobile = new Set(sim.sessions.filter((s) => s.device === 'mobile').map((s) => s.sessionId));
    const browsing = new Set(
      sim.funnel
        .filter((f) => f.stage === 'browse' && f.at >= W_NY.from && f.at < W_NY.to && mobile.has(f.sessionId))
        .map((f) => f.sessionId),
    );
    expect(body.sessions).toBe(browsing.size);
    const names = body.steps.flatMap((s: { nodes: { name: string }[] }) => s.nodes.map((n) => n.name));
    expect(names.some((n: string) => n.startsWith('page:'))).toBe(true);
    const none = await ok(`paths?${NY_QUERY}&anchor=${encodeURIComponent('/never')}`);
    expect(none).toMatchObject({ sessions: 0, steps: [], edges: [] });
  });

  it('gives the known answer on a hand-made session: repeats collapse, events interleave pages by time', async () => {
    const C = await t.createTenant('Hand');
    const w = await C.apiKey(['interactions:write']);
    const r = await C.apiKey(['analytics:read']);
    const at = (s: number) => iso(Date.parse('2026-03-09T12:00:00Z') + s * 1000);
    const post = async (url: string, body: object) =>
      expect((await t.request('POST', `/api/v1/analytics/${url}`, { token: w, body })).status).toBeLessThan(300);
    await post('session/start', { session_id: 'h1', user_id: 'ann', started_at: at(0) });
    for (const [i, path] of ['/', '/a', '/a', '/b', '/'].entries())
      await post('page-view', {
        session_id: 'h1',
        page_view_id: `h1-${i}`,
        page_url: `https://x.example${path}`,
        type: 'home',
        viewed_at: at(i * 10),
      });
    await post('funnel', { session_id: 'h1', stage: 'browse', reached_at: at(15) });
    const q = 'from=2026-03-09&to=2026-03-09&tz=UTC';
    const pages = (await t.request('GET', `/api/v1/analytics/paths?${q}&anchor=/`, { token: r })).body;
    expect(pages.edges).toEqual([
      { offset: 1, from: '/', to: '/a', sessions: 1 },
      { offset: 2, from: '/a', to: '/b', sessions: 1 },
      { offset: 3, from: '/b', to: '/', sessions: 1 },
    ]);
    const back = (await t.request('GET', `/api/v1/analytics/paths?${q}&anchor=/a&direction=previous`, { token: r })).body;
    expect(back.edges).toEqual([
      { offset: -1, from: '/a', to: '/', sessions: 1 },
      { offset: -2, from: '/', to: '(end)', sessions: 1 },
    ]);
    // page:home x2, browse at 15 s, page:home x3 => page:home, browse, page:home.
    const evs = (await t.request('GET', `/api/v1/analytics/paths?${q}&type=event&anchor=browse`, { token: r })).body;
    expect(evs.edges).toEqual([
      { offset: 1, from: 'browse', to: 'page:home', sessions: 1 },
      { offset: 2, from: 'page:home', to: '(end)', sessions: 1 },
    ]);
  });

  it("shows another tenant nothing of this tenant's sessions", async () => {
    const r = await get(`paths?${NY_QUERY}&anchor=${encodeURIComponent('/p/0')}`, readB);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ sessions: 0, steps: [], edges: [] });
  });

  it('refuses bad input with a 400', async () => {
    for (const q of [
      '',
      'anchor=',
      'anchor=%00x',
      `anchor=${'a'.repeat(2001)}`,
      'anchor=/&depth=6',
      'anchor=/&top=0',
      'anchor=/&type=x',
      'anchor=/&direction=up',
      'anchor=/&tz=Nowhere/Else',
    ]) {
      const r = await get(`paths?${q}`);
      expect(r.status, q).toBe(400);
    }
    // Bytes that are not UTF-8 decode to U+FFFD: a page no one visited, not an error.
    expect((await get('paths?anchor=%ED%A0%80')).status).toBe(200);
    expect((await get('paths?anchor=/', 'not-a-key')).status).toBe(401);
  });
});
