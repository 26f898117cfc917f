import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne, queryRows } from '../../platform/index.ts';
import { systemContext } from '../../platform/access.ts';
import { BLOCK_USER, type Take, createBudgetPool } from './budget.pool.ts';
import { dayOf } from './sponsored.core.ts';
import { createSponsoredRepository } from './sponsored.repository.ts';

/**
 * Budget blocks (budget.pool.ts): the feed's sponsored decisions carved from per-process blocks of a campaign's
 * budget, their rows written in batches. The stated overspend bound is 0: spent + reserved never passes the
 * budget, and what is charged never passes it, with several pools (processes) carving one small budget at once,
 * with a block that expired before its decisions were written, and after a pause.
 */
let t: TestApp;
let A: Awaited<ReturnType<TestApp['createTenant']>>;
let B: Awaited<ReturnType<TestApp['createTenant']>>;
let keyA: string;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const repo = createSponsoredRepository();
const silent = { warn: () => {} };

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createTenant('Pool store');
  B = await t.createTenant('Other store');
  keyA = await A.apiKey(['recommendations:read', 'interactions:write']);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

async function activeCampaign(token: string, over: Record<string, unknown>): Promise<string> {
  const c = await t.request('POST', '/api/v1/sponsored/campaigns', {
    token,
    body: {
      brand_id: 'acme',
      name: 'Pool',
      currency: 'USD',
      budget_amount: '1.00',
      budget_type: 'lifetime',
      start_date: new Date(Date.now() - 86_400_000).toISOString(),
      pricing_model: 'cpc',
      bid_amount: '0.10',
      pacing: 'asap',
      creative: { headline: 'Pool' },
      promoted_item_ids: ['sku-1'],
      ...over,
    },
  });
  expect(c.status, JSON.stringify(c.body)).toBe(201);
  await t.request('POST', `/api/v1/sponsored/campaigns/${c.body.id}/approve`, { token });
  await t.request('POST', `/api/v1/sponsored/campaigns/${c.body.id}/activate`, { token });
  return c.body.id as string;
}

const money = (campaignId: string) =>
  queryOne<{ spent: string; reserved: string; budget: string; open: string; charged: string }>(
    t.database.db,
    sql`SELECT spent_milli::text AS spent, reserved_milli::text AS reserved, (budget_minor * 1000)::text AS budget,
      (SELECT COALESCE(sum(reserved_milli), 0)::text FROM sponsored_decisions d WHERE d.campaign_id = c.id AND d.state = 'open') AS open,
      (SELECT COALESCE(sum(amount_milli), 0)::text FROM sponsored_charges x WHERE x.campaign_id = c.id) AS charged
    FROM sponsored_campaigns c WHERE id = ${campaignId}`,
  ).then((r) => ({
    spent: BigInt(r!.spent),
    reserved: BigInt(r!.reserved),
    budget: BigInt(r!.budget),
    open: BigInt(r!.open),
    charged: BigInt(r!.charged),
  }));

function takeFor(campaignId: string, userId: string, now = new Date()): Take {
  return {
    campaignId,
    budgetMinor: 100n,
    remainingMilli: 100_000n,
    userId,
    placement: 'feed_position_3',
    priceMinor: 10n,
    costMilli: 10_000n,
    capMilli: 100_000n,
    today: dayOf(now),
    now,
    reservationSeconds: 1800,
  };
}

async function clickAll(decisions: { id: string; campaignId: string; userId: string }[]) {
  const outcomes: string[] = [];
  await Promise.all(
    decisions.map(async (d) => {
      const imp = await t.request('POST', '/api/v1/sponsored/impressions', {
        token: keyA,
        body: { decision_id: d.id, campaign_id: d.campaignId, user_id: d.userId, placement: 'feed_position_3' },
      });
      expect(imp.status, JSON.stringify(imp.body)).toBe(200);
      const k = await t.request('POST', '/api/v1/sponsored/clicks', {
        token: keyA,
        body: { impression_id: imp.body.id, user_id: d.userId, user_agent: UA },
      });
      expect(k.status).toBe(200);
      outcomes.push(k.body.outcome);
    }),
  );
  return outcomes;
}

