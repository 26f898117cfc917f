/**
 * Seed 000's reports against an independent computation over the raw rows (test/analytics-simulation.ts): a
 * seeded simulation sent through the tracking API out of order, read back in America/New_York across the
 * 2026-03-08 daylight-saving jump and in UTC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import {
  localDay,
  referenceCart,
  referenceCartProducts,
  referenceCartRevenue,
  referenceFunnel,
  referenceFunnelModes,
  referencePages,
  referenceSessions,
  type Simulation,
  simulate,
  type Window,
  pageViewBody,
  cartEventBody,
} from '../../../test/analytics-simulation.ts';
import { rngMulberry32 } from '../../ml/random.ts';
import { medianBound } from './funnel-histogram.core.ts';

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let write: string;
let read: string;
let readB: string;
let sim: Simulation;

const iso = (ms: number) => new Date(ms).toISOString();
const NY = 'America/New_York';
// 2026-03-06 00:00 to 2026-03-11 00:00 New York time; the 8th has 23 hours.
const W_NY: Window = { from: Date.parse('2026-03-06T05:00:00Z'), to: Date.parse('2026-03-11T04:00:00Z'), tz: NY };
const NY_QUERY = `from=2026-03-06&to=2026-03-10&tz=${encodeURIComponent(NY)}`;

async function send(url: string, body: object): Promise<void> {
  const r = await t.request('POST', url, { token: write, body });
  if (r.status >= 300) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Every session start first (a few known users' starts last), then every other event shuffled: late and out of order. */
async function sendSimulation(s: Simulation, seed: number): Promise<void> {
  const late = new Set(s.sessions.filter((x, i) => x.userId && i % 11 === 0).map((x) => x.sessionId));
  const start = (x: Simulation['sessions'][number]) => () =>
    send('/api/v1/analytics/session/start', {
      session_id: x.sessionId,
      ...(x.userId ? { user_id: x.userId } : { anonymous_id: x.anonymousId }),
      device_type: x.device,
      browser: x.browser,
      ...(x.utmSource ? { utm_source: x.utmSource } : {}),
      started_at: iso(x.startedAt),
    });
  for (const x of s.sessions) if (!late.has(x.sessionId)) await start(x)();
  const jobs: (() => Promise<void>)[] = [];
  for (const p of s.pages) {
    jobs.push(async () => {
      await send('/api/v1/analytics/page-view', pageViewBody(p));
      if (p.timeOnPage !== null)
        await send('/api/v1/analytics/page-view/end', {
          page_view_id: p.pageViewId,
          ended_at: iso(p.at + 1000),
          time_on_page_seconds: p.timeOnPage,
          scroll_depth_percent: p.scroll,
        });
    });
  }
  for (const f of s.funnel)
    jobs.push(() =>
      send('/api/v1/analytics/funnel', {
        session_id: f.sessionId,
        event_id: f.eventId,
        stage: f.stage,
        ...(f.userId ? { user_id: f.userId } : {}),
        reached_at: iso(f.at),
      }),
    );
  for (const c of s.cart) jobs.push(() => send('/api/v1/analytics/cart-event', cartEventBody(c)));
  for (const x of s.sessions)
    if (x.endedAt !== null) jobs.push(() => send('/api/v1/analytics/session/end', { session_id: x.sessionId, ended_at: iso(x.endedAt!) }));
  const rnd = rngMulberry32(seed);
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  // Ends may come before the session's first event only when its start was sent; late starts go last.
  const ends = jobs.filter((_, i) => i >= 0);
  for (const job of ends) await job();
  for (const x of s.sessions) if (late.has(x.sessionId)) await start(x)();
}

const get = async (path: string, token = read) => {
  const r = await t.request('GET', `/api/v1/analytics/${path}`, { token });
  return r;
};
const ok = async (path: string) => {
  const r = await get(path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Muse');
  const B = await t.createTenant('Other');
  write = await A.apiKey(['interactions:write']);
  read = await A.apiKey(['analytics:read']);
  readB = await B.apiKey(['analytics:read']);
  sim = simulate(7, 90, Date.parse('2026-03-05T20:00:00Z'), Date.parse('2026-03-11T10:00:00Z'));
  // Sessions without a known start (ensured by their first event) would have a later started_at; every start is sent.
  await sendSimulation(sim, 7);
}, 240_000);
afterAll(async () => {
  await t?.close();
});

