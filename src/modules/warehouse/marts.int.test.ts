/**
 * The marts and data-quality checks end to end on the real app and database: every mart against an independent
 * computation over the owners' raw rows (profile_orders, profiles, items), pages and CSV, hostile input, tenants
 * kept apart, concurrent refreshes, the job after an import, and a failing check sent as a signed webhook.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { inTenant, queryRows } from '../../platform/index.ts';

let t: TestApp;
let A: string;
let B: string;
let ownerA: string;
let ownerB: string;
let writeA: string;
let receiver: http.Server;
let base = '';
const received: Array<{ headers: Record<string, string>; body: string }> = [];

const DAY = 86_400_000;
const now = Date.now();
const daysAgo = (d: number, h = 12) => new Date(Math.floor((now - d * DAY) / DAY) * DAY + h * 3_600_000).toISOString();

type Row = Record<string, unknown>;

/** Every row of a mart through the API's pages of `limit`. */
async function allPages(token: string, name: string, limit = 7): Promise<Row[]> {
  const out: Row[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const q: string = `/api/v1/warehouse/marts/${name}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await t.request('GET', q, { token });
    expect(r.status).toBe(200);
    out.push(...(r.body.data as Row[]));
    cursor = r.body.next_cursor as string | null;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

async function refreshViaApi(token: string, tenantId: string) {
  const r = await t.request('POST', '/api/v1/warehouse/marts/refresh', { token });
  expect(r.status).toBe(202);
  const job = await pollUntil(
    'marts job',
    async () => (await t.request('GET', `/api/v1/jobs/${r.body.id}`, { token })).body,
    (j: { status: string }) => j.status === 'succeeded' || j.status === 'failed',
    { timeoutMs: 60_000 },
  );
  expect(job.status, JSON.stringify(job)).toBe('succeeded');
  expect(tenantId).toBeTruthy();
  return job as unknown as { result: { quality_run_id: string; failed_checks: string[]; rows: Record<string, number> } };
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await createTestApp({ LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32', LOUPE_WEBHOOKS_RETRY_SCHEDULE: '0,0' });
  const a = await t.createTenant('Marts A');
  const b = await t.createTenant('Marts B');
  A = a.tenantId;
  B = b.tenantId;
  ownerA = a.ownerToken;
  ownerB = b.ownerToken;
  writeA = await a.apiKey(['interactions:write', 'catalog:write']);
  const writeB = await b.apiKey(['interactions:write', 'catalog:write']);
  // Items: one with a name a spreadsheet would run as a formula, quotes, a comma and a line break.
  const names = ['=HYPERLINK("http://evil","x")', 'Plain, "quoted"\nname', 'Gift card', 'Mug', 'Lamp', '+1 sale', '@handle'];
  for (let i = 0; i < names.length; i++) {
    const r = await t.request('POST', '/api/v1/items', {
      token: writeA,
      body: { item_id: `SKU-${i}`, name: names[i], price: `${i + 3}.50`, currency: 'EUR' },
    });
    expect(r.status).toBe(201);
  }
  expect(
    (await t.request('POST', '/api/v1/items', { token: writeB, body: { item_id: 'B-1', name: 'B item', price: '1.00', currency: 'EUR' } }))
      .status,
  ).toBe(201);
  // Purchases: 23 customers over ~8 months, 1-5 orders each, some of several lines; SKU-404 is not in the catalog.
  const events: Row[] = [];
  for (let u = 0; u < 23; u++) {
    const orders = 1 + (u % 5);
    for (let o = 0; o < orders; o++) {
      const age = 240 - ((u * 37 + o * 53) % 235);
      const lines = 1 + ((u + o) % 2);
      for (let l = 0; l < lines; l++) {
        events.push({
          event_id: `p-${u}-${o}-${l}`,
          user_id: `cust-${u}`,
          item_id: u === 5 && o === 0 ? 'SKU-404' : `SKU-${(u + o + l) % 7}`,
          interaction_type: 'purchase',
          timestamp: daysAgo(age, 10 + l),
          metadata: { order_id: `ord-${u}-${o}`, price: `${(u % 4) + 1}${o}.2${l}`, currency: 'EUR', quantity: 1 + l },
        });
      }
    }
  }
  for (let i = 0; i < events.length; i += 200) {
    const r = await t.request('POST', '/api/v1/interactions/batch', { token: writeA, body: { events: events.slice(i, i + 200) } });
    expect(r.status).toBe(200);
  }
  const rb = await t.request('POST', '/api/v1/interactions/batch', {
    token: writeB,
    body: {
      events: [
        {
          event_id: 'b1',
          user_id: 'b-cust',
          item_id: 'B-1',
          interaction_type: 'purchase',
          timestamp: daysAgo(3),
          metadata: { order_id: 'b-ord', price: '9.99', currency: 'EUR' },
        },
      ],
    },
  });
  expect(rb.status).toBe(200);
  // Wait until identity recorded every order (profiles are linked behind the write).
  await pollUntil(
    'orders linked',
    async () =>
      (await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM profile_orders WHERE tenant_id = ${A}`))[0]!.n,
    (n) => n === new Set(events.map((e) => (e.metadata as { order_id: string }).order_id)).size,
    { timeoutMs: 30_000 },
  );
  t.jobs.start({ concurrency: 2, types: ['warehouse.marts', 'webhooks.deliver'] });
}, 240_000);

afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => receiver?.close(() => r()));
});

/** The independent computation: the marts' definitions over the owners' raw rows. */
async function expected(tenantId: string, asOf: Date) {
  const orders = await queryRows<{
    order_id: string;
    profile_id: string;
    at: Date;
    revenue: string;
    refunded: string;
    currency: string | null;
  }>(
    t.database.db,
    sql`SELECT order_id, profile_id::text AS profile_id, occurred_at AS at, revenue_minor::text AS revenue, refunded_minor::text AS refunded, currency
          FROM profile_orders WHERE tenant_id = ${tenantId}`,
  );
  const byProfile = new Map<string, typeof orders>();
  for (const o of orders) byProfile.set(o.profile_id, [...(byProfile.get(o.profile_id) ?? []), o]);
  const fact = new Map<string, Row>();
  for (const list of byProfile.values()) {
    list.sort((x, y) => new Date(x.at).getTime() - new Date(y.at).getTime() || (x.order_id < y.order_id ? -1 : 1));
    list.forEach((o, i) => {
      const prev = list[i - 1];
      fact.set(o.order_id, {
        order_id: o.order_id,
        profile_id: o.profile_id,
        net_minor: (BigInt(o.revenue) - BigInt(o.refunded)).toString(),
        order_number: i + 1,
        is_first_order: i === 0,
        days_since_previous_order: prev ? (new Date(o.at).getTime() - new Date(prev.at).getTime()) / DAY : null,
        order_date: new Date(o.at).toISOString().slice(0, 10),
      });
    });
  }
  // RFM: score = 1 + floor(5 (rank - 1) / n), rank() with ties sharing the lower rank.
  const base = [...byProfile.entries()].map(([profile, list]) => ({
    profile,
    recency: (asOf.getTime() - Math.max(...list.map((o) => new Date(o.at).getTime()))) / DAY,
    frequency: list.length,
    monetary: list.reduce((s, o) => s + BigInt(o.revenue) - BigInt(o.refunded), 0n),
  }));
  const n = base.length;
  const rank = <T>(v: T, all: T[], better: (a: T, b: T) => boolean) => 1 + all.filter((x) => better(x, v)).length;
  const score = (r: number) => 1 + Math.floor((5 * (r - 1)) / n);
  const rfm = new Map<string, Row>();
  for (const b of base) {
    const r = score(
      rank(
        b.recency,
        base.map((x) => x.recency),
        (x, y) => x > y,
      ),
    );
    const f = score(
      rank(
        b.frequency,
        base.map((x) => x.frequency),
        (x, y) => x < y,
      ),
    );
    const m = score(
      rank(
        b.monetary,
        base.map((x) => x.monetary),
        (x, y) => x < y,
      ),
    );
    rfm.set(b.profile, {
      frequency: b.frequency,
      monetary_minor: b.monetary.toString(),
      r_score: r,
      f_score: f,
      m_score: m,
      rfm_score: `${r}${f}${m}`,
    });
  }
  // Cohorts by UTC month of the first order, every month up to asOf's.
  const month = (d: Date | string) => new Date(d).toISOString().slice(0, 7);
  const monthIndex = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
  const cohorts = new Map<string, Row>();
  const firstMonth = new Map([...byProfile].map(([p, list]) => [p, month(list[0]!.at)]));
  const sizes = new Map<string, number>();
  for (const m of firstMonth.values()) sizes.set(m, (sizes.get(m) ?? 0) + 1);
  for (const [cm, size] of sizes) {
    for (let p = 0; p <= monthIndex(month(asOf)) - monthIndex(cm); p++) {
      const pm = monthIndex(cm) + p;
      const inPeriod = orders.filter((o) => firstMonth.get(o.profile_id) === cm && monthIndex(month(o.at)) === pm);
      const active = new Set(inPeriod.map((o) => o.profile_id)).size;
      cohorts.set(`${cm}|${p}`, {
        cohort_size: size,
        active_customers: active,
        orders: inPeriod.length,
        net_revenue_minor: inPeriod.reduce((s, o) => s + BigInt(o.revenue) - BigInt(o.refunded), 0n).toString(),
        retention_rate: active / size,
      });
    }
  }
  const items = await queryRows<{ id: string; item_id: string; name: string }>(
    t.database.db,
    sql`SELECT id::text AS id, item_id, name FROM items WHERE tenant_id = ${tenantId}`,
  );
  const profiles = await queryRows<{ id: string; status: string }>(
    t.database.db,
    sql`SELECT id::text AS id, status FROM profiles WHERE tenant_id = ${tenantId}`,
  );
  return { fact, rfm, cohorts, items, profiles, byProfile };
}

