/**
 * GET /realtime against the raw rows: a tenant with two days of history (set-based rows, all before the window)
 * and recent activity sent through the tracking API (in the window, just before it, in the future), another tenant
 * with the same session ids; the answer equals a count over the tenant's raw rows in JavaScript, the other tenant
 * sees only its own, and the read touches the window's rows through the time indexes, not the tenant's history.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { MIGRATIONS_DIR } from '../../platform/database.ts';
import { queryRows } from '../../platform/index.ts';
import { createAnalyticsSourceRepository } from '../events/index.ts';

// The service's clock, fixed: the window is [NOW - 5 min, NOW].
const NOW = Math.floor(Date.now() / 1000) * 1000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const HISTORY = 6000;

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;

async function send(token: string, url: string, body: object): Promise<void> {
  const r = await t.request('POST', `/api/v1/analytics/${url}`, { token, body });
  if (r.status >= 300) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Recent activity of one tenant: users on starts and events, an anonymous visitor, a bare session, edges. */
async function sendRecent(token: string, prefix: string): Promise<void> {
  const s = (n: number) => `${prefix}${n}`;
  await send(token, 'session/start', { session_id: s(1), user_id: 'u1', started_at: iso(NOW - 3.5 * MIN) });
  await send(token, 'session/start', { session_id: s(2), user_id: 'u1', started_at: iso(NOW - 4 * MIN) });
  await send(token, 'session/start', { session_id: s(3), anonymous_id: 'anon3', started_at: iso(NOW - 60 * MIN) });
  await send(token, 'page-view', { session_id: s(1), user_id: 'u1', page_url: 'https://shop.example/a', viewed_at: iso(NOW - 3 * MIN) });
  await send(token, 'page-view', { session_id: s(1), user_id: 'u1', page_url: 'https://shop.example/b', viewed_at: iso(NOW - 2 * MIN) });
  await send(token, 'page-view', { session_id: s(2), user_id: 'u1', page_url: 'https://shop.example/a', viewed_at: iso(NOW - 4 * MIN) });
  await send(token, 'page-view', { session_id: s(3), page_url: 'https://shop.example/b', viewed_at: iso(NOW - MIN) });
  await send(token, 'page-view', { session_id: s(3), page_url: 'https://shop.example/a', viewed_at: iso(NOW - 7 * MIN) });
  await send(token, 'funnel', { session_id: s(1), user_id: 'u1', stage: 'browse', reached_at: iso(NOW - 1.5 * MIN) });
  await send(token, 'funnel', { session_id: s(4), stage: 'browse', reached_at: iso(NOW - 0.5 * MIN) });
  await send(token, 'cart-event', { session_id: s(4), type: 'item_added', product_id: 'p1', occurred_at: iso(NOW - 0.4 * MIN) });
  await send(token, 'cart-event', { session_id: s(1), user_id: 'u1', type: 'item_added', product_id: 'p2', occurred_at: iso(NOW - MIN) });
  // Outside: just before the window, and a client clock in the future.
  await send(token, 'funnel', { session_id: s(5), stage: 'browse', reached_at: iso(NOW - 5.5 * MIN) });
  await send(token, 'cart-event', { session_id: s(5), type: 'item_added', occurred_at: iso(NOW + 2 * MIN) });
  await send(token, 'page-view', { session_id: s(6), page_url: 'https://shop.example/c', viewed_at: iso(NOW + 3 * MIN) });
}

