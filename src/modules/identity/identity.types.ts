/** The identity module's public types (re-exported by index.ts; kept apart so internal files need not import the entry). */
import type { Db } from '../../platform/index.ts';

/** An open transaction (or the database) that identity's writes join. */
export type UnitOfWork = Pick<Db, 'execute'>;

/**
 * Who an erasure is about: every id the person was known by (their profile and the profiles merged into it, the
 * store's user ids, anonymous ids, e-mails), read before identity deletes them.
 */
export interface ErasedPerson {
  profileIds: readonly string[];
  userIds: readonly string[];
  anonymousIds: readonly string[];
  emails: readonly string[];
}

/**
 * Called inside an erasure's transaction: every module holding data about the person (the newsfeed's preferences,
 * experiments' units, sponsored placements, carts and orders, served recommendations, predictions' features and
 * scores) deletes or anonymizes it
 * in the same unit of work, so the erasure commits whole or not at all.
 */
export type ErasureListener = (unitOfWork: UnitOfWork, tenantId: string, person: ErasedPerson) => Promise<void>;

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
  /**
   * Revenue of a purchase (positive) or refund (positive amount refunded), minor units. Purchases with the same
   * order id (one per line item) add up and count as ONE order; refunds add up; net revenue never goes below 0.
   * Send each stored interaction once (the caller dedupes retries, as the events module does with `created`).
   */
  revenueMinor?: bigint | null;
  currency?: string | null;
  orderId?: string | null;
  channel: string;
  occurredAt: Date;
}

export interface IdentityApi {
  /**
   * Resolves each input to a profile id (creating, attaching or merging as the rules say), in input order, as if
   * the inputs were resolved one after the other. Inputs with no usable identifier (all blocked or empty) resolve
   * to null. A returned profile was active when resolved; a concurrent merge may retire it at any time after, and
   * recordActivity then counts the activity on (and moves the events to) its survivor.
   */
  resolveMany(tenantId: string, inputs: ResolveInput[]): Promise<(string | null)[]>;
  /** Updates profile aggregates (first/last seen, orders, revenue net of refunds, channels) after interactions are stored. */
  recordActivity(tenantId: string, activity: ProfileActivity[]): Promise<void>;
  /**
   * The same update inside the caller's unit of work (an open transaction), so the events and the aggregates
   * they feed commit together: a crash between them cannot lose aggregates. No retry of its own: on a
   * retryable error (deadlock) the caller rolls back and retries its whole unit of work.
   */
  recordActivityWithin(unitOfWork: UnitOfWork, tenantId: string, activity: readonly ProfileActivity[]): Promise<void>;
}

/** What a profile's stored events say about its activity (for reconciling the aggregates). */
export interface ProfileEventFacts {
  profileId: string;
  eventCount: number;
  firstAt: Date | null;
  lastAt: Date | null;
  /** Channels (event sources) seen. */
  channels: string[];
}

/** One order of a profile as its stored purchase and refund events add up (minor units). */
export interface ProfileOrderFacts {
  profileId: string;
  /** The order id, or a stable stand-in for a purchase without one. */
  orderId: string;
  revenueMinor: bigint;
  refundedMinor: bigint;
  currency: string | null;
  at: Date;
}

/**
 * What identity needs from the owner of the events to recompute profile aggregates: identity owns the
 * aggregates, events owns the rows they are computed from. Declared here, implemented by the events module,
 * wired in `app.ts` (the pattern of the platform's `Authenticator`).
 */
export interface ProfileActivitySource {
  /** The activity of these profiles per their stored events, read inside `unitOfWork`. */
  activityOf(
    unitOfWork: UnitOfWork,
    tenantId: string,
    profileIds: readonly string[],
  ): Promise<{ events: ProfileEventFacts[]; orders: ProfileOrderFacts[] }>;
}

/** Anything that runs SQL: the database or an open transaction (the caller's unit of work). */
export type SqlRunner = Pick<Db, 'execute'>;

/** One interaction as Customer 360 and the privacy export show it. */
export interface ProfileEventRow {
  id: string;
  type: string;
  itemId: string | null;
  source: string;
  orderId: string | null;
  value: number | null;
  quantity: number | null;
  priceMinor: string | null;
  currency: string | null;
  userId: string | null;
  anonymousId: string | null;
  sessionId: string | null;
  context: unknown;
  metadata: unknown;
  occurredAt: Date;
}

/**
 * What identity needs from the interactions table, which the events module owns. Identity sits below events, so it
 * declares this port and events implements it (`createProfileLinksRepository`); `src/app.ts` wires them, as the
 * platform's `Authenticator` is implemented by tenancy. Every method runs inside the caller's transaction `q`.
 */
export interface ProfileEvents {
  /** Re-links every interaction of each `from` profile to its `to` profile; returns the moved event ids by source profile. */
  moveProfiles(q: SqlRunner, tenantId: string, pairs: readonly { from: string; to: string }[]): Promise<{ id: string; from: string }[]>;
  /**
   * Unmerge: gives `to` back, from `from`, the listed events and every event carrying one of its user or anonymous
   * ids. Returns the distinct order ids of `to`'s events afterwards.
   */
  takeBack(
    q: SqlRunner,
    tenantId: string,
    u: { from: string; to: string; eventIds: readonly string[]; userIds: readonly string[]; anonymousIds: readonly string[] },
  ): Promise<string[]>;
  /** Per profile: event count, first and last event time and the distinct sources (profiles with no event are absent). */
  activityOf(
    q: SqlRunner,
    tenantId: string,
    profileIds: readonly string[],
  ): Promise<{ profileId: string; n: number; firstAt: Date; lastAt: Date; sources: string[] }[]>;
  /**
   * Erasure: anonymizes the events of the profiles, users and anonymous ids (profile, user, anonymous, session,
   * order and recommendation ids and free-form context go; item, type, amounts and time stay), and their tracking
   * sessions, page views, funnel stages and cart events the same way. Returns how many interactions.
   */
  anonymize(
    q: SqlRunner,
    tenantId: string,
    who: { profileIds: readonly string[]; userIds: readonly string[]; anonymousIds: readonly string[] },
  ): Promise<number>;
  /** The profiles' events, newest first (`order: 'desc'`) or oldest first, at most `limit`. */
  eventsOf(q: SqlRunner, tenantId: string, profileIds: readonly string[], order: 'asc' | 'desc', limit: number): Promise<ProfileEventRow[]>;
}
