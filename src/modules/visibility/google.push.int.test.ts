import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../../test/helpers.ts';
import { fakeGoogleEnv, startFakeGoogle, type FakeGoogle } from '../../../test/fakes/google.fake.ts';
import { queryRows } from '../../platform/index.ts';

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

async function link(tenant: Tenant, merchantId = '1001') {
  const r = await t.request('POST', '/google/oauth/link', {
    token: tenant.ownerToken,
    body: { merchant_id: merchantId, data_source_id: '77', feed_label: 'US', content_language: 'en' },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const grant = await g.authorize(r.body.authorization_url);
  const cb = await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(grant.state)}`);
  expect(cb.status, JSON.stringify(cb.body)).toBe(200);
  return { grant, url: r.body.authorization_url as string };
}

async function addItems(tenant: Tenant, ids: string[], over: Record<string, unknown> = {}) {
  const rows = ids.map((id) => ({
    item_id: id,
    name: `Product ${id}`,
    description: `The product ${id}.`,
    url: `https://shop.example.com/p/${id}`,
    image_url: `https://cdn.example.com/${id}.jpg`,
    price: '19.99',
    currency: 'USD',
    brand: 'Acme',
    mpn: `MPN-${id}`,
    ...over,
  }));
  const r = await t.request('POST', '/api/v1/items/bulk', {
    token: tenant.ownerToken,
    headers: { 'x-tenant-id': tenant.tenantId },
    body: rows,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function pushAndWait(tenant: Tenant, until: (job: any) => boolean = (j) => j.status === 'success' || j.status === 'failed') {
  const r = await t.request('POST', `/api/v1/tenants/${tenant.tenantId}/feed/push`, { token: tenant.ownerToken });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  expect(r.body.status).toBe('queued');
  return waitJob(tenant, r.body.id, until);
}

async function waitJob(tenant: Tenant, id: string, until: (job: any) => boolean) {
  const j = await pollUntil(
    'feed push job',
    () => t.request('GET', `/api/feed-jobs/${id}`, { token: tenant.ownerToken }),
    (r) => until(r.body),
  );
  return j.body;
}

const callsOf = (from: number) => g.calls.slice(from);
const trail = (job: { history: { to_status: string }[] }) => job.history.map((h) => h.to_status);

describe('Google OAuth (authorization code + PKCE + state)', () => {
  it('links, seals tokens at rest, and refuses wrong, replayed and cross-tenant states', async () => {
    const a = await t.createTenant();
    const { grant, url } = await link(a);
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
    const status = await t.request('GET', '/google/oauth/status', { token: a.ownerToken });
    expect(status.body).toMatchObject({
      linked: true,
      status: 'linked',
      google_account: 'merchant@example.com',
      merchant: { merchant_id: '1001' },
    });

    const rows = await queryRows<{ a: string; r: string }>(
      t.database.db,
      sql`SELECT access_token_sealed AS a, refresh_token_sealed AS r FROM google_oauth_tokens WHERE tenant_id = ${a.tenantId}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.a).not.toMatch(/ya29\./);
    expect(rows[0]!.r).not.toMatch(/^1\/\//);

    const replay = await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(grant.state)}`);
    expect(replay.status).toBe(400);
    expect(replay.body.error.code).toBe('OAUTH_STATE_USED');
    const wrong = await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(`${grant.state}x`)}`);
    expect(wrong.body.error.code).toBe('OAUTH_STATE_INVALID');
    const b = await t.createTenant();
    const moved = grant.state.replace(a.tenantId, b.tenantId);
    expect((await t.request('GET', `/google/oauth/callback?code=x&state=${encodeURIComponent(moved)}`)).body.error.code).toBe(
      'OAUTH_STATE_INVALID',
    );
    expect((await t.request('GET', '/google/oauth/callback?code=x&state=garbage')).body.error.code).toBe('OAUTH_STATE_INVALID');
    // B sees its own (empty) connection, not A's.
    expect((await t.request('GET', '/google/oauth/status', { token: b.ownerToken })).body).toMatchObject({ linked: false, merchant: null });
  });

  it("links through the fake's HTTP /authorize; a browser is sent back to /visibility with the outcome, API clients get JSON", async () => {
    const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const consent = async (tenant: Tenant, decision?: 'allow' | 'deny') => {
      const r = await t.request('POST', '/google/oauth/link', { token: tenant.ownerToken, body: {} });
      const u = new URL(r.body.authorization_url);
      if (decision) u.searchParams.set('decision', decision);
      return fetch(u, { redirect: 'manual' });
    };
    const a = await t.createTenant();
    // the consent page, then Allow: 302 to redirect_uri with code and state (RFC 6749 4.1.2)
    const page = await consent(a);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<button name="decision" value="allow">Allow<\/button>/);
    const allowed = await consent(a, 'allow');
    expect(allowed.status).toBe(302);
    const back = new URL(allowed.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe('https://loupe.example.com/google/oauth/callback');
    expect(back.searchParams.get('code')).toBeTruthy();
    const ok = await t.request('GET', `/google/oauth/callback${back.search}`, { headers: html });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/visibility?google=linked');
    expect((await t.request('GET', '/google/oauth/status', { token: a.ownerToken })).body.linked).toBe(true);
    // the same redirect replayed: the browser gets words, an API client the JSON error
    const replayed = await t.request('GET', `/google/oauth/callback${back.search}`, { headers: html });
    expect(replayed.headers.location).toBe('/visibility?google=error&reason=OAUTH_STATE_USED');
    expect((await t.request('GET', `/google/oauth/callback${back.search}`)).body.error.code).toBe('OAUTH_STATE_USED');
    const json = await t.request('GET', `/google/oauth/callback${back.search}`, { headers: { accept: 'application/json, text/html' } });
    expect(json.status).toBe(400);
    // a wrong state, from a browser
    const wrong = await t.request('GET', '/google/oauth/callback?code=x&state=garbage', { headers: html });
    expect(wrong.status).toBe(303);
    expect(wrong.headers.location).toBe('/visibility?google=error&reason=OAUTH_STATE_INVALID');
    // Deny: access_denied with the state; the tenant stays unlinked and the browser is told so
    const b = await t.createTenant();
    const denied = await consent(b, 'deny');
    expect(denied.status).toBe(302);
    const deniedBack = new URL(denied.headers.get('location')!);
    expect(deniedBack.searchParams.get('error')).toBe('access_denied');
    expect(deniedBack.searchParams.get('code')).toBeNull();
    const refused = await t.request('GET', `/google/oauth/callback${deniedBack.search}`, { headers: html });
    expect(refused.headers.location).toBe('/visibility?google=error&reason=OAUTH_ACCESS_DENIED');
    expect((await t.request('GET', '/google/oauth/status', { token: b.ownerToken })).body.linked).toBe(false);
    // a bad client or redirect_uri is shown on Google's side, never redirected (RFC 6749 4.1.2.1)
    const bad = new URL((await t.request('POST', '/google/oauth/link', { token: b.ownerToken, body: {} })).body.authorization_url);
    bad.searchParams.set('client_id', 'someone-else');
    bad.searchParams.set('decision', 'allow');
    const badRes = await fetch(bad, { redirect: 'manual' });
    expect(badRes.status).toBe(400);
    expect(badRes.headers.get('location')).toBeNull();
    const noPkce = new URL((await t.request('POST', '/google/oauth/link', { token: b.ownerToken, body: {} })).body.authorization_url);
    noPkce.searchParams.delete('code_challenge');
    expect((await fetch(noPkce, { redirect: 'manual' })).status).toBe(400);
  });

  it('a replayed code under a fresh state is refused by Google and revokes what it issued (RFC 6749 4.1.2)', async () => {
    const a = await t.createTenant();
    const { grant } = await link(a);
    const again = await t.request('POST', '/google/oauth/link', { token: a.ownerToken, body: {} });
    const fresh = new URL(again.body.authorization_url).searchParams.get('state')!;
    const r = await t.request('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(fresh)}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('OAUTH_CODE_REJECTED');
    const refresh = await t.request('POST', '/google/oauth/refresh', { token: a.ownerToken });
    expect(refresh.status).toBe(409);
    expect(refresh.body.error.code).toBe('GOOGLE_CONSENT_REVOKED');
    expect((await t.request('GET', '/google/oauth/status', { token: a.ownerToken })).body.status).toBe('consent_revoked');
  });

  it('refreshes on demand and before expiry, and unlink revokes the grant at Google', async () => {
    const a = await t.createTenant();
    await link(a);
    const before = g.tokenRequests.length;
    const r = await t.request('POST', '/google/oauth/refresh', { token: a.ownerToken });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(g.tokenRequests.slice(before)).toEqual([{ grant: 'refresh_token', ok: true }]);

    const un = await t.request('DELETE', '/google/oauth/unlink', { token: a.ownerToken });
    expect(un.body).toEqual({ unlinked: true, revoked_at_google: true });
    expect((await t.request('GET', '/google/oauth/status', { token: a.ownerToken })).body.status).toBe('not_linked');
    expect((await t.request('POST', '/google/oauth/refresh', { token: a.ownerToken })).body.error.code).toBe('GOOGLE_NOT_LINKED');
    expect((await t.request('DELETE', '/google/oauth/unlink', { token: a.ownerToken })).status).toBe(409);

    // Tokens that expire within the refresh margin are refreshed before a push uses them.
    const b = await t.createTenant();
    g.accessTtlSeconds = 60;
    try {
      await link(b);
    } finally {
      g.accessTtlSeconds = 3600;
    }
    await addItems(b, ['R1']);
    const n = g.tokenRequests.length;
    const job = await pushAndWait(b);
    expect(job.status).toBe('success');
    expect(g.tokenRequests.slice(n)).toEqual([{ grant: 'refresh_token', ok: true }]);
  });

  it('API keys cannot link or unlink (a person decides), and linking needs integrations:manage', async () => {
    const a = await t.createTenant();
    const key = await a.apiKey(['admin']);
    expect((await t.request('POST', '/google/oauth/link', { token: key, body: {} })).status).toBe(403);
    expect((await t.request('DELETE', '/google/oauth/unlink', { token: key })).status).toBe(403);
  });
});

describe('feed push to the Merchant API', () => {
  it('writes only changed items, propagates deletions, and keeps an audited job trail', async () => {
    const a = await t.createTenant();
    await link(a, '2002');
    await addItems(a, ['A', 'B', 'C']);
    let from = g.calls.length;
    const first = await pushAndWait(a);
    expect(first.status).toBe('success');
    expect(trail(first)).toEqual(['queued', 'processing', 'success']);
    expect(first.summary).toMatchObject({ items: 3, inserted: 3, deleted: 0, unchanged: 0, calls: 3 });
    expect(callsOf(from).map((c) => c.status)).toEqual([200, 200, 200]);
    const held = g.products.get('2002/en~US~A')!;
    expect(held.productAttributes).toMatchObject({
      title: 'Product A',
      price: { amountMicros: '19990000', currencyCode: 'USD' },
      availability: 'IN_STOCK',
    });

    from = g.calls.length;
    const again = await pushAndWait(a);
    expect(again.summary).toMatchObject({ inserted: 0, unchanged: 3, calls: 0 });
    expect(callsOf(from)).toEqual([]);

    await addItems(a, ['B'], { price: '17.50' });
    await t.request('DELETE', `/api/v1/tenants/${a.tenantId}/inventory/C`, { token: a.ownerToken });
    from = g.calls.length;
    const third = await pushAndWait(a);
    expect(third.summary).toMatchObject({ inserted: 1, deleted: 1, unchanged: 1 });
    expect(callsOf(from).map((c) => `${c.method} ${c.id}`)).toEqual(['POST en~US~B', 'DELETE en~US~C']);
    expect(g.products.has('2002/en~US~C')).toBe(false);
    expect(g.products.get('2002/en~US~B')!.productAttributes.price).toEqual({ amountMicros: '17500000', currencyCode: 'USD' });

    const list = await t.request('GET', '/api/feed-jobs', { token: a.ownerToken });
    expect(list.body.data.map((j: { id: string }) => j.id)).toEqual([third.id, again.id, first.id]);
  });

  it('retries 429 and 500 with backoff, never a 400; per-item issues from Google and from the precheck are stored and shown', async () => {
    const a = await t.createTenant();
    await link(a, '3003');
    await addItems(a, ['P1', 'P2', 'P3']);
    await addItems(a, ['BAD'], { description: 'Buy <script>steal()</script>' });
    g.failNext.push(429, 500);
    g.rejectOffers.add('P3');
    const from = g.calls.length;
    const job = await pushAndWait(a);
    g.rejectOffers.delete('P3');
    expect(job.status).toBe('success');
    const calls = callsOf(from);
    expect(calls.map((c) => c.status)).toEqual([429, 500, 200, 200, 400]);
    expect(calls.filter((c) => c.id.endsWith('~P3'))).toHaveLength(1);
    expect(job.summary).toMatchObject({ inserted: 2, rejected: 2, calls: 5 });

    const issues = await t.request('GET', `/api/feed-jobs/items/issues?job_id=${job.id}`, { token: a.ownerToken });
    const byItem = Object.fromEntries(issues.body.data.map((x: { item_id: string; issues: unknown[] }) => [x.item_id, x.issues]));
    expect(byItem.P3).toEqual([
      { source: 'google', field: 'product_attributes.price', message: 'Price mismatch between the landing page and the product data' },
    ]);
    expect(byItem.BAD[0]).toMatchObject({ source: 'precheck', field: 'description' });
    // The rejected item is tried again on the next push (no hash is kept for it); the others are unchanged.
    const from2 = g.calls.length;
    const next = await pushAndWait(a);
    expect(next.summary).toMatchObject({ inserted: 1, unchanged: 2, rejected: 1 });
    expect(callsOf(from2).map((c) => c.id)).toEqual(['en~US~P3']);
  });

  it('a 410 fails the job without retries; persistent 5xx fails and schedules a retry; people can fail or retry jobs', async () => {
    const a = await t.createTenant();
    await link(a, '4004');
    await addItems(a, ['G1']);
    g.gone = true;
    let job;
    try {
      job = await pushAndWait(a);
    } finally {
      g.gone = false;
    }
    expect(job.status).toBe('failed');
    expect(trail(job)).toEqual(['queued', 'processing', 'failed']);
    expect(job.last_error).toMatch(/410/);

    g.failNext.push(500, 500, 500, 500, 500);
    const flaky = await pushAndWait(a, (j) => j.status === 'retried');
    expect(trail(flaky)).toEqual(['queued', 'processing', 'failed', 'retried']);
    expect(flaky.history[2].reason).toMatch(/after retries/);
    // The retry waits 30 s or more: a person gives up on it instead.
    const giveUp = await t.request('PATCH', `/api/feed-jobs/${flaky.id}/status`, {
      token: a.ownerToken,
      body: { status: 'failed', reason: 'not now' },
    });
    expect(giveUp.status, JSON.stringify(giveUp.body)).toBe(200);
    expect(trail(giveUp.body).slice(-1)).toEqual(['failed']);
    expect(giveUp.body.history.at(-1)).toMatchObject({ actor_type: 'user', reason: 'not now' });
    // ... then retries it by hand: it runs again at once and succeeds.
    const retry = await t.request('PATCH', `/api/feed-jobs/${flaky.id}/status`, { token: a.ownerToken, body: { status: 'retried' } });
    expect(retry.status).toBe(200);
    const done = await waitJob(a, flaky.id, (j) => j.status === 'success');
    expect(trail(done)).toEqual(['queued', 'processing', 'failed', 'retried', 'failed', 'retried', 'processing', 'success']);
    const bad = await t.request('PATCH', `/api/feed-jobs/${flaky.id}/status`, { token: a.ownerToken, body: { status: 'retried' } });
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('FEED_JOB_TRANSITION_INVALID');
  });

  it('a token revoked by Google mid-push: one refresh, then the job fails with the consent error', async () => {
    const a = await t.createTenant();
    await link(a, '5005');
    await addItems(a, ['T1', 'T2']);
    g.revokeAll();
    const job = await pushAndWait(a);
    expect(job.status).toBe('failed');
    expect(job.last_error).toMatch(/Link Google again/);
    expect(trail(job)).toEqual(['queued', 'processing', 'failed']);
    expect((await t.request('GET', '/google/oauth/status', { token: a.ownerToken })).body.status).toBe('consent_revoked');
  });

  it("another tenant's job ids answer 404; its jobs are not listed; push needs a Merchant Center target", async () => {
    const a = await t.createTenant();
    await link(a, '6006');
    await addItems(a, ['X1']);
    const job = await pushAndWait(a);
    const b = await t.createTenant();
    expect((await t.request('GET', `/api/feed-jobs/${job.id}`, { token: b.ownerToken })).status).toBe(404);
    const patch = await t.request('PATCH', `/api/feed-jobs/${job.id}/status`, { token: b.ownerToken, body: { status: 'retried' } });
    expect(patch.status).toBe(404);
    expect(patch.body.error.code).toBe('FEED_JOB_NOT_FOUND');
    expect(
      (await t.request('PATCH', '/api/feed-jobs/not-a-uuid/status', { token: b.ownerToken, body: { status: 'retried' } })).status,
    ).toBe(404);
    expect((await t.request('GET', '/api/feed-jobs', { token: b.ownerToken })).body.data).toEqual([]);
    expect((await t.request('GET', `/api/feed-jobs/items/issues?job_id=${job.id}`, { token: b.ownerToken })).body.data).toEqual([]);
    expect((await t.request('POST', `/api/v1/tenants/${a.tenantId}/feed/push`, { token: b.ownerToken })).status).toBe(404);
    const noTarget = await t.request('POST', '/google/feeds/push', { token: b.ownerToken });
    expect(noTarget.status).toBe(409);
    expect(noTarget.body.error.code).toBe('GOOGLE_MERCHANT_NOT_SET');
    // With a key: the key's tenant only.
    const key = await b.apiKey(['catalog:write']);
    expect((await t.request('POST', `/api/v1/tenants/${a.tenantId}/feed/push`, { token: key })).status).toBe(404);
  });
});
