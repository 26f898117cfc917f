import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { activeCampaign } from '../../../test/sponsored-campaigns.ts';

/**
 * The newsfeed end to end (PGlite, or PostgreSQL with LOUPE_TEST_DB=postgres): a full feed for a shopper with no
 * history, the tenant's diversity rules, infinite scroll without repeats, sponsored modules at positions 3 and 8
 * with organic backfill, brand follows, style profiles moving within a second, preferences, tenant isolation.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
let keyB: string;
const CATEGORIES = ['Shoes', 'Bags', 'Dresses', 'Jackets', 'Hats', 'Belts', 'Scarves'];
const BRANDS = ['Acme', 'Birch', 'Cobalt', 'Dune', 'Ember'];

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Fashion store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['recommendations:read', 'interactions:write', 'profiles:read', 'profiles:write']);
  keyB = await B.apiKey(['recommendations:read', 'interactions:write', 'profiles:read', 'profiles:write']);
  // 70 items: every (category, brand) pair twice, so the diversity rules can always be met.
  const items = Array.from({ length: 70 }, (_, k) => ({
    item_id: `sku-${k}`,
    name: `Item ${k}`,
    category: CATEGORIES[k % CATEGORIES.length],
    brand: BRANDS[Math.floor(k / CATEGORIES.length) % BRANDS.length],
    price: `${10 + k}.00`,
    currency: 'USD',
    attributes: { style: k % 2 ? 'minimal' : 'boho', occasion: 'work' },
  }));
  const r = await t.request('POST', '/api/v1/items/bulk', { token: A.ownerToken, body: items });
  expect(r.body.inserted).toBe(70);
  await t.request('POST', '/api/v1/items/bulk', { token: B.ownerToken, body: [{ item_id: 'b-only', name: 'B item', price: '5.00' }] });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const feed = (key: string, user: string, cursor?: string) =>
  t.request('GET', `/api/v1/newsfeed?user_id=${encodeURIComponent(user)}${cursor ? `&cursor=${cursor}` : ''}`, { token: key });

describe('GET /api/v1/newsfeed', () => {
  it('fills a full first page for a shopper with no history, under the diversity rules', async () => {
    const r = await feed(keyA, 'nobody');
    expect(r.status).toBe(200);
    expect(r.body.modules).toHaveLength(5);
    expect(r.body.items).toHaveLength(20);
    expect(r.body.experiment).toEqual({
      experiment_id: null,
      variant: 'default',
      module_order: ['for_you', 'new_from_brands', 'because_you_viewed', 'price_drops', 'trending'],
    });
    // Nothing is eligible: position 3 is backfilled with organic content, not labelled Sponsored.
    expect(r.body.modules[2]).toMatchObject({ position: 3, sponsored: false, label: null });
    const items = r.body.items as { category: string; brand: string }[];
    for (let k = 0; k < items.length; k++) {
      for (let j = Math.max(0, k - 4); j < k; j++) expect(items[j]!.category).not.toBe(items[k]!.category);
      for (let j = Math.max(0, k - 3); j < k; j++) expect(items[j]!.brand).not.toBe(items[k]!.brand);
    }
  });

  it('scrolls without repeats to the end; a page past the end is empty; a forged cursor is refused', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let last: string | undefined;
    do {
      const r = await feed(keyA, 'scroller', cursor);
      expect(r.status).toBe(200);
      for (const i of r.body.items) {
        expect(seen.has(i.item_id)).toBe(false);
        seen.add(i.item_id);
      }
      last = cursor;
      cursor = r.body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.size).toBe(70); // the whole catalog, each item once
    expect(last).toBeDefined();
    const forged = await feed(keyA, 'scroller', Buffer.from(JSON.stringify({ p: 99, b: [] })).toString('base64url'));
    expect(forged.body).toMatchObject({ items: [], modules: [], next_cursor: null });
    expect((await feed(keyA, 'scroller', 'not-a-cursor')).status).toBe(400);
  });

  it('puts a Sponsored module at positions 3 and 8 when a campaign is eligible, with a decision to report', async () => {
    const campaignId = await activeCampaign(t, A.ownerToken, { promoted_item_ids: ['sku-28', 'sku-29', 'missing-sku'] });
    const p1 = await feed(keyA, 'ads-viewer');
    const s3 = p1.body.modules[2];
    expect(s3).toMatchObject({
      position: 3,
      sponsored: true,
      label: 'Sponsored',
      title: 'Ember, new season',
      campaign_id: campaignId,
      item_ids: ['sku-28', 'sku-29'],
    });
    const p2 = await feed(keyA, 'ads-viewer', p1.body.next_cursor);
    expect(p2.body.modules.find((m: { position: number }) => m.position === 8)).toMatchObject({ sponsored: true, label: 'Sponsored' });
    // The decision can be reported as an impression.
    const imp = await t.request('POST', '/api/v1/sponsored/impressions', {
      token: keyA,
      body: { decision_id: s3.decision_id, campaign_id: campaignId, user_id: 'ads-viewer', placement: 'feed_position_3' },
    });
    expect(imp.status).toBe(200);
    await t.request('POST', `/api/v1/sponsored/campaigns/${campaignId}/pause`, { token: A.ownerToken });
  });

  it('shows new items from followed brands, and a style profile moves within a second of a view', async () => {
    expect((await t.request('POST', '/api/v1/shoppers/fan/follows', { token: keyA, body: { brand_id: 'cobalt' } })).body).toEqual({
      changed: true,
    });
    expect((await t.request('POST', '/api/v1/shoppers/fan/follows', { token: keyA, body: { brand_id: 'cobalt' } })).body).toEqual({
      changed: false,
    });
    const r = await feed(keyA, 'fan');
    const brands = r.body.modules.find((m: { type: string }) => m.type === 'new_from_brands');
    expect(brands).toBeDefined();
    for (const id of brands.item_ids) expect(r.body.items.find((i: { item_id: string }) => i.item_id === id).brand).toBe('Cobalt');

    const started = Date.now();
    const view = await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'fan', item_id: 'sku-3', interaction_type: 'view' },
    });
    expect(view.status).toBeLessThan(300);
    let profile: {
      category_layers: Record<string, number>;
      price_layers: Record<string, number>;
      commerce_intent: Record<string, number>;
    } | null = null;
    while (!profile && Date.now() - started < 1000) {
      const p = await t.request('GET', '/api/v1/shoppers/fan/style-profile', { token: keyA });
      profile = p.body.profile;
      if (!profile) await new Promise((res) => setTimeout(res, 25));
    }
    expect(profile, 'style profile within a second').not.toBeNull();
    // sku-3: Jackets by Acme at 13.00 (budget band); a view weighs 1.
    expect(profile!.category_layers.jackets).toBeCloseTo(1, 3);
    expect(profile!.price_layers.budget).toBeCloseTo(1, 3);
    expect(profile!.commerce_intent.browse).toBeCloseTo(1, 3);
    // An add to cart weighs 6: the layer grows by 6 (decay over a second is negligible at a 14-day half-life).
    await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'fan', item_id: 'sku-10', interaction_type: 'add_to_cart' },
    });
    await t.modules.newsfeed.settled();
    let after = (await t.request('GET', '/api/v1/shoppers/fan/style-profile', { token: keyA })).body;
    for (let k = 0; k < 40 && after.profile.events_count < 2; k++) {
      await new Promise((res) => setTimeout(res, 25));
      after = (await t.request('GET', '/api/v1/shoppers/fan/style-profile', { token: keyA })).body;
    }
    expect(after.profile.category_layers.jackets).toBeCloseTo(7, 2);
    expect(after.profile.commerce_intent.buy).toBeCloseTo(6, 2);
    expect(after.snapshots[0]).toMatchObject({ reason: 'first interactions' });
    // Because you viewed: the feed names the anchor.
    const again = await feed(keyA, 'fan');
    expect(again.status).toBe(200);
  });
});

describe('preferences and isolation', () => {
  it('stores stated preferences, refuses bad ranges, and keeps tenants apart', async () => {
    const put = await t.request('PUT', '/api/v1/shoppers/pat/preferences', {
      token: keyA,
      body: { styles: ['minimal'], categories: ['Bags'], price_min: '20', price_max: '150.50', currency: 'usd' },
    });
    expect(put.status).toBe(200);
    await t.request('POST', '/api/v1/shoppers/pat/favorites', { token: keyA, body: { item_id: 'sku-1' } });
    const got = await t.request('GET', '/api/v1/shoppers/pat/preferences', { token: keyA });
    expect(got.body.preferences).toMatchObject({ styles: ['minimal'], price_min: '20.00', price_max: '150.50', currency: 'USD' });
    expect(got.body.favorites.map((f: { item_id: string }) => f.item_id)).toEqual(['sku-1']);
    const bad = await t.request('PUT', '/api/v1/shoppers/pat/preferences', {
      token: keyA,
      body: { price_min: '9', price_max: '3', currency: 'USD' },
    });
    expect(bad.status).toBe(400);
    expect((await t.request('PUT', '/api/v1/shoppers/pat/preferences', { token: keyA, body: { price_min: '9' } })).status).toBe(400);
    // Tenant B's shopper "pat" is a different person: nothing of A's shows, and B's feed has only B's items.
    const other = await t.request('GET', '/api/v1/shoppers/pat/preferences', { token: keyB });
    expect(other.body).toMatchObject({ follows: [], favorites: [], preferences: { styles: [] } });
    const bFeed = await feed(keyB, 'pat');
    expect(bFeed.body.items.map((i: { item_id: string }) => i.item_id)).toEqual(['b-only']);
    expect(bFeed.body.modules.every((m: { sponsored: boolean }) => !m.sponsored)).toBe(true);
    const style = await t.request('GET', '/api/v1/shoppers/fan/style-profile', { token: keyB });
    expect(style.body).toMatchObject({ profile: null, snapshots: [] });
  });

  it('does not repeat items shown in the last N days: fills from other items, repeats only when the catalog runs out', async () => {
    const ids = (r: { body: { items: { item_id: string; sponsored: boolean }[] } }) =>
      r.body.items.filter((i) => !i.sponsored).map((i) => i.item_id);
    const first = await feed(keyA, 'returning');
    const shown = new Set(ids(first));
    expect(shown.size).toBe(20);
    // The shopper comes back: a full first page again, none of it shown before.
    const again = await feed(keyA, 'returning');
    expect(ids(again)).toHaveLength(20);
    for (const id of ids(again)) expect(shown.has(id)).toBe(false);
    // Scrolling on within that visit: its own page 0 does not shift page 1 (no repeats within the session either).
    const next = await feed(keyA, 'returning', again.body.next_cursor);
    expect(next.status).toBe(200);
    for (const id of ids(next)) {
      expect(shown.has(id)).toBe(false);
      expect(ids(again)).not.toContain(id);
    }
    for (const id of [...ids(again), ...ids(next)]) shown.add(id);
    expect(shown.size).toBe(60);
    // 10 items left unseen: the next visit shows them all, then fills with the least recently shown.
    const last = await feed(keyA, 'returning');
    expect(ids(last)).toHaveLength(20);
    const unseen = ids(last).filter((id) => !shown.has(id));
    expect(unseen).toHaveLength(10);
    // A dashboard preview records nothing: the same page twice.
    const p1 = await t.request('GET', '/api/v1/newsfeed?user_id=previewed&preview=true', { token: keyA });
    const p2 = await t.request('GET', '/api/v1/newsfeed?user_id=previewed&preview=true', { token: keyA });
    expect(ids(p2)).toEqual(ids(p1));
    // A cursor claiming a session start in the future is capped at now (it cannot hide nothing or everything).
    const future = Buffer.from(JSON.stringify({ p: 0, b: [], s: Date.now() + 86_400_000 * 365 })).toString('base64url');
    expect((await feed(keyA, 'previewed', future)).body.items).toHaveLength(20);
    expect((await feed(keyA, 'previewed', Buffer.from(JSON.stringify({ p: 0, b: [], s: 'x' })).toString('base64url'))).status).toBe(400);
  });

  it('the tenant turns the rule off (0): the same first page on every visit; the other tenant keeps its default', async () => {
    const admin = await t.adminToken();
    const off = await t.request('PATCH', `/api/v1/admin/tenants/${B.tenantId}`, {
      token: admin,
      body: { settings: { newsfeed: { rules: { not_shown_within_days: 0 } } } },
    });
    expect(off.status).toBe(200);
    const b1 = await feed(keyB, 'returning');
    const b2 = await feed(keyB, 'returning');
    expect(b1.body.items.map((i: { item_id: string }) => i.item_id)).toEqual(['b-only']);
    expect(b2.body.items.map((i: { item_id: string }) => i.item_id)).toEqual(['b-only']);
    // Tenant A still applies its default (7 days) to a shopper of the same id.
    const a1 = await feed(keyA, 'off-check');
    const a2 = await feed(keyA, 'off-check');
    const firstIds = new Set(a1.body.items.map((i: { item_id: string }) => i.item_id));
    expect(a2.body.items.some((i: { item_id: string }) => firstIds.has(i.item_id))).toBe(false);
  });

  it("erasing a person's profile erases their follows, favorites, preferences and style profile", async () => {
    await t.request('POST', '/api/v1/interactions', {
      token: keyA,
      body: { user_id: 'gone', item_id: 'sku-5', interaction_type: 'purchase' },
    });
    await t.request('POST', '/api/v1/shoppers/gone/follows', { token: keyA, body: { brand_id: 'Acme' } });
    await t.request('PUT', '/api/v1/shoppers/gone/preferences', { token: keyA, body: { styles: ['boho'] } });
    await t.modules.newsfeed.settled();
    const shownBefore = (await feed(keyA, 'gone')).body.items.map((i: { item_id: string }) => i.item_id);
    let before = (await t.request('GET', '/api/v1/shoppers/gone/style-profile', { token: keyA })).body.profile;
    for (let k = 0; k < 40 && !before; k++) {
      await new Promise((res) => setTimeout(res, 25));
      before = (await t.request('GET', '/api/v1/shoppers/gone/style-profile', { token: keyA })).body.profile;
    }
    expect(before).not.toBeNull();
    const found = await t.request('GET', '/api/v1/profiles/lookup?user_id=gone', { token: A.ownerToken });
    expect(found.status).toBe(200);
    const del = await t.request('DELETE', `/api/v1/profiles/${found.body.id}`, { token: A.ownerToken });
    expect(del.status).toBe(200);
    expect((await t.request('GET', '/api/v1/shoppers/gone/preferences', { token: keyA })).body).toMatchObject({
      follows: [],
      preferences: { styles: [] },
    });
    expect((await t.request('GET', '/api/v1/shoppers/gone/style-profile', { token: keyA })).body).toMatchObject({
      profile: null,
      snapshots: [],
    });
    // What the feed served is erased too: a returning id starts over (kept, none of these would come back for 7 days).
    const after = (await feed(keyA, 'gone')).body.items.map((i: { item_id: string }) => i.item_id);
    expect(after.filter((id: string) => shownBefore.includes(id)).length).toBeGreaterThan(0);
  });
});
