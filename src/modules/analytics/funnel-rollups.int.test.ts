/**
 * Funnel rollups against the raw scan they replace: random stage events sent through the tracking API, read back
 * from the rollup plus the raw tail and from events' raw ordered funnel (`funnel`, the statement the report ran
 * before rollups) over many windows, step lists, filters and breakdowns; equal before a refresh, after one, after
 * late and out-of-order events, with a second tenant writing the same session ids, under concurrent writes and
 * refreshes, and after a person's erasure.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { rngMulberry32 } from '../../ml/random.ts';
import { arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import { createAnalyticsSourceRepository, createFunnelRollupSources } from '../events/index.ts';
import type { ReportWindow, SessionFilters } from './analytics.types.ts';
import type { FunnelCountRow } from './funnel.core.ts';
import { medianBound } from './funnel-histogram.core.ts';
import { createFunnelRollupsRepository } from './funnel-rollups.repository.ts';

const STAGES = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
const DEVICES = ['mobile', 'desktop', 'tablet'];
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const SPAN = 72 * HOUR;

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let writeA: string;
let writeB: string;
let readA: string;
const raw = createAnalyticsSourceRepository();
let eventNo = 0;

async function post(url: string, body: object, token: string): Promise<void> {
  const r = await t.request('POST', url, { token, body });
  if (r.status >= 300) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Runs jobs `n` at a time (concurrent writes through the API). */
async function pool(jobs: (() => Promise<void>)[], n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/**
 * `sessions` random sessions `s<first>..` (most started with a device, some never), each with 1-8 stage events at
 * random stages and times (a few spread over a day, so windows cut them), sent shuffled.
 */
async function sendSessions(seed: number, token: string, first: number, sessions: number, user?: (i: number) => string | undefined) {
  const rnd = rngMulberry32(seed);
  const jobs: (() => Promise<void>)[] = [];
  for (let i = first; i < first + sessions; i++) {
    const sessionId = `s${i}`;
    const userId = user?.(i);
    const start = T0 + Math.floor(rnd() * SPAN);
    if (rnd() < 0.85)
      await post(
        '/api/v1/analytics/session/start',
        {
          session_id: sessionId,
          device_type: DEVICES[Math.floor(rnd() * 3)],
          ...(userId ? { user_id: userId } : {}),
          started_at: new Date(start).toISOString(),
        },
        token,
      );
    const spread = rnd() < 0.2 ? 24 * HOUR : HOUR;
    const n = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < n; k++)
      jobs.push(stageJob(token, sessionId, STAGES[Math.floor(rnd() * 5)]!, start + Math.floor(rnd() * spread), userId));
  }
  await pool(shuffle(jobs, rnd), 6);
}

function stageJob(token: string, sessionId: string, stage: string, at: number, userId?: string) {
  const eventId = `e${++eventNo}`;
  return () =>
    post(
      '/api/v1/analytics/funnel',
      { session_id: sessionId, event_id: eventId, stage, reached_at: new Date(at).toISOString(), ...(userId ? { user_id: userId } : {}) },
      token,
    );
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const sorted = (rows: FunnelCountRow[]) =>
  [...rows].sort((a, b) => a.step - b.step || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));

/**
 * Counts exactly equal; medians within the histograms' stated bound (funnel-histogram.core.ts; a window without a
 * whole UTC day reads per session and is exact, which the bound also holds).
 */
function expectSameFunnel(got: FunnelCountRow[], want: FunnelCountRow[], label: string): void {
  const g = sorted(got);
  const r = sorted(want);
  expect(
    g.map(({ step, value, count }) => ({ step, value, count })),
    label,
  ).toEqual(r.map(({ step, value, count }) => ({ step, value, count })));
  r.forEach((x, k) => {
    const m = g[k]!.medianSeconds;
    if (x.medianSeconds === null) expect(m, label).toBeNull();
    else
      expect(Math.abs(m! - x.medianSeconds), `${label} step ${x.step} ${x.value} median`).toBeLessThanOrEqual(
        medianBound.relative * x.medianSeconds + medianBound.absoluteSeconds + 1e-9,
      );
  });
}

interface Case {
  steps: string[];
  w: ReportWindow;
  f: SessionFilters;
  breakdown?: { dimension: 'device'; limit: number };
}