/** Two days of history before the window, 6,000 rows of each kind, every stage and cart type its own (set-based). */
async function loadHistory(tenantId: string): Promise<void> {
  const at = (i: string) => sql.raw(`(${NOW - 2 * 24 * 60 * MIN}::float8 / 1000 + ${i} * 28)`);
  await t.database.db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, user_id, started_at)
    SELECT ${tenantId}, gen_random_uuid(), 'h' || i, 'hu' || (i % 100), to_timestamp(${at('i')}) FROM generate_series(0, ${HISTORY - 1}) i`);
  await t.database.db.execute(sql`INSERT INTO page_views (tenant_id, id, page_view_id, session_id, page_url, page_path, started_at)
    SELECT ${tenantId}, gen_random_uuid(), 'hpv' || i, 'h' || i, 'https://shop.example/h', '/h', to_timestamp(${at('i')}) FROM generate_series(0, ${HISTORY - 1}) i`);
  await t.database.db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
    SELECT ${tenantId}, gen_random_uuid(), 'hf' || i, 'h' || i, 'h_' || i, to_timestamp(${at('i')}) FROM generate_series(0, ${HISTORY - 1}) i`);
  await t.database.db.execute(sql`INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, event_type, occurred_at)
    SELECT ${tenantId}, gen_random_uuid(), 'hc' || i, 'h' || i, 'h_' || i, to_timestamp(${at('i')}) FROM generate_series(0, ${HISTORY - 1}) i`);
}

/** The realtime answer computed in JavaScript from every raw row of the tenant (the route's definitions). */
async function expectedOf(tenantId: string) {
  const since = NOW - 5 * MIN;
  const until = NOW + 1;
  const inWindow = (at: Date) => at.getTime() >= since && at.getTime() < until;
  type Row = { kind: string; sessionId: string; userId: string | null; anonymousId: string | null; at: Date; page: string | null };
  const rows = await queryRows<Row>(
    t.database.db,
    sql`SELECT 'page' AS kind, session_id AS "sessionId", user_id AS "userId", NULL AS "anonymousId", started_at AS at, coalesce(page_path, page_url) AS page FROM page_views WHERE tenant_id = ${tenantId}
      UNION ALL SELECT 'funnel', session_id, user_id, NULL, reached_at, NULL FROM funnel_events WHERE tenant_id = ${tenantId}
      UNION ALL SELECT 'cart', session_id, user_id, NULL, occurred_at, NULL FROM cart_events WHERE tenant_id = ${tenantId}
      UNION ALL SELECT 'start', session_id, user_id, anonymous_id, started_at, NULL FROM tracking_sessions WHERE tenant_id = ${tenantId}`,
  );
  const sessions = new Map(rows.filter((r) => r.kind === 'start').map((r) => [r.sessionId, r]));
  const act = rows.filter((r) => inWindow(new Date(r.at)));
  const people = new Map<string, string>();
  for (const r of act) {
    const s = sessions.get(r.sessionId);
    const own = act
      .filter((x) => x.sessionId === r.sessionId && x.kind !== 'start' && x.userId)
      .map((x) => x.userId!)
      .sort();
    people.set(r.sessionId, own.at(-1) ?? s?.userId ?? s?.anonymousId ?? `s:${r.sessionId}`);
  }
  const count = (kind: string) => act.filter((r) => r.kind === kind).length;
  const views = new Map<string, number>();
  for (const r of act) if (r.kind === 'page') views.set(r.page!, (views.get(r.page!) ?? 0) + 1);
  return {
    active_sessions: people.size,
    active_users: new Set(people.values()).size,
    events: count('page') + count('funnel') + count('cart'),
    page_views: count('page'),
    funnel_events: count('funnel'),
    cart_events: count('cart'),
    sessions_started: count('start'),
    top_pages: [...views]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([page, n]) => ({ page, views: n })),
  };
}

