/**
 * Identity: identity resolution, profiles (Customer 360), merges, unmerge and the review queue. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';

/** One identifier seen on an event: type is user_id | email | phone | whatsapp | loyalty_id | device_id | anonymous_id | a tenant-defined type. */
export interface IdentifierInput {
  type: string;
  value: string;
}

export interface ResolveInput {
  identifiers: IdentifierInput[];
  /** Channel the event came from (api, web, shopify, woocommerce, stripe, whatsapp, pos, upload ...). */
  channel: string;
  occurredAt: Date;
  /** Profile attributes carried by the event (name, ...), merged into the profile. */
  traits?: Record<string, unknown>;
  /** Id of the event that caused the resolution, kept in the merge history. */
  eventRef?: string;
}

/** What a recorded interaction contributes to its profile's aggregates. */
export interface ProfileActivity {
  profileId: string;
  type: string;
  /** Revenue of a purchase (positive) or refund (positive amount refunded), minor units. */
  revenueMinor?: bigint | null;
  currency?: string | null;
  orderId?: string | null;
  channel: string;
  occurredAt: Date;
}

export interface IdentityApi {
  /**
   * Resolves each input to a profile id (creating, attaching or merging as the rules say), in input order.
   * Inputs with no usable identifier (all blocked or empty) resolve to null.
   */
  resolveMany(tenantId: string, inputs: ResolveInput[]): Promise<(string | null)[]>;
  /** Updates profile aggregates (first/last seen, orders, revenue net of refunds, channels) after interactions are stored. */
  recordActivity(tenantId: string, activity: ProfileActivity[]): Promise<void>;
}

export function createIdentityModule(_platform: PlatformServices): IdentityApi & { routes(app: FastifyInstance): Promise<void> } {
  return {
    async resolveMany(_tenantId, inputs) {
      return inputs.map(() => null); // replaced by the identity resolution service
    },
    async recordActivity() {},
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type IdentityModule = ReturnType<typeof createIdentityModule>;
