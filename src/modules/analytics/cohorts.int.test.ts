/**
 * Saved cohorts end to end on the real app and both databases: the SQL builder's members equal the pure `inCohort`
 * over the raw rows for seeded random definitions (traits, aggregates, events in a window, RFM segments, scores, any
 * and all), CRUD with preview counts and members pages and CSV, tenants kept apart, hostile input refused or taken
 * as plain values, and two racing creates of one name.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { newId, queryRows } from '../../platform/index.ts';
import { type CohortDefinition, type CohortPerson, type CohortRule, inCohort } from './cohorts.core.ts';

let t: TestApp;
let A: string;
let B: string;
let ownerA: string;
let ownerB: string;
let readerA: string;

const P = '/api/v1/analytics/cohorts';
const DAY = 86_400_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const PLANS = ['gold', 'silver', 'Gold Plus', "O'Brien'); DROP TABLE profiles;--", '%_'] as const;
const SEGMENTS = ['Champions', 'At Risk', 'Lost', 'New'] as const;
const TYPES = ['view', 'add_to_cart', 'purchase'] as const;

/** Profiles, scores and interactions written as their owners store them (random, seeded). */
async function seed(tenantId: string, n: number, seedNo: number): Promise<void> {
  const r = rng(seedNo);
  const now = Date.now();
  const profiles: unknown[] = [];
  const scores: unknown[] = [];
  const events: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = newId();
    const traits: Record<string, unknown> = {};
    if (r() < 0.8) traits.plan = pick(r, PLANS);
    const age = r();
    if (age < 0.5) traits.age = 18 + Math.floor(r() * 50);
    else if (age < 0.65) traits.age = String(18 + Math.floor(r() * 50));
    if (r() < 0.3) traits.city = null;
    else if (r() < 0.5) traits.city = pick(r, ['Zürich', 'zurich', 'Paris']);
    if (r() < 0.3) traits.vip = r() < 0.5;
    if (r() < 0.1) traits.nested = { plan: 'gold' };
    profiles.push({
      id,
      status: r() < 0.1 ? 'merged' : 'active',
      traits,
      total_orders: Math.floor(r() * 6),
      event_count: Math.floor(r() * 50),
      revenue_minor: String(Math.floor(r() * 100_000)),
      last_seen_at: r() < 0.15 ? null : new Date(now - Math.floor(r() * 90 * DAY)).toISOString(),
    });
    if (r() < 0.7) {
      scores.push({
        profile_id: id,
        segment: pick(r, SEGMENTS),
        churn: Math.round(r() * 1000) / 1000,
        p_alive: r() < 0.2 ? null : Math.round(r() * 1000) / 1000,
        expected: r() * 5,
      });
    }
    const k = Math.floor(r() * 9);
    for (let j = 0; j < k; j++) {
      // Some in the future (clock skew): counted by neither side.
      const at = now - Math.floor(r() * 60 * DAY) + (r() < 0.05 ? 5 * DAY : 0);
      events.push({ id: newId(), profile_id: id, type: pick(r, TYPES), at: new Date(at).toISOString() });
    }
  }
  // Events with no profile belong to no one.
  events.push({ id: newId(), profile_id: null, type: 'view', at: new Date(now - DAY).toISOString() });
  const db = t.database.db;
  await db.execute(sql`INSERT INTO profiles (tenant_id, id, status, traits, total_orders, event_count, revenue_minor, last_seen_at)
    SELECT ${tenantId}, x.id, x.status, x.traits, x.total_orders, x.event_count, x.revenue_minor::int8, x.last_seen_at
      FROM jsonb_to_recordset(${JSON.stringify(profiles)}::jsonb)
        AS x(id uuid, status text, traits jsonb, total_orders int, event_count int, revenue_minor text, last_seen_at timestamptz)`);
  await db.execute(sql`INSERT INTO prediction_scores (tenant_id, profile_id, churn_probability, p_alive, expected_purchases, rfm_r, rfm_f, rfm_m, segment, scored_at)
    SELECT ${tenantId}, x.profile_id, x.churn, x.p_alive, x.expected, 3, 3, 3, x.segment, now()
      FROM jsonb_to_recordset(${JSON.stringify(scores)}::jsonb)
        AS x(profile_id uuid, segment text, churn real, p_alive real, expected real)`);
  await db.execute(sql`INSERT INTO interactions (tenant_id, id, dedupe_key, profile_id, type, source, occurred_at)
    SELECT ${tenantId}, x.id, x.id::text, x.profile_id, x.type, 'api', x.at
      FROM jsonb_to_recordset(${JSON.stringify(events)}::jsonb) AS x(id uuid, profile_id uuid, type text, at timestamptz)`);
}

