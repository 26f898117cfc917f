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

const at = new Date('2026-01-02T10:00:00Z');
const ev = (identifiers: [string, string][], extra: Partial<ResolveInput> = {}): ResolveInput => ({
  identifiers: identifiers.map(([type, value]) => ({ type, value })),
  channel: 'api',
  occurredAt: at,
  ...extra,
});
const resolve = (tenantId: string, inputs: ResolveInput[]) => t.modules.identity.resolveMany(tenantId, inputs);
const one = async (tenantId: string, identifiers: [string, string][], extra: Partial<ResolveInput> = {}) =>
  (await resolve(tenantId, [ev(identifiers, extra)]))[0]!;
const count = async (q: ReturnType<typeof sql>) => Number((await queryRows<{ n: string | number }>(t.database.db, q))[0]!.n);
const activeProfiles = (tenantId: string) =>
  count(sql`SELECT count(*) AS n FROM profiles WHERE tenant_id = ${tenantId} AND status = 'active'`);

describe('normalization through resolveMany', () => {
  it('phone numbers in ten formats resolve to one profile', async () => {
    const { tenantId } = await t.createTenant();
    const formats = [
      '+1 415 555 2671',
      '(415) 555-2671',
      '415-555-2671',
      '415.555.2671',
      '4155552671',
      '+14155552671',
      '1 (415) 555-2671',
      'tel:+1-415-555-2671',
      '  +1 (415) 555 2671  ',
      '0014155552671',
    ];
    const out = await resolve(
      tenantId,
      formats.map((f) => ev([['phone', f]])),
    );
    expect(new Set(out).size).toBe(1);
    expect(out[0]).toMatch(/^[0-9a-f-]{36}$/);
    const stored = await queryRows<{ value: string }>(
      t.database.db,
      sql`SELECT value FROM profile_identifiers WHERE tenant_id = ${tenantId}`,
    );
    expect(stored).toEqual([{ value: '+14155552671' }]);
    // A WhatsApp message from the same number finds the same person (seed 002 example 2).
    expect(await one(tenantId, [['whatsapp', 'whatsapp:+14155552671']], { channel: 'whatsapp' })).toBe(out[0]);
  });

  it('e-mail case, plus-address and gmail-dot variants are one mailbox', async () => {
    const { tenantId } = await t.createTenant();
    const variants = [
      'Jane.Doe@Gmail.com',
      ' jane.doe@gmail.com ',
      'janedoe@gmail.com',
      'jane.doe+shop@gmail.com',
      'JANE.DOE+NEWS@GOOGLEMAIL.COM',
      'jane.doe@gmial.com',
    ];
    const out = await resolve(
      tenantId,
      variants.map((v) => ev([['email', v]])),
    );
    expect(new Set(out).size).toBe(1);
    // Dots and tags are NOT dropped on other domains' stored values, and different mailboxes stay apart.
    const other = await one(tenantId, [['email', 'jane.doe@example.org']]);
    expect(other).not.toBe(out[0]);
    expect(await one(tenantId, [['email', 'janedoe@example.org']])).not.toBe(other);
    expect(await one(tenantId, [['email', 'jane.doe+x@example.org']])).toBe(other);
  });

  it('blocked and junk values never link people (no blob profile)', async () => {
    const { tenantId } = await t.createTenant();
    const junk: [string, string][] = [
      ['email', 'test@test.com'],
      ['email', 'TEST@test.com'],
      ['phone', '0000'],
      ['phone', '+1 111 111 1111'],
      ['device_id', 'null'],
      ['device_id', 'undefined'],
      ['anonymous_id', 'anonymous'],
      ['loyalty_id', '123456'],
      ['email', ''],
      ['email', 'not-an-email'],
    ];
    const ids = await resolve(
      tenantId,
      Array.from({ length: 20 }, (_, n) => ev([['user_id', `customer-${n}`], junk[n % junk.length]!])),
    );
    expect(new Set(ids).size).toBe(20);
    expect(
      await resolve(
        tenantId,
        junk.map((j) => ev([j])),
      ),
    ).toEqual(junk.map(() => null));
    expect(await count(sql`SELECT count(*) AS n FROM profile_identifiers WHERE tenant_id = ${tenantId} AND type <> 'user_id'`)).toBe(0);
  });

  it('tenant block list and custom identifier types apply', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const put = await t.request('PUT', '/api/v1/profiles/settings', {
      token: ownerToken,
      body: { blocked_values: ['shared-kiosk'], custom_types: { crm_id: { confidence: 0.9 } }, default_region: 'FR' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ default_region: 'FR', blocked_values: ['shared-kiosk'], max_auto_merge: 3 });
    expect((await resolve(tenantId, [ev([['device_id', 'shared-kiosk']])]))[0]).toBeNull();
    const a = await one(tenantId, [
      ['crm_id', 'C-1'],
      ['email', 'a@shop.fr'],
    ]);
    expect(await one(tenantId, [['crm_id', 'C-1']])).toBe(a);
    // National numbers are read in the tenant's region: 06 12 34 56 78 is +33 6 12 34 56 78.
    const p = await one(tenantId, [['phone', '06 12 34 56 78']]);
    expect(await one(tenantId, [['phone', '+33 6 12 34 56 78']])).toBe(p);
    // Undeclared custom types are ignored.
    expect((await resolve(tenantId, [ev([['shoe_size', '42']])]))[0]).toBeNull();
    const bad = await t.request('PUT', '/api/v1/profiles/settings', { token: ownerToken, body: { default_region: 'france', extra: 1 } });
    expect(bad.status).toBe(400);
  });
});

