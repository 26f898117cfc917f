/**
 * bench/analytics, part `upkeep`: do the rollups keep up with live tracking traffic? Writes new sessions' tracking
 * events through the API's write door (an in-process Loupe app on the bench's database, `app.inject`: the routes,
 * auth, validation and tracking service a browser's calls go through) at a fixed offered rate, open loop, while one
 * loop refreshes the funnel rollup and the report rollups, a round at most every BENCH_UPKEEP_INTERVAL_MS (1,000), as
 * a dashboard's report reads would. Every second it samples
 * the lag: events acknowledged but not yet in the rollups (those acknowledged after the start of the last finished
 * refresh: a refresh sees every event acknowledged before it began) and that refresh's age. After the writers stop,
 * the catch-up is the time until a refresh begun after the last acknowledgment has finished.
 *
 * Each new session writes what the load's sessions hold: a session start, 18 page views, its funnel stages (browse
 * 90 %, then 70/50/40/30 %) and 3 cart events (adds and a removal with a user id: also interactions, through
 * identity resolution), about 25 events a session.
 */
import fs from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { buildApp } from '../../src/app.ts';
import { arrayParam, type Database, loadConfig } from '../../src/platform/index.ts';

export interface UpkeepOptions {
  database: Database;
  tenantId: string;
  /** Offered events/s (bench:ingest's measured rate is the goal's). */
  rate: number;
  seconds: number;
  /**
   * `api`: every event a tracking call through the app (the write door); `sql`: the same events' rows inserted
   * set-based every 100 ms (the rate the rollups must absorb, when the door cannot take it on this machine).
   */
  writer: 'api' | 'sql';
  /** Requests in flight at most (due requests past it wait, and their wait counts as lag). */
  connections: number;
  steps: readonly string[];
  /** Least time from one refresh round's start to the next's (a round that takes longer is followed at once). */
  intervalMs: number;
  /** One refresh round: the funnel rollup's, then the report rollups'; returns what each recomputed. */
  refresh: () => Promise<{ sessions: number; hours: number; funnelMs: number; reportMs: number }>;
}

interface Sample {
  t: number;
  acked: number;
  lag: number;
  age: number;
}

const STAGE_SHARE = [90, 70, 50, 40, 30];

/** The calls of one new session `s`, in the order a browser makes them. */
function sessionCalls(s: string, user: string, steps: readonly string[]): { url: string; body: object }[] {
  const calls: { url: string; body: object }[] = [
    { url: '/api/v1/analytics/session/start', body: { session_id: s, user_id: user, device_type: 'mobile', browser: 'Chrome' } },
  ];
  for (let j = 0; j < 18; j++)
    calls.push({
      url: '/api/v1/analytics/page-view',
      body: { session_id: s, page_url: `https://shop.example${j === 0 ? '/' : `/p/${(j * 31) % 97}`}`, page_type: j ? 'product' : 'home' },
    });
  // A stage's share is the load's: a session reaches stage k with probability STAGE_SHARE[k] % (hashed, reproducible).
  const h = [...s].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  steps.forEach((stage, k) => {
    if ((h >>> k) % 100 < STAGE_SHARE[k]!) calls.push({ url: '/api/v1/analytics/funnel', body: { session_id: s, stage } });
  });
  for (let k = 1; k <= 3; k++)
    calls.push({
      url: '/api/v1/analytics/cart-event',
      body: { session_id: s, user_id: user, type: k === 3 ? 'item_removed' : 'item_added', product_id: `P${(h + k) % 500}` },
    });
  return calls;
}

