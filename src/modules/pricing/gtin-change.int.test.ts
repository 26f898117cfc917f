import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { importFeedCsv } from '../../../test/pricing-networks.ts';

/**
 * Bad input of issue 13: an offer that changes its GTIN. The store's listing keeps its offer id (and price history)
 * but leaves the group of its old GTIN for the group of its new one; the old group's page no longer lists it, and the
 * move is logged.
 */
let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await createTestApp();
  key = await (await t.createTenant('GTIN change')).apiKey(['catalog:read', 'catalog:write']);
  t.jobs.start({ concurrency: 1 });
}, 240_000);
afterAll(async () => {
  await t?.close();
}, 120_000);

const api = (method: string, url: string, body?: unknown) =>
  t.request(method, url, { token: key, ...(body !== undefined ? { body } : {}) });

const offer = async (q: string) => (await api('GET', `/api/v1/pricing/offers?q=${q}`)).body.data[0];
const EAN = '4006381333931';
const UPC = '036000291452';

describe('an offer that changes its GTIN', () => {
  it('moves from the group of its old GTIN to the group of its new one, keeping its id', async () => {
    const x = (await api('POST', '/api/v1/pricing/stores', { name: 'Store X' })).body.id;
    const y = (await api('POST', '/api/v1/pricing/stores', { name: 'Store Y' })).body.id;
    await importFeedCsv(t, key, y, `id,title,gtin,price\nY1,Headphones studio,${EAN},50.00 USD\nY2,Speaker outdoor,${UPC},80.00 USD\n`);
    await importFeedCsv(t, key, x, `id,title,gtin,price\nX1,Headphones studio,${EAN},48.00 USD\n`);
    const before = await offer('X1');
    const [y1, y2] = [await offer('Y1'), await offer('Y2')];
    expect(before.match_group_id).toBe(y1.match_group_id);
    expect(y2.match_group_id).not.toBe(y1.match_group_id);

    // the store corrects X1's GTIN: it is the speaker
    await importFeedCsv(t, key, x, `id,title,gtin,price\nX1,Headphones studio,${UPC},48.00 USD\n`);
    const after = await offer('X1');
    expect(after.id).toBe(before.id);
    expect(after.match_group_id).toBe(y2.match_group_id);
    expect((await offer('Y1')).match_group_id).toBe(y1.match_group_id);
    const oldPage = (await api('GET', `/api/v1/products/${y1.match_group_id}`)).body.pricing;
    expect([oldPage.best_offer, ...oldPage.other_offers].map((o: { offer_id: string }) => o.offer_id)).toEqual([y1.id]);
    const newPage = (await api('GET', `/api/v1/products/${y2.match_group_id}`)).body.pricing;
    expect(newPage.best_offer).toMatchObject({ offer_id: before.id, price_minor: '4800' });
  });
});
