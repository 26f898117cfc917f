import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { type Db, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { OfferInput } from './feed.core.ts';

/** A query handle: the database or an open transaction. */
export type Q = Pick<Db, 'execute'>;

/**
 * Rows per bulk statement. On the embedded database a statement runs synchronously on the event loop's thread:
 * 500 rows keep one statement to tens of milliseconds; callers yield between statements.
 */
const CHUNK = 500;

export interface StoreRow {
  id: string;
  name: string;
  network: string;
  networkMerchantId: string | null;
  terms: Record<string, unknown>;
  offerCount: number;
  lastRunId: string | null;
  lastRunStatus: string | null;
  lastRunAt: Date | null;
  createdAt: Date;
}

export interface OfferRow {
  id: string;
  storeId: string;
  storeName: string;
  externalId: string;
  title: string;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  priceMinor: bigint;
  currency: string;
  availability: string;
  affiliateUrl: string | null;
  imageUrl: string | null;
  attributes: Record<string, unknown>;
  matchGroupId: string | null;
  matchMethod: string | null;
  priceUpdatedAt: Date;
  updatedAt: Date;
}

/**
 * An offer of a match group as the product page shows it (no title, identifiers or attributes: the page never shows
 * them), with its store's network source, if it has one: what the page's freshness needs.
 */
export interface GroupOfferRow
  extends Pick<
    OfferRow,
    'id' | 'storeId' | 'storeName' | 'priceMinor' | 'currency' | 'availability' | 'affiliateUrl' | 'imageUrl' | 'priceUpdatedAt'
  > {
  sourceId: string | null;
  /** When that source's last run succeeded: the store's prices were confirmed then. */
  sourceLastSuccessAt: Date | null;
}

export interface GroupRow {
  id: string;
  canonicalName: string;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  catalogItemId: string | null;
  pinned: boolean;
  offerCount: number;
  minPriceMinor: bigint | null;
  currency: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface FeedRunRow {
  id: string;
  storeId: string;
  format: string;
  /** 'full' or 'prices'. */
  mode: string;
  status: string;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  offersCreated: number;
  pricesChanged: number;
  offersUnknown: number;
  errors: { row: number; field: string; message: string; level: string }[];
  failure: string | null;
  jobId: string | null;
  attempts: number;
  log: RunLogEntry[];
  startedAt: Date;
  finishedAt: Date | null;
}

/** One line of a run's log (pricing_feed_runs.log). */
export interface RunLogEntry {
  at: string;
  level: 'info' | 'warning' | 'error';
  message: string;
}

/** What an offer upsert changed, per offer (the offer's state before the write is compared in SQL). */
export interface UpsertedOffer {
  id: string;
  externalId: string;
  inserted: boolean;
  priceChanged: boolean;
  /** GTIN, brand or MPN changed: the offer's group no longer holds by identifiers and it is matched again. */
  identityChanged: boolean;
  /** New, or its title or MPN changed: its blocking keys are rewritten. */
  keysChanged: boolean;
  /** Its affiliate link or image changed (a product page shows them): its group's page changed. */
  shownChanged: boolean;
  previousGroupId: string | null;
  /** The offer's group after the write (null: none, or it left its group to be matched again). */
  groupId: string | null;
}

export interface ReviewRow {
  id: string;
  score: number;
  status: string;
  createdAt: Date;
  decidedAt: Date | null;
  offerId: string;
  offerTitle: string;
  offerStore: string;
  offerPriceMinor: string;
  offerCurrency: string;
  offerGroupId: string | null;
  candidateGroupId: string;
  candidateGroupName: string;
  candidateOfferId: string;
  candidateTitle: string | null;
  candidateStore: string | null;
  candidatePriceMinor: string | null;
  candidateCurrency: string | null;
}

/** Offers needing a group, with what matching reads. */
export interface MatchCandidate {
  id: string;
  title: string;
  brandId: string | null;
  gtin: string | null;
  mpnNorm: string | null;
  mpn: string | null;
  previousGroupId: string | null;
  storeId: string;
  brand: string | null;
  priceMinor: string;
  currency: string;
}

const OFFER_COLUMNS = sql`o.id, o.store_id AS "storeId", s.name AS "storeName", o.external_id AS "externalId", o.title, b.name AS brand,
  o.gtin, o.mpn, o.price_minor AS "priceMinor", o.currency, o.availability, o.affiliate_url AS "affiliateUrl", o.image_url AS "imageUrl",
  o.attributes, o.match_group_id AS "matchGroupId", o.match_method AS "matchMethod", o.price_updated_at AS "priceUpdatedAt", o.updated_at AS "updatedAt"`;
const OFFER_FROM = (tenantId: string) => sql`pricing_offers o
  JOIN pricing_stores s ON s.tenant_id = ${tenantId} AND s.id = o.store_id
  LEFT JOIN pricing_brands b ON b.tenant_id = ${tenantId} AND b.id = o.brand_id`;

const toOffer = (r: OfferRow & { priceMinor: bigint | string }): OfferRow => ({ ...r, priceMinor: BigInt(r.priceMinor) });

/** Escapes LIKE wildcards in user text. */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** All SQL of pricing. Every statement filters on tenant_id; the handle `q` is always passed in. */
export const pricingRepository = {
  // ---- stores ----
  async insertStore(
    q: Q,
    tenantId: string,
    s: { name: string; network: string; networkMerchantId: string | null; terms: Record<string, unknown> },
    now: Date,
  ) {
    return queryOne<{ id: string }>(
      q,
      sql`INSERT INTO pricing_stores (tenant_id, id, name, network, network_merchant_id, terms, created_at, updated_at)
          VALUES (${tenantId}, ${newId()}, ${s.name}, ${s.network}, ${s.networkMerchantId}, ${JSON.stringify(s.terms)}::jsonb, ${now.toISOString()}, ${now.toISOString()})
          ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
    );
  },

  listStores: (q: Q, tenantId: string, id?: string) =>
    queryRows<StoreRow>(
      q,
      sql`SELECT s.id, s.name, s.network, s.network_merchant_id AS "networkMerchantId", s.terms, s.created_at AS "createdAt",
            (SELECT count(*)::int FROM pricing_offers o WHERE o.tenant_id = ${tenantId} AND o.store_id = s.id) AS "offerCount",
            r.id AS "lastRunId", r.status AS "lastRunStatus", r.started_at AS "lastRunAt"
          FROM pricing_stores s
          LEFT JOIN LATERAL (SELECT id, status, started_at FROM pricing_feed_runs r
            WHERE r.tenant_id = ${tenantId} AND r.store_id = s.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1) r ON true
          WHERE s.tenant_id = ${tenantId} ${id ? sql`AND s.id = ${id}` : sql``}
          ORDER BY s.name LIMIT 1000`,
    ),

  // ---- brands ----
  /** Brand ids by normalized name, creating the missing ones (ON CONFLICT: concurrent imports may add the same brand). */
  async ensureBrands(q: Q, tenantId: string, brands: readonly { name: string; norm: string }[]): Promise<Map<string, string>> {
    if (!brands.length) return new Map();
    await q.execute(
      sql`INSERT INTO pricing_brands (tenant_id, id, name, name_norm)
          SELECT ${tenantId}::uuid, s.id, s.name, s.norm FROM unnest(${arrayParam(brands.map(() => newId()))}::uuid[],
            ${arrayParam(brands.map((b) => b.name))}::text[], ${arrayParam(brands.map((b) => b.norm))}::text[]) AS s(id, name, norm)
          ON CONFLICT (tenant_id, name_norm) DO NOTHING`,
    );
    const rows = await queryRows<{ id: string; norm: string }>(
      q,
      sql`SELECT id, name_norm AS norm FROM pricing_brands WHERE tenant_id = ${tenantId} AND name_norm = ANY(${arrayParam(brands.map((b) => b.norm))}::text[])`,
    );
    return new Map(rows.map((r) => [r.norm, r.id]));
  },

  // ---- offers ----
  /**
   * Upserts one store's offers by (tenant, store, external id) in set-based chunks, and appends a price-history
   * row for every new offer and every change of price, currency or availability (unchanged prices append
   * nothing). An offer whose GTIN, brand or MPN changed leaves its group (match_group_id NULL) to be matched again.
   * Rows must have distinct external ids.
   */
  async upsertOffers(
    q: Q,
    tenantId: string,
    storeId: string,
    rows: readonly (OfferInput & { brandId: string | null; mpnNorm: string | null })[],
    now: Date,
  ): Promise<UpsertedOffer[]> {
    const out: UpsertedOffer[] = [];
    const ts = now.toISOString();
    for (let start = 0; start < rows.length; start += CHUNK) {
      const part = rows.slice(start, start + CHUNK);
      const col = <T>(f: (r: (typeof part)[number]) => T) => arrayParam(part.map(f));
      const res = await queryRows<UpsertedOffer>(
        q,
        sql`WITH s AS (
              SELECT * FROM unnest(${col(() => newId())}::uuid[], ${col((r) => r.externalId)}::text[], ${col((r) => r.title)}::text[],
                ${col((r) => r.brandId)}::uuid[], ${col((r) => r.gtin)}::text[], ${col((r) => r.mpn)}::text[], ${col((r) => r.mpnNorm)}::text[],
                ${col((r) => r.priceMinor.toString())}::bigint[], ${col((r) => r.currency)}::text[], ${col((r) => r.availability)}::text[],
                ${col((r) => r.affiliateUrl)}::text[], ${col((r) => r.imageUrl)}::text[], ${col((r) => JSON.stringify(r.attributes))}::text[])
                AS s(id, external_id, title, brand_id, gtin, mpn, mpn_norm, price_minor, currency, availability, affiliate_url, image_url, attributes)
            ),
            prev AS (
              SELECT o.external_id, o.price_minor, o.currency, o.availability, o.gtin, o.brand_id, o.mpn_norm, o.match_group_id, o.title, o.mpn,
                o.affiliate_url, o.image_url
              FROM pricing_offers o JOIN s ON o.external_id = s.external_id
              WHERE o.tenant_id = ${tenantId} AND o.store_id = ${storeId}
            ),
            up AS (
              INSERT INTO pricing_offers AS x (tenant_id, id, store_id, external_id, title, brand_id, gtin, mpn, mpn_norm, price_minor, currency,
                availability, affiliate_url, image_url, attributes, price_updated_at, created_at, updated_at)
              SELECT ${tenantId}::uuid, s.id, ${storeId}::uuid, s.external_id, s.title, s.brand_id, s.gtin, s.mpn, s.mpn_norm, s.price_minor, s.currency,
                s.availability, s.affiliate_url, s.image_url, s.attributes::jsonb, ${ts}::timestamptz, ${ts}::timestamptz, ${ts}::timestamptz
              FROM s
              ON CONFLICT (tenant_id, store_id, external_id) DO UPDATE SET
                title = EXCLUDED.title, brand_id = EXCLUDED.brand_id, gtin = EXCLUDED.gtin, mpn = EXCLUDED.mpn, mpn_norm = EXCLUDED.mpn_norm,
                price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency, availability = EXCLUDED.availability,
                affiliate_url = EXCLUDED.affiliate_url, image_url = EXCLUDED.image_url, attributes = EXCLUDED.attributes,
                price_updated_at = CASE WHEN (x.price_minor, x.currency, x.availability) IS DISTINCT FROM (EXCLUDED.price_minor, EXCLUDED.currency, EXCLUDED.availability)
                  THEN EXCLUDED.price_updated_at ELSE x.price_updated_at END,
                match_group_id = CASE WHEN (x.gtin, x.brand_id, x.mpn_norm) IS DISTINCT FROM (EXCLUDED.gtin, EXCLUDED.brand_id, EXCLUDED.mpn_norm)
                  AND x.match_method IS DISTINCT FROM 'operator' THEN NULL ELSE x.match_group_id END,
                updated_at = EXCLUDED.updated_at
              RETURNING x.id, x.external_id, x.price_minor, x.currency, x.availability, x.match_group_id, (x.xmax = 0) AS inserted
            ),
            hist AS (
              INSERT INTO pricing_price_history (tenant_id, offer_id, observed_at, price_minor, currency, availability)
              SELECT ${tenantId}::uuid, up.id, ${ts}::timestamptz, up.price_minor, up.currency, up.availability
              FROM up LEFT JOIN prev ON prev.external_id = up.external_id
              WHERE prev.external_id IS NULL OR (prev.price_minor, prev.currency, prev.availability) IS DISTINCT FROM (up.price_minor, up.currency, up.availability)
              ON CONFLICT DO NOTHING
            )
            SELECT up.id, up.external_id AS "externalId", up.inserted,
              (prev.external_id IS NOT NULL AND (prev.price_minor, prev.currency, prev.availability) IS DISTINCT FROM (up.price_minor, up.currency, up.availability)) AS "priceChanged",
              (prev.external_id IS NOT NULL AND (prev.gtin, prev.brand_id, prev.mpn_norm) IS DISTINCT FROM (s.gtin, s.brand_id, s.mpn_norm)) AS "identityChanged",
              prev.match_group_id AS "previousGroupId", up.match_group_id AS "groupId",
              (prev.external_id IS NULL OR (prev.title, prev.mpn) IS DISTINCT FROM (s.title, s.mpn)) AS "keysChanged",
              (prev.external_id IS NOT NULL AND (prev.affiliate_url, prev.image_url) IS DISTINCT FROM (s.affiliate_url, s.image_url)) AS "shownChanged"
            FROM up JOIN s ON s.external_id = up.external_id LEFT JOIN prev ON prev.external_id = up.external_id`,
      );
      out.push(...res);
      if (start + CHUNK < rows.length) await nextTurn();
    }
    return out;
  },

  /**
   * A price-only update: the price, currency and availability of the store's offers already known by external id,
   * and a price-history row for each that changed, in one statement per CHUNK. Never inserts an offer, never touches
   * identifiers, keys or groups. Returns the offers found (a row naming no offer of the store is absent) and whether
   * each one's price or availability changed.
   */
  async updatePrices(
    q: Q,
    tenantId: string,
    storeId: string,
    rows: readonly Pick<OfferInput, 'externalId' | 'priceMinor' | 'currency' | 'availability'>[],
    now: Date,
  ): Promise<{ id: string; externalId: string; priceChanged: boolean; groupId: string | null }[]> {
    const out: { id: string; externalId: string; priceChanged: boolean; groupId: string | null }[] = [];
    const ts = now.toISOString();
    for (let start = 0; start < rows.length; start += CHUNK) {
      const part = rows.slice(start, start + CHUNK);
      const col = <T>(f: (r: (typeof part)[number]) => T) => arrayParam(part.map(f));
      // prev is read in the same snapshot as the UPDATE's target rows; FOR UPDATE so that a concurrent writer of
      // the same offer (an operator, another process) is waited for and the change is judged against its result.
      const res = await queryRows<{ id: string; externalId: string; priceChanged: boolean; groupId: string | null }>(
        q,
        sql`WITH s AS (
              SELECT * FROM unnest(${col((r) => r.externalId)}::text[], ${col((r) => r.priceMinor.toString())}::bigint[],
                ${col((r) => r.currency)}::text[], ${col((r) => r.availability)}::text[]) AS s(external_id, price_minor, currency, availability)
            ),
            prev AS (
              SELECT o.id, o.external_id, o.match_group_id, s.price_minor, s.currency, s.availability,
                (o.price_minor, o.currency, o.availability) IS DISTINCT FROM (s.price_minor, s.currency, s.availability) AS changed
              FROM pricing_offers o JOIN s ON o.external_id = s.external_id
              WHERE o.tenant_id = ${tenantId} AND o.store_id = ${storeId}
              FOR UPDATE OF o
            ),
            up AS (
              UPDATE pricing_offers x SET price_minor = prev.price_minor, currency = prev.currency, availability = prev.availability,
                price_updated_at = ${ts}::timestamptz, updated_at = ${ts}::timestamptz
              FROM prev WHERE x.tenant_id = ${tenantId} AND x.id = prev.id AND prev.changed
              RETURNING x.id
            ),
            hist AS (
              INSERT INTO pricing_price_history (tenant_id, offer_id, observed_at, price_minor, currency, availability)
              SELECT ${tenantId}::uuid, prev.id, ${ts}::timestamptz, prev.price_minor, prev.currency, prev.availability
              FROM prev WHERE prev.changed
              ON CONFLICT DO NOTHING
            )
            SELECT prev.id, prev.external_id AS "externalId", prev.changed AS "priceChanged", prev.match_group_id AS "groupId" FROM prev`,
      );
      out.push(...res);
      if (start + CHUNK < rows.length) await nextTurn();
    }
    return out;
  },

  /** Offers of the tenant that have no group (new, or their identifiers changed), among `ids`. */
  unmatched: (q: Q, tenantId: string, ids: readonly string[]) =>
    queryRows<MatchCandidate>(
      q,
      sql`SELECT o.id, o.title, o.brand_id AS "brandId", o.gtin, o.mpn, o.mpn_norm AS "mpnNorm", NULL::uuid AS "previousGroupId",
            o.store_id AS "storeId", b.name AS brand, o.price_minor::text AS "priceMinor", o.currency
          FROM pricing_offers o LEFT JOIN pricing_brands b ON b.tenant_id = ${tenantId} AND b.id = o.brand_id WHERE o.tenant_id = ${tenantId} AND o.id = ANY(${arrayParam(ids)}::uuid[]) AND o.match_group_id IS NULL`,
    ),

  /** Existing groups holding any of these GTINs (by the group's GTIN or a member offer's). */
  groupsByGtin: (q: Q, tenantId: string, gtins: readonly string[]) =>
    queryRows<{ gtin: string; groupId: string }>(
      q,
      sql`SELECT DISTINCT ON (gtin) gtin, group_id AS "groupId" FROM (
            SELECT g.gtin, g.id AS group_id, g.created_at FROM pricing_match_groups g WHERE g.tenant_id = ${tenantId} AND g.gtin = ANY(${arrayParam(gtins)}::text[])
            UNION ALL
            SELECT o.gtin, o.match_group_id, o.created_at FROM pricing_offers o
            WHERE o.tenant_id = ${tenantId} AND o.gtin = ANY(${arrayParam(gtins)}::text[]) AND o.match_group_id IS NOT NULL
          ) c ORDER BY gtin, created_at, group_id`,
    ),

  /** Existing groups holding offers of these (brand, normalized MPN) pairs. */
  groupsByBrandMpn: (q: Q, tenantId: string, pairs: readonly { brandId: string; mpnNorm: string }[]) =>
    queryRows<{ brandId: string; mpnNorm: string; groupId: string }>(
      q,
      sql`SELECT DISTINCT ON (o.brand_id, o.mpn_norm) o.brand_id AS "brandId", o.mpn_norm AS "mpnNorm", o.match_group_id AS "groupId"
          FROM pricing_offers o
          JOIN unnest(${arrayParam(pairs.map((p) => p.brandId))}::uuid[], ${arrayParam(pairs.map((p) => p.mpnNorm))}::text[]) AS p(brand_id, mpn_norm)
            ON o.brand_id = p.brand_id AND o.mpn_norm = p.mpn_norm
          WHERE o.tenant_id = ${tenantId} AND o.match_group_id IS NOT NULL
          ORDER BY o.brand_id, o.mpn_norm, o.created_at, o.match_group_id`,
    ),

  async insertGroups(
    q: Q,
    tenantId: string,
    groups: readonly { id: string; name: string; brandId: string | null; gtin: string | null; mpn: string | null }[],
    now: Date,
  ): Promise<void> {
    if (!groups.length) return;
    const col = <T>(f: (g: (typeof groups)[number]) => T) => arrayParam(groups.map(f));
    await q.execute(
      sql`INSERT INTO pricing_match_groups (tenant_id, id, canonical_name, brand_id, gtin, mpn, created_at, updated_at)
          SELECT ${tenantId}::uuid, s.id, s.name, s.brand_id, s.gtin, s.mpn, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
          FROM unnest(${col((g) => g.id)}::uuid[], ${col((g) => g.name)}::text[], ${col((g) => g.brandId)}::uuid[], ${col((g) => g.gtin)}::text[],
            ${col((g) => g.mpn)}::text[]) AS s(id, name, brand_id, gtin, mpn)`,
    );
  },

  /** Puts offers into groups (one statement); returns nothing: callers log the moves. */
  async assignOffers(q: Q, tenantId: string, moves: readonly { offerId: string; groupId: string; method: string }[]): Promise<void> {
    if (!moves.length) return;
    await q.execute(
      sql`UPDATE pricing_offers o SET match_group_id = m.group_id, match_method = m.method
          FROM unnest(${arrayParam(moves.map((m) => m.offerId))}::uuid[], ${arrayParam(moves.map((m) => m.groupId))}::uuid[],
            ${arrayParam(moves.map((m) => m.method))}::text[]) AS m(offer_id, group_id, method)
          WHERE o.tenant_id = ${tenantId} AND o.id = m.offer_id`,
    );
  },

  async insertLog(
    q: Q,
    tenantId: string,
    entries: readonly {
      action: string;
      fromGroupId: string | null;
      toGroupId: string;
      offerIds: string[];
      reason: string;
      actorType: string;
      actorId: string;
    }[],
    now: Date,
  ): Promise<string[]> {
    if (!entries.length) return [];
    const col = <T>(f: (e: (typeof entries)[number]) => T) => arrayParam(entries.map(f));
    const rows = await queryRows<{ id: string }>(
      q,
      sql`INSERT INTO pricing_match_log (tenant_id, id, action, from_group_id, to_group_id, offer_ids, reason, actor_type, actor_id, created_at)
          SELECT ${tenantId}::uuid, s.id, s.action, s.from_group, s.to_group, ARRAY(SELECT jsonb_array_elements_text(s.offers::jsonb))::uuid[],
            s.reason, s.actor_type, s.actor_id, ${now.toISOString()}::timestamptz
          FROM unnest(${col(() => newId())}::uuid[], ${col((e) => e.action)}::text[], ${col((e) => e.fromGroupId)}::uuid[], ${col((e) => e.toGroupId)}::uuid[],
            ${col((e) => JSON.stringify(e.offerIds))}::text[], ${col((e) => e.reason)}::text[], ${col((e) => e.actorType)}::text[], ${col((e) => e.actorId)}::text[])
            AS s(id, action, from_group, to_group, offers, reason, actor_type, actor_id)
          RETURNING id`,
    );
    return rows.map((r) => r.id);
  },

  async listOffers(
    q: Q,
    tenantId: string,
    f: {
      search?: string | undefined;
      storeId?: string | undefined;
      groupId?: string | undefined;
      after?: string | undefined;
      limit: number;
    },
  ): Promise<OfferRow[]> {
    const rows = await queryRows<OfferRow>(
      q,
      sql`SELECT ${OFFER_COLUMNS} FROM ${OFFER_FROM(tenantId)}
          WHERE o.tenant_id = ${tenantId}
            ${f.search ? sql`AND (o.title ILIKE ${likePattern(f.search)} OR o.external_id = ${f.search} OR o.gtin = ${f.search})` : sql``}
            ${f.storeId ? sql`AND o.store_id = ${f.storeId}` : sql``}
            ${f.groupId ? sql`AND o.match_group_id = ${f.groupId}` : sql``}
            ${f.after ? sql`AND o.id > ${f.after}` : sql``}
          ORDER BY o.id LIMIT ${f.limit}`,
    );
    return rows.map(toOffer);
  },

  async listGroups(
    q: Q,
    tenantId: string,
    f: { search?: string | undefined; id?: string | undefined; after?: string | undefined; limit: number },
  ) {
    const rows = await queryRows<GroupRow & { minPriceMinor: string | null }>(
      q,
      sql`SELECT g.id, g.canonical_name AS "canonicalName", b.name AS brand, g.gtin, g.mpn, g.catalog_item_id AS "catalogItemId", g.pinned,
            g.created_at AS "createdAt", g.updated_at AS "updatedAt", st."offerCount", st."minPriceMinor", st.currency
          FROM pricing_match_groups g
          LEFT JOIN pricing_brands b ON b.tenant_id = ${tenantId} AND b.id = g.brand_id
          LEFT JOIN LATERAL (SELECT count(*)::int AS "offerCount", min(o.price_minor)::text AS "minPriceMinor", min(o.currency) AS currency
            FROM pricing_offers o WHERE o.tenant_id = ${tenantId} AND o.match_group_id = g.id) st ON true
          WHERE g.tenant_id = ${tenantId}
            ${f.id ? sql`AND g.id = ${f.id}` : sql``}
            ${f.search ? sql`AND (g.canonical_name ILIKE ${likePattern(f.search)} OR g.gtin = ${f.search})` : sql``}
            ${f.after ? sql`AND g.id > ${f.after}` : sql``}
          ORDER BY g.id LIMIT ${f.limit}`,
    );
    return rows.map((r) => ({ ...r, minPriceMinor: r.minPriceMinor === null ? null : BigInt(r.minPriceMinor) }));
  },

  /** The group a catalog item is: linked by its item_id, else holding offers of its GTIN. */
  groupForCatalogItem: (q: Q, tenantId: string, itemId: string, gtin: string | null) =>
    queryOne<{ id: string }>(
      q,
      sql`SELECT id FROM (
            SELECT g.id, 0 AS rank, g.created_at FROM pricing_match_groups g WHERE g.tenant_id = ${tenantId} AND g.catalog_item_id = ${itemId}
            UNION ALL
            SELECT o.match_group_id, 1, o.created_at FROM pricing_offers o
            WHERE o.tenant_id = ${tenantId} AND ${gtin}::text IS NOT NULL AND o.gtin = ${gtin} AND o.match_group_id IS NOT NULL
          ) c ORDER BY rank, created_at LIMIT 1`,
    ),

  /** Price observations of offers since `since`, plus the last one before it (the price in effect at `since`). */
  history: (q: Q, tenantId: string, offerIds: readonly string[], since: Date) =>
    queryRows<{ offerId: string; at: Date; priceMinor: string; currency: string }>(
      q,
      sql`SELECT h.offer_id AS "offerId", h.observed_at AS at, h.price_minor::text AS "priceMinor", h.currency
          FROM pricing_price_history h
          WHERE h.tenant_id = ${tenantId} AND h.offer_id = ANY(${arrayParam(offerIds)}::uuid[])
            AND (h.observed_at >= ${since.toISOString()}::timestamptz OR h.observed_at = (
              SELECT max(p.observed_at) FROM pricing_price_history p
              WHERE p.tenant_id = ${tenantId} AND p.offer_id = h.offer_id AND p.observed_at < ${since.toISOString()}::timestamptz))
          ORDER BY h.offer_id, h.observed_at`,
    ),

  /** Moves offers of `fromGroupId` (all of them when `offerIds` is null) into `toGroupId` as an operator's decision; returns the moved ids. */
  async moveOffers(q: Q, tenantId: string, fromGroupId: string, toGroupId: string, offerIds: readonly string[] | null): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`UPDATE pricing_offers SET match_group_id = ${toGroupId}, match_method = 'operator'
          WHERE tenant_id = ${tenantId} AND match_group_id = ${fromGroupId}
            ${offerIds ? sql`AND id = ANY(${arrayParam(offerIds)}::uuid[])` : sql``}
          RETURNING id`,
    );
    return rows.map((r) => r.id);
  },

  getLogEntry: (q: Q, tenantId: string, id: string) =>
    queryOne<{ id: string; action: string; fromGroupId: string | null; toGroupId: string; offerIds: string[]; revertedAt: Date | null }>(
      q,
      sql`SELECT id, action, from_group_id AS "fromGroupId", to_group_id AS "toGroupId", offer_ids AS "offerIds", reverted_at AS "revertedAt"
          FROM pricing_match_log WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE`,
    ),

  async markReverted(q: Q, tenantId: string, id: string, now: Date): Promise<void> {
    await q.execute(
      sql`UPDATE pricing_match_log SET reverted_at = ${now.toISOString()}::timestamptz WHERE tenant_id = ${tenantId} AND id = ${id}`,
    );
  },

  // ---- learned matching: blocking keys and the review queue ----
  /** Replaces the blocking keys of these offers. */
  async replaceOfferKeys(q: Q, tenantId: string, keys: readonly { offerId: string; keys: readonly string[] }[]): Promise<void> {
    if (!keys.length) return;
    await q.execute(
      sql`DELETE FROM pricing_offer_keys WHERE tenant_id = ${tenantId} AND offer_id = ANY(${arrayParam(keys.map((k) => k.offerId))}::uuid[])`,
    );
    const flat = keys.flatMap((k) => [...new Set(k.keys)].map((key) => ({ offerId: k.offerId, key })));
    for (let start = 0; start < flat.length; start += CHUNK) {
      const part = flat.slice(start, start + CHUNK);
      await q.execute(
        sql`INSERT INTO pricing_offer_keys (tenant_id, key, offer_id)
            SELECT ${tenantId}::uuid, s.key, s.offer_id FROM unnest(${arrayParam(part.map((p) => p.key))}::text[], ${arrayParam(part.map((p) => p.offerId))}::uuid[]) AS s(key, offer_id)
            ON CONFLICT DO NOTHING`,
      );
      await nextTurn();
    }
  },

  /**
   * Grouped offers of other stores sharing a blocking key with any of `keys`; a key held by more than `perKey`
   * offers is skipped (it does not discriminate, and comparing with all of them is what blocking avoids). Three
   * plain index lookups, not one join: on the embedded database (no statistics on fresh rows, and queries run on
   * the event loop's thread) the single join took a minute for 500 offers.
   */
  async blockCandidates(q: Q, tenantId: string, keys: readonly string[], excludeStoreId: string, perKey = 50) {
    const counts = await queryRows<{ key: string; n: number }>(
      q,
      sql`SELECT key, count(*)::int AS n FROM pricing_offer_keys WHERE tenant_id = ${tenantId} AND key = ANY(${arrayParam(keys)}::text[]) GROUP BY key`,
    );
    const kept = counts.filter((c) => c.n <= perKey).map((c) => c.key);
    if (!kept.length) return [];
    await nextTurn();
    const links = await queryRows<{ key: string; offerId: string }>(
      q,
      sql`SELECT key, offer_id AS "offerId" FROM pricing_offer_keys WHERE tenant_id = ${tenantId} AND key = ANY(${arrayParam(kept)}::text[])`,
    );
    const ids = [...new Set(links.map((l) => l.offerId))];
    await nextTurn();
    const offers = await queryRows<{
      id: string;
      storeId: string;
      title: string;
      brand: string | null;
      mpn: string | null;
      priceMinor: string;
      currency: string;
      matchGroupId: string;
      pinned: boolean;
    }>(
      q,
      sql`SELECT o.id, o.store_id AS "storeId", o.title, b.name AS brand, o.mpn, o.price_minor::text AS "priceMinor", o.currency,
            o.match_group_id AS "matchGroupId", g.pinned
          FROM pricing_offers o
          JOIN pricing_match_groups g ON g.tenant_id = ${tenantId} AND g.id = o.match_group_id
          LEFT JOIN pricing_brands b ON b.tenant_id = ${tenantId} AND b.id = o.brand_id
          WHERE o.tenant_id = ${tenantId} AND o.id = ANY(${arrayParam(ids)}::uuid[]) AND o.store_id <> ${excludeStoreId}`,
    );
    const byId = new Map(offers.map((o) => [o.id, o]));
    return links.flatMap((l) => {
      const o = byId.get(l.offerId);
      return o ? [{ key: l.key, ...o }] : [];
    });
  },

  /** Queues review items; a pair already queued (any status) is left as it is. Returns how many were added. */
  async insertReviews(
    q: Q,
    tenantId: string,
    items: readonly { offerId: string; candidateGroupId: string; candidateOfferId: string; score: number }[],
    now: Date,
  ): Promise<number> {
    if (!items.length) return 0;
    const col = <T>(f: (e: (typeof items)[number]) => T) => arrayParam(items.map(f));
    const rows = await queryRows<{ id: string }>(
      q,
      sql`INSERT INTO pricing_match_reviews (tenant_id, id, offer_id, candidate_group_id, candidate_offer_id, score, status, created_at)
          SELECT ${tenantId}::uuid, s.id, s.offer_id, s.group_id, s.cand_offer, s.score, 'pending', ${now.toISOString()}::timestamptz
          FROM unnest(${col(() => newId())}::uuid[], ${col((e) => e.offerId)}::uuid[], ${col((e) => e.candidateGroupId)}::uuid[],
            ${col((e) => e.candidateOfferId)}::uuid[], ${col((e) => e.score)}::float8[]) AS s(id, offer_id, group_id, cand_offer, score)
          ON CONFLICT (tenant_id, offer_id, candidate_group_id) DO NOTHING RETURNING id`,
    );
    return rows.length;
  },

  listReviews: (
    q: Q,
    tenantId: string,
    f: { status?: string | undefined; id?: string | undefined; after?: string | undefined; limit: number },
  ) =>
    queryRows<ReviewRow>(
      q,
      sql`SELECT r.id, r.score, r.status, r.created_at AS "createdAt", r.decided_at AS "decidedAt",
            r.offer_id AS "offerId", o.title AS "offerTitle", os.name AS "offerStore", o.price_minor::text AS "offerPriceMinor", o.currency AS "offerCurrency",
            o.match_group_id AS "offerGroupId",
            r.candidate_group_id AS "candidateGroupId", g.canonical_name AS "candidateGroupName",
            r.candidate_offer_id AS "candidateOfferId", co.title AS "candidateTitle", cs.name AS "candidateStore",
            co.price_minor::text AS "candidatePriceMinor", co.currency AS "candidateCurrency"
          FROM pricing_match_reviews r
          JOIN pricing_offers o ON o.tenant_id = ${tenantId} AND o.id = r.offer_id
          JOIN pricing_stores os ON os.tenant_id = ${tenantId} AND os.id = o.store_id
          JOIN pricing_match_groups g ON g.tenant_id = ${tenantId} AND g.id = r.candidate_group_id
          LEFT JOIN pricing_offers co ON co.tenant_id = ${tenantId} AND co.id = r.candidate_offer_id
          LEFT JOIN pricing_stores cs ON cs.tenant_id = ${tenantId} AND cs.id = co.store_id
          WHERE r.tenant_id = ${tenantId}
            ${f.status ? sql`AND r.status = ${f.status}` : sql``}
            ${f.id ? sql`AND r.id = ${f.id}` : sql``}
            ${f.after ? sql`AND r.id > ${f.after}` : sql``}
          ORDER BY r.id LIMIT ${f.limit}`,
    ),

  /**
   * A review, locked for the decision: its offer's row first, then the review (a concurrent decision waits, then
   * finds it decided). Lock order offer -> reviews: an accept also closes the offer's other pending reviews, so two
   * accepts of one offer's two reviews that each locked their own review first would wait on each other (deadlock).
   */
  async lockReviewForDecision(q: Q, tenantId: string, id: string) {
    await q.execute(
      sql`SELECT o.id FROM pricing_offers o
          WHERE o.tenant_id = ${tenantId}
            AND o.id = (SELECT r.offer_id FROM pricing_match_reviews r WHERE r.tenant_id = ${tenantId} AND r.id = ${id})
          FOR UPDATE OF o`,
    );
    return queryOne<{ id: string; status: string; offerId: string; candidateGroupId: string }>(
      q,
      sql`SELECT id, status, offer_id AS "offerId", candidate_group_id AS "candidateGroupId"
          FROM pricing_match_reviews WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE`,
    );
  },

  async decideReview(q: Q, tenantId: string, id: string, status: 'accepted' | 'rejected', actor: { type: string; id: string }, now: Date) {
    await q.execute(
      sql`UPDATE pricing_match_reviews SET status = ${status}, decided_by_type = ${actor.type}, decided_by_id = ${actor.id},
            decided_at = ${now.toISOString()}::timestamptz
          WHERE tenant_id = ${tenantId} AND id = ${id}`,
    );
  },

  /** Other pending reviews of an offer (closed when one of its candidates is accepted). */
  async rejectOtherReviews(q: Q, tenantId: string, offerId: string, keepId: string, actor: { type: string; id: string }, now: Date) {
    await q.execute(
      sql`UPDATE pricing_match_reviews SET status = 'rejected', decided_by_type = ${actor.type}, decided_by_id = ${actor.id},
            decided_at = ${now.toISOString()}::timestamptz
          WHERE tenant_id = ${tenantId} AND offer_id = ${offerId} AND id <> ${keepId} AND status = 'pending'`,
    );
  },

  offerGroup: (q: Q, tenantId: string, offerId: string) =>
    queryOne<{ matchGroupId: string | null }>(
      q,
      sql`SELECT match_group_id AS "matchGroupId" FROM pricing_offers WHERE tenant_id = ${tenantId} AND id = ${offerId} FOR UPDATE`,
    ),

  // ---- catalog links ----
  /** Groups of these offers not linked to a catalog item yet, with the GTINs their offers carry. */
  groupsToLink: (q: Q, tenantId: string, offerIds: readonly string[]) =>
    queryRows<{ groupId: string; gtin: string; createdAt: Date }>(
      q,
      sql`SELECT DISTINCT g.id AS "groupId", o.gtin, g.created_at AS "createdAt"
          FROM pricing_offers o JOIN pricing_match_groups g ON g.tenant_id = ${tenantId} AND g.id = o.match_group_id
          WHERE o.tenant_id = ${tenantId} AND o.id = ANY(${arrayParam(offerIds)}::uuid[]) AND o.gtin IS NOT NULL AND g.catalog_item_id IS NULL`,
    ),

  /**
   * Links groups to catalog items (item_id). A group already linked keeps its link, and an item already linked
   * to a group is not linked to a second one. Returns how many groups were linked.
   */
  async linkCatalogItems(q: Q, tenantId: string, links: readonly { groupId: string; itemId: string }[], now: Date): Promise<number> {
    if (!links.length) return 0;
    const rows = await queryRows<{ id: string }>(
      q,
      // The linked groups' summary rows are stamped with this transaction: product page caches see the link (pages
      // show catalog_item_id; products.cache.ts).
      sql`WITH linked AS (
            UPDATE pricing_match_groups g SET catalog_item_id = l.item_id, updated_at = ${now.toISOString()}::timestamptz
            FROM unnest(${arrayParam(links.map((l) => l.groupId))}::uuid[], ${arrayParam(links.map((l) => l.itemId))}::text[]) AS l(group_id, item_id)
            WHERE g.tenant_id = ${tenantId} AND g.id = l.group_id AND g.catalog_item_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM pricing_match_groups x WHERE x.tenant_id = ${tenantId} AND x.catalog_item_id = l.item_id)
            RETURNING g.id
          ),
          stamped AS (
            UPDATE pricing_group_summaries s SET write_xid = pg_current_xact_id()
            FROM linked WHERE s.tenant_id = ${tenantId} AND s.group_id = linked.id
          )
          SELECT id FROM linked`,
    );
    return rows.length;
  },

  // ---- feed runs ----
  /** A queued run, or undefined when the store already has a queued or running import (the partial unique index). */
  /** Pins or unpins a group; false when the tenant has no such group. */
  async setPinned(q: Q, tenantId: string, id: string, pinned: boolean, now: Date): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`UPDATE pricing_match_groups SET pinned = ${pinned}, updated_at = ${now.toISOString()}::timestamptz
          WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
    );
    return rows.length > 0;
  },

  async insertRun(q: Q, tenantId: string, r: { id: string; storeId: string; format: string; mode?: 'full' | 'prices' }, now: Date) {
    return queryOne<{ id: string }>(
      q,
      sql`INSERT INTO pricing_feed_runs (tenant_id, id, store_id, format, mode, status, started_at)
          VALUES (${tenantId}, ${r.id}, ${r.storeId}, ${r.format}, ${r.mode ?? 'full'}, 'queued', ${now.toISOString()})
          ON CONFLICT (tenant_id, store_id) WHERE status IN ('queued', 'running') DO NOTHING RETURNING id`,
    );
  },

  async updateRun(
    q: Q,
    tenantId: string,
    id: string,
    p: Partial<
      Pick<
        FeedRunRow,
        | 'status'
        | 'rowsRead'
        | 'rowsAccepted'
        | 'rowsRejected'
        | 'offersCreated'
        | 'pricesChanged'
        | 'offersUnknown'
        | 'errors'
        | 'failure'
        | 'attempts'
        | 'jobId'
      >
    > & { finishedAt?: Date },
  ): Promise<void> {
    const sets = [
      p.status !== undefined ? sql`status = ${p.status}` : null,
      p.rowsRead !== undefined ? sql`rows_read = ${p.rowsRead}` : null,
      p.rowsAccepted !== undefined ? sql`rows_accepted = ${p.rowsAccepted}` : null,
      p.rowsRejected !== undefined ? sql`rows_rejected = ${p.rowsRejected}` : null,
      p.offersCreated !== undefined ? sql`offers_created = ${p.offersCreated}` : null,
      p.pricesChanged !== undefined ? sql`prices_changed = ${p.pricesChanged}` : null,
      p.offersUnknown !== undefined ? sql`offers_unknown = ${p.offersUnknown}` : null,
      p.errors !== undefined ? sql`errors = ${JSON.stringify(p.errors)}::jsonb` : null,
      p.failure !== undefined ? sql`failure = ${p.failure}` : null,
      p.attempts !== undefined ? sql`attempts = ${p.attempts}` : null,
      p.jobId !== undefined ? sql`job_id = ${p.jobId}` : null,
      p.finishedAt !== undefined ? sql`finished_at = ${p.finishedAt.toISOString()}::timestamptz` : null,
    ].filter((s) => s !== null);
    if (!sets.length) return;
    await q.execute(sql`UPDATE pricing_feed_runs SET ${sql.join(sets, sql`, `)} WHERE tenant_id = ${tenantId} AND id = ${id}`);
  },

  getRun: (q: Q, tenantId: string, id: string) =>
    queryOne<FeedRunRow>(
      q,
      sql`SELECT id, store_id AS "storeId", format, mode, status, rows_read AS "rowsRead", rows_accepted AS "rowsAccepted", rows_rejected AS "rowsRejected",
            offers_created AS "offersCreated", prices_changed AS "pricesChanged", offers_unknown AS "offersUnknown", errors, failure,
            job_id AS "jobId", attempts, log, started_at AS "startedAt", finished_at AS "finishedAt"
          FROM pricing_feed_runs WHERE tenant_id = ${tenantId} AND id = ${id}`,
    ),

  /** Marks queued or running runs of dead processes failed (their job is retried or gone). */
  async failRunsOfStore(q: Q, tenantId: string, storeId: string, failure: string, now: Date): Promise<void> {
    await q.execute(
      sql`UPDATE pricing_feed_runs SET status = 'failed', failure = ${failure}, finished_at = ${now.toISOString()}::timestamptz
          WHERE tenant_id = ${tenantId} AND store_id = ${storeId} AND status IN ('queued', 'running')`,
    );
  },
};
