import { type SQL, sql } from 'drizzle-orm';
import { type Db, MAX_MINOR, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { BudgetType, CampaignStatus, FrequencyCap, PacingMode, PricingModel, Targeting } from './sponsored.core.ts';

/** A query handle: the database or an open transaction. */
export type Q = Pick<Db, 'execute'>;

export interface CampaignRow {
  id: string;
  brandId: string;
  name: string;
  creative: Record<string, unknown>;
  promotedItemIds: string[];
  currency: string;
  budgetMinor: bigint;
  budgetType: BudgetType;
  startDate: Date;
  endDate: Date | null;
  status: CampaignStatus;
  statusReason: string | null;
  priorityScore: number;
  pricingModel: PricingModel;
  bidMinor: bigint;
  targeting: Targeting;
  frequencyCaps: FrequencyCap[];
  pacing: PacingMode;
  clickWindowSeconds: number;
  viewWindowSeconds: number;
  spentMilli: bigint;
  reservedMilli: bigint;
  budgetDay: string;
  daySpentMilli: bigint;
  dayReservedMilli: bigint;
  createdAt: Date;
  updatedAt: Date;
}

export type CampaignWrite = Omit<
  CampaignRow,
  | 'id'
  | 'status'
  | 'statusReason'
  | 'spentMilli'
  | 'reservedMilli'
  | 'budgetDay'
  | 'daySpentMilli'
  | 'dayReservedMilli'
  | 'createdAt'
  | 'updatedAt'
>;

const CAMPAIGN_COLUMNS = sql`id, brand_id AS "brandId", name, creative, promoted_item_ids AS "promotedItemIds", currency,
  budget_minor::text AS "budgetMinor", budget_type AS "budgetType", start_date AS "startDate", end_date AS "endDate", status,
  status_reason AS "statusReason", priority_score AS "priorityScore", pricing_model AS "pricingModel", bid_minor::text AS "bidMinor",
  targeting, frequency_caps AS "frequencyCaps", pacing, click_window_seconds AS "clickWindowSeconds",
  view_window_seconds AS "viewWindowSeconds", spent_milli::text AS "spentMilli", reserved_milli::text AS "reservedMilli",
  budget_day AS "budgetDay", day_spent_milli::text AS "daySpentMilli", day_reserved_milli::text AS "dayReservedMilli",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

type Raw<T> = { [K in keyof T]: T[K] extends bigint ? string : T[K] };
const BIG: (keyof CampaignRow)[] = ['budgetMinor', 'bidMinor', 'spentMilli', 'reservedMilli', 'daySpentMilli', 'dayReservedMilli'];
const toCampaign = (r: Raw<CampaignRow>): CampaignRow => {
  const out = { ...r, startDate: new Date(r.startDate), endDate: r.endDate ? new Date(r.endDate) : null } as unknown as Record<
    string,
    unknown
  >;
  for (const k of BIG) out[k] = BigInt(r[k] as string);
  return out as unknown as CampaignRow;
};

/** A bigint parameter (bound as text: both drivers take it exactly). */
const big = (v: bigint): SQL => sql`${v.toString()}::bigint`;

/** The condition "this charge of `cost` milli fits the budget (and the pacing cap)", on the campaign row `c`. */
const fits = (cost: bigint, capMilli: bigint, today: string): SQL => sql`CASE WHEN c.budget_type = 'daily'
    THEN (CASE WHEN c.budget_day = ${today} THEN c.day_spent_milli + c.day_reserved_milli ELSE 0 END) + ${big(cost)}
      <= LEAST(c.budget_minor * 1000, ${big(capMilli)})
    ELSE c.spent_milli + c.reserved_milli + ${big(cost)} <= LEAST(c.budget_minor * 1000, ${big(capMilli)}) END`;

export interface DecisionRow {
  id: string;
  campaignId: string;
  userId: string;
  placement: string;
  priceMinor: bigint;
  reservedMilli: bigint;
  state: 'open' | 'consumed' | 'released';
  expiresAt: Date;
}

/** A decision carved from a budget block, waiting to be written. */
export interface CarvedDecision extends DecisionRow {
  createdAt: Date;
}

export interface ImpressionRow {
  id: string;
  eventId: string;
  campaignId: string;
  decisionId: string | null;
  userId: string;
  placement: string;
  impressionCostMilli: bigint;
  viewedAt: Date;
}

export interface ClickRow {
  id: string;
  eventId: string;
  impressionId: string;
  campaignId: string;
  userId: string;
  clickCostMilli: bigint;
  invalidReason: string | null;
  clickedAt: Date;
}

export interface ConversionRow {
  id: string;
  eventId: string;
  userId: string;
  campaignId: string | null;
  clickId: string | null;
  impressionId: string | null;
  conversionType: string;
  valueMinor: bigint;
  currency: string;
  costMilli: bigint;
  convertedAt: Date;
}

const IMPRESSION_COLUMNS = sql`id, event_id AS "eventId", campaign_id AS "campaignId", decision_id AS "decisionId", user_id AS "userId",
  placement, impression_cost_milli::text AS "impressionCostMilli", viewed_at AS "viewedAt"`;
const CLICK_COLUMNS = sql`id, event_id AS "eventId", impression_id AS "impressionId", campaign_id AS "campaignId", user_id AS "userId",
  click_cost_milli::text AS "clickCostMilli", invalid_reason AS "invalidReason", clicked_at AS "clickedAt"`;
const CONVERSION_COLUMNS = sql`id, event_id AS "eventId", user_id AS "userId", campaign_id AS "campaignId", click_id AS "clickId",
  impression_id AS "impressionId", conversion_type AS "conversionType", value_minor::text AS "valueMinor", currency,
  cost_milli::text AS "costMilli", converted_at AS "convertedAt"`;

const toImpression = (r: Raw<ImpressionRow>): ImpressionRow => ({
  ...r,
  impressionCostMilli: BigInt(r.impressionCostMilli),
  viewedAt: new Date(r.viewedAt),
});
const toClick = (r: Raw<ClickRow>): ClickRow => ({ ...r, clickCostMilli: BigInt(r.clickCostMilli), clickedAt: new Date(r.clickedAt) });
const toConversion = (r: Raw<ConversionRow>): ConversionRow => ({
  ...r,
  valueMinor: BigInt(r.valueMinor),
  costMilli: BigInt(r.costMilli),
  convertedAt: new Date(r.convertedAt),
});

export interface Performance {
  impressions: number;
  clicks: number;
  invalidClicks: number;
  conversions: number;
  revenueMinor: bigint;
  spendMilli: bigint;
}

export interface DailyPoint {
  day: string;
  impressions: number;
  clicks: number;
  spendMilli: bigint;
  conversions: number;
  revenueMinor: bigint;
}

/**
 * The only I/O of sponsored content. Every method takes the query handle first, then the tenant id; every
 * statement filters on the tenant. Money invariants live in `reserve` and `charge`: each is ONE conditional
 * statement on the campaign row, so concurrent decisions and charges can never push spend past the budget.
 */
/** One decision's reservation: its cost on the campaign within the budget and the pacing cap of `today`. */
interface Reservation {
  campaignId: string;
  userId: string;
  placement: string;
  priceMinor: bigint;
  costMilli: bigint;
  capMilli: bigint;
  today: string;
  now: Date;
  expiresAt: Date;
}

/**
 * "The decision is still open", for lookups of ONE decision by its primary key. Written so that no index on open
 * decisions can serve the lookup (an `IS TRUE` test is neither an index condition nor proves a partial index's
 * `state = 'open'`): with statistics taken while the table was nearly empty (right after a deploy or an upload, before
 * autovacuum comes), the planner priced `sponsored_decisions_open_idx` (tenant, state) like the primary key and chose
 * it, reading every open decision of the tenant for one row, on every batch of feed decisions (bench:newsfeed: from
 * 11 to 114 rows a page as reservations piled up over a run). Only the primary key can serve it now: one row.
 */
const STILL_OPEN = sql`(state = 'open') IS TRUE`;

export function createSponsoredRepository() {
  /**
   * Reserves `costMilli` on the campaign and writes the decision row `id`, in ONE statement: the campaign row is
   * updated only if it is active, in its dates, and spent + reserved + cost stays within both the budget and the
   * pacing cap. False when they cannot hold it.
   */
  async function reserveDecision(q: Q, tenantId: string, d: Reservation & { id: string }): Promise<boolean> {
    const row = await queryOne<{ id: string }>(
      q,
      sql`WITH r AS (
        UPDATE sponsored_campaigns c SET
          day_spent_milli = CASE WHEN c.budget_day = ${d.today} THEN c.day_spent_milli ELSE 0 END,
          day_reserved_milli = (CASE WHEN c.budget_day = ${d.today} THEN c.day_reserved_milli ELSE 0 END) + ${big(d.costMilli)},
          budget_day = ${d.today},
          reserved_milli = c.reserved_milli + ${big(d.costMilli)}
        WHERE c.tenant_id = ${tenantId} AND c.id = ${d.campaignId} AND c.status = 'active' AND c.start_date <= ${d.now}
          AND (c.end_date IS NULL OR c.end_date > ${d.now}) AND ${fits(d.costMilli, d.capMilli, d.today)}
        RETURNING c.id
      )
      INSERT INTO sponsored_decisions (tenant_id, id, campaign_id, user_id, placement, price_minor, reserved_milli, reserved_day, state, expires_at, created_at)
      SELECT ${tenantId}, ${d.id}, r.id, ${d.userId}, ${d.placement}, ${big(d.priceMinor)}, ${big(d.costMilli)}, ${d.today}, 'open', ${d.expiresAt}, ${d.now} FROM r
      RETURNING id`,
    );
    return !!row;
  }

  return {
    async insertCampaign(q: Q, tenantId: string, c: CampaignWrite, now: Date): Promise<CampaignRow> {
      const row = await queryOne<Raw<CampaignRow>>(
        q,
        sql`INSERT INTO sponsored_campaigns (tenant_id, id, brand_id, name, creative, promoted_item_ids, currency, budget_minor, budget_type,
          start_date, end_date, status, priority_score, pricing_model, bid_minor, targeting, frequency_caps, pacing, click_window_seconds,
          view_window_seconds, created_at, updated_at)
        VALUES (${tenantId}, ${newId()}, ${c.brandId}, ${c.name}, ${JSON.stringify(c.creative)}::jsonb, ${arrayParam(c.promotedItemIds)}::text[], ${c.currency},
          ${big(c.budgetMinor)}, ${c.budgetType}, ${c.startDate}, ${c.endDate}, 'pending_review', ${c.priorityScore}, ${c.pricingModel}, ${big(c.bidMinor)},
          ${JSON.stringify(c.targeting)}::jsonb, ${JSON.stringify(c.frequencyCaps)}::jsonb, ${c.pacing}, ${c.clickWindowSeconds},
          ${c.viewWindowSeconds}, ${now}, ${now})
        RETURNING ${CAMPAIGN_COLUMNS}`,
      );
      return toCampaign(row!);
    },

    async updateCampaign(q: Q, tenantId: string, id: string, c: CampaignWrite, now: Date): Promise<CampaignRow | undefined> {
      const row = await queryOne<Raw<CampaignRow>>(
        q,
        sql`UPDATE sponsored_campaigns SET brand_id = ${c.brandId}, name = ${c.name}, creative = ${JSON.stringify(c.creative)}::jsonb,
          promoted_item_ids = ${arrayParam(c.promotedItemIds)}::text[], currency = ${c.currency}, budget_minor = ${big(c.budgetMinor)}, budget_type = ${c.budgetType},
          start_date = ${c.startDate}, end_date = ${c.endDate}, priority_score = ${c.priorityScore}, pricing_model = ${c.pricingModel},
          bid_minor = ${big(c.bidMinor)}, targeting = ${JSON.stringify(c.targeting)}::jsonb, frequency_caps = ${JSON.stringify(c.frequencyCaps)}::jsonb,
          pacing = ${c.pacing}, click_window_seconds = ${c.clickWindowSeconds}, view_window_seconds = ${c.viewWindowSeconds}, updated_at = ${now}
        WHERE tenant_id = ${tenantId} AND id = ${id}
        RETURNING ${CAMPAIGN_COLUMNS}`,
      );
      return row && toCampaign(row);
    },

    async getCampaign(q: Q, tenantId: string, id: string): Promise<CampaignRow | undefined> {
      const row = await queryOne<Raw<CampaignRow>>(
        q,
        sql`SELECT ${CAMPAIGN_COLUMNS} FROM sponsored_campaigns WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
      return row && toCampaign(row);
    },

    async listCampaigns(
      q: Q,
      tenantId: string,
      f: { status?: string | undefined; brandId?: string | undefined; after?: string | undefined; limit: number },
    ): Promise<CampaignRow[]> {
      const rows = await queryRows<Raw<CampaignRow>>(
        q,
        sql`SELECT ${CAMPAIGN_COLUMNS} FROM sponsored_campaigns
        WHERE tenant_id = ${tenantId}
          ${f.status ? sql`AND status = ${f.status}` : sql``}
          ${f.brandId ? sql`AND brand_id = ${f.brandId}` : sql``}
          ${f.after ? sql`AND id < ${f.after}` : sql``}
        ORDER BY id DESC LIMIT ${f.limit}`,
      );
      return rows.map(toCampaign);
    },

    /** Moves a campaign to `to` only from one of `from` (the workflow's one guarded write). */
    async transition(
      q: Q,
      tenantId: string,
      id: string,
      from: readonly CampaignStatus[],
      to: CampaignStatus,
      reason: string | null,
      now: Date,
    ): Promise<CampaignRow | undefined> {
      const row = await queryOne<Raw<CampaignRow>>(
        q,
        sql`UPDATE sponsored_campaigns SET status = ${to}, status_reason = ${reason}, updated_at = ${now}
        WHERE tenant_id = ${tenantId} AND id = ${id} AND status = ANY(${arrayParam(from)}::text[])
        RETURNING ${CAMPAIGN_COLUMNS}`,
      );
      return row && toCampaign(row);
    },

    /** Active campaigns in their dates, with their delivery counts (for predicted CTR). */
    async activeCampaigns(
      q: Q,
      tenantId: string,
      now: Date,
    ): Promise<(CampaignRow & { impressions: number; clicks: number; conversions: number })[]> {
      const rows = await queryRows<Raw<CampaignRow> & { impressions: string; clicks: string; conversions: string }>(
        q,
        sql`SELECT ${CAMPAIGN_COLUMNS},
          (SELECT count(*) FROM sponsored_impressions i WHERE i.tenant_id = ${tenantId} AND i.campaign_id = c.id)::text AS impressions,
          (SELECT count(*) FROM sponsored_clicks k WHERE k.tenant_id = ${tenantId} AND k.campaign_id = c.id AND k.invalid_reason IS NULL)::text AS clicks,
          (SELECT count(*) FROM sponsored_conversions v WHERE v.tenant_id = ${tenantId} AND v.campaign_id = c.id)::text AS conversions
        FROM sponsored_campaigns c
        WHERE c.tenant_id = ${tenantId} AND c.status = 'active' AND c.start_date <= ${now} AND (c.end_date IS NULL OR c.end_date > ${now})`,
      );
      return rows.map((r) => ({
        ...toCampaign(r),
        impressions: Number(r.impressions),
        clicks: Number(r.clicks),
        conversions: Number(r.conversions),
      }));
    },

    /** The user's impressions per campaign since `since` (frequency caps). */
    async recentImpressions(q: Q, tenantId: string, userId: string, since: Date): Promise<{ campaignId: string; viewedAt: Date }[]> {
      const rows = await queryRows<{ campaignId: string; viewedAt: string }>(
        q,
        sql`SELECT campaign_id AS "campaignId", viewed_at AS "viewedAt" FROM sponsored_impressions
        WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND viewed_at > ${since}`,
      );
      return rows.map((r) => ({ campaignId: r.campaignId, viewedAt: new Date(r.viewedAt) }));
    },

    /**
     * Serializes frequency-cap checks of one shopper on one campaign until the end of the caller's transaction
     * (a transaction-scoped advisory lock): a count and the reservation or impression it allows happen as one.
     */
    async lockShopperCaps(q: Q, tenantId: string, campaignId: string, userId: string): Promise<void> {
      await q.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`sponsored-cap:${tenantId}:${campaignId}:${userId}`}, 0))`);
    },

    /**
     * What counts against a shopper's frequency caps on a campaign since `since`: impressions (their view
     * time), and served decisions not yet shown (open, unexpired, no impression: each may still become one).
     * The shopper's decisions come through `sponsored_decisions_shopper_idx` (the cap's window of them): the state and
     * expiry tests are written so `sponsored_decisions_open_idx` cannot serve them. On statistics from a near-empty
     * table the planner took that index (small: its keys deduplicate) for the shopper's few rows, reading every
     * unexpired decision of the tenant, also when the shopper index was partial on open decisions
     * (decisions.reads.int.test.ts).
     */
    async capUsage(q: Q, tenantId: string, campaignId: string, userId: string, since: Date, now: Date): Promise<Date[]> {
      const rows = await queryRows<{ at: string | Date }>(
        q,
        sql`SELECT viewed_at AS at FROM sponsored_impressions
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND campaign_id = ${campaignId} AND viewed_at > ${since}
          UNION ALL
          SELECT d.created_at FROM sponsored_decisions d
            WHERE d.tenant_id = ${tenantId} AND d.campaign_id = ${campaignId} AND d.user_id = ${userId} AND (d.state = 'open') IS TRUE
              AND (d.expires_at > ${now}) IS TRUE AND d.created_at > ${since}
              AND NOT EXISTS (SELECT 1 FROM sponsored_impressions i WHERE i.tenant_id = d.tenant_id AND i.decision_id = d.id)`,
      );
      return rows.map((r) => new Date(r.at));
    },

    /**
     * Returns open reservations past their expiry to their campaigns' budgets, in one statement: the decisions
     * are flipped to `released` (a row lock: concurrent sweeps cannot release twice) and the sums subtracted.
     */
    async releaseExpired(q: Q, tenantId: string, now: Date): Promise<number> {
      const row = await queryOne<{ n: string }>(
        q,
        sql`WITH x AS (
          UPDATE sponsored_decisions SET state = 'released'
          WHERE tenant_id = ${tenantId} AND state = 'open' AND expires_at <= ${now}
          RETURNING campaign_id, reserved_milli, reserved_day
        ), per_day AS (
          SELECT campaign_id, reserved_day, sum(reserved_milli) AS s FROM x GROUP BY 1, 2
        ), agg AS (
          SELECT campaign_id, sum(s) AS total, jsonb_object_agg(reserved_day, s) AS by_day FROM per_day GROUP BY 1
        ), u AS (
          UPDATE sponsored_campaigns c SET reserved_milli = c.reserved_milli - agg.total,
            day_reserved_milli = GREATEST(0, c.day_reserved_milli - COALESCE((agg.by_day ->> c.budget_day)::bigint, 0))
          FROM agg WHERE c.tenant_id = ${tenantId} AND c.id = agg.campaign_id
          RETURNING c.id
        )
        SELECT (SELECT count(*) FROM x)::text AS n`,
        // prepared: swept once a second per tenant by every serving process (pooled decisions)
        { prepare: true },
      );
      return Number(row?.n ?? 0);
    },

    /**
     * Reserves one chargeable event's cost on the campaign and records the decision, in ONE statement: the
     * campaign row is updated only if it is active, in its dates, and spent + reserved + cost stays within
     * both the budget and the pacing cap. Returns the decision, or undefined when the budget cannot hold it.
     */
    async reserve(q: Q, tenantId: string, d: Reservation): Promise<DecisionRow | undefined> {
      const id = newId();
      if (!(await reserveDecision(q, tenantId, { ...d, id }))) return undefined;
      return {
        id,
        campaignId: d.campaignId,
        userId: d.userId,
        placement: d.placement,
        priceMinor: d.priceMinor,
        reservedMilli: d.costMilli,
        state: 'open',
        expiresAt: d.expiresAt,
      };
    },

    /**
     * Reserves a budget block (budget.pool.ts): `reserve` of the block's whole cost, its decision row named by the
     * caller. False when the budget or the pacing cap cannot hold it.
     */
    reserveBlock: reserveDecision,

    /**
     * Writes decisions carved from a block, in ONE statement: the block row gives up their sum (only while it is
     * open and holds it) and each decision carries its cost; when the block no longer holds it (released), the
     * decisions are written with nothing reserved (their events are then charged only if the budget holds them).
     * Returns whether the block backed them.
     */
    async insertCarved(q: Q, tenantId: string, blockId: string, rows: readonly CarvedDecision[], sumMilli: bigint, day: string) {
      const r = await queryOne<{ backed: boolean }>(
        q,
        sql`WITH b AS (
          UPDATE sponsored_decisions SET reserved_milli = reserved_milli - ${big(sumMilli)}
          WHERE tenant_id = ${tenantId} AND id = ${blockId} AND ${STILL_OPEN} AND reserved_milli >= ${big(sumMilli)}
          RETURNING id
        ), ins AS (
          INSERT INTO sponsored_decisions (tenant_id, id, campaign_id, user_id, placement, price_minor, reserved_milli, reserved_day, state, expires_at, created_at)
          SELECT ${tenantId}, x.id, x.c, x.u, x.p, x.price, CASE WHEN EXISTS (SELECT 1 FROM b) THEN x.r ELSE 0 END, ${day}, 'open', x.e, x.at
          FROM unnest(${arrayParam(rows.map((d) => d.id))}::uuid[], ${arrayParam(rows.map((d) => d.campaignId))}::uuid[],
            ${arrayParam(rows.map((d) => d.userId))}::text[], ${arrayParam(rows.map((d) => d.placement))}::text[],
            ${arrayParam(rows.map((d) => d.priceMinor.toString()))}::bigint[], ${arrayParam(rows.map((d) => d.reservedMilli.toString()))}::bigint[],
            ${arrayParam(rows.map((d) => d.expiresAt.toISOString()))}::timestamptz[], ${arrayParam(rows.map((d) => d.createdAt.toISOString()))}::timestamptz[])
            AS x(id, c, u, p, price, r, e, at)
          RETURNING 1
        )
        SELECT EXISTS (SELECT 1 FROM b) AS backed, (SELECT count(*) FROM ins) AS n`,
        // prepared: the feed's pooled decisions, written in batches every 50 ms (arrays as single parameters: one text)
        { prepare: true },
      );
      return r?.backed === true;
    },

    /** Gives a block's remainder back to its campaign now (idempotent: only an open block is released). */
    async releaseBlock(q: Q, tenantId: string, blockId: string, now: Date): Promise<void> {
      await q.execute(
        sql`UPDATE sponsored_decisions SET expires_at = ${now} WHERE tenant_id = ${tenantId} AND id = ${blockId} AND ${STILL_OPEN}`,
      );
      await this.releaseExpired(q, tenantId, now);
    },

    async getDecision(q: Q, tenantId: string, id: string): Promise<DecisionRow | undefined> {
      const r = await queryOne<Raw<DecisionRow>>(
        q,
        sql`SELECT id, campaign_id AS "campaignId", user_id AS "userId", placement, price_minor::text AS "priceMinor",
          reserved_milli::text AS "reservedMilli", state, expires_at AS "expiresAt"
        FROM sponsored_decisions WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
      return r && { ...r, priceMinor: BigInt(r.priceMinor), reservedMilli: BigInt(r.reservedMilli), expiresAt: new Date(r.expiresAt) };
    },

    /**
     * Charges `costMilli` for one event, at most once per (kind, source): the ledger row is written first
     * (its unique index refuses a second charge of the same source), then the decision's reservation is
     * consumed when it is still open, else the budget is charged directly under the same fits-the-budget
     * condition. Must run inside a transaction: when the budget cannot hold the charge, the ledger row is removed.
     */
    async charge(
      q: Q,
      tenantId: string,
      c: {
        campaignId: string;
        kind: 'impression' | 'click' | 'conversion';
        sourceId: string;
        decisionId: string | null;
        costMilli: bigint;
        currency: string;
        today: string;
        now: Date;
      },
    ): Promise<'charged' | 'already_charged' | 'budget_exhausted'> {
      const ledgerId = newId();
      const ledger = await queryOne<{ id: string }>(
        q,
        sql`INSERT INTO sponsored_charges (tenant_id, id, campaign_id, kind, source_id, amount_milli, currency, charged_at)
        VALUES (${tenantId}, ${ledgerId}, ${c.campaignId}, ${c.kind}, ${c.sourceId}, ${big(c.costMilli)}, ${c.currency}, ${c.now})
        ON CONFLICT (tenant_id, kind, source_id) DO NOTHING RETURNING id`,
      );
      if (!ledger) return 'already_charged';
      if (c.decisionId) {
        // Consume the reservation: the charge is the reserved amount (the auction's price for one event).
        const consumed = await queryOne<{ id: string }>(
          q,
          sql`WITH d AS (
            UPDATE sponsored_decisions SET state = 'consumed'
            WHERE tenant_id = ${tenantId} AND id = ${c.decisionId} AND ${STILL_OPEN} AND reserved_milli = ${big(c.costMilli)}
            RETURNING campaign_id, reserved_milli, reserved_day
          )
          UPDATE sponsored_campaigns x SET spent_milli = x.spent_milli + d.reserved_milli, reserved_milli = x.reserved_milli - d.reserved_milli,
            day_spent_milli = x.day_spent_milli + CASE WHEN x.budget_day = d.reserved_day THEN d.reserved_milli ELSE 0 END,
            day_reserved_milli = x.day_reserved_milli - CASE WHEN x.budget_day = d.reserved_day THEN d.reserved_milli ELSE 0 END
          FROM d WHERE x.tenant_id = ${tenantId} AND x.id = d.campaign_id
          RETURNING x.id`,
        );
        if (consumed) return 'charged';
      }
      const direct = await queryOne<{ id: string }>(
        q,
        sql`UPDATE sponsored_campaigns c SET
            day_spent_milli = (CASE WHEN c.budget_day = ${c.today} THEN c.day_spent_milli ELSE 0 END) + ${big(c.costMilli)},
            day_reserved_milli = CASE WHEN c.budget_day = ${c.today} THEN c.day_reserved_milli ELSE 0 END,
            budget_day = ${c.today},
            spent_milli = c.spent_milli + ${big(c.costMilli)}
          WHERE c.tenant_id = ${tenantId} AND c.id = ${c.campaignId} AND ${fits(c.costMilli, MAX_MINOR, c.today)}
          RETURNING c.id`,
      );
      if (direct) return 'charged';
      await q.execute(sql`DELETE FROM sponsored_charges WHERE tenant_id = ${tenantId} AND id = ${ledgerId}`);
      return 'budget_exhausted';
    },

    /** Inserts an impression unless its event id (or its decision) was seen: then nothing is written. */
    async insertImpression(q: Q, tenantId: string, i: Omit<ImpressionRow, 'id'>): Promise<[ImpressionRow, true] | [undefined, false]> {
      const row = await queryOne<Raw<ImpressionRow>>(
        q,
        sql`INSERT INTO sponsored_impressions (tenant_id, id, event_id, campaign_id, decision_id, user_id, placement, impression_cost_milli, viewed_at)
        VALUES (${tenantId}, ${newId()}, ${i.eventId}, ${i.campaignId}, ${i.decisionId}, ${i.userId}, ${i.placement}, ${big(i.impressionCostMilli)}, ${i.viewedAt})
        ON CONFLICT DO NOTHING RETURNING ${IMPRESSION_COLUMNS}`,
      );
      return row ? [toImpression(row), true] : [undefined, false];
    },

    async setImpressionCost(q: Q, tenantId: string, id: string, costMilli: bigint): Promise<void> {
      await q.execute(
        sql`UPDATE sponsored_impressions SET impression_cost_milli = ${big(costMilli)} WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
    },

    async getImpressionByEvent(q: Q, tenantId: string, eventId: string): Promise<ImpressionRow | undefined> {
      const r = await queryOne<Raw<ImpressionRow>>(
        q,
        sql`SELECT ${IMPRESSION_COLUMNS} FROM sponsored_impressions WHERE tenant_id = ${tenantId} AND event_id = ${eventId}`,
      );
      return r && toImpression(r);
    },

    async getImpressionByDecision(q: Q, tenantId: string, decisionId: string): Promise<ImpressionRow | undefined> {
      const r = await queryOne<Raw<ImpressionRow>>(
        q,
        sql`SELECT ${IMPRESSION_COLUMNS} FROM sponsored_impressions WHERE tenant_id = ${tenantId} AND decision_id = ${decisionId}`,
      );
      return r && toImpression(r);
    },

    async getImpression(q: Q, tenantId: string, id: string): Promise<ImpressionRow | undefined> {
      const r = await queryOne<Raw<ImpressionRow>>(
        q,
        sql`SELECT ${IMPRESSION_COLUMNS} FROM sponsored_impressions WHERE tenant_id = ${tenantId} AND id = ${id}`,
      );
      return r && toImpression(r);
    },

    /** The user's latest click (valid or not) on the campaign at or before `before` (repeat-click filter). */
    async lastClickAt(q: Q, tenantId: string, userId: string, campaignId: string, before: Date): Promise<Date | null> {
      const r = await queryOne<{ at: string | null }>(
        q,
        sql`SELECT max(clicked_at) AS at FROM sponsored_clicks WHERE tenant_id = ${tenantId} AND user_id = ${userId}
          AND campaign_id = ${campaignId} AND clicked_at <= ${before}`,
      );
      return r?.at ? new Date(r.at) : null;
    },

    async getClickByEvent(q: Q, tenantId: string, eventId: string): Promise<ClickRow | undefined> {
      const r = await queryOne<Raw<ClickRow>>(
        q,
        sql`SELECT ${CLICK_COLUMNS} FROM sponsored_clicks WHERE tenant_id = ${tenantId} AND event_id = ${eventId}`,
      );
      return r && toClick(r);
    },

    async insertClick(q: Q, tenantId: string, c: Omit<ClickRow, 'id'>): Promise<[ClickRow, boolean]> {
      const row = await queryOne<Raw<ClickRow>>(
        q,
        sql`INSERT INTO sponsored_clicks (tenant_id, id, event_id, impression_id, campaign_id, user_id, click_cost_milli, invalid_reason, clicked_at)
        VALUES (${tenantId}, ${newId()}, ${c.eventId}, ${c.impressionId}, ${c.campaignId}, ${c.userId}, ${big(c.clickCostMilli)}, ${c.invalidReason}, ${c.clickedAt})
        ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING ${CLICK_COLUMNS}`,
      );
      if (row) return [toClick(row), true];
      return [(await this.getClickByEvent(q, tenantId, c.eventId))!, false];
    },

    async setClickCost(q: Q, tenantId: string, id: string, costMilli: bigint): Promise<void> {
      await q.execute(sql`UPDATE sponsored_clicks SET click_cost_milli = ${big(costMilli)} WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    async findConversion(q: Q, tenantId: string, eventId: string): Promise<ConversionRow | undefined> {
      const r = await queryOne<Raw<ConversionRow>>(
        q,
        sql`SELECT ${CONVERSION_COLUMNS} FROM sponsored_conversions WHERE tenant_id = ${tenantId} AND event_id = ${eventId}`,
      );
      return r && toConversion(r);
    },

    async insertConversion(q: Q, tenantId: string, c: Omit<ConversionRow, 'id'>): Promise<[ConversionRow, boolean]> {
      const row = await queryOne<Raw<ConversionRow>>(
        q,
        sql`INSERT INTO sponsored_conversions (tenant_id, id, event_id, user_id, campaign_id, click_id, impression_id, conversion_type, value_minor,
          currency, cost_milli, converted_at)
        VALUES (${tenantId}, ${newId()}, ${c.eventId}, ${c.userId}, ${c.campaignId}, ${c.clickId}, ${c.impressionId}, ${c.conversionType},
          ${big(c.valueMinor)}, ${c.currency}, ${big(c.costMilli)}, ${c.convertedAt})
        ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING ${CONVERSION_COLUMNS}`,
      );
      if (row) return [toConversion(row), true];
      return [(await this.findConversion(q, tenantId, c.eventId))!, false];
    },

    async setConversionCost(q: Q, tenantId: string, id: string, costMilli: bigint): Promise<void> {
      await q.execute(sql`UPDATE sponsored_conversions SET cost_milli = ${big(costMilli)} WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /** The user's touches since `since`: valid clicks and impressions, with their campaigns' windows. */
    async touches(
      q: Q,
      tenantId: string,
      userId: string,
      since: Date,
      until: Date,
    ): Promise<
      {
        kind: 'click' | 'impression';
        id: string;
        impressionId: string;
        campaignId: string;
        at: Date;
        windowSeconds: number;
        decisionId: string | null;
      }[]
    > {
      const rows = await queryRows<{
        kind: 'click' | 'impression';
        id: string;
        impressionId: string;
        campaignId: string;
        at: string;
        windowSeconds: number;
        decisionId: string | null;
      }>(
        q,
        sql`SELECT 'click' AS kind, k.id, k.impression_id AS "impressionId", k.campaign_id AS "campaignId", k.clicked_at AS at,
            c.click_window_seconds AS "windowSeconds", i.decision_id AS "decisionId"
          FROM sponsored_clicks k
          JOIN sponsored_campaigns c ON c.tenant_id = ${tenantId} AND c.id = k.campaign_id
          JOIN sponsored_impressions i ON i.tenant_id = ${tenantId} AND i.id = k.impression_id
          WHERE k.tenant_id = ${tenantId} AND k.user_id = ${userId} AND k.invalid_reason IS NULL AND k.clicked_at BETWEEN ${since} AND ${until}
        UNION ALL
        SELECT 'impression', i.id, i.id, i.campaign_id, i.viewed_at, c.view_window_seconds, i.decision_id
          FROM sponsored_impressions i
          JOIN sponsored_campaigns c ON c.tenant_id = ${tenantId} AND c.id = i.campaign_id
          WHERE i.tenant_id = ${tenantId} AND i.user_id = ${userId} AND i.viewed_at BETWEEN ${since} AND ${until}`,
      );
      return rows.map((r) => ({ ...r, at: new Date(r.at), windowSeconds: Number(r.windowSeconds) }));
    },

    /** Adds counted placement requests to their (tenant, UTC hour) rows. */
    async addTraffic(q: Q, rows: readonly { tenantId: string; hour: Date; requests: number }[]): Promise<void> {
      if (!rows.length) return;
      await q.execute(
        sql`INSERT INTO sponsored_traffic_hours (tenant_id, hour, requests)
            SELECT * FROM unnest(${arrayParam(rows.map((r) => r.tenantId))}::uuid[], ${arrayParam(rows.map((r) => r.hour.toISOString()))}::timestamptz[],
                                 ${arrayParam(rows.map((r) => r.requests))}::bigint[])
            ON CONFLICT (tenant_id, hour) DO UPDATE SET requests = sponsored_traffic_hours.requests + excluded.requests`,
      );
    },

    /** Deletes traffic counted before `before`. */
    async pruneTraffic(q: Q, before: Date): Promise<void> {
      await q.execute(sql`DELETE FROM sponsored_traffic_hours WHERE hour < ${before}`);
    },

    /** Placement requests in [from, to) by ISO weekday (1 = Monday) and UTC hour. */
    async trafficByHour(q: Q, tenantId: string, from: Date, to: Date): Promise<{ weekday: number; hour: number; requests: number }[]> {
      return queryRows(
        q,
        sql`SELECT extract(isodow FROM hour AT TIME ZONE 'UTC')::int AS weekday, extract(hour FROM hour AT TIME ZONE 'UTC')::int AS hour,
                   sum(requests)::float8 AS requests
            FROM sponsored_traffic_hours WHERE tenant_id = ${tenantId} AND hour >= ${from} AND hour < ${to}
            GROUP BY 1, 2`,
      );
    },

    async performance(q: Q, tenantId: string, campaignId: string, currency: string): Promise<Performance> {
      const r = await queryOne<Record<keyof Performance, string>>(
        q,
        sql`SELECT
          (SELECT count(*) FROM sponsored_impressions WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId})::text AS impressions,
          (SELECT count(*) FROM sponsored_clicks WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND invalid_reason IS NULL)::text AS clicks,
          (SELECT count(*) FROM sponsored_clicks WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND invalid_reason IS NOT NULL)::text AS "invalidClicks",
          (SELECT count(*) FROM sponsored_conversions WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId})::text AS conversions,
          (SELECT COALESCE(sum(value_minor), 0) FROM sponsored_conversions WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId}
            AND currency = ${currency})::text AS "revenueMinor",
          (SELECT COALESCE(sum(amount_milli), 0) FROM sponsored_charges WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId})::text AS "spendMilli"`,
      );
      return {
        impressions: Number(r!.impressions),
        clicks: Number(r!.clicks),
        invalidClicks: Number(r!.invalidClicks),
        conversions: Number(r!.conversions),
        revenueMinor: BigInt(r!.revenueMinor),
        spendMilli: BigInt(r!.spendMilli),
      };
    },

    /** Per-UTC-day delivery of a campaign since `since` (the performance chart). */
    async daily(q: Q, tenantId: string, campaignId: string, currency: string, since: Date): Promise<DailyPoint[]> {
      const rows = await queryRows<Record<keyof DailyPoint, string>>(
        q,
        sql`WITH days AS (
          SELECT to_char(viewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS impressions, 0 AS clicks, 0::numeric AS spend, 0 AS conversions, 0::numeric AS revenue
            FROM sponsored_impressions WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND viewed_at >= ${since} GROUP BY 1
          UNION ALL
          SELECT to_char(clicked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, count(*), 0, 0, 0
            FROM sponsored_clicks WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND invalid_reason IS NULL AND clicked_at >= ${since} GROUP BY 1
          UNION ALL
          SELECT to_char(charged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, 0, sum(amount_milli), 0, 0
            FROM sponsored_charges WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND charged_at >= ${since} GROUP BY 1
          UNION ALL
          SELECT to_char(converted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, 0, 0, count(*), sum(value_minor) FILTER (WHERE currency = ${currency})
            FROM sponsored_conversions WHERE tenant_id = ${tenantId} AND campaign_id = ${campaignId} AND converted_at >= ${since} GROUP BY 1
        )
        SELECT day, sum(impressions)::text AS impressions, sum(clicks)::text AS clicks, sum(spend)::text AS "spendMilli",
          sum(conversions)::text AS conversions, COALESCE(sum(revenue), 0)::text AS "revenueMinor"
        FROM days GROUP BY day ORDER BY day`,
      );
      return rows.map((r) => ({
        day: r.day,
        impressions: Number(r.impressions),
        clicks: Number(r.clicks),
        spendMilli: BigInt(r.spendMilli),
        conversions: Number(r.conversions),
        revenueMinor: BigInt(r.revenueMinor),
      }));
    },

    /** Charges per campaign of a brand in [from, to) (monthly statements). */
    async statement(
      q: Q,
      tenantId: string,
      brandId: string,
      from: Date,
      to: Date,
    ): Promise<{ campaignId: string; name: string; currency: string; kind: string; events: number; amountMilli: bigint }[]> {
      const rows = await queryRows<{
        campaignId: string;
        name: string;
        currency: string;
        kind: string;
        events: string;
        amountMilli: string;
      }>(
        q,
        sql`SELECT g.campaign_id AS "campaignId", c.name, g.currency, g.kind, count(*)::text AS events, sum(g.amount_milli)::text AS "amountMilli"
        FROM sponsored_charges g JOIN sponsored_campaigns c ON c.tenant_id = ${tenantId} AND c.id = g.campaign_id
        WHERE g.tenant_id = ${tenantId} AND c.brand_id = ${brandId} AND g.charged_at >= ${from} AND g.charged_at < ${to}
        GROUP BY 1, 2, 3, 4 ORDER BY 2, 4`,
      );
      return rows.map((r) => ({ ...r, events: Number(r.events), amountMilli: BigInt(r.amountMilli) }));
    },
  };
}
export type SponsoredRepository = ReturnType<typeof createSponsoredRepository>;