describe('the simulation covers the hard cases', () => {
  it('has sessions spanning local midnight, on the DST day, and events outside the range', () => {
    const spans = sim.sessions.filter((s) => {
      const last = Math.max(s.startedAt, ...sim.pages.filter((p) => p.sessionId === s.sessionId).map((p) => p.at));
      return localDay(s.startedAt, NY) !== localDay(last, NY);
    });
    expect(spans.length).toBeGreaterThan(2);
    expect(sim.sessions.some((s) => localDay(s.startedAt, NY) === '2026-03-08')).toBe(true);
    expect(sim.sessions.some((s) => s.startedAt < W_NY.from || s.startedAt >= W_NY.to)).toBe(true);
  });
});

describe('GET /sessions', () => {
  it('matches the independent computation: summary, daily series in New York time, breakdown', async () => {
    const body = await ok(`sessions?${NY_QUERY}&breakdown=device&limit=5`);
    expect(body.range).toEqual({ from: iso(W_NY.from), to: iso(W_NY.to), tz: NY, granularity: 'day' });
    const { revenue, ...summary } = body.summary;
    expect(summary).toEqual(referenceSessions(sim, W_NY).get(''));
    expect(Array.isArray(revenue)).toBe(true);
    const days = referenceSessions(sim, W_NY, (s) => localDay(s.startedAt, NY));
    expect(body.series.map((r: { bucket: string }) => r.bucket)).toEqual([
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    for (const row of body.series) {
      const { bucket, ...stats } = row;
      expect(stats.sessions).toBe(days.get(bucket)?.sessions ?? 0);
      if (days.has(bucket)) expect(stats).toEqual(days.get(bucket));
    }
    const devices = referenceSessions(sim, W_NY, (s) => s.device);
    for (const { value, ...stats } of body.breakdown) expect(stats).toEqual(devices.get(value));
    expect(body.data).toHaveLength(5);
    const started = body.data.map((s: { started_at: string }) => s.started_at);
    expect([...started].sort().reverse()).toEqual(started);
    // The cursor walks the whole list once.
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: any = await ok(`sessions?${NY_QUERY}&limit=40${cursor ? `&cursor=${cursor}` : ''}`);
      for (const s of page.data) seen.add(s.session_id);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(summary.sessions);
  });

  it('cuts buckets in the zone asked: UTC days differ from New York days, hours of the DST day are 23', async () => {
    const w: Window = { from: Date.parse('2026-03-06T00:00:00Z'), to: Date.parse('2026-03-11T00:00:00Z'), tz: 'UTC' };
    const body = await ok('sessions?from=2026-03-06&to=2026-03-10&tz=UTC&limit=0');
    const days = referenceSessions(sim, w, (s) => localDay(s.startedAt, 'UTC'));
    for (const { bucket, ...stats } of body.series) if (days.has(bucket)) expect(stats).toEqual(days.get(bucket));
    const hours = await ok(`sessions?from=2026-03-08&to=2026-03-08&tz=${NY}&granularity=hour&limit=0`);
    expect(hours.series).toHaveLength(23);
    expect(hours.series.map((r: { bucket: string }) => r.bucket)).not.toContain('2026-03-08T02:00');
    const day = referenceSessions(sim, { from: Date.parse('2026-03-08T05:00:00Z'), to: Date.parse('2026-03-09T04:00:00Z'), tz: NY }).get(
      '',
    );
    expect(hours.series.reduce((a: number, r: { sessions: number }) => a + r.sessions, 0)).toBe(day?.sessions);
  });

  it('filters by session attributes', async () => {
    const body = await ok(`sessions?${NY_QUERY}&device=mobile&browser=Safari&limit=0`);
    const want = referenceSessions(sim, W_NY, (s) => (s.device === 'mobile' && s.browser === 'Safari' ? 'yes' : 'no')).get('yes');
    const { revenue: _r, ...summary } = body.summary;
    expect(summary).toEqual(want);
  });
});

describe('GET /page-views and /top-pages', () => {
  it('match the independent computation', async () => {
    const body = await ok(`page-views?${NY_QUERY}&breakdown=page_type`);
    expect(body.summary).toEqual(referencePages(sim, W_NY, () => '').get(''));
    const days = referencePages(sim, W_NY, (p) => localDay(p.at, NY));
    for (const { bucket, ...stats } of body.series) if (days.has(bucket)) expect(stats).toEqual(days.get(bucket));
    const types = referencePages(sim, W_NY, (p) => p.pageType);
    expect(body.breakdown).toHaveLength(types.size);
    for (const { value, ...stats } of body.breakdown) expect(stats).toEqual(types.get(value));
    const product = await ok(`page-views?${NY_QUERY}&page_type=product`);
    expect(product.summary).toEqual(types.get('product'));

    const top = await ok(`top-pages?${NY_QUERY}&limit=3`);
    const pages = referencePages(sim, W_NY, (p) => p.path);
    const ranked = [...pages.entries()].sort((a, b) => (b[1].views as number) - (a[1].views as number) || (a[0] < b[0] ? -1 : 1));
    expect(top.data.slice(0, 3).map((r: { page: string }) => r.page)).toEqual(ranked.slice(0, 3).map(([k]) => k));
    for (const r of top.data.slice(0, 3)) expect(r).toEqual({ page: r.page, ...pages.get(r.page) });
    // The rest is one "other" row holding every remaining view.
    expect(top.data[3].page).toBe('other');
    expect(top.data.reduce((a: number, r: { views: number }) => a + r.views, 0)).toBe(body.summary.views);
    // On PostgreSQL read from the rows per hour and page ('other' counts each session of its pages once, however many
    // it viewed); the embedded database reads the raw page views for these (report-rollups.service.ts `shapeMisfit`).
    const pageSource = t.database.kind === 'postgres' ? 'rollup' : 'raw';
    expect([top.source, product.source]).toEqual([pageSource, pageSource]);
    const listed = new Set(top.data.slice(0, 3).map((r: { page: string }) => r.page));
    expect(top.data[3]).toEqual({
      page: 'other',
      ...referencePages(sim, W_NY, (p) => (listed.has(p.path) ? p.path : 'other')).get('other'),
    });
    const topProduct = await ok(`top-pages?${NY_QUERY}&limit=2&page_type=product`);
    const products = referencePages(sim, W_NY, (p) => (p.pageType === 'product' ? p.path : `not ${p.pageType}`));
    for (const r of topProduct.data.slice(0, 2)) expect(r).toEqual({ page: r.page, ...products.get(r.page) });
    const shown = new Set(topProduct.data.slice(0, 2).map((r: { page: string }) => r.page));
    const rest = referencePages(sim, W_NY, (p) => (p.pageType !== 'product' ? 'skip' : shown.has(p.path) ? p.path : 'other')).get('other');
    expect(topProduct.data[2]).toEqual({ page: 'other', ...rest });
  });
});

type StepOut = { median_seconds_to_convert: number | null } & Record<string, unknown>;
/**
 * A funnel the rollup answers: every field equal but the median, which comes from merged log-bucket histograms and
 * is held to their stated bound (plus the response's rounding to 0.01 s).
 */
function expectRolledSteps(got: StepOut[], want: StepOut[], label = ''): void {
  const strip = (xs: StepOut[]) => xs.map(({ median_seconds_to_convert: _, ...rest }) => rest);
  expect(strip(got), label).toEqual(strip(want));
  want.forEach((w, i) => {
    const m = got[i]!.median_seconds_to_convert;
    if (w.median_seconds_to_convert === null) expect(m, label).toBeNull();
    else
      expect(Math.abs(m! - w.median_seconds_to_convert), `${label} step ${i} median`).toBeLessThanOrEqual(
        medianBound.relative * w.median_seconds_to_convert + medianBound.absoluteSeconds + 0.005 + 1e-9,
      );
  });
}

describe('GET /funnel', () => {
  it("reports seed 000's stages in order, by session and by person", async () => {
    const stages = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
    const bySession = await ok(`funnel?${NY_QUERY}`);
    expectRolledSteps(bySession.steps, referenceFunnel(sim, W_NY, stages, 'session'));
    expect(bySession.overall_conversion_rate).toBe(bySession.steps[4].conversion_rate);
    const byUser = await ok(`funnel?${NY_QUERY}&by=user`);
    expect(byUser.steps).toEqual(referenceFunnel(sim, W_NY, stages, 'user'));
    expect(byUser.steps[0].count).toBeLessThan(bySession.steps[0].count); // known users come back
  });
  it('breaks down by the first touch session attribute, top N and "other"', async () => {
    const stages = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
    const body = await ok(`funnel?${NY_QUERY}&breakdown=device&top=2`);
    const device = new Map(sim.sessions.map((x) => [x.sessionId, x.device as string]));
    const of = (keep: (d: string) => boolean) =>
      referenceFunnel({ ...sim, funnel: sim.funnel.filter((f) => keep(device.get(f.sessionId)!)) }, W_NY, stages, 'session');
    const firsts = ['mobile', 'desktop', 'tablet']
      .map((d) => [d, of((x) => x === d)[0]!.count] as const)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top2 = firsts.slice(0, 2).map(([d]) => d);
    expect(body.breakdown.map((b: { value: string }) => b.value)).toEqual([...top2, 'other']);
    for (const b of body.breakdown)
      expectRolledSteps(
        b.steps,
        of((x) => (b.value === 'other' ? !top2.includes(x) : x === b.value)),
      );
    const byUser = await ok(`funnel?${NY_QUERY}&by=user&breakdown=utm_source`);
    expect(byUser.breakdown.reduce((a: number, b: { steps: { count: number }[] }) => a + b.steps[0]!.count, 0)).toBe(byUser.steps[0].count);
  });

  it('applies a conversion window: each step-1 occurrence is an attempt, the deepest counts', async () => {
    const stages = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
    for (const by of ['session', 'user'] as const) {
      const body = await ok(`funnel?${NY_QUERY}&window_seconds=600&by=${by}`);
      expect(body.window_seconds).toBe(600);
      expect(body.steps).toEqual(referenceFunnel(sim, W_NY, stages, by, 600));
    }
    const open = await ok(`funnel?${NY_QUERY}`);
    const tight = await ok(`funnel?${NY_QUERY}&window_seconds=600`);
    expect(tight.steps[1].count).toBeLessThan(open.steps[1].count);
    expect(tight.steps[0].count).toBe(open.steps[0].count);
    expect((await get('funnel?window_seconds=0')).status).toBe(400);
  });

  it('takes any steps: one, repeated, reversed, thirty', async () => {
    for (const steps of [
      ['checkout'],
      ['view_product', 'browse'],
      ['browse', 'browse'],
      Array.from({ length: 30 }, (_, i) => (i % 2 ? 'view_product' : 'browse')),
    ]) {
      const body = await ok(`funnel?${NY_QUERY}&steps=${steps.join(',')}`);
      const want = referenceFunnel(sim, W_NY, steps, 'session');
      // Stages only: the rollup answers (medians from histograms); with cart:/page: steps, sequenced exactly.
      expectRolledSteps(body.steps, want);
    }
    const mixed = await ok(`funnel?${NY_QUERY}&steps=browse,cart:item_added,page:cart`);
    expect(mixed.steps.map((s: { name: string }) => s.name)).toEqual(['browse', 'cart:item_added', 'page:cart']);
    expect(mixed.steps[1].count).toBeLessThanOrEqual(mixed.steps[0].count);
    const tooMany = await get(`funnel?steps=${Array.from({ length: 31 }, () => 'browse').join(',')}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('ANALYTICS_INVALID_STEPS');
    expect((await get('funnel?steps=browse,,checkout')).status).toBe(400);
    expect((await get(`funnel?steps=${encodeURIComponent('browse;DROP TABLE x')}`)).status).toBe(400);
  });
});

describe('GET /funnel modes: strict or any order, exclusions, last-touch breakdown', () => {
  const stages = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
  it('match the naive computation of each mode, by session and by person, with and without a window', async () => {
    for (const order of ['ordered', 'strict', 'any'] as const)
      for (const by of ['session', 'user'] as const)
        for (const windowSeconds of [undefined, 900]) {
          const win = windowSeconds ? `&window_seconds=${windowSeconds}` : '';
          const body = await ok(`funnel?${NY_QUERY}&order=${order}&by=${by}${win}`);
          expect(body.order).toBe(order);
          const want = referenceFunnelModes(sim, W_NY, stages, by, { order, windowSeconds }).steps;
          // Ordered sessions without a window read the rollup (medians within its bound); the other modes are exact.
          if (order === 'ordered' && by === 'session' && !windowSeconds) expectRolledSteps(body.steps, want, `${order} ${by} ${win}`);
          else expect(body.steps, `${order} ${by} ${win}`).toEqual(want);
        }
    // Strict is the narrowest, any order the widest, step by step; on this data they differ.
    const [ordered, strict, any] = await Promise.all(['ordered', 'strict', 'any'].map((o) => ok(`funnel?${NY_QUERY}&order=${o}`)));
    const n = (b: { steps: { count: number }[] }) => b.steps.map((x) => x.count);
    n(ordered).forEach((c, i) => {
      expect(n(strict)[i]).toBeLessThanOrEqual(c);
      expect(n(any)[i]).toBeGreaterThanOrEqual(c);
    });
    expect(n(strict)).not.toEqual(n(ordered));
    expect(n(any)).not.toEqual(n(ordered));
    expect(ordered).toEqual({ ...(await ok(`funnel?${NY_QUERY}`)), order: 'ordered' });
  });

  it('voids attempts with an excluded event between their first and deepest step', async () => {
    const steps = ['browse', 'add_to_cart', 'checkout'];
    for (const order of ['ordered', 'strict', 'any'] as const) {
      const body = await ok(`funnel?${NY_QUERY}&steps=${steps.join(',')}&exclude=view_cart&order=${order}&by=user&window_seconds=3600`);
      expect(body.exclude).toEqual(['view_cart']);
      expect(body.steps).toEqual(
        referenceFunnelModes(sim, W_NY, steps, 'user', { order, exclude: ['view_cart'], windowSeconds: 3600 }).steps,
      );
    }
    const open = await ok(`funnel?${NY_QUERY}&steps=${steps.join(',')}&by=user`);
    const excluded = await ok(`funnel?${NY_QUERY}&steps=${steps.join(',')}&exclude=view_cart&by=user`);
    expect(excluded.steps[2].count).toBeLessThan(open.steps[2].count);
  });

  it('attributes the breakdown to the first or the deepest step', async () => {
    for (const attribution of ['first_touch', 'last_touch'] as const) {
      const body = await ok(`funnel?${NY_QUERY}&by=user&breakdown=device&top=5&attribution=${attribution}`);
      const want = referenceFunnelModes(sim, W_NY, stages, 'user', { order: 'ordered', attribution }).byDevice;
      expect(body.attribution).toBe(attribution);
      expect(new Set(body.breakdown.map((b: { value: string }) => b.value))).toEqual(new Set(want.keys()));
      for (const b of body.breakdown) expect(b.steps).toEqual(want.get(b.value));
    }
  });

  it('rejects bad modes and exclusions, and hostile input, with 400', async () => {
    for (const q of [
      'order=random',
      'attribution=middle',
      'exclude=browse', // also a step
      'exclude=',
      `exclude=${Array.from({ length: 11 }, (_, i) => `x${i}`).join(',')}`,
      `exclude=${encodeURIComponent('view_cart\u0000')}`,
      `exclude=${encodeURIComponent('view_cart;DELETE')}`,
      'exclude=%ED%A0%80', // a lone surrogate's UTF-8 bytes
      `exclude=${'a'.repeat(2001)}`,
      `window_seconds=${'9'.repeat(400)}`,
      'order=strict&order=any',
    ]) {
      const r = await get(`funnel?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toMatch(/^(VALIDATION|ANALYTICS_INVALID_STEPS|UNSAFE_TEXT)/);
    }
    // Tenant B's key reads an empty funnel in every mode.
    for (const order of ['strict', 'any']) {
      const r = await get(`funnel?${NY_QUERY}&order=${order}&exclude=cart:converted`, readB);
      expect(r.status).toBe(200);
      expect(r.body.steps.every((x: { count: number }) => x.count === 0)).toBe(true);
    }
  });
});

describe('GET /cart and /cart/top-products', () => {
  it('match the independent computation', async () => {
    const body = await ok(`cart?${NY_QUERY}`);
    const { revenue, ...summary } = body.summary;
    expect(summary).toEqual(referenceCart(sim, W_NY, false).get(''));
    const wantRevenue = referenceCartRevenue(sim, W_NY);
    expect(
      Object.fromEntries(revenue.map((r: { currency: string; amount_minor: string }) => [r.currency, Number(r.amount_minor)])),
    ).toEqual(Object.fromEntries(wantRevenue));
    expect(revenue.find((r: { currency: string }) => r.currency === 'USD').amount).toBe(wantRevenue.get('USD')! / 100);
    const days = referenceCart(sim, W_NY, true);
    for (const { bucket, ...stats } of body.series) if (days.has(bucket)) expect(stats).toEqual(days.get(bucket));
    expect(body.series.reduce((a: number, r: { carts: number }) => a + r.carts, 0)).toBe(summary.carts);

    const products = await ok(`cart/top-products?${NY_QUERY}&limit=50`);
    const want = referenceCartProducts(sim, W_NY);
    expect(products.data).toHaveLength(want.size);
    for (const p of products.data) {
      const w = want.get(p.product_id)!;
      expect(p).toEqual({
        product_id: p.product_id,
        ...w,
        adds_abandoned: w.adds - w.adds_converted,
        cart_conversion_rate: Math.round((w.adds_converted / w.adds) * 10_000) / 10_000,
      });
    }
  });
});

describe('GET /session/:sessionId and /realtime', () => {
  it("returns a session's pages, stages and cart events in time order; another tenant's id is unknown", async () => {
    const s = sim.sessions.find((x) => sim.cart.some((c) => c.sessionId === x.sessionId))!;
    const body = await ok(`session/${s.sessionId}`);
    expect(body.session.session_id).toBe(s.sessionId);
    expect(body.session.started_at).toBe(iso(s.startedAt));
    const want = [
      ...sim.pages.filter((p) => p.sessionId === s.sessionId).map((p) => ({ kind: 'page_view', at: p.at, o: 0 })),
      ...sim.funnel.filter((f) => f.sessionId === s.sessionId).map((f) => ({ kind: 'funnel', at: f.at, o: 1 })),
      ...sim.cart.filter((c) => c.sessionId === s.sessionId).map((c) => ({ kind: 'cart', at: c.at, o: 2 })),
    ].sort((a, b) => a.at - b.at || a.o - b.o);
    expect(body.timeline.map((e: { kind: string; at: string }) => [e.kind, e.at])).toEqual(want.map((e) => [e.kind, iso(e.at)]));
    const other = await get(`session/${s.sessionId}`, readB);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('ANALYTICS_SESSION_NOT_FOUND');
    expect((await get('session/nope')).status).toBe(404);
  });

  it('counts the last five minutes only', async () => {
    const before = await ok('realtime');
    const now = Date.now();
    await send('/api/v1/analytics/session/start', { session_id: 'rt-1', user_id: 'rt-user', started_at: iso(now - 60_000) });
    await send('/api/v1/analytics/page-view', { session_id: 'rt-1', page_url: 'https://shop.example/live', viewed_at: iso(now - 30_000) });
    await send('/api/v1/analytics/page-view', {
      session_id: 'rt-old',
      page_url: 'https://shop.example/old',
      viewed_at: iso(now - 600_000),
    });
    await send('/api/v1/analytics/funnel', { session_id: 'rt-1', stage: 'browse', reached_at: iso(now - 20_000) });
    const body = await ok('realtime');
    expect(body.active_sessions - before.active_sessions).toBe(1);
    expect(body.page_views - before.page_views).toBe(1);
    expect(body.events - before.events).toBe(2);
    expect(body.top_pages).toContainEqual({ page: '/live', views: 1 });
    expect((await get('realtime', readB)).body).toMatchObject({ active_sessions: 0, events: 0 });
  });
});

describe('bad input and isolation', () => {
  it('refuses unknown zones (named), empty and oversized ranges, too fine series', async () => {
    const tz = await get('sessions?tz=Mars/Olympus');
    expect(tz.status).toBe(400);
    expect(tz.body.error.code).toBe('ANALYTICS_UNKNOWN_TIME_ZONE');
    expect(tz.body.error.message).toContain('Mars/Olympus');
    const nul = await get(`sessions?tz=${encodeURIComponent('UTC\u0000')}`);
    expect(nul.status).toBe(400);
    const empty = await get('sessions?from=2026-03-06T00:00:00Z&to=2026-03-06T00:00:00Z');
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('ANALYTICS_INVALID_RANGE');
    expect((await get('cart?from=2000-01-01&to=2026-01-01')).status).toBe(400);
    const tenYears = await get('sessions?from=2016-03-01&to=2026-02-28&limit=0');
    expect(tenYears.status).toBe(200);
    expect(tenYears.body.series.length).toBeGreaterThan(3600);
    const hourly = await get('sessions?from=2016-03-01&to=2026-02-28&granularity=hour');
    expect(hourly.status).toBe(400);
    expect(hourly.body.error.code).toBe('ANALYTICS_TOO_MANY_BUCKETS');
    expect((await get('sessions?from=2026-13-01')).status).toBe(400);
    expect((await get('sessions?unknown=1')).status).toBe(400);
    expect((await get('sessions?cursor=bm9wZQ')).status).toBe(400);
    expect((await get('top-pages?device=%ED%A0%80')).status).toBeLessThan(500);
  });

  it('folds a breakdown past `top` into "other" with exact totals', async () => {
    const body = await ok(`sessions?${NY_QUERY}&breakdown=browser&top=2&limit=0`);
    expect(body.breakdown.map((r: { value: string }) => r.value)).toContain('other');
    expect(body.breakdown).toHaveLength(3);
    expect(body.breakdown.reduce((a: number, r: { sessions: number }) => a + r.sessions, 0)).toBe(body.summary.sessions);
    const browsers = referenceSessions(sim, W_NY, (s) => s.browser);
    const top2 = [...browsers.entries()]
      .sort((a, b) => (b[1].sessions as number) - (a[1].sessions as number) || (a[0] < b[0] ? -1 : 1))
      .slice(0, 2);
    const other = referenceSessions(sim, W_NY, (s) => (top2.some(([k]) => k === s.browser) ? s.browser : 'other'));
    for (const { value, ...stats } of body.breakdown) expect(stats).toEqual(other.get(value));
  });

  it("shows tenant B nothing of tenant A's", async () => {
    for (const path of ['sessions', 'page-views', 'top-pages', 'funnel', 'cart', 'cart/top-products']) {
      const r = await get(`${path}?${NY_QUERY}`, readB);
      expect(r.status).toBe(200);
      const json = JSON.stringify(r.body);
      expect(json).not.toMatch(/"(sessions|views|carts|count|adds)":[1-9]/);
    }
    const noScope = await t.request('GET', '/api/v1/analytics/sessions', { token: write });
    expect(noScope.status).toBe(403);
  });
});
