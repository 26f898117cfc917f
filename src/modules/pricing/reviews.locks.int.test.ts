/**
 * Two operators accept the two pending pairs of one offer at the same moment. Each decision locks its pair and the
 * offer and closes the offer's other pending pair: taken pair-first, the two transactions wait on each other (A holds
 * pair 1 and the offer and wants pair 2; B holds pair 2 and wants the offer) and PostgreSQL kills one as a deadlock,
 * a 500. Taken offer-first, the second decision waits for the first, then finds its pair closed: 409. The race is
 * made certain by holding the offer's row lock in a third transaction until both requests wait on it. The embedded
 * database has one connection (no concurrency): skipped there.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestApp, pollUntil, type TestApp } from '../../../test/helpers.ts';
import { newId, queryRows } from '../../platform/index.ts';
import { pricingRepository as repo } from './pricing.repository.ts';

const onPostgres = inject('dbTarget') === 'postgres';

let t: TestApp;
let key: string;
let tenantId: string;

beforeAll(async () => {
  if (!onPostgres) return;
  t = await createTestApp();
  const a = await t.createTenant('Review locks');
  tenantId = a.tenantId;
  key = await a.apiKey(['catalog:read', 'catalog:write']);
}, 120_000);
afterAll(async () => {
  await t?.close();
}, 60_000);

/** One offer in its own group, with a pending pair towards each of two other groups. */
async function offerWithTwoPairs() {
  const db = t.database.db;
  const store = newId();
  await db.execute(sql`INSERT INTO pricing_stores (tenant_id, id, name) VALUES (${tenantId}, ${store}, ${`Store ${store.slice(0, 8)}`})`);
  const [own, g1, g2] = [newId(), newId(), newId()];
  for (const g of [own, g1, g2])
    await db.execute(sql`INSERT INTO pricing_match_groups (tenant_id, id, canonical_name) VALUES (${tenantId}, ${g}, 'Kettle')`);
  const offerId = newId();
  await db.execute(
    sql`INSERT INTO pricing_offers (tenant_id, id, store_id, external_id, title, price_minor, currency, match_group_id, price_updated_at)
        VALUES (${tenantId}, ${offerId}, ${store}, ${offerId}, 'Kettle', 1000, 'USD', ${own}, now())`,
  );
  const candidates = [newId(), newId()];
  for (const [k, g] of [g1, g2].entries())
    await db.execute(
      sql`INSERT INTO pricing_offers (tenant_id, id, store_id, external_id, title, price_minor, currency, match_group_id, price_updated_at)
          VALUES (${tenantId}, ${candidates[k]}, ${store}, ${candidates[k]}, 'Kettle', 1100, 'USD', ${g}, now())`,
    );
  await repo.insertReviews(
    db,
    tenantId,
    [
      { offerId, candidateGroupId: g1, candidateOfferId: candidates[0]!, score: 0.6 },
      { offerId, candidateGroupId: g2, candidateOfferId: candidates[1]!, score: 0.5 },
    ],
    new Date(),
  );
  const reviews = (
    await queryRows<{ id: string }>(db, sql`SELECT id FROM pricing_match_reviews WHERE tenant_id = ${tenantId} AND offer_id = ${offerId}`)
  ).map((r) => r.id);
  expect(reviews).toHaveLength(2);
  return { offerId, reviews, groups: [g1, g2] };
}

/** Backends of this database waiting for a lock (the two decisions, once both are blocked). */
const waitingOnLocks = async () =>
  Number(
    (
      await queryRows<{ n: string }>(
        t.database.db,
        sql`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    )[0]!.n,
  );

describe.skipIf(!onPostgres)('deciding two pairs of one offer at once', () => {
  it('accepting both pairs concurrently: one wins, the other answers 409, never a deadlock', async () => {
    const { offerId, reviews, groups } = await offerWithTwoPairs();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    // A third transaction holds the offer's row lock, so both decisions are in flight (each past its first lock) at once.
    const holder = t.database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT id FROM pricing_offers WHERE tenant_id = ${tenantId} AND id = ${offerId} FOR UPDATE`);
      holding();
      await released;
    });
    await held;
    const decisions = reviews.map((id) => t.request('POST', `/api/v1/pricing/reviews/${id}/accept`, { token: key }));
    try {
      await pollUntil('both decisions wait on a lock', waitingOnLocks, (n) => n >= 2, { intervalMs: 20 });
    } finally {
      release();
    }
    await holder;
    const rs = await Promise.all(decisions);
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409]);
    const win = rs.find((r) => r.status === 200)!;
    const winner = reviews.indexOf(win.body.review.id);
    expect(win.body.moved_offer_ids).toEqual([offerId]);
    expect(rs.find((r) => r.status === 409)!.body.error.code).toBe('PRICING_REVIEW_DECIDED');
    // the offer is in the winner's group, and the other pair is closed
    const state = await queryRows<{ status: string; id: string; group: string }>(
      t.database.db,
      sql`SELECT r.id, r.status, o.match_group_id AS group FROM pricing_match_reviews r
          JOIN pricing_offers o ON o.tenant_id = r.tenant_id AND o.id = r.offer_id
          WHERE r.tenant_id = ${tenantId} AND r.offer_id = ${offerId} ORDER BY r.id`,
    );
    for (const row of state) {
      expect(row.group).toBe(groups[winner]);
      expect(row.status).toBe(row.id === reviews[winner] ? 'accepted' : 'rejected');
    }
  }, 60_000);
});
