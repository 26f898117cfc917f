/**
 * A local server that speaks the part of Stripe's HTTP API Loupe uses, so tests drive the official `stripe`
 * package (`new Stripe(key, stripeServer.clientOptions)`) end to end without the network:
 *
 * - PaymentIntents: create (optionally `confirm=true`), retrieve, confirm, capture (`amount_to_capture`), cancel;
 *   `capture_method` automatic or manual; statuses as Stripe names them.
 * - Refunds: create against a PaymentIntent (`amount` optional), refused past what was captured; each refund
 *   emits `refund.created` and `charge.refunded` (the Charge with its cumulative `amount_refunded`), as Stripe
 *   does for API and Dashboard refunds alike. `refundFromDashboard` is a refund made in Stripe's Dashboard.
 * - `Idempotency-Key` with Stripe's semantics: the first response is replayed for the same key and body; the
 *   same key with different parameters is a 400 `idempotency_error`.
 * - Test payment methods: `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined (402 `card_declined`).
 * - Webhooks: every state change posts an Event to the registered endpoints, signed with Stripe's scheme
 *   (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>" under the endpoint secret>`), which the
 *   official `stripe.webhooks.constructEvent` verifies. `resend(eventId, times)` redelivers one event (duplicates
 *   are what at-least-once delivery looks like).
 *
 * - Billing: Checkout Sessions in `subscription` mode (create, retrieve; `line_items[0][price]` must be a price
 *   added with `addPrice`), and what the hosted page would do when a customer pays (`completeCheckout`: a
 *   customer and an active subscription, then `checkout.session.completed` and `customer.subscription.created`);
 *   subscriptions (retrieve, update `items[0][id]`+`items[0][price]` (without an id the price is added as a second
 *   item, as Stripe does), `metadata`, `cancel_at_period_end`; a canceled one refuses updates; `DELETE` cancels with
 *   `customer.subscription.deleted`); a renewal that fails (`failRenewal`: `invoice.payment_failed` and the
 *   subscription `past_due`).
 *
 * Not a full emulator: no customer API, no SetupIntents, no 3-D Secure, no proration.
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

/** A Checkout Session as Stripe returns it (the fields Loupe reads). */
interface CheckoutSessionRecord {
  id: string;
  object: 'checkout.session';
  mode: 'subscription' | 'payment';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid';
  url: string | null;
  success_url: string;
  cancel_url: string | null;
  client_reference_id: string | null;
  customer: string | null;
  customer_email: string | null;
  subscription: string | null;
  metadata: Record<string, string>;
  line_items_price: string;
  subscription_metadata: Record<string, string>;
  expires_at: number;
  created: number;
  livemode: false;
}

/** A subscription (one item) as Stripe returns it. */
export interface SubscriptionRecord {
  id: string;
  object: 'subscription';
  customer: string;
  status: 'incomplete' | 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled';
  cancel_at_period_end: boolean;
  current_period_end: number;
  items: {
    object: 'list';
    data: { id: string; price: { id: string; unit_amount: number; currency: string }; current_period_end: number }[];
  };
  metadata: Record<string, string>;
  created: number;
  canceled_at: number | null;
  livemode: false;
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
  readonly checkoutSessions: ReadonlyMap<string, CheckoutSessionRecord>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionRecord>;
  /** Adds a recurring monthly price Checkout Sessions may name. */
  addPrice(id: string, unitAmount: number, currency: string): void;
  /** What Stripe does when the customer pays on the hosted page: the ids of the new customer and subscription. */
  completeCheckout(sessionId: string): { customer: string; subscription: string };
  /** A renewal charge declined: the invoice fails and the subscription becomes `past_due`. */
  failRenewal(subscriptionId: string): void;
  /** A refund made in Stripe's Dashboard (not through the API Loupe calls): `charge.refunded` tells Loupe. */
  refundFromDashboard(paymentIntentId: string, amount?: number): { refundId: string; amountRefunded: number };
  /** Registers a webhook endpoint and returns its signing secret (`whsec_...`). */
  addWebhookEndpoint(url: string): string;
  /** Delivers an already-sent event again `times` times, concurrently; resolves with the HTTP statuses. */
  resend(eventId: string, times?: number): Promise<number[]>;
  /** Waits until every webhook delivery started so far has finished. */
  drain(): Promise<void>;
  /**
   * On: an API request answers only after the webhooks it caused were delivered and answered, so the endpoint has
   * handled `payment_intent.succeeded` before the call that paid returns to its caller (a race Stripe allows).
   */
  webhooksBeforeResponses(on: boolean): void;
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
  /** Deliveries the request being handled caused (collected while `webhooksFirst` is on). */
  let caused: Promise<unknown>[] | null = null;
  let webhooksFirst = false;
  const prices = new Map<string, { unit_amount: number; currency: string }>();
  const sessions = new Map<string, CheckoutSessionRecord>();
  const subscriptions = new Map<string, SubscriptionRecord>();
  const MONTH = 30 * 86_400;
  let baseUrl = '';

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
    caused?.push(p);
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