/** The calls' rows written straight into the tracking tables (the load's SQL, times now), in one transaction. */
async function writeRows(database: Database, tenantId: string, calls: { url: string; body: Record<string, string> }[]): Promise<void> {
  const of = (kind: string) => calls.filter((c) => c.url.endsWith(kind)).map((c) => c.body);
  const col = (rows: Record<string, string>[], k: string) => arrayParam(rows.map((r) => r[k] ?? null));
  const now = new Date().toISOString();
  const starts = of('/session/start');
  const pages = of('/page-view');
  const stages = of('/funnel');
  const carts = of('/cart-event');
  await database.db.transaction(async (tx) => {
    if (starts.length)
      await tx.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, user_id, device_type, browser, started_at, pages_viewed)
        SELECT ${tenantId}, gen_random_uuid(), t.s, t.u, 'mobile', 'Chrome', ${now}, 18 FROM unnest(${col(starts, 'session_id')}::text[], ${col(starts, 'user_id')}::text[]) t(s, u)
        ON CONFLICT DO NOTHING`);
    if (pages.length)
      await tx.execute(sql`INSERT INTO page_views (tenant_id, id, page_view_id, session_id, page_url, page_path, page_type, started_at)
        SELECT ${tenantId}, gen_random_uuid(), gen_random_uuid()::text, t.s, t.url, substr(t.url, 21), t.ty, ${now}
        FROM unnest(${col(pages, 'session_id')}::text[], ${col(pages, 'page_url')}::text[], ${col(pages, 'page_type')}::text[]) t(s, url, ty)`);
    if (stages.length)
      await tx.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
        SELECT ${tenantId}, gen_random_uuid(), t.s || ':' || t.st, t.s, t.st, ${now}
        FROM unnest(${col(stages, 'session_id')}::text[], ${col(stages, 'stage')}::text[]) t(s, st) ON CONFLICT DO NOTHING`);
    if (carts.length)
      await tx.execute(sql`INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, user_id, event_type, product_id, occurred_at)
        SELECT ${tenantId}, gen_random_uuid(), gen_random_uuid()::text, t.s, t.u, t.ty, t.p, ${now}
        FROM unnest(${col(carts, 'session_id')}::text[], ${col(carts, 'user_id')}::text[], ${col(carts, 'type')}::text[], ${col(carts, 'product_id')}::text[]) t(s, u, ty, p)`);
  });
}