describe('warehouse marts', () => {
  let firstRun: { result: { quality_run_id: string; failed_checks: string[]; rows: Record<string, number> } };

  it('lists the marts with documented columns before any refresh (empty, last_refresh null)', async () => {
    const r = await t.request('GET', '/api/v1/warehouse/marts', { token: ownerA });
    expect(r.status).toBe(200);
    expect(r.body.last_refresh).toBeNull();
    expect(r.body.marts.map((m: Row) => m.name)).toEqual([
      'fact_orders',
      'dim_products',
      'dim_customers',
      'rfm_analysis',
      'cohort_analysis',
    ]);
    for (const m of r.body.marts as Array<{ rows: number; columns: Array<{ doc: string }> }>) {
      expect(m.rows).toBe(0);
      expect(m.columns.every((c) => c.doc.length > 3)).toBe(true);
    }
  });

  it('refreshes by a job and every mart agrees with an independent computation over the raw rows', async () => {
    firstRun = await refreshViaApi(ownerA, A);
    const list = await t.request('GET', '/api/v1/warehouse/marts', { token: ownerA });
    const asOf = new Date(list.body.last_refresh.as_of as string);
    const exp = await expected(A, asOf);

    const fact = await allPages(ownerA, 'fact_orders');
    expect(fact.length).toBe(exp.fact.size);
    expect(fact.length).toBeGreaterThan(50);
    for (const row of fact) {
      const e = exp.fact.get(row.order_id as string)!;
      const { days_since_previous_order: _gap, ...rest } = e;
      expect(row).toMatchObject(rest);
      if (e.days_since_previous_order === null) expect(row.days_since_previous_order).toBeNull();
      else expect(row.days_since_previous_order as number).toBeCloseTo(e.days_since_previous_order as number, 6);
    }

    const rfm = await allPages(ownerA, 'rfm_analysis', 5);
    expect(rfm.length).toBe(exp.rfm.size);
    for (const row of rfm) expect(row).toMatchObject(exp.rfm.get(row.profile_id as string)!);
    // Scores span 1-5 and the best-recency customer has R 5.
    expect(new Set(rfm.map((r) => r.r_score))).toEqual(new Set([1, 2, 3, 4, 5]));

    const cohorts = await allPages(ownerA, 'cohort_analysis', 9);
    expect(cohorts.length).toBe(exp.cohorts.size);
    for (const row of cohorts) {
      const e = exp.cohorts.get(`${row.cohort_month}|${row.period_index}`)!;
      expect(row).toMatchObject({ ...e, retention_rate: expect.any(Number) });
      expect(row.retention_rate as number).toBeCloseTo(e.retention_rate as number, 12);
    }
    expect(cohorts.filter((c) => c.period_index === 0).every((c) => c.retention_rate === 1)).toBe(true);

    const products = await allPages(ownerA, 'dim_products');
    expect(products.map((p) => p.product_id).sort()).toEqual(exp.items.map((i) => i.id).sort());
    expect(products.find((p) => p.item_id === 'SKU-0')).toMatchObject({ price_minor: '350', currency: 'EUR', is_active: true });

    const customers = await allPages(ownerA, 'dim_customers');
    expect(customers.length).toBe(exp.profiles.length);
    for (const c of customers) {
      const list = exp.byProfile.get(c.profile_id as string) ?? [];
      expect(c.orders).toBe(list.length);
      if (list.length) expect(c.cohort_month).toBe(new Date(list[0]!.at).toISOString().slice(0, 7));
    }
    expect(firstRun.result.rows.fact_orders).toBe(exp.fact.size);
  });

  it('writes CSV with a header, every row, and formula-like text defused', async () => {
    const r = await t.request('GET', '/api/v1/warehouse/marts/dim_products?format=csv', { token: ownerA });
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toContain('text/csv');
    const text = r.body as unknown as string;
    expect(text.startsWith('product_id,item_id,name,brand,')).toBe(true);
    expect(text).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(text).toContain(`'+1 sale`);
    expect(text).toContain(`'@handle`);
    expect(text).toContain(`"Plain, ""quoted""\nname"`);
    expect(r.headers['x-row-count']).toBe('7');
    const fact = await t.request('GET', '/api/v1/warehouse/marts/fact_orders?format=csv', { token: ownerA });
    expect((fact.body as unknown as string).trim().split('\r\n').length).toBe(1 + firstRun.result.rows.fact_orders!);
  });

  it('refuses bad input: an unknown mart, hostile cursors, a limit out of range, an unknown parameter', async () => {
    const bad = [
      '/api/v1/warehouse/marts/orders',
      '/api/v1/warehouse/marts/fact_orders%00',
      '/api/v1/warehouse/marts/fact_orders?cursor=nope',
      `/api/v1/warehouse/marts/rfm_analysis?cursor=${Buffer.from(JSON.stringify(['not-a-uuid'])).toString('base64url')}`,
      `/api/v1/warehouse/marts/cohort_analysis?cursor=${Buffer.from(JSON.stringify(['2026-01', '1'])).toString('base64url')}`,
      `/api/v1/warehouse/marts/fact_orders?cursor=${Buffer.from(JSON.stringify([1e300])).toString('base64url')}`,
      `/api/v1/warehouse/marts/fact_orders?cursor=${Buffer.from('['.repeat(5000)).toString('base64url').slice(0, 200)}`,
      '/api/v1/warehouse/marts/fact_orders?limit=0',
      '/api/v1/warehouse/marts/fact_orders?limit=501',
      '/api/v1/warehouse/marts/fact_orders?limit=99999999999999999999999',
      '/api/v1/warehouse/marts/fact_orders?format=xml',
      '/api/v1/warehouse/marts/fact_orders?select=*',
      '/api/v1/warehouse/quality?history=-1',
    ];
    for (const url of bad) {
      const r = await t.request('GET', url, { token: ownerA });
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.status, url).toBeLessThan(500);
    }
    // A lone surrogate and a NUL byte in a cursor's key: refused by name, never a database error.
    const weird = Buffer.from(JSON.stringify(['\ud800\u0000'])).toString('base64url');
    const r = await t.request('GET', `/api/v1/warehouse/marts/fact_orders?cursor=${weird}`, { token: ownerA });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('WAREHOUSE_BAD_CURSOR');
    expect((await t.request('GET', '/api/v1/warehouse/marts/fact_orders', {})).status).toBe(401);
  });

  it("keeps tenants apart: B sees only its rows, A's run ids are not found for B", async () => {
    await refreshViaApi(ownerB, B);
    const factB = await allPages(ownerB, 'fact_orders');
    expect(factB.map((r) => r.order_id)).toEqual(['b-ord']);
    const productsB = await allPages(ownerB, 'dim_products');
    expect(productsB.map((r) => r.item_id)).toEqual(['B-1']);
    const factA = await allPages(ownerA, 'fact_orders', 500);
    expect(factA.some((r) => r.order_id === 'b-ord')).toBe(false);
    const runA = firstRun.result.quality_run_id;
    expect((await t.request('GET', `/api/v1/warehouse/quality?run_id=${runA}`, { token: ownerB })).status).toBe(404);
    expect((await t.request('GET', `/api/v1/warehouse/quality?run_id=${runA}`, { token: ownerA })).status).toBe(200);
    expect((await t.request('GET', '/api/v1/warehouse/quality?run_id=x', { token: ownerA })).status).toBe(404);
    const rows = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM warehouse_fact_orders WHERE tenant_id = ${B}`,
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('survives concurrent refreshes of one tenant (no duplicate keys, same result)', async () => {
    const before = await allPages(ownerA, 'fact_orders', 500);
    const w = t.modules.warehouse;
    const runs = await Promise.all([w.refreshMarts(A), w.refreshMarts(A), w.refreshMarts(A)]);
    expect(runs.every((r) => r.rowCounts.fact_orders === before.length)).toBe(true);
    const after = await allPages(ownerA, 'fact_orders', 500);
    expect(after.map((r) => r.order_id)).toEqual(before.map((r) => r.order_id));
  });

  it("skips a scheduled rebuild while the owners' rows are unchanged, and rebuilds only the tenant that changed", async () => {
    const w = t.modules.warehouse;
    await w.refreshMarts(A);
    await w.refreshMarts(B);
    expect(await w.refreshMartsIfChanged(A)).toBeNull();
    expect(await w.refreshMartsIfChanged(B)).toBeNull();
    // A refund on one of A's orders (what commerce's refund path writes through identity).
    await inTenant(t.database.db, A, (tx) =>
      tx.execute(sql`UPDATE profile_orders SET refunded_minor = refunded_minor + 1
                      WHERE tenant_id = ${A} AND order_id = (SELECT min(order_id) FROM profile_orders WHERE tenant_id = ${A})`),
    );
    const run = await w.refreshMartsIfChanged(A);
    expect(run?.rowCounts.fact_orders).toBeGreaterThan(0);
    expect(await w.refreshMartsIfChanged(A)).toBeNull();
    expect(await w.refreshMartsIfChanged(B)).toBeNull();
    // A renamed item moves catalog's marker too.
    await inTenant(t.database.db, A, (tx) =>
      tx.execute(
        sql`UPDATE items SET name = name || ' (renamed)' WHERE tenant_id = ${A} AND item_id = (SELECT min(item_id) FROM items WHERE tenant_id = ${A})`,
      ),
    );
    expect(await w.refreshMartsIfChanged(A)).not.toBeNull();
  });
});

describe('data quality', () => {
  it('records a run with the failing referential check first, its examples, and a history', async () => {
    const r = await t.request('GET', '/api/v1/warehouse/quality?history=5', { token: ownerA });
    expect(r.status).toBe(200);
    const latest = r.body.latest as { results: Array<{ check: string; status: string; observed: number; examples: string[] }> };
    expect(latest.results[0]!.status).toBe('fail');
    const items = latest.results.find((x) => x.check === 'events.item_id.referential_integrity')!;
    expect(items).toMatchObject({ status: 'fail', observed: 1, examples: ['SKU-404'] });
    expect(latest.results.find((x) => x.check === 'events.received_at.freshness')!.status).toBe('pass');
    expect(latest.results.find((x) => x.check === 'fact_orders.order_id.unique')!.status).toBe('pass');
    expect(latest.results.find((x) => x.check === 'events.profile_id.referential_integrity')!.status).toBe('pass');
    expect(latest.results.length).toBe(r.body.expectations.length);
    expect(r.body.history.length).toBeGreaterThanOrEqual(1);
    expect(r.body.history[0]).toMatchObject({ trigger: 'manual', failed: 1 });
  });

  it('catches bad rows in the marts: an order with refunds above revenue, a foreign currency code', async () => {
    // Raw rows an upstream bug could write, through the owner's table.
    await t.database.db.execute(
      sql`UPDATE profile_orders SET refunded_minor = revenue_minor + 1 WHERE tenant_id = ${A} AND order_id = 'ord-1-0'`,
    );
    await t.database.db.execute(sql`UPDATE profile_orders SET currency = 'euro' WHERE tenant_id = ${A} AND order_id = 'ord-2-0'`);
    await t.modules.warehouse.refreshMarts(A);
    const run = await t.modules.warehouse.runQuality(A, 'manual');
    const byName = new Map(run.results.map((x) => [x.name, x]));
    expect(byName.get('fact_orders.revenue_minor.range')).toMatchObject({ status: 'fail', observed: 1, examples: ['ord-1-0'] });
    expect(byName.get('fact_orders.currency.accepted_values')).toMatchObject({ status: 'fail', observed: 1, examples: ['ord-2-0'] });
    // Tenant B's run is untouched by A's bad rows.
    const runB = await t.modules.warehouse.runQuality(B, 'manual');
    expect(runB.results.filter((x) => x.status === 'fail').map((x) => x.name)).toEqual([]);
  });

  it('sends a failing run to a subscribed endpoint, signed (Standard Webhooks)', async () => {
    const ep = await t.request('POST', '/api/v1/webhooks/endpoints', {
      token: ownerA,
      body: { url: `${base}/quality`, event_types: ['warehouse.*'], description: 'quality' },
    });
    expect(ep.status).toBe(201);
    received.length = 0;
    const run = await t.modules.warehouse.runQuality(A, 'schedule');
    const got = await pollUntil(
      'delivery',
      async () => received.slice(),
      (x) => x.length > 0,
      { timeoutMs: 30_000 },
    );
    const payload = new Webhook(ep.body.secret as string).verify(got[0]!.body, got[0]!.headers) as {
      type: string;
      data: { run_id: string; failing: Array<{ check: string }> };
    };
    expect(payload.type).toBe('warehouse.quality.failed');
    expect(payload.data.run_id).toBe(run.runId);
    expect(payload.data.failing.map((f) => f.check)).toContain('events.item_id.referential_integrity');
  });

  it('queues a refresh and checks after an import; the scheduler books one run per refreshed tenant and slot', async () => {
    const boundary = '----loupemarts';
    const csv = 'user_id,item_id,interaction_type,timestamp\nimp-1,SKU-1,view,2026-01-02T03:04:05Z\n';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="e.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
    const r = await t.request('POST', '/api/v1/upload/interactions', {
      token: writeA,
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const jobs = await pollUntil(
      'import-triggered marts job',
      async () =>
        queryRows<{ status: string; trigger: string }>(
          t.database.db,
          sql`SELECT status, payload->>'trigger' AS trigger FROM jobs WHERE tenant_id = ${A} AND type = 'warehouse.marts'`,
        ),
      (rows) => rows.some((x) => x.trigger === 'import' && x.status === 'succeeded'),
      { timeoutMs: 60_000 },
    );
    expect(jobs.some((x) => x.trigger === 'schedule')).toBe(false); // the job no longer books its own next run
    // The scheduled task (run once per cluster by the elected scheduler): twice, as a new scheduler after a takeover
    // would within the same slot; the slot's dedupe key keeps one run.
    const task = t.scheduledTasks.find((x) => x.name === 'warehouse.book-marts');
    expect(task?.everyMs).toBe(60 * 60_000);
    await task!.run();
    await task!.run();
    const booked = await queryRows<{ tenant_id: string; n: number; run_at: Date }>(
      t.database.db,
      sql`SELECT tenant_id::text AS tenant_id, count(*)::int AS n, min(run_at) AS run_at FROM jobs
           WHERE type = 'warehouse.marts' AND status = 'queued' AND payload->>'trigger' = 'schedule' GROUP BY tenant_id`,
    );
    expect(booked.find((b) => b.tenant_id === A)?.n).toBe(1);
    expect(new Date(booked.find((b) => b.tenant_id === A)!.run_at).getTime() % 3_600_000).toBe(0); // the next slot
    expect(t.scheduledTasks.map((x) => x.name)).toContain('newsfeed.prune-shown-items');
  });
});
