/**
 * The outbound webhook events of an order's state changes (commerce.order.*): their minimal payloads and the
 * idempotency keys that make each state change publish once, however many times the change is attempted. Pure.
 */
import { minorToNumber } from '../../platform/index.ts';
import type { OutboundEvent } from '../webhooks/index.ts';
import type { OrderRow } from './orders.repository.ts';

export type OrderChange =
  | { kind: 'paid' }
  | { kind: 'cancelled' }
  | { kind: 'fulfilled' }
  | { kind: 'refunded'; refundId: string; amount: bigint };

/**
 * The webhook event of `order` (read after the change, in its transaction) for `change`: order id, status, totals
 * in minor units with the currency, the customer's id (user_id). Keyed by order, state and refund id.
 */
export function orderWebhookEvent(order: OrderRow, change: OrderChange): OutboundEvent {
  const payload: Record<string, unknown> = {
    order_id: order.id,
    status: order.status,
    currency: order.currency,
    total: minorToNumber(order.totalMinor),
    paid_total: minorToNumber(order.paidMinor),
    refunded_total: minorToNumber(order.refundedMinor),
    customer_id: order.userId,
  };
  if (change.kind === 'refunded') payload['refund'] = { id: change.refundId, amount: minorToNumber(change.amount) };
  return {
    type: `commerce.order.${change.kind}`,
    payload,
    idempotencyKey: `commerce.order:${order.id}:${change.kind}${change.kind === 'refunded' ? `:${change.refundId}` : ''}`,
  };
}