describe('budget pool', () => {
  it('three pools (processes) carving a 10-click budget with 96 concurrent takes: at most 10 reserved, never past the budget', async () => {
    const id = await activeCampaign(A.ownerToken, {});
    const pools = [0, 1, 2].map(() => createBudgetPool({ db: t.database.db, repo, clock: () => new Date(), log: silent, units: 4 }));
    const taken = await Promise.all(
      Array.from({ length: 96 }, (_, k) =>
        pools[k % 3]!.take(A.tenantId, takeFor(id, `u${k}`)).then((d) => d && { ...d, userId: `u${k}` }),
      ),
    );
    const served = taken.filter((d) => d !== undefined);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(10);
    await Promise.all(pools.map((p) => p.flush()));
    let m = await money(id);
    // Invariant: what the campaign has reserved is exactly what its open decisions (and blocks) hold.
    expect(m.reserved).toBe(m.open);
    expect(m.spent + m.reserved <= m.budget).toBe(true);
    // Every served decision is backed: clicked, each is charged, and the total is within the budget.
    const outcomes = await clickAll(served);
    expect(outcomes.every((o) => o === 'charged')).toBe(true);
    await Promise.all(pools.map((p) => p.stop()));
    m = await money(id);
    expect(m.charged).toBe(BigInt(served.length) * 10_000n);
    expect(m.charged <= m.budget).toBe(true);
    expect(m.spent).toBe(m.charged);
    // Stopped pools gave their blocks' remainders back.
    expect(m.reserved).toBe(0n);
    expect(m.open).toBe(0n);
  }, 60_000);

  it('reserves one block for many decisions (statements per decision fall), and a decision is readable only after a flush', async () => {
    const id = await activeCampaign(A.ownerToken, { budget_amount: '100.00' });
    const pool = createBudgetPool({ db: t.database.db, repo, clock: () => new Date(), log: silent, units: 64, flushMs: 60_000 });
    const ds = [];
    for (let k = 0; k < 20; k++)
      ds.push((await pool.take(A.tenantId, { ...takeFor(id, `v${k}`), remainingMilli: 10_000_000n, capMilli: 10_000_000n }))!);
    const blocks = await queryRows<{ reserved_milli: string }>(
      t.database.db,
      sql`SELECT reserved_milli::text FROM sponsored_decisions WHERE campaign_id = ${id} AND user_id = ${BLOCK_USER}`,
    );
    expect(blocks).toHaveLength(1);
    expect(BigInt(blocks[0]!.reserved_milli)).toBe(64n * 10_000n);
    expect(pool.isPending(ds[0]!.id)).toBe(true);
    expect(await repo.getDecision(t.database.db, A.tenantId, ds[0]!.id)).toBeUndefined();
    await pool.flush();
    expect(pool.isPending(ds[0]!.id)).toBe(false);
    expect(await repo.getDecision(t.database.db, A.tenantId, ds[0]!.id)).toMatchObject({ reservedMilli: 10_000n, state: 'open' });
    const m = await money(id);
    expect(m.reserved).toBe(64n * 10_000n);
    expect(m.open).toBe(64n * 10_000n);
    await pool.stop();
    expect((await money(id)).reserved).toBe(20n * 10_000n);
  });

  it('a block released before its decisions are written: they carry nothing and are charged only while the budget holds', async () => {
    const id = await activeCampaign(A.ownerToken, { budget_amount: '0.30' });
    let now = new Date();
    const pool = createBudgetPool({ db: t.database.db, repo, clock: () => now, log: silent, units: 3, flushMs: 60_000 });
    const take = (u: string) => pool.take(A.tenantId, { ...takeFor(id, u, now), remainingMilli: 120_000n, reservationSeconds: 10 });
    const first = [(await take('x1'))!, (await take('x2'))!, (await take('x3'))!];
    expect(first.every(Boolean)).toBe(true);
    // The process stalls past the block's expiry: a sweep returns the block to the campaign first.
    now = new Date(Date.now() + 11_000);
    await repo.releaseExpired(t.database.db, A.tenantId, now);
    await pool.flush();
    const rows = await queryRows<{ reserved_milli: string }>(
      t.database.db,
      sql`SELECT reserved_milli::text FROM sponsored_decisions WHERE campaign_id = ${id} AND user_id <> ${BLOCK_USER}`,
    );
    expect(rows.map((r) => BigInt(r.reserved_milli))).toEqual([0n, 0n, 0n]);
    expect((await money(id)).reserved).toBe(0n);
    // Meanwhile the exact path spends the budget down to one click.
    const other = await repo.reserveBlock(t.database.db, A.tenantId, {
      id: '0190b2d4-0000-7000-8000-000000000001',
      campaignId: id,
      userId: 'someone',
      placement: 'feed',
      priceMinor: 10n,
      costMilli: 20_000n,
      capMilli: 300_000n,
      today: dayOf(new Date()),
      now: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    });
    expect(other).toBe(true);
    const outcomes = await clickAll(first.map((d, k) => ({ ...d, userId: `x${k + 1}` })));
    // One click fits what is left (0.10 of 0.30 with 0.20 reserved elsewhere); the other two are not charged.
    expect(outcomes.filter((o) => o === 'charged')).toHaveLength(1);
    const m = await money(id);
    expect(m.spent + m.reserved <= m.budget).toBe(true);
    expect(m.charged).toBe(10_000n);
    await pool.stop();
  });

  it('the feed path: a paused campaign serves nothing and its block goes back; another tenant cannot carve it', async () => {
    const id = await activeCampaign(A.ownerToken, { budget_amount: '5.00' });
    const ctx = systemContext(A.tenantId);
    const s = t.modules.sponsored;
    // Three slots: the earlier tests' campaigns still running bid the same, every one with budget left wins one.
    const won = (await s.placements(ctx, { placement: 'feed_position_3', userId: 'feed-user', slots: 3 })).filter(
      (w) => w.campaignId === id,
    );
    expect(won).toHaveLength(1);
    // Another tenant's feed never sees it.
    expect((await s.placements(systemContext(B.tenantId), { placement: 'feed_position_3', userId: 'feed-user', slots: 1 })).length).toBe(0);
    // Tenant B cannot reserve from A's campaign either (the statement filters on the tenant).
    const stranger = createBudgetPool({ db: t.database.db, repo, clock: () => new Date(), log: silent });
    expect(await stranger.take(B.tenantId, takeFor(id, 'b-user'))).toBeUndefined();
    // The decision is readable at once through the API (the impression flushes the pool first).
    const imp = await t.request('POST', '/api/v1/sponsored/impressions', {
      token: keyA,
      body: { decision_id: won[0]!.decisionId, campaign_id: id, user_id: 'feed-user', placement: 'feed_position_3' },
    });
    expect(imp.status, JSON.stringify(imp.body)).toBe(200);
    expect((await t.request('POST', `/api/v1/sponsored/campaigns/${id}/pause`, { token: A.ownerToken })).status).toBe(200);
    expect(
      (await s.placements(ctx, { placement: 'feed_position_3', userId: 'feed-user', slots: 3 })).map((w) => w.campaignId),
    ).not.toContain(id);
    await s.flushDecisions();
    const m = await money(id);
    // Only the served decision is still reserved: the block's remainder is back.
    expect(m.reserved).toBe(m.open);
    const served = await repo.getDecision(t.database.db, A.tenantId, won[0]!.decisionId);
    expect(served!.reservedMilli).toBeGreaterThan(0n);
    expect(m.reserved).toBe(served!.reservedMilli);
  });

  it('refuses nonsense takes (zero cost) without touching the database', async () => {
    const id = await activeCampaign(A.ownerToken, {});
    const pool = createBudgetPool({ db: t.database.db, repo, clock: () => new Date(), log: silent });
    expect(await pool.take(A.tenantId, { ...takeFor(id, 'z'), costMilli: 0n })).toBeUndefined();
    expect((await money(id)).reserved).toBe(0n);
  });
});
