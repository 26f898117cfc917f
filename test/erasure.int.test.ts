/**
 * The right to be forgotten across every module: a person is tracked, shops, is put in an experiment, sees and
 * clicks a sponsored placement, follows a brand and gets recommendations; after `DELETE /api/v1/profiles/:id`
 * none of their ids, e-mails or session ids is left in any column of any table (found by scanning the whole
 * schema, so a table a future module adds is covered too), another person's rows are untouched, and the
 * anonymous aggregates (spend, experiment counts, order totals, page counts) still add up.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayParam, queryOne, queryRows } from '../src/platform/index.ts';
import { createTestApp, type TestApp } from './helpers.ts';
import { startStripeServer, type StripeTestServer } from './fakes/stripe-server.ts';
import { waitJob } from './recs-fixtures.ts';

let t: TestApp;
let stripe: StripeTestServer;
let tenantId: string;
let owner: string;
let key: string;

const X = { user: 'xq-user-77', anon: 'xq-anon-77', email: 'xq.person@shop.test', session: 'xq-sess-77' };
const Y = { user: 'yk-user-88', anon: 'yk-anon-88', email: 'yk.person@shop.test', session: 'yk-sess-88' };
type Person = typeof X;

beforeAll(async () => {
  stripe = await startStripeServer();
  t = await createTestApp({ STRIPE_API_URL: stripe.url });
  const a = await t.createTenant('Forgetful store');
  tenantId = a.tenantId;
  owner = a.ownerToken;
  key = await a.apiKey([
    'interactions:write',
    'commerce:write',
    'experiments:manage',
    'recommendations:read',
    'analytics:read',
    'profiles:write',
    'models:manage',
  ]);
  const s = await t.request('PUT', '/api/v1/commerce/settings', {
    token: owner,
    body: {
      tax_rate_bp: 0,
      tax_inclusive: false,
      shipping_options: [{ id: 'std', name: 'Standard', amount: 500, currency: 'USD' }],
      stripe_secret_key: 'sk_test_erasure',
      stripe_webhook_secret: stripe.addWebhookEndpoint('http://127.0.0.1:9/none'),
    },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(200);
  await t.modules.catalog.upsertItems(tenantId, [
    { itemId: 'lamp', name: 'Lamp', priceMinor: 5000n, currency: 'USD', stock: 100, brand: 'acme' },
    { itemId: 'book', name: 'Book', priceMinor: 1999n, currency: 'USD', brand: 'acme' },
    { itemId: 'vase', name: 'Vase', priceMinor: 2500n, currency: 'USD', brand: 'acme' },
  ]);
  // Other shoppers' history, so a recommendation model can be trained and served to the two people below.
  await t.modules.events.interactions.appendMany(
    tenantId,
    Array.from({ length: 30 }, (_, i) => ['lamp', 'book', 'vase'].slice(0, 2 + (i % 2)).map((itemId) => ({ i, itemId }))).flatMap((views) =>
      views.map(({ i, itemId }) => ({
        userId: `crowd-${i}`,
        itemId,
        type: 'view',
        source: 'api',
        occurredAt: new Date(Date.now() - 86_400_000),
      })),
    ),
  );
  t.jobs.start({ concurrency: 1 });
  const train = await t.request('POST', '/api/v1/train', { token: key, body: { model_type: 'item_knn' } });
  expect(train.status, JSON.stringify(train.body)).toBe(202);
  expect((await waitJob(t, key, train.body.job_id)).deployment_status).toBe('deployed');
}, 120_000);
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const post = async (url: string, body: unknown, token = key) => {
  const r = await t.request('POST', url, { token, body });
  expect(r.status, `${url}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  return r.body;
};

async function experiment(name = 'Erasure order'): Promise<string> {
  const created = await post('/api/v1/admin/experiments', { name, primary_metric: 'purchase' });
  await post(`/api/v1/admin/experiments/${created.id}/variants`, { key: 'control', config: {} });
  await post(`/api/v1/admin/experiments/${created.id}/variants`, { key: 'treatment', config: {} });
  await post(`/api/v1/admin/experiments/${created.id}/start`, {});
  return created.key as string;
}

async function sponsoredCampaign(): Promise<string> {
  const c = await post(
    '/api/v1/sponsored/campaigns',
    {
      brand_id: 'acme',
      name: 'Lamps',
      currency: 'USD',
      budget_amount: '10.00',
      budget_type: 'lifetime',
      start_date: new Date(Date.now() - 86_400_000).toISOString(),
      end_date: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      pricing_model: 'cpc',
      bid_amount: '0.50',
      pacing: 'asap',
      creative: { headline: 'Lamps' },
      promoted_item_ids: ['lamp'],
    },
    owner,
  );
  await post(`/api/v1/sponsored/campaigns/${c.id}/approve`, {}, owner);
  await post(`/api/v1/sponsored/campaigns/${c.id}/activate`, {}, owner);
  return c.id as string;
}

/** Everything one person does in the store, through the public API. */
async function liveADay(p: Person, experimentKey: string, campaignId: string): Promise<void> {
  await post('/api/v1/interactions', {
    user_id: p.user,
    anonymous_id: p.anon,
    session_id: p.session,
    item_id: 'lamp',
    interaction_type: 'view',
    identifiers: { email: p.email },
  });
  await post('/api/v1/analytics/session/start', {
    session_id: p.session,
    user_id: p.user,
    landing_url: `https://shop.test/?ref=mail&email=${p.email}`,
    referrer: `https://mail.test/inbox/${p.user}`,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120',
  });
  await post('/api/v1/analytics/page-view', {
    session_id: p.session,
    page_view_id: `pv-${Math.random().toString(36).slice(2)}`,
    page_url: `https://shop.test/p/lamp?u=${p.user}`,
    type: 'product',
    product_id: 'lamp',
  });
  await post('/api/v1/analytics/funnel', { session_id: p.session, stage: 'view_product', product_id: 'lamp' });
  await post('/api/v1/analytics/cart-event', {
    session_id: p.session,
    type: 'item_added',
    user_id: p.user,
    product_id: 'lamp',
    quantity: 1,
    price: '50.00',
  });
  const assigned = await post('/api/v1/experiments/assign', { user_id: p.user, anonymous_id: p.anon, experiments: [experimentKey] });
  expect(assigned.assignments).toHaveLength(1);
  await post('/api/v1/experiments/track-purchase', {
    user_id: p.user,
    order_id: `order-${Math.random().toString(36).slice(2)}`,
    revenue: 50,
  });
  const imp = await post('/api/v1/sponsored/impressions', { campaign_id: campaignId, user_id: p.user, placement: 'feed' });
  await post('/api/v1/sponsored/clicks', { impression_id: imp.id, user_id: p.user, user_agent: 'Mozilla/5.0 Chrome/120' });
  await post(`/api/v1/shoppers/${p.user}/follows`, { brand_id: 'acme' });
  const recs = await post('/api/v1/recommendations', { user_id: p.user, count: 2 });
  expect(recs.recommendation_id).toEqual(expect.any(String));
  // Shops: a paid order with an e-mail and a shipping address, and a second, still open cart.
  const cart = await post('/api/v1/cart/items', { user_id: p.user, item_id: 'lamp', quantity: 1 });
  await post('/api/v1/cart/shipping', {
    cart_id: cart.id,
    shipping_option_id: 'std',
    email: p.email,
    shipping_address: { name: `Pat ${p.user}`, line1: '1 Erasure Lane', city: 'Paris', country: 'FR' },
  });
  await post('/api/v1/cart/complete', { cart_id: cart.id, payment_method: 'pm_card_visa' });
  await post('/api/v1/cart/items', { user_id: p.user, item_id: 'book', quantity: 2 });
  // The feed records what it served the person (newsfeed_shown_items).
  const feed = await t.request('GET', `/api/v1/newsfeed?user_id=${encodeURIComponent(p.user)}`, { token: key });
  expect(feed.status, JSON.stringify(feed.body)).toBe(200);
  expect(feed.body.items.length, JSON.stringify(feed.body)).toBeGreaterThan(0);
}

