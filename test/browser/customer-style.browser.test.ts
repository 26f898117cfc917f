import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers.ts';
import { HAS_CHROMIUM, screenshot, startDashboardServer, type DashboardServer, openSignedInPage } from './harness.ts';

/**
 * Customer 360's style profile in a real browser against the real server: a shopper's style, price, category
 * and occasion layers and commerce intent learned from their interactions, with confidence and bar charts; the
 * empty state for a person with no store user id; the error state when the profile cannot be read.
 */
describe.skipIf(!HAS_CHROMIUM)('style profile on Customer 360 in chromium', () => {
  let server: DashboardServer;
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let owner: Awaited<ReturnType<TestApp['createTenant']>>;
  let shopperId: string;
  let emailOnlyId: string;

  beforeAll(async () => {
    server = await startDashboardServer();
    ({ t, base, browser } = server);
    owner = await t.createTenant('Style House');
    const key = await owner.apiKey(['recommendations:read', 'interactions:write', 'profiles:read']);
    const items = Array.from({ length: 6 }, (_, k) => ({
      item_id: `sku-${k}`,
      name: `Piece ${k}`,
      category: k < 4 ? 'Dresses' : 'Shoes',
      brand: 'Acme',
      price: k < 4 ? '150.00' : '40.00',
      currency: 'USD',
      attributes: { style: k < 4 ? 'boho' : 'minimal', occasion: k < 4 ? 'wedding' : 'work' },
    }));
    expect((await t.request('POST', '/api/v1/items/bulk', { token: owner.ownerToken, body: items })).body.inserted).toBe(6);
    for (const [item, type] of [
      ['sku-0', 'purchase'],
      ['sku-1', 'add_to_cart'],
      ['sku-2', 'view'],
      ['sku-4', 'view'],
    ] as const)
      expect(
        (
          await t.request('POST', '/api/v1/interactions', {
            token: key,
            body: { user_id: 'stylist', item_id: item, interaction_type: type },
          })
        ).status,
      ).toBeLessThan(300);
    await t.modules.newsfeed.settled();
    for (let k = 0; k < 100; k++) {
      const r = await t.request('GET', '/api/v1/shoppers/stylist/style-profile', { token: key });
      if (r.body.profile?.events_count === 4) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const found = await t.request('GET', '/api/v1/profiles/lookup?user_id=stylist', { token: owner.ownerToken });
    expect(found.status).toBe(200);
    shopperId = found.body.id;
    const [p] = await t.modules.identity.resolveMany(owner.tenantId, [
      { identifiers: [{ type: 'email', value: 'nouser@example.com' }], channel: 'api', occurredAt: new Date() },
    ]);
    emailOnlyId = p!;
  }, 240_000);

  afterAll(async () => {
    await server?.close();
  });

  it("shows the shopper's layers, intent and confidence with charts; an empty state; an error state", async () => {
    const { page, errors } = await openSignedInPage(browser, base, owner.ownerEmail, 'Owner-Password-1', {
      path: `/customers/${shopperId}`,
    });
    const card = page.getByTestId('style-profile-card');
    await card.getByTestId('style-confidence').waitFor({ timeout: 15_000 });
    // 4 interactions: confidence 1 - e^(-4/20) = 18%; purchase + cart outweigh the views: intent "buy".
    expect(await card.getByTestId('style-confidence').textContent()).toContain('18%');
    expect(await card.getByTestId('style-intent').textContent()).toContain('buy');
    // Each layer has a chart, the heavier value first.
    const style = card.getByTestId('style-layer-style_layers');
    const chart = style.getByRole('img', { name: 'Style share of the profile' });
    await chart.waitFor();
    const labels = await chart.locator('text').allTextContents();
    expect(labels.indexOf('boho')).toBeGreaterThanOrEqual(0);
    expect(labels.indexOf('boho')).toBeLessThan(labels.indexOf('minimal'));
    expect(await card.getByTestId('style-layer-price_layers').locator('svg text').allTextContents()).toContain('premium');
    expect(await card.getByTestId('style-layer-category_layers').locator('svg text').allTextContents()).toContain('dresses');
    expect(await card.getByTestId('style-layer-occasion_layers').locator('svg text').allTextContents()).toContain('wedding');
    expect(await card.getByTestId('style-layer-commerce_intent').locator('svg text').allTextContents()).toContain('browse');
    await screenshot(page, 'customer-style-profile');
    // An order arrives after the style profile was read (it would move the confidence above).
    const order = await t.request('POST', '/api/v1/interactions', {
      token: owner.ownerToken,
      body: {
        user_id: 'stylist',
        item_id: 'sku-3',
        interaction_type: 'purchase',
        metadata: { order_id: 'S-1', price: '150.00', currency: 'USD' },
      },
    });
    expect(order.status).toBeLessThan(300);

    // A person with no store user id: the empty state, no request for a style profile; no orders yet.
    await page.goto(`${base}/customers/${emailOnlyId}`);
    await page.getByTestId('style-profile-card').getByText('No style profile', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByTestId('customer-orders').getByText('No orders yet', { exact: false }).waitFor();

    // The style profile cannot be read: an error state in the card; the rest of the page stays.
    await page.route('**/api/v1/shoppers/*/style-profile', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'INTERNAL', message: 'boom' } }),
      }),
    );
    await page.goto(`${base}/customers/${shopperId}`);
    await page.getByTestId('predictions-card').waitFor({ timeout: 15_000 });
    const failed = page.getByTestId('style-profile-card');
    await failed.locator('[data-testid="error-state"], [role="alert"]').first().waitFor({ timeout: 15_000 });
    expect(await failed.getByTestId('style-confidence').count()).toBe(0);
    // The person's orders with their totals.
    const orders = page.getByTestId('customer-orders');
    await orders.getByTestId('customer-orders-table').getByText('S-1').waitFor({ timeout: 15_000 });
    // The first purchase was sent without a price: counted, never shown as $0.00.
    expect(await orders.getByTestId('customer-orders-totals').textContent()).toBe('1 order: $150.00 net · 1 order without a price');
    await screenshot(page, 'customer-orders');

    // Privacy: export everything stored about the e-mail-only person, then erase them.
    await page.unroute('**/api/v1/shoppers/*/style-profile');
    await page.goto(`${base}/customers/${emailOnlyId}`);
    const privacy = page.getByTestId('customer-privacy');
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      privacy.getByRole('button', { name: 'Export their data (JSON)' }).click(),
    ]);
    expect(file.suggestedFilename()).toBe(`customer-${emailOnlyId}.json`);
    const exported = JSON.parse(fs.readFileSync((await file.path())!, 'utf8'));
    expect(exported.identifiers.map((i: { value: string }) => i.value)).toContain('nouser@example.com');
    await privacy.getByRole('button', { name: 'Erase this person' }).click(); // the harness accepts the confirm dialog
    await page.getByTestId('erased-notice').waitFor({ timeout: 15_000 });
    expect((await t.request('GET', `/api/v1/profiles/${emailOnlyId}`, { token: owner.ownerToken })).status).toBe(404);
    expect(errors.filter((e) => !/500|Failed to load resource/.test(e))).toEqual([]);
  }, 180_000);
});
