/**
 * The reads of ONE decision (a budget block's batch, its release, a charge consuming a reservation) and of ONE
 * shopper's open decisions (frequency caps) stay bounded however many open decisions the tenant holds: reservations
 * live 30 minutes, so a feed under load piles up thousands. Measured with EXPLAIN ANALYZE (rows the plan's scans of
 * sponsored_decisions produced or filtered away), on statistics taken while the table held two rows (as right after
 * a deploy, before autovacuum comes): the state in which the planner read every open decision for one row.
 */
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { newId, type Q } from '../../platform/index.ts';
import { createSponsoredRepository } from './sponsored.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan's scans of sponsored_decisions produced or filtered away (the modifying node itself left out). */
function rowsRead(n: PlanNode): number {
  const own =
    n['Relation Name'] === 'sponsored_decisions' && n['Node Type'].includes('Scan')
      ? (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1) + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)
      : 0;
  return own + (n.Plans ?? []).reduce((s, c) => s + rowsRead(c), 0);
}

/** A unit of work that runs each statement under EXPLAIN ANALYZE and records its rows read (answers the plan's row). */
function explaining(reads: number[]): Q {
  return {
    execute: async (query: SQL) => {
      const res = (await t.database.db.execute(sql`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`)) as unknown as {
        rows: Record<string, unknown>[];
      };
      const raw = res.rows[0]!['QUERY PLAN'];
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
      reads.push(rowsRead(doc[0]!.Plan));
      return res;
    },
  } as unknown as Q;
}

describe('sponsored decisions: reads of one decision or one shopper stay bounded', () => {
  it('touch a handful of rows with 3,000 open decisions of other shoppers and statistics from a near-empty table', async () => {
    const { tenantId } = await t.createTenant();
    const repo = createSponsoredRepository();
    const now = new Date();
    const campaign = await repo.insertCampaign(
      t.database.db,
      tenantId,
      {
        brandId: 'b',
        name: 'Capped',
        creative: {},
        promotedItemIds: [],
        currency: 'USD',
        budgetMinor: 1_000_000n,
        budgetType: 'lifetime',
        startDate: new Date(now.getTime() - 3_600_000),
        endDate: null,
        priorityScore: 0,
        pricingModel: 'cpc',
        bidMinor: 50n,
        targeting: {},
        frequencyCaps: [{ impressions: 3, windowSeconds: 3600 }],
        pacing: 'asap',
        clickWindowSeconds: 86_400,
        viewWindowSeconds: 86_400,
      },
      now,
    );
    const expires = new Date(now.getTime() + 1_800_000);
    const insert = (id: string, userId: string, state: string, reserved: bigint, count = 1) =>
      t.database.db.execute(sql`INSERT INTO sponsored_decisions (tenant_id, id, campaign_id, user_id, placement, price_minor, reserved_milli,
          reserved_day, state, expires_at, created_at)
        SELECT ${tenantId}, CASE WHEN ${count} = 1 THEN ${id}::uuid ELSE gen_random_uuid() END, ${campaign.id}, ${userId} || CASE WHEN ${count} = 1 THEN '' ELSE g::text END,
          'feed', 50, ${reserved.toString()}::bigint, '2026-01-01', ${state}, ${expires}, ${now}
        FROM generate_series(1, ${count}) g`);
    const block = newId();
    await insert(block, '', 'open', 1_000_000n);
    await insert(newId(), '', 'released', 0n);
    await t.database.db.execute(sql`ANALYZE sponsored_decisions`);
    await insert(newId(), 'other-', 'open', 50_000n, 3000);
    const mine = newId();
    await insert(mine, 'me', 'open', 50_000n);

    const reads: number[] = [];
    const q = explaining(reads);
    // a batch of feed decisions carved from the block (the block row's update and the inserts)
    await repo.insertCarved(
      q,
      tenantId,
      block,
      [
        {
          id: newId(),
          campaignId: campaign.id,
          userId: 'shopper-9',
          placement: 'feed',
          priceMinor: 50n,
          reservedMilli: 50_000n,
          state: 'open',
          expiresAt: expires,
          createdAt: now,
        },
      ],
      50_000n,
      '2026-01-01',
    );
    // the shopper's frequency-cap count
    await repo.capUsage(q, tenantId, campaign.id, 'me', new Date(now.getTime() - 3_600_000), now);
    // a click consuming the shopper's reservation (the ledger row, then the decision by its key)
    await repo.charge(q, tenantId, {
      campaignId: campaign.id,
      kind: 'click',
      sourceId: newId(),
      decisionId: mine,
      costMilli: 50_000n,
      currency: 'USD',
      today: '2026-01-01',
      now,
    });
    // the block given back (its row by key, then the sweep of expired reservations: the block alone)
    await repo.releaseBlock(q, tenantId, block, new Date(now.getTime() + 1));
    expect(reads.length).toBeGreaterThanOrEqual(5);
    // rows read per statement: the block row, the shopper's own, the reservation, the block again, the expired block
    expect(Math.max(...reads)).toBeLessThanOrEqual(5);
  });
});