/** Runs the part and prints its table; returns whether the rollups kept up. */
export async function runUpkeep(o: UpkeepOptions): Promise<boolean> {
  const dataDir = await fs.mkdtemp(path.join(tmpdir(), 'loupe-bench-upkeep-'));
  const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
  const config = loadConfig({
    LOUPE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  });
  const loupe = await buildApp(config, { database: o.database });
  const run = Date.now().toString(36);
  try {
    // The loaded rows' tenant has no tenants row (the load writes raw rows): give it one, an owner and an ingest key.
    await o.database.db.execute(sql`INSERT INTO tenants (id, name, slug) VALUES (${o.tenantId}, 'Bench analytics', ${`bench-${o.tenantId}`})
      ON CONFLICT DO NOTHING`);
    await loupe.tenancy.ensurePlatformAdmin(admin.email, admin.password);
    const call = async (method: 'GET' | 'POST', url: string, body?: object, token?: string) => {
      const r = await loupe.app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body ? { payload: body } : {}),
      });
      if (r.statusCode >= 400) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
      return JSON.parse(r.body || '{}') as Record<string, any>;
    };
    const adminToken = (await call('POST', '/api/v1/auth/login', admin)).access_token as string;
    const owner = { email: `upkeep-${run}@bench.local`, password: 'Owner-Password-1' };
    await call('POST', '/api/v1/admin/users', { ...owner, tenant_id: o.tenantId, role: 'owner' }, adminToken);
    const ownerToken = (await call('POST', '/api/v1/auth/login', owner)).access_token as string;
    const key = (await call('POST', '/api/v1/api-keys', { name: `upkeep-${run}`, scopes: ['interactions:write'] }, ownerToken))
      .api_key as string;

    // The rollups are current before the writers start.
    await o.refresh();

    let sessions = 0;
    let queue: { url: string; body: object }[] = [];
    const next = () => {
      if (!queue.length) {
        const s = `u${run}-${sessions++}`;
        queue = sessionCalls(s, `uu${run}-${sessions % 5000}`, o.steps);
      }
      return queue.shift()!;
    };
    let acked = 0;
    let failed = 0;
    let inFlight = 0;
    let issued = 0;
    let writing = true;
    const start = performance.now();
    const total = Math.round(o.rate * o.seconds);
    const latencies: number[] = [];
    // The writers: request k is due at start + k / rate; at most `connections` in flight, the rest wait their turn.
    const writers = new Promise<void>((resolve) => {
      if (o.writer === 'sql') {
        // The rows alone, set-based, one transaction per 100 ms tick: what the rollups must absorb, whatever the door costs.
        const tick = async () => {
          const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate));
          const batch: { url: string; body: Record<string, string> }[] = [];
          while (issued < due) {
            batch.push(next() as { url: string; body: Record<string, string> });
            issued++;
          }
          const t0 = performance.now();
          if (batch.length) await writeRows(o.database, o.tenantId, batch);
          acked += batch.length;
          latencies.push(performance.now() - t0);
          if (issued < total) setTimeout(tick, 100);
          else {
            writing = false;
            resolve();
          }
        };
        void tick();
        return;
      }
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.rate));
        while (issued < due && inFlight < o.connections) {
          const c = next();
          const dueAt = start + (issued / o.rate) * 1000;
          issued++;
          inFlight++;
          call('POST', c.url, c.body, key)
            .then(
              () => {
                acked++;
                latencies.push(performance.now() - dueAt);
              },
              (err: unknown) => {
                if (failed++ === 0) console.error(`upkeep: first failed write: ${String(err)}`);
              },
            )
            .finally(() => {
              inFlight--;
              if (issued === total && inFlight === 0) {
                writing = false;
                resolve();
              }
            });
        }
        if (issued < total) setTimeout(tick, 5);
      };
      tick();
    });

    // The refresher: back-to-back rounds while writing, then until a round begun after the last ack has finished.
    let covered = 0;
    let coveredAt = start;
    const rounds: { at: number; ms: number; sessions: number; hours: number; funnelMs: number; reportMs: number }[] = [];
    let writersEnd = Number.NaN;
    let caughtUp = Number.NaN;
    const refresher = (async () => {
      for (;;) {
        const t0 = performance.now();
        const before = acked;
        const done = !writing;
        const r = await o.refresh();
        rounds.push({ at: t0 - start, ms: performance.now() - t0, ...r });
        covered = before;
        coveredAt = t0;
        if (done) {
          caughtUp = performance.now();
          return;
        }
        // Rounds start at most every `intervalMs` (a dashboard polling its reports), and always after a macrotask turn:
        // PGlite's answers resolve as microtasks, so back-to-back empty rounds would starve the writers' timers.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, o.intervalMs - (performance.now() - t0))));
      }
    })();
    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      const now = performance.now();
      samples.push({ t: (now - start) / 1000, acked, lag: acked - covered, age: (now - coveredAt) / 1000 });
    }, 1000);
    await writers;
    writersEnd = performance.now();
    await refresher;
    clearInterval(sampler);

    // The table: per tenth of the writing time, events written/s, the worst lag and refresh age, and the rounds.
    const writeSeconds = (writersEnd - start) / 1000;
    const slices = 10;
    const width = writeSeconds / slices;
    console.log(
      `\nupkeep (${o.database.kind}, ${o.writer === 'api' ? 'tracking API' : 'rows inserted by SQL'}): offered ${o.rate} events/s for ${o.seconds} s (${total.toLocaleString('en-US')} tracking calls, ${sessions} new sessions), at most ${o.connections} in flight; a refresh round at most every ${o.intervalMs} ms`,
    );
    console.log(
      `${'seconds'.padEnd(12)} ${'written/s'.padStart(10)} ${'max lag (events)'.padStart(17)} ${'max age (s)'.padStart(12)} ${'refreshes'.padStart(10)} ${'mean ms'.padStart(8)} ${'sessions/hours'.padStart(15)}`,
    );
    let prevAcked = 0;
    const maxLag: number[] = [];
    for (let i = 0; i < slices; i++) {
      const lo = i * width;
      const hi = (i + 1) * width;
      const inSlice = samples.filter((s) => s.t > lo && s.t <= hi);
      const lastAcked = inSlice.at(-1)?.acked ?? prevAcked;
      const rs = rounds.filter((r) => r.at / 1000 >= lo && r.at / 1000 < hi);
      const lag = Math.max(0, ...inSlice.map((s) => s.lag));
      maxLag.push(lag);
      const age = Math.max(0, ...inSlice.map((s) => s.age));
      const meanMs = rs.length ? rs.reduce((a, r) => a + r.ms, 0) / rs.length : 0;
      const recomputed = `${rs.reduce((a, r) => a + r.sessions, 0)}/${rs.reduce((a, r) => a + r.hours, 0)}`;
      const cells = [
        `${lo.toFixed(0)}-${hi.toFixed(0)}`.padEnd(12),
        ((lastAcked - prevAcked) / width).toFixed(0).padStart(10),
        String(lag).padStart(17),
        age.toFixed(1).padStart(12),
        String(rs.length).padStart(10),
        meanMs.toFixed(0).padStart(8),
        recomputed.padStart(15),
      ];
      console.log(cells.join(' '));
      prevAcked = lastAcked;
    }
    const written = acked / writeSeconds;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
    const catchUp = (caughtUp - writersEnd) / 1000;
    // Kept up: the offered rate was written (the writers were not the bottleneck) and the lag did not grow from the
    // first half of the run to the second (a refresher falling behind shows as a lag that climbs slice after slice).
    const firstHalf = Math.max(...maxLag.slice(1, slices / 2));
    const secondHalf = Math.max(...maxLag.slice(slices / 2));
    const rateMet = written >= o.rate * 0.95;
    const bounded = secondHalf <= firstHalf * 1.5 + o.rate;
    console.log(
      `written ${written.toFixed(0)} events/s of ${o.rate} offered (${failed} failed; ${o.writer === 'api' ? 'ack p99 from due time' : 'insert p99'} ${p99.toFixed(0)} ms); ` +
        `${rounds.length} refresh rounds, catch-up after the last write ${catchUp.toFixed(1)} s; worst lag first half ${firstHalf}, second half ${secondHalf} events` +
        `  (load ${loadavg()[0]!.toFixed(1)})`,
    );
    // The refresher's duty: near 100 % it has no headroom (a round's cost is not proportional to what it absorbs:
    // the report rollups recount whole hours, so compare the parts' seconds, not events per second of refresh).
    const busy = rounds.reduce((a, r) => a + r.ms, 0) / 1000;
    const funnelBusy = rounds.reduce((a, r) => a + r.funnelMs, 0) / 1000;
    const reportBusy = rounds.reduce((a, r) => a + r.reportMs, 0) / 1000;
    const wall = (caughtUp - start) / 1000;
    console.log(
      `refresh rounds busy ${busy.toFixed(1)} s of ${wall.toFixed(1)} s (${((busy / wall) * 100).toFixed(0)} %): funnel rollup ${funnelBusy.toFixed(1)} s, report rollups ${reportBusy.toFixed(1)} s`,
    );
    const kept = rateMet && bounded;
    console.log(
      `upkeep: ${kept ? 'KEEPS UP' : 'DOES NOT KEEP UP'} (${rateMet ? 'offered rate written' : 'the write path did not take the offered rate'}; ${bounded ? 'lag bounded' : 'lag grows'})`,
    );
    return kept;
  } finally {
    await loupe.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
