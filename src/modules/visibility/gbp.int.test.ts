/**
 * Google Business Profile (issue 16): the business profile synced to a location through the Business Information
 * API, and the location's daily metrics from the Performance API, against a local server speaking both (bearer
 * tokens from the Google OAuth link, 401 refresh, 429/5xx retries, per-field 400s, zeros left out).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGoogleEnv, fakeMetricValue, startFakeGoogle, type FakeGoogle } from '../../../test/fakes/google.fake.ts';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';
import { SAMPLE_PROFILE } from './profile.fixtures.ts';

let t: TestApp;
let g: FakeGoogle;
beforeAll(async () => {
  g = await startFakeGoogle();
  t = await createTestApp(fakeGoogleEnv(g));
  t.jobs.start({ concurrency: 1 });
});
afterAll(async () => {
  await t?.close();
  await g?.close();
});

type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;

async function link(tenant: Tenant) {
  const r = await t.request('POST', '/google/oauth/link', { token: tenant.ownerToken, body: {} });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(new URL(r.body.authorization_url).searchParams.get('scope')).toContain('https://www.googleapis.com/auth/business.manage');
  const grant = await g.authorize(r.body.authorization_url);
  const cb = await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(grant.state)}`);
  expect(cb.status, JSON.stringify(cb.body)).toBe(200);
}

/** A tenant with Google linked, a saved profile and location 555 chosen; waits for the first metrics fetch. */
async function ready(profile: Record<string, unknown> = SAMPLE_PROFILE) {
  const a = await t.createTenant();
  await link(a);
  expect((await t.request('POST', '/tenant/profile', { token: a.ownerToken, body: profile })).status).toBe(201);
  const chosen = await t.request('PUT', '/google/business/location', {
    token: a.ownerToken,
    body: { account: 'accounts/1001', location: 'locations/555' },
  });
  expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
  await waitFetched(a);
  return a;
}

async function waitFetched(a: Tenant, after: string | null = null) {
  return pollUntil(
    'business profile metrics fetch',
    () => t.request('GET', '/google/business/location', { token: a.ownerToken }),
    (r) => !!r.body.location?.metrics_fetched_at && r.body.location.metrics_fetched_at !== after,
  );
}

const metricRows = (tenantId: string) =>
  queryRows<{ day: string; metric: string; value: string }>(
    t.database.db,
    sql`SELECT day::text AS day, metric, value::text AS value FROM gbp_daily_metrics WHERE tenant_id = ${tenantId} ORDER BY day, metric`,
  );

const resetLocation = () =>
  g.business.locations.set('locations/555', {
    account: 'accounts/1001',
    location: {
      name: 'locations/555',
      title: 'Old Title',
      storefrontAddress: { regionCode: 'US', locality: 'Springfield', addressLines: ['1 Old Rd'] },
      phoneNumbers: { primaryPhone: '+14155550000', additionalPhones: ['+14155550001'] },
    },
  });

