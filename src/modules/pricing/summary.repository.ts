import { sql } from 'drizzle-orm';
import { arrayParam, queryRows, unseenBy } from '../../platform/index.ts';
import type { PricePoint } from './pricing.core.ts';
import type { GroupOfferRow, GroupRow, Q } from './pricing.repository.ts';
import type { GroupSummary, SummaryOffer } from './summary.core.ts';

/** A summary row as the product page reads it. */
export interface SummaryRow {
  currency: string | null;
  bestOfferId: string | null;
  bestPriceMinor: bigint | null;
  wasMinor: bigint | null;
  savingsMinor: bigint;
}

/** The product page's group: what it shows of the group, its brand's name and its summary row (absent: null fields). */
export type PageGroupRow = Pick<GroupRow, 'id' | 'canonicalName' | 'brand' | 'gtin' | 'mpn' | 'catalogItemId'> & {
  summary: SummaryRow | null;
};

const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

/** pricing_group_summaries: the per-group best price row, and the reads that recompute it. */
export const summaryRepository = {
  /**
   * Locks the groups (their pricing_match_groups rows, in id order: two writers lock in the same order and never
   * deadlock on them). A summary is recomputed only under this lock and by statements sent after it was granted:
   * under READ COMMITTED those see every change the previous holder committed.
   */
  async lockGroups(q: Q, tenantId: string, groupIds: readonly string[]): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`SELECT id FROM pricing_match_groups WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(groupIds)}::uuid[])
          ORDER BY id FOR NO KEY UPDATE`,
    );
    return rows.map((r) => r.id);
  },

  /** Every offer of these groups, with what the pricing rules read. */
  async offersOfGroups(q: Q, tenantId: string, groupIds: readonly string[]): Promise<(SummaryOffer & { groupId: string })[]> {
    const rows = await queryRows<
      Omit<SummaryOffer, 'priceMinor' | 'priceUpdatedAt'> & { groupId: string; priceMinor: string; at: string | Date }
    >(
      q,
      sql`SELECT o.match_group_id AS "groupId", o.id, o.store_id AS "storeId", o.price_minor::text AS "priceMinor", o.currency,
            o.availability, o.price_updated_at AS at
          FROM pricing_offers o WHERE o.tenant_id = ${tenantId} AND o.match_group_id = ANY(${arrayParam(groupIds)}::uuid[])`,
    );
    return rows.map(({ at, ...r }) => ({ ...r, priceMinor: BigInt(r.priceMinor), priceUpdatedAt: new Date(at) }));
  },

  /** Each offer's observations since its own `since`, plus the one in effect at that instant (one statement). */
  async historiesSince(q: Q, tenantId: string, wants: readonly { offerId: string; since: Date }[]): Promise<Map<string, PricePoint[]>> {
    const out = new Map<string, PricePoint[]>();
    if (!wants.length) return out;
    const rows = await queryRows<{ offerId: string; at: string | Date; priceMinor: string; currency: string }>(
      q,
      sql`WITH w AS (SELECT * FROM unnest(${arrayParam(wants.map((w) => w.offerId))}::uuid[],
                       ${arrayParam(wants.map((w) => w.since.toISOString()))}::timestamptz[]) AS w(offer_id, since))
          SELECT h.offer_id AS "offerId", h.observed_at AS at, h.price_minor::text AS "priceMinor", h.currency
          FROM w JOIN pricing_price_history h ON h.tenant_id = ${tenantId} AND h.offer_id = w.offer_id
            AND h.observed_at >= coalesce((SELECT max(p.observed_at) FROM pricing_price_history p
              WHERE p.tenant_id = ${tenantId} AND p.offer_id = w.offer_id AND p.observed_at <= w.since), w.since)`,
    );
    for (const r of rows) {
      const list = out.get(r.offerId) ?? [];
      list.push({ at: new Date(r.at), priceMinor: BigInt(r.priceMinor), currency: r.currency });
      out.set(r.offerId, list);
    }
    return out;
  },

  async upsert(q: Q, tenantId: string, rows: readonly GroupSummary[], now: Date): Promise<void> {
    if (!rows.length) return;
    const col = <T>(f: (r: GroupSummary) => T) => arrayParam(rows.map(f));
    const money = (f: (r: GroupSummary) => bigint | null) => col((r) => f(r)?.toString() ?? null);
    await q.execute(
      sql`INSERT INTO pricing_group_summaries AS x (tenant_id, group_id, currency, best_offer_id, best_price_minor, next_price_minor,
            min_price_minor, max_price_minor, was_minor, savings_minor, offer_count, updated_at, write_xid)
          SELECT ${tenantId}::uuid, s.* , ${now.toISOString()}::timestamptz, pg_current_xact_id()
          FROM unnest(${col((r) => r.groupId)}::uuid[], ${col((r) => r.currency)}::text[], ${col((r) => r.bestOfferId)}::uuid[],
            ${money((r) => r.bestPriceMinor)}::bigint[], ${money((r) => r.nextPriceMinor)}::bigint[], ${money((r) => r.minPriceMinor)}::bigint[],
            ${money((r) => r.maxPriceMinor)}::bigint[], ${money((r) => r.wasMinor)}::bigint[], ${money((r) => r.savingsMinor)}::bigint[],
            ${col((r) => r.offerCount)}::int[])
            AS s(group_id, currency, best_offer_id, best_price_minor, next_price_minor, min_price_minor, max_price_minor, was_minor, savings_minor, offer_count)
          ON CONFLICT (tenant_id, group_id) DO UPDATE SET currency = EXCLUDED.currency, best_offer_id = EXCLUDED.best_offer_id,
            best_price_minor = EXCLUDED.best_price_minor, next_price_minor = EXCLUDED.next_price_minor,
            min_price_minor = EXCLUDED.min_price_minor, max_price_minor = EXCLUDED.max_price_minor, was_minor = EXCLUDED.was_minor,
            savings_minor = EXCLUDED.savings_minor, offer_count = EXCLUDED.offer_count, updated_at = EXCLUDED.updated_at,
            write_xid = EXCLUDED.write_xid`,
    );
  },

  /** Stored rows of these groups (tests compare them with a recompute). */
  async rows(q: Q, tenantId: string, groupIds: readonly string[]): Promise<GroupSummary[]> {
    const rows = await queryRows<Record<string, string | number | null> & { groupId: string; offerCount: number }>(
      q,
      sql`SELECT group_id AS "groupId", currency, best_offer_id AS "bestOfferId", best_price_minor::text AS "bestPriceMinor",
            next_price_minor::text AS "nextPriceMinor", min_price_minor::text AS "minPriceMinor", max_price_minor::text AS "maxPriceMinor",
            was_minor::text AS "wasMinor", savings_minor::text AS "savingsMinor", offer_count AS "offerCount"
          FROM pricing_group_summaries WHERE tenant_id = ${tenantId} AND group_id = ANY(${arrayParam(groupIds)}::uuid[])`,
    );
    return rows.map((r) => ({
      groupId: r.groupId,
      currency: r.currency as string | null,
      bestOfferId: r.bestOfferId as string | null,
      bestPriceMinor: big(r.bestPriceMinor as string | null),
      nextPriceMinor: big(r.nextPriceMinor as string | null),
      minPriceMinor: big(r.minPriceMinor as string | null),
      maxPriceMinor: big(r.maxPriceMinor as string | null),
      wasMinor: big(r.wasMinor as string | null),
      savingsMinor: BigInt(r.savingsMinor as string),
      offerCount: r.offerCount,
    }));
  },

  /**
   * The product page's whole read in one statement: the group, its brand, its summary row and its offers (at most 500,
   * cheapest first, only the columns the page shows, with each store's network source for the freshness check). One
   * row per offer with the group's columns repeated (a group of 10 offers: 10 narrow rows), or one row with null offer
   * columns for a group without offers. One round trip instead of two: at 50 closed-loop clients on 2 cores, each
   * statement costs a pool checkout, a network round trip and a parse/plan/execute on both sides.
   */
  async pageWithOffers(q: Q, tenantId: string, groupId: string): Promise<{ group: PageGroupRow; offers: GroupOfferRow[] } | undefined> {
    const rows = await queryRows<
      Omit<PageGroupRow, 'summary'> & {
        summarized: boolean;
        currency: string | null;
        bestOfferId: string | null;
        bestPriceMinor: string | null;
        wasMinor: string | null;
        savingsMinor: string | null;
        oId: string | null;
        oStoreId: string;
        oStoreName: string;
        oPriceMinor: string;
        oCurrency: string;
        oAvailability: string;
        oAffiliateUrl: string | null;
        oImageUrl: string | null;
        oPriceUpdatedAt: Date;
        oSourceId: string | null;
        oSourceLastSuccessAt: Date | null;
      }
    >(
      q,
      sql`SELECT g.id, g.canonical_name AS "canonicalName", b.name AS brand, g.gtin, g.mpn, g.catalog_item_id AS "catalogItemId",
            s.group_id IS NOT NULL AS summarized, s.currency, s.best_offer_id AS "bestOfferId", s.best_price_minor::text AS "bestPriceMinor",
            s.was_minor::text AS "wasMinor", s.savings_minor::text AS "savingsMinor",
            o.id AS "oId", o.store_id AS "oStoreId", o.store_name AS "oStoreName", o.price_minor::text AS "oPriceMinor",
            o.currency AS "oCurrency", o.availability AS "oAvailability", o.affiliate_url AS "oAffiliateUrl", o.image_url AS "oImageUrl",
            o.price_updated_at AS "oPriceUpdatedAt", o.source_id AS "oSourceId", o.source_last_success_at AS "oSourceLastSuccessAt"
          FROM pricing_match_groups g
          LEFT JOIN pricing_brands b ON b.tenant_id = ${tenantId} AND b.id = g.brand_id
          LEFT JOIN pricing_group_summaries s ON s.tenant_id = ${tenantId} AND s.group_id = g.id
          LEFT JOIN LATERAL (
            SELECT o.id, o.store_id, st.name AS store_name, o.price_minor, o.currency, o.availability, o.affiliate_url, o.image_url,
                   o.price_updated_at, ns.id AS source_id, ns.last_success_at AS source_last_success_at
            FROM pricing_offers o
            JOIN pricing_stores st ON st.tenant_id = ${tenantId} AND st.id = o.store_id
            LEFT JOIN pricing_network_sources ns ON ns.tenant_id = ${tenantId} AND ns.store_id = o.store_id
            WHERE o.tenant_id = ${tenantId} AND o.match_group_id = ${groupId} ORDER BY o.price_minor, o.id LIMIT 500
          ) o ON true
          WHERE g.tenant_id = ${tenantId} AND g.id = ${groupId}
          ORDER BY o.price_minor, o.id`,
    );
    const r = rows[0];
    if (!r) return undefined;
    const { summarized, currency, bestOfferId, bestPriceMinor, wasMinor, savingsMinor } = r;
    const group: PageGroupRow = {
      id: r.id,
      canonicalName: r.canonicalName,
      brand: r.brand,
      gtin: r.gtin,
      mpn: r.mpn,
      catalogItemId: r.catalogItemId,
      summary: summarized
        ? { currency, bestOfferId, bestPriceMinor: big(bestPriceMinor), wasMinor: big(wasMinor), savingsMinor: BigInt(savingsMinor ?? '0') }
        : null,
    };
    const offers: GroupOfferRow[] = [];
    for (const o of rows)
      if (o.oId !== null)
        offers.push({
          id: o.oId,
          storeId: o.oStoreId,
          storeName: o.oStoreName,
          priceMinor: BigInt(o.oPriceMinor),
          currency: o.oCurrency,
          availability: o.oAvailability,
          affiliateUrl: o.oAffiliateUrl,
          imageUrl: o.oImageUrl,
          priceUpdatedAt: o.oPriceUpdatedAt,
          sourceId: o.oSourceId,
          sourceLastSuccessAt: o.oSourceLastSuccessAt,
        });
    return { group, offers };
  },

  /**
   * The product page cache's look (`products.cache.ts`), one statement so both parts share its snapshot: the current
   * snapshot (text; the next look's `since`) and the tenant's groups whose rows were written by transactions `since` did
   * not see (at most `limit`; none when `since` is null). Through the (tenant, write_xid) index: a range from the
   * snapshot's xmax plus a probe per transaction it saw running (platform/snapshots.ts).
   */
  async changedGroups(q: Q, tenantId: string, since: string | null, limit: number): Promise<{ snapshot: string; groupIds: string[] }> {
    const rows = await queryRows<{ snapshot: string | null; groupId: string | null }>(
      q,
      sql`SELECT pg_current_snapshot()::text AS snapshot, NULL::uuid AS "groupId"
          ${
            since
              ? sql`UNION ALL (SELECT NULL, s.group_id FROM pricing_group_summaries s
                  WHERE s.tenant_id = ${tenantId} AND ${unseenBy(sql`s.write_xid`, since)} LIMIT ${limit})`
              : sql``
          }`,
    );
    const snapshot = rows.find((r) => r.snapshot !== null)?.snapshot;
    if (!snapshot) throw new Error('pg_current_snapshot() gave no row');
    return { snapshot, groupIds: rows.flatMap((r) => (r.groupId === null ? [] : [r.groupId])) };
  },

  /** The tenant's network sources by store (the product page's freshness inputs, as `pageWithOffers` reads them). */
  sourcesOf: (q: Q, tenantId: string) =>
    queryRows<{ storeId: string; sourceId: string; lastSuccessAt: Date | null }>(
      q,
      sql`SELECT store_id AS "storeId", id AS "sourceId", last_success_at AS "lastSuccessAt"
          FROM pricing_network_sources WHERE tenant_id = ${tenantId}`,
    ),

  /**
   * Groups of any tenant without a summary row, after (tenantId, groupId) in that order (system work of the scheduled
   * backfill: it runs across tenants, as the connecting role; each group is then summarized in its tenant's scope).
   */
  unsummarized: (q: Q, after: { tenantId: string; groupId: string } | null, limit: number) =>
    queryRows<{ tenantId: string; groupId: string }>(
      q,
      sql`SELECT g.tenant_id AS "tenantId", g.id AS "groupId" FROM pricing_match_groups g
          WHERE NOT EXISTS (SELECT 1 FROM pricing_group_summaries s WHERE s.tenant_id = g.tenant_id AND s.group_id = g.id)
            ${after ? sql`AND (g.tenant_id, g.id) > (${after.tenantId}::uuid, ${after.groupId}::uuid)` : sql``}
          ORDER BY g.tenant_id, g.id LIMIT ${limit}`,
    ),
};
