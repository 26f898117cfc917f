/**
 * bench/analytics: report latency over raw tracking rows at scale, beside the floor of any raw-scan report.
 *
 *   npm run bench:analytics                                  # embedded database (PGlite), 20,000 sessions (~500k events)
 *   BENCH_SESSIONS=200000 npm run bench:analytics            # the scale: ~5 million events
 *   DATABASE_URL=postgres://... npm run bench:analytics      # PostgreSQL (the bench's tenant is deleted at the end)
 *
 * Loads sessions, page views (18 per session), funnel stages (browse 90 %, then 70/50/40/30 %) and cart events
 * (3 per session) over the last 12 weeks with set-based SQL, then times, `BENCH_RUNS` times each after one
 * warm-up, the reports as the services run them (events' repositories, and for funnels and paths analytics' pure
 * cores over the occurrences events returns): a 5-step funnel with a device breakdown, by person with a 1 h window
 * in each order mode, a 12-week retention matrix, paths from the home page, and realtime. The named baseline, measured in the same run
 * on the same rows, is `count(*)` of the window's funnel_events (or page_views for paths): the least any report
 * scanning raw rows per request must read. Goals (issue 18): funnel and retention p95 < 1 s on PostgreSQL, < 3 s
 * on PGlite; realtime < 50 ms. A report far above its baseline is the case for rollups.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import {
  computeFunnel,
  createFunnelRollupsRepository,
  createFunnelRollupsService,
  type FunnelSpec,
  pathEdges,
} from '../../src/modules/analytics/index.ts';
import {
  createAnalyticsBehaviourRepository,
  createAnalyticsSourceRepository,
  createFunnelRollupSources,
} from '../../src/modules/events/index.ts';
import { migrateDatabase, openDatabase, queryOne } from '../../src/platform/index.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGES = 18;
const DAY = 86_400_000;

const database = await openDatabase(process.env.DATABASE_URL ? { kind: 'postgres', url: process.env.DATABASE_URL } : { kind: 'pglite' });
await migrateDatabase(database);
const db = database.db;
const target = database.kind;
const tenantId = randomUUID();
const now = new Date();
const from = new Date(now.getTime() - 84 * DAY);
const w = { from, to: now, tz: 'UTC' };

async function load(): Promise<number> {
  const t = tenantId;
  const start = from.toISOString();
  // Session i starts at a pseudo-random time of the 12 weeks; people (a quarter of the sessions) come back.
  await db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, user_id, device_type, browser, utm_source, started_at, ended_at, pages_viewed)
    SELECT ${t}, gen_random_uuid(), 's' || i, 'u' || (i % ${Math.max(1, Math.floor(SESSIONS / 4))}),
           (ARRAY['mobile', 'desktop', 'tablet'])[1 + i % 3], (ARRAY['Chrome', 'Safari', 'Firefox', 'Edge'])[1 + i % 4],
           (ARRAY['google', 'instagram', 'newsletter', NULL])[1 + i % 4],
           ${start}::timestamptz + ((i * 7919) % 120960) * interval '1 minute', NULL, ${PAGES}
    FROM generate_series(0, ${SESSIONS - 1}) i`);
  await db.execute(sql`INSERT INTO page_views (tenant_id, id, page_view_id, session_id, page_url, page_path, page_type, started_at)
    SELECT ${t}, gen_random_uuid(), 'pv' || j, s.session_id, 'https://shop.example' || p.path, p.path,
           CASE WHEN j % ${PAGES} = 0 THEN 'home' WHEN j % 3 = 0 THEN 'category' ELSE 'product' END, s.started_at + (j % ${PAGES}) * interval '40 seconds'
    FROM generate_series(0, ${SESSIONS * PAGES - 1}) j
    JOIN tracking_sessions s ON s.tenant_id = ${t} AND s.session_id = 's' || (j / ${PAGES})
    CROSS JOIN LATERAL (SELECT CASE WHEN j % ${PAGES} = 0 THEN '/' ELSE '/p/' || ((j * 31) % 97) END AS path) p`);
  await db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, user_id, stage, reached_at)
    SELECT ${t}, gen_random_uuid(), s.session_id || ':' || k, s.session_id, s.user_id,
           (ARRAY['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'])[k], s.started_at + k * interval '90 seconds'
    FROM tracking_sessions s CROSS JOIN generate_series(1, 5) k
    WHERE s.tenant_id = ${t} AND abs(hashtext(s.session_id || k)) % 100 < (ARRAY[90, 70, 50, 40, 30])[k]`);
  await db.execute(sql`INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, user_id, event_type, product_id, occurred_at)
    SELECT ${t}, gen_random_uuid(), s.session_id || ':c' || k, s.session_id, s.user_id,
           CASE WHEN k = 3 THEN 'item_removed' ELSE 'item_added' END, 'P' || (abs(hashtext(s.session_id || k)) % 500), s.started_at + k * interval '100 seconds'
    FROM tracking_sessions s CROSS JOIN generate_series(1, 3) k WHERE s.tenant_id = ${t}`);
  if (target === 'postgres') await db.execute(sql`ANALYZE tracking_sessions, page_views, funnel_events, cart_events`);
  else await db.execute(sql`ANALYZE`);
  const n = await queryOne<{ n: number }>(
    db,
    sql`SELECT ((SELECT count(*) FROM tracking_sessions WHERE tenant_id = ${t}) + (SELECT count(*) FROM page_views WHERE tenant_id = ${t})
             + (SELECT count(*) FROM funnel_events WHERE tenant_id = ${t}) + (SELECT count(*) FROM cart_events WHERE tenant_id = ${t}))::int AS n`,
  );
  return n?.n ?? 0;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
/** Latency percentiles (ms) and the 1-minute load average when they were taken (> 3: a loaded figure). */
interface Timing {
  p50: number;
  p95: number;
  load: number;
}
/** Times several variants in rounds (a, b, a, b, ...) after one warm-up round, so load hits them alike. */
async function timeAlternating(fns: (() => Promise<unknown>)[]): Promise<Timing[]> {
  for (const fn of fns) await fn();
  const ms: number[][] = fns.map(() => []);
  for (let i = 0; i < RUNS; i++)
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      ms[k]!.push(performance.now() - t0);
    }
  const load = loadavg()[0]!;
  return ms.map((m) => ({ p50: pct(m, 50), p95: pct(m, 95), load }));
}
async function time(fn: () => Promise<unknown>): Promise<Timing> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { p50: pct(ms, 50), p95: pct(ms, 95), load: loadavg()[0]! };
}

