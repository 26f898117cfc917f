import { describe, expect, it } from 'vitest';
import { orderWebhookEvent } from './order-events.core.ts';
import type { OrderRow } from './orders.repository.ts';

const order = (o: Partial<OrderRow> = {}): OrderRow => ({
  id: 'o-1',
  cartId: 'c-1',
  userId: 'u-1',
  anonymousId: null,
  profileId: null,
  email: 'secret@example.com',
  currency: 'JPY',
  status: 'paid',
  subtotalMinor: 9_000_000_000_000n,
  discountTotalMinor: 0n,
  taxTotalMinor: 0n,
  shippingTotalMinor: 0n,
  totalMinor: 9_000_000_000_000n,
  paidMinor: 9_000_000_000_000n,
  refundedMinor: 0n,
  paymentIntentId: 'pi_1',
  promotionIds: [],
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...o,
});

describe('orderWebhookEvent', () => {
  it('keys each state once and each refund by its id; payload in minor units without contact details', () => {
    const paid = orderWebhookEvent(order(), { kind: 'paid' });
    expect(paid).toEqual({
      type: 'commerce.order.paid',
      idempotencyKey: 'commerce.order:o-1:paid',
      payload: {
        order_id: 'o-1',
        status: 'paid',
        currency: 'JPY',
        total: 9_000_000_000_000,
        paid_total: 9_000_000_000_000,
        refunded_total: 0,
        customer_id: 'u-1',
      },
    });
    expect(JSON.stringify(paid)).not.toContain('secret@example.com');
    const r1 = orderWebhookEvent(order({ status: 'partially_refunded', refundedMinor: 5n }), {
      kind: 'refunded',
      refundId: 're_1',
      amount: 5n,
    });
    const r2 = orderWebhookEvent(order({ status: 'partially_refunded', refundedMinor: 10n }), {
      kind: 'refunded',
      refundId: 're_2',
      amount: 5n,
    });
    expect(r1.idempotencyKey).toBe('commerce.order:o-1:refunded:re_1');
    expect(r2.idempotencyKey).not.toBe(r1.idempotencyKey);
    expect(r2.payload).toMatchObject({ refunded_total: 10, refund: { id: 're_2', amount: 5 } });
    expect(orderWebhookEvent(order({ status: 'cancelled' }), { kind: 'cancelled' }).idempotencyKey).toBe('commerce.order:o-1:cancelled');
    expect(orderWebhookEvent(order({ status: 'fulfilled' }), { kind: 'fulfilled' }).type).toBe('commerce.order.fulfilled');
  });
});