  function createSession(params: Json): CheckoutSessionRecord {
    if (params.mode !== 'subscription' && params.mode !== 'payment')
      throw new StripeApiError(400, 'invalid_request_error', 'parameter_missing', 'Missing required param: mode.', { param: 'mode' });
    if (typeof params.success_url !== 'string' || !/^https?:\/\//.test(params.success_url))
      throw new StripeApiError(400, 'invalid_request_error', 'url_invalid', 'Not a valid URL', { param: 'success_url' });
    const lines = params.line_items as Record<string, { price?: string; quantity?: string }> | undefined;
    const price = lines?.['0']?.price;
    if (!price || !prices.has(price))
      throw new StripeApiError(400, 'invalid_request_error', 'resource_missing', `No such price: '${price ?? ''}'`, {
        param: 'line_items[0][price]',
      });
    const id = `cs_test_${randomBytes(16).toString('hex')}`;
    const cs: CheckoutSessionRecord = {
      id,
      object: 'checkout.session',
      mode: params.mode,
      status: 'open',
      payment_status: 'unpaid',
      url: `${baseUrl}/c/pay/${id}`,
      success_url: params.success_url,
      cancel_url: typeof params.cancel_url === 'string' ? params.cancel_url : null,
      client_reference_id: typeof params.client_reference_id === 'string' ? params.client_reference_id : null,
      customer: typeof params.customer === 'string' ? params.customer : null,
      customer_email: typeof params.customer_email === 'string' ? params.customer_email : null,
      subscription: null,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      line_items_price: price,
      subscription_metadata: ((params.subscription_data as Json | undefined)?.metadata as Record<string, string> | undefined) ?? {},
      expires_at: now() + 86_400,
      created: now(),
      livemode: false,
    };
    sessions.set(id, cs);
    return cs;
  }

  function handle(method: string, path: string, params: Json): { status: number; body: Json } {
    const parts = path.split('/').filter(Boolean); // v1, resource, id, action
    if (parts[0] !== 'v1')
      throw new StripeApiError(404, 'invalid_request_error', undefined, `Unrecognized request URL (${method}: ${path}).`);
    const [, resource, id, action] = parts;
    if (resource === 'checkout' && id === 'sessions') {
      const sid = action;
      if (method === 'POST' && !sid) return { status: 200, body: createSession(params) as unknown as Json };
      const cs = sid ? sessions.get(sid) : undefined;
      if (method === 'GET' && cs) return { status: 200, body: cs as unknown as Json };
      throw new StripeApiError(404, 'invalid_request_error', 'resource_missing', `No such checkout.session: '${sid ?? ''}'`);
    }
    if (resource === 'subscriptions' && id) {
      const sub = subscriptions.get(id);
      if (!sub) throw new StripeApiError(404, 'invalid_request_error', 'resource_missing', `No such subscription: '${id}'`);
      if (method === 'GET' && !action) return { status: 200, body: sub as unknown as Json };
      if (method === 'DELETE' && !action) {
        if (sub.status === 'canceled')
          throw new StripeApiError(400, 'invalid_request_error', 'resource_missing', `No such subscription: '${id}'`);
        sub.status = 'canceled';
        sub.canceled_at = now();
        emit('customer.subscription.deleted', sub as unknown as Json);
        return { status: 200, body: sub as unknown as Json };
      }
      if (method === 'POST' && !action) {
        if (sub.status === 'canceled')
          throw new StripeApiError(
            400,
            'invalid_request_error',
            undefined,
            'A canceled subscription can only update its cancellation_details and metadata.',
          );
        const items = params.items as Record<string, { id?: string; price?: string }> | undefined;
        const item = items?.['0'];
        const newPrice = item?.price;
        if (newPrice !== undefined) {
          const p = prices.get(newPrice);
          if (!p)
            throw new StripeApiError(400, 'invalid_request_error', 'resource_missing', `No such price: '${newPrice}'`, {
              param: 'items[0][price]',
            });
          // As Stripe: an item with an id changes that item's price; an item without one is added beside the others.
          const existing = item?.id ? sub.items.data.find((x) => x.id === item.id) : undefined;
          if (item?.id && !existing)
            throw new StripeApiError(400, 'invalid_request_error', 'resource_missing', `No such subscription item: '${item.id}'`, {
              param: 'items[0][id]',
            });
          if (existing) existing.price = { id: newPrice, ...p };
          else sub.items.data.push({ id: newId('si'), price: { id: newPrice, ...p }, current_period_end: sub.current_period_end });
        }
        if (params.metadata && typeof params.metadata === 'object')
          sub.metadata = { ...sub.metadata, ...(params.metadata as Record<string, string>) };
        if (params.cancel_at_period_end !== undefined) sub.cancel_at_period_end = params.cancel_at_period_end === 'true';
        emit('customer.subscription.updated', sub as unknown as Json);
        return { status: 200, body: sub as unknown as Json };
      }
    }
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
      const refund = createRefund(
        String(params.payment_intent ?? ''),
        params.amount,
        (params.metadata as Record<string, string> | undefined) ?? {},
      );
      return { status: 200, body: refund as unknown as Json };
    }
    throw new StripeApiError(404, 'invalid_request_error', undefined, `Unrecognized request URL (${method}: ${path}).`);
  }