/** Every (table, column) of the schema whose text, JSON or array value mentions one of the person's ids. */
async function whereMentioned(p: Person, profileId?: string): Promise<string[]> {
  const columns = await queryRows<{ table: string; column: string; tenant: boolean }>(
    t.database.db,
    sql`SELECT c.table_name AS "table", c.column_name AS "column",
          EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
                  AND k.column_name = 'tenant_id') AS tenant
        FROM information_schema.columns c JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE'
          AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json') OR c.udt_name IN ('_text', '_varchar'))
        ORDER BY 1, 2`,
  );
  const needles = [p.user, p.anon, p.email, p.session, ...(profileId ? [profileId] : [])].map((v) => `%${v.toLowerCase()}%`);
  const found: string[] = [];
  for (const c of columns) {
    const col = sql.identifier(c.column);
    const scope = c.tenant ? sql`tenant_id = ${tenantId} AND` : sql``;
    const hit = await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM ${sql.identifier(c.table)} WHERE ${scope} lower(${col}::text) LIKE ANY(${arrayParam(needles)}::text[])`,
    );
    if (hit!.n > 0) found.push(`${c.table}.${c.column}`);
  }
  return found;
}

const count = async (query: ReturnType<typeof sql>) => (await queryOne<{ n: number }>(t.database.db, query))!.n;

describe('erasure reaches every module', () => {
  it("leaves none of the person's ids anywhere, keeps the other person whole and the aggregates adding up", async () => {
    const experimentKey = await experiment();
    const campaignId = await sponsoredCampaign();
    await liveADay(X, experimentKey, campaignId);
    await liveADay(Y, experimentKey, campaignId);
    // Writes that wait in memory for a group commit (the erasure itself flushes them too, through beforeErasure).
    await t.modules.experiments.flushExposures();
    await t.modules.recs.flushServed();
    await t.modules.newsfeed.flushShown();
    await t.modules.sponsored.flushDecisions();

    const profile = await t.request('GET', `/api/v1/profiles/lookup?email=${X.email}`, { token: owner });
    expect(profile.status).toBe(200);
    const xProfile = profile.body.id as string;
    // Before: X is everywhere (this is what makes the scan below meaningful).
    const before = await whereMentioned(X, xProfile);
    const expected = [
      'interactions',
      'tracking_sessions',
      'page_views',
      'cart_events',
      'experiment_assignments',
      'sponsored_impressions',
      'sponsored_clicks',
      'carts',
      'orders',
      'recs_served',
      'newsfeed_shown_items',
    ];
    // The tables that should hold X but do not (an empty list; a failure names them first).
    expect(
      expected.filter((table) => !before.some((c) => c.startsWith(`${table}.`))),
      `tables that should hold X before erasure; X was found in: ${before.join(', ')}`,
    ).toEqual([]);
    const yProfile = (await t.request('GET', `/api/v1/profiles/lookup?email=${Y.email}`, { token: owner })).body.id as string;
    const yBefore = await whereMentioned(Y, yProfile);
    const totals = async () => ({
      assignments: await count(sql`SELECT count(*)::int AS n FROM experiment_assignments WHERE tenant_id = ${tenantId}`),
      impressions: await count(sql`SELECT count(*)::int AS n FROM sponsored_impressions WHERE tenant_id = ${tenantId}`),
      charged: await count(sql`SELECT COALESCE(sum(amount_milli), 0)::int AS n FROM sponsored_charges WHERE tenant_id = ${tenantId}`),
      orders: await count(sql`SELECT COALESCE(sum(total_minor), 0)::int AS n FROM orders WHERE tenant_id = ${tenantId}`),
      pageViews: await count(sql`SELECT count(*)::int AS n FROM page_views WHERE tenant_id = ${tenantId}`),
      sessions: await count(sql`SELECT count(*)::int AS n FROM tracking_sessions WHERE tenant_id = ${tenantId} AND pages_viewed > 0`),
    });
    const aggregatesBefore = await totals();

    const del = await t.request('DELETE', `/api/v1/profiles/${xProfile}`, { token: owner });
    expect(del.status, JSON.stringify(del.body)).toBe(200);

    expect(await whereMentioned(X)).toEqual([]);
    // The internal profile id (its row now an empty 'erased' shell) stays only where the erasure itself is audited.
    expect(await whereMentioned(X, xProfile)).toEqual(['audit_logs.resource_id']);
    expect(await whereMentioned(Y, yProfile)).toEqual(yBefore);
    expect(await totals()).toEqual(aggregatesBefore);
    // The open cart is gone; the paid order stays as a record, its timeline saying who was removed and why.
    expect(await count(sql`SELECT count(*)::int AS n FROM carts WHERE tenant_id = ${tenantId} AND status = 'active'`)).toBe(1);
    const redacted = await queryRows<{ type: string }>(
      t.database.db,
      sql`SELECT type FROM order_events WHERE tenant_id = ${tenantId} AND type = 'customer_redacted'`,
    );
    expect(redacted).toHaveLength(1);
    // The client's old session id no longer finds the session.
    const ended = await t.request('POST', '/api/v1/analytics/session/end', { token: key, body: { session_id: X.session } });
    expect(ended.status).toBe(404);
  });

  it('a person erased while their latest exposures and served recommendations are still buffered leaves nothing once the buffers are written', async () => {
    const Z = { user: 'zq-user-99', anon: 'zq-anon-99', email: 'zq.person@shop.test', session: 'zq-sess-99' };
    const experimentKey = await experiment('Erasure while buffered');
    await post('/api/v1/interactions', {
      user_id: Z.user,
      anonymous_id: Z.anon,
      item_id: 'lamp',
      interaction_type: 'view',
      identifiers: { email: Z.email },
    });
    // Exposures and served recommendations are buffered in memory and written in the background.
    for (let i = 0; i < 3; i++) {
      await post('/api/v1/experiments/assign', { user_id: Z.user, anonymous_id: Z.anon, experiments: [experimentKey] });
      await post('/api/v1/recommendations', { user_id: Z.user, count: 2 });
    }
    const z = await t.request('GET', `/api/v1/profiles/lookup?email=${Z.email}`, { token: owner });
    const del = await t.request('DELETE', `/api/v1/profiles/${z.body.id}`, { token: owner });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    // Writes that wait in memory for a group commit (the erasure itself flushes them too, through beforeErasure).
    await t.modules.experiments.flushExposures();
    await t.modules.recs.flushServed();
    await t.modules.newsfeed.flushShown();
    await t.modules.sponsored.flushDecisions();
    expect(await whereMentioned(Z)).toEqual([]);
  });
});
