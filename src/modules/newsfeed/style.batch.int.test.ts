import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers.ts';
import { type Database, newId } from '../../platform/index.ts';
import { createPreferencesRepository } from './preferences.repository.ts';
import { type ProfileInteraction, type StyleItem, createStyleService } from './style.service.ts';

/**
 * The batched style-profile refresh (`refreshMany`): for many users at once it writes exactly what one refresh per
 * user writes (profiles, folded events, snapshots), in a fixed number of statements, and only in its tenant.
 */
let database: Database;
const A = '0190a000-0000-7000-8000-00000000a5a1'; // refreshed one user at a time
const B = '0190a000-0000-7000-8000-00000000a5b2'; // the same history, refreshed in one batch
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

const ITEMS: StyleItem[] = Array.from({ length: 12 }, (_, k) => ({
  itemId: `sku-${k}`,
  category: ['Shoes', 'Bags', 'Dresses'][k % 3]!,
  brand: ['Acme', 'Birch'][k % 2]!,
  priceMajor: 10 + k * 15,
  style: k % 2 ? ['minimal'] : ['boho'],
  occasion: ['work'],
}));
const TYPES = ['view', 'add_to_cart', 'purchase', 'view'];

/** Interactions per tenant and user, newest last (ids are UUIDv7: their order is their time). */
function history() {
  const byTenant = new Map<string, ProfileInteraction[]>([
    [A, []],
    [B, []],
  ]);
  const add = (userId: string, n: number) => {
    for (let k = 0; k < n; k++) {
      const id = newId();
      const itemId = `sku-${(userId.length * 7 + k) % 14}`; // sku-12 and sku-13 are not in the catalog
      for (const list of byTenant.values()) list.push({ userId, id, itemId, type: TYPES[k % TYPES.length]! });
    }
  };
  return { byTenant, add };
}

function service(h: ReturnType<typeof history>, counter: { statements: number }) {
  const db = database.db;
  const counting = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'transaction')
        return (fn: (tx: unknown) => Promise<unknown>) =>
          target.transaction((tx) =>
            fn(
              new Proxy(tx, {
                get(t, p, r) {
                  if (p === 'execute')
                    return (q: never) => {
                      counter.statements++;
                      return t.execute(q);
                    };
                  return Reflect.get(t, p, r);
                },
              }),
            ),
          );
      return Reflect.get(target, prop, receiver);
    },
  });
  return createStyleService({
    db: counting as typeof db,
    repo: createPreferencesRepository(),
    clock: () => new Date('2026-03-01T00:00:00Z'),
    async recentInteractions(tenantId, userIds, limit) {
      const out: ProfileInteraction[] = [];
      for (const u of userIds)
        out.push(
          ...h.byTenant
            .get(tenantId)!
            .filter((r) => r.userId === u)
            .reverse()
            .slice(0, limit),
        );
      return out;
    },
    styleItems: async (_t, ids) => ITEMS.filter((i) => ids.includes(i.itemId)),
  });
}

const rowsOf = async (tenantId: string) => {
  const q = async (text: ReturnType<typeof sql>) => (await database.db.execute(text)) as unknown as { rows: Record<string, unknown>[] };
  const profiles = await q(
    sql`SELECT user_id, style_layers, price_layers, category_layers, occasion_layers, brand_layers, commerce_intent, confidence, events_count, last_event_id, decayed_at
        FROM style_profiles WHERE tenant_id = ${tenantId} ORDER BY user_id`,
  );
  const events = await q(
    sql`SELECT user_id, event_type, source_type, source_id, weight, created_at FROM style_profile_events WHERE tenant_id = ${tenantId} ORDER BY user_id, source_id`,
  );
  const snaps = await q(
    sql`SELECT user_id, style_layers, layers, confidence, reason FROM style_profile_snapshots WHERE tenant_id = ${tenantId} ORDER BY user_id, reason`,
  );
  return { profiles: profiles.rows, events: events.rows, snapshots: snaps.rows };
};

describe('style profiles refreshed in one batch', () => {
  it('writes what one refresh per user writes, across two rounds (incremental folding and the 50-interaction snapshot)', async () => {
    const h = history();
    const users = ['ana', 'ben', 'cy', 'dee', 'heavy'];
    for (const u of users) h.add(u, u === 'heavy' ? 45 : 3);
    const perUser = { statements: 0 };
    const batched = { statements: 0 };
    const one = service(h, perUser);
    const many = service(h, batched);
    for (const u of users) await one.refresh(A, u);
    const first = await many.refreshMany(B, [...users, 'nobody']);
    expect([...first].map(([u, r]) => [u, r.folded])).toEqual([
      ['nobody', 0],
      ['ana', 3],
      ['ben', 3],
      ['cy', 3],
      ['dee', 3],
      ['heavy', 45],
    ]);
    // Round two: new interactions for some users (heavy crosses 50: a snapshot), none for others.
    h.add('ana', 2);
    h.add('heavy', 10);
    for (const u of users) await one.refresh(A, u);
    perUser.statements = 0;
    batched.statements = 0;
    h.add('ben', 1);
    await one.refresh(A, 'ben');
    await one.refresh(A, 'cy');
    const second = await many.refreshMany(B, users);
    expect(second.get('ana')!.folded).toBe(2);
    expect(second.get('heavy')!.folded).toBe(10);
    expect(second.get('cy')!.folded).toBe(0);
    const a = await rowsOf(A);
    const b = await rowsOf(B);
    expect(a.profiles).toHaveLength(5);
    expect(b.profiles).toEqual(a.profiles);
    expect(b.events).toEqual(a.events);
    expect(b.snapshots).toEqual(a.snapshots);
    expect(b.snapshots.map((s) => [s.user_id, s.reason])).toContainEqual(['heavy', '50 interactions']);
    // Writes inside the transaction, whatever the number of users: the locks, the profiles, the folded events and
    // the snapshots (the set-tenant statement and the profiles read go through queryRows, not counted here).
    expect(batched.statements).toBe(4);
  });

  it('touches only its own tenant, and an empty or unknown set of users writes nothing', async () => {
    const h = history();
    h.add('zed', 2);
    const s = service(h, { statements: 0 });
    const beforeA = await rowsOf(A);
    expect((await s.refreshMany(B, [])).size).toBe(0);
    expect((await s.refreshMany(B, ['ghost'])).get('ghost')).toEqual({ profile: undefined, folded: 0 });
    await s.refreshMany(B, ['zed', 'zed']);
    expect(await rowsOf(A)).toEqual(beforeA);
    expect((await rowsOf(B)).profiles.filter((p) => p.user_id === 'zed')).toHaveLength(1);
  });

  it('two concurrent batches sharing users fold each interaction once', async () => {
    const h = history();
    for (const u of ['p1', 'p2', 'p3']) h.add(u, 4);
    const s = service(h, { statements: 0 });
    const [x, y] = await Promise.all([s.refreshMany(B, ['p1', 'p2', 'p3']), s.refreshMany(B, ['p3', 'p2', 'p1'])]);
    for (const u of ['p1', 'p2', 'p3']) expect(x.get(u)!.folded + y.get(u)!.folded).toBe(4);
    const b = await rowsOf(B);
    expect(b.events.filter((e) => ['p1', 'p2', 'p3'].includes(e.user_id as string))).toHaveLength(12);
  });
});
