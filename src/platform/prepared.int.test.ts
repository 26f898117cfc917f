import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Database, openDatabase, queryRows } from './database.ts';
import { inTenant } from './tenant-scope.ts';
import { runInTenantScope } from './tenant-read-scope.ts';
import { createTestDatabase } from '../../test/helpers.ts';

/**
 * `queryRows(..., { prepare: true })`: on PostgreSQL a named prepared statement (parsed and planned once per
 * connection), in `session` read scope only; the same rows either way, and the embedded database ignores it.
 */
const onPostgres = inject('dbTarget') === 'postgres';
const TENANT = '0193e000-0000-7000-8000-0000000000aa';
let admin: pg.Client | undefined;
let dbName = '';
const opened: Database[] = [];

async function open(readScope: 'session' | 'transaction', jit?: boolean): Promise<Database> {
  const url = new URL(inject('pgUrl'));
  url.pathname = `/${dbName}`;
  const d = await openDatabase({
    kind: 'postgres',
    url: url.toString(),
    poolSize: 1,
    scopedPoolSize: 1,
    readScope,
    ...(jit === undefined ? {} : { jit }),
  } as never);
  opened.push(d);
  return d;
}

/** Names of the statements prepared on the one connection of `d`'s pool (a scoped read uses the scoped pool's). */
async function prepared(d: Database): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(d.db, sql`SELECT name FROM pg_prepared_statements ORDER BY name`);
  return rows.map((r) => r.name);
}

beforeAll(async () => {
  if (!onPostgres) return;
  admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  dbName = `loupe_t_${inject('runId')}_prep${randomBytes(3).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${inject('pgTemplate')}`);
}, 60_000);

afterAll(async () => {
  for (const d of opened) await d.close();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
});

const answer = (x: number) => sql`SELECT ${x}::int + 1 AS n, 'same text' AS t`;

describe('prepared statements', () => {
  it('answers the same rows prepared or not (the embedded database ignores it)', async () => {
    const d = await createTestDatabase();
    opened.push(d);
    expect(await queryRows(d.db, answer(1), { prepare: true })).toEqual([{ n: 2, t: 'same text' }]);
    expect(await queryRows(d.db, answer(2), { prepare: true })).toEqual([{ n: 3, t: 'same text' }]);
    expect(await queryRows(d.db, answer(2))).toEqual([{ n: 3, t: 'same text' }]);
  });

  it.runIf(onPostgres)('session scope: prepared once per connection by a name of its text, in and out of transactions', async () => {
    const d = await open('session');
    await queryRows(d.db, answer(1));
    expect((await prepared(d)).filter((n) => n.startsWith('loupe_'))).toEqual([]);
    for (const x of [1, 2, 3]) expect(await queryRows(d.db, answer(x), { prepare: true })).toEqual([{ n: x + 1, t: 'same text' }]);
    const names = (await prepared(d)).filter((n) => n.startsWith('loupe_'));
    expect(names).toHaveLength(1); // one text, one statement, whatever the values
    // inside a tenant transaction (its connection is the pool's one): the same name, still one statement
    await inTenant(d.db, TENANT, async (tx) => {
      expect(await queryRows(tx, answer(9), { prepare: true })).toEqual([{ n: 10, t: 'same text' }]);
    });
    expect((await prepared(d)).filter((n) => n.startsWith('loupe_'))).toEqual(names);
    // a scoped read goes to the scoped pool's connection and is prepared there
    await runInTenantScope(TENANT, () => queryRows(d.db, answer(4), { prepare: true }));
  });

  it.runIf(onPostgres)('transaction scope (PgBouncer in transaction mode): never named', async () => {
    const d = await open('transaction');
    expect(await queryRows(d.db, answer(5), { prepare: true })).toEqual([{ n: 6, t: 'same text' }]);
    expect((await prepared(d)).filter((n) => n.startsWith('loupe_'))).toEqual([]);
  });
});

describe('connection settings', () => {
  const jitOf = async (d: Database) => (await queryRows<{ jit: string }>(d.db, sql`SELECT current_setting('jit') AS jit`))[0]?.jit;

  it.runIf(onPostgres)('JIT is off on every connection by default, in both read scopes and on the scoped pool', async () => {
    for (const scope of ['session', 'transaction'] as const) {
      const d = await open(scope);
      expect(await jitOf(d)).toBe('off');
      await inTenant(d.db, TENANT, async (tx) => {
        expect((await queryRows<{ jit: string }>(tx, sql`SELECT current_setting('jit') AS jit`))[0]?.jit).toBe('off');
      });
      expect(await runInTenantScope(TENANT, () => jitOf(d))).toBe('off');
    }
  });

  it.runIf(onPostgres)("jit: true (DATABASE_JIT=on) leaves the server's setting", async () => {
    const server = (await admin!.query<{ jit: string }>(`SELECT current_setting('jit') AS jit`)).rows[0]?.jit;
    expect(server).toBe('on'); // PostgreSQL's default: the test would pass vacuously if the server had it off
    const d = await open('session', true);
    expect(await jitOf(d)).toBe(server);
  });
});
