import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, queryOne, queryRows } from '../src/platform/index.ts';
import { isReadStatement } from '../src/platform/database.ts';
import { TENANT_ROLE } from '../src/platform/row-level-security.ts';
import { currentScopeTenant, outsideTenantScope, runInTenantScope } from '../src/platform/tenant-read-scope.ts';
import { createTestApp, type TestApp } from './helpers.ts';

/**
 * Row-level security for READS (issue 22): every tenant route runs the statements it sends outside a transaction
 * under the tenant policy. To prove it through the real pipeline (route, service, repository, driver), the test
 * plants a repository that forgets its tenant filter: while `forget` is on, every SELECT sent inside a tenant
 * scope loses its `tenant_id = $n` conditions (they become `$n IS NOT NULL`, keeping the parameter numbers), then
 * the real endpoints answer. Both targets.
 */
let t: TestApp;
let db: Db;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let aKey: string;
let bKey: string;

let forget = false;
let rewritten = 0;
const TENANT_FILTER = /(?:"?\w+"?\.)?"?tenant_id"?\s*=\s*(\$\d+)/g;

function withoutTenantFilter(text: string): string {
  if (!forget || currentScopeTenant() === undefined || !/^\s*(SELECT|WITH)\b/i.test(text)) return text;
  const out = text.replace(TENANT_FILTER, '$1::uuid IS NOT NULL');
  if (out !== text) rewritten++;
  return out;
}

/** Wraps the database handle's driver (PGlite or the pg Pool) so every statement passes through `withoutTenantFilter`. */
function plantForgetfulRepositories(d: Db): void {
  const session = (d as unknown as { session: { client: object } }).session;
  const inner = session.client as { query: (...a: unknown[]) => unknown };
  const query = (first: unknown, ...rest: unknown[]) => {
    if (typeof first === 'string') return inner.query(withoutTenantFilter(first), ...rest);
    if (first && typeof first === 'object' && 'text' in first) {
      return inner.query({ ...(first as object), text: withoutTenantFilter((first as { text: string }).text) }, ...rest);
    }
    return inner.query(first, ...rest);
  };
  session.client = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'query') return query;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function seed(tenant: typeof A, marker: string): Promise<string> {
  const key = await tenant.apiKey(['catalog:read', 'catalog:write', 'interactions:write', 'profiles:read', 'analytics:read']);
  for (const n of [1, 2]) {
    const r = await t.request('POST', '/api/v1/items', {
      token: key,
      body: { item_id: `${marker}-item-${n}`, name: `${marker} item ${n}` },
    });
    expect(r.status).toBe(201);
  }
  const events = [1, 2, 3].map((n) => ({ user_id: `${marker}-user-${n}`, item_id: `${marker}-item-1`, interaction_type: 'view' }));
  const r = await t.request('POST', '/api/v1/interactions/batch', { token: key, body: { events } });
  expect(r.body).toMatchObject({ accepted: 3 });
  return key;
}

beforeAll(async () => {
  t = await createTestApp();
  db = t.database.db;
  A = await t.createTenant('Scope A');
  B = await t.createTenant('Scope B');
  aKey = await seed(A, 'rlsa');
  bKey = await seed(B, 'rlsb');
  plantForgetfulRepositories(db);
}, 180_000);
afterAll(async () => t?.close());

/** The endpoints read as A with the filter forgotten: `url`, the credential, and what must be in the answer. */
const READS: { name: string; url: string; token: () => string; shows: RegExp }[] = [
  { name: 'items list', url: '/api/v1/items?limit=100', token: () => aKey, shows: /rlsa-item-1/ },
  { name: 'profiles list', url: '/api/v1/profiles?limit=100', token: () => aKey, shows: /rlsa-user-1/ },
  { name: 'API keys list', url: '/api/v1/api-keys', token: () => A.ownerToken, shows: /"data"/ },
  { name: 'members list', url: '/api/v1/members', token: () => A.ownerToken, shows: /owner-/ },
  { name: 'audit log', url: '/api/v1/audit/logs?limit=100', token: () => A.ownerToken, shows: /api_key\.create/ },
];