describe('merge rules', () => {
  it('one event linking two or three profiles merges them; history and redirect follow', async () => {
    const { tenantId } = await t.createTenant();
    const a = await one(tenantId, [['email', 'sam@shop.test']], { channel: 'shopify' });
    const b = await one(tenantId, [['phone', '+1 202 555 0143']], { channel: 'pos' });
    const c = await one(tenantId, [['device_id', 'dev-sam']], { channel: 'web' });
    expect(new Set([a, b, c]).size).toBe(3);
    const merged = await one(
      tenantId,
      [
        ['email', 'sam@shop.test'],
        ['phone', '2025550143'],
        ['device_id', 'dev-sam'],
      ],
      { eventRef: 'evt-merge-1' },
    );
    expect(merged).toBe(a); // the oldest survives
    expect(await activeProfiles(tenantId)).toBe(1);
    const log = await queryRows<{ mergedId: string; rule: string; eventRef: string; identifierType: string }>(
      t.database.db,
      sql`SELECT merged_id AS "mergedId", rule, event_ref AS "eventRef", identifier_type AS "identifierType" FROM profile_merges WHERE tenant_id = ${tenantId} ORDER BY merged_id`,
    );
    expect(log.map((l) => l.mergedId).sort()).toEqual([b, c].sort());
    expect(log.every((l) => l.rule === 'auto:shared_identifier' && l.eventRef === 'evt-merge-1')).toBe(true);
    // Later events carrying any of the identifiers find the survivor.
    expect(await one(tenantId, [['device_id', 'dev-sam']])).toBe(a);
  });

  it('an event that would merge more than three profiles goes to review and attaches to the strongest match', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const p1 = await one(tenantId, [['email', 'four@shop.test']]);
    const p2 = await one(tenantId, [['phone', '+1 202 555 0101']]);
    const p3 = await one(tenantId, [['loyalty_id', 'LOY-4']]);
    const p4 = await one(tenantId, [['device_id', 'dev-4']]);
    const target = await one(
      tenantId,
      [
        ['device_id', 'dev-4'],
        ['loyalty_id', 'LOY-4'],
        ['phone', '2025550101'],
        ['email', 'four@shop.test'],
      ],
      { eventRef: 'evt-4' },
    );
    expect([p1, p2]).toContain(target); // e-mail / phone rank highest
    expect(await activeProfiles(tenantId)).toBe(4);
    const queue = await t.request('GET', '/api/v1/profiles/review-queue?status=pending', { token: ownerToken });
    expect(queue.status).toBe(200);
    expect(queue.body.data).toHaveLength(1);
    expect(queue.body.data[0]).toMatchObject({ reason: 'too_many_profiles', status: 'pending', event_ref: 'evt-4' });
    expect(queue.body.data[0].profile_ids.sort()).toEqual([p1, p2, p3, p4].sort());
    // The same event again counts as the same case, not a new one.
    await one(tenantId, [
      ['device_id', 'dev-4'],
      ['loyalty_id', 'LOY-4'],
      ['phone', '2025550101'],
      ['email', 'four@shop.test'],
    ]);
    const again = await t.request('GET', '/api/v1/profiles/review-queue', { token: ownerToken });
    expect(again.body.data).toHaveLength(1);
    expect(again.body.data[0].occurrences).toBe(2);
    // A human approves: the four become one.
    const ok = await t.request('POST', `/api/v1/profiles/review-queue/${queue.body.data[0].id}/approve`, { token: ownerToken });
    expect(ok.status).toBe(200);
    expect(ok.body.review.status).toBe('approved');
    expect(await activeProfiles(tenantId)).toBe(1);
    const twice = await t.request('POST', `/api/v1/profiles/review-queue/${queue.body.data[0].id}/reject`, { token: ownerToken });
    expect(twice.status).toBe(409);
  });

  it('refuses to merge two different user_ids (review), and a shared family device does not join them', async () => {
    const { tenantId, ownerToken } = await t.createTenant();
    const mom = await one(tenantId, [
      ['user_id', 'u-mom'],
      ['device_id', 'family-ipad'],
    ]);
    const kid = await one(tenantId, [
      ['user_id', 'u-kid'],
      ['device_id', 'family-ipad'],
    ]);
    expect(kid).not.toBe(mom);
    // An event naming both user ids' e-mails also stays apart.
    await one(tenantId, [
      ['user_id', 'u-mom'],
      ['email', 'mom@family.test'],
    ]);
    await one(tenantId, [
      ['user_id', 'u-kid'],
      ['email', 'kid@family.test'],
    ]);
    const bridging = await one(tenantId, [
      ['email', 'mom@family.test'],
      ['email', 'kid@family.test'],
    ]);
    expect([mom, kid]).toContain(bridging);
    expect(await activeProfiles(tenantId)).toBe(2);
    const ids = await queryRows<{ profileId: string; value: string }>(
      t.database.db,
      sql`SELECT profile_id AS "profileId", value FROM profile_identifiers WHERE tenant_id = ${tenantId} AND type = 'user_id'`,
    );
    expect(new Set(ids.map((i) => i.profileId)).size).toBe(2);
    const queue = await t.request('GET', '/api/v1/profiles/review-queue', { token: ownerToken });
    expect(queue.body.data.length).toBeGreaterThanOrEqual(1);
    expect(queue.body.data.every((r: { reason: string }) => r.reason === 'conflicting_user_ids')).toBe(true);
    const rej = await t.request('POST', `/api/v1/profiles/review-queue/${queue.body.data[0].id}/reject`, { token: ownerToken });
    expect(rej.status).toBe(200);
    expect(rej.body.review.status).toBe('rejected');
    expect(await activeProfiles(tenantId)).toBe(2);
  });

  it('per-profile limits: a sixth e-mail is not attached', async () => {
    const { tenantId } = await t.createTenant();
    const p = await one(tenantId, [['user_id', 'lim-1']]);
    for (let n = 0; n < 7; n++)
      expect(
        await one(tenantId, [
          ['user_id', 'lim-1'],
          ['email', `box${n}@limit.test`],
        ]),
      ).toBe(p);
    expect(await count(sql`SELECT count(*) AS n FROM profile_identifiers WHERE tenant_id = ${tenantId} AND type = 'email'`)).toBe(5);
  });
});