/** Every active profile of a tenant as the pure evaluation reads it, from the raw rows. */
async function people(tenantId: string): Promise<Map<string, CohortPerson>> {
  const db = t.database.db;
  const ps = await queryRows<{
    id: string;
    traits: Record<string, unknown>;
    total_orders: number;
    event_count: number;
    revenue_minor: string;
    last_seen_at: string | null;
  }>(
    db,
    sql`SELECT id::text AS id, traits, total_orders, event_count, revenue_minor::text AS revenue_minor, last_seen_at::text AS last_seen_at
          FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active'`,
  );
  const sc = await queryRows<{
    profile_id: string;
    segment: string;
    churn: number | null;
    p_alive: number | null;
    expected: number | null;
  }>(
    db,
    sql`SELECT profile_id::text AS profile_id, segment, churn_probability::float8 AS churn, p_alive::float8 AS p_alive,
               expected_purchases::float8 AS expected FROM prediction_scores WHERE tenant_id = ${tenantId}`,
  );
  const ev = await queryRows<{ profile_id: string; type: string; at: string }>(
    db,
    sql`SELECT profile_id::text AS profile_id, type, occurred_at::text AS at FROM interactions WHERE tenant_id = ${tenantId} AND profile_id IS NOT NULL`,
  );
  const events = new Map<string, Array<{ type: string; at: Date }>>();
  for (const e of ev) {
    const list = events.get(e.profile_id) ?? [];
    list.push({ type: e.type, at: new Date(e.at) });
    events.set(e.profile_id, list);
  }
  const out = new Map<string, CohortPerson>();
  for (const p of ps) {
    out.set(p.id, {
      traits: p.traits,
      totalOrders: p.total_orders,
      eventCount: p.event_count,
      revenueMinor: BigInt(p.revenue_minor),
      lastSeenAt: p.last_seen_at ? new Date(p.last_seen_at) : null,
      events: events.get(p.id) ?? [],
      scores: null,
    });
  }
  for (const s of sc) {
    const p = out.get(s.profile_id);
    if (p)
      p.scores = {
        segment: s.segment,
        churnProbability: Number(s.churn),
        pAlive: s.p_alive === null ? null : Number(s.p_alive),
        expectedPurchases: s.expected === null ? null : Number(s.expected),
      };
  }
  return out;
}