describe('tenant routes read under row-level security', () => {
  it('the planted forgetful repository really drops the filter: the system path then sees both tenants', async () => {
    forget = true;
    try {
      const items = await runInTenantScope(A.tenantId, () =>
        outsideTenantScope(() => queryRows<{ item_id: string }>(db, sql`SELECT item_id FROM items WHERE tenant_id = ${A.tenantId}`)),
      );
      // Outside a scope the rewrite is off (it imitates tenant routes only): the filter holds.
      expect(items.map((i) => i.item_id).sort()).toEqual(['rlsa-item-1', 'rlsa-item-2']);
      const before = rewritten;
      const all = await runInTenantScope(A.tenantId, () =>
        db.transaction((tx) => queryRows<{ item_id: string }>(tx, sql`SELECT item_id FROM items WHERE tenant_id = ${A.tenantId}`)),
      );
      // A bare transaction is system work, not rewritten either (its client is the pooled connection).
      expect(all.length).toBe(2);
      expect(rewritten).toBe(before);
      const scoped = await runInTenantScope(A.tenantId, () =>
        queryRows<{ item_id: string; tenant_id: string }>(db, sql`SELECT item_id, tenant_id FROM items WHERE tenant_id = ${B.tenantId}`),
      );
      // Filter removed (rewritten) AND naming B: the policy alone answers, with A's rows only.
      expect(rewritten).toBeGreaterThan(before);
      expect(scoped.map((i) => i.item_id).sort()).toEqual(['rlsa-item-1', 'rlsa-item-2']);
    } finally {
      forget = false;
    }
  });

  for (const read of READS) {
    it(`${read.name}: with every tenant filter forgotten, A still sees only A's rows`, async () => {
      const honest = await t.request('GET', read.url, { token: read.token() });
      expect(honest.status).toBe(200);
      forget = true;
      const before = rewritten;
      try {
        const r = await t.request('GET', read.url, { token: read.token() });
        expect(r.status).toBe(200);
        expect(rewritten).toBeGreaterThan(before);
        const text = JSON.stringify(r.body);
        expect(text).not.toMatch(/rlsb/);
        expect(text).not.toContain(B.tenantId);
        expect(text).not.toContain(B.ownerEmail);
        expect(text).toMatch(read.shows);
        expect(r.body).toEqual(honest.body);
      } finally {
        forget = false;
      }
    });
  }

  it("an item of B named by A's request is not found, filter or no filter", async () => {
    forget = true;
    try {
      const r = await t.request('GET', '/api/v1/items/rlsb-item-1', { token: aKey });
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.body)).not.toMatch(/rlsb item/);
    } finally {
      forget = false;
    }
    expect((await t.request('GET', '/api/v1/items/rlsb-item-1', { token: bKey })).status).toBe(200);
  });

  it('interleaved requests of both tenants, filter forgotten, each see their own rows only', async () => {
    forget = true;
    try {
      const rounds = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const [key, own] = i % 2 === 0 ? [aKey, 'rlsa'] : [bKey, 'rlsb'];
          return t.request('GET', '/api/v1/items?limit=100', { token: key }).then((r) => ({ own, r }));
        }),
      );
      for (const { own, r } of rounds) {
        expect(r.status).toBe(200);
        const ids = (r.body.data as { item_id: string }[]).map((d) => d.item_id).sort();
        expect(ids).toEqual([`${own}-item-1`, `${own}-item-2`]);
      }
    } finally {
      forget = false;
    }
  });
});