describe('Business Profile location sync', () => {
  it('lists and picks a location, writes only what differs, and a second sync writes nothing', async () => {
    resetLocation();
    const a = await ready();
    const list = await t.request('GET', '/google/business/locations', { token: a.ownerToken });
    expect(list.status).toBe(200);
    expect(list.body.data).toContainEqual(expect.objectContaining({ account: 'accounts/1001', name: 'locations/555', title: 'Old Title' }));

    const from = g.business.calls.length;
    const first = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.status).toBe('synced');
    expect(first.body.updated).toEqual(
      expect.arrayContaining([
        'title',
        'phoneNumbers.primaryPhone',
        'storefrontAddress',
        'websiteUri',
        'regularHours',
        'profile.description',
      ]),
    );
    // free-text categories are not sent (Google takes category ids) and the merchant is told so
    expect(first.body.issues).toEqual([expect.objectContaining({ field: 'categories' })]);
    const held = g.business.locations.get('locations/555')!.location as any;
    expect(held.title).toBe('Trail Shoes Co');
    expect(held.phoneNumbers).toEqual({ primaryPhone: '+14155552671', additionalPhones: ['+14155550001'] });
    expect(held.storefrontAddress).toEqual({
      regionCode: 'US',
      postalCode: '94105',
      administrativeArea: 'CA',
      locality: 'San Francisco',
      addressLines: ['1 Market St'],
    });
    expect(held.regularHours.periods).toEqual([
      { openDay: 'MONDAY', openTime: { hours: 9 }, closeDay: 'MONDAY', closeTime: { hours: 18 } },
    ]);
    const patches = g.business.calls.slice(from).filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(1);

    const mark = g.business.calls.length;
    const again = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(again.body.status).toBe('unchanged');
    expect(g.business.calls.slice(mark).filter((c) => c.method === 'PATCH')).toHaveLength(0);

    // a changed field is the only one in the next mask
    await t.request('PATCH', '/tenant/profile', { token: a.ownerToken, body: { website: 'https://trailshoes.example.com/store' } });
    const third = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(third.body).toMatchObject({ status: 'synced', updated: ['websiteUri'] });
    expect(g.business.calls.at(-1)).toMatchObject({ method: 'PATCH', updateMask: 'websiteUri', status: 200 });
    const status = await t.request('GET', '/google/business/location', { token: a.ownerToken });
    expect(status.body.location).toMatchObject({ name: 'locations/555', sync_status: 'synced' });
  });

  it("shows Google's per-field refusal on the profile's field and changes nothing on Google", async () => {
    resetLocation();
    const a = await ready({ ...SAMPLE_PROFILE, phone: 'call us' });
    const out = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(out.status).toBe(200);
    expect(out.body.status).toBe('rejected');
    expect(out.body.issues).toContainEqual({
      field: 'phone',
      google_field: 'location.phone_numbers.primary_phone',
      message: 'Invalid phone number',
    });
    expect((g.business.locations.get('locations/555')!.location as any).title).toBe('Old Title');
    const status = await t.request('GET', '/google/business/location', { token: a.ownerToken });
    expect(status.body.location.sync_status).toBe('rejected');
    expect(status.body.location.sync_issues[0]).toMatchObject({ field: 'phone' });
  });

  it('refreshes the token once on a 401, retries 429 and 500, and answers 503 when Google keeps failing', async () => {
    resetLocation();
    const a = await ready();
    const refreshes = g.tokenRequests.filter((r) => r.grant === 'refresh_token').length;
    g.business.failNext.push(401);
    const out = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(out.body.status, JSON.stringify(out.body)).toBe('synced');
    expect(g.tokenRequests.filter((r) => r.grant === 'refresh_token' && r.ok).length).toBe(refreshes + 1);

    resetLocation();
    const mark = g.business.calls.length;
    g.business.failNext.push(429, 500);
    const retried = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(retried.body.status).toBe('synced');
    expect(g.business.calls.slice(mark).map((c) => c.status)).toEqual([429, 500, 200, 200]);

    resetLocation();
    g.business.failNext.push(500, 500, 500, 500, 500);
    const down = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('GBP_UNAVAILABLE');
    expect((await t.request('GET', '/google/business/location', { token: a.ownerToken })).body.location.sync_status).toBe('failed');
    g.business.failNext.length = 0;
  });

  it('refuses an unknown location, a bad resource name, and consent withdrawn at Google', async () => {
    const a = await t.createTenant();
    await link(a);
    const unknown = await t.request('PUT', '/google/business/location', {
      token: a.ownerToken,
      body: { account: 'accounts/1001', location: 'locations/999' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('GBP_LOCATION_UNKNOWN');
    const hostile = await t.request('PUT', '/google/business/location', {
      token: a.ownerToken,
      body: { account: 'accounts/1001', location: 'locations/../accounts' },
    });
    expect(hostile.status).toBe(400);
    const noLoc = await t.request('POST', '/google/business/sync', { token: a.ownerToken });
    expect(noLoc.status).toBe(409);
    expect(noLoc.body.error.code).toBe('GBP_LOCATION_NOT_SET');

    const b = await ready();
    g.revokeAll();
    const revoked = await t.request('POST', '/google/business/sync', { token: b.ownerToken });
    expect(revoked.status).toBe(409);
    expect(revoked.body.error.code).toBe('GOOGLE_CONSENT_REVOKED');
  });
});

describe('Business Profile daily metrics', () => {
  it('stores 14 days per metric once; a re-fetch overwrites, never duplicates; days outside the window are ignored', async () => {
    const a = await ready();
    const rows = await metricRows(a.tenantId);
    expect(rows).toHaveLength(14 * 7);
    const days = [...new Set(rows.map((r) => r.day))].sort();
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(days.at(-1)).toBe(yesterday);
    for (const r of rows.slice(0, 20)) expect(Number(r.value)).toBe(fakeMetricValue('locations/555', r.metric, r.day));

    const insights = await t.request('GET', `/google/business/insights?to=${yesterday}`, { token: a.ownerToken });
    expect(insights.status).toBe(200);
    expect(insights.body.days).toHaveLength(28);
    const y = insights.body.days.at(-1);
    expect(y).toMatchObject({
      date: yesterday,
      missing: false,
      website_clicks: fakeMetricValue('locations/555', 'WEBSITE_CLICKS', yesterday),
      call_clicks: fakeMetricValue('locations/555', 'CALL_CLICKS', yesterday),
      direction_requests: fakeMetricValue('locations/555', 'BUSINESS_DIRECTION_REQUESTS', yesterday),
      impressions_mobile_maps: fakeMetricValue('locations/555', 'BUSINESS_IMPRESSIONS_MOBILE_MAPS', yesterday),
    });
    expect(insights.body.days[0].missing).toBe(true);
    const sum = insights.body.days.reduce((n: number, d: { website_clicks: number }) => n + d.website_clicks, 0);
    expect(insights.body.totals.website_clicks).toBe(sum);

    // Google revises its figures: the re-fetch overwrites them; a misbehaving server's extra day is not stored
    g.business.metric = () => 7;
    g.business.extraDays = ['2001-01-01'];
    const before = (await t.request('GET', '/google/business/location', { token: a.ownerToken })).body.location.metrics_fetched_at;
    await new Promise((r) => setTimeout(r, 5));
    const job = await t.request('POST', '/google/business/insights/refresh', { token: a.ownerToken });
    expect(job.status).toBe(202);
    await waitFetched(a, before);
    const after = await metricRows(a.tenantId);
    expect(after).toHaveLength(14 * 7);
    expect(new Set(after.map((r) => r.value))).toEqual(new Set(['7']));
    g.business.metric = fakeMetricValue;
    g.business.extraDays = [];
  });

  it('keeps tenants apart and refuses a bad range', async () => {
    const a = await ready();
    const b = await t.createTenant();
    const other = await t.request('GET', '/google/business/insights', { token: b.ownerToken });
    expect(other.status).toBe(409);
    expect((await t.request('GET', '/google/business/location', { token: b.ownerToken })).body.location).toBeNull();
    expect(await metricRows(b.tenantId)).toHaveLength(0);
    const bad = await t.request('GET', '/google/business/insights?from=2026-03-10&to=2026-03-01', { token: a.ownerToken });
    expect(bad.status).toBe(400);
    const wide = await t.request('GET', '/google/business/insights?from=2020-01-01&to=2026-03-01', { token: a.ownerToken });
    expect(wide.status).toBe(400);
    const junk = await t.request('GET', '/google/business/insights?from=yesterday', { token: a.ownerToken });
    expect(junk.status).toBe(400);
  });

  it('records a failed fetch and keeps what it had', async () => {
    const a = await ready();
    const had = await metricRows(a.tenantId);
    g.business.failNext.push(500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500);
    const job = await t.request('POST', '/google/business/insights/refresh', { token: a.ownerToken });
    expect(job.status).toBe(202);
    const st = await pollUntil(
      'metrics fetch error recorded',
      () => t.request('GET', '/google/business/location', { token: a.ownerToken }),
      (r) => !!r.body.location?.metrics_error,
    );
    expect(st.body.location.metrics_error).toMatch(/did not answer/);
    expect(await metricRows(a.tenantId)).toEqual(had);
    g.business.failNext.length = 0;
  });
});