  const refundedOf = (piId: string) => [...refunds.values()].filter((r) => r.payment_intent === piId).reduce((a, r) => a + r.amount, 0);

  /** A refund of a captured PaymentIntent (the API's or the Dashboard's): `refund.created`, then `charge.refunded`. */
  function createRefund(paymentIntentId: string, requested: unknown, metadata: Record<string, string>): RefundRecord {
    {
      const pi = intent(paymentIntentId);
      const left = pi.amount_received - refundedOf(pi.id);
      const amount = requested === undefined ? left : Number(requested);
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
        metadata,
        created: now(),
      };
      refunds.set(refund.id, refund);
      counters.refunded++;
      emit('refund.created', refund as unknown as Json);
      const all = [...refunds.values()].filter((r) => r.payment_intent === pi.id);
      const amountRefunded = refundedOf(pi.id);
      emit('charge.refunded', {
        id: `ch_${pi.id.replace(/^pi_/, '')}`,
        object: 'charge',
        amount: pi.amount_received,
        amount_captured: pi.amount_received,
        amount_refunded: amountRefunded,
        currency: pi.currency,
        payment_intent: pi.id,
        refunded: amountRefunded >= pi.amount_received,
        metadata: pi.metadata,
        refunds: { object: 'list', data: all.reverse() as unknown as Json[], has_more: false },
        livemode: false,
      });
      return refund;
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', 'http://localhost');
      const params = method === 'GET' ? parseForm(url.search.slice(1)) : parseForm(raw);
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
        res.end(body);
      };
      // The hosted payment page a Checkout Session's url opens (a browser, no API key).
      const hosted = /^\/c\/pay\/(cs_test_[0-9a-f]+)$/.exec(url.pathname);
      if (method === 'GET' && hosted) {
        const cs = sessions.get(hosted[1]!);
        res.writeHead(cs ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
        res.end(cs ? `<!doctype html><title>Checkout</title><h1>Pay for ${cs.line_items_price}</h1>` : '<!doctype html><h1>Not found</h1>');
        return;
      }
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
      caused = webhooksFirst ? [] : null;
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
      const before = caused;
      caused = null;
      if (before?.length) await Promise.all(before);
      send(status, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    clientOptions: { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 },
    url: `http://127.0.0.1:${port}`,
    counters,
    paymentIntents: intents,
    events,
    checkoutSessions: sessions,
    subscriptions,
    addPrice(id: string, unitAmount: number, currency: string): void {
      prices.set(id, { unit_amount: unitAmount, currency });
    },
    completeCheckout(sessionId: string) {
      const cs = sessions.get(sessionId);
      if (!cs || cs.status !== 'open') throw new Error(`no open checkout session ${sessionId}`);
      const customer = cs.customer ?? newId('cus');
      const end = now() + MONTH;
      const sub: SubscriptionRecord = {
        id: newId('sub'),
        object: 'subscription',
        customer,
        status: 'active',
        cancel_at_period_end: false,
        current_period_end: end,
        items: {
          object: 'list',
          data: [{ id: newId('si'), price: { id: cs.line_items_price, ...prices.get(cs.line_items_price)! }, current_period_end: end }],
        },
        metadata: cs.subscription_metadata,
        created: now(),
        canceled_at: null,
        livemode: false,
      };
      subscriptions.set(sub.id, sub);
      Object.assign(cs, { status: 'complete', payment_status: 'paid', customer, subscription: sub.id, url: null });
      emit('customer.subscription.created', sub as unknown as Json);
      emit('checkout.session.completed', cs as unknown as Json);
      return { customer, subscription: sub.id };
    },
    failRenewal(subscriptionId: string): void {
      const sub = subscriptions.get(subscriptionId);
      if (!sub) throw new Error(`no subscription ${subscriptionId}`);
      const price = sub.items.data[0]!.price;
      const invoice = {
        id: newId('in'),
        object: 'invoice',
        customer: sub.customer,
        subscription: sub.id,
        status: 'open',
        amount_due: price.unit_amount,
        currency: price.currency,
        attempt_count: 1,
        billing_reason: 'subscription_cycle',
        next_payment_attempt: now() + 3 * 86_400,
        created: now(),
        livemode: false,
      };
      emit('invoice.payment_failed', invoice);
      sub.status = 'past_due';
      emit('customer.subscription.updated', sub as unknown as Json);
    },
    refundFromDashboard(paymentIntentId: string, amount?: number) {
      const refund = createRefund(paymentIntentId, amount, {});
      return { refundId: refund.id, amountRefunded: refundedOf(paymentIntentId) };
    },
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
    webhooksBeforeResponses(on: boolean): void {
      webhooksFirst = on;
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