describe('the scope on the database handle', () => {
  const whoAmI = sql`SELECT current_user AS who, nullif(current_setting('loupe.tenant_id', true), '') AS tenant`;

  it('a scoped statement runs as the tenant role for the tenant; before and after, the connection is the system again', async () => {
    const outside = await queryOne<{ who: string; tenant: string | null }>(db, whoAmI);
    expect(outside?.who).not.toBe(TENANT_ROLE);
    expect(outside?.tenant).toBeNull();
    const inside = await runInTenantScope(A.tenantId.toUpperCase(), () => queryOne<{ who: string; tenant: string }>(db, whoAmI));
    expect(inside).toEqual({ who: TENANT_ROLE, tenant: A.tenantId });
    // Drizzle's own builder goes through the same client.
    // (A drizzle query runs when awaited, so it is awaited inside the scope.)
    const viaExecute = await runInTenantScope(B.tenantId, async () => await db.execute(whoAmI));
    expect((viaExecute as unknown as { rows: unknown[] }).rows[0]).toEqual({ who: TENANT_ROLE, tenant: B.tenantId });
    for (let i = 0; i < 6; i++) {
      const s = await queryOne<{ who: string; tenant: string | null }>(db, whoAmI);
      expect(s?.who).not.toBe(TENANT_ROLE);
      expect(s?.tenant).toBeNull();
    }
  });

  it('a failing scoped read rolls back and leaves no tenant on the connection', async () => {
    await expect(runInTenantScope(A.tenantId, () => queryRows(db, sql`SELECT 1 / 0`))).rejects.toThrow(/division by zero/);
    await expect(
      runInTenantScope(A.tenantId, () => queryRows(db, sql`SELECT count(*) FROM items WHERE tenant_id = ${'not-a-uuid'}`)),
    ).rejects.toThrow(/uuid/);
    for (let i = 0; i < 6; i++) {
      const s = await queryOne<{ who: string; tenant: string | null; n: number }>(
        db,
        sql`SELECT current_user AS who, nullif(current_setting('loupe.tenant_id', true), '') AS tenant, (SELECT count(*)::int FROM items WHERE item_id = 'planted') AS n`,
      );
      expect(s).toMatchObject({ tenant: null, n: 0 });
      expect(s?.who).not.toBe(TENANT_ROLE);
    }
  });

  it('interleaved tenants, failing reads and system work in between: every scoped read sees its own tenant only', async () => {
    type Seen = { who: string; tenant: string; seen: string[] };
    const probe = sql`SELECT current_user AS who, current_setting('loupe.tenant_id', true) AS tenant,
      (SELECT coalesce(array_agg(DISTINCT tenant_id::text ORDER BY tenant_id::text), '{}') FROM items) AS seen`;
    const tenants = [A.tenantId, B.tenantId];
    const work = Array.from({ length: 48 }, (_, i) => {
      const tenantId = tenants[(i * 7) % 3 === 0 ? 1 : i % 2]!;
      switch (i % 6) {
        case 1: // a read that throws mid-statement
          return runInTenantScope(tenantId, () => queryRows(db, sql`SELECT 1 / (count(*) - count(*)) FROM items`)).then(
            () => 'no error',
            (e: Error) => (/division by zero/.test(e.message) ? 'failed' : e.message),
          );
        case 3: // system work between them: sees every tenant, as the connecting role
          return i % 4 === 1
            ? db.transaction((tx) => queryOne<Seen>(tx, probe)).then((r) => (r?.who !== TENANT_ROLE && r?.seen.length === 2 ? 'system' : r))
            : queryOne<Seen>(db, probe).then((r) => (r?.who !== TENANT_ROLE && r?.seen.length === 2 ? 'system' : r));
        default:
          return runInTenantScope(tenantId, () => queryOne<Seen>(db, probe)).then((r) =>
            r?.who === TENANT_ROLE && r.tenant === tenantId && r.seen.join() === tenantId ? 'own' : r,
          );
      }
    });
    const out = await Promise.all(work);
    expect(out.filter((x) => x !== 'own' && x !== 'failed' && x !== 'system')).toEqual([]);
    expect(out.filter((x) => x === 'own').length).toBe(32);
  });

  it.runIf(process.env.LOUPE_TEST_DB === 'postgres')(
    'a scoped connection lost mid-read is dropped; the next reads of both tenants are right',
    async () => {
      const sleeper = runInTenantScope(A.tenantId, () => queryRows(db, sql`SELECT pg_sleep(30), 'rls-lost-connection-probe'`));
      const settled = sleeper.then(
        () => 'finished',
        (e: Error) => e.message,
      );
      for (let n = 0; ; n++) {
        const killed = await queryRows<{ ok: boolean }>(
          db,
          sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
             WHERE query LIKE '%rls-lost-connection-probe%' AND pid <> pg_backend_pid() AND state = 'active'`,
        );
        if (killed.length) break;
        if (n > 500) throw new Error('the sleeping read never showed up');
        await new Promise((r) => setImmediate(r));
      }
      expect(await settled).toMatch(/terminat|Connection/i);
      for (let i = 0; i < 8; i++) {
        const tenantId = i % 2 ? A.tenantId : B.tenantId;
        const r = await runInTenantScope(tenantId, () =>
          queryOne<{ tenant: string; n: number }>(
            db,
            sql`SELECT current_setting('loupe.tenant_id', true) AS tenant, (SELECT count(*)::int FROM items) AS n`,
          ),
        );
        expect(r).toEqual({ tenant: tenantId, n: 2 });
      }
    },
  );

  it('on the embedded database, the instance handle itself is the system after a scoped read (dumps, ANALYZE, raw SQL)', async () => {
    const raw = t.database.pglite;
    if (!raw) return;
    await runInTenantScope(A.tenantId, () => queryRows(db, sql`SELECT 1 FROM items`));
    const r = await raw.query<{ who: string; n: number }>(`SELECT current_user AS who, (SELECT count(*)::int FROM items) AS n`);
    expect(r.rows[0]!.who).not.toBe(TENANT_ROLE);
    expect(r.rows[0]!.n).toBe(4);
    await runInTenantScope(B.tenantId, () => queryRows(db, sql`SELECT 1 FROM items`));
    const e = await raw.exec(`SELECT current_user AS who`);
    expect(e[0]!.rows[0]).not.toEqual({ who: TENANT_ROLE });
  });

  it('covers reads only: writes outside a transaction run as before (they belong in inTenant), shared work leaves the scope', async () => {
    expect(isReadStatement('SELECT 1')).toBe(true);
    expect(isReadStatement('  (select item_id from items) union (select item_id from items)')).toBe(true);
    expect(isReadStatement('WITH x AS (SELECT 1) SELECT * FROM x')).toBe(true);
    expect(isReadStatement('select "id" from "items" where "items"."tenant_id" = $1 for update')).toBe(true);
    for (const w of [
      'INSERT INTO items VALUES (1)',
      'update items set name = 1',
      'DELETE FROM items',
      'WITH d AS (DELETE FROM items RETURNING 1) SELECT * FROM d',
      'SET LOCAL x = 1',
      'BEGIN',
      '',
    ]) {
      expect(isReadStatement(w)).toBe(false);
    }
    const who = await runInTenantScope(A.tenantId, () =>
      queryOne<{ who: string }>(db, sql`WITH w AS (UPDATE items SET name = name WHERE false RETURNING 1) SELECT current_user AS who`),
    );
    expect(who?.who).not.toBe(TENANT_ROLE);
    expect(runInTenantScope(A.tenantId, () => outsideTenantScope(() => currentScopeTenant()))).toBeUndefined();
    const later = await runInTenantScope(
      A.tenantId,
      () => new Promise((r) => setImmediate(() => r(outsideTenantScope(currentScopeTenant)))),
    );
    expect(later).toBeUndefined();
  });

  it('refuses a tenant id that is not a UUID (it would reach SQL text): hostile strings, NUL bytes, empty', () => {
    for (const bad of ["x'; DROP TABLE items; --", `${A.tenantId}\u0000`, '', `${A.tenantId} `, 'a'.repeat(10_000)]) {
      expect(() => runInTenantScope(bad, () => 1)).toThrow(/not a UUID/);
    }
  });
});
