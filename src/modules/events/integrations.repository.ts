import { sql } from 'drizzle-orm';
import {
  type Q,
  type SecretBox,
  SecretUnreadableError,
  newId,
  outsideTenantScope,
  queryOne,
  queryRows,
  resealColumn,
} from '../../platform/index.ts';

export interface ConnectionRow {
  tenantId: string;
  id: string;
  type: string;
  name: string;
  status: string;
  settings: Record<string, unknown>;
  shopDomain: string | null;
  /** In clear (stored sealed); null when no configured key opens the stored value. */
  signingSecret: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastDeliveryAt: Date | null;
}

export interface DeliveryRow {
  id: string;
  connectionId: string;
  deliveryId: string | null;
  topic: string | null;
  status: string;
  reason: string | null;
  httpStatus: number;
  eventsWritten: number;
  receivedAt: Date;
}

export interface NewDelivery {
  connectionId: string;
  deliveryId: string | null;
  /** Set only for accepted deliveries: the unique key that makes a replay a duplicate. */
  dedupeKey: string | null;
  topic: string | null;
  /** deferred: verified but not processed, answered 503 so the vendor retries (a suspended tenant). */
  status: 'processed' | 'duplicate' | 'ignored' | 'rejected' | 'failed' | 'deferred';
  reason: string | null;
  httpStatus: number;
  eventsWritten: number;
  bodySha256: string | null;
  bodyBytes: number | null;
}

const CONNECTION = sql`tenant_id AS "tenantId", id, type, name, status, settings, shop_domain AS "shopDomain", signing_secret AS "signingSecret",
  created_at AS "createdAt", updated_at AS "updatedAt", last_delivery_at AS "lastDeliveryAt"`;
const DELIVERY = sql`id, connection_id AS "connectionId", delivery_id AS "deliveryId", topic, status, reason, http_status AS "httpStatus",
  events_written AS "eventsWritten", received_at AS "receivedAt"`;

/** Where a connection's secret is stored: the sealed value opens only in this row. */
const secretContext = (tenantId: string, id: string) => `integration:${tenantId}:${id}`;

/**
 * Connections and their delivery log. Every tenant-facing query filters on tenant_id. Signing secrets are
 * sealed (AES-256-GCM, platform/secret-box.ts) on the way in and opened on the way out.
 */
