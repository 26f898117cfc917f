import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import type { ResolveInput } from './index.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const ev = (identifiers: [string, string][], extra: Partial<ResolveInput> = {}): ResolveInput => ({
  identifiers: identifiers.map(([type, value]) => ({ type, value })),
  channel: 'api',
  occurredAt: new Date('2026-02-01T10:00:00Z'),
  ...extra,
});
const resolve = (tenantId: string, inputs: ResolveInput[]) => t.modules.identity.resolveMany(tenantId, inputs);

/**
 * What a tenant's identity tables say, with profile ids replaced by a name that does not depend on the run: the
 * identifiers each profile brought (origin), so two tenants fed the same events can be compared.
 */
async function snapshot(tenantId: string, resolved: (string | null)[]) {
  const db = t.database.db;
  const origins = await queryRows<{ id: string; idents: string[] }>(
    db,
    sql`SELECT origin_profile_id::text AS id, array_agg(type || ':' || value ORDER BY type, value) AS idents
        FROM profile_identifiers WHERE tenant_id = ${tenantId} GROUP BY origin_profile_id`,
  );
  const names = new Map(origins.map((o) => [o.id, o.idents.join(' ')]));
  const name = (id: string | null) => (id === null ? null : (names.get(id) ?? `unnamed:${id}`));
  const profiles = await queryRows<{
    id: string;
    status: string;
    mergedInto: string | null;
    traits: unknown;
    strength: number;
    held: string[] | null;
  }>(
    db,
    sql`SELECT p.id::text AS id, p.status, p.merged_into::text AS "mergedInto", p.traits, p.profile_strength AS strength,
               (SELECT array_agg(i.type || ':' || i.value ORDER BY i.type, i.value) FROM profile_identifiers i WHERE i.tenant_id = p.tenant_id AND i.profile_id = p.id) AS held
        FROM profiles p WHERE p.tenant_id = ${tenantId}`,
  );
  const merges = await queryRows<{
    survivorId: string;
    mergedId: string;
    rule: string;
    identifierType: string | null;
    eventRef: string | null;
  }>(
    db,
    sql`SELECT survivor_id::text AS "survivorId", merged_id::text AS "mergedId", rule, identifier_type AS "identifierType", event_ref AS "eventRef"
        FROM profile_merges WHERE tenant_id = ${tenantId}`,
  );
  const reviews = await queryRows<{ reason: string; profileIds: string[]; occurrences: number; eventRef: string | null; status: string }>(
    db,
    sql`SELECT reason, profile_ids::text[] AS "profileIds", occurrences, event_ref AS "eventRef", status FROM profile_review_queue WHERE tenant_id = ${tenantId}`,
  );
  return {
    resolved: resolved.map(name),
    profiles: profiles
      .map((p) => ({
        name: name(p.id),
        status: p.status,
        mergedInto: name(p.mergedInto),
        traits: p.traits,
        held: p.held ?? [],
        strength: p.status === 'active' ? p.strength : null,
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    merges: merges
      .map((m) => ({ ...m, survivorId: name(m.survivorId), mergedId: name(m.mergedId) }))
      .sort((a, b) => String(a.mergedId).localeCompare(String(b.mergedId))),
    reviews: reviews.map((r) => ({ ...r, profileIds: r.profileIds.map(name).sort() })).sort((a, b) => a.reason.localeCompare(b.reason)),
  };
}

describe('batch resolution', () => {
  it('a batch leaves the same profiles, merges and review cases as its events resolved one by one', async () => {
    const before: ResolveInput[] = [
      ev([['email', 'sam@shop.test']], { channel: 'shopify' }),
      ev([['phone', '+1 202 555 0111']], { channel: 'pos' }),
      ev([['email', 'four@shop.test']]),
      ev([['phone', '+1 202 555 0102']]),
      ev([['loyalty_id', 'LOY-4']]),
      ev([['device_id', 'dev-4']]),
      ev([
        ['user_id', 'u-anna'],
        ['email', 'family@shop.test'],
      ]),
    ];
    const batch: ResolveInput[] = [
      // A new person, then that person again with one more identifier.
      ev(
        [
          ['user_id', 'u-nia'],
          ['anonymous_id', 'cookie-nia'],
        ],
        { traits: { name: 'Nia' }, eventRef: 'e1' },
      ),
      ev(
        [
          ['user_id', 'u-nia'],
          ['email', 'nia@shop.test'],
        ],
        { traits: { tier: 'gold' }, eventRef: 'e2' },
      ),
      // Joins two existing profiles; the next event sees the merge.
      ev(
        [
          ['email', 'sam@shop.test'],
          ['phone', '(202) 555-0111'],
        ],
        { eventRef: 'e3' },
      ),
      ev(
        [
          ['phone', '+12025550111'],
          ['device_id', 'dev-sam'],
        ],
        { eventRef: 'e4' },
      ),
      // Would join four profiles: review.
      ev(
        [
          ['device_id', 'dev-4'],
          ['loyalty_id', 'LOY-4'],
          ['phone', '2025550102'],
          ['email', 'four@shop.test'],
        ],
        { eventRef: 'e5' },
      ),
      // Another user id with the same e-mail: never joined, reviewed.
      ev(
        [
          ['user_id', 'u-ben'],
          ['email', 'family@shop.test'],
        ],
        { eventRef: 'e6' },
      ),
      // A blocked value links nobody.
      ev([['email', 'test@test.com']], { eventRef: 'e7' }),
      ev(
        [
          ['device_id', 'dev-4'],
          ['loyalty_id', 'LOY-4'],
          ['phone', '2025550102'],
          ['email', 'four@shop.test'],
        ],
        { eventRef: 'e8' },
      ),
    ];

    const a = await t.createTenant();
    for (const input of before) await resolve(a.tenantId, [input]);
    const atOnce = await resolve(a.tenantId, batch);

    const b = await t.createTenant();
    for (const input of before) await resolve(b.tenantId, [input]);
    const oneByOne: (string | null)[] = [];
    for (const input of batch) oneByOne.push(...(await resolve(b.tenantId, [input])));

    const got = await snapshot(a.tenantId, atOnce);
    expect(got).toEqual(await snapshot(b.tenantId, oneByOne));

    // And what that state is, in words.
    const sam = 'device_id:dev-sam email:sam@shop.test'; // the identifiers that profile brought itself
    expect(got.resolved[0]).toBe(got.resolved[1]);
    expect(got.resolved[2]).toBe(sam);
    expect(got.resolved[3]).toBe(sam);
    expect(got.resolved[6]).toBeNull();
    expect(got.profiles.find((p) => p.name === got.resolved[0])).toMatchObject({
      status: 'active',
      traits: { name: 'Nia', tier: 'gold' },
      held: ['anonymous_id:cookie-nia', 'email:nia@shop.test', 'user_id:u-nia'],
      strength: 70, // user id 40 + e-mail 38 + cookie 12, capped at 70; no activity yet
    });
    expect(got.merges).toEqual([
      { survivorId: sam, mergedId: 'phone:+12025550111', rule: 'auto:shared_identifier', identifierType: 'phone', eventRef: 'e3' },
    ]);
    expect(got.reviews.map((r) => [r.reason, r.occurrences])).toEqual([
      ['conflicting_user_ids', 1],
      ['too_many_profiles', 2],
    ]);
    expect(got.profiles.filter((p) => p.held.includes('user_id:u-anna') || p.held.includes('user_id:u-ben'))).toHaveLength(2);
  });

  it('two batches racing on the same person give one profile', async () => {
    const { tenantId } = await t.createTenant();
    for (let round = 0; round < 4; round++) {
      const person = (n: number): [string, string][] => [
        ['email', `racer${round}@shop.test`],
        ['anonymous_id', `racer${round}-cookie-${n}`],
      ];
      const batch = (side: number) => [
        ev([['user_id', `bystander-${round}-${side}`]]),
        ev(person(side * 10)),
        ev([['phone', `+1 202 555 ${String(1000 + round).slice(-4)}`], ...person(side * 10 + 1)]),
        ev([['user_id', `racer-${round}`], ...person(side * 10 + 2)]),
      ];
      const [x, y] = await Promise.all([resolve(tenantId, batch(1)), resolve(tenantId, batch(2))]);
      expect(new Set([...x.slice(1), ...y.slice(1)]).size).toBe(1);
      const holders = await queryRows<{ n: number }>(
        t.database.db,
        sql`SELECT count(DISTINCT profile_id)::int AS n FROM profile_identifiers WHERE tenant_id = ${tenantId} AND (value LIKE ${`racer${round}%`} OR value = ${`racer-${round}`})`,
      );
      expect(holders[0]!.n).toBe(1);
    }
  });
});
