/**
 * A local server that speaks the part of Stripe's HTTP API Loupe uses, so tests drive the official `stripe`
 * package (`new Stripe(key, stripeServer.clientOptions)`) end to end without the network:
 *
 * - PaymentIntents: create (optionally `confirm=true`), retrieve, confirm, capture (`amount_to_capture`), cancel;
 *   `capture_method` automatic or manual; statuses as Stripe names them.
 * - Refunds: create against a PaymentIntent (`amount` optional), refused past what was captured.
 * - `Idempotency-Key` with Stripe's semantics: the first response is replayed for the same key and body; the
 *   same key with different parameters is a 400 `idempotency_error`.
 * - Test payment methods: `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined (402 `card_declined`).
 * - Webhooks: every state change posts an Event to the registered endpoints, signed with Stripe's scheme
 *   (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>" under the endpoint secret>`), which the
 *   official `stripe.webhooks.constructEvent` verifies. `resend(eventId, times)` redelivers one event (duplicates
 *   are what at-least-once delivery looks like).
 *
 * Reusable by billing work: add resources beside `paymentIntents` and `refunds`. Not a full emulator: no
 * customers, no SetupIntents, no 3-D Secure.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

export interface PaymentIntentRecord {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_capture' | 'succeeded' | 'canceled';
  capture_method: 'automatic' | 'manual';
  payment_method: string | null;
  metadata: Record<string, string>;
  created: number;
  last_payment_error: { code: string; message: string } | null;
  cancellation_reason: string | null;
  livemode: false;
}

interface RefundRecord {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  status: 'succeeded';
  metadata: Record<string, string>;
  created: number;
}

interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  api_version: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  data: { object: Json };
}

export interface StripeWebhookEndpoint {
  url: string;
  secret: string;
}

/** Counters tests assert on: how many of each operation really happened (replays excluded). */
export interface StripeServerCounters {
  created: number;
  confirmed: number;
  captured: number;
  canceled: number;
  refunded: number;
  idempotentReplays: number;
}

