import { sql } from 'drizzle-orm';
import { type Db, newId, queryOne, queryRows } from '../../platform/index.ts';

export interface ConnectionRow {
  tenantId: string;
  id: string;
  type: string;
  name: string;
  status: string;
  settings: Record<string, unknown>;
  shopDomain: string | null;
  signingSecret: string;
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
  status: 'processed' | 'duplicate' | 'ignored' | 'rejected' | 'failed';
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

/** Connections and their delivery log. Every tenant-facing query filters on tenant_id. */
export function createIntegrationsRepository(db: Db) {
  return {
    async create(tenantId: string, c: { type: string; name: string; settings: Record<string, unknown>; shopDomain: string | null; signingSecret: string }): Promise<ConnectionRow> {
      return (await queryOne<ConnectionRow>(
        db,
        sql`INSERT INTO integration_connections (tenant_id, id, type, name, settings, shop_domain, signing_secret)
            VALUES (${tenantId}, ${newId()}, ${c.type}, ${c.name}, ${JSON.stringify(c.settings)}::jsonb, ${c.shopDomain}, ${c.signingSecret})
            RETURNING ${CONNECTION}`,
      ))!;
    },

    get: (tenantId: string, id: string) => queryOne<ConnectionRow>(db, sql`SELECT ${CONNECTION} FROM integration_connections WHERE tenant_id = ${tenantId} AND id = ${id}`),

    /** Newest first, keyset on id (UUIDv7). */
    list: (tenantId: string, limit: number, before?: string) =>
      queryRows<ConnectionRow>(
        db,
        sql`SELECT ${CONNECTION} FROM integration_connections WHERE tenant_id = ${tenantId} ${before ? sql`AND id < ${before}` : sql``} ORDER BY id DESC LIMIT ${limit}`,
      ),

    async delete(tenantId: string, id: string): Promise<boolean> {
      const rows = await queryRows<{ id: string }>(db, sql`DELETE FROM integration_connections WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`);
      return rows.length > 0;
    },

    /**
     * A webhook's connection by its id alone: webhook URLs carry no credential, the tenant comes from the
     * connection, and the vendor signature (checked next) proves the caller holds the connection's secret.
     */
    findForWebhook: (id: string) => queryOne<ConnectionRow>(db, sql`SELECT ${CONNECTION} FROM integration_connections WHERE id = ${id} AND status = 'active'`),

    /** Shopify connections claiming a shop domain (several tenants may; the signature decides which one is meant). */
    findShopifyByDomain: (shopDomain: string) =>
      queryRows<ConnectionRow>(db, sql`SELECT ${CONNECTION} FROM integration_connections WHERE shop_domain = ${shopDomain} AND type = 'shopify' AND status = 'active' ORDER BY id LIMIT 20`),

    async deliveryExists(tenantId: string, connectionId: string, dedupeKey: string): Promise<boolean> {
      const row = await queryOne<{ id: string }>(
        db,
        sql`SELECT id FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND dedupe_key = ${dedupeKey}`,
      );
      return !!row;
    },

    /**
     * Logs a delivery. With a dedupe key, returns false (and writes nothing) when that delivery was already
     * accepted: ON CONFLICT DO NOTHING because vendors deliver at least once, sometimes concurrently.
     */
    async logDelivery(tenantId: string, d: NewDelivery, q: Pick<Db, 'execute'> = db): Promise<boolean> {
      const rows = await queryRows<{ id: string }>(
        q,
        sql`INSERT INTO webhook_deliveries (tenant_id, id, connection_id, delivery_id, dedupe_key, topic, status, reason, http_status, events_written, body_sha256, body_bytes)
            VALUES (${tenantId}, ${newId()}, ${d.connectionId}, ${d.deliveryId}, ${d.dedupeKey}, ${d.topic}, ${d.status}, ${d.reason}, ${d.httpStatus}, ${d.eventsWritten}, ${d.bodySha256}, ${d.bodyBytes})
            ON CONFLICT (tenant_id, connection_id, dedupe_key) DO NOTHING
            RETURNING id`,
      );
      if (rows.length) await q.execute(sql`UPDATE integration_connections SET last_delivery_at = now() WHERE tenant_id = ${tenantId} AND id = ${d.connectionId}`);
      return rows.length > 0;
    },

    async setEventsWritten(tenantId: string, connectionId: string, dedupeKey: string, n: number, q: Pick<Db, 'execute'> = db): Promise<void> {
      await q.execute(sql`UPDATE webhook_deliveries SET events_written = ${n} WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId} AND dedupe_key = ${dedupeKey}`);
    },

    listDeliveries: (tenantId: string, connectionId: string, limit: number, before?: string) =>
      queryRows<DeliveryRow>(
        db,
        sql`SELECT ${DELIVERY} FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND connection_id = ${connectionId}
            ${before ? sql`AND id < ${before}` : sql``} ORDER BY id DESC LIMIT ${limit}`,
      ),
  };
}
export type IntegrationsRepository = ReturnType<typeof createIntegrationsRepository>;
