import {
  type Q,
  AppError,
  type Db,
  type SecretBox,
  type TenantContext,
  conflict,
  notFound,
  validation,
  inTenant,
  afterCommitQueue,
} from '../../platform/index.ts';
import type { SellableRepository } from '../catalog/index.ts';
import type { IngestService } from '../events/index.ts';
import type { CartsRepository, Shopper } from './carts.repository.ts';
import { type CartsService, ownsCart } from './carts.service.ts';
import type { OrderFilters, OrderPage, OrderRow, OrdersRepository, OrderStatus } from './orders.repository.ts';
import type { ReservationsRepository } from './reservations.repository.ts';
import type { SettingsRepository, SettingsRow } from './settings.repository.ts';
import {
  priceReturn,
  priceReturnShipping,
  returnedSoFar,
  shippingRefundedSoFar,
  type ReturnReason,
  type ReturnRequestLine,
  type ShippingRefund,
} from './returns.core.ts';
import type { StripeGateway } from './stripe.gateway.ts';
import type { Published, WebhookPublisher } from '../webhooks/index.ts';
import { type OrderChange, orderWebhookEvent } from './order-events.core.ts';
import { OVER_BUDGET } from './cart.core.ts';

type PendingEvent = Parameters<IngestService['prepare']>[1][number];

export interface OrdersServiceDeps {
  db: Db;
  repo: OrdersRepository;
  carts: CartsService;
  cartsRepo: CartsRepository;
  settings: SettingsRepository;
  catalog: SellableRepository;
  events: Pick<IngestService, 'prepare' | 'write'>;
  stripe: StripeGateway;
  secrets: SecretBox;
  reservations: ReservationsRepository;
  clock: () => Date;
  /** Outbound webhooks: each order state change publishes commerce.order.* in its transaction. */
  webhooks?: WebhookPublisher | undefined;
}

/** Work a refund does inside its transaction, under the order's row lock: `check` before Stripe, `record` after. */
interface RefundHooks {
  check(tx: Q, order: OrderRow): Promise<void>;
  record(tx: Q, order: OrderRow): Promise<void>;
}

const ORDER_NOT_FOUND = () => notFound('ORDER_NOT_FOUND', 'The order');

/** Context the sealed Stripe keys are bound to (a key copied into another tenant's row does not open). */
export const stripeKeyContext = (tenantId: string, which: 'secret' | 'webhook') => `commerce:${tenantId}:stripe_${which}`;

/** What a refund leaves the order as. */
function statusAfterRefund(o: OrderRow, refunded: bigint): OrderStatus {
  return refunded >= o.paidMinor ? 'refunded' : 'partially_refunded';
}

/**
 * Checkout and orders. Completing a cart is two steps, so no lock is held across the payment call:
 * 1. under the cart's row lock: refresh and price the cart, take stock, use promotion budgets, create the order
 *    (pending) and close the cart, in one transaction. Concurrent completions of one cart wait on the lock and
 *    then find the order: one order, one stock decrement, whoever calls (storefront retries, a second tab).
 * 2. the payment: a Stripe PaymentIntent authorized and captured with idempotency keys derived from the order
 *    (one intent, one capture even if two processes pay), then `recordPayment` under the order's row lock marks
 *    it paid once, whether the API call or the `payment_intent.succeeded` webhook (or 20 of them) gets there
 *    first; the purchase enters events in the same transaction, keyed by the order.
 */