describe('concurrency', () => {
  it('many concurrent resolveMany calls for one person create exactly one profile', async () => {
    const { tenantId } = await t.createTenant();
    const calls = Array.from({ length: 24 }, (_, n) =>
      resolve(tenantId, [
        ev([
          ['email', n % 2 ? 'Race@Shop.test' : 'race@shop.test'],
          ['device_id', `race-dev-${n % 3}`],
          ['phone', n % 4 ? '+1 202 555 0199' : '(202) 555-0199'],
        ]),
      ]),
    );
    const out = (await Promise.all(calls)).flat();
    expect(new Set(out).size).toBe(1);
    expect(await activeProfiles(tenantId)).toBe(1);
    expect(await count(sql`SELECT count(*) AS n FROM profile_identifiers WHERE tenant_id = ${tenantId}`)).toBe(5);
  });

  it('concurrent events that each bring a new identifier of the same person converge', async () => {
    const { tenantId } = await t.createTenant();
    const out = (
      await Promise.all(
        Array.from({ length: 16 }, (_, n) =>
          resolve(tenantId, [
            ev([
              ['user_id', 'racer'],
              ['anonymous_id', `cookie-${n}`],
            ]),
          ]),
        ),
      )
    ).flat();
    expect(new Set(out).size).toBe(1);
    expect(await activeProfiles(tenantId)).toBe(1);
  });
});

describe('tenant isolation in resolution', () => {
  it('the same e-mail in two tenants gives two unrelated profiles', async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const pa = await one(a.tenantId, [['email', 'same@person.test']]);
    const pb = await one(b.tenantId, [['email', 'same@person.test']]);
    expect(pa).not.toBe(pb);
    expect(await one(a.tenantId, [['email', 'same@person.test']])).toBe(pa);
  });
});