function randomRule(r: () => number): CohortRule {
  const k = r();
  const cmp = pick(r, ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const);
  if (k < 0.3) {
    const op = pick(r, ['eq', 'neq', 'contains', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'] as const);
    const key = pick(r, ['plan', 'age', 'city', 'vip', 'nested', 'missing']);
    const value =
      op === 'exists' || op === 'not_exists'
        ? undefined
        : ['gt', 'gte', 'lt', 'lte'].includes(op)
          ? 18 + Math.floor(r() * 50)
          : pick(r, ['gold', 'Gold', 'zür', 'true', '42', "O'Brien'); DROP TABLE profiles;--", '%_', '']);
    return { kind: 'trait', key, op, ...(value === undefined ? {} : { value }) };
  }
  if (k < 0.5) {
    const field = pick(r, ['total_orders', 'event_count', 'revenue_minor', 'last_seen_days'] as const);
    const value =
      field === 'revenue_minor' ? Math.floor(r() * 100_000) : field === 'last_seen_days' ? Math.floor(r() * 90) : Math.floor(r() * 50);
    return { kind: 'profile', field, op: cmp, value };
  }
  if (k < 0.75) return { kind: 'event', event: pick(r, TYPES), op: cmp, count: Math.floor(r() * 4), within_days: 1 + Math.floor(r() * 60) };
  if (k < 0.87) return { kind: 'segment', segments: [pick(r, SEGMENTS), pick(r, SEGMENTS)] };
  return {
    kind: 'score',
    score: pick(r, ['churn_probability', 'p_alive', 'expected_purchases'] as const),
    op: cmp,
    value: Math.round(r() * 100) / 100,
  };
}

async function allMembers(token: string, id: string): Promise<{ ids: string[]; asOf: Date }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let asOf: Date | null = null;
  do {
    const res = await t.request('GET', `${P}/${id}/members?limit=37${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status).toBe(200);
    ids.push(...res.body.data.map((m: { profile_id: string }) => m.profile_id));
    asOf ??= new Date(res.body.as_of);
    cursor = res.body.next_cursor;
  } while (cursor);
  return { ids, asOf: asOf! };
}

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.createTenant('Cohorts A');
  const b = await t.createTenant('Cohorts B');
  A = a.tenantId;
  B = b.tenantId;
  ownerA = a.ownerToken;
  ownerB = b.ownerToken;
  readerA = await a.apiKey(['analytics:read']);
  await seed(A, 160, 7);
  await seed(B, 40, 8);
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('saved cohorts', () => {
  it('selects exactly the profiles the pure evaluation selects over the raw rows (seeded random definitions)', async () => {
    const r = rng(42);
    const raw = await people(A);
    let nonTrivial = 0;
    for (let i = 0; i < 30; i++) {
      const def: CohortDefinition = {
        match: r() < 0.5 ? 'all' : 'any',
        rules: Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomRule(r)),
      };
      const created = await t.request('POST', P, { token: ownerA, body: { name: `random ${i}`, definition: def } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const { ids, asOf } = await allMembers(ownerA, created.body.id);
      const expected = [...raw]
        .filter(([, p]) => inCohort(def, p, asOf))
        .map(([id]) => id)
        .sort();
      expect(ids, JSON.stringify(def)).toEqual(expected);
      if (expected.length > 0 && expected.length < raw.size) nonTrivial++;
      const one = await t.request('GET', `${P}/${created.body.id}`, { token: readerA });
      expect(one.body.count).toBe(expected.length);
      expect((await t.request('DELETE', `${P}/${created.body.id}`, { token: ownerA })).status).toBe(204);
    }
    // The random definitions cut the tenant, not all-or-nothing (else the comparison proves little).
    expect(nonTrivial).toBeGreaterThan(5);
  });

  it('saves, lists, previews, pages and exports members as CSV; renames and deletes', async () => {
    const definition: CohortDefinition = {
      match: 'all',
      rules: [{ kind: 'event', event: 'purchase', op: 'gte', count: 1, within_days: 30 }],
    };
    const preview = await t.request('POST', `${P}/preview`, { token: readerA, body: { definition } });
    expect(preview.status).toBe(200);
    const created = await t.request('POST', P, {
      token: ownerA,
      body: { name: 'Recent buyers', description: 'from the funnel report', definition },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Recent buyers', description: 'from the funnel report', definition });
    const list = await t.request('GET', P, { token: readerA });
    expect(list.body.data.map((c: { name: string }) => c.name)).toContain('Recent buyers');
    const { ids } = await allMembers(ownerA, created.body.id);
    expect(ids.length).toBe(preview.body.count);
    expect(new Set(ids).size).toBe(ids.length);
    const csv = await t.request('GET', `${P}/${created.body.id}/members?format=csv`, { token: ownerA });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = String(csv.body).trim().split('\n');
    expect(lines[0]).toBe('profile_id,total_orders,event_count,revenue_minor,last_seen_at');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(ids);
    // Members name people: an analytics-only key reads the definition and count, not the members.
    expect((await t.request('GET', `${P}/${created.body.id}/members`, { token: readerA })).status).toBe(403);
    expect((await t.request('POST', P, { token: readerA, body: { name: 'x', definition } })).status).toBe(403);
    const renamed = await t.request('PUT', `${P}/${created.body.id}`, { token: ownerA, body: { name: 'Buyers 30d', definition } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Buyers 30d');
    expect((await t.request('DELETE', `${P}/${created.body.id}`, { token: ownerA })).status).toBe(204);
    expect((await t.request('GET', `${P}/${created.body.id}`, { token: ownerA })).status).toBe(404);
    expect((await t.request('DELETE', `${P}/${created.body.id}`, { token: ownerA })).status).toBe(404);
  });

  it("keeps tenants apart: another tenant's cohort is not found, and a cohort counts only its tenant's profiles", async () => {
    const definition: CohortDefinition = { match: 'any', rules: [{ kind: 'profile', field: 'total_orders', op: 'gte', value: 0 }] };
    const a = await t.request('POST', P, { token: ownerA, body: { name: 'Everyone', definition } });
    const b = await t.request('POST', P, { token: ownerB, body: { name: 'Everyone', definition } });
    expect([a.status, b.status]).toEqual([201, 201]);
    const activeOf = async (tenantId: string) =>
      (
        await queryRows<{ n: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active'`,
        )
      )[0]!.n;
    expect((await t.request('GET', `${P}/${a.body.id}`, { token: ownerA })).body.count).toBe(await activeOf(A));
    expect((await t.request('GET', `${P}/${b.body.id}`, { token: ownerB })).body.count).toBe(await activeOf(B));
    for (const [method, url] of [
      ['GET', `${P}/${a.body.id}`],
      ['GET', `${P}/${a.body.id}/members`],
      ['GET', `${P}/${a.body.id}/members?format=csv`],
      ['PUT', `${P}/${a.body.id}`],
      ['DELETE', `${P}/${a.body.id}`],
    ] as const) {
      const res = await t.request(method, url, { token: ownerB, ...(method === 'PUT' ? { body: { name: 'stolen', definition } } : {}) });
      expect(res.status, `${method} ${url}`).toBe(404);
    }
    expect((await t.request('GET', P, { token: ownerB })).body.data.map((c: { id: string }) => c.id)).toEqual([b.body.id]);
    // The modules' interface: A's cohort asked under B's tenant is not found; A's members are A's profiles.
    await expect(t.modules.analytics.cohorts.members(B, a.body.id, { limit: 10 })).rejects.toMatchObject({
      code: 'ANALYTICS_COHORT_NOT_FOUND',
    });
    const aIds = await t.modules.analytics.cohorts.members(A, a.body.id, { limit: 10_000 });
    const bIds = await t.modules.analytics.cohorts.members(B, b.body.id, { limit: 10_000 });
    expect(aIds.filter((id) => bIds.includes(id))).toEqual([]);
    const among = await t.modules.analytics.cohorts.membersAmong(A, a.body.id, [...bIds.slice(0, 3), aIds[0]!, 'not-a-uuid']);
    expect([...among]).toEqual([aIds[0]]);
    expect((await t.modules.analytics.cohorts.cohortsOfProfile(A, aIds[0]!)).map((c) => c.name)).toContain('Everyone');
    expect(await t.modules.analytics.cohorts.cohortsOfProfile(B, aIds[0]!)).toEqual([]);
  });

  it('refuses hostile definitions and takes SQL-looking text as plain values', async () => {
    const bad: unknown[] = [
      { match: 'all', rules: [] },
      { match: 'all', rules: Array.from({ length: 21 }, () => ({ kind: 'profile', field: 'total_orders', op: 'gte', value: 0 })) },
      { match: 'all; DROP TABLE x', rules: [{ kind: 'profile', field: 'total_orders', op: 'gte', value: 0 }] },
      { rules: [{ kind: 'profile', field: 'total_orders', op: '>= 0 OR 1=1 --', value: 0 }] },
      { rules: [{ kind: 'profile', field: 'id', op: 'eq', value: 0 }] },
      { rules: [{ kind: 'trait', key: 'age', op: 'gt', value: '30' }] },
      { rules: [{ kind: 'trait', key: 'plan', op: 'eq' }] },
      { rules: [{ kind: 'trait', key: 'pl\u0000an', op: 'exists' }] },
      { rules: [{ kind: 'trait', key: 'x'.repeat(101), op: 'exists' }] },
      { rules: [{ kind: 'event', event: 'view', op: 'gte', count: 1, within_days: 0 }] },
      { rules: [{ kind: 'event', event: 'view', op: 'gte', count: -1, within_days: 7 }] },
      { rules: [{ kind: 'event', event: 'view', op: 'gte', count: 1.5, within_days: 7 }] },
      { rules: [{ kind: 'segment', segments: [] }] },
      { rules: [{ kind: 'score', score: 'churn_probability; --', op: 'gte', value: 0.5 }] },
      { rules: [{ kind: 'profile', field: 'revenue_minor', op: 'gte', value: 1.5 }] },
      { rules: [{ kind: 'profile', field: 'total_orders', op: 'gte', value: 0, extra: 1 }] },
    ];
    for (const definition of bad) {
      const res = await t.request('POST', `${P}/preview`, { token: readerA, body: { definition } });
      expect(res.status, JSON.stringify(definition)).toBe(400);
    }
    expect(
      (await t.request('POST', P, { token: ownerA, body: { name: '', definition: { rules: [{ kind: 'segment', segments: ['Lost'] }] } } }))
        .status,
    ).toBe(400);
    expect((await t.request('GET', `${P}/not-a-uuid`, { token: ownerA })).status).toBe(400);
    const any = (
      await t.request('POST', P, { token: ownerA, body: { name: 'Any', definition: { rules: [{ kind: 'segment', segments: ['Lost'] }] } } })
    ).body;
    expect((await t.request('GET', `${P}/${any.id}/members?cursor=abc`, { token: ownerA })).status).toBe(400);
    // SQL and LIKE metacharacters are values: the quote-laden plan matches exactly the profiles that hold it.
    const raw = await people(A);
    for (const value of ["O'Brien'); DROP TABLE profiles;--", '%_']) {
      const res = await t.request('POST', `${P}/preview`, {
        token: readerA,
        body: { definition: { rules: [{ kind: 'trait', key: 'plan', op: 'contains', value }] } },
      });
      expect(res.status).toBe(200);
      const expected = [...raw.values()].filter((p) =>
        String(p.traits.plan ?? '')
          .toLowerCase()
          .includes(value.toLowerCase()),
      ).length;
      expect(res.body.count).toBe(expected);
      expect(expected).toBeGreaterThan(0);
    }
    const weirdKey = await t.request('POST', `${P}/preview`, {
      token: readerA,
      body: { definition: { rules: [{ kind: 'trait', key: "plan' OR '1'='1", op: 'exists' }] } },
    });
    expect(weirdKey.body.count).toBe(0);
    expect((await queryRows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM profiles WHERE tenant_id = ${A}`))[0]!.n).toBe(
      160,
    );
  });

  it('gives one of two racing creates of a name the cohort and the other a conflict', async () => {
    const body = { name: 'Racing', definition: { rules: [{ kind: 'segment', segments: ['Champions'] }] } };
    const res = await Promise.all([0, 1, 2].map(() => t.request('POST', P, { token: ownerA, body })));
    expect(res.map((x) => x.status).sort()).toEqual([201, 409, 409]);
    expect(res.find((x) => x.status === 409)!.body.error.code).toBe('ANALYTICS_COHORT_NAME_TAKEN');
    const other = await t.request('POST', P, { token: ownerA, body: { ...body, name: 'Racing 2' } });
    expect((await t.request('PUT', `${P}/${other.body.id}`, { token: ownerA, body })).status).toBe(409);
  });
});