export function createIntegrationsRepository(secrets: SecretBox) {
  const opened = (row: ConnectionRow | undefined): ConnectionRow | undefined => {
    if (!row || row.signingSecret === null) return row;
    try {
      return { ...row, signingSecret: secrets.open(row.signingSecret, secretContext(row.tenantId, row.id)) };
    } catch (err) {
      if (err instanceof SecretUnreadableError) return { ...row, signingSecret: null };
      throw err;
    }
  };
  const openedAll = (rows: ConnectionRow[]) => rows.map((r) => opened(r)!);

  return {
    async create(
      q: Q,
      tenantId: string,
      c: { type: string; name: string; settings: Record<string, unknown>; shopDomain: string | null; signingSecret: string },
    ): Promise<ConnectionRow> {
      const id = newId();
      return opened(
        await queryOne<ConnectionRow>(
          q,
          sql`INSERT INTO integration_connections (tenant_id, id, type, name, settings, shop_domain, signing_secret)
              VALUES (${tenantId}, ${id}, ${c.type}, ${c.name}, ${JSON.stringify(c.settings)}::jsonb, ${c.shopDomain}, ${secrets.seal(c.signingSecret, secretContext(tenantId, id))})
              RETURNING ${CONNECTION}`,
        ),
      )!;
    },

    get: async (q: Q, tenantId: string, id: string) =>
      opened(
        await queryOne<ConnectionRow>(
          q,
          sql`SELECT ${CONNECTION} FROM integration_connections WHERE tenant_id = ${tenantId} AND id = ${id}`,
        ),
      ),

    /** Renames, pauses/resumes, or replaces the signing secret (a vendor-side rotation). */
    async update(
      q: Q,
      tenantId: string,
      id: string,
      patch: { name?: string | undefined; status?: 'active' | 'paused' | undefined; signingSecret?: string | undefined },
    ): Promise<ConnectionRow | undefined> {
      const sealed = patch.signingSecret === undefined ? null : secrets.seal(patch.signingSecret, secretContext(tenantId, id));
      return opened(
        await queryOne<ConnectionRow>(
          q,
          sql`UPDATE integration_connections SET name = COALESCE(${patch.name ?? null}, name), status = COALESCE(${patch.status ?? null}, status),
                signing_secret = COALESCE(${sealed}, signing_secret), updated_at = now()
              WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${CONNECTION}`,
        ),
      );
    },

    /** Newest first, keyset on id (UUIDv7). */
    list: async (q: Q, tenantId: string, limit: number, before?: string) =>
      openedAll(
        await queryRows<ConnectionRow>(
          q,
          sql`SELECT ${CONNECTION} FROM integration_connections WHERE tenant_id = ${tenantId} ${before ? sql`AND id < ${before}` : sql``} ORDER BY id DESC LIMIT ${limit}`,
        ),
      ),

    /**
     * Seals every stored secret that is still in clear (written before encryption) or sealed with a previous
     * key, across tenants (a start-up step). Compare-and-set per row, so a concurrent update wins.
     * Returns how many were re-sealed and how many no configured key opens.
     */
    resealAll: (q: Q) =>
      resealColumn(q, secrets, {
        table: 'integration_connections',
        column: 'signing_secret',
        rowKey: 'id',
        context: (t, id) => secretContext(t, id!),
      }),

    async delete(q: Q, tenantId: string, id: string): Promise<boolean> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`DELETE FROM integration_connections WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
      );
      // Its backfill state (and sealed Admin API token) goes with it; a running backfill finds no connection and stops.
      await q.execute(sql`DELETE FROM shopify_backfills WHERE tenant_id = ${tenantId} AND connection_id = ${id}`);
      return rows.length > 0;
    },

    /**
     * A webhook's connection by its id alone: webhook URLs carry no credential, the tenant comes from the
     * connection, and the vendor signature (checked next) proves the caller holds the connection's secret.
     */
    findForWebhook: async (q: Q, id: string) =>
      opened(
        await queryOne<ConnectionRow>(q, sql`SELECT ${CONNECTION} FROM integration_connections WHERE id = ${id} AND status = 'active'`),
      ),

    /**
     * Active Shopify connections registered for a shop domain, of one tenant when `tenantId` is given (the domain's
     * claimant), else of every tenant: the signature decides which one is meant, so none may be left out (no LIMIT:
     * a squatter's many connections must not push the real one out). Oldest first.
     */
    findShopifyByDomain: async (q: Q, shopDomain: string, tenantId?: string) =>
      openedAll(
        await queryRows<ConnectionRow>(
          q,
          sql`SELECT ${CONNECTION} FROM integration_connections WHERE shop_domain = ${shopDomain} AND type = 'shopify' AND status = 'active'
              ${tenantId ? sql`AND tenant_id = ${tenantId}` : sql``} ORDER BY id`,
        ),
      ),

    /**
     * The tenant that proved a vendor shop domain is theirs (a verified delivery), if any. Global by design (a tenant
     * registering a domain must see another's claim): read outside the request's RLS scope.
     */
    shopClaim: (q: Q, vendor: string, shopDomain: string) =>
      outsideTenantScope(() =>
        queryOne<{ tenantId: string; connectionId: string }>(
          q,
          sql`SELECT tenant_id AS "tenantId", connection_id AS "connectionId" FROM shop_domain_claims WHERE vendor = ${vendor} AND shop_domain = ${shopDomain}`,
        ),
      ),

    /** Claims a shop domain for the tenant of a connection that verified a delivery; the first claim stays. Returns the claimant. */
    async claimShop(q: Q, vendor: string, shopDomain: string, tenantId: string, connectionId: string): Promise<string> {
      const row = await queryOne<{ tenantId: string }>(
        q,
        sql`WITH ins AS (
              INSERT INTO shop_domain_claims (vendor, shop_domain, tenant_id, connection_id) VALUES (${vendor}, ${shopDomain}, ${tenantId}, ${connectionId})
              ON CONFLICT (vendor, shop_domain) DO NOTHING RETURNING tenant_id)
            SELECT tenant_id::text AS "tenantId" FROM ins
            UNION ALL SELECT tenant_id::text FROM shop_domain_claims WHERE vendor = ${vendor} AND shop_domain = ${shopDomain}
            LIMIT 1`,
      );
      if (row) return row.tenantId;
      // A concurrent claim committed after this statement's snapshot: read it now.
      const claim = await outsideTenantScope(() =>
        queryOne<{ tenantId: string }>(
          q,
          sql`SELECT tenant_id::text AS "tenantId" FROM shop_domain_claims WHERE vendor = ${vendor} AND shop_domain = ${shopDomain}`,
        ),
      );
      return claim!.tenantId;
    },

    /** Releases the tenant's claim on a shop domain once it has no connection left for it (the shop was disconnected). */
    async releaseShopClaimIfUnused(q: Q, tenantId: string, vendor: string, shopDomain: string): Promise<void> {
      await q.execute(
        sql`DELETE FROM shop_domain_claims WHERE vendor = ${vendor} AND shop_domain = ${shopDomain} AND tenant_id = ${tenantId}
              AND NOT EXISTS (SELECT 1 FROM integration_connections WHERE tenant_id = ${tenantId} AND type = ${vendor} AND shop_domain = ${shopDomain})`,
      );
    },

    async deliveryExists(q: Q, tenantId: string, connectionId: string, dedupeKey: string): Promise<boolean> {
      const row = await queryOne<{ id: string }>(
        q,
        sql`SELECT id FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND dedupe_key = ${dedupeKey}`,
      );
      return !!row;
    },

    /**
     * Logs a delivery. With a dedupe key, returns false (and writes nothing) when that delivery was already
     * accepted: ON CONFLICT DO NOTHING because vendors deliver at least once, sometimes concurrently.
     */
    async logDelivery(q: Q, tenantId: string, d: NewDelivery): Promise<boolean> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`INSERT INTO webhook_deliveries (tenant_id, id, connection_id, delivery_id, dedupe_key, topic, status, reason, http_status, events_written, body_sha256, body_bytes)
            VALUES (${tenantId}, ${newId()}, ${d.connectionId}, ${d.deliveryId}, ${d.dedupeKey}, ${d.topic}, ${d.status}, ${d.reason}, ${d.httpStatus}, ${d.eventsWritten}, ${d.bodySha256}, ${d.bodyBytes})
            ON CONFLICT (tenant_id, connection_id, dedupe_key) DO NOTHING
            RETURNING id`,
      );
      if (rows.length)
        await q.execute(
          sql`UPDATE integration_connections SET last_delivery_at = now() WHERE tenant_id = ${tenantId} AND id = ${d.connectionId}`,
        );
      return rows.length > 0;
    },

    async setEventsWritten(q: Q, tenantId: string, connectionId: string, dedupeKey: string, n: number): Promise<void> {
      await q.execute(
        sql`UPDATE webhook_deliveries SET events_written = ${n} WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND dedupe_key = ${dedupeKey}`,
      );
    },

    listDeliveries: (q: Q, tenantId: string, connectionId: string, limit: number, before?: string) =>
      queryRows<DeliveryRow>(
        q,
        sql`SELECT ${DELIVERY} FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId}
            ${before ? sql`AND id < ${before}` : sql``} ORDER BY id DESC LIMIT ${limit}`,
      ),
  };
}
export type IntegrationsRepository = ReturnType<typeof createIntegrationsRepository>;
