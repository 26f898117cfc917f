/**
 * What one product page (`GET /api/v1/products/:id` of a match group) asks the database, counted on PostgreSQL with
 * `DatabaseOptions.onStatement` (every statement every pooled connection sends): the group with its summary row and its
 * offers in one statement (before: the group with its row, then the offers), never the price history while the group's summary row names the page's best
 * offer (before the summary rows: the group with an aggregate over its offers, the offers, and every offer's history).
 * A group without a row yet reads its best offer's history, once (and is never kept); a kept page sends none but the
 * cache's look. The embedded database has no hook: skipped there.
 * CENSUS=1 prints the statements.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestApp, createTestDatabase, type TestApp } from '../../../test/helpers.ts';
import type { Database } from '../../platform/database.ts';
import { newId } from '../../platform/index.ts';
import { refreshGroupSummaries } from './summary.service.ts';

const onPostgres = inject('dbTarget') === 'postgres';
/** Statements of a page whose group has its summary row: the group with the row and its offers, in one. */
const BOUND = 1;

let database: Database;
let t: TestApp;
let key: string;
let tenantId: string;
let capturing = false;
const captured: string[] = [];
const groups = [newId(), newId()];

beforeAll(async () => {
  if (!onPostgres) return;
  database = await createTestDatabase({
    onStatement: (text) => {
      if (capturing) captured.push(text.replace(/\s+/g, ' ').trim());
    },
  });
  t = await createTestApp({}, { database });
  const a = await t.createTenant('Product page statements');
  key = await a.apiKey(['catalog:read']);
  // Two groups of ten offers in ten stores, each offer with a price 40 days ago and one a day ago (the bench's shape).
  const tenant = a.tenantId;
  const stores = Array.from({ length: 10 }, () => newId());
  const db = database.db;
  for (const [k, s] of stores.entries())
    await db.execute(sql`INSERT INTO pricing_stores (tenant_id, id, name) VALUES (${tenant}, ${s}, ${`Store ${k}`})`);
  for (const g of groups) {
    await db.execute(sql`INSERT INTO pricing_match_groups (tenant_id, id, canonical_name) VALUES (${tenant}, ${g}, 'Kettle')`);
    for (const [k, s] of stores.entries()) {
      const o = newId();
      await db.execute(
        sql`INSERT INTO pricing_offers (tenant_id, id, store_id, external_id, title, price_minor, currency, match_group_id, price_updated_at)
            VALUES (${tenant}, ${o}, ${s}, ${`${g}-${k}`}, 'Kettle', ${1000 + k * 10}, 'USD', ${g}, now() - interval '1 day')`,
      );
      await db.execute(
        sql`INSERT INTO pricing_price_history (tenant_id, offer_id, observed_at, price_minor, currency, availability)
            VALUES (${tenant}, ${o}, now() - interval '40 days', ${1200 + k * 10}, 'USD', 'in_stock'),
                   (${tenant}, ${o}, now() - interval '1 day', ${1000 + k * 10}, 'USD', 'in_stock')`,
      );
    }
  }
  // The first group has its row (as every write leaves it); the second has none yet (before the backfill reaches it).
  await db.transaction((tx) => refreshGroupSummaries(tx, tenant, [groups[0]!], new Date()));
  // The first group is a catalog item's (the newsfeed's enrichment names items); the second, another's.
  await db.execute(
    sql`UPDATE pricing_match_groups SET catalog_item_id = 'sku-' || (CASE WHEN id = ${groups[0]} THEN 0 ELSE 1 END) WHERE tenant_id = ${tenant}`,
  );
  tenantId = tenant;
}, 120_000);

afterAll(async () => {
  if (!onPostgres) return;
  await t?.close();
  await database?.close();
});

/** The page cache's look (products.cache.ts: at most one per CHECK_MS per tenant), not the page's own read. */
const isLook = (x: string) => x.includes('pg_current_snapshot()') || x.includes('FROM pricing_network_sources WHERE tenant_id');

async function pageStatements(groupId: string, warm = groups[1]!): Promise<string[]> {
  // warm (auth, settings) on a group never kept (no summary row), so the measured page is read, not kept
  expect((await t.request('GET', `/api/v1/products/${warm}`, { token: key })).status).toBe(200);
  captured.length = 0;
  capturing = true;
  const r = await t.request('GET', `/api/v1/products/${groupId}`, { token: key });
  capturing = false;
  expect(r.status).toBe(200);
  expect(r.body.pricing.best_offer).toMatchObject({ price_minor: '1000', savings_minor: '200' });
  if (process.env.CENSUS) console.log(captured.map((x) => x.slice(0, 200)).join('\n'));
  return captured.filter((x) => !isLook(x));
}

describe.skipIf(!onPostgres)('product page statements', () => {
  it(`a page sends at most ${BOUND} statements and reads no price history when the group has its summary row`, async () => {
    const withRow = await pageStatements(groups[0]!);
    expect(withRow.length).toBeLessThanOrEqual(BOUND);
    expect(withRow.filter((x) => x.includes('pricing_price_history'))).toEqual([]);
    // the same page again is kept: no statement but the look
    expect(await pageStatements(groups[0]!)).toEqual([]);
    // without a row: the same answer, with one read of the best offer's history
    const without = await pageStatements(groups[1]!);
    expect(without.filter((x) => x.includes('pricing_price_history'))).toHaveLength(1);
    expect(without.length).toBeLessThanOrEqual(BOUND + 1);
  }, 60_000);

  it("the newsfeed's price drops read the summary row, not the offers' price history, for an item whose group has one", async () => {
    const drops = async (items: string[]) => {
      captured.length = 0;
      capturing = true;
      const d = await t.modules.pricing.priceDrops(tenantId, items);
      capturing = false;
      return { d, history: captured.filter((x) => x.includes('pricing_price_history')).length };
    };
    const withRow = await drops(['sku-0']);
    expect(withRow.d).toMatchObject([{ itemId: 'sku-0', offer: { priceMinor: 1000n, savingsMinor: 200n, wasMinor: 1200n } }]);
    expect(withRow.history).toBe(0);
    // the group without a row: the same answer from its offers and its best offer's history
    const without = await drops(['sku-1']);
    expect(without.d).toMatchObject([{ itemId: 'sku-1', offer: { priceMinor: 1000n, savingsMinor: 200n } }]);
    expect(without.history).toBe(1);
    // best offers (the feed's hot path) carry the row's savings too
    const best = await t.modules.pricing.bestOffers(tenantId, ['sku-0', 'sku-1']);
    expect(best.get('sku-0')).toMatchObject({ priceMinor: 1000n, savingsMinor: 200n, store: 'Store 0' });
    expect(best.get('sku-1')).toMatchObject({ priceMinor: 1000n, store: 'Store 0' });
  }, 60_000);
});