const source = createAnalyticsSourceRepository();
const behaviour = createAnalyticsBehaviourRepository();
const rollups = createFunnelRollupsService({
  db,
  reader: db,
  repo: createFunnelRollupsRepository(createFunnelRollupSources()),
  clock: () => new Date(),
});
const cleanup = async () => {
  for (const table of [
    'cart_events',
    'funnel_events',
    'page_views',
    'tracking_sessions',
    'analytics_funnel_sessions',
    'analytics_funnel_days',
    'analytics_funnel_rollups',
  ])
    await db.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`);
};
try {
  const t0 = performance.now();
  const events = await load();
  console.log(
    `${target}: loaded ${events.toLocaleString('en-US')} events over ${SESSIONS.toLocaleString('en-US')} sessions in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const scanFunnel = () =>
    queryOne(
      db,
      sql`SELECT count(*) FROM funnel_events WHERE tenant_id = ${tenantId} AND reached_at >= ${w.from.toISOString()} AND reached_at < ${w.to.toISOString()}`,
    );
  const scanPages = () =>
    queryOne(
      db,
      sql`SELECT count(*) FROM page_views WHERE tenant_id = ${tenantId} AND started_at >= ${w.from.toISOString()} AND started_at < ${w.to.toISOString()}`,
    );
  const steps = ['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'];
  const rows: [string, Timing, Timing | null, number | null][] = [];
  const baseF = await time(scanFunnel);
  const baseP = await time(scanPages);
  rows.push(['baseline: count(*) of funnel_events in the window', baseF, null, null]);
  rows.push(['baseline: count(*) of page_views in the window', baseP, null, null]);
  // A funnel as the service runs it: events' occurrences of the steps, sequenced per entity by analytics' core.
  const funnel = async (by: 'session' | 'user', spec: Omit<FunnelSpec, 'steps'>, breakdown?: 'device') =>
    computeFunnel(
      await behaviour.funnelOccurrences(
        db,
        tenantId,
        w,
        {},
        {
          names: [...new Set([...steps, ...spec.exclude])],
          allOfKindsOf: spec.order === 'strict' ? steps : [],
          by,
          breakdown,
        },
      ),
      { steps, ...spec },
    );
  const ordered = { order: 'ordered', exclude: [], attribution: 'first_touch' } as const;
  // Sessions in order run as events' one-statement SQL; the other modes and people through the core.
  rows.push([
    'funnel, 5 steps, breakdown by device',
    await time(() => source.funnel(db, tenantId, w, {}, { steps, by: 'session', breakdown: { dimension: 'device', limit: 10 } })),
    baseF,
    1000,
  ]);
  // The same report from the per-session funnel rollup plus the raw tail (what GET /funnel runs now), alternated
  // with the raw statement above in one loop; then with a tail of new sessions not yet rolled up, and the refresh.
  const byDevice = { dimension: 'device', limit: 10 } as const;
  const rawSplit = () => source.funnel(db, tenantId, w, {}, { steps, by: 'session', breakdown: byDevice });
  const t1 = performance.now();
  await rollups.refresh(tenantId, steps);
  const buildMs = performance.now() - t1;
  // Main's read (per-session rows + raw tail) beside the day rows' read (whole days from the per-day pre-aggregate,
  // the edges per session, the raw tail), alternated in one loop with the raw statement.
  const perSessionSplit = async () => (await rollups.refresh(tenantId, steps)) && rollups.readPerSession(tenantId, steps, w, {}, byDevice);
  const rolledSplit = async () => (await rollups.refresh(tenantId, steps)) && rollups.read(tenantId, steps, w, {}, byDevice);
  const [rawAgain, perSession, rolled] = await timeAlternating([rawSplit, perSessionSplit, rolledSplit]);
  rows.push(['funnel, breakdown: raw (alternated with the next two)', rawAgain!, baseF, 1000]);
  rows.push(['funnel, breakdown: per-session rollup + tail (main)', perSession!, baseF, 1000]);
  rows.push(['funnel, breakdown: day rows + edges + tail (refresh check + read)', rolled!, baseF, 1000]);
  // A tail: 1 % more sessions' stage events written after the refresh, read before the next refresh.
  const TAIL = Math.max(1, Math.floor(SESSIONS / 100));
  await db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
    SELECT ${tenantId}, gen_random_uuid(), 't' || i || ':' || k, 't' || i,
           (ARRAY['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'])[k], ${new Date(now.getTime() - DAY).toISOString()}::timestamptz + k * interval '90 seconds'
    FROM generate_series(0, ${TAIL - 1}) i CROSS JOIN generate_series(1, 5) k WHERE abs(hashtext('t' || i || k)) % 100 < (ARRAY[90, 70, 50, 40, 30])[k]`);
  const [perSessionTail, withTail] = await timeAlternating([
    () => rollups.readPerSession(tenantId, steps, w, {}, byDevice),
    () => rollups.read(tenantId, steps, w, {}, byDevice),
  ]);
  rows.push([`funnel, breakdown: per-session + unrolled tail of ${TAIL} (main)`, perSessionTail!, baseF, 1000]);
  rows.push([`funnel, breakdown: day rows + unrolled tail of ${TAIL} sessions`, withTail!, baseF, 1000]);
  const t2 = performance.now();
  const inc = await rollups.refresh(tenantId, steps);
  const incMs = performance.now() - t2;
  console.log(
    `funnel rollup: first build ${buildMs.toFixed(0)} ms; incremental refresh of ${inc?.sessions ?? 0} sessions ${incMs.toFixed(0)} ms`,
  );
  rows.push(['funnel, 5 steps, by person, 1 h window', await time(() => funnel('user', { ...ordered, windowUs: 3600e6 })), baseF, 1000]);
  rows.push([
    'funnel, strict order, by person, 1 h window',
    await time(() => funnel('user', { ...ordered, order: 'strict', windowUs: 3600e6 })),
    baseF,
    1000,
  ]);
  rows.push([
    'funnel, any order, by person, 1 h window',
    await time(() => funnel('user', { ...ordered, order: 'any', windowUs: 3600e6 })),
    baseF,
    1000,
  ]);
  rows.push([
    'retention, 12 weeks (browse -> browse)',
    await time(() =>
      behaviour.retention(db, tenantId, w, {}, { startEvent: 'browse', returnEvent: 'browse', period: 'week', periods: 12 }),
    ),
    baseF,
    1000,
  ]);
  rows.push([
    'paths, 4 steps next from /',
    await time(async () =>
      pathEdges(await behaviour.pathCounts(db, tenantId, w, {}, { type: 'page', anchor: '/', direction: 'next', depth: 4 }), {
        anchor: '/',
        depth: 4,
        top: 10,
      }),
    ),
    baseP,
    null,
  ]);
  rows.push([
    'realtime (last 5 minutes)',
    await time(() => source.realtime(db, tenantId, new Date(now.getTime() - 300_000), now)),
    null,
    50,
  ]);
  const goalScale = target === 'postgres' ? 1 : 3;
  for (const [name, r, base, goal] of rows) {
    const ratio = base ? ` ${(r.p95 / base.p95).toFixed(1)}x baseline` : '';
    const g =
      goal === null
        ? ''
        : r.p95 <= goal * (goal === 50 ? 1 : goalScale)
          ? ' (goal met)'
          : ` (goal ${goal * (goal === 50 ? 1 : goalScale)} ms MISSED)`;
    console.log(
      `${name.padEnd(66)} p50 ${r.p50.toFixed(0).padStart(6)} ms  p95 ${r.p95.toFixed(0).padStart(6)} ms${ratio}${g}  load ${r.load.toFixed(1)}${r.load > 3 ? ' (loaded)' : ''}`,
    );
  }
} finally {
  // BENCH_KEEP=1 leaves the rows (and prints the tenant) for EXPLAIN on a scratch database.
  if (process.env.BENCH_KEEP === '1') console.log(`kept tenant ${tenantId}`);
  else await cleanup();
  await database.close();
}