beforeAll(async () => {
  t = await createTestApp({}, { clock: () => new Date(NOW) });
  A = await t.createTenant('Realtime A');
  B = await t.createTenant('Realtime B');
  await loadHistory(A.tenantId);
  await sendRecent(await A.apiKey(['interactions:write']), 'r');
  // B: the same session ids and user, fewer events.
  const writeB = await B.apiKey(['interactions:write']);
  await send(writeB, 'page-view', { session_id: 'r1', user_id: 'u1', page_url: 'https://shop.example/z', viewed_at: iso(NOW - 2 * MIN) });
  await t.database.db.execute(sql`ANALYZE tracking_sessions, page_views, funnel_events, cart_events`);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('GET /realtime', () => {
  it("equals the raw rows' count of the last five minutes; another tenant's same ids are its own", async () => {
    const r = await t.request('GET', '/api/v1/analytics/realtime', { token: await A.apiKey(['analytics:read']) });
    expect(r.status).toBe(200);
    const want = await expectedOf(A.tenantId);
    // The case is not trivial: people across sessions, bare and anonymous sessions, every kind, edges left out.
    expect(want).toMatchObject({ active_sessions: 4, active_users: 3, page_views: 4, funnel_events: 2, cart_events: 2 });
    expect(r.body).toEqual({ as_of: iso(NOW), window_seconds: 300, ...want });
    const b = await t.request('GET', '/api/v1/analytics/realtime', { token: await B.apiKey(['analytics:read']) });
    expect(b.body).toEqual({ as_of: iso(NOW), window_seconds: 300, ...(await expectedOf(B.tenantId)) });
    expect(b.body).toMatchObject({ active_sessions: 1, page_views: 1, top_pages: [{ page: '/z', views: 1 }] });
  });

  it("reads the window's rows through the time indexes, not the tenant's history", async () => {
    const source = createAnalyticsSourceRepository();
    const read = await t.database.db.transaction(async (tx) => {
      // Blocks of funnel_events and cart_events and of their indexes this transaction asked for (hits and reads).
      const stats = sql`SELECT coalesce(sum(pg_stat_get_xact_blocks_fetched(c.oid)), 0)::int AS n FROM pg_class c
        WHERE c.oid IN (SELECT unnest(ARRAY['funnel_events', 'cart_events']::regclass[]))
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ANY(ARRAY['funnel_events', 'cart_events']::regclass[]))`;
      const before = (await queryRows<{ n: number }>(tx, stats))[0]!.n;
      await source.realtime(tx, A.tenantId, new Date(NOW - 5 * MIN), new Date(NOW + 1));
      await source.realtimePages(tx, A.tenantId, new Date(NOW - 5 * MIN), new Date(NOW + 1), 10);
      return (await queryRows<{ n: number }>(tx, stats))[0]!.n - before;
    });
    // Four rows in the window: an index descent and a heap page or two per table; the history is 12,000 rows over
    // 100+ pages (main: a scan of them, or on PostgreSQL 18 a skip scan of the stage index, one descent per stage).
    expect(read).toBeLessThanOrEqual(16);
  });
  it('its migration skips the time indexes an operator built beforehand with CREATE INDEX CONCURRENTLY', async () => {
    // by name, not number: migrations are renumbered when branches land in another order
    const name = readdirSync(MIGRATIONS_DIR).find((f) => /^\d{4}_realtime_time_indexes\.sql$/.test(f))!;
    const statements = readFileSync(path.join(MIGRATIONS_DIR, name), 'utf8').split('--> statement-breakpoint');
    const db = t.database.db;
    await db.execute(sql`DROP INDEX funnel_events_time_idx`);
    await db.execute(sql`DROP INDEX cart_events_time_idx`);
    // What docs/production.md tells an operator to run before upgrading (writes go on meanwhile).
    await db.execute(sql`CREATE INDEX CONCURRENTLY funnel_events_time_idx ON funnel_events (tenant_id, reached_at)`);
    await db.execute(sql`CREATE INDEX CONCURRENTLY cart_events_time_idx ON cart_events (tenant_id, occurred_at)`);
    // The migration then runs in the migrator's transaction, over the indexes already there.
    await db.transaction(async (tx) => {
      for (const s of statements) await tx.execute(sql.raw(s));
    });
    const defs = await queryRows<{ def: string }>(
      db,
      sql`SELECT indexdef AS def FROM pg_indexes WHERE indexname IN ('funnel_events_time_idx', 'cart_events_time_idx') ORDER BY indexname`,
    );
    expect(defs.map((d) => d.def.replace(/^.* USING /, ''))).toEqual(['btree (tenant_id, occurred_at)', 'btree (tenant_id, reached_at)']);
  });
});
