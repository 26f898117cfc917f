/**
 * Paths sequenced in SQL (`pathCounts`) against a plain JavaScript reference over the same random rows: order by
 * instant, kind, then name; repeats in a row collapsed; cut from the first anchor. The rows are built to hit the
 * edges: many events at one instant (equal and different names), rows outside the window, URLs without a path,
 * non-ASCII names, session filters, and another tenant with the same session ids and different rows.
 */
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import type { Database } from '../../platform/database.ts';
import { createAnalyticsBehaviourRepository } from './index.ts';

let database: Database;
const A = '0190a000-0000-7000-8000-0000000000a7';
const B = '0190a000-0000-7000-8000-0000000000b7';
const BASE = Date.parse('2026-04-01T10:00:00Z');
const w = { from: new Date(BASE + 3_000), to: new Date(BASE + 37_000), tz: 'UTC' };
const repo = createAnalyticsBehaviourRepository();

interface Row {
  session: string;
  kind: 0 | 1 | 2; // page, stage, cart: the order at equal instants
  node: string; // what the path shows
  path: string | null;
  url: string;
  at: number;
}
const PATHS = ['/', '/a', '/b', '/c', '/é', '/😀', null];
const STAGES = ['browse', 'view_product', 'add_to_cart'];
const CARTS = ['item_added', 'item_removed'];
const DEVICES = ['mobile', 'desktop'];

function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}
function generate(seed: number, sessions: number) {
  const r = rng(seed);
  const rows: Row[] = [];
  const devices = new Map<string, string>();
  for (let i = 0; i < sessions; i++) {
    const session = `s${i}`;
    devices.set(session, DEVICES[r(2)]!);
    // 40 one-second slots for up to 14 events: instants repeat, inside a session and across kinds.
    for (let j = r(15); j > 0; j--) {
      const at = BASE + r(40) * 1000;
      const kind = r(4);
      if (kind < 2) {
        const path = PATHS[r(PATHS.length)]!;
        const url = `https://x.example/u${r(3)}`;
        rows.push({ session, kind: 0, node: path ?? url, path, url, at });
        // The event path's node for a page is its type, derived from the path in insert().
      } else if (kind === 2) rows.push({ session, kind: 1, node: STAGES[r(STAGES.length)]!, path: null, url: '', at });
      else rows.push({ session, kind: 2, node: `cart:${CARTS[r(CARTS.length)]!}`, path: null, url: '', at });
    }
  }
  return { rows, devices };
}
const pageType = (row: Row) => (row.path === '/' ? 'home' : row.path === null ? null : 'product');

