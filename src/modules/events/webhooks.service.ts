import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, afterCommitQueue, type Db } from '../../platform/index.ts';
import type { IdentityApi } from '../identity/index.ts';
import type { MappedDelivery } from './connectors/connector.types.ts';
import { verifyHmacSha256Base64, verifyStripe, verifyTwilio, type Verification } from './connectors/signatures.core.ts';
import { mapShopify } from './connectors/shopify.core.ts';
import { mapStripe, stripeEnvelope } from './connectors/stripe.core.ts';
import { mapTwilio, twilioDeliveryId } from './connectors/twilio.core.ts';
import { mapWooCommerce } from './connectors/woocommerce.core.ts';
import { parseJsonLossless, scrubValue, scrubVendorEvents } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import type { ConnectionRow, IntegrationsRepository, NewDelivery } from './integrations.repository.ts';

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The full public URL the vendor called (Twilio signs it). */
  url: string;
}

export interface WebhookAnswer {
  status: 'processed' | 'duplicate' | 'ignored';
  delivery_id: string | null;
  events_written: number;
}

export interface WebhooksServiceDeps {
  db: Db;
  repo: IntegrationsRepository;
  ingest: IngestService;
  identity: Pick<IdentityApi, 'resolveMany'>;
  clock: () => Date;
  log: FastifyBaseLogger;
  /** Whether a tenant may take data in (false when suspended or gone): tenancy's answer, wired in src/app.ts. */
  tenantActive: (tenantId: string) => Promise<boolean>;
}

/**
 * Seconds a vendor should wait before retrying a suspended tenant's delivery. Suspension stops processing
 * but does not lose the shop's facts: Shopify retries for 48 hours and Stripe for 3 days, so a tenant
 * re-activated within that window receives them.
 */
const SUSPENDED_RETRY_AFTER_SECONDS = 3600;