export interface StripeTestServer {
  /** Options for `new Stripe(key, options)`: host, port, protocol pointing here. */
  readonly clientOptions: { host: string; port: number; protocol: 'http'; maxNetworkRetries: number };
  readonly url: string;
  readonly counters: StripeServerCounters;
  readonly paymentIntents: ReadonlyMap<string, PaymentIntentRecord>;
  readonly events: readonly StripeEvent[];
  /** Registers a webhook endpoint and returns its signing secret (`whsec_...`). */
  addWebhookEndpoint(url: string): string;
  /** Delivers an already-sent event again `times` times, concurrently; resolves with the HTTP statuses. */
  resend(eventId: string, times?: number): Promise<number[]>;
  /** Waits until every webhook delivery started so far has finished. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Signs `payload` as Stripe does for webhook endpoint `secret` at unix time `t`. */
export function stripeSignatureHeader(payload: string, secret: string, t = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${payload}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Parses Stripe's form encoding (`metadata[order_id]=x&amount=100`) into nested objects. */
function parseForm(body: string): Json {
  const out: Json = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      node = node[k] as Json;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | undefined,
    message: string,
    readonly extra: Json = {},
  ) {
    super(message);
  }
}

export async function startStripeServer(): Promise<StripeTestServer> {
  const intents = new Map<string, PaymentIntentRecord>();
  const refunds = new Map<string, RefundRecord>();
  const events: StripeEvent[] = [];
  const endpoints: StripeWebhookEndpoint[] = [];
  const idempotency = new Map<string, { params: string; status: number; body: string }>();
  const counters: StripeServerCounters = { created: 0, confirmed: 0, captured: 0, canceled: 0, refunded: 0, idempotentReplays: 0 };
  const inFlight = new Set<Promise<unknown>>();

  async function deliver(event: StripeEvent): Promise<number[]> {
    const payload = JSON.stringify(event, null, 2);
    return Promise.all(
      endpoints.map(async (e) => {
        try {
          const res = await fetch(e.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(payload, e.secret) },
            body: payload,
          });
          await res.arrayBuffer();
          return res.status;
        } catch {
          return 0;
        }
      }),
    );
  }

  function emit(type: string, object: Json): void {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      type,
      api_version: '2025-01-27',
      created: now(),
      livemode: false,
      pending_webhooks: endpoints.length,
      data: { object: structuredClone(object) },
    };
    events.push(event);
    const p = deliver(event);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  function intent(id: string): PaymentIntentRecord {
    const pi = intents.get(id);
    if (!pi) throw new StripeApiError(404, 'invalid_request_error', 'resource_missing', `No such payment_intent: '${id}'`);
    return pi;
  }

  function confirm(pi: PaymentIntentRecord, paymentMethod: string | undefined): void {
    if (paymentMethod) pi.payment_method = paymentMethod;
    if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation')
      throw new StripeApiError(
        400,
        'invalid_request_error',
        'payment_intent_unexpected_state',
        `This PaymentIntent's status is ${pi.status}; it cannot be confirmed.`,
      );
    if (!pi.payment_method)
      throw new StripeApiError(400, 'invalid_request_error', 'payment_intent_unexpected_state', 'You must provide a payment method.');
    counters.confirmed++;
    if (pi.payment_method === 'pm_card_chargeDeclined') {
      pi.status = 'requires_payment_method';
      pi.last_payment_error = { code: 'card_declined', message: 'Your card was declined.' };
      emit('payment_intent.payment_failed', pi as unknown as Json);
      throw new StripeApiError(402, 'card_error', 'card_declined', 'Your card was declined.', {
        decline_code: 'generic_decline',
        payment_intent: pi,
      });
    }
    pi.last_payment_error = null;
    if (pi.capture_method === 'manual') {
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      emit('payment_intent.amount_capturable_updated', pi as unknown as Json);
    } else {
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      counters.captured++;
      emit('payment_intent.succeeded', pi as unknown as Json);
    }
  }

  function handle(method: string, path: string, params: Json): { status: number; body: Json } {
    const parts = path.split('/').filter(Boolean); // v1, resource, id, action
    if (parts[0] !== 'v1')
      throw new StripeApiError(404, 'invalid_request_error', undefined, `Unrecognized request URL (${method}: ${path}).`);
    const [, resource, id, action] = parts;
    if (resource === 'payment_intents') {
      if (method === 'POST' && !id) {
        const amount = Number(params.amount);
        if (!Number.isInteger(amount) || amount < 1)
          throw new StripeApiError(400, 'invalid_request_error', 'parameter_invalid_integer', 'Invalid integer: amount', {
            param: 'amount',
          });
        if (typeof params.currency !== 'string' || !/^[a-z]{3}$/i.test(params.currency))
          throw new StripeApiError(400, 'invalid_request_error', 'parameter_missing', 'Missing required param: currency.', {
            param: 'currency',
          });
        const pi: PaymentIntentRecord = {
          id: newId('pi'),
          object: 'payment_intent',
          amount,
          amount_capturable: 0,
          amount_received: 0,
          currency: params.currency.toLowerCase(),
          status: params.payment_method ? 'requires_confirmation' : 'requires_payment_method',
          capture_method: params.capture_method === 'manual' ? 'manual' : 'automatic',
          payment_method: typeof params.payment_method === 'string' ? params.payment_method : null,
          metadata: (params.metadata as Record<string, string> | undefined) ?? {},
          created: now(),
          last_payment_error: null,
          cancellation_reason: null,
          livemode: false,
        };
        intents.set(pi.id, pi);
        counters.created++;
        emit('payment_intent.created', pi as unknown as Json);
        if (params.confirm === 'true') confirm(pi, undefined);
        return { status: 200, body: pi as unknown as Json };
      }
      if (!id) throw new StripeApiError(404, 'invalid_request_error', undefined, 'Unrecognized request URL.');
      const pi = intent(id);
      if (method === 'GET' && !action) return { status: 200, body: pi as unknown as Json };
      if (method === 'POST' && action === 'confirm') {
        confirm(pi, typeof params.payment_method === 'string' ? params.payment_method : undefined);
        return { status: 200, body: pi as unknown as Json };
      }
      if (method === 'POST' && action === 'capture') {
        if (pi.status !== 'requires_capture')
          throw new StripeApiError(
            400,
            'invalid_request_error',
            'payment_intent_unexpected_state',
            `This PaymentIntent could not be captured because it has a status of ${pi.status}.`,
          );
        const amount = params.amount_to_capture === undefined ? pi.amount_capturable : Number(params.amount_to_capture);
        if (!Number.isInteger(amount) || amount < 1 || amount > pi.amount_capturable)
          throw new StripeApiError(
            400,
            'invalid_request_error',
            'amount_too_large',
            'The amount to capture exceeds the capturable amount.',
          );
        pi.amount_received = amount;
        pi.amount_capturable = 0;
        pi.status = 'succeeded';
        counters.captured++;
        emit('payment_intent.succeeded', pi as unknown as Json);
        return { status: 200, body: pi as unknown as Json };
      }
      if (method === 'POST' && action === 'cancel') {
        if (pi.status === 'succeeded' || pi.status === 'canceled')
          throw new StripeApiError(
            400,
            'invalid_request_error',
            'payment_intent_unexpected_state',
            `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`,
          );
        pi.status = 'canceled';
        pi.amount_capturable = 0;
        pi.cancellation_reason = typeof params.cancellation_reason === 'string' ? params.cancellation_reason : null;
        counters.canceled++;
        emit('payment_intent.canceled', pi as unknown as Json);
        return { status: 200, body: pi as unknown as Json };
      }
    }
    if (resource === 'refunds' && method === 'POST' && !id) {
      const pi = intent(String(params.payment_intent ?? ''));
      const refunded = [...refunds.values()].filter((r) => r.payment_intent === pi.id).reduce((a, r) => a + r.amount, 0);
      const left = pi.amount_received - refunded;
      const amount = params.amount === undefined ? left : Number(params.amount);
      if (pi.status !== 'succeeded')
        throw new StripeApiError(
          400,
          'invalid_request_error',
          'charge_not_captured',
          'This PaymentIntent has no captured charge to refund.',
        );
      if (!Number.isInteger(amount) || amount < 1 || amount > left)
        throw new StripeApiError(
          400,
          'invalid_request_error',
          'amount_too_large',
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${left}).`,
        );
      const refund: RefundRecord = {
        id: newId('re'),
        object: 'refund',
        amount,
        currency: pi.currency,
        payment_intent: pi.id,
        status: 'succeeded',
        metadata: (params.metadata as Record<string, string> | undefined) ?? {},
        created: now(),
      };
      refunds.set(refund.id, refund);
      counters.refunded++;
      emit('refund.created', refund as unknown as Json);
      return { status: 200, body: refund as unknown as Json };
    }
    throw new StripeApiError(404, 'invalid_request_error', undefined, `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', 'http://localhost');
      const params = method === 'GET' ? parseForm(url.search.slice(1)) : parseForm(raw);
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
        res.end(body);
      };
      if (!String(req.headers.authorization ?? '').startsWith('Bearer sk_test_')) {
        send(401, JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } }));
        return;
      }
      const key = method === 'POST' ? req.headers['idempotency-key'] : undefined;
      const fingerprint = `${method} ${url.pathname} ${raw}`;
      if (typeof key === 'string') {
        const seen = idempotency.get(key);
        if (seen) {
          if (seen.params !== fingerprint) {
            send(
              400,
              JSON.stringify({
                error: {
                  type: 'idempotency_error',
                  message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
                },
              }),
            );
            return;
          }
          counters.idempotentReplays++;
          res.setHeader('idempotent-replayed', 'true');
          send(seen.status, seen.body);
          return;
        }
      }
      let status: number;
      let body: string;
      try {
        const out = handle(method, url.pathname, params);
        status = out.status;
        body = JSON.stringify(out.body);
      } catch (err) {
        if (!(err instanceof StripeApiError)) throw err;
        status = err.status;
        body = JSON.stringify({ error: { type: err.type, code: err.code, message: err.message, ...err.extra } });
      }
      // Stripe stores the result of every request that reached execution, errors included (not 5xx).
      if (typeof key === 'string' && status < 500) idempotency.set(key, { params: fingerprint, status, body });
      send(status, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    clientOptions: { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 },
    url: `http://127.0.0.1:${port}`,
    counters,
    paymentIntents: intents,
    events,
    addWebhookEndpoint(url: string): string {
      const secret = `whsec_${randomBytes(24).toString('hex')}`;
      endpoints.push({ url, secret });
      return secret;
    },
    async resend(eventId: string, times = 1): Promise<number[]> {
      const event = events.find((e) => e.id === eventId);
      if (!event) throw new Error(`no event ${eventId}`);
      const all = await Promise.all(Array.from({ length: times }, () => deliver(event)));
      return all.flat();
    },
    async drain(): Promise<void> {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