async function insert(tenant: string, data: ReturnType<typeof generate>) {
  const db = database.db;
  const values = (xs: SQL[]) => sql.join(xs, sql`, `);
  await db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, device_type, started_at)
    VALUES ${values([...data.devices].map(([s, d]) => sql`(${tenant}, gen_random_uuid(), ${s}, ${d}, ${new Date(BASE).toISOString()})`))}`);
  const pages = data.rows.filter((x) => x.kind === 0);
  const stages = data.rows.filter((x) => x.kind === 1);
  const carts = data.rows.filter((x) => x.kind === 2);
  const at = (x: Row) => new Date(x.at).toISOString();
  if (pages.length)
    await db.execute(sql`INSERT INTO page_views (tenant_id, id, page_view_id, session_id, page_url, page_path, page_type, started_at)
      VALUES ${values(pages.map((x, i) => sql`(${tenant}, gen_random_uuid(), ${`pv${i}`}, ${x.session}, ${x.url}, ${x.path}, ${pageType(x)}, ${at(x)})`))}`);
  if (stages.length)
    await db.execute(sql`INSERT INTO funnel_events (tenant_id, id, dedupe_key, session_id, stage, reached_at)
      VALUES ${values(stages.map((x, i) => sql`(${tenant}, gen_random_uuid(), ${`f${i}`}, ${x.session}, ${x.node}, ${at(x)})`))}`);
  if (carts.length)
    await db.execute(sql`INSERT INTO cart_events (tenant_id, id, dedupe_key, session_id, event_type, product_id, occurred_at)
      VALUES ${values(carts.map((x, i) => sql`(${tenant}, gen_random_uuid(), ${`c${i}`}, ${x.session}, ${x.node.slice(5)}, 'P1', ${at(x)})`))}`);
}

/** The reference: the rows of each session in the window, sorted and collapsed in JavaScript, cut, then grouped. */
function reference(
  data: ReturnType<typeof generate>,
  q: { type: 'page' | 'event'; anchor: string; direction: 'next' | 'previous'; depth: number; device?: string },
) {
  const bySession = new Map<string, { node: string; at: number; kind: number }[]>();
  for (const x of data.rows) {
    if (x.at < w.from.getTime() || x.at >= w.to.getTime()) continue;
    if (q.device && data.devices.get(x.session) !== q.device) continue;
    if (q.type === 'page' && x.kind !== 0) continue;
    const node = q.type === 'page' || x.kind !== 0 ? x.node : `page:${pageType(x) ?? '(none)'}`;
    bySession.set(x.session, [...(bySession.get(x.session) ?? []), { node, at: x.at, kind: x.kind }]);
  }
  const counts = new Map<string, number>();
  for (const xs of bySession.values()) {
    xs.sort((a, b) => a.at - b.at || a.kind - b.kind || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const seq: string[] = [];
    for (const { node } of xs) if (seq[seq.length - 1] !== node) seq.push(node);
    const i = seq.indexOf(q.anchor);
    if (i < 0) continue;
    const path = q.direction === 'next' ? seq.slice(i + 1, i + 1 + q.depth) : seq.slice(Math.max(0, i - q.depth), i).reverse();
    counts.set(JSON.stringify(path), (counts.get(JSON.stringify(path)) ?? 0) + 1);
  }
  return counts;
}
const asMap = (rows: { path: string[]; sessions: number }[]) => {
  const m = new Map<string, number>();
  for (const r of rows) {
    expect(m.has(JSON.stringify(r.path)), 'each path once').toBe(false);
    m.set(JSON.stringify(r.path), r.sessions);
  }
  return m;
};

const dataA = generate(18, 150);
const dataB = generate(81, 150);
beforeAll(async () => {
  database = await createTestDatabase();
  await insert(A, dataA);
  await insert(B, dataB);
}, 60_000);
afterAll(async () => database?.close());

describe('pathCounts (paths sequenced in SQL)', () => {
  it('equals the JavaScript reference on random rows: pages and events, both directions, every depth, filters', async () => {
    let checked = 0;
    let nonEmpty = 0;
    for (const type of ['page', 'event'] as const)
      for (const anchor of type === 'page'
        ? ['/', '/a', '/😀', 'https://x.example/u1']
        : ['browse', 'page:home', 'cart:item_added', 'page:(none)'])
        for (const direction of ['next', 'previous'] as const)
          for (const [depth, device] of [
            [1, 'mobile'],
            [2, undefined],
            [5, undefined],
          ] as const) {
            const q = { type, anchor, direction, depth };
            const got = await repo.pathCounts(database.db, A, w, device ? { device } : {}, q);
            const want = reference(dataA, { ...q, ...(device ? { device } : {}) });
            expect(asMap(got), JSON.stringify({ ...q, device })).toEqual(want);
            checked++;
            if (want.size > 1) nonEmpty++;
          }
    expect(checked).toBe(48);
    expect(nonEmpty).toBeGreaterThan(36);
  }, 60_000);

  it("keeps tenants apart: the same session ids in another tenant give that tenant's answer", async () => {
    const q = { type: 'event', anchor: 'browse', direction: 'next', depth: 3 } as const;
    expect(asMap(await repo.pathCounts(database.db, B, w, {}, q))).toEqual(reference(dataB, q));
    const unknown = '0190a000-0000-7000-8000-0000000000c7';
    expect(await repo.pathCounts(database.db, unknown, w, {}, q)).toEqual([]);
  }, 30_000);

  it('answers the same to concurrent reads, and an anchor nobody reached (or one shaped like SQL) is empty', async () => {
    const q = { type: 'page', anchor: '/', direction: 'next', depth: 4 } as const;
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => repo.pathCounts(database.db, i % 2 ? A : B, w, {}, q)));
    runs.forEach((r, i) => expect(asMap(r)).toEqual(reference(i % 2 ? dataA : dataB, q)));
    for (const anchor of ["/'; DROP TABLE page_views; --", '%', '/never'])
      expect(await repo.pathCounts(database.db, A, w, {}, { ...q, anchor })).toEqual([]);
  }, 30_000);
});