export function createOrdersService(deps: OrdersServiceDeps) {
  const { db, repo } = deps;

  /**
   * Publishes the webhook event of an order's state change with the transaction that made it (read back in it);
   * hand the result to `dispatched` after the commit.
   */
  async function announce(tx: Q, tenantId: string, orderId: string, change: OrderChange): Promise<Published | null> {
    if (!deps.webhooks) return null;
    return announceOrder(tx, tenantId, (await repo.getOrder(tx, tenantId, orderId))!, change);
  }
  /** `announce` of an order the transaction already holds as it stands. */
  async function announceOrder(tx: Q, tenantId: string, order: OrderRow, change: OrderChange): Promise<Published | null> {
    if (!deps.webhooks) return null;
    return deps.webhooks.publish(tx, tenantId, [orderWebhookEvent(order, change)]);
  }
  /** Starts delivering what `announce` published, once its transaction committed (never throws). */
  const dispatched = async (published: Published | null): Promise<void> => {
    if (published && deps.webhooks) await deps.webhooks.dispatch(published);
  };

  async function stripeKey(q: Q, tenantId: string): Promise<string> {
    return stripeKeyOf(tenantId, await deps.settings.get(q, tenantId));
  }
  /** The tenant's Stripe secret key from its settings as read; PAYMENTS_NOT_CONFIGURED without one. */
  function stripeKeyOf(tenantId: string, s: Pick<SettingsRow, 'stripeSecretKey'>): string {
    if (!s.stripeSecretKey)
      throw conflict('PAYMENTS_NOT_CONFIGURED', 'This store takes no payments yet: set its Stripe keys in PUT /api/v1/commerce/settings.');
    return deps.secrets.open(s.stripeSecretKey, stripeKeyContext(tenantId, 'secret'));
  }

  /** The purchase events of an order, one per line, keyed by order and item (the same order twice is one purchase). */
  async function purchaseEvents(tenantId: string, order: OrderRow, now: Date): Promise<PendingEvent[]> {
    const items = await repo.items(db, tenantId, order.id);
    const identifiers = [
      ...(order.userId ? [{ type: 'user_id', value: order.userId }] : []),
      ...(order.anonymousId ? [{ type: 'anonymous_id', value: order.anonymousId }] : []),
      ...(order.email ? [{ type: 'email', value: order.email }] : []),
    ];
    return items.map((i) => ({
      row: {
        eventId: `order:${order.id}:${i.itemId}`,
        userId: order.userId,
        anonymousId: order.anonymousId,
        itemId: i.itemId,
        type: 'purchase',
        quantity: i.quantity,
        priceMinor: i.unitPriceMinor,
        currency: order.currency,
        orderId: order.id,
        source: 'commerce',
        occurredAt: now,
      },
      identity: identifiers.length ? { identifiers, channel: 'web', occurredAt: now, eventRef: `order:${order.id}` } : null,
      revenueMinor: i.totalMinor,
    }));
  }

  /** Undoes step 1 of an order that will not be paid: stock and promotion uses back, the cart open again. */
  async function unwind(q: Q, tenantId: string, order: OrderRow): Promise<void> {
    const items = await repo.items(q, tenantId, order.id);
    await deps.catalog.returnStock(
      q,
      tenantId,
      items.map((i) => ({ itemId: i.itemId, quantity: i.quantity })),
    );
    if (order.promotionIds.length) {
      const placed = (await repo.timeline(q, tenantId, order.id)).find((e) => e.type === 'placed');
      const gave = new Map(
        ((placed?.detail as { promotions?: { id: string; amount: string }[] } | undefined)?.promotions ?? []).map((p) => [
          p.id,
          BigInt(p.amount),
        ]),
      );
      await repo.releasePromotions(
        q,
        tenantId,
        order.promotionIds.map((id) => ({ id, amount: gave.get(id) ?? 0n })),
      );
    }
  }

  /**
   * The refund event of `value` taken off `order` as it stands (keyed by what was refunded before and the amount:
   * the same refund seen by the API call and by Stripe's `charge.refunded` is one event).
   */
  function refundEvent(order: OrderRow, value: bigint): PendingEvent {
    const now = deps.clock();
    return {
      row: {
        eventId: `order:${order.id}:refund:${order.refundedMinor}:${value}`,
        userId: order.userId,
        anonymousId: order.anonymousId,
        type: 'refund',
        priceMinor: value,
        currency: order.currency,
        orderId: order.id,
        source: 'commerce',
        occurredAt: now,
      },
      identity: order.userId ? { identifiers: [{ type: 'user_id', value: order.userId }], channel: 'web', occurredAt: now } : null,
      revenueMinor: value,
    };
  }

  /**
   * Stripe's `charge.refunded` (a refund made in Stripe's Dashboard, or the echo of Loupe's own): the charge's
   * cumulative `amount_refunded` is the truth, so the order takes only what it has not recorded yet, under its row
   * lock. Idempotent: a redelivered event, or the echo of a refund the API call already recorded, changes nothing.
   * A refund beyond what was paid is capped at what was paid. Answers whether the order changed.
   */
  async function recordStripeRefund(tenantId: string, orderId: string, amountRefunded: bigint, refundId: string): Promise<boolean> {
    // Two tries: a refund recorded between the read and the lock changes the event's key (read again).
    for (let attempt = 0; attempt < 2; attempt++) {
      const seen = await repo.getOrder(db, tenantId, orderId);
      if (!seen || !['paid', 'fulfilled', 'partially_refunded'].includes(seen.status)) return false;
      const total = amountRefunded > seen.paidMinor ? seen.paidMinor : amountRefunded;
      if (total <= seen.refundedMinor) return false;
      const prepared = await deps.events.prepare({ tenantId }, [refundEvent(seen, total - seen.refundedMinor)]);
      let published: Published | null = null;
      const committed = afterCommitQueue();
      const outcome = await inTenant(db, tenantId, async (tx) => {
        const o = (await repo.lockOrder(tx, tenantId, orderId))!;
        if (o.refundedMinor !== seen.refundedMinor || o.status !== seen.status) return 'changed' as const;
        const value = total - o.refundedMinor;
        await repo.setStatus(tx, tenantId, orderId, statusAfterRefund(o, total), total);
        await repo.addEvent(tx, tenantId, orderId, {
          type: 'refunded',
          amountMinor: value,
          detail: { refund: refundId, via: 'stripe_webhook' },
        });
        await deps.events.write({ tenantId }, prepared, { source: 'api', within: tx, afterCommit: committed.add });
        published = await announce(tx, tenantId, orderId, { kind: 'refunded', refundId, amount: value });
        return 'recorded' as const;
      });
      committed.run();
      await dispatched(published);
      if (outcome === 'recorded') return true;
    }
    return false;
  }

  /** `placed`: the order as the caller just created it (checkout), instead of reading it; its row lock decides below. */
  async function recordPayment(
    tenantId: string,
    orderId: string,
    paymentIntentId: string,
    amount: bigint,
    via: string,
    placed?: OrderRow,
  ): Promise<OrderRow> {
    const before = placed ?? (await repo.getOrder(db, tenantId, orderId));
    if (!before) throw ORDER_NOT_FOUND();
    if (before.status !== 'pending') return before;
    const prepared = await deps.events.prepare({ tenantId }, await purchaseEvents(tenantId, before, deps.clock()));
    let published: Published | null = null;
    const committed = afterCommitQueue();
    const paid = await inTenant(db, tenantId, async (tx) => {
      const order = (await repo.lockOrder(tx, tenantId, orderId))!;
      if (order.status !== 'pending') return order; // the webhook and the API call race: the second finds it paid
      // The order as marked paid (the writes below touch other tables): announced and answered without reading it back.
      const after = await repo.markPaid(tx, tenantId, orderId, paymentIntentId, amount);
      await repo.addEvent(tx, tenantId, orderId, {
        type: 'payment_captured',
        amountMinor: amount,
        detail: { payment_intent: paymentIntentId, via },
      });
      await deps.events.write({ tenantId }, prepared, { source: 'api', within: tx, afterCommit: committed.add });
      published = await announceOrder(tx, tenantId, after, { kind: 'paid' });
      return after;
    });
    committed.run();
    await dispatched(published);
    return paid;
  }

  return {
    recordPayment,

    /**
     * Completes a cart: creates its order once and pays it with `paymentMethod` (a Stripe PaymentMethod id).
     * Answers the order and whether this call created it. Refusals: empty cart, items no longer available or
     * repriced since the shopper last saw the cart (CART_CHANGED: read it again), INSUFFICIENT_STOCK,
     * PROMOTION_USED_UP, PAYMENT_FAILED (the order is cancelled, stock and promotion given back, the cart open).
     */
    async complete(
      ctx: TenantContext,
      cartId: string,
      paymentMethod: string,
      owner: Shopper | null,
    ): Promise<{ order: OrderRow; created: boolean }> {
      // Another tenant's (or, for a shopper token, another shopper's) cart answers like an unknown one, before
      // anything about this tenant's payments.
      const known = await deps.cartsRepo.getCart(db, ctx.tenantId, cartId);
      if (!known || (owner && !ownsCart(owner, known))) throw notFound('CART_NOT_FOUND', 'The cart');
      const segments = await deps.carts.segmentsOf(ctx.tenantId, known);
      let secretKey = '';
      const placed = await inTenant(db, ctx.tenantId, async (tx) => {
        const view = await deps.carts.lockedView(tx, ctx.tenantId, cartId, segments);
        if (!view) throw notFound('CART_NOT_FOUND', 'The cart');
        // The Stripe key of the settings the cart was priced with (no second read of them); refused before anything
        // is written, as before (the transaction only read and locked so far).
        secretKey = stripeKeyOf(ctx.tenantId, view.settings);
        if (view.cart.status === 'completed') {
          const existing = await repo.orderOfCart(tx, ctx.tenantId, cartId);
          if (existing) return { order: existing, created: false };
        }
        if (view.cart.status !== 'active') throw conflict('CART_NOT_ACTIVE', `This cart is ${view.cart.status}: start a new cart.`);
        const short = view.notices.filter((n) => n.outOfStock);
        if (short.length)
          throw new AppError('conflict', 'INSUFFICIENT_STOCK', short.map((n) => n.message).join(' '), {
            details: short.map((n) => ({ field: n.itemId, message: 'not enough stock' })),
          });
        const refused = view.refusedCodes[0];
        if (refused)
          throw conflict(
            refused.reason === 'has been used up' || refused.reason === 'has spent its budget' || refused.reason === OVER_BUDGET
              ? 'PROMOTION_USED_UP'
              : 'PROMOTION_NOT_APPLICABLE',
            `Promotion code "${refused.code}" ${refused.reason}: remove it from the cart and check out again.`,
          );
        const changed = view.notices.filter((n) => n.type !== 'savings_available' && n.type !== 'back_in_stock');
        if (changed.length)
          throw new AppError(
            'conflict',
            'CART_CHANGED',
            'Prices or availability changed since the cart was read: read it again and confirm.',
            {
              details: changed.map((n) => ({ field: n.itemId, message: n.message })),
            },
          );
        const counted = view.lines.filter((l) => l.available);
        if (counted.length !== view.lines.length)
          throw conflict('CART_HAS_UNAVAILABLE_ITEMS', 'Some items are no longer available: remove them from the cart first.');
        if (counted.length === 0) throw conflict('CART_EMPTY', 'The cart is empty.');
        if (view.totals.total <= 0n) throw conflict('NOTHING_TO_PAY', 'The cart totals nothing to pay.');
        // Units other carts hold (reservations) are not for sale: decided under the items' row locks.
        const wanted = counted.map((l) => l.itemId);
        const stock = await deps.catalog.lockStock(tx, ctx.tenantId, wanted);
        const held = await deps.reservations.heldByOthers(tx, ctx.tenantId, cartId, wanted, deps.clock());
        const heldShort = counted.filter((l) => stock.has(l.itemId) && stock.get(l.itemId)! - (held.get(l.itemId) ?? 0) < l.quantity);
        if (heldShort.length)
          throw new AppError(
            'conflict',
            'INSUFFICIENT_STOCK',
            `Not enough stock left for ${heldShort.map((l) => l.name.slice(0, 100)).join(', ')}: the rest is sold or held in other checkouts.`,
            { details: heldShort.map((l) => ({ field: l.itemId, message: 'not enough stock' })) },
          );
        await deps.reservations.release(tx, ctx.tenantId, cartId);
        const shortfall = await deps.catalog.takeStock(
          tx,
          ctx.tenantId,
          counted.map((l) => ({ itemId: l.itemId, quantity: l.quantity })),
          { lockedByCaller: true }, // lockStock above, same items
        );
        if (shortfall.length)
          throw new AppError('conflict', 'INSUFFICIENT_STOCK', `Not enough stock left for ${shortfall.join(', ').slice(0, 200)}.`, {
            details: shortfall.map((id) => ({ field: id, message: 'not enough stock' })),
          });
        const uses = view.promotions.filter((p) => p.amount > 0n).map((p) => ({ id: p.id, amount: p.amount }));
        const promotionIds = uses.map((u) => u.id);
        const usedUp = await repo.consumePromotions(tx, ctx.tenantId, uses);
        if (usedUp.length)
          throw conflict('PROMOTION_USED_UP', 'A promotion on this cart has just been used up: remove it and check out again.');
        const t = view.totals;
        const order = await repo.insertOrder(
          tx,
          ctx.tenantId,
          {
            cartId,
            userId: view.cart.userId,
            anonymousId: view.cart.anonymousId,
            profileId: view.cart.profileId,
            email: view.cart.email,
            currency: view.cart.currency,
            subtotalMinor: t.subtotal,
            discountTotalMinor: t.discountTotal,
            taxTotalMinor: t.taxTotal,
            shippingTotalMinor: t.shippingTotal,
            totalMinor: t.total,
            promotionIds,
          },
          counted.map((l) => {
            const lt = view.lineTotals.get(l.id)!;
            return {
              itemId: l.itemId,
              name: l.name,
              quantity: l.quantity,
              unitPriceMinor: l.unitPriceMinor,
              subtotalMinor: lt.subtotal,
              discountTotalMinor: lt.discountTotal,
              taxTotalMinor: lt.taxTotal,
              totalMinor: lt.total,
            };
          }),
          view.cart.shippingAddress,
        );
        await repo.addEvent(tx, ctx.tenantId, order.id, {
          type: 'placed',
          amountMinor: t.total,
          // What each promotion gave: an unwound order gives it back to the promotion's spend budget.
          detail: uses.length ? { promotions: uses.map((u) => ({ id: u.id, amount: u.amount.toString() })) } : {},
          actor: ctx.actor.id,
        });
        await deps.cartsRepo.complete(tx, ctx.tenantId, cartId, order.id);
        return { order, created: true };
      });
      if (!placed.created) return placed;

      const order = placed.order;
      const outcome = await deps.stripe.pay(secretKey, {
        orderId: order.id,
        amount: order.totalMinor,
        currency: order.currency,
        paymentMethod,
        metadata: { loupe_tenant_id: ctx.tenantId, loupe_order_id: order.id, loupe_cart_id: cartId },
      });
      if (outcome.ok)
        return {
          order: await recordPayment(
            ctx.tenantId,
            order.id,
            outcome.payment.paymentIntentId,
            outcome.payment.amountReceived,
            'checkout',
            order,
          ),
          created: true,
        };
      const failed = await inTenant(db, ctx.tenantId, async (tx) => {
        const o = (await repo.lockOrder(tx, ctx.tenantId, order.id))!;
        if (o.status !== 'pending') return null;
        await repo.addEvent(tx, ctx.tenantId, order.id, {
          type: 'payment_failed',
          detail: { code: outcome.code, payment_intent: outcome.paymentIntentId },
        });
        await repo.setStatus(tx, ctx.tenantId, order.id, 'cancelled');
        await repo.addEvent(tx, ctx.tenantId, order.id, { type: 'cancelled', detail: { reason: 'payment_failed' } });
        await unwind(tx, ctx.tenantId, o);
        await deps.cartsRepo.reopen(tx, ctx.tenantId, cartId);
        return announce(tx, ctx.tenantId, order.id, { kind: 'cancelled' });
      });
      await dispatched(failed);
      throw new AppError(
        'conflict',
        'PAYMENT_FAILED',
        `The payment was refused (${outcome.message}): try another card. The cart is open again.`,
      );
    },

    /**
     * A Stripe webhook delivery for `tenantId`: the signature is checked with the tenant's endpoint secret
     * (Stripe's scheme, 5 minutes' tolerance); `payment_intent.succeeded` marks the order paid (once, however
     * many deliveries arrive, and whether before or after the checkout call returns); a failure or a dispute
     * goes on the order's timeline. Answers whether the event was new. An unknown tenant or a bad signature
     * answers the same (SIGNATURE_INVALID).
     */
    async receiveWebhook(tenantId: string, rawBody: Buffer, signature: string | undefined): Promise<{ duplicate: boolean }> {
      const settings = await deps.settings.get(db, tenantId);
      const secret = settings.stripeWebhookSecret
        ? deps.secrets.open(settings.stripeWebhookSecret, stripeKeyContext(tenantId, 'webhook'))
        : null;
      const event = secret && signature ? deps.stripe.verifyWebhook(rawBody, signature, secret) : null;
      if (!event) throw new AppError('validation', 'SIGNATURE_INVALID', 'The Stripe-Signature header does not verify for this endpoint.');
      const object = event.data.object as unknown as {
        id?: string;
        metadata?: Record<string, string>;
        amount_received?: number;
        amount_refunded?: number;
        payment_intent?: string | null;
        refunds?: { data?: { id?: string }[] };
      };
      // Recorded first: timeline-only events are added once; a payment is applied on every delivery (idempotent).
      const first = await repo.firstDelivery(db, tenantId, event.id, event.type);
      const orderId = object.metadata?.loupe_tenant_id === tenantId ? object.metadata.loupe_order_id : undefined;
      const order = orderId ? await repo.getOrder(db, tenantId, orderId) : undefined;
      if (order && event.type === 'payment_intent.succeeded' && object.id)
        await recordPayment(tenantId, order.id, object.id, BigInt(object.amount_received ?? 0), 'webhook');
      else if (order && first && event.type === 'payment_intent.payment_failed')
        await repo.addEvent(db, tenantId, order.id, { type: 'payment_failed', detail: { payment_intent: object.id, via: 'webhook' } });
      else if (event.type === 'charge.refunded' && object.payment_intent) {
        // Applied on every delivery: the cumulative amount makes it idempotent (and a lost first try is retried).
        const refunded = await repo.orderOfPaymentIntent(db, tenantId, object.payment_intent);
        const amountRefunded =
          Number.isSafeInteger(object.amount_refunded) && object.amount_refunded! > 0 ? BigInt(object.amount_refunded!) : 0n;
        if (refunded && amountRefunded > 0n)
          await recordStripeRefund(tenantId, refunded, amountRefunded, object.refunds?.data?.[0]?.id ?? object.id ?? event.id);
      } else if (first && event.type === 'charge.dispute.created' && object.payment_intent) {
        const disputed = await repo.orderOfPaymentIntent(db, tenantId, object.payment_intent);
        if (disputed) await repo.addEvent(db, tenantId, disputed, { type: 'disputed', detail: { dispute: object.id } });
      }
      return { duplicate: !first };
    },

    get: async (ctx: TenantContext, orderId: string) => {
      const order = await repo.getOrder(db, ctx.tenantId, orderId);
      if (!order) throw ORDER_NOT_FOUND();
      const [items, timeline] = await Promise.all([repo.items(db, ctx.tenantId, orderId), repo.timeline(db, ctx.tenantId, orderId)]);
      return { order, items, timeline };
    },

    list: (ctx: TenantContext, filters: OrderFilters, page: OrderPage) => repo.list(db, ctx.tenantId, filters, page),

    /** How many orders match the filters (a paged table's total). */
    count: (ctx: TenantContext, filters: OrderFilters) => repo.count(db, ctx.tenantId, filters),

    /** Refunds `amount` (default: what is left) through Stripe; more than was paid and not yet refunded is refused. */
    async refund(
      ctx: TenantContext,
      orderId: string,
      amount: bigint | undefined,
      reason: string | undefined,
      within?: RefundHooks,
    ): Promise<OrderRow> {
      const seen = await repo.getOrder(db, ctx.tenantId, orderId);
      if (!seen) throw ORDER_NOT_FOUND();
      const secretKey = await stripeKey(db, ctx.tenantId);
      // Identities are resolved before the transaction (resolution runs its own; PGlite has one connection).
      // The event is keyed by what is refunded so far: a concurrent refund that changed it fails the check below.
      const value0 = amount ?? seen.paidMinor - seen.refundedMinor;
      const prepared = value0 > 0n ? await deps.events.prepare({ tenantId: ctx.tenantId }, [refundEvent(seen, value0)]) : null;
      let published: Published | null = null;
      const committed = afterCommitQueue();
      const after = await inTenant(db, ctx.tenantId, async (tx) => {
        const o = await repo.lockOrder(tx, ctx.tenantId, orderId);
        if (!o) throw ORDER_NOT_FOUND();
        if (o.refundedMinor !== seen.refundedMinor)
          throw conflict('ORDER_CHANGED', 'Another refund of this order was recorded meanwhile: read the order and try again.');
        if (!['paid', 'fulfilled', 'partially_refunded'].includes(o.status) || !o.paymentIntentId)
          throw conflict('ORDER_NOT_REFUNDABLE', `This order is ${o.status}: only paid orders can be refunded.`);
        const left = o.paidMinor - o.refundedMinor;
        const value = amount ?? left;
        if (value <= 0n)
          throw validation('INVALID_AMOUNT', 'The refund amount must be positive.', [{ field: 'amount', message: 'must be positive' }]);
        if (value > left)
          throw validation('REFUND_EXCEEDS_PAID', `At most ${left} (minor units) is left to refund on this order.`, [
            { field: 'amount', message: `must be at most ${left}` },
          ]);
        if (within) await within.check(tx, o);
        // The row lock holds concurrent refunds of this order back until this one is recorded; the Stripe key
        // (order, amount refunded so far, amount) makes a retry of this very refund the same refund.
        const { refundId } = await deps.stripe.refund(secretKey, {
          paymentIntentId: o.paymentIntentId,
          amount: value,
          idempotencyKey: `${o.id}:refund:${o.refundedMinor}:${value}`,
        });
        const refunded = o.refundedMinor + value;
        await repo.setStatus(tx, ctx.tenantId, orderId, statusAfterRefund(o, refunded), refunded);
        await repo.addEvent(tx, ctx.tenantId, orderId, {
          type: 'refunded',
          amountMinor: value,
          detail: { refund: refundId, ...(reason ? { reason } : {}) },
          actor: ctx.actor.id,
        });
        if (within) await within.record(tx, o);
        if (prepared)
          await deps.events.write({ tenantId: ctx.tenantId }, prepared, { source: 'api', within: tx, afterCommit: committed.add });
        published = await announce(tx, ctx.tenantId, orderId, { kind: 'refunded', refundId, amount: value });
        return (await repo.getOrder(tx, ctx.tenantId, orderId))!;
      });
      committed.run();
      await dispatched(published);
      return after;
    },

    /**
     * Returns units of a paid order's lines: refunds their share of what was paid (returns.core.ts) through
     * Stripe, records the return on the timeline and, unless `restock` is false, puts the units back in stock, in
     * the refund's transaction under the order's row lock (a concurrent return or refund answers ORDER_CHANGED).
     * Units never come back twice: more than bought minus returned is refused (RETURN_INVALID).
     */
    async returnItems(
      ctx: TenantContext,
      orderId: string,
      request: readonly (ReturnRequestLine & { reason?: ReturnReason | undefined; restock?: boolean | undefined })[],
      opts: {
        restock: boolean;
        reason?: string | undefined;
        /** Refund the original shipping: auto (default), full or none (returns.core.ts `priceReturnShipping`). */
        refundShipping?: ShippingRefund | undefined;
        /** The return label's cost (minor units) and who pays it. */
        label?: { amount: bigint; paidBy?: 'customer' | 'merchant' | undefined } | null | undefined;
      },
    ): Promise<OrderRow> {
      // Each line's reason and whether its units go back on the shelf (a damaged unit usually does not).
      const asked = new Map(request.map((l) => [l.itemId, { reason: l.reason, restock: l.restock ?? opts.restock }]));
      const seen = await repo.getOrder(db, ctx.tenantId, orderId);
      if (!seen) throw ORDER_NOT_FOUND();
      const price = async (q: Q) => {
        const [items, timeline] = await Promise.all([repo.items(q, ctx.tenantId, orderId), repo.timeline(q, ctx.tenantId, orderId)]);
        const earlier = timeline.filter((e) => e.type === 'returned').map((e) => e.detail);
        const returned = returnedSoFar(earlier);
        const priced = priceReturn(items, returned, request);
        if (!priced.ok) {
          const why = {
            not_in_order: 'is not in this order',
            more_than_left: 'has fewer units left to return',
            duplicate: 'is listed twice',
          };
          throw validation('RETURN_INVALID', `Item ${priced.itemId.slice(0, 200)} ${why[priced.reason]}.`, [
            { field: 'items', message: `${priced.itemId.slice(0, 200)} ${why[priced.reason]}` },
          ]);
        }
        const after = new Map(returned);
        for (const l of priced.lines) after.set(l.itemId, (after.get(l.itemId) ?? 0) + l.quantity);
        return {
          ...priced,
          completesOrder: items.every((i) => (after.get(i.itemId) ?? 0) >= i.quantity),
          shippingSoFar: shippingRefundedSoFar(earlier),
        };
      };
      const first = await price(db);
      const shipping = priceReturnShipping({
        itemsAmount: first.amount,
        reasons: request.map((l) => l.reason),
        shippingTotal: seen.shippingTotalMinor,
        shippingRefundedSoFar: first.shippingSoFar,
        completesOrder: first.completesOrder,
        refundShipping: opts.refundShipping ?? 'auto',
        label: opts.label ?? null,
        left: seen.paidMinor - seen.refundedMinor,
      });
      const amount = shipping.refund;
      const hooks: RefundHooks = {
        // Re-priced under the lock: a return recorded meanwhile changes what is left.
        check: async (tx) => {
          const now = await price(tx);
          if (now.amount !== first.amount || now.shippingSoFar !== first.shippingSoFar)
            throw conflict('ORDER_CHANGED', 'Another return of this order was recorded meanwhile: read the order and try again.');
        },
        record: async (tx) => {
          const restocked = first.lines.filter((l) => asked.get(l.itemId)?.restock);
          await repo.addEvent(tx, ctx.tenantId, orderId, {
            type: 'returned',
            amountMinor: amount,
            detail: {
              items: first.lines.map((l) => {
                const a = asked.get(l.itemId);
                return { item_id: l.itemId, quantity: l.quantity, ...(a?.reason ? { reason: a.reason } : {}), restocked: !!a?.restock };
              }),
              restocked: restocked.length === first.lines.length,
              ...(opts.reason ? { reason: opts.reason } : {}),
              // Exact minor units as text: what the items refunded, the original shipping refunded, the label.
              items_refunded: first.amount.toString(),
              shipping_refunded: shipping.shippingRefund.toString(),
              ...(opts.label
                ? {
                    return_shipping: {
                      amount: opts.label.amount.toString(),
                      paid_by: shipping.paidBy,
                      deducted: shipping.labelDeducted.toString(),
                    },
                  }
                : {}),
            },
            actor: ctx.actor.id,
          });
          if (restocked.length) await deps.catalog.returnStock(tx, ctx.tenantId, restocked);
        },
      };
      if (amount > 0n) return this.refund(ctx, orderId, amount, opts.reason ?? 'return', hooks);
      // Nothing left to pay back (free units, or the order already refunded): record the return alone.
      return inTenant(db, ctx.tenantId, async (tx) => {
        const o = (await repo.lockOrder(tx, ctx.tenantId, orderId))!;
        if (!['paid', 'fulfilled', 'partially_refunded', 'refunded'].includes(o.status))
          throw conflict('ORDER_NOT_RETURNABLE', `This order is ${o.status}: only paid orders take returns.`);
        await hooks.check(tx, o);
        await hooks.record(tx, o);
        return (await repo.getOrder(tx, ctx.tenantId, orderId))!;
      });
    },

    /** Cancels a pending or paid (unfulfilled) order: a paid one is refunded in full; stock and promotion uses come back. */
    async cancel(ctx: TenantContext, orderId: string): Promise<OrderRow> {
      const o = await repo.getOrder(db, ctx.tenantId, orderId);
      if (!o) throw ORDER_NOT_FOUND();
      if (o.status === 'paid') await this.refund(ctx, orderId, undefined, 'cancelled');
      let published: Published | null = null;
      const cancelled = await inTenant(db, ctx.tenantId, async (tx) => {
        const now = (await repo.lockOrder(tx, ctx.tenantId, orderId))!;
        if (!['pending', 'refunded'].includes(now.status) || (now.status === 'refunded' && o.status !== 'paid'))
          throw conflict('ORDER_NOT_CANCELLABLE', `This order is ${now.status}: it cannot be cancelled.`);
        await repo.setStatus(tx, ctx.tenantId, orderId, 'cancelled');
        await repo.addEvent(tx, ctx.tenantId, orderId, { type: 'cancelled', actor: ctx.actor.id });
        await unwind(tx, ctx.tenantId, now);
        published = await announce(tx, ctx.tenantId, orderId, { kind: 'cancelled' });
        return (await repo.getOrder(tx, ctx.tenantId, orderId))!;
      });
      await dispatched(published);
      return cancelled;
    },

    async fulfil(ctx: TenantContext, orderId: string): Promise<OrderRow> {
      let published: Published | null = null;
      const fulfilled = await inTenant(db, ctx.tenantId, async (tx) => {
        const o = await repo.lockOrder(tx, ctx.tenantId, orderId);
        if (!o) throw ORDER_NOT_FOUND();
        if (o.status !== 'paid') throw conflict('ORDER_NOT_FULFILLABLE', `This order is ${o.status}: only paid orders are fulfilled.`);
        await repo.setStatus(tx, ctx.tenantId, orderId, 'fulfilled');
        await repo.addEvent(tx, ctx.tenantId, orderId, { type: 'fulfilled', actor: ctx.actor.id });
        published = await announce(tx, ctx.tenantId, orderId, { kind: 'fulfilled' });
        return (await repo.getOrder(tx, ctx.tenantId, orderId))!;
      });
      await dispatched(published);
      return fulfilled;
    },
  };
}
export type OrdersService = ReturnType<typeof createOrdersService>;
