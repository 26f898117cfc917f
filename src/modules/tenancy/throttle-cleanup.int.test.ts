import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryRows } from '../../platform/index.ts';

/** Issue 22 leftover: `login_throttle` is cleaned up periodically (idle a day, no running lock). */
const HOUR = 3_600_000;
let now = Date.now();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { clock: () => new Date(now) });
});
afterAll(async () => {
  await t?.close();
});

const subjects = async () =>
  (await queryRows<{ s: string }>(t.database.db, sql`SELECT subject_hash AS s FROM login_throttle ORDER BY subject_hash`)).map((r) => r.s);

describe('login_throttle clean-up', () => {
  it('deletes pairs idle for a day whose lock has ended, keeps recent pairs and running locks', async () => {
    const at = (ms: number) => new Date(now + ms).toISOString();
    await t.database.db.execute(sql`INSERT INTO login_throttle (subject_hash, source, failed_count, locked_until, updated_at) VALUES
      ('idle-unlocked', '192.0.2.1', 2, NULL, ${at(-48 * HOUR)}::timestamptz),
      ('idle-lock-ended', '192.0.2.1', 5, ${at(-47 * HOUR)}::timestamptz, ${at(-48 * HOUR)}::timestamptz),
      ('idle-lock-running', '192.0.2.1', 5, ${at(+HOUR)}::timestamptz, ${at(-48 * HOUR)}::timestamptz),
      ('recent', '192.0.2.1', 1, NULL, ${at(-HOUR)}::timestamptz)`);
    expect(await t.tenancy.pruneLoginThrottle()).toBe(2);
    expect(await subjects()).toEqual(['idle-lock-running', 'recent']);
    // Running it again finds nothing more to delete.
    expect(await t.tenancy.pruneLoginThrottle()).toBe(0);
  });

  it('a real failed sign-in is forgotten once the clock has moved a day past it', async () => {
    const s = await t.createTenant('Throttle Shop');
    const before = (await subjects()).length;
    const r = await t.request('POST', '/api/v1/auth/login', { body: { email: s.ownerEmail, password: 'wrong-password' } });
    expect(r.status).toBe(401);
    expect((await subjects()).length).toBe(before + 1);
    expect(await t.tenancy.pruneLoginThrottle()).toBe(0); // not idle yet
    now += 25 * HOUR;
    // A day later: the failure, 'recent' and the lock that was running (it has ended since) all go.
    expect(await t.tenancy.pruneLoginThrottle()).toBe(3);
    expect(await subjects()).toEqual([]);
  });
});
