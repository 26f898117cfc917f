/**
 * Per-item demand forecasts over purchases posted through the events API: an intermittent item gets Croston with
 * intervals around a point near its daily rate, a daily seller gets seasonal naive, the method can be forced,
 * another tenant sees nothing, and bad queries are 400s naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

const DAY = 86_400_000;
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let readA: string;
let readB: string;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Items A');
  B = await t.createTenant('Items B');
  readA = await A.apiKey(['analytics:read']);
  readB = await B.apiKey(['analytics:read']);
  const write = await A.apiKey(['interactions:write']);
  const today = Math.floor(Date.now() / DAY);
  const events = [];
  // 'rare': 3 units every 4th day for 120 days (ADI 4: intermittent); 'daily': 2 units every day
  for (let d = 1; d <= 120; d++) {
    const at = new Date((today - d) * DAY + 12 * 3_600_000).toISOString();
    if (d % 4 === 0)
      events.push({ user_id: `u${d}`, item_id: 'rare', interaction_type: 'purchase', metadata: { quantity: 3 }, timestamp: at });
    events.push({ user_id: `v${d}`, item_id: 'daily', interaction_type: 'purchase', metadata: { quantity: 2 }, timestamp: at });
  }
  for (let i = 0; i < events.length; i += 100) {
    const r = await t.request('POST', '/api/v1/interactions/batch', { token: write, body: { events: events.slice(i, i + 100) } });
    expect(r.status).toBeLessThan(300);
  }
}, 420_000);
afterAll(async () => {
  await t?.close();
});

const get = (qs: string, token = readA) => t.request('GET', `/api/v1/predictions/forecast/items${qs}`, { token });

describe('per-item demand forecasts', () => {
  it('forecasts each item by its demand class, with 80% and 95% intervals', async () => {
    const r = await get('?item_id=rare,daily,unknown&horizon=14&history=120');
    expect(r.status).toBe(200);
    expect(r.body.missing).toEqual(['unknown']);
    const rare = r.body.data.find((x: { item_id: string }) => x.item_id === 'rare');
    const daily = r.body.data.find((x: { item_id: string }) => x.item_id === 'daily');
    expect(rare).toMatchObject({ method: 'croston', units_in_history: 90, demand: { kind: 'intermittent', adi: 4 } });
    expect(rare.history).toHaveLength(120);
    expect(rare.points).toHaveLength(14);
    // 3 units every 4 days (0.75 a day); Croston's interval starts at 1 (a sale on the window's first day)
    expect(rare.points[0].units).toBeCloseTo(3 / (4 - 3 * 0.9 ** 29), 2); // first interval counts from the window's start: 1, then 4s
    for (const p of rare.points) {
      expect(p.lower_95).toBeLessThanOrEqual(p.lower_80);
      expect(p.lower_80).toBeLessThanOrEqual(p.units);
      expect(p.upper_80).toBeGreaterThanOrEqual(p.units);
      expect(p.upper_95).toBeGreaterThanOrEqual(p.upper_80);
      expect(p.lower_95).toBeGreaterThanOrEqual(0);
    }
    expect(daily).toMatchObject({ method: 'seasonal_naive', units_in_history: 240, demand: { kind: 'smooth' } });
    expect(daily.points.every((p: { units: number }) => p.units === 2)).toBe(true);
  });

  it('takes the best sellers without ids, a forced method, and keeps tenants apart', async () => {
    const top = await get('?limit=1&history=120');
    expect(top.body.data.map((x: { item_id: string }) => x.item_id)).toEqual(['daily']);
    const tsb = await get('?item_id=rare&method=tsb&history=120');
    expect(tsb.body.data[0].method).toBe('tsb');
    const other = await get('?item_id=rare,daily&history=120', readB);
    expect(other.status).toBe(200);
    expect(other.body.data).toEqual([]);
    expect(other.body.missing).toEqual(['rare', 'daily']);
  });

  it('refuses bad queries by name', async () => {
    for (const qs of [
      '?horizon=0',
      '?horizon=91',
      '?history=7',
      '?method=magic',
      `?item_id=${Array.from({ length: 21 }, (_, i) => `i${i}`).join(',')}`,
      '?item_id=,',
      '?x=1',
    ]) {
      const r = await get(qs);
      expect(r.status, qs).toBe(400);
    }
    expect((await t.request('GET', '/api/v1/predictions/forecast/items')).status).toBe(401);
  });
});
