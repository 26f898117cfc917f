/**
 * The feed's per-shopper read is a named prepared statement on PostgreSQL, whose generic plan is made at the sixth
 * run and kept until the tables' statistics change. Made while `newsfeed_shown_items` was empty (here: ANALYZEd
 * empty, as after a deployment's or a bench's ANALYZE), it read the grown table by sequential scan on every page
 * (bench:newsfeed: 12,688 rows per page). The statement's text carries a plan generation that moves each time the
 * process's runs of it double (`shopperPlanGeneration`): prepared anew, it is planned against the table's size then,
 * and reads the shopper's rows by index. Driven through the repository on one pooled connection, so the generic plan
 * is made while the table is empty (through the API, the pages' own shown rows reach the table before the sixth
 * run). PostgreSQL only (the embedded database prepares nothing).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Database, openDatabase, queryRows } from '../../platform/database.ts';
import { createPreferencesRepository, SHOPPER_PLAN_FIRST, shopperPlanGeneration } from './preferences.repository.ts';

const onPostgres = inject('dbTarget') === 'postgres';
const OTHER_ROWS = 20_000;
const TENANT = '00000000-0000-7000-8000-00000000f00d';

let admin: pg.Client | undefined;
let dbAdmin: pg.Client | undefined;
let dbName: string;
let database: Database | undefined;

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
  // one pooled connection: every read below runs the same named statement on it
  database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 1 });
}, 120_000);

afterAll(async () => {
  await database?.close();
  await dbAdmin?.end();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
});

/** Rows of `newsfeed_shown_items` read by sequential scans so far, the pooled connection's counts reported first. */
async function seqRowsRead(): Promise<number> {
  // a backend reports its counts at most once a second, else up to 10 s later: this one reports when it next goes idle
  await queryRows(database!.db, sql`SELECT pg_stat_force_next_flush()`);
  await new Promise((r) => setTimeout(r, 500));
  const r = await dbAdmin!.query(`SELECT seq_tup_read::int AS n FROM pg_stat_user_tables WHERE relname = 'newsfeed_shown_items'`);
  return r.rows[0].n as number;
}

describe.runIf(onPostgres)("the feed reads a shopper's shown items by index whenever its plan was made", () => {
  it("a table ANALYZEd empty, then grown: the shopper's read takes their rows, not the whole table", async () => {
    const repo = createPreferencesRepository();
    const now = Date.now();
    const window = { from: new Date(now - 7 * 86_400_000), before: new Date(now), limit: 5_000 };
    // the shopper's recent interactions are events' piece; an empty one keeps this about the shown items
    const noHistory = sql`SELECT NULL::text AS item_id, NULL::text AS type, 1 AS n WHERE false`;
    const read = () => repo.shopperState(database!.db, TENANT, 'early', window, noHistory);
    await dbAdmin!.query('ANALYZE newsfeed_shown_items');
    // more than five runs of the prepared statement on the connection: from here on it runs on its generic plan
    for (let k = 0; k < 8; k++) expect((await read()).shown).toEqual([]);
    const plans = await queryRows<{ n: number }>(
      database!.db,
      sql`SELECT generic_plans::int AS n FROM pg_prepared_statements WHERE statement LIKE '%user_brand_follows%'`,
    );
    expect(plans[0]?.n ?? 0).toBeGreaterThan(0);
    // the table grows (other shoppers' history, and two items of this one) with no ANALYZE since
    await dbAdmin!.query(
      `INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
       SELECT $1::uuid, 'other-' || (g / 20), 'sku-' || (g % 20), now() - interval '1 hour' FROM generate_series(1, $2::int) g
       UNION ALL SELECT $1::uuid, 'early', 'sku-' || k, now() - k * interval '1 hour' FROM generate_series(1, 2) k`,
      [TENANT, OTHER_ROWS],
    );
    // until the process's runs reach the next plan generation, the plan made on the empty table stays (bounded)
    for (let k = 8; k < SHOPPER_PLAN_FIRST; k++) await read();
    const before = await seqRowsRead();
    for (let k = 0; k < 3; k++) expect((await read()).shown).toEqual(['sku-1', 'sku-2']);
    expect((await seqRowsRead()) - before).toBeLessThan(OTHER_ROWS / 10);
  }, 120_000);
});

describe('shopperPlanGeneration', () => {
  it('moves each time the runs double from the first threshold, and stops at a bounded number of texts', () => {
    expect(shopperPlanGeneration(0)).toBe(0);
    expect(shopperPlanGeneration(SHOPPER_PLAN_FIRST - 1)).toBe(0);
    expect(shopperPlanGeneration(SHOPPER_PLAN_FIRST)).toBe(1);
    expect(shopperPlanGeneration(2 * SHOPPER_PLAN_FIRST - 1)).toBe(1);
    expect(shopperPlanGeneration(2 * SHOPPER_PLAN_FIRST)).toBe(2);
    expect(shopperPlanGeneration(Number.MAX_SAFE_INTEGER)).toBe(24);
  });
});