/** Windows that hold everything, cut sessions at both ends, and hold nothing. */
function cases(): Case[] {
  const win = (a: number, b: number): ReportWindow => ({ from: new Date(T0 + a * HOUR), to: new Date(T0 + b * HOUR), tz: 'UTC' });
  const windows = [win(-24, 200), win(10, 50), win(23.5, 24.5), win(300, 400)];
  const stepLists = [STAGES, ['browse', 'browse', 'view_product'], ['checkout', 'browse']];
  const out: Case[] = [];
  for (const w of windows)
    for (const steps of stepLists) {
      out.push({ steps, w, f: {} });
      out.push({ steps, w, f: {}, breakdown: { dimension: 'device', limit: 2 } });
    }
  out.push({ steps: STAGES, w: windows[0]!, f: { device: 'mobile' } });
  out.push({ steps: STAGES, w: windows[1]!, f: { device: 'tablet' }, breakdown: { dimension: 'device', limit: 5 } });
  return out;
}

/** Every case from the rollup (refreshed or not, as left) equals events' raw ordered funnel. */
async function expectEqualToRaw(tenantId: string): Promise<number> {
  const rollups = t.modules.analytics.funnelRollups;
  let compared = 0;
  for (const c of cases()) {
    const fromRaw = await raw.funnel(t.database.db, tenantId, c.w, c.f, { steps: c.steps, by: 'session', breakdown: c.breakdown });
    const fromRollup = await rollups.read(tenantId, c.steps, c.w, c.f, c.breakdown);
    expect(fromRollup, `rollup of ${c.steps.join(',')} built`).not.toBeNull();
    expectSameFunnel(
      fromRollup!,
      fromRaw,
      `${c.steps.join(',')} ${c.w.from.toISOString()}..${c.w.to.toISOString()} ${JSON.stringify(c.f)} ${c.breakdown ? 'split' : ''}`,
    );
    compared += fromRaw.length;
  }
  return compared;
}

const refreshAll = async (tenantId: string) => {
  const out = [];
  for (const steps of new Set(cases().map((c) => c.steps))) out.push(await t.modules.analytics.funnelRollups.refresh(tenantId, steps));
  return out;
};

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Funnel A');
  B = await t.createTenant('Funnel B');
  writeA = await A.apiKey(['interactions:write']);
  writeB = await B.apiKey(['interactions:write']);
  readA = await A.apiKey(['analytics:read']);
  await sendSessions(1, writeA, 0, 50, (i) => (i % 10 === 3 ? 'erin' : undefined));
  // The other tenant writes the same session ids: none of its rows may reach A's rollup.
  await sendSessions(2, writeB, 0, 40);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

