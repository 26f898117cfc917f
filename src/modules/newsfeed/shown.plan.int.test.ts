/**
 * The feed's per-shopper read is a named prepared statement on PostgreSQL, whose generic plan is made after five
 * runs and kept until the tables' statistics change. Made while `newsfeed_shown_items` was empty (here: ANALYZEd
 * empty, as after a deployment's or a bench's ANALYZE), a plan over the table itself read it by sequential scan on
 * every page once it had grown (bench:newsfeed: 12,688 rows per page). The shown items are read through
 * `newsfeed_shown_recent`, planned on each call: a page of a shopper reads that shopper's rows, not the table,
 * however empty the table was when the statement's plan was made. PostgreSQL only (the embedded database prepares
 * nothing).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Database, openDatabase } from '../../platform/database.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const OTHER_ROWS = 20_000;

let admin: pg.Client | undefined;
let dbAdmin: pg.Client | undefined;
let dbName: string;
let database: Database | undefined;
let t: TestApp | undefined;
let key: string;
let tenantId: string;

beforeAll(async () => {
  if (!onPostgres) return;
  const base = inject('pgUrl');
  dbName = `loupe_t_${inject('runId')}_np${randomBytes(3).toString('hex')}`;
  admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${inject('pgTemplate')}`);
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  dbAdmin = new pg.Client({ connectionString: url.toString() });
  await dbAdmin.connect();
  // few connections, so each makes its generic plan within the pages below
  database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 2 });
  t = await createTestApp({}, { database });
  const a = await t.createTenant('Feed plans');
  tenantId = a.tenantId;
  key = await a.apiKey(['recommendations:read']);
  const items = Array.from({ length: 60 }, (_, k) => ({ item_id: `sku-${k}`, name: `Item ${k}`, category: `C${k % 7}`, price: '9.00' }));
  expect((await t.request('POST', '/api/v1/items/bulk', { token: a.ownerToken, body: items })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await database?.close();
  await dbAdmin?.end();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
});

/** Rows of `newsfeed_shown_items` read by sequential scans so far, once every backend has reported its counts. */
async function seqRowsRead(): Promise<number> {
  // a backend reports its table counts within a second of going idle (PostgreSQL 15+)
  await new Promise((r) => setTimeout(r, 2_500));
  const r = await dbAdmin!.query(`SELECT seq_tup_read::int AS n FROM pg_stat_user_tables WHERE relname = 'newsfeed_shown_items'`);
  return r.rows[0].n as number;
}

describe.runIf(onPostgres)("the feed reads a shopper's shown items by index whenever its plan was made", () => {
  it("a table ANALYZEd empty, then grown: a page reads the shopper's rows, not the whole table", async () => {
    await dbAdmin!.query('ANALYZE newsfeed_shown_items');
    const page = async (user: string) => {
      const r = await t!.request('GET', `/api/v1/newsfeed?user_id=${user}`, { token: key });
      expect(r.status).toBe(200);
      return r.body.items as { item_id: string; sponsored: boolean }[];
    };
    // more than five pages per pooled connection: the per-shopper statement runs on its generic plan from here on
    for (let k = 0; k < 16; k++) await page(`early-${k % 2}`);
    await t!.modules.newsfeed.flushShown();
    // the table grows (other shoppers' history) with no ANALYZE since
    await dbAdmin!.query(
      `INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
       SELECT $1, 'other-' || (g / 20), 'sku-' || (g % 20), now() - interval '1 hour' FROM generate_series(1, $2::int) g
       ON CONFLICT DO NOTHING`,
      [tenantId, OTHER_ROWS],
    );
    const before = await seqRowsRead();
    for (let k = 0; k < 4; k++) await page(`early-${k % 2}`);
    const read = (await seqRowsRead()) - before;
    expect(read).toBeLessThan(OTHER_ROWS / 10);
  }, 120_000);
});
