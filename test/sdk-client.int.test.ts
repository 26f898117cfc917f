import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, LoupePaginationError, type Client } from '../sdk/src/client.ts';
import { createServerTracker } from '../sdk/src/node.ts';
import { createTracker } from '../sdk/src/tracker.ts';
import { queryRows } from '../src/platform/index.ts';
import { createTestApp, type TestApp } from './helpers.ts';

/**
 * The SDK's typed client against the real server over real HTTP (a listening app, Node's fetch): named
 * methods per endpoint, cursor walks, errors as values with Loupe's codes, Retry-After from a real 429,
 * events stored once however often a write is repeated, and one tenant's client never seeing another's data.
 */
describe('SDK typed client against a real server', () => {
  let t: TestApp;
  let host: string;
  let A: Awaited<ReturnType<TestApp['createTenant']>>;
  let B: Awaited<ReturnType<TestApp['createTenant']>>;
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    // Webhook endpoints may be on this machine (the test's own address stands for a receiver; no job runs).
    t = await createTestApp({ LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    host = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    A = await t.createTenant('Client store A');
    B = await t.createTenant('Client store B');
    a = createClient({ apiKey: await A.apiKey(['admin']), host, sleep: async () => {} });
    b = createClient({ apiKey: await B.apiKey(['admin']), host, sleep: async () => {} });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const item = (n: number) => ({ item_id: `sku-${n}`, name: `Trail shoe ${n}`, price: 10 + n, currency: 'EUR', brand: 'Peak' });

  it('manages the catalog with named methods and walks its pages', async () => {
    const created = await a.items.create(item(1));
    expect(created).toMatchObject({ ok: true, data: { item_id: 'sku-1', name: 'Trail shoe 1' } });
    const again = await a.items.create(item(1));
    expect(again).toMatchObject({ ok: false, error: { status: 409, code: 'CATALOG_ITEM_EXISTS' } });

    const bulk = await a.items.bulk([2, 3, 4, 5].map(item));
    expect(bulk.ok).toBe(true);
    const updated = await a.items.update('sku-2', { ...item(2), name: 'Trail shoe two' });
    expect(updated.ok && updated.data.name).toBe('Trail shoe two');
    const got = await a.items.get('sku-2');
    expect(got.ok && got.data.name).toBe('Trail shoe two');

    const firstPage = await a.items.list({ limit: 2 });
    expect(firstPage.ok && firstPage.data.data).toHaveLength(2);
    expect(firstPage.ok && firstPage.data.next_cursor).toBeTruthy();
    const all: string[] = [];
    for await (const it of a.items.all({ limit: 2 })) all.push(it.item_id);
    expect(all.sort()).toEqual(['sku-1', 'sku-2', 'sku-3', 'sku-4', 'sku-5']);

    const search = await a.search({ q: 'trail shoe', limit: 2 });
    expect(search.ok && search.data.total).toBe(5);
    const hits: string[] = [];
    for await (const h of a.searchAll({ q: 'trail shoe', limit: 2 })) hits.push(h.item_id);
    expect(hits.sort()).toEqual(all.sort());
    const ac = await a.autocomplete({ q: 'Pe' });
    expect(ac.ok && ac.data.suggestions.map((s) => s.text)).toContain('Peak');

    expect(await a.items.delete('sku-5')).toEqual({ ok: true, data: null });
    expect(await a.items.get('sku-5')).toMatchObject({ ok: false, error: { status: 404, code: 'CATALOG_ITEM_NOT_FOUND' } });
  });

  it('stores an event once however often it is sent, and resolves profiles readable through the client', async () => {
    const event = { event_id: 'ev-1', user_id: 'shopper-1', item_id: 'sku-1', interaction_type: 'view' } as const;
    const first = await a.interactions.track(event);
    const second = await a.interactions.track(event);
    expect(first.ok && second.ok).toBe(true);
    const batch = await a.interactions.batch([event, { user_id: 'shopper-1', item_id: 'sku-2', interaction_type: 'add_to_cart' }]);
    expect(batch.ok && batch.data.results.map((r) => r.status)).toEqual(['duplicate', 'tracked']);
    const profile = await a.profiles.lookup({ user_id: 'shopper-1' });
    expect(profile.ok && profile.data.event_count).toBe(2);
    const ids: string[] = [];
    for await (const p of a.profiles.all({ limit: 1 })) ids.push(p.id);
    expect(profile.ok && ids).toEqual([profile.ok && profile.data.id]);
    expect(await b.profiles.lookup({ user_id: 'shopper-1' })).toMatchObject({ ok: false, error: { status: 404 } });
  });

  it('walks a sorted list past its first page by offset, each row once, in the sort order', async () => {
    // Five shoppers first seen one day apart: the sorted walk must reach all of them (it stopped after page one).
    const users = ['walk-1', 'walk-2', 'walk-3', 'walk-4', 'walk-5'];
    for (const [n, user_id] of users.entries())
      await a.interactions.track({
        user_id,
        item_id: 'sku-1',
        interaction_type: 'view',
        timestamp: new Date(Date.UTC(2026, 0, 1 + n)).toISOString(),
      });
    const first = await a.profiles.list({ limit: 2, sort: 'first_seen_at' });
    const total = (first.ok && first.data.total) || -1;
    expect(total).toBeGreaterThanOrEqual(users.length);
    const walked: string[] = [];
    for await (const p of a.profiles.all({ limit: 2, sort: 'first_seen_at' }))
      if (p.identifiers.user_id?.startsWith('walk-')) walked.push(p.identifiers.user_id);
    expect(walked).toEqual(users);
    const ids: string[] = [];
    for await (const p of a.profiles.all({ limit: 2, sort: '-first_seen_at' })) ids.push(p.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    const tail: string[] = [];
    for await (const p of a.profiles.all({ limit: 2, sort: '-first_seen_at', offset: total - 3 })) tail.push(p.id);
    expect(tail).toEqual(ids.slice(total - 3));
    const other: unknown[] = [];
    for await (const p of b.profiles.all({ limit: 2, sort: 'first_seen_at' })) other.push(p);
    expect(other).toEqual([]);
  });

  it("starts sessions with the visitor's country, from the typed client and from the tracker with a site key", async () => {
    const started = await a.analytics.startSession({
      session_id: 'client-session-1',
      country: 'fr',
      landing_url: 'https://shop.test/?utm_source=news',
    });
    expect(started).toMatchObject({ ok: true, data: { session_id: 'client-session-1', country: 'FR', utm_source: 'news' } });
    expect(await a.analytics.startSession({ session_id: 'client-session-2', country: 'France' })).toMatchObject({
      ok: false,
      error: { status: 400 },
    });

    // The tracker as a store's page runs it: a site key, the page's origin (the browser adds it), a stand-in page.
    const site = await t.request('POST', '/api/v1/api-keys', {
      token: A.ownerToken,
      body: { name: 'site', kind: 'publishable', allowed_origins: ['https://shop.test'] },
    });
    expect(site.status, JSON.stringify(site.body)).toBe(201);
    const realFetch = globalThis.fetch;
    vi.stubGlobal('location', { href: 'https://shop.test/lamps', pathname: '/lamps', search: '', protocol: 'https:' });
    vi.stubGlobal('document', { cookie: '', referrer: 'https://search.test/', title: 'Lamps' });
    vi.stubGlobal('navigator', { language: 'de-AT', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0', onLine: true });
    vi.stubGlobal('localStorage', undefined);
    vi.stubGlobal('fetch', (url: string, init: RequestInit) =>
      realFetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), origin: 'https://shop.test' } }),
    );
    try {
      const tracker = createTracker({ writeKey: site.body.api_key, host, country: 'at' });
      expect(await tracker.startSession()).toBe(true);
      expect(await createTracker({ writeKey: site.body.api_key, host }).startSession()).toBe(true); // no country given
    } finally {
      vi.unstubAllGlobals();
    }
    const rows = await queryRows<{ session_id: string; country: string | null; locale: string | null; landing_url: string | null }>(
      t.database.db,
      sql`SELECT session_id, country, locale, landing_url FROM tracking_sessions WHERE tenant_id = ${A.tenantId} ORDER BY started_at, session_id`,
    );
    expect(rows.find((r) => r.session_id === 'client-session-1')?.country).toBe('FR');
    const fromTracker = rows.filter((r) => r.landing_url === 'https://shop.test/lamps');
    expect(fromTracker.map((r) => r.country).sort()).toEqual(['AT', null]);
    expect(fromTracker.every((r) => r.locale === 'de-AT')).toBe(true);
  });

  it('tracks from a server in batches of 100, each event stored once even when a flush is repeated', async () => {
    const server = createServerTracker({
      apiKey: await A.apiKey(['interactions:write']),
      host,
      flushInterval: 60_000,
      sleep: async () => {},
    });
    for (let i = 0; i < 250; i++)
      server.track({ user_id: `server-${i % 7}`, item_id: `sku-${(i % 4) + 1}`, interaction_type: 'view', event_id: `srv-${i}` });
    const first = await server.close();
    expect(first).toEqual({ sent: 250, failed: 0 });
    for (let i = 0; i < 10; i++) server.track({ user_id: 'server-0', item_id: 'sku-1', interaction_type: 'view', event_id: `srv-${i}` });
    expect(await server.flush()).toEqual({ sent: 10, failed: 0 });
    const stored = await t.request('GET', '/api/v1/profiles/lookup?user_id=server-0', { token: A.ownerToken });
    expect(stored.body.event_count).toBe(36); // i % 7 === 0 for 36 of 0..249; the ten repeats were duplicates
    const refused = createServerTracker({ apiKey: 'sk_live_not_a_key', host, sleep: async () => {} });
    refused.track({ user_id: 'x', item_id: 'sku-1', interaction_type: 'view' });
    expect(await refused.close()).toEqual({ sent: 0, failed: 1 });
    expect(refused.failures).toBe(1);
  });

  it('answers errors as values with Loupe codes: unknown ids, a wrong key', async () => {
    // No model trained: serving still answers (Loupe's popularity fallback), typed as the contract says.
    const recs = await a.recommendations({ user_id: 'shopper-1', count: 3 });
    expect(recs.ok && Array.isArray(recs.data.recommendations)).toBe(true);
    expect(await a.models.list()).toMatchObject({ ok: true });
    const similar = await a.similar({ item_id: 'sku-1', count: 2 });
    expect(similar.ok, JSON.stringify(similar)).toBe(true);
    expect(await a.similar({ item_id: 'no-such-item', count: 2 })).toMatchObject({ ok: false, error: { status: 404 } });
    expect(await a.models.get('00000000-0000-0000-0000-000000000000')).toMatchObject({ ok: false, error: { status: 404 } });
    const bad = createClient({ apiKey: 'sk_live_not_a_key', host, sleep: async () => {} });
    const r = await bad.items.list();
    expect(r).toMatchObject({ ok: false, error: { status: 401 } });
    if (!r.ok) expect(r.error.requestId).toBeTruthy();
    // A walk whose first page fails throws a LoupePaginationError carrying the value.
    await expect(
      (async () => {
        for await (const _ of bad.jobs.all()) void _;
      })(),
    ).rejects.toBeInstanceOf(LoupePaginationError);
  });

  it('manages webhook endpoints; tenant B sees none of tenant A', async () => {
    const types = await a.webhooks.eventTypes();
    expect(types.ok).toBe(true);
    const created = await a.webhooks.endpoints.create({ url: `${host}/receiver`, event_types: ['*'] });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    if (!created.ok) return;
    expect(created.data.secret).toMatch(/^whsec_/);
    const id = created.data.id;
    const updated = await a.webhooks.endpoints.update(id, { description: 'orders' });
    expect(updated.ok && updated.data.description).toBe('orders');
    const listed = await a.webhooks.endpoints.list();
    expect(listed.ok && listed.data.data.map((e) => e.id)).toEqual([id]);
    expect(await b.webhooks.endpoints.get(id)).toMatchObject({ ok: false, error: { status: 404 } });
    expect((await b.webhooks.endpoints.list()).ok && (await b.webhooks.endpoints.list())).toMatchObject({ data: { data: [] } });
    expect(await a.webhooks.endpoints.delete(id)).toEqual({ ok: true, data: null });
  });

  it("waits the server's Retry-After on a real 429 and gives the error value after its retries", async () => {
    const created = await t.request('POST', '/api/v1/api-keys', {
      token: A.ownerToken,
      body: { name: 'slow', scopes: ['catalog:read'], rate_limit_per_minute: 2 },
    });
    expect(created.status).toBe(201);
    const waits: number[] = [];
    const slow = createClient({ apiKey: created.body.api_key, host, retries: 2, sleep: async (ms) => void waits.push(ms) });
    expect((await slow.items.list()).ok).toBe(true);
    expect((await slow.items.list()).ok).toBe(true);
    const r = await slow.items.list();
    expect(r).toMatchObject({ ok: false, error: { status: 429, code: 'RATE_LIMITED' } });
    expect(waits).toHaveLength(2);
    for (const w of waits) expect(w).toBeGreaterThan(0);
    expect(waits.every((w) => w % 1000 === 0)).toBe(true); // whole seconds: Retry-After, not jittered backoff
  });
});
