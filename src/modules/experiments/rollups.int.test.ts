import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queryOne, queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

const onPostgres = inject('dbTarget') === 'postgres';

/**
 * Rollups against the raw scan on the same rows: the report read from rollups (default) must equal the one
 * `?source=raw` computes, to the last digit, after every kind of change: new units and events, late and
 * out-of-order events, events before exposure, an anonymous visitor's assignment moved to the person, a metric
 * definition edited, refreshes racing each other, and another tenant's rows under the same unit ids.
 */
describe('experiment rollups', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let b: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let bKey: string;
  let expId: string;
  let bExpId: string;

  const METRICS = [
    { name: 'converted', type: 'binomial', event: 'purchase' },
    { name: 'revenue', type: 'mean', event: 'purchase', value: 'value', cap: 80 },
    { name: 'clicks', type: 'mean', event: 'click' },
    { name: 'clicks_per_cart', type: 'ratio', event: 'click', denominator_event: 'add_to_cart' },
  ];

  const makeExperiment = async (token: string) => {
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token,
      body: { name: 'Rollup check', metrics: METRICS, primary_metric: 'revenue', variants: [{ key: 'control' }, { key: 'b' }] },
    });
    expect(e.status).toBe(201);
    expect((await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token })).status).toBe(200);
    return e.body.id as string;
  };
  const assign = (token: string, user: string) =>
    t.request('POST', '/api/v1/experiments/assign', { token, body: { user_id: user, experiments: ['rollup_check'] } });
  const track = async (token: string, kind: string, body: Record<string, unknown>) => {
    const r = await t.request('POST', `/api/v1/experiments/track-${kind}`, { token, body });
    expect(r.status).toBe(201);
  };
  const report = async (token: string, id: string, query = '') => {
    const r = await t.request('GET', `/api/v1/admin/experiments/${id}/report${query}`, { token });
    expect(r.status).toBe(200);
    return r.body;
  };
  /** The rollup report (refreshed to now first, in batches) and the raw one, asserted equal; returns the rollup one. */
  const same = async (token: string, id: string) => {
    const { freshness, ...rolled } = await report(token, id, '?refresh=true');
    expect(freshness).toMatchObject({ source: 'rollup', pending: false, refreshing: false });
    const { freshness: rawFreshness, ...raw } = await report(token, id, '?source=raw');
    expect(rawFreshness).toMatchObject({ source: 'raw', pending: false });
    expect(rolled).toEqual(raw);
    return rolled;
  };
  const metric = (rep: any, name: string) => rep.metrics.find((m: { name: string }) => m.name === name);
  const totalN = (rep: any) => rep.units.reduce((s: number, u: { n: number }) => s + u.n, 0);

  beforeAll(async () => {
    // Refresh batches of 20 changed units (builds: 200 units): the after-change case crosses batch boundaries with
    // 62 bulk units, the backlog case has eleven batches of new units and its rebuild two (323 units). Small batches
    // prove the batching with few rows: every raw report below reads them all.
    t = await createTestApp({ LOUPE_EXPERIMENTS_REFRESH_BATCH: '20' });
    a = await t.createTenant('Rollups A');
    b = await t.createTenant('Rollups B');
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    expId = await makeExperiment(key);
    bExpId = await makeExperiment(bKey);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('builds from the raw rows and equals the raw report', async () => {
    for (let i = 0; i < 40; i++) expect((await assign(key, `shopper-${i}`)).status).toBe(200);
    for (let i = 0; i < 40; i++) {
      await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-1', event_id: `c-${i}` });
      if (i % 2 === 0) await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-2', event_id: `c2-${i}` });
      if (i % 3 === 0) await track(key, 'add-to-cart', { user_id: `shopper-${i}`, item_id: 'sku-1', event_id: `atc-${i}` });
      // Amounts with cents (binary fractions are inexact) and some above the cap of 80.
      if (i % 4 === 0)
        await track(key, 'purchase', {
          user_id: `shopper-${i}`,
          order_id: `o-${i}`,
          amount: `${(i * 7.13 + 0.1).toFixed(2)}`,
          currency: 'USD',
        });
    }
    const rep = await same(key, expId);
    expect(totalN(rep)).toBe(40);
    expect(metric(rep, 'clicks').control.n + metric(rep, 'clicks').variants[0].n).toBe(40);
    const stored = await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM experiment_unit_metrics WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`,
    );
    expect(stored?.n).toBe(40 * 5); // the units rollup and four metrics
  });

  it('the report reads the rollups (a changed rollup row changes the report)', async () => {
    const db = t.database.db;
    const before = metric(await report(key, expId), 'clicks').control.mean;
    await db.execute(sql`UPDATE experiment_metric_rollups SET sum = sum + 1000 WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}
      AND metric_key <> 'units' AND variant_id = (SELECT id FROM experiment_variants WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} AND position = 0)`);
    expect(metric(await report(key, expId), 'clicks').control.mean).not.toBe(before);
    await db.execute(
      sql`UPDATE experiment_rollup_watermarks SET watermark = NULL WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`,
    );
    expect(metric(await same(key, expId), 'clicks').control.mean).toBe(before);
  });

  it('late and out-of-order events, events before exposure, new units and repeat exposures move the rollups', async () => {
    const before = await report(key, expId);
    const exposed = await queryOne<{ last: Date; first: Date }>(
      t.database.db,
      sql`SELECT max(first_exposed_at) AS last, min(first_exposed_at) AS first FROM experiment_assignments WHERE tenant_id = ${a.tenantId}`,
    );
    const late = new Date(new Date(exposed!.last).getTime() + 1).toISOString();
    const early = new Date(new Date(exposed!.first).getTime() - 60_000).toISOString();
    for (let i = 0; i < 40; i += 3) {
      // Occurred before the events already counted, arrives after the last refresh.
      await track(key, 'purchase', { user_id: `shopper-${i}`, order_id: `late-${i}`, amount: '19.99', currency: 'USD', timestamp: late });
      await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-3', event_id: `late-c-${i}`, timestamp: late });
      // Before the unit's exposure: counts in neither report.
      await track(key, 'add-to-cart', { user_id: `shopper-${i}`, item_id: 'sku-3', event_id: `early-${i}`, timestamp: early });
    }
    for (let i = 40; i < 50; i++) {
      await assign(key, `shopper-${i}`);
      await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-1', event_id: `c-${i}` });
    }
    await assign(key, 'shopper-1'); // a repeat exposure
    const after = await same(key, expId);
    expect(totalN(after)).toBe(50);
    expect(metric(after, 'revenue').control.mean).not.toBe(metric(before, 'revenue').control.mean);
    const exposures = (rep: any) => rep.units.reduce((s: number, u: { exposures: number }) => s + u.exposures, 0);
    expect(exposures(after)).toBe(exposures(before) + 11);
  });

  it("an anonymous visitor's assignment moved to the signed-in person leaves the visitor's unit and brings the person's", async () => {
    const anon = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { anonymous_id: 'device-9', experiments: ['rollup_check'] },
    });
    await track(key, 'click', { anonymous_id: 'device-9', item_id: 'sku-1', event_id: 'anon-click' });
    const withVisitor = await same(key, expId);
    expect(totalN(withVisitor)).toBe(51);
    await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: 'person-9', anonymous_id: 'device-9', interaction_type: 'view', item_id: 'i1' },
    });
    const signedIn = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { user_id: 'person-9', anonymous_id: 'device-9', experiments: ['rollup_check'] },
    });
    expect(signedIn.body.assignments[0].variant_key).toBe(anon.body.assignments[0].variant_key);
    await track(key, 'purchase', { user_id: 'person-9', order_id: 'o-person-9', amount: '45.50', currency: 'USD' });
    const moved = await same(key, expId);
    expect(totalN(moved)).toBe(51);
    const units = await queryRows<{ unit_id: string }>(
      t.database.db,
      sql`SELECT unit_id FROM experiment_unit_metrics WHERE tenant_id = ${a.tenantId} AND metric_key = 'units' AND unit_id IN (${anon.body.unit_id}, ${signedIn.body.unit_id})`,
    );
    expect(units.map((u) => u.unit_id)).toEqual([signedIn.body.unit_id]);
  });

  it('an edited metric definition is rebuilt and the old rollup dropped', async () => {
    const db = t.database.db;
    const keys = async () =>
      (
        await queryRows<{ metric_key: string }>(
          db,
          sql`SELECT metric_key FROM experiment_rollup_watermarks WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} ORDER BY 1`,
        )
      ).map((r) => r.metric_key);
    const before = await keys();
    const capped = metric(await report(key, expId), 'revenue').control.mean;
    await db.execute(sql`UPDATE experiments SET metrics = (
        SELECT jsonb_agg(CASE WHEN m->>'name' = 'revenue' THEN jsonb_set(m, '{cap}', '30') ELSE m END) FROM jsonb_array_elements(metrics) m)
      WHERE tenant_id = ${a.tenantId} AND id = ${expId}`);
    const edited = await same(key, expId);
    expect(metric(edited, 'revenue').control.mean).toBeLessThan(capped);
    const now = await keys();
    expect(now).toHaveLength(before.length);
    expect(now.filter((k) => !before.includes(k))).toHaveLength(1);
  });

  it('racing refreshes (scheduled and forced by a report) each apply only what the one before left', async () => {
    const burst = async (n: number) => {
      for (let i = 0; i < 8; i++)
        await track(key, 'purchase', { user_id: `shopper-${i}`, order_id: `race-${n}-${i}`, amount: '12.34', currency: 'USD' });
    };
    const experiments = t.modules.experiments;
    await Promise.all([
      burst(1),
      experiments.refreshRollups(),
      experiments.refreshRollups(),
      report(key, expId, '?refresh=true'),
      burst(2),
      experiments.refreshRollups(),
    ]);
    const out = await experiments.refreshRollups();
    expect(out.failed).toBe(0);
    await same(key, expId);
  });

  it("another tenant's rows under the same unit ids stay out", async () => {
    const { freshness: _, ...mine } = await report(key, expId);
    for (let i = 0; i < 10; i++) {
      await assign(bKey, `shopper-${i}`);
      await track(bKey, 'purchase', { user_id: `shopper-${i}`, order_id: `b-${i}`, amount: '70.00', currency: 'USD' });
      await track(bKey, 'click', { user_id: `shopper-${i}`, item_id: 'sku-1', event_id: `b-c-${i}` });
    }
    const theirs = await same(bKey, bExpId);
    expect(totalN(theirs)).toBe(10);
    expect(await same(key, expId)).toEqual(mine);
    const cross = await t.request('GET', `/api/v1/admin/experiments/${expId}/report`, { token: bKey });
    expect(cross.status).toBe(404);
    const bad = await t.request('GET', `/api/v1/admin/experiments/${expId}/report?source=everything`, { token: key });
    expect(bad.status).toBe(400);
  });

  it('a report reads the rollups as they are, never refreshing, and says how fresh; the scheduled task brings the change', async () => {
    const db = t.database.db;
    await same(key, expId);
    const marks = () =>
      queryRows<{ refreshed_at: Date | null; watermark: string }>(
        db,
        sql`SELECT refreshed_at, watermark::text AS watermark FROM experiment_rollup_watermarks WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`,
      );
    // Watermarks at this statement's snapshot: every row written so far is seen, so nothing is new. A changed rollup
    // row shows whether a refresh ran.
    await db.execute(sql`UPDATE experiment_rollup_watermarks SET watermark = pg_current_snapshot(), refreshed_at = '2000-01-01T00:00:00Z'
      WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`);
    const clean = metric(await report(key, expId, '?source=raw'), 'clicks').control.mean;
    await db.execute(sql`UPDATE experiment_metric_rollups SET sum = sum + 1000 WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}
      AND metric_key <> 'units' AND variant_id = (SELECT id FROM experiment_variants WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} AND position = 0)`);
    await assign(bKey, 'shopper-1');
    await track(bKey, 'click', { user_id: 'shopper-1', item_id: 'sku-9', event_id: 'b-warm-click' });
    const warm = await report(key, expId);
    expect(metric(warm, 'clicks').control.mean).not.toBe(clean);
    // Another tenant's writes are not this experiment's backlog.
    expect(warm.freshness).toEqual({ source: 'rollup', as_of: '2000-01-01T00:00:00.000Z', pending: false, refreshing: false });
    const frozen = await marks();
    // One event of this tenant after the watermark: the report still reads the rollups as they were, says so, writes nothing.
    await track(key, 'click', { user_id: 'shopper-2', item_id: 'sku-9', event_id: 'warm-click' });
    const behind = await report(key, expId);
    expect(behind.freshness).toMatchObject({ as_of: '2000-01-01T00:00:00.000Z', pending: true, refreshing: false });
    expect(metric(behind, 'clicks')).toEqual(metric(warm, 'clicks'));
    expect(await marks()).toEqual(frozen);
    // The scheduled task's run brings it; the next report sees the click and says it is fresh.
    const run = await t.modules.experiments.refreshRollups();
    expect(run).toMatchObject({ failed: 0, behind: 0 });
    const after = await report(key, expId);
    expect(after.freshness.pending).toBe(false);
    expect(new Date(after.freshness.as_of).getUTCFullYear()).toBeGreaterThan(2000);
    expect(metric(after, 'clicks').control.n + metric(after, 'clicks').variants[0].n).toBe(
      metric(warm, 'clicks').control.n + metric(warm, 'clicks').variants[0].n,
    );
    expect(metric(after, 'clicks')).not.toEqual(metric(warm, 'clicks'));
    await db.execute(
      sql`UPDATE experiment_rollup_watermarks SET watermark = NULL WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`,
    );
    expect((await report(key, expId)).freshness).toMatchObject({ as_of: null, pending: true });
    await same(key, expId);
  });

  it('a transaction running at the last refresh: what the refresh saw is not re-read, its own rows are read once it commits', async () => {
    const db = t.database.db;
    const experiments = t.modules.experiments;
    await same(key, expId);
    await experiments.refreshRollups(); // the other tenant's experiment too: counts below are this tenant's
    // L: a transaction begun before the writes below that (as the watermark will say) was still running at the refresh.
    const l = (await queryOne<{ xid: string }>(db, sql`SELECT pg_current_xact_id()::text AS xid`))!.xid;
    for (let i = 0; i < 30; i++) await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-5', event_id: `long-${i}` });
    expect((await experiments.refreshRollups()).units).toBe(30);
    // The watermark L would have left had it been open (PGlite's one connection cannot hold it): xmin L, L in progress.
    await db.execute(sql`UPDATE experiment_rollup_watermarks SET watermark = (${l} || ':' || pg_snapshot_xmax(watermark)::text || ':' || ${l})::pg_snapshot
      WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`);
    await track(key, 'click', { user_id: 'shopper-31', item_id: 'sku-5', event_id: 'long-31' });
    // L commits late with a row of its own (written under its id).
    await db.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, dedupe_key, occurred_at, ingest_xid)
      VALUES (${a.tenantId}, gen_random_uuid(), 'u:shopper-32', 'click', 1, 'long-late', now(), ${l}::xid8)`);
    // The new click and L's row: not the 30 units written after L began (an xmin watermark re-reads them: 32).
    expect((await experiments.refreshRollups()).units).toBe(2);
    await same(key, expId);
  });

  it.skipIf(!onPostgres)(
    'PostgreSQL, a second connection: a long transaction does not make refreshes re-read; its row is read once it commits',
    async () => {
      // PGlite has one connection: a transaction held open there holds every other statement (the case above stands in).
      const db = t.database.db;
      const experiments = t.modules.experiments;
      await same(key, expId);
      await experiments.refreshRollups(); // the other tenant's experiment too: counts below are this tenant's
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let written!: () => void;
      const ready = new Promise<void>((r) => (written = r));
      const held = db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, dedupe_key, occurred_at)
        VALUES (${a.tenantId}, gen_random_uuid(), 'u:shopper-33', 'click', 1, 'held-late', now())`);
        written();
        await gate;
      });
      await ready;
      try {
        for (let i = 0; i < 20; i++) await track(key, 'click', { user_id: `shopper-${i}`, item_id: 'sku-6', event_id: `held-${i}` });
        expect((await experiments.refreshRollups()).units).toBe(20);
        await track(key, 'click', { user_id: 'shopper-34', item_id: 'sku-6', event_id: 'held-34' });
        // An xmin watermark stays at the open transaction: it re-reads the 20 again (21).
        expect((await experiments.refreshRollups()).units).toBe(1);
      } finally {
        release();
        await held;
      }
      // Begun before those refreshes, committed after them: the next refresh reads its row.
      expect((await experiments.refreshRollups()).units).toBe(1);
      await same(key, expId);
    },
  );

  // Last: its bulk units would slow every later test's raw report.
  it('after a refresh: late events for rolled-up units, a unit moved to the other variant, an erased unit, more changed units than one batch', async () => {
    const db = t.database.db;
    await same(key, expId);
    const stateXmin = async (metricKey: string | null, unit: string) =>
      (
        await queryOne<{ xmin: string }>(
          db,
          sql`SELECT xmin::text AS xmin FROM experiment_unit_metrics WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}
              AND unit_id = ${unit} AND (${metricKey}::text IS NULL AND metric_key = 'units' OR metric_key = ${metricKey})`,
        )
      )?.xmin;
    // A late purchase for an already rolled-up unit: its purchase rollups move, its units and clicks states are not rewritten.
    const unitsBefore = await stateXmin(null, 'u:shopper-4');
    await track(key, 'purchase', { user_id: 'shopper-4', order_id: 'late-after-refresh', amount: '9.99', currency: 'USD' });
    await same(key, expId);
    expect(await stateXmin(null, 'u:shopper-4')).toBe(unitsBefore);
    // A unit moved to the other variant (assignment does not do this; a repair by hand might): it leaves one, joins the other.
    await db.execute(sql`UPDATE experiment_assignments SET variant_ids = ARRAY(
        SELECT CASE WHEN v = ANY(variant_ids) THEN (SELECT id FROM experiment_variants WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} AND id <> v LIMIT 1) ELSE v END
        FROM unnest(variant_ids) v), changed_xid = pg_current_xact_id()
      WHERE tenant_id = ${a.tenantId} AND unit_id = 'u:shopper-6' AND experiment_ids @> ARRAY[${expId}::uuid]`);
    const moved = await same(key, expId);
    expect(totalN(moved)).toBe(51);
    // An erased person: the unit's states follow its pseudonym; the report is unchanged.
    await t.modules.experiments.erasePerson(db, a.tenantId, { profileIds: [], userIds: ['shopper-8'], anonymousIds: [] });
    expect(await same(key, expId)).toEqual(moved);
    const erased = await queryRows<{ unit_id: string }>(
      db,
      sql`SELECT DISTINCT unit_id FROM experiment_unit_metrics WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} AND unit_id IN ('u:shopper-8')`,
    );
    expect(erased).toEqual([]);
    // More changed units than one refresh batch (20 here): new units with events, and late events for old ones.
    const [control, treatment] = (
      await queryRows<{ id: string }>(
        db,
        sql`SELECT id FROM experiment_variants WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} ORDER BY position`,
      )
    ).map((v) => v.id);
    await db.execute(sql`INSERT INTO experiment_assignments (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
      SELECT ${a.tenantId}, 'u:bulk-' || i, ARRAY[${expId}::uuid], ARRAY[CASE WHEN i % 2 = 0 THEN ${control}::uuid ELSE ${treatment}::uuid END],
             ARRAY[now() - interval '1 hour'], ARRAY[now()], ARRAY[1 + i % 3]
      FROM generate_series(1, 62) i`);
    await db.execute(sql`INSERT INTO experiment_metric_events (tenant_id, id, unit_id, event, value, currency, dedupe_key, occurred_at)
      SELECT ${a.tenantId}, gen_random_uuid(), 'u:bulk-' || i, 'purchase', 5 + i % 100, 'USD', 'bulk:' || i, now() - interval '30 minutes'
      FROM generate_series(1, 62, 3) i`);
    const bulk = await same(key, expId);
    expect(totalN(bulk)).toBe(51 + 62);
  }, 120_000);

  it("the scheduled task takes tenants in turns: one tenant's backlog of many batches does not hold another's refresh", async () => {
    const db = t.database.db;
    const experiments = t.modules.experiments;
    await experiments.refreshRollups();
    const [control] = (
      await queryRows<{ id: string }>(
        db,
        sql`SELECT id FROM experiment_variants WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId} ORDER BY position`,
      )
    ).map((v) => v.id);
    const base = totalN(await report(key, expId, '?source=raw'));
    // A: 210 new units, eleven batches of 20 (the bulk insert of a busy tenant). B: a click before each run.
    await db.execute(sql`INSERT INTO experiment_assignments (tenant_id, unit_id, experiment_ids, variant_ids, first_exposed_at, last_exposed_at, exposures)
      SELECT ${a.tenantId}, 'u:backlog-' || i, ARRAY[${expId}::uuid], ARRAY[${control}::uuid], ARRAY[now() - interval '1 hour'], ARRAY[now()], ARRAY[1]
      FROM generate_series(1, 210) i`);
    // Two runs of two batches: each run starts its rounds one tenant further on, so A goes first in one of them;
    // draining a tenant's backlog before the next tenant's would then leave B behind.
    for (const round of [1, 2]) {
      await track(bKey, 'click', { user_id: 'shopper-3', item_id: 'sku-7', event_id: `b-fair-click-${round}` });
      expect((await report(bKey, bExpId)).freshness.pending).toBe(true);
      expect(await experiments.refreshRollups({ maxBatches: 2 })).toMatchObject({ batches: 2, failed: 0, behind: 1 });
      expect((await report(bKey, bExpId)).freshness).toMatchObject({ pending: false, refreshing: false });
    }
    // A is part-way (two batches of eleven): its committed batches are in, the rest pending; the next run goes on from its cursor.
    const part = await report(key, expId);
    expect(part.freshness).toMatchObject({ pending: true, refreshing: true });
    expect(totalN(part)).toBe(base + 40);
    expect(await experiments.refreshRollups()).toMatchObject({ failed: 0, behind: 0 });
    const caughtUp = await same(key, expId);
    expect(totalN(caughtUp)).toBe(base + 210);
    // Built again from nothing, in batches of 200 units over unit id ranges (each its own transaction): the same report.
    await t.database.db.execute(
      sql`UPDATE experiment_rollup_watermarks SET watermark = NULL WHERE tenant_id = ${a.tenantId} AND experiment_id = ${expId}`,
    );
    // Two batches: B's (nothing new) and A's first.
    expect(await experiments.refreshRollups({ maxBatches: 2 })).toMatchObject({ batches: 2, behind: 1 });
    expect((await report(key, expId)).freshness).toMatchObject({ as_of: null, pending: true, refreshing: true });
    expect(await same(key, expId)).toEqual(caughtUp);
  }, 120_000);

  it("stopping an experiment runs its final refresh: the stopped experiment's report is complete without a forced refresh", async () => {
    await same(bKey, bExpId);
    for (let i = 0; i < 5; i++)
      await track(bKey, 'purchase', { user_id: `shopper-${i}`, order_id: `b-final-${i}`, amount: '15.00', currency: 'USD' });
    expect((await report(bKey, bExpId)).freshness.pending).toBe(true);
    expect((await t.request('POST', `/api/v1/admin/experiments/${bExpId}/stop`, { token: bKey })).status).toBe(200);
    const { freshness, ...stopped } = await report(bKey, bExpId);
    expect(freshness).toMatchObject({ pending: false, refreshing: false });
    const { freshness: _, ...raw } = await report(bKey, bExpId, '?source=raw');
    expect(stopped).toEqual(raw);
    // A purchase after the stop, inside the conversion window of a unit exposed before it: the scheduled task still
    // keeps a stopped experiment up while its window is open.
    await track(bKey, 'purchase', { user_id: 'shopper-7', order_id: 'b-after-stop', amount: '5.00', currency: 'USD' }); // under the cap of 80
    expect((await report(bKey, bExpId)).freshness.pending).toBe(true);
    expect(await t.modules.experiments.refreshRollups()).toMatchObject({ failed: 0, behind: 0 });
    const { freshness: late, ...lateReport } = await report(bKey, bExpId);
    expect(late.pending).toBe(false);
    const { freshness: __, ...lateRaw } = await report(bKey, bExpId, '?source=raw');
    expect(lateReport).toEqual(lateRaw);
    expect(lateReport).not.toEqual(stopped);
    // A forced refresh needs the manage permission; reading does not.
    const reader = await b.apiKey(['analytics:read']);
    expect((await t.request('GET', `/api/v1/admin/experiments/${bExpId}/report`, { token: reader })).status).toBe(200);
    expect((await t.request('GET', `/api/v1/admin/experiments/${bExpId}/report?refresh=true`, { token: reader })).status).toBe(403);
  });
});
