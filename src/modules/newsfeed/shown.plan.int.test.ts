/**
 * The feed's per-shopper read is a named prepared statement on PostgreSQL, whose generic plan is made after five
 * runs and kept until the tables' statistics change. Made while `newsfeed_shown_items` was empty (here: ANALYZEd
 * empty, as after a deployment's or a bench's ANALYZE), a plan over the table itself read it by sequential scan on
 * every page once it had grown (bench:newsfeed: 12,688 rows per page). The shown items are read through
 * `newsfeed_shown_recent`, planned on each call: the read of a shopper takes that shopper's rows, not the table,
 * however empty the table was when the statement's plan was made. Driven through the repository on one pooled
 * connection, so the generic plan is made while the table is empty (through the API, the pages' own shown rows reach
 * the table before the sixth run). PostgreSQL only (the embedded database prepares nothing).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Database, openDatabase } from '../../platform/database.ts';
import { createPreferencesRepository } from './preferences.repository.ts';

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

/** Rows of `newsfeed_shown_items` read by sequential scans so far, once every backend has reported its counts. */
async function seqRowsRead(): Promise<number> {
  // a backend reports its table counts within a second of going idle (PostgreSQL 15+)
  await new Promise((r) => setTimeout(r, 2_500));
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
    const plans = await database!.db.execute(
      sql`SELECT generic_plans::int AS n FROM pg_prepared_statements WHERE statement LIKE '%user_brand_follows%'`,
    );
    expect((plans.rows[0] as { n: number } | undefined)?.n ?? 0).toBeGreaterThan(0);
    // the table grows (other shoppers' history, and two items of this one) with no ANALYZE since
    await dbAdmin!.query(
      `INSERT INTO newsfeed_shown_items (tenant_id, user_id, item_id, shown_at)
       SELECT $1::uuid, 'other-' || (g / 20), 'sku-' || (g % 20), now() - interval '1 hour' FROM generate_series(1, $2::int) g
       UNION ALL SELECT $1::uuid, 'early', 'sku-' || k, now() - k * interval '1 hour' FROM generate_series(1, 2) k`,
      [TENANT, OTHER_ROWS],
    );
    const before = await seqRowsRead();
    for (let k = 0; k < 3; k++) expect((await read()).shown).toEqual(['sku-1', 'sku-2']);
    expect((await seqRowsRead()) - before).toBeLessThan(OTHER_ROWS / 10);
  }, 120_000);
});
