/**
 * bench/analytics: report latency over raw tracking rows at scale, beside the floor of any raw-scan report.
 *
 *   npm run bench:analytics                                  # embedded database (PGlite), 20,000 sessions (~500k events)
 *   BENCH_SESSIONS=200000 npm run bench:analytics            # the issue's scale: ~5 million events
 *   DATABASE_URL=postgres://... npm run bench:analytics      # PostgreSQL (the bench's tenant is deleted at the end)
 *   BENCH_KEEP=1 BENCH_ONLY=load ...                         # load only, keep the rows; prints a BENCH_REUSE value
 *   BENCH_REUSE=<tenant>:<now> BENCH_ONLY=funnel,refresh,retention,realtime ...   # measure again on kept rows
 *   BENCH_BASELINE_ROOT=/tmp/main-checkout ...               # main's code and schema beside this tree's, alternated
 *   BENCH_PGLITE_DIR=/tmp/p5m BENCH_KEEP=1 ...               # PGlite on disk (default: in memory, gone at exit):
 *                                                            # with BENCH_REUSE a later process measures the same rows
 *
 * Parts (BENCH_ONLY, default all): refresh (rollup first builds and refreshes of a new 1 % tail), funnel, byperson,
 * retention, paths, realtime, reports (the report rollups' first build and refresh, then /sessions, /page-views,
 * /top-pages and /cart raw vs hour rollups, unfiltered, with one filter and with a breakdown, over BENCH_DAYS days,
 * default 7,30,84; BENCH_REPORTS=/cart,... picks reports, BENCH_VARIANTS=unfiltered,page_type=product the variants; BENCH_REPORTS_READS=1 on a reused load times the reads only),
 * upkeep (rollup refreshes beside tracking writes at BENCH_UPKEEP_RATE events/s for BENCH_UPKEEP_SECONDS through the
 * API, or BENCH_UPKEEP_WRITER=sql as rows inserted set-based: upkeep.ts).
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
import path from 'node:path';
import { sql } from 'drizzle-orm';
import {
  computeFunnel,
  createFunnelRollupsRepository,
  createFunnelRollupsService,
  createReportRollupsRepository,
  createReportRollupsService,
  type FunnelSpec,
  pathEdges,
} from '../../src/modules/analytics/index.ts';
import {
  createAnalyticsBehaviourRepository,
  createAnalyticsSourceRepository,
  createFunnelRollupSources,
  createReportRollupSources,
} from '../../src/modules/events/index.ts';
import { type Db, migrateDatabase, openDatabase, type Q, queryOne, queryRows } from '../../src/platform/index.ts';
import { runUpkeep } from './upkeep.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGES = 18;
const DAY = 86_400_000;

/** PGlite's data folder: unset, the embedded database lives in memory and its rows die with the process. */
const PGLITE_DIR = process.env.BENCH_PGLITE_DIR;
const database = await openDatabase(
  process.env.DATABASE_URL
    ? { kind: 'postgres', url: process.env.DATABASE_URL }
    : { kind: 'pglite', ...(PGLITE_DIR ? { dataDir: path.resolve(PGLITE_DIR) } : {}) },
);
await migrateDatabase(database);
const db = database.db;
const target = database.kind;
/** `<tenant>:<load time ISO>` of a BENCH_KEEP run: its rows are measured again without a reload (and kept). */
const REUSE = process.env.BENCH_REUSE?.match(/^([0-9a-f-]{36}):(.+)$/);
const KEEP = process.env.BENCH_KEEP === '1' || REUSE !== undefined;
/** Parts to run (default all): load, funnel, refresh, byperson, retention, paths, realtime, reports, upkeep. */
const ONLY = process.env.BENCH_ONLY?.split(',');
const part = (name: string) => !ONLY || ONLY.includes(name);
const tenantId = REUSE?.[1] ?? randomUUID();
// The rows' clock: a reused load's, so the 12 weeks and the last 5 minutes cover the same rows.
const now = REUSE ? new Date(REUSE[2]!) : new Date();
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
    // Each round in turn order, then reversed: neither variant always runs right after the other.
    for (const [k, fn] of i % 2 ? [...fns.entries()].reverse() : [...fns.entries()]) {
      const t0 = performance.now();
      const own = await fn();
      // A variant that times itself (main's schema: only the reads, not the index drop around them) says so.
      ms[k]!.push(typeof own === 'number' ? own : performance.now() - t0);
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
const rollupsOn = (reader: Db) =>
  createFunnelRollupsService({ db, reader, repo: createFunnelRollupsRepository(createFunnelRollupSources()), clock: () => new Date() });
const rollups = rollupsOn(db);
const reportRollups = createReportRollupsService({
  db,
  reader: db,
  repo: createReportRollupsRepository(createReportRollupSources()),
  clock: () => new Date(),
});

/**
 * The baseline: BENCH_BASELINE_ROOT=<a checkout of main> runs that tree's events and analytics code on the same rows,
 * on main's schema (the indexes this tree's migration 0060 adds dropped in a transaction rolled back after each run),
 * alternated with this tree's in one loop.
 */
const BASE = process.env.BENCH_BASELINE_ROOT;
const NEW_INDEXES = ['funnel_events_time_idx', 'cart_events_time_idx'];
type Mods = {
  events: typeof import('../../src/modules/events/index.ts');
  analytics: typeof import('../../src/modules/analytics/index.ts');
};
const base: Mods | null = BASE
  ? {
      events: await import(path.resolve(BASE, 'src/modules/events/index.ts')),
      analytics: await import(path.resolve(BASE, 'src/modules/analytics/index.ts')),
    }
  : null;
class Rollback extends Error {}
/** Runs `fn` on main's schema (this tree's new indexes dropped, then restored by the rollback); returns its own ms. */
async function onMainSchema(fn: (q: Db) => Promise<unknown>): Promise<number> {
  let ms = 0;
  try {
    await db.transaction(async (tx) => {
      for (const ix of NEW_INDEXES) await tx.execute(sql`DROP INDEX IF EXISTS ${sql.identifier(ix)}`);
      const t0 = performance.now();
      await fn(tx as unknown as Db);
      ms = performance.now() - t0;
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  return ms;
}

const cleanup = async () => {
  for (const table of [
    'cart_events',
    'funnel_events',
    'page_views',
    'tracking_sessions',
    'analytics_funnel_sessions',
    'analytics_funnel_days',
    'analytics_funnel_rollups',
    'analytics_report_rollups',
    'analytics_session_marks',
    'analytics_report_hour_totals',
    'analytics_page_hour_totals',
  ])
    await db.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`);
  if (!part('upkeep')) return;
  // The upkeep part wrote through the app: its tenant row, owner, key, interactions and profiles go too.
  const owned = await queryRows<{ name: string }>(
    db,
    sql`SELECT c.relname AS name FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = 'public'::regnamespace`,
  );
  for (const { name } of owned) await db.execute(sql`DELETE FROM ${sql.identifier(name)} WHERE tenant_id = ${tenantId}`);
  await db.execute(sql`DELETE FROM tenants WHERE id = ${tenantId}`);
  await db.execute(sql`DELETE FROM users WHERE email LIKE 'upkeep-%@bench.local'`);
};
const rows: [string, Timing, Timing | null, number | null][] = [];
const log = (line: string) => console.log(`${line}  (load ${loadavg()[0]!.toFixed(1)})`);
try {
  if (!REUSE) {
    const t0 = performance.now();
    const events = await load();
    log(
      `${target}: loaded ${events.toLocaleString('en-US')} events over ${SESSIONS.toLocaleString('en-US')} sessions in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (KEEP) console.log(`BENCH_REUSE=${tenantId}:${now.toISOString()}`);
  }
  // This tree's migration on rows loaded before it (a reused load): the new indexes exist before anything is timed.
  if (target === 'postgres') await db.execute(sql`ANALYZE funnel_events, cart_events`);
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
  const byDevice = { dimension: 'device', limit: 10 } as const;
  const run = Date.now().toString(36); // new session ids and dedupe keys on every run (BENCH_REUSE runs again)
  let tails = 0;
  /** 1 % more sessions' stage events (on the day before the load), written after the last refresh. */
  const addTail = async () => {
    const prefix = `t${run}-${tails++}-`;
    await db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
      SELECT ${tenantId}, gen_random_uuid(), ${prefix} || i || ':' || k, ${prefix} || i,
             (ARRAY['browse', 'view_product', 'add_to_cart', 'view_cart', 'checkout'])[k], ${new Date(now.getTime() - DAY).toISOString()}::timestamptz + k * interval '90 seconds'
      FROM generate_series(0, ${TAIL - 1}) i CROSS JOIN generate_series(1, 5) k WHERE abs(hashtext(${prefix} || i || k)) % 100 < (ARRAY[90, 70, 50, 40, 30])[k]`);
  };
  const TAIL = Math.max(1, Math.floor(SESSIONS / 100));
  const baseF = await time(scanFunnel);
  rows.push(['baseline: count(*) of funnel_events in the window', baseF, null, null]);

  if (part('refresh')) {
    // First builds (watermark reset: the next refresh rebuilds), then refreshes of a fresh 1 % tail each, alternated.
    const impls: [string, ReturnType<typeof rollupsOn>][] = [['this tree', rollups]];
    if (base)
      impls.unshift([
        'main',
        base.analytics.createFunnelRollupsService({
          db,
          reader: db,
          repo: base.analytics.createFunnelRollupsRepository(base.events.createFunnelRollupSources()),
          clock: () => new Date(),
        }) as unknown as ReturnType<typeof rollupsOn>,
      ]);
    const builds = new Map<string, number[]>();
    const refreshes = new Map<string, number[]>();
    let refreshed = 0;
    for (let r = 0; r < Math.max(2, Math.ceil(RUNS / 2)); r++)
      for (const [name, impl] of r % 2 ? [...impls].reverse() : impls) {
        await db.execute(sql`UPDATE analytics_funnel_rollups SET watermark = NULL WHERE tenant_id = ${tenantId}`);
        let t0 = performance.now();
        await impl.refresh(tenantId, steps);
        builds.set(name, [...(builds.get(name) ?? []), performance.now() - t0]);
        await addTail();
        t0 = performance.now();
        refreshed = (await impl.refresh(tenantId, steps))?.sessions ?? 0;
        refreshes.set(name, [...(refreshes.get(name) ?? []), performance.now() - t0]);
      }
    for (const [name] of impls) {
      const b = builds.get(name)!;
      const f = refreshes.get(name)!;
      log(
        `funnel rollup [${name}]: first build ${b.map((x) => x.toFixed(0)).join(', ')} ms; refresh of ${refreshed} sessions ${f.map((x) => x.toFixed(0)).join(', ')} ms`,
      );
    }
  }

  if (part('reports')) {
    // Report rollups (session, page and cart hours): the first build, then refreshes after a tail written in the current
    // hour (the rate they keep up with: raw rows recounted per second), then /sessions' three reads from them and raw.
    // BENCH_REPORTS_READS=1: the reads only, on a reused load's rollup as last refreshed (a first build at 5M events takes minutes).
    const readsOnly = process.env.BENCH_REPORTS_READS === '1' && REUSE !== undefined;
    if (!readsOnly) await db.execute(sql`UPDATE analytics_report_rollups SET watermark = NULL WHERE tenant_id = ${tenantId}`);
    let t0 = performance.now();
    await reportRollups.refresh(tenantId);
    log(`report rollups: ${readsOnly ? 'refresh before the reads' : 'first build'} ${(performance.now() - t0).toFixed(0)} ms`);
    const refreshMs: number[] = [];
    let absorbed = 0;
    let recounted = 0;
    for (let r = 0; r < (readsOnly ? 0 : Math.max(2, RUNS)); r++) {
      const prefix = `rt${run}-${r}-`;
      const n = Math.max(1, Math.floor(SESSIONS / 200));
      const at = new Date(now.getTime() - 30 * 60_000).toISOString();
      // A tail in the last hour: n new sessions with 18 page views and 3 cart events each (what ingest writes meanwhile).
      await db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, device_type, started_at, pages_viewed)
        SELECT ${tenantId}, gen_random_uuid(), ${prefix} || i, 'mobile', ${at}::timestamptz + i * interval '1 second', ${PAGES} FROM generate_series(0, ${n - 1}) i`);
      await db.execute(sql`INSERT INTO page_views (tenant_id, id, page_view_id, session_id, page_url, page_path, page_type, started_at)
        SELECT ${tenantId}, gen_random_uuid(), ${prefix} || 'pv' || j, ${prefix} || (j / ${PAGES}), 'https://shop.example/p/' || (j % 97), '/p/' || (j % 97), 'product',
               ${at}::timestamptz + (j % ${PAGES}) * interval '40 seconds' FROM generate_series(0, ${n * PAGES - 1}) j`);
      await db.execute(sql`INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, event_type, product_id, occurred_at)
        SELECT ${tenantId}, gen_random_uuid(), ${prefix} || 'c' || j, ${prefix} || (j / 3), 'item_added', 'P' || (j % 500), ${at}::timestamptz + j * interval '1 second'
        FROM generate_series(0, ${n * 3 - 1}) j`);
      absorbed = n * (1 + PAGES + 3);
      t0 = performance.now();
      recounted = (await reportRollups.refresh(tenantId)).hours;
      refreshMs.push(performance.now() - t0);
    }
    const p50 = refreshMs.length ? pct(refreshMs, 50) : 0;
    if (refreshMs.length)
      log(
        `report rollups: refresh after a tail of ${absorbed} raw rows (recounting ${recounted} hours) p50 ${p50.toFixed(0)} ms, p95 ${pct(refreshMs, 95).toFixed(0)} ms: ` +
          `${Math.round((absorbed / p50) * 1000).toLocaleString('en-US')} new raw rows/s absorbed (an hour's rows recounted each time)`,
      );
    // The four reports as the service reads them (total + day series, and the breakdown when asked), from the hour rows
    // and from the raw rows, alternated in one loop, over 7 days, 30 days and 12 weeks ending at the load's clock (its
    // partial first and last hours read raw, as a request's).
    type Filters = Parameters<typeof source.sessionMeasures>[3];
    type Read = (ww: typeof w, f: Filters, breakdown: boolean, pageType: string | null) => Promise<unknown>;
    const dim = { kind: 'dimension', dimension: 'utm_source', limit: 10 } as const;
    const series = { kind: 'time', granularity: 'day' } as const;
    const total = { kind: 'total' } as const;
    // BENCH_BASELINE_ROOT: main's hour-rollup reads (its repository over the same hour rows) in the same loop.
    const mainRollups = base
      ? base.analytics.createReportRollupsService({
          db,
          reader: db,
          repo: base.analytics.createReportRollupsRepository(base.events.createReportRollupSources()),
          clock: () => new Date(),
        })
      : null;
    const reports: [string, Read, Read][] = [
      [
        '/sessions',
        (ww, f, b) =>
          Promise.all([
            reportRollups.sessionMeasures(tenantId, ww, f, total),
            reportRollups.sessionMeasures(tenantId, ww, f, series),
            b ? reportRollups.sessionMeasures(tenantId, ww, f, dim) : null,
          ]),
        (ww, f, b) =>
          Promise.all([
            source.sessionMeasures(db, tenantId, ww, f, total),
            source.sessionMeasures(db, tenantId, ww, f, series),
            b ? source.sessionMeasures(db, tenantId, ww, f, dim) : null,
          ]),
      ],
      [
        '/page-views',
        (ww, f, b, pt) =>
          Promise.all([
            reportRollups.pageMeasures(tenantId, ww, f, pt, total),
            reportRollups.pageMeasures(tenantId, ww, f, pt, series),
            b ? reportRollups.pageMeasures(tenantId, ww, f, pt, dim) : null,
          ]),
        (ww, f, b, pt) =>
          Promise.all([
            source.pageMeasures(db, tenantId, ww, f, pt, total),
            source.pageMeasures(db, tenantId, ww, f, pt, series),
            b ? source.pageMeasures(db, tenantId, ww, f, pt, dim) : null,
          ]),
      ],
      [
        '/top-pages',
        (ww, f, _b, pt) => reportRollups.pageMeasures(tenantId, ww, f, pt, { kind: 'page', limit: 10 }),
        (ww, f, _b, pt) => source.pageMeasures(db, tenantId, ww, f, pt, { kind: 'page', limit: 10 }),
      ],
      [
        '/cart',
        (ww, f, b) =>
          Promise.all([
            reportRollups.cartMeasures(tenantId, ww, f, total),
            reportRollups.cartMeasures(tenantId, ww, f, series),
            b ? reportRollups.cartMeasures(tenantId, ww, f, dim) : null,
          ]),
        (ww, f, b) =>
          Promise.all([
            source.cartMeasures(db, tenantId, ww, f, total),
            source.cartMeasures(db, tenantId, ww, f, series),
            b ? source.cartMeasures(db, tenantId, ww, f, dim) : null,
          ]),
      ],
    ];
    /** The same reads through main's rollup service. */
    const mainRead = (name: string, m: typeof reportRollups, ww: typeof w, f: Filters, b: boolean) => {
      const grouped = <T>(one: (g: typeof total | typeof series | typeof dim) => Promise<T>) =>
        Promise.all([one(total), one(series), b ? one(dim) : null]);
      if (name === '/sessions') return grouped((g) => m.sessionMeasures(tenantId, ww, f, g));
      if (name === '/page-views') return grouped((g) => m.pageMeasures(tenantId, ww, f, null, g));
      if (name === '/cart') return grouped((g) => m.cartMeasures(tenantId, ww, f, g));
      return m.pageMeasures(tenantId, ww, f, null, { kind: 'page', limit: 10 });
    };
    // Filtered and broken-down reads are raw in the service (shapeMisfit); their "hour rollups" line is the
    // repository reading the window's raw rows through events' pieces. A page type reads the rows per hour and page.
    const variants: [string, Filters, boolean, string | null][] = [
      ['unfiltered', {}, false, null],
      ['page_type=product', {}, false, 'product'],
      ['device=mobile', { device: 'mobile' }, false, null],
      ['by utm_source', {}, true, null],
    ];
    /** BENCH_VARIANTS=unfiltered,page_type=product: only those variants (default all). */
    const pickedVariants = process.env.BENCH_VARIANTS?.split(',');
    const windows = (process.env.BENCH_DAYS ?? '7,30,84').split(',').map(Number);
    const only = process.env.BENCH_REPORTS?.split(',');
    for (const days of windows)
      for (const [name, rolled, raw] of reports) {
        if (only && !only.includes(name)) continue;
        for (const [label, f, b, pt] of variants) {
          if (pickedVariants && !pickedVariants.includes(label)) continue;
          if ((name === '/top-pages' && b) || (pt !== null && name !== '/top-pages' && name !== '/page-views')) continue;
          const ww = { from: new Date(now.getTime() - days * DAY), to: now, tz: 'UTC' };
          const fns = [() => rolled(ww, f, b, pt), () => raw(ww, f, b, pt)];
          // Main's reads differ from this tree's only where no filter nor breakdown applies (the rows without attributes).
          if (mainRollups && label === 'unfiltered' && name !== '/top-pages') fns.push(() => mainRead(name, mainRollups, ww, f, b));
          const [fromRollup, fromRaw, fromMain] = await timeAlternating(fns);
          const shown = (what: string, r: Timing) =>
            log(
              `${`${name} ${days} d, ${label}: ${what}`.padEnd(58)} p50 ${r.p50.toFixed(0).padStart(6)} ms  p95 ${r.p95.toFixed(0).padStart(6)} ms`,
            );
          shown('hour rollups', fromRollup!);
          shown('raw rows', fromRaw!);
          if (fromMain) shown("main's hour rollups", fromMain);
          rows.push([`${name} ${days} d, ${label}: hour rollups`, fromRollup!, fromRaw!, null]);
          rows.push([`${name} ${days} d, ${label}: raw rows (alternated)`, fromRaw!, null, null]);
          if (fromMain) rows.push([`${name} ${days} d, ${label}: main's hour rollups`, fromMain, fromRaw!, null]);
        }
      }
  }

  if (part('funnel')) {
    // GET /funnel's path: a refresh check, then the day rows + edges + raw tail (rolled up first), beside the raw statement.
    await rollups.refresh(tenantId, steps);
    const rawSplit = () => source.funnel(db, tenantId, w, {}, { steps, by: 'session', breakdown: byDevice });
    const rolledSplit = async () => (await rollups.refresh(tenantId, steps)) && rollups.read(tenantId, steps, w, {}, byDevice);
    const variants: (() => Promise<unknown>)[] = [rawSplit, rolledSplit];
    if (base) {
      const repo = base.analytics.createFunnelRollupsRepository(base.events.createFunnelRollupSources());
      variants.push(() =>
        onMainSchema(async (q) => {
          const svc = base.analytics.createFunnelRollupsService({ db: q, reader: q, repo, clock: () => new Date() });
          return (await svc.refresh(tenantId, steps)) && svc.read(tenantId, steps, w, {}, byDevice);
        }),
      );
    }
    const [rawT, rolledT, mainT] = await timeAlternating(variants);
    rows.push(['funnel, 5 steps, breakdown by device: raw statement', rawT!, baseF, 1000]);
    rows.push(['funnel, 5 steps, breakdown: refresh check + day rows read', rolledT!, baseF, 1000]);
    if (mainT) rows.push(['  the same on main (alternated)', mainT, baseF, 1000]);
    // A tail not yet rolled up, read before the next refresh.
    await addTail();
    const [withTail] = await timeAlternating([() => rollups.read(tenantId, steps, w, {}, byDevice)]);
    rows.push([`funnel, breakdown: day rows + unrolled tail of ${TAIL} sessions`, withTail!, baseF, 1000]);
  }

  if (part('byperson')) {
    // A funnel as the service runs it: events' occurrences of the steps, sequenced per entity by analytics' core.
    const funnel = async (by: 'session' | 'user', spec: Omit<FunnelSpec, 'steps'>, breakdown?: 'device') =>
      computeFunnel(
        await behaviour.funnelOccurrences(
          db,
          tenantId,
          w,
          {},
          { names: [...new Set([...steps, ...spec.exclude])], allOfKindsOf: spec.order === 'strict' ? steps : [], by, breakdown },
        ),
        { steps, ...spec },
      );
    const ordered = { order: 'ordered', exclude: [], attribution: 'first_touch' } as const;
    rows.push(['funnel, 5 steps, by person, 1 h window', await time(() => funnel('user', { ...ordered, windowUs: 3600e6 })), baseF, 1000]);
    rows.push([
      'funnel, strict, by person, 1 h window',
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
  }

  if (part('retention')) {
    const spec = { startEvent: 'browse', returnEvent: 'browse', period: 'week', periods: 12 } as const;
    const variants: (() => Promise<unknown>)[] = [() => behaviour.retention(db, tenantId, w, {}, spec)];
    if (base) {
      const mainBehaviour = base.events.createAnalyticsBehaviourRepository();
      variants.push(() => onMainSchema((q) => mainBehaviour.retention(q, tenantId, w, {}, spec)));
    }
    const [mine, mainT] = await timeAlternating(variants);
    rows.push(['retention, 12 weeks (browse -> browse)', mine!, baseF, 1000]);
    if (mainT) rows.push(['  the same on main (alternated)', mainT, baseF, 1000]);
  }

  if (part('paths')) {
    const baseP = await time(scanPages);
    rows.push(['baseline: count(*) of page_views in the window', baseP, null, null]);
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
  }

  if (part('realtime')) {
    // What GET /realtime runs: the activity counts and the top pages of the last 5 minutes, side by side.
    const since = new Date(now.getTime() - 300_000);
    const until = new Date(now.getTime() + 1);
    const realtimeOn = (src: typeof source, q: Q) =>
      Promise.all([src.realtime(q, tenantId, since, until), src.realtimePages(q, tenantId, since, until, 10)]);
    const variants: (() => Promise<unknown>)[] = [() => realtimeOn(source, db)];
    if (base) {
      const mainSource = base.events.createAnalyticsSourceRepository() as unknown as typeof source;
      variants.push(() => onMainSchema((q) => realtimeOn(mainSource, q)));
    }
    const [mine, mainT] = await timeAlternating(variants);
    rows.push(['realtime (last 5 minutes: counts + top pages)', mine!, null, 50]);
    if (mainT) rows.push(['  the same on main (alternated)', mainT, null, 50]);
  }

  if (part('upkeep')) {
    // Rollup upkeep beside live writes (upkeep.ts): BENCH_UPKEEP_RATE should be bench:ingest's measured events/s.
    await runUpkeep({
      database,
      tenantId,
      rate: Number(process.env.BENCH_UPKEEP_RATE ?? 500),
      seconds: Number(process.env.BENCH_UPKEEP_SECONDS ?? 60),
      connections: Number(process.env.BENCH_UPKEEP_CONNECTIONS ?? 16),
      intervalMs: Number(process.env.BENCH_UPKEEP_INTERVAL_MS ?? 1000),
      writer: process.env.BENCH_UPKEEP_WRITER === 'sql' ? 'sql' : 'api',
      steps,
      refresh: async () => {
        const t0 = performance.now();
        const sessions = (await rollups.refresh(tenantId, steps))?.sessions ?? 0;
        const t1 = performance.now();
        const hours = (await reportRollups.refresh(tenantId)).hours;
        return { sessions, hours, funnelMs: t1 - t0, reportMs: performance.now() - t1 };
      },
    });
    // The round that closes the open hour: the report rollups count an hour only once it has ended, so once an hour
    // one refresh recounts that hour whole. A service whose clock is an hour ahead closes the hour the writes above
    // landed in now; its time over the hour's tracking rows gives the cost per event, and so the hourly round at the
    // offered rate.
    const ahead = createReportRollupsService({
      db,
      reader: db,
      repo: createReportRollupsRepository(createReportRollupSources()),
      clock: () => new Date(Date.now() + 3_600_000),
    });
    const hourStart = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const inHour = await queryOne<{ n: number }>(
      db,
      sql`SELECT ((SELECT count(*) FROM page_views WHERE tenant_id = ${tenantId} AND started_at >= ${hourStart})
                + (SELECT count(*) FROM funnel_events WHERE tenant_id = ${tenantId} AND reached_at >= ${hourStart})
                + (SELECT count(*) FROM cart_events WHERE tenant_id = ${tenantId} AND occurred_at >= ${hourStart}))::int AS n`,
    );
    const t0 = performance.now();
    const closed = await ahead.refresh(tenantId);
    const ms = performance.now() - t0;
    const events = inHour?.n ?? 0;
    const rate = Number(process.env.BENCH_UPKEEP_RATE ?? 500);
    console.log(
      `hour-closing round: ${closed.hours} hours recounted over ${events.toLocaleString('en-US')} tracking rows of the open hour in ${(ms / 1000).toFixed(1)} s` +
        (events > 0
          ? `; a full hour at ${rate} events/s (${(rate * 3600).toLocaleString('en-US')} rows) ~${((ms / events) * rate * 3.6).toFixed(0)} s once an hour`
          : '') +
        `  (load ${loadavg()[0]!.toFixed(1)})`,
    );
  }

  const goalScale = target === 'postgres' ? 1 : 3;
  for (const [name, r, baseT, goal] of rows) {
    const ratio = baseT ? ` ${(r.p95 / baseT.p95).toFixed(2)}x ${name.includes('rollups') ? 'raw' : 'baseline'}` : '';
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
  // BENCH_KEEP=1 (or BENCH_REUSE) leaves the rows for EXPLAIN and later runs on a scratch database.
  if (!KEEP) await cleanup();
  await database.close();
}