const header = (h: WebhookRequest['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const SIGNATURE_MESSAGES: Record<Exclude<Verification, { ok: true }>['reason'], string> = {
  missing_signature: 'The webhook carries no signature header.',
  malformed_signature: 'The webhook signature header is malformed.',
  bad_signature: 'The webhook signature does not match this connection’s secret and the request body.',
  stale_timestamp: 'The webhook’s signed timestamp is outside the 5-minute tolerance (a replay, or a clock far off).',
};

/** A verified, parsed delivery, ready to map. */
interface Parsed {
  topic: string | null;
  deliveryId: string | null;
  map(now: Date): MappedDelivery;
}

/**
 * Receives one vendor webhook for a connection: verify the signature over the raw bytes, parse, dedupe on
 * the vendor's delivery id, map (pure, per vendor), resolve identities, then write the delivery record and
 * its events in ONE transaction, so a delivery is either fully stored (and later replays are duplicates) or
 * not at all (and the vendor's retry succeeds). Every outcome is logged in the delivery log.
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const log = (c: ConnectionRow, d: Omit<NewDelivery, 'connectionId'>) =>
    deps.repo.logDelivery(deps.db, c.tenantId, { ...d, connectionId: c.id });

  type Failure = Exclude<Verification, { ok: true }>;
  function verifyAndParse(c: ConnectionRow, secret: string, req: WebhookRequest, now: Date): Failure | (Parsed & { ok: true }) {
    const h = req.headers;
    const json = () => parseJsonLossless(req.rawBody.toString('utf8'));
    switch (c.type) {
      case 'shopify': {
        const v = verifyHmacSha256Base64(secret, req.rawBody, header(h, 'x-shopify-hmac-sha256'));
        if (!v.ok) return v as Failure;
        const topic = header(h, 'x-shopify-topic') ?? null;
        const body = json();
        return {
          ok: true,
          topic,
          deliveryId: header(h, 'x-shopify-webhook-id') ?? header(h, 'x-shopify-event-id') ?? null,
          map: (n) => mapShopify(topic ?? '', body, n),
        };
      }
      case 'woocommerce': {
        const sig = header(h, 'x-wc-webhook-signature');
        // WooCommerce pings a new webhook with an unsigned form body `webhook_id=N`: acknowledge, write nothing.
        if (!sig && /^webhook_id=\d+$/.test(req.rawBody.toString('utf8').trim())) {
          return { ok: true, topic: 'ping', deliveryId: null, map: () => ({ events: [], profiles: [], ignored: 'ping' }) };
        }
        const v = verifyHmacSha256Base64(secret, req.rawBody, sig);
        if (!v.ok) return v as Failure;
        const topic = header(h, 'x-wc-webhook-topic') ?? null;
        const body = json();
        return {
          ok: true,
          topic,
          deliveryId: header(h, 'x-wc-webhook-delivery-id') ?? null,
          map: (n) => mapWooCommerce(topic ?? '', body, n),
        };
      }
      case 'stripe': {
        const v = verifyStripe(secret, req.rawBody, header(h, 'stripe-signature'), now);
        if (!v.ok) return v as Failure;
        const body = json();
        const env = stripeEnvelope(body);
        return { ok: true, topic: env.type, deliveryId: env.id, map: (n) => mapStripe(body, n) };
      }
      case 'twilio': {
        const params = new URLSearchParams(req.rawBody.toString('utf8'));
        const v = verifyTwilio(secret, req.url, params, header(h, 'x-twilio-signature'));
        if (!v.ok) return v as Failure;
        const expectedAccount = typeof c.settings.account_sid === 'string' ? c.settings.account_sid : null;
        if (expectedAccount && params.get('AccountSid') !== expectedAccount) return { ok: false, reason: 'bad_signature' };
        const topic = params.has('MessageStatus') ? 'message.status' : 'message.inbound';
        return {
          ok: true,
          topic,
          deliveryId: header(h, 'i-twilio-idempotency-token') ?? twilioDeliveryId(params),
          map: (n) => mapTwilio(params, n),
        };
      }
      default:
        return { ok: false, reason: 'bad_signature' };
    }
  }

  async function receive(c: ConnectionRow, req: WebhookRequest): Promise<WebhookAnswer> {
    const now = deps.clock();
    const bodySha256 = createHash('sha256').update(req.rawBody).digest('hex');
    const base = { bodySha256, bodyBytes: req.rawBody.length };
    if (c.signingSecret === null) {
      // Not the sender's fault: answer 503 so the vendor retries once the operator restores the key.
      await log(c, {
        ...base,
        deliveryId: null,
        dedupeKey: null,
        topic: null,
        status: 'failed',
        reason: 'secret_unreadable',
        httpStatus: 503,
        eventsWritten: 0,
      });
      throw new AppError(
        'unavailable',
        'INTEGRATION_SECRET_UNREADABLE',
        'This connection’s signing secret cannot be decrypted with the server’s key. The operator must restore the key (LOUPE_SECRETS_KEY_PREVIOUS) or set a new secret with PATCH /api/v1/integrations/:id.',
        { retryAfterSeconds: 300 },
      );
    }
    const secret = c.signingSecret;
    let parsed: ReturnType<typeof verifyAndParse>;
    try {
      parsed = verifyAndParse(c, secret, req, now);
    } catch {
      // Signed by the vendor but not JSON: refuse, log; a retry of the same bytes would fail the same way.
      await log(c, {
        ...base,
        deliveryId: null,
        dedupeKey: null,
        topic: null,
        status: 'rejected',
        reason: 'malformed_json',
        httpStatus: 400,
        eventsWritten: 0,
      });
      throw new AppError('validation', 'MALFORMED_JSON', 'The webhook body is not valid JSON.');
    }
    if (!parsed.ok) {
      await log(c, {
        ...base,
        deliveryId: null,
        dedupeKey: null,
        topic: null,
        status: 'rejected',
        reason: parsed.reason,
        httpStatus: 401,
        eventsWritten: 0,
      });
      throw new AppError(
        'unauthenticated',
        parsed.reason === 'stale_timestamp' ? 'WEBHOOK_TIMESTAMP_STALE' : 'WEBHOOK_SIGNATURE_INVALID',
        SIGNATURE_MESSAGES[parsed.reason],
      );
    }
    if (!(await deps.tenantActive(c.tenantId))) {
      // Verified, but the tenant is suspended: nothing is processed. 503 + Retry-After rather than a silent drop, so
      // the vendor keeps the delivery and sends it again; the tenant sees the deferral in its delivery log.
      await log(c, {
        ...base,
        deliveryId: parsed.deliveryId?.slice(0, 200) ?? null,
        dedupeKey: null,
        topic: parsed.topic?.slice(0, 100) ?? null,
        status: 'deferred',
        reason: 'tenant_suspended',
        httpStatus: 503,
        eventsWritten: 0,
      });
      throw new AppError('unavailable', 'TENANT_SUSPENDED', 'This tenant is suspended; the delivery was not processed. Retry later.', {
        retryAfterSeconds: SUSPENDED_RETRY_AFTER_SECONDS,
      });
    }
    const deliveryId = parsed.deliveryId?.slice(0, 200) ?? null;
    // Without a vendor delivery id, the exact bytes are the identity of the delivery.
    const dedupeKey = deliveryId ?? `sha256:${bodySha256}`;
    const entry = { ...base, deliveryId, topic: parsed.topic?.slice(0, 100) ?? null };
    if (await deps.repo.deliveryExists(deps.db, c.tenantId, c.id, dedupeKey)) {
      await log(c, { ...entry, dedupeKey: null, status: 'duplicate', reason: null, httpStatus: 200, eventsWritten: 0 });
      return { status: 'duplicate', delivery_id: deliveryId, events_written: 0 };
    }
    const mapped = parsed.map(now);
    if (!mapped.events.length && !mapped.profiles.length) {
      const fresh = await log(c, {
        ...entry,
        dedupeKey,
        status: 'ignored',
        reason: mapped.ignored ?? 'nothing to record',
        httpStatus: 200,
        eventsWritten: 0,
      });
      return { status: fresh ? 'ignored' : 'duplicate', delivery_id: deliveryId, events_written: 0 };
    }
    try {
      const tenant = { tenantId: c.tenantId };
      const events = await deps.ingest.prepare(tenant, scrubVendorEvents(mapped.events));
      if (mapped.profiles.length) await deps.identity.resolveMany(c.tenantId, scrubValue(mapped.profiles));
      const committed = afterCommitQueue();
      const result = await deps.db.transaction(async (tx) => {
        const fresh = await deps.repo.logDelivery(tx, c.tenantId, {
          ...entry,
          connectionId: c.id,
          dedupeKey,
          status: 'processed',
          reason: null,
          httpStatus: 200,
          eventsWritten: 0,
        });
        if (!fresh) return null; // a concurrent copy of this delivery won the race
        // The delivery record, the events and their profile aggregates commit together.
        const outcomes = await deps.ingest.write(tenant, events, { source: 'webhook', within: tx, afterCommit: committed.add });
        const written = outcomes.filter((o) => o.created).length;
        // The count is known only after the insert; same transaction, same row.
        await deps.repo.setEventsWritten(tx, c.tenantId, c.id, dedupeKey, written);
        return { outcomes, written };
      });
      committed.run(); // the transaction committed: its listeners may run
      if (!result) {
        await log(c, { ...entry, dedupeKey: null, status: 'duplicate', reason: null, httpStatus: 200, eventsWritten: 0 });
        return { status: 'duplicate', delivery_id: deliveryId, events_written: 0 };
      }
      return { status: 'processed', delivery_id: deliveryId, events_written: result.written };
    } catch (err) {
      if (err instanceof AppError && err.kind === 'validation') {
        // An amount out of range in a signed payload: the same bytes fail the same way, so refuse for good.
        await log(c, { ...entry, dedupeKey: null, status: 'rejected', reason: 'event_invalid', httpStatus: 400, eventsWritten: 0 });
        throw err;
      }
      deps.log.error({ err, connectionId: c.id, tenantId: c.tenantId }, 'webhook delivery failed');
      await log(c, { ...entry, dedupeKey: null, status: 'failed', reason: 'internal_error', httpStatus: 500, eventsWritten: 0 }).catch(
        () => undefined,
      );
      throw err;
    }
  }

  return { receive };
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;
