import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { queryOne, queryRows } from '../src/platform/database.ts';
import { newId } from '../src/platform/ids.ts';
import { createTestDatabase, testDatabasesDropped } from './helpers.ts';

/**
 * The test database every file gets (test/helpers.ts): in the template's state whatever the file before it did.
 * On PGlite a process keeps up to three instances, each lent to one holder and reset before the next; these checks hold on both targets.
 */
describe('createTestDatabase', { timeout: 240_000 }, () => {
  const jobRow = () =>
    sql`INSERT INTO jobs (tenant_id, id, type, payload, priority, max_attempts, run_at) VALUES (${newId()}, ${newId()}, 'x', '{}'::jsonb, 0, 1, now())`;

  it('starts empty after a file wrote rows and moved sequences; the closed handle refuses a late query', async () => {
    const first = await createTestDatabase();
    await first.db.execute(jobRow());
    const seqs = await queryRows<{ name: string }>(
      first.db,
      sql`SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'drizzle')`,
    );
    for (const s of seqs) await first.db.execute(sql.raw(`SELECT nextval('${s.name}'), nextval('${s.name}')`));
    const tz = await queryOne<{ tz: string }>(first.db, sql`SELECT current_setting('TimeZone') AS tz`);
    await first.db.execute(sql`SET TIME ZONE 'Asia/Tokyo'`);
    await first.close();
    await expect(first.db.execute(sql`SELECT 1`)).rejects.toThrow();

    const next = await createTestDatabase();
    try {
      expect(await queryOne<{ n: number }>(next.db, sql`SELECT count(*)::int AS n FROM jobs`)).toEqual({ n: 0 });
      for (const s of seqs) {
        const v = await queryOne<{ v: string }>(next.db, sql.raw(`SELECT nextval('${s.name}')::text AS v`));
        expect(v?.v, s.name).toBe('1');
      }
      expect(await queryOne<{ tz: string }>(next.db, sql`SELECT current_setting('TimeZone') AS tz`)).toEqual(tz);
    } finally {
      await next.close();
    }
  });

  it.skipIf(inject('dbTarget') !== 'postgres')(
    'on PostgreSQL close() leaves DROP DATABASE (a checkpoint wait) to the background, and the database goes',
    async () => {
      const db = await createTestDatabase();
      const name = (await queryOne<{ name: string }>(db.db, sql`SELECT current_database() AS name`))!.name;
      const exists = async (c: pg.Client) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
      const lock = new pg.Client({ connectionString: inject('pgUrl') });
      await lock.connect();
      try {
        // DROP DATABASE needs ROW EXCLUSIVE on pg_database: held off until COMMIT (connections go on; another file's
        // CREATE DATABASE waits the moment this takes).
        await lock.query('BEGIN');
        await lock.query('LOCK TABLE pg_catalog.pg_database IN SHARE MODE');
        // A close() that waited for its drop would wait for the lock: bounded, so the lock is released either way.
        let bound: NodeJS.Timeout | undefined;
        const closed = await Promise.race([
          db.close().then(() => 'closed'),
          new Promise((r) => (bound = setTimeout(() => r('close() waited for DROP DATABASE'), 20_000))),
        ]);
        clearTimeout(bound);
        expect(closed).toBe('closed');
        expect(await exists(lock)).toBe(true);
      } finally {
        await lock.query('COMMIT');
        await lock.end();
      }
      await testDatabasesDropped();
      const check = new pg.Client({ connectionString: inject('pgUrl') });
      await check.connect();
      try {
        expect(await exists(check)).toBe(false);
      } finally {
        await check.end();
      }
    },
  );

  it('a second database open at the same time is another database', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      await a.db.execute(jobRow());
      expect(await queryOne<{ n: number }>(b.db, sql`SELECT count(*)::int AS n FROM jobs`)).toEqual({ n: 0 });
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('a second database opened again beside the first starts empty after the last holder wrote rows and settings', async () => {
    const a = await createTestDatabase();
    try {
      const tz = await queryOne<{ tz: string }>(a.db, sql`SELECT current_setting('TimeZone') AS tz`);
      const b = await createTestDatabase();
      await b.db.execute(jobRow());
      await b.db.execute(sql`SET TIME ZONE 'Asia/Tokyo'`);
      await b.close();
      await expect(b.db.execute(sql`SELECT 1`)).rejects.toThrow();
      // On PGlite the pool lends b's instance again (reset); on PostgreSQL this is a new clone.
      const c = await createTestDatabase();
      try {
        expect(await queryOne<{ n: number }>(c.db, sql`SELECT count(*)::int AS n FROM jobs`)).toEqual({ n: 0 });
        expect(await queryOne<{ tz: string }>(c.db, sql`SELECT current_setting('TimeZone') AS tz`)).toEqual(tz);
        await c.db.execute(jobRow());
        // and a is still its own database
        expect(await queryOne<{ n: number }>(a.db, sql`SELECT count(*)::int AS n FROM jobs`)).toEqual({ n: 0 });
      } finally {
        await c.close();
      }
    } finally {
      await a.close();
    }
  });

  it('a file that changed the schema leaves none of it to the next', async () => {
    const a = await createTestDatabase();
    await a.db.execute(sql`CREATE TABLE helpers_leftover (id int)`);
    await a.db.execute(sql`ALTER TABLE jobs ADD COLUMN helpers_extra int`);
    await a.close();
    const b = await createTestDatabase();
    try {
      const left = await queryRows(b.db, sql`SELECT 1 FROM pg_class WHERE relname = 'helpers_leftover'`);
      expect(left).toEqual([]);
      const extra = await queryRows(
        b.db,
        sql`SELECT 1 FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = 'helpers_extra'`,
      );
      expect(extra).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
