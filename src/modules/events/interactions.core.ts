import { createHash } from 'node:crypto';

/** Built-in interaction types (seed 003). Tenants may add custom types (lower_snake_case). */
export const INTERACTION_TYPES = [
  'view',
  'click',
  'add_to_cart',
  'remove_from_cart',
  'purchase',
  'rating',
  'like',
  'search',
  'recommendations_shown',
  'refund',
] as const;

export const CUSTOM_TYPE_PATTERN = /^[a-z][a-z0-9_]{1,49}$/;

/**
 * Default implicit-feedback weights for training (view < add_to_cart < purchase), configurable per tenant.
 * Types absent here (search, recommendations_shown, remove_from_cart, refund) carry no positive signal.
 */
export const DEFAULT_INTERACTION_WEIGHTS: Readonly<Record<string, number>> = {
  view: 1,
  click: 1.5,
  like: 3,
  add_to_cart: 4,
  rating: 3,
  purchase: 8,
};

/** A new interaction as every writer hands it to the repository (camelCase; money in minor units). */
export interface NewInteraction {
  /** Client-provided idempotency id (event_id, messageId, webhook delivery + line). */
  eventId?: string | null;
  userId?: string | null;
  anonymousId?: string | null;
  profileId?: string | null;
  itemId?: string | null;
  type: string;
  value?: number | null;
  quantity?: number | null;
  /** Unit price in minor units (cents) as a decimal string or bigint: exact beyond 2^53. */
  priceMinor?: bigint | null;
  currency?: string | null;
  orderId?: string | null;
  sessionId?: string | null;
  recommendationId?: string | null;
  source: string;
  context?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  occurredAt: Date;
}

/**
 * The idempotency key of an interaction: `e:<event id>` when the client gave one, otherwise a hash of
 * (user or anonymous id, item, type, timestamp, order) so the same row imported twice is stored once.
 */
export function dedupeKeyOf(i: NewInteraction): string {
  if (i.eventId) return `e:${i.eventId}`;
  const who = i.userId ? `u:${i.userId}` : i.anonymousId ? `a:${i.anonymousId}` : i.profileId ? `p:${i.profileId}` : '-';
  const h = createHash('sha256')
    .update([who, i.itemId ?? '', i.type, i.occurredAt.toISOString(), i.orderId ?? ''].join('\u0000'))
    .digest('base64url')
    .slice(0, 32);
  return `h:${h}`;
}
