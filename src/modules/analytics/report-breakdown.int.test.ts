/**
 * A breakdown with 100,000 values (issue 18's bad input): sessions split by a UTM campaign with 100,000 distinct
 * values answer the `top` largest plus one `other` row whose sums are the rest, from the hour rollups and from the raw
 * rows alike. Known answers by construction: campaign k < 5 has 1 + (5 - k) * 10 sessions, every other campaign one;
 * every session is its own anonymous visitor with no page view (a bounce). Prints how long each read takes (loaded
 * machine: the load average is printed beside it).
 */
import { loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

const CAMPAIGNS = 100_000;
const TOP = 5;
const T0 = Date.parse('2026-05-04T00:00:00Z');
const campaign = (k: number) => `camp-${String(k).padStart(6, '0')}`;
const sizeOf = (k: number) => (k < TOP ? 1 + (TOP - k) * 10 : 1);
const TOTAL = Array.from({ length: CAMPAIGNS }, (_, k) => sizeOf(k)).reduce((a, b) => a + b, 0);

let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let readA: string;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Many campaigns');
  readA = await A.apiKey(['analytics:read']);
  // One session per campaign, spread over 10 hours, then the extra sessions of the five largest.
  await t.database.db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, anonymous_id, device_type, utm_source, utm_campaign, started_at)
    SELECT ${A.tenantId}::uuid, gen_random_uuid(), 'b' || g, 'a' || g, 'desktop', 'mail', 'camp-' || lpad(g::text, 6, '0'),
           ${new Date(T0).toISOString()}::timestamptz + (g % 600) * interval '1 minute'
    FROM generate_series(0, ${CAMPAIGNS - 1}) g`);
  const extra = Array.from({ length: TOP }, (_, k) => Array.from({ length: sizeOf(k) - 1 }, () => k)).flat();
  await t.database.db.execute(sql`INSERT INTO tracking_sessions (tenant_id, id, session_id, anonymous_id, device_type, utm_source, utm_campaign, started_at)
    SELECT ${A.tenantId}::uuid, gen_random_uuid(), 'x' || n, 'ax' || n, 'desktop', 'mail', 'camp-' || lpad(k::text, 6, '0'),
           ${new Date(T0).toISOString()}::timestamptz + (n % 600) * interval '1 minute'
    FROM unnest(${`{${extra.join(',')}}`}::int[]) WITH ORDINALITY AS e(k, n)`);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

describe('a breakdown by a UTM campaign with 100,000 values', () => {
  it('answers the top N and one `other` row with the rest, from the rollup and from the raw rows, and says how long', async () => {
    const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 86_400_000).toISOString()}`;
    const timed = async (tz: string) => {
      const started = performance.now();
      const r = await t.request('GET', `/api/v1/analytics/sessions?${range}&tz=${tz}&breakdown=utm_campaign&top=${TOP}&limit=0`, {
        token: readA,
      });
      const ms = performance.now() - started;
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return { body: r.body, ms };
    };
    const refreshStarted = performance.now();
    await t.modules.analytics.reportRollups!.refresh(A.tenantId);
    const buildMs = performance.now() - refreshStarted;
    // A breakdown is served from the raw rows (the hour rows by attribute answer it slower); the rollup's own breakdown
    // is read directly and must say the same.
    const fromHttp = await timed('UTC');
    const again = await timed('UTC');
    const fromRaw = await timed('Asia/Kolkata');
    expect(fromHttp.body.source).toBe('raw');
    expect(fromHttp.body.source_reason).toMatch(/breakdowns/);
    expect(fromRaw.body.source).toBe('raw');
    const w = { from: new Date(T0), to: new Date(T0 + 86_400_000), tz: 'UTC' };
    const rollupStarted = performance.now();
    const rolled = t.modules.analytics.reportRollups!;
    const [total, split] = await Promise.all([
      rolled.sessionMeasures(A.tenantId, w, {}, { kind: 'total' }),
      rolled.sessionMeasures(A.tenantId, w, {}, { kind: 'dimension', dimension: 'utm_campaign', limit: TOP }),
    ]);
    const fromRollup = {
      ms: performance.now() - rollupStarted,
      body: { summary: total[0], breakdown: split.map((x) => ({ ...x, value: x.key })) },
    };

    const want = [
      ...Array.from({ length: TOP }, (_, k) => ({ value: campaign(k), sessions: sizeOf(k), users: sizeOf(k), bounces: sizeOf(k) })),
      { value: 'other', sessions: CAMPAIGNS - TOP, users: CAMPAIGNS - TOP, bounces: CAMPAIGNS - TOP },
    ];
    for (const r of [fromRollup, fromHttp, fromRaw]) {
      const got = r.body.breakdown.map((b: { value: string; sessions: number; users: number; bounces: number }) => ({
        value: b.value,
        sessions: b.sessions,
        users: b.users,
        bounces: b.bounces,
      }));
      expect(got).toEqual(want);
      expect(r.body.summary.sessions).toBe(TOTAL);
      expect(r.body.summary.users).toBe(TOTAL);
    }
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    console.log(
      `[breakdown 100k campaigns, ${TOTAL} sessions] rollup build ${buildMs.toFixed(0)} ms; /sessions?breakdown=utm_campaign&top=${TOP}: ` +
        `rollup reads ${fromRollup.ms.toFixed(0)} ms, HTTP (raw) ${fromHttp.ms.toFixed(0)} ms (again ${again.ms.toFixed(0)} ms), raw in India's zone ${fromRaw.ms.toFixed(0)} ms; load average ${load} (loaded machine)`,
    );
  }, 300_000);
});
