import { type SQL, sql } from 'drizzle-orm';
import { arrayParam, newId, type Q, queryOne, queryRows } from '../../platform/index.ts';
import type { DeliverySort } from './webhooks.schemas.ts';

export interface EndpointRow {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint with its sealed secrets (never leaves the service). */
export interface EndpointSecrets extends EndpointRow {
  secret: string;
  previousSecret: string | null;
}

export type DeliveryStatus = 'pending' | 'sending' | 'succeeded' | 'failed';

export interface DeliveryRow {
  id: string;
  messageId: string;
  endpointId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastLatencyMs: number | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface AttemptRow {
  id: string;
  attempt: number;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  attemptedAt: Date;
}

export interface MessageRow {
  id: string;
  type: string;
  payload: unknown;
  createdAt: Date;
}

const ENDPOINT = sql`id, url, description, event_types AS "eventTypes", enabled, disabled_reason AS "disabledReason",
  previous_secret_expires_at AS "previousSecretExpiresAt", failing_since AS "failingSince", created_at AS "createdAt", updated_at AS "updatedAt"`;
const DELIVERY = sql`d.id, d.message_id AS "messageId", d.endpoint_id AS "endpointId", d.type, d.status, d.attempts,
  d.next_attempt_at AS "nextAttemptAt", d.last_status_code AS "lastStatusCode", d.last_error AS "lastError",
  d.last_latency_ms AS "lastLatencyMs", d.created_at AS "createdAt", d.updated_at AS "updatedAt", d.completed_at AS "completedAt"`;
/** A send older than this is taken for dead (its process stopped mid-request; the timeout is at most 60 s). */
const STALE_SEND = sql`interval '2 minutes'`;

export interface DeliveryFilter {
  endpointId?: string | undefined;
  status?: DeliveryStatus | undefined;
  type?: string | undefined;
}

/** One fixed ordering per sort key (never built from input); ties fall back to the id, newest first. */
const DELIVERY_ORDER_BY: Record<DeliverySort, SQL> = {
  created_at: sql`d.created_at ASC, d.id DESC`,
  '-created_at': sql`d.created_at DESC, d.id DESC`,
  type: sql`d.type ASC, d.id DESC`,
  '-type': sql`d.type DESC, d.id DESC`,
  status: sql`d.status ASC, d.id DESC`,
  '-status': sql`d.status DESC, d.id DESC`,
  attempts: sql`d.attempts ASC, d.id DESC`,
  '-attempts': sql`d.attempts DESC, d.id DESC`,
};

/** The WHERE of a delivery filter, always on the tenant. */
function deliveryWhere(tenantId: string, f: DeliveryFilter): SQL {
  return sql`d.tenant_id = ${tenantId}
            ${f.endpointId !== undefined ? sql`AND d.endpoint_id = ${f.endpointId}` : sql``}
            ${f.status !== undefined ? sql`AND d.status = ${f.status}` : sql``}
            ${f.type !== undefined ? sql`AND d.type = ${f.type}` : sql``}`;
}

/** SQL of outbound webhooks. Every statement filters on tenant_id, except the sweep and retention (system tasks over all tenants). */
export const webhooksRepository = {
  /**
   * Erasure: every mention of the person's ids in the tenant's messages (a JSON string value equal to one of them,
   * wherever it stands in the payload) becomes "[erased]", and kept response bodies that quote one are dropped.
   */
  async eraseMentions(q: Q, tenantId: string, ids: readonly string[]): Promise<void> {
    for (const id of new Set(ids.filter((x) => x.length > 0))) {
      await q.execute(
        sql`UPDATE webhook_messages SET payload = replace(payload::text, to_jsonb(${id}::text)::text, '"[erased]"')::jsonb
            WHERE tenant_id = ${tenantId} AND strpos(payload::text, to_jsonb(${id}::text)::text) > 0`,
      );
      await q.execute(
        sql`UPDATE webhook_delivery_attempts SET response_body = NULL WHERE tenant_id = ${tenantId} AND strpos(response_body, ${id}) > 0`,
      );
    }
  },
  insertEndpoint: (
    q: Q,
    tenantId: string,
    e: { id: string; url: string; description: string; eventTypes: string[]; secret: string },
  ): Promise<EndpointRow | undefined> =>
    queryOne<EndpointRow>(
      q,
      sql`INSERT INTO webhook_endpoints (tenant_id, id, url, description, event_types, secret)
          VALUES (${tenantId}, ${e.id}, ${e.url}, ${e.description}, ${JSON.stringify(e.eventTypes)}::jsonb, ${e.secret})
          ON CONFLICT (tenant_id, url) DO NOTHING RETURNING ${ENDPOINT}`,
    ),

  listEndpoints: (q: Q, tenantId: string): Promise<EndpointRow[]> =>
    queryRows<EndpointRow>(q, sql`SELECT ${ENDPOINT} FROM webhook_endpoints WHERE tenant_id = ${tenantId} ORDER BY created_at, id`),

  endpoint: (q: Q, tenantId: string, id: string): Promise<EndpointSecrets | undefined> =>
    queryOne<EndpointSecrets>(
      q,
      sql`SELECT ${ENDPOINT}, secret, previous_secret AS "previousSecret" FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${id}`,
    ),

  /** Every endpoint's sealed secrets (start-up re-sealing after a key rotation: a system task over all tenants). */
  allSecrets: (q: Q) =>
    queryRows<{ tenantId: string; id: string; secret: string; previousSecret: string | null }>(
      q,
      sql`SELECT tenant_id AS "tenantId", id, secret, previous_secret AS "previousSecret" FROM webhook_endpoints`,
    ),

  updateSecrets: (q: Q, tenantId: string, id: string, s: { secret: string; previousSecret: string | null }) =>
    q.execute(
      sql`UPDATE webhook_endpoints SET secret = ${s.secret}, previous_secret = ${s.previousSecret} WHERE tenant_id = ${tenantId} AND id = ${id}`,
    ),

  /** These endpoints with their sealed secrets (a delivery batch's). */
  endpointsIn: (q: Q, tenantId: string, ids: readonly string[]): Promise<EndpointSecrets[]> =>
    queryRows<EndpointSecrets>(
      q,
      sql`SELECT ${ENDPOINT}, secret, previous_secret AS "previousSecret" FROM webhook_endpoints
          WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(ids)}::uuid[])`,
    ),

  /** The enabled endpoints of a tenant (publish matches their event types). */
  enabledEndpoints: (q: Q, tenantId: string): Promise<{ id: string; eventTypes: string[] }[]> =>
    queryRows(q, sql`SELECT id, event_types AS "eventTypes" FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND enabled`),

  /** Applies the given fields; re-enabling clears the failure streak and the reason. Undefined when absent; null on a URL clash. */
  async updateEndpoint(
    q: Q,
    tenantId: string,
    id: string,
    f: { url?: string | undefined; description?: string | undefined; eventTypes?: string[] | undefined; enabled?: boolean | undefined },
  ): Promise<EndpointRow | undefined | null> {
    const sets = [sql`updated_at = now()`];
    if (f.url !== undefined) sets.push(sql`url = ${f.url}`);
    if (f.description !== undefined) sets.push(sql`description = ${f.description}`);
    if (f.eventTypes !== undefined) sets.push(sql`event_types = ${JSON.stringify(f.eventTypes)}::jsonb`);
    if (f.enabled !== undefined) {
      sets.push(sql`enabled = ${f.enabled}`, sql`disabled_reason = NULL`);
      if (f.enabled) sets.push(sql`failing_since = NULL`);
    }
    try {
      return await queryOne<EndpointRow>(
        q,
        sql`UPDATE webhook_endpoints SET ${sql.join(sets, sql`, `)} WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${ENDPOINT}`,
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505' || /webhook_endpoints_url_key/.test(String(err))) return null;
      throw err;
    }
  },

  rotateSecret: (q: Q, tenantId: string, id: string, s: { secret: string; previousSecret: string; graceSeconds: number }) =>
    queryOne<EndpointRow>(
      q,
      sql`UPDATE webhook_endpoints SET secret = ${s.secret}, previous_secret = ${s.previousSecret},
            previous_secret_expires_at = now() + make_interval(secs => ${s.graceSeconds}), updated_at = now()
          WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${ENDPOINT}`,
    ),

  /** Deletes an endpoint with its deliveries and their log. True when it existed. */
  async deleteEndpoint(q: Q, tenantId: string, id: string): Promise<boolean> {
    await q.execute(sql`DELETE FROM webhook_delivery_attempts WHERE tenant_id = ${tenantId} AND endpoint_id = ${id}`);
    await q.execute(sql`DELETE FROM webhook_outbound_deliveries WHERE tenant_id = ${tenantId} AND endpoint_id = ${id}`);
    const r = await queryOne<{ id: string }>(
      q,
      sql`DELETE FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
    );
    return r !== undefined;
  },

  /** After an attempt: a success ends the failure streak; a failure starts it (if not started) and may disable the endpoint. */
  endpointOutcome: (q: Q, tenantId: string, id: string, o: { ok: boolean; disableReason: string | null }) =>
    q.execute(
      sql`UPDATE webhook_endpoints SET
            failing_since = CASE WHEN ${o.ok} THEN NULL ELSE coalesce(failing_since, now()) END,
            enabled = CASE WHEN ${o.disableReason}::text IS NOT NULL THEN false ELSE enabled END,
            disabled_reason = coalesce(${o.disableReason}::text, disabled_reason)
          WHERE tenant_id = ${tenantId} AND id = ${id}`,
    ),

  /** Writes messages to the outbox; those whose idempotency key exists already are skipped. Returns the new ones. */
  async insertMessages(
    q: Q,
    tenantId: string,
    messages: readonly { type: string; payload: unknown; idempotencyKey: string }[],
  ): Promise<{ id: string; type: string }[]> {
    if (!messages.length) return [];
    return queryRows(
      q,
      sql`INSERT INTO webhook_messages (tenant_id, id, type, payload, idempotency_key)
          SELECT ${tenantId}::uuid, m.id, m.type, m.payload::jsonb, m.key
          FROM unnest(${arrayParam(messages.map(() => newId()))}::uuid[], ${arrayParam(messages.map((m) => m.type))}::text[],
                      ${arrayParam(messages.map((m) => JSON.stringify(m.payload)))}::text[], ${arrayParam(messages.map((m) => m.idempotencyKey))}::text[])
               AS m(id, type, payload, key)
          ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
          RETURNING id, type`,
    );
  },

  /** One delivery per (message, endpoint) pair, due now. */
  async insertDeliveries(
    q: Q,
    tenantId: string,
    pairs: readonly { messageId: string; endpointId: string; type: string }[],
  ): Promise<{ id: string }[]> {
    if (!pairs.length) return [];
    return queryRows(
      q,
      sql`INSERT INTO webhook_outbound_deliveries (tenant_id, id, message_id, endpoint_id, type, next_attempt_at)
          SELECT ${tenantId}::uuid, p.id, p.message_id, p.endpoint_id, p.type, now()
          FROM unnest(${arrayParam(pairs.map(() => newId()))}::uuid[], ${arrayParam(pairs.map((p) => p.messageId))}::uuid[],
                      ${arrayParam(pairs.map((p) => p.endpointId))}::uuid[], ${arrayParam(pairs.map((p) => p.type))}::text[])
               AS p(id, message_id, endpoint_id, type)
          ON CONFLICT (tenant_id, message_id, endpoint_id) DO NOTHING
          RETURNING id`,
    );
  },

  messagesIn: (q: Q, tenantId: string, ids: readonly string[]): Promise<MessageRow[]> =>
    queryRows<MessageRow>(
      q,
      sql`SELECT id, type, payload, created_at AS "createdAt" FROM webhook_messages WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(ids)}::uuid[])`,
    ),

  /**
   * Takes up to `limit` due deliveries of a tenant for one attempt each (pending and due, or sends whose process died),
   * oldest due first. SKIP LOCKED and the status change make each one taken by one caller only.
   */
  claimDue: (q: Q, tenantId: string, limit: number): Promise<DeliveryRow[]> =>
    queryRows<DeliveryRow>(
      q,
      // The CTE runs once (a LIMIT inside `id IN (...)` of an UPDATE is not guaranteed to be evaluated once).
      sql`WITH picked AS (
            SELECT id FROM webhook_outbound_deliveries
            WHERE tenant_id = ${tenantId}
              AND ((status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND updated_at < now() - ${STALE_SEND}))
            ORDER BY next_attempt_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          UPDATE webhook_outbound_deliveries d SET status = 'sending', attempts = d.attempts + 1, updated_at = now()
          FROM picked WHERE d.tenant_id = ${tenantId} AND d.id = picked.id
          RETURNING ${DELIVERY}`,
    ),

  /** When the tenant's next pending delivery is due (null when none is pending). */
  nextDue: async (q: Q, tenantId: string): Promise<Date | null> =>
    (
      await queryOne<{ at: Date | null }>(
        q,
        sql`SELECT min(next_attempt_at) AS at FROM webhook_outbound_deliveries WHERE tenant_id = ${tenantId} AND status = 'pending'`,
      )
    )?.at ?? null,

  recordAttempt: (
    q: Q,
    tenantId: string,
    a: {
      deliveryId: string;
      endpointId: string;
      attempt: number;
      ok: boolean;
      statusCode: number | null;
      latencyMs: number;
      error: string | null;
      responseBody: string | null;
    },
  ) =>
    q.execute(
      sql`INSERT INTO webhook_delivery_attempts (tenant_id, id, delivery_id, endpoint_id, attempt, ok, status_code, latency_ms, error, response_body)
          VALUES (${tenantId}, ${newId()}, ${a.deliveryId}, ${a.endpointId}, ${a.attempt}, ${a.ok}, ${a.statusCode}, ${a.latencyMs}, ${a.error}, ${a.responseBody})`,
    ),

  /** Ends an attempt: succeeded, failed for good, or pending again after `retryInMs`. Returns the next due time. */
  finish: (
    q: Q,
    tenantId: string,
    id: string,
    o: { status: DeliveryStatus; retryInMs: number | null; statusCode: number | null; error: string | null; latencyMs: number },
  ) =>
    queryOne<{ nextAttemptAt: Date | null }>(
      q,
      sql`UPDATE webhook_outbound_deliveries SET status = ${o.status}, updated_at = now(),
            next_attempt_at = CASE WHEN ${o.retryInMs}::int IS NULL THEN NULL ELSE now() + make_interval(secs => ${o.retryInMs}::int / 1000.0) END,
            completed_at = CASE WHEN ${o.status} IN ('succeeded', 'failed') THEN now() ELSE NULL END,
            last_status_code = ${o.statusCode}, last_error = ${o.error}, last_latency_ms = ${o.latencyMs}
          WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING next_attempt_at AS "nextAttemptAt"`,
    ),

  /** A finished delivery made due again (redeliver); undefined when it is already pending or sending, or absent. */
  requeue: (q: Q, tenantId: string, id: string) =>
    queryOne<DeliveryRow>(
      q,
      sql`UPDATE webhook_outbound_deliveries d SET status = 'pending', next_attempt_at = now(), completed_at = NULL, updated_at = now()
          WHERE tenant_id = ${tenantId} AND id = ${id} AND status IN ('succeeded', 'failed') RETURNING ${DELIVERY}`,
    ),

  delivery: (q: Q, tenantId: string, id: string): Promise<DeliveryRow | undefined> =>
    queryOne<DeliveryRow>(q, sql`SELECT ${DELIVERY} FROM webhook_outbound_deliveries d WHERE d.tenant_id = ${tenantId} AND d.id = ${id}`),

  listDeliveries: (
    q: Q,
    tenantId: string,
    f: DeliveryFilter & { before?: string | undefined; sort?: DeliverySort | undefined; offset?: number | undefined; limit: number },
  ): Promise<DeliveryRow[]> =>
    queryRows<DeliveryRow>(
      q,
      sql`SELECT ${DELIVERY} FROM webhook_outbound_deliveries d WHERE ${deliveryWhere(tenantId, f)}
            ${f.before !== undefined ? sql`AND d.id < ${f.before}` : sql``}
          ORDER BY ${f.sort ? DELIVERY_ORDER_BY[f.sort] : sql`d.id DESC`} LIMIT ${f.limit} OFFSET ${f.offset ?? 0}`,
    ),

  /** How many deliveries match the filter (a paged table's total). */
  countDeliveries: async (q: Q, tenantId: string, f: DeliveryFilter): Promise<number> =>
    (
      await queryOne<{ n: number }>(
        q,
        sql`SELECT count(*)::int AS n FROM webhook_outbound_deliveries d WHERE ${deliveryWhere(tenantId, f)}`,
      )
    )?.n ?? 0,

  attempts: (q: Q, tenantId: string, deliveryId: string): Promise<AttemptRow[]> =>
    queryRows<AttemptRow>(
      q,
      sql`SELECT id, attempt, ok, status_code AS "statusCode", latency_ms AS "latencyMs", error, response_body AS "responseBody",
            attempted_at AS "attemptedAt"
          FROM webhook_delivery_attempts WHERE tenant_id = ${tenantId} AND delivery_id = ${deliveryId} ORDER BY attempted_at, id`,
    ),

  /** Per UTC day of the last `days`: attempts, successes, mean and 95th-percentile latency (the dashboard's chart). */
  stats: (q: Q, tenantId: string, days: number, endpointId?: string) =>
    queryRows<{ day: string; attempts: number; succeeded: number; avgLatencyMs: number | null; p95LatencyMs: number | null }>(
      q,
      sql`SELECT to_char(date_trunc('day', attempted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::int AS attempts,
            count(*) FILTER (WHERE ok)::int AS succeeded, avg(latency_ms)::float8 AS "avgLatencyMs",
            percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::float8 AS "p95LatencyMs"
          FROM webhook_delivery_attempts
          WHERE tenant_id = ${tenantId} AND attempted_at >= now() - make_interval(days => ${days})
            ${endpointId !== undefined ? sql`AND endpoint_id = ${endpointId}` : sql``}
          GROUP BY 1 ORDER BY 1`,
    ),

  /**
   * Retention (a system task over all tenants): deletes up to `limit` deliveries finished (succeeded or failed)
   * before `before`, with their attempts, in one statement. Rows another statement holds (a redelivery) are
   * skipped; a delivery redelivered meanwhile is no longer finished and stays.
   */
  purgeDeliveries: async (q: Q, before: Date, limit: number): Promise<{ deliveries: number; attempts: number }> =>
    (await queryOne<{ deliveries: number; attempts: number }>(
      q,
      sql`WITH picked AS (
            SELECT tenant_id, id FROM webhook_outbound_deliveries
            WHERE status IN ('succeeded', 'failed') AND completed_at < ${before.toISOString()}::timestamptz
            LIMIT ${limit} FOR UPDATE SKIP LOCKED),
          gone AS (
            DELETE FROM webhook_outbound_deliveries d USING picked
            WHERE d.tenant_id = picked.tenant_id AND d.id = picked.id AND d.status IN ('succeeded', 'failed')
            RETURNING d.tenant_id, d.id),
          log AS (
            DELETE FROM webhook_delivery_attempts a USING gone
            WHERE a.tenant_id = gone.tenant_id AND a.delivery_id = gone.id RETURNING 1)
          SELECT (SELECT count(*) FROM gone)::int AS deliveries, (SELECT count(*) FROM log)::int AS attempts`,
    )) ?? { deliveries: 0, attempts: 0 },

  /**
   * Retention: deletes up to `limit` messages published before `before` that no delivery refers to any more (a
   * message with a pending, sending or recent delivery stays). Returns how many.
   */
  purgeMessages: async (q: Q, before: Date, limit: number): Promise<number> =>
    (
      await queryOne<{ n: number }>(
        q,
        sql`WITH picked AS (
            SELECT m.tenant_id, m.id FROM webhook_messages m
            WHERE m.created_at < ${before.toISOString()}::timestamptz
              AND NOT EXISTS (SELECT 1 FROM webhook_outbound_deliveries d WHERE d.tenant_id = m.tenant_id AND d.message_id = m.id)
            LIMIT ${limit} FOR UPDATE SKIP LOCKED),
          gone AS (
            DELETE FROM webhook_messages m USING picked WHERE m.tenant_id = picked.tenant_id AND m.id = picked.id RETURNING 1)
          SELECT count(*)::int AS n FROM gone`,
      )
    )?.n ?? 0,

  /**
   * Tenants with due deliveries (pending and due, or sends whose process died): the sweep wakes their delivery job,
   * so an outbox row written before a crash, or a wake-up lost to a full queue, is still delivered.
   */
  tenantsWithDue: async (q: Q, limit: number): Promise<string[]> =>
    (
      await queryRows<{ tenantId: string }>(
        q,
        sql`SELECT DISTINCT tenant_id AS "tenantId" FROM webhook_outbound_deliveries
            WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND updated_at < now() - ${STALE_SEND})
            LIMIT ${limit}`,
      )
    ).map((r) => r.tenantId),
};