describe('funnel rollups equal the raw ordered funnel', () => {
  it('after the first build, over windows that cut sessions, step lists with repeats, filters and breakdowns', async () => {
    const built = await refreshAll(A.tenantId);
    expect(built.every((r) => r?.rebuilt)).toBe(true);
    const compared = await expectEqualToRaw(A.tenantId);
    expect(compared).toBeGreaterThan(60);
  }, 240_000);

  it('with later, late and out-of-order events: before the refresh (from the tail) and after it (incrementally)', async () => {
    const rnd = rngMulberry32(9);
    // New sessions, and earlier stage events for existing sessions (a new first step, a step before the previous one).
    await sendSessions(3, writeA, 60, 15);
    const late: (() => Promise<void>)[] = [];
    for (let i = 0; i < 25; i++)
      late.push(stageJob(writeA, `s${Math.floor(rnd() * 60)}`, STAGES[Math.floor(rnd() * 5)]!, T0 + Math.floor(rnd() * SPAN) - 6 * HOUR));
    await pool(late, 4);
    await sendSessions(4, writeB, 40, 10);
    await expectEqualToRaw(A.tenantId);
    const refreshed = await refreshAll(A.tenantId);
    expect(refreshed.every((r) => r && !r.rebuilt && r.sessions > 0)).toBe(true);
    await expectEqualToRaw(A.tenantId);
    // Nothing new: a refresh recomputes nothing.
    expect((await refreshAll(A.tenantId)).every((r) => r && r.sessions === 0)).toBe(true);
  }, 240_000);

  it('under concurrent writes and refreshes', async () => {
    const rnd = rngMulberry32(11);
    const writes: (() => Promise<void>)[] = [];
    for (let i = 0; i < 40; i++)
      writes.push(stageJob(writeA, `s${Math.floor(rnd() * 90)}`, STAGES[Math.floor(rnd() * 5)]!, T0 + Math.floor(rnd() * SPAN)));
    await Promise.all([pool(writes, 4), refreshAll(A.tenantId), refreshAll(A.tenantId), refreshAll(A.tenantId)]);
    await expectEqualToRaw(A.tenantId);
    await refreshAll(A.tenantId);
    await expectEqualToRaw(A.tenantId);
  }, 240_000);

  it('a session started after its stage events were rolled up (its device filled late) moves to its device', async () => {
    // Stage events first (a bare session, no device), rolled up; then the start fills the device.
    const at = T0 + 30 * HOUR;
    await pool(
      STAGES.slice(0, 3).map((stage, k) => stageJob(writeA, 'late-start', stage, at + k * 60_000)),
      1,
    );
    await refreshAll(A.tenantId);
    await post(
      '/api/v1/analytics/session/start',
      { session_id: 'late-start', device_type: 'tablet', started_at: new Date(at).toISOString() },
      writeA,
    );
    const w: ReportWindow = { from: new Date(T0 - 24 * HOUR), to: new Date(T0 + 200 * HOUR), tz: 'UTC' };
    const split = { dimension: 'device', limit: 5 } as const;
    const tablets = (rows: FunnelCountRow[] | null) => rows?.find((r) => r.step === 2 && r.value === 'tablet')?.count;
    const fromRaw = await raw.funnel(t.database.db, A.tenantId, w, {}, { steps: STAGES, by: 'session', breakdown: split });
    // Before and after the refresh: the device now, not the one rolled up.
    expectSameFunnel((await t.modules.analytics.funnelRollups.read(A.tenantId, STAGES, w, {}, split))!, fromRaw, 'before the refresh');
    expectSameFunnel(
      (await t.modules.analytics.funnelRollups.read(A.tenantId, STAGES, w, { device: 'tablet' }))!,
      await raw.funnel(t.database.db, A.tenantId, w, { device: 'tablet' }, { steps: STAGES, by: 'session' }),
      'tablets, before the refresh',
    );
    await refreshAll(A.tenantId);
    const after = await t.modules.analytics.funnelRollups.read(A.tenantId, STAGES, w, {}, split);
    expectSameFunnel(after!, fromRaw, 'after the refresh');
    expect(tablets(after)).toBe(tablets(fromRaw));
    await expectEqualToRaw(A.tenantId);
  }, 240_000);

  it("the report's HTTP answer is the rollup's, and another tenant's rows never count", async () => {
    const q = `from=${new Date(T0 - 24 * HOUR).toISOString()}&to=${new Date(T0 + 200 * HOUR).toISOString()}&tz=UTC&breakdown=device`;
    const r = await t.request('GET', `/api/v1/analytics/funnel?${q}`, { token: readA });
    expect(r.status).toBe(200);
    const w: ReportWindow = { from: new Date(T0 - 24 * HOUR), to: new Date(T0 + 200 * HOUR), tz: 'UTC' };
    const fromRaw = await raw.funnel(t.database.db, A.tenantId, w, {}, { steps: STAGES, by: 'session' });
    expect(r.body.steps.map((s: { count: number }) => s.count)).toEqual(
      STAGES.map((_, i) => fromRaw.find((x) => x.step === i)?.count ?? 0),
    );
    // B's sessions alone: its funnel differs from A's (so a leak would show).
    const ofB = await raw.funnel(t.database.db, B.tenantId, w, {}, { steps: STAGES, by: 'session' });
    expect(ofB.find((x) => x.step === 0)?.count).not.toBe(fromRaw.find((x) => x.step === 0)?.count);
  }, 60_000);

  it("after a person's erasure (their sessions renamed): equal before and after the refresh, no old session id kept", async () => {
    // Erin's sessions are s3, s13, ...: make Erin a profile, then erase it.
    await post(
      '/api/v1/interactions',
      { user_id: 'erin', item_id: 'lamp', interaction_type: 'view', identifiers: { email: 'erin@example.test' } },
      writeA,
    );
    const profile = await t.request('GET', '/api/v1/profiles/lookup?email=erin@example.test', { token: A.ownerToken });
    expect(profile.status).toBe(200);
    const erins = () =>
      queryOne<{ n: number }>(
        t.database.db,
        sql`SELECT count(*)::int AS n FROM analytics_funnel_sessions WHERE tenant_id = ${A.tenantId} AND session_id IN ('s3', 's13', 's23')`,
      );
    expect((await erins())?.n).toBeGreaterThan(0);
    const del = await t.request('DELETE', `/api/v1/profiles/${profile.body.id}`, { token: A.ownerToken });
    expect(del.status, JSON.stringify(del.body)).toBeLessThan(300);
    expect((await erins())?.n).toBe(0);
    await expectEqualToRaw(A.tenantId);
    await refreshAll(A.tenantId);
    await expectEqualToRaw(A.tenantId);
  }, 240_000);

  it('whole days come from the day rows, not one row per session: equal without those sessions rows, wrong with the day rows altered', async () => {
    await refreshAll(A.tenantId);
    const w: ReportWindow = { from: new Date(T0 - 24 * HOUR), to: new Date(T0 + 200 * HOUR), tz: 'UTC' };
    const dayCases: { f: SessionFilters; breakdown?: { dimension: 'device'; limit: number } }[] = [
      { f: {} },
      { f: {}, breakdown: { dimension: 'device', limit: 2 } },
      { f: { device: 'mobile' } },
    ];
    const rawOf = (c: (typeof dayCases)[number]) =>
      raw.funnel(t.database.db, A.tenantId, w, c.f, { steps: STAGES, by: 'session', breakdown: c.breakdown });
    const read = (c: (typeof dayCases)[number]) => t.modules.analytics.funnelRollups.read(A.tenantId, STAGES, w, c.f, c.breakdown);
    const inner = sql`tenant_id = ${A.tenantId} AND first_at >= ${w.from.toISOString()} AND last_at < '2026-03-10T00:00:00Z'`;
    const removed = await queryOne<{ n: number }>(
      t.database.db,
      sql`WITH d AS (DELETE FROM analytics_funnel_sessions WHERE ${inner} RETURNING 1) SELECT count(*)::int AS n FROM d`,
    );
    expect(removed?.n).toBeGreaterThan(20);
    for (const c of dayCases) expectSameFunnel((await read(c))!, await rawOf(c), `without inner session rows ${JSON.stringify(c)}`);
    // One more session counted in each day row: the answer moves, so the day rows are what it reads.
    await t.database.db.execute(
      sql`UPDATE analytics_funnel_days SET counts[1] = counts[1] + 1 WHERE tenant_id = ${A.tenantId} AND cells[1] = 0`,
    );
    for (const c of dayCases)
      expect((await read(c))!.find((r) => r.step === 0)?.count).not.toBe((await rawOf(c)).find((r) => r.step === 0)?.count);
    // Rebuilt from scratch, equal again.
    await t.database.db.execute(sql`UPDATE analytics_funnel_rollups SET watermark = NULL WHERE tenant_id = ${A.tenantId}`);
    await refreshAll(A.tenantId);
    await expectEqualToRaw(A.tenantId);
  }, 240_000);

  it("a refresh reads the per-session rows of the sessions it recomputes, not their days' nor the funnel's history", async () => {
    // 2,400 older sessions, 40 a day over 60 days before the other tests' window, rolled up.
    const OLD = 2400;
    await t.database.db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
      SELECT ${A.tenantId}, gen_random_uuid(), 'old' || i || ':' || k, 'old' || i, (ARRAY['browse', 'view_product'])[k],
             ${new Date(T0 - 70 * 24 * HOUR).toISOString()}::timestamptz + (i / 40) * interval '1 day' + (i % 40) * interval '10 minutes' + k * interval '1 minute'
      FROM generate_series(0, ${OLD - 1}) i CROSS JOIN generate_series(1, 2) k`);
    await t.modules.analytics.funnelRollups.refresh(A.tenantId, STAGES);
    await t.database.db.execute(sql`ANALYZE analytics_funnel_sessions`);
    // Then stage events for three sessions, on two days: one old session's day, one new day.
    await pool(
      [
        stageJob(writeA, 'old41', 'add_to_cart', T0 - 69 * 24 * HOUR + 3 * 60_000),
        stageJob(writeA, 'fresh-1', 'browse', T0 + 100 * HOUR),
        stageJob(writeA, 'fresh-2', 'browse', T0 + 100 * HOUR + 60_000),
      ],
      1,
    );
    const repo = createFunnelRollupsRepository(createFunnelRollupSources());
    const key = await queryOne<{ key: string }>(
      t.database.db,
      sql`SELECT funnel_key AS key FROM analytics_funnel_rollups WHERE tenant_id = ${A.tenantId} AND steps = ${`{${STAGES.join(',')}}`}::text[]`,
    );
    const track = { key: key!.key, steps: STAGES };
    const { recounted, read, total } = await t.database.db.transaction(async (tx) => {
      const since = await repo.lock(tx, A.tenantId, track);
      const before = await queryOne<{ n: number }>(
        tx,
        sql`SELECT (seq_tup_read + coalesce(idx_tup_fetch, 0))::int AS n FROM pg_stat_xact_user_tables WHERE relname = 'analytics_funnel_sessions'`,
      );
      const recounted = await repo.applyChanges(tx, A.tenantId, track, since!);
      // Rows of analytics_funnel_sessions this transaction read (sequential or through an index), against all the funnel's.
      const after = await queryOne<{ n: number }>(
        tx,
        sql`SELECT (seq_tup_read + coalesce(idx_tup_fetch, 0))::int AS n FROM pg_stat_xact_user_tables WHERE relname = 'analytics_funnel_sessions'`,
      );
      const total = await queryOne<{ n: number }>(
        tx,
        sql`SELECT count(*)::int AS n FROM analytics_funnel_sessions WHERE tenant_id = ${A.tenantId} AND funnel_key = ${track.key}`,
      );
      return { recounted, read: after!.n - (before?.n ?? 0), total: total!.n };
    });
    expect(recounted).toBe(3);
    expect(total).toBeGreaterThan(OLD);
    // The three changed sessions' rows, each read a few times (taken out of the day rows, deleted, added back, span):
    // not the 2,400+ of the funnel (a filter by day), nor the 40 of the touched old day (a recount of the day).
    expect(read).toBeLessThanOrEqual(25);
    // Counts still exact: the old days, the touched ones and the new one, whole and split.
    const w: ReportWindow = { from: new Date(T0 - 72 * 24 * HOUR), to: new Date(T0 + 200 * HOUR), tz: 'UTC' };
    const split = { dimension: 'device', limit: 5 } as const;
    expectSameFunnel(
      (await t.modules.analytics.funnelRollups.read(A.tenantId, STAGES, w, {}, split))!,
      await raw.funnel(t.database.db, A.tenantId, w, {}, { steps: STAGES, by: 'session', breakdown: split }),
      'the old days and the new day after the refresh',
    );
    // The day rows kept by adding and taking away cells equal the day rows a build writes from scratch.
    const dayRows = () =>
      queryRows<object>(
        t.database.db,
        sql`SELECT first_day::text, last_day::text, dimension, value, sessions, cells, counts FROM analytics_funnel_days
          WHERE tenant_id = ${A.tenantId} AND funnel_key = ${track.key} ORDER BY dimension, first_day, last_day, value`,
      );
    await t.modules.analytics.funnelRollups.refresh(A.tenantId, STAGES);
    const kept = await dayRows();
    expect(kept.length).toBeGreaterThan(60 * 7);
    await t.database.db.execute(
      sql`UPDATE analytics_funnel_rollups SET watermark = NULL WHERE tenant_id = ${A.tenantId} AND funnel_key = ${track.key}`,
    );
    expect((await t.modules.analytics.funnelRollups.refresh(A.tenantId, STAGES))?.rebuilt).toBe(true);
    expect(await dayRows()).toEqual(kept);
  }, 240_000);
  it('sequences a list of changed sessions in work linear in their events, not in the square of the list', async () => {
    // 1,600 sessions of 2-5 stage events each; the refresh's statement over the first 400 of them and over all 1,600.
    const N = 1600;
    await t.database.db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
      SELECT ${A.tenantId}, gen_random_uuid(), 'lin' || i || ':' || k, 'lin' || i, (ARRAY['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'])[k],
             ${new Date(T0 - 80 * 24 * HOUR).toISOString()}::timestamptz + (i % 50) * interval '1 hour' + k * interval '1 minute'
      FROM generate_series(0, ${N - 1}) i CROSS JOIN generate_series(1, 2 + i % 4) k`);
    await t.database.db.execute(sql`ANALYZE funnel_events`);
    const src = createFunnelRollupSources();
    /** Rows every plan node produced or filtered away, over all its loops (EXPLAIN ANALYZE): the statement's work. */
    const work = async (n: number) => {
      const ids = Array.from({ length: n }, (_, i) => `lin${i}`);
      const steps = src.sessionStepsSql(A.tenantId, STAGES, null, sql`SELECT unnest(${arrayParam(ids)}::text[])`);
      const [row] = await queryRows<Record<string, unknown>>(
        t.database.db,
        sql`EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*), sum(cardinality(x.step_at)) FROM ${steps} x`,
      );
      const plan = Object.values(row!)[0];
      type Node = Record<string, number> & { Plans?: Node[] };
      const root = ((typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: Node }[])[0]!.Plan;
      const sum = (node: Node): number =>
        (node['Actual Rows']! + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Join Filter'] ?? 0)) *
          node['Actual Loops']! +
        (node.Plans ?? []).reduce((acc, c) => acc + sum(c), 0);
      return sum(root);
    };
    const small = await work(400);
    const large = await work(N);
    // Four times the sessions: about four times the work (the former per-step CTE joins, planned as nested loops on
    // PostgreSQL: 15.8 times, 23M rows at 1,600 sessions; now 2.9 times, 44k rows).
    expect(large / small).toBeLessThan(6);
    // A few rows a stage event at most (the sessions' ~5,600 events: grouped, unnested per step, probed).
    expect(large).toBeLessThan(40 * 3.5 * N);
  }, 120_000);

  it("a tenant's first build of a key version deletes its rollups of other versions (rollup, session and day rows), not another tenant's", async () => {
    const db = t.database.db;
    // Rows as an older version left them (f1: never read nor rebuilt again), for both tenants.
    for (const tenantId of [A.tenantId, B.tenantId]) {
      await db.execute(
        sql`INSERT INTO analytics_funnel_rollups (tenant_id, funnel_key, steps) VALUES (${tenantId}, 'f1:old', ARRAY['browse'])`,
      );
      await db.execute(sql`INSERT INTO analytics_funnel_sessions (tenant_id, funnel_key, session_id, anchor_id, first_at, last_at, step_at)
        VALUES (${tenantId}, 'f1:old', 's-old', gen_random_uuid(), now(), now(), ARRAY[now()])`);
      await db.execute(sql`INSERT INTO analytics_funnel_days (tenant_id, funnel_key, first_day, last_day, dimension, value, sessions, cells, counts)
        VALUES (${tenantId}, 'f1:old', '2026-03-02', '2026-03-02', '', '', 1, '{0}', '{1}')`);
    }
    const rowsOf = async (tenantId: string) => {
      const n = async (table: string, old: boolean) =>
        (await queryOne<{ n: number }>(
          db,
          sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId} AND starts_with(funnel_key, 'f1:') = ${old}`,
        ))!.n;
      const out: Record<string, [number, number]> = {};
      for (const table of ['analytics_funnel_rollups', 'analytics_funnel_sessions', 'analytics_funnel_days'])
        out[table] = [await n(table, true), await n(table, false)];
      return out;
    };
    const olds = async (tenantId: string) => Object.values(await rowsOf(tenantId)).map((x) => x[0]);
    // A refresh of a built rollup is not a build: nothing of the old version goes yet.
    expect((await t.modules.analytics.funnelRollups.refresh(A.tenantId, STAGES))?.rebuilt).toBe(false);
    expect(await olds(A.tenantId)).toEqual([1, 1, 1]);
    const before = await rowsOf(A.tenantId);
    // A build of a steps list never built before: A's f1 rows go, its current rollups stay, B's f1 rows stay.
    expect((await t.modules.analytics.funnelRollups.refresh(A.tenantId, ['browse', 'checkout', 'browse']))?.rebuilt).toBe(true);
    const after = await rowsOf(A.tenantId);
    for (const table of Object.keys(after)) {
      expect(after[table]![0], table).toBe(0);
      expect(after[table]![1], table).toBeGreaterThanOrEqual(before[table]![1]);
    }
    expect(await olds(B.tenantId)).toEqual([1, 1, 1]);
  }, 120_000);
});
