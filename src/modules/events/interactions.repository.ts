import { sql } from 'drizzle-orm';
import { type Q, arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import { tenantHorizonSql } from './retention.repository.ts';
import { type NewInteraction, dedupeKeyOf } from './interactions.core.ts';

export interface AppendResult {
  /** Rows written now. */
  inserted: number;
  /** Rows already present (same dedupe key): a retry or a re-import, not an error. */
  duplicates: number;
  /** Rows older than the retention horizon: not stored. */
  expired: number;
  /** Id of each input row in order (the existing id for duplicates). */
  ids: string[];
}

export interface DetailedAppendResult {
  /** Id of each input row in order (the existing id for duplicates). */
  ids: string[];
  /** True where the row was written by this call (false for retries and in-batch repeats). */
  created: boolean[];
  /** When each stored row was first received. */
  receivedAt: Date[];
  /** True where the row is older than the retention horizon: not stored, and not a duplicate either. */
  expired: boolean[];
  /** The horizon the expired rows fell before (the platform's or the tenant's, the later); null when none expired. */
  keptFrom: Date | null;
}

export interface StoredInteraction {
  id: string;
  userId: string | null;
  anonymousId: string | null;
  profileId: string | null;
  itemId: string | null;
  type: string;
  value: number | null;
  quantity: number | null;
  priceMinor: string | null;
  currency: string | null;
  orderId: string | null;
  sessionId: string | null;
  recommendationId: string | null;
  source: string;
  context: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  occurredAt: Date;
  receivedAt: Date;
}

const COLUMNS = sql`id, user_id AS "userId", anonymous_id AS "anonymousId", profile_id AS "profileId", item_id AS "itemId", type, value, quantity,
  price_minor::text AS "priceMinor", currency, order_id AS "orderId", session_id AS "sessionId", recommendation_id AS "recommendationId",
  source, context, metadata, occurred_at AS "occurredAt", received_at AS "receivedAt"`;

/**
 * The one repository of the interactions table, shared by the events API, file uploads and connectors.
 * Writes are set-based (`INSERT ... SELECT FROM unnest(...)`) and idempotent on the dedupe key. It tells no one
 * about writes: it cannot know when its caller's transaction commits (the events write door notifies after it).
 */
export interface InteractionsRepositoryOptions {
  /**
   * The retention horizon (start of the oldest month kept), or null to keep everything: events older are not
   * stored (`events.interaction-partitions` drops their months and keys). Read on each write.
   */
  retainFrom?: () => Date | null;
  /** The clock a tenant's own retention horizon is computed at (interaction_retention; default: the system's). */
  clock?: () => Date;
}

/** The counts of a detailed append: written now, expired (older than the retention), the rest duplicates. */
export function appendCounts(d: DetailedAppendResult): AppendResult {
  const inserted = d.created.filter(Boolean).length;
  const expired = d.expired.filter(Boolean).length;
  return { inserted, duplicates: d.ids.length - inserted - expired, expired, ids: d.ids };
}

export function createInteractionsRepository(opts: InteractionsRepositoryOptions = {}) {
  const repo = {
    /** Appends a batch in one statement. Safe to retry: duplicates are counted, not re-inserted. */
    async appendMany(q: Q, tenantId: string, rows: readonly NewInteraction[]): Promise<AppendResult> {
      return appendCounts(await repo.appendManyDetailed(q, tenantId, rows));
    },

    /**
     * Like `appendMany`, and tells per input row whether it was written now (`created`) and when the stored row
     * was received (`receivedAt`, the first acknowledgment's time for retries): idempotent writers answer a
     * retry with exactly the first answer, and profile aggregates count each event once.
     */
    async appendManyDetailed(q: Q, tenantId: string, rows: readonly NewInteraction[]): Promise<DetailedAppendResult> {
      if (!rows.length) return { ids: [], created: [], receivedAt: [], expired: [], keptFrom: null };
      const keys = rows.map(dedupeKeyOf);
      const firstIndex = new Map<string, number>();
      keys.forEach((k, i) => {
        if (!firstIndex.has(k)) firstIndex.set(k, i);
      });
      const uniq = [...firstIndex.values()].map((i) => rows[i]!);
      const ukeys = [...firstIndex.keys()]; // same order as uniq: keys are hashed once per row
      const ids = uniq.map(() => newId());
      const col = <T>(f: (r: NewInteraction) => T) => arrayParam(uniq.map(f));
      const platformHorizon = opts.retainFrom?.() ?? null;
      // The later of the platform's and the tenant's own horizon (a primary-key probe of interaction_retention).
      const horizon = sql`coalesce(greatest(${platformHorizon?.toISOString() ?? null}::timestamptz, ${tenantHorizonSql(tenantId, opts.clock?.() ?? new Date())}), '-infinity'::timestamptz)`;
      // One statement: the keys first (ON CONFLICT DO NOTHING: webhooks, SDK queues and uploads deliver at least
      // once), then the interactions of exactly the keys this statement got. A concurrent duplicate waits on the
      // key's unique index and gets nothing; kill -9 keeps both inserts or neither. Rows older than the retention
      // horizon are left out: their month is dropped, so their key may be gone and they would count twice.
      // The keys go in in one order (ORDER BY dedupe_key) whatever the batch's order: two batches sharing keys in
      // opposite orders (a retry, a webhook and an SDK queue flushing the same events) each held a key the other
      // waited on, a deadlock that failed one of them (interaction-partitions.int: eight writers, two orders).
      const inserted = await queryRows<{ dedupeKey: string; id: string; receivedAt: Date }>(
        q,
        sql`WITH input AS (
              SELECT * FROM unnest(
                ${arrayParam(ids)}::uuid[], ${arrayParam(ukeys)}::text[], ${col((r) => r.userId ?? null)}::text[], ${col((r) => r.anonymousId ?? null)}::text[],
                ${col((r) => r.profileId ?? null)}::uuid[], ${col((r) => r.itemId ?? null)}::text[], ${col((r) => r.type)}::text[],
                ${col((r) => r.value ?? null)}::float8[], ${col((r) => r.quantity ?? null)}::int[], ${col((r) => (r.priceMinor == null ? null : r.priceMinor.toString()))}::bigint[],
                ${col((r) => r.currency ?? null)}::text[], ${col((r) => r.orderId ?? null)}::text[], ${col((r) => r.sessionId ?? null)}::text[],
                ${col((r) => r.recommendationId ?? null)}::text[], ${col((r) => r.source)}::text[],
                ${col((r) => (r.context ? JSON.stringify(r.context) : null))}::jsonb[], ${col((r) => (r.metadata ? JSON.stringify(r.metadata) : null))}::jsonb[],
                ${col((r) => r.occurredAt.toISOString())}::timestamptz[]
              ) AS t(id, dedupe_key, user_id, anonymous_id, profile_id, item_id, type, value, quantity, price_minor,
                     currency, order_id, session_id, recommendation_id, source, context, metadata, occurred_at)
              WHERE t.occurred_at >= ${horizon}
            ), keyed AS (
              INSERT INTO interaction_keys (tenant_id, dedupe_key, id, occurred_at)
              SELECT ${tenantId}::uuid, dedupe_key, id, occurred_at FROM input ORDER BY dedupe_key
              ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
              RETURNING dedupe_key, id, received_at
            ), written AS (
              INSERT INTO interactions (tenant_id, id, dedupe_key, user_id, anonymous_id, profile_id, item_id, type, value, quantity, price_minor,
                                        currency, order_id, session_id, recommendation_id, source, context, metadata, occurred_at, received_at)
              SELECT ${tenantId}::uuid, i.id, i.dedupe_key, i.user_id, i.anonymous_id, i.profile_id, i.item_id, i.type, i.value, i.quantity, i.price_minor,
                     i.currency, i.order_id, i.session_id, i.recommendation_id, i.source, i.context, i.metadata, i.occurred_at, k.received_at
              FROM input i JOIN keyed k ON k.dedupe_key = i.dedupe_key
              RETURNING 1
            )
            SELECT dedupe_key AS "dedupeKey", id, received_at AS "receivedAt" FROM keyed`,
      );
      const byKey = new Map(inserted.map((r) => [r.dedupeKey, { id: r.id, receivedAt: r.receivedAt }]));
      const fresh = new Set(byKey.keys());
      const missing = ukeys.filter((k) => !byKey.has(k));
      if (missing.length) {
        // Retries answer from the key table alone (the stored id and first receipt), reading no partition.
        const existing = await queryRows<{ dedupeKey: string; id: string; receivedAt: Date }>(
          q,
          sql`SELECT dedupe_key AS "dedupeKey", id, received_at AS "receivedAt" FROM interaction_keys WHERE tenant_id = ${tenantId} AND dedupe_key = ANY(${arrayParam(missing)}::text[])`,
        );
        for (const e of existing) byKey.set(e.dedupeKey, { id: e.id, receivedAt: e.receivedAt });
      }
      // Older than the retention and not stored (its key is not looked at: the month may be dropped already): not
      // created, marked expired so channels can say why; the id it would have had keeps the write total.
      const now = new Date();
      const expiredKeys = new Set<string>();
      ukeys.forEach((k, i) => {
        if (byKey.has(k)) return;
        byKey.set(k, { id: ids[i]!, receivedAt: now });
        expiredKeys.add(k);
      });
      return {
        ids: keys.map((k) => byKey.get(k)!.id),
        created: keys.map((k, i) => fresh.has(k) && firstIndex.get(k) === i),
        receivedAt: keys.map((k) => byKey.get(k)!.receivedAt),
        expired: keys.map((k) => expiredKeys.has(k)),
        keptFrom: expiredKeys.size ? ((await queryOne<{ at: Date | null }>(q, sql`SELECT ${horizon} AS at`))?.at ?? null) : null,
      };
    },

    /**
     * The activity of profiles per their stored events (identity's ProfileActivitySource): per profile its
     * count, first/last time and sources; per order its purchases and refunds (unit price x quantity, as the
     * write path counts them). A purchase without an order id stands alone, keyed by its interaction id.
     */
    async profileActivity(q: Q, tenantId: string, profileIds: readonly string[]) {
      if (!profileIds.length) return { events: [], orders: [] };
      const ids = arrayParam(profileIds);
      const events = await queryRows<{
        profileId: string;
        eventCount: number;
        firstAt: Date | null;
        lastAt: Date | null;
        channels: string[];
      }>(
        q,
        sql`SELECT profile_id::text AS "profileId", count(*)::int AS "eventCount", min(occurred_at) AS "firstAt", max(occurred_at) AS "lastAt",
                   array_agg(DISTINCT source) AS channels
            FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${ids}::uuid[]) GROUP BY profile_id`,
      );
      const orders = await queryRows<{
        profileId: string;
        orderId: string;
        revenue: string;
        refunded: string;
        currency: string | null;
        at: Date;
      }>(
        q,
        sql`SELECT profile_id::text AS "profileId", coalesce(order_id, '~' || id::text) AS "orderId",
                   coalesce(sum(abs(price_minor * coalesce(quantity, 1))) FILTER (WHERE type = 'purchase'), 0)::text AS revenue,
                   coalesce(sum(abs(price_minor * coalesce(quantity, 1))) FILTER (WHERE type = 'refund'), 0)::text AS refunded,
                   min(upper(currency)) AS currency, min(occurred_at) AS at
            FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ANY(${ids}::uuid[]) AND type IN ('purchase', 'refund')
            GROUP BY profile_id, coalesce(order_id, '~' || id::text)`,
      );
      return {
        events: events.map((e) => ({ ...e, firstAt: e.firstAt && new Date(e.firstAt), lastAt: e.lastAt && new Date(e.lastAt) })),
        orders: orders.map((o) => ({
          profileId: o.profileId,
          orderId: o.orderId,
          revenueMinor: BigInt(o.revenue),
          refundedMinor: BigInt(o.refunded),
          currency: o.currency,
          at: new Date(o.at),
        })),
      };
    },

    /** Most recent first. */
    listForUser: (q: Q, tenantId: string, userId: string, limit: number) =>
      queryRows<StoredInteraction>(
        q,
        sql`SELECT ${COLUMNS} FROM interactions WHERE tenant_id = ${tenantId} AND user_id = ${userId} ORDER BY occurred_at DESC, id DESC LIMIT ${limit}`,
      ),

    listForProfile: (q: Q, tenantId: string, profileId: string, limit: number) =>
      queryRows<StoredInteraction>(
        q,
        sql`SELECT ${COLUMNS} FROM interactions WHERE tenant_id = ${tenantId} AND profile_id = ${profileId} ORDER BY occurred_at DESC, id DESC LIMIT ${limit}`,
      ),

    get: async (q: Q, tenantId: string, id: string) =>
      (await queryRows<StoredInteraction>(q, sql`SELECT ${COLUMNS} FROM interactions WHERE tenant_id = ${tenantId} AND id = ${id}`))[0],

    /** Streams the training snapshot in keyset pages (user, item, type, time) so memory stays bounded. */
    async *scanForTraining(
      q: Q,
      tenantId: string,
      opts: { since?: Date; pageSize?: number } = {},
    ): AsyncGenerator<{ userId: string; itemId: string; type: string; value: number | null; occurredAt: Date }[]> {
      const pageSize = opts.pageSize ?? 50_000;
      let after: string | null = null;
      for (;;) {
        const page: { id: string; userId: string; itemId: string; type: string; value: number | null; occurredAt: Date }[] =
          await queryRows(
            q,
            sql`SELECT id, coalesce(profile_id::text, user_id, anonymous_id) AS "userId", item_id AS "itemId", type, value, occurred_at AS "occurredAt"
              FROM interactions
              WHERE tenant_id = ${tenantId} AND item_id IS NOT NULL AND coalesce(profile_id::text, user_id, anonymous_id) IS NOT NULL
                ${opts.since ? sql`AND occurred_at >= ${opts.since.toISOString()}` : sql``}
                ${after ? sql`AND id > ${after}` : sql``}
              ORDER BY id LIMIT ${pageSize}`,
          );
        if (!page.length) return;
        yield page;
        after = page[page.length - 1]!.id;
        if (page.length < pageSize) return;
      }
    },

    count: async (q: Q, tenantId: string) =>
      Number((await queryRows<{ n: string }>(q, sql`SELECT count(*)::text AS n FROM interactions WHERE tenant_id = ${tenantId}`))[0]!.n),
  };
  return repo;
}
export type InteractionsRepository = ReturnType<typeof createInteractionsRepository>;
